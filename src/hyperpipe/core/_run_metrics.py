"""What a run logs: metrics in SDK v1's kinds (scalars, lists, rows, tables, images, JSON), written
through the process's metric writer, and read back in SDK v1's shapes. A part of ``Run``."""

from __future__ import annotations

import io
import os
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hyperpipe.core import _paths
from hyperpipe.core._metrics import MetricWriter, shape_metrics, to_point
from hyperpipe.exceptions import UserErrorException

if TYPE_CHECKING:
    from hyperpipe.core._workspace import Workspace
    from hyperpipe.store import RunRecord, Store

__all__ = ["MAX_NAME_LENGTH", "RunMetrics"]

# The longest name of a metric, tag or property (README: "Limits").
MAX_NAME_LENGTH = 255


class RunMetrics:
    """``Run``'s logging methods (a mixin: ``Run`` provides the attributes below)."""

    if TYPE_CHECKING:  # what Run provides
        id: str
        _record: RunRecord
        _run_key: int
        _writer: MetricWriter | None
        _own_process: bool
        _launched: bool

        @property
        def _store(self) -> Store: ...

        @property
        def _workspace(self) -> Workspace: ...

        def _descendants(self, run_type: str | None = None) -> list[RunRecord]: ...

        def upload_file(
            self, name: str, path_or_stream: Any, datastore_name: str | None = None
        ) -> None: ...

    def _metric(
        self, name: str, kind: str, value: Any, description: str, step: int | None = None
    ) -> None:
        if not isinstance(name, str) or not name:
            raise UserErrorException(f"metric name must be a non-empty string, got {name!r}")
        if len(name) > MAX_NAME_LENGTH:
            raise UserErrorException(
                f"metric name {name[:40]!r}... has {len(name):,} characters; the limit is "
                f"{MAX_NAME_LENGTH}: use a shorter name (put long text in the value)"
            )
        point = to_point(name, kind, value, description or "", step)
        if self._writer is None:
            journal = (
                _paths.journal_dir(self._workspace.root, self.id) if self._own_process else None
            )
            self._writer = MetricWriter(
                self._store,
                self._run_key,
                journal,
                require_active=self._own_process,
                replayed=self._launched,
            )
        self._writer.append(point)

    def log(self, name: str, value: Any, description: str = "", step: int | None = None) -> None:
        """Log a scalar; logging a name again makes it a series (a list in ``get_metrics``)."""
        self._metric(name, "scalar", value, description, step)

    def log_list(self, name: str, value: Any, description: str = "") -> None:
        """Log a list of values under one name."""
        if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
            raise UserErrorException(
                f"run.log_list({name!r}, ...) needs a list of values, got {type(value).__name__}; "
                f"use run.log({name!r}, value) for one value"
            )
        for item in value:
            self._metric(name, "list", item, description)

    def log_row(self, name: str, description: str | None = None, **kwargs: Any) -> None:
        """Log one row of a table; the columns are the keyword arguments."""
        self._metric(name, "row", {k: _plain(v) for k, v in kwargs.items()}, description or "")

    def log_table(self, name: str, value: dict[str, list[Any]], description: str = "") -> None:
        """Log a table given as ``{column: [values]}``."""
        if not isinstance(value, dict):
            raise UserErrorException(
                f"run.log_table({name!r}, ...) needs a dict of column -> list, got "
                f"{type(value).__name__}"
            )
        lengths = {len(v) if isinstance(v, list) else 1 for v in value.values()}
        if len(lengths) > 1:
            warnings.warn(
                f"table {name!r} has columns of unequal length {sorted(lengths)}", stacklevel=2
            )
        self._metric(name, "table", {k: _plain(v) for k, v in value.items()}, description)

    def log_image(
        self,
        name: str,
        path: str | os.PathLike[str] | None = None,
        plot: Any = None,
        description: str = "",
    ) -> None:
        """Log an image from a file ``path`` or a matplotlib ``plot`` (module or figure)."""
        if (path is None) == (plot is None):
            raise UserErrorException(
                f"run.log_image({name!r}, ...) needs exactly one of path= or plot="
            )
        suffix = Path(path).suffix if path is not None else ".png"
        artifact = f"{name}{suffix}" if not name.endswith(suffix) else name
        if path is not None:
            self.upload_file(artifact, os.fspath(path))
        else:
            buffer = io.BytesIO()
            plot.savefig(buffer, format="png")
            buffer.seek(0)
            self.upload_file(artifact, buffer)
        location = f"aml://artifactId/{_paths.artifact_prefix(self.id)}{artifact}"
        self._metric(name, "image", location, description)

    def _log_json(self, name: str, value: Any, description: str) -> None:
        self._metric(name, "json", value, description)

    def log_confusion_matrix(self, name: str, value: Any, description: str = "") -> None:
        self._log_json(name, value, description)

    def log_accuracy_table(self, name: str, value: Any, description: str = "") -> None:
        self._log_json(name, value, description)

    def log_residuals(self, name: str, value: Any, description: str = "") -> None:
        self._log_json(name, value, description)

    def log_predictions(self, name: str, value: Any, description: str = "") -> None:
        self._log_json(name, value, description)

    def flush(self, timeout_seconds: int = 300) -> None:
        """Write every metric value logged by this process to the store now."""
        if self._writer is not None:
            self._writer.flush()

    def get_metrics(
        self,
        name: str | None = None,
        recursive: bool = False,
        run_type: str | None = None,
        populate: bool = False,
    ) -> dict[str, Any]:
        """Metrics in SDK v1's shapes: logged once → scalar, several times → list, tables →
        ``{column: values}``, images → artifact location. ``recursive`` → ``{run_id: {...}}``
        for this run and every descendant."""
        self.flush()
        names = [name] if name else None
        if not recursive:
            series = self._store.get_metrics([self._record.key], names).get(self._record.key, [])
            return shape_metrics(series)
        runs = [self._record, *self._descendants(run_type)]
        by_key = self._store.get_metrics([r.key for r in runs], names)
        return {r.id: shape_metrics(by_key.get(r.key, [])) for r in runs}


def _plain(value: Any) -> Any:
    if hasattr(value, "tolist"):
        return value.tolist()
    if hasattr(value, "item") and getattr(value, "ndim", 1) == 0:
        return value.item()
    return value
