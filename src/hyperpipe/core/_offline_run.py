"""The run ``Run.get_context()`` returns outside a submitted run: it prints what it is given."""

from __future__ import annotations

import os
from typing import Any

from hyperpipe._ids import uuid4_hex, uuid4_str
from hyperpipe.exceptions import UserErrorException

__all__ = ["OfflineRun"]


class OfflineRun:
    """SDK v1's ``_OfflineRun``: logging prints; workspace-bound members do not exist."""

    def __init__(self, run_id: str | None = None) -> None:
        self.id = run_id or f"OfflineRun_{uuid4_str()}"
        self.number = 0
        self.tags: dict[str, Any] = {}
        self.properties: dict[str, Any] = {}

    def __repr__(self) -> str:
        return f"OfflineRun(Id: {self.id})"

    def __enter__(self) -> OfflineRun:
        print("[START] Offline run")  # noqa: T201
        return self

    def __exit__(self, *exc: Any) -> None:
        print("[STOP] Offline run")  # noqa: T201

    def _say(self, kind: str, name: str, value: Any) -> None:
        print(f"Attempted to log {kind} metric {name}:\n{value}")  # noqa: T201

    def log(self, name: str, value: Any, description: str = "", step: int | None = None) -> None:
        if isinstance(value, (list, tuple, range)):
            raise UserErrorException(f"run.log({name!r}, ...) got a list; use run.log_list")
        self._say("scalar", name, value)

    def log_list(self, name: str, value: Any, description: str = "") -> None:
        self._say("list", name, list(value))

    def log_row(self, name: str, description: str | None = None, **kwargs: Any) -> None:
        self._say("row", name, kwargs)

    def log_table(self, name: str, value: Any, description: str = "") -> None:
        self._say("table", name, value)

    def log_image(
        self, name: str, path: Any = None, plot: Any = None, description: str = ""
    ) -> None:
        self._say("image", name, path if path is not None else plot)

    def log_confusion_matrix(self, name: str, value: Any, description: str = "") -> None:
        self._say("confusion_matrix", name, value)

    def log_accuracy_table(self, name: str, value: Any, description: str = "") -> None:
        self._say("accuracy_table", name, value)

    def tag(self, key: str, value: Any = None) -> None:
        print(f"Attempted to tag {key}: {value}")  # noqa: T201
        self.tags[key] = value

    def set_tags(self, tags: dict[str, Any]) -> None:
        print(f"Attempted to set tags {tags}")  # noqa: T201
        self.tags.update(tags)

    def add_properties(self, properties: dict[str, Any]) -> None:
        print(f"Attempted to add properties {properties}")  # noqa: T201
        self.properties.update(properties)

    def upload_file(
        self, name: str, path_or_stream: Any, datastore_name: str | None = None
    ) -> None:
        print(f"Attempted to upload file {name} from {path_or_stream}")  # noqa: T201

    def upload_files(self, names: Any, paths: Any, **kwargs: Any) -> None:
        print(f"Attempted to upload files {names}")  # noqa: T201

    def upload_folder(self, name: str, path: Any, datastore_name: str | None = None) -> None:
        print(f"Attempted to upload folder {name} from {os.fspath(path)}")  # noqa: T201

    def child_run(
        self, name: str | None = None, run_id: str | None = None, outputs: Any = None
    ) -> OfflineRun:
        return OfflineRun(f"{self.id}.{name or run_id or uuid4_hex()[:8]}")

    def flush(self, timeout_seconds: int = 300) -> None:
        """Nothing is buffered offline."""

    def complete(self, _set_status: bool = True) -> None:
        """Offline runs have no status to set."""

    def fail(
        self, error_details: Any = None, error_code: str | None = None, _set_status: bool = True
    ) -> None:
        print(f"Attempted to fail the run: {error_details}")  # noqa: T201

    def cancel(self) -> None:
        """Offline runs cannot be cancelled."""

    def get_status(self) -> str:
        return "Running"
