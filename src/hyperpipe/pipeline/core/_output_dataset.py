"""``OutputFileDatasetConfig``: a step output written to a chosen datastore path, optionally
registered as a dataset when the step succeeds, and consumable by later steps."""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from hyperpipe._ids import uuid4_hex
from hyperpipe.exceptions import UserErrorException
from hyperpipe.pipeline.core._pipeline_data import PipelineData, PipelineDataInput

if TYPE_CHECKING:
    from hyperpipe.data._datastore import Datastore

__all__ = ["DEFAULT_DESTINATION", "OutputFileDatasetConfig"]

DEFAULT_DESTINATION = "dataset/{run-id}/{output-name}"
PLACEHOLDER = "DatasetOutputConfig:"


class OutputFileDatasetConfig(PipelineData):
    """A folder a step writes; committed to ``destination`` (default
    ``workspaceblobstore:dataset/{run-id}/{output-name}``) only when the step succeeds.

    ``destination=(datastore, path)`` may use the ``{run-id}`` and ``{output-name}``
    placeholders. In arguments it becomes the local folder to write. ``as_input(name)`` gives it
    to a later step; ``read_delimited_files()`` / ``read_parquet_files()`` make that input a
    ``TabularDataset``; ``register_on_complete(name)`` registers a dataset version after the step.
    """

    def __init__(
        self,
        name: str | None = None,
        destination: tuple[Datastore, str] | None = None,
        source: str | None = None,
        partition_format: str | None = None,
    ) -> None:
        datastore, path = destination if destination is not None else (None, DEFAULT_DESTINATION)
        if not isinstance(path, str) or not path.strip("/"):
            raise UserErrorException(
                f"destination must be (datastore, 'path/in/datastore'), got {destination!r}"
            )
        super().__init__(name or f"output_{uuid4_hex()[:8]}", datastore=datastore)
        self.destination_path = path.strip("/")
        self.source = source
        self.registration: dict[str, Any] | None = None
        self.tabular: dict[str, Any] | None = None
        self.upload_mode = False

    def __str__(self) -> str:
        return f"{PLACEHOLDER}{self.name}"

    def __repr__(self) -> str:
        return f"OutputFileDatasetConfig(name={self.name!r}, destination={self.destination_path!r})"

    def _variant(self, **changes: Any) -> OutputFileDatasetConfig:
        other = copy.copy(self)
        other.__dict__.update(changes)
        return other

    def as_mount(self, disable_metadata_cache: bool = False) -> OutputFileDatasetConfig:  # type: ignore[override]
        return self._variant(upload_mode=False)

    def as_upload(
        self, overwrite: bool = False, source_globs: list[str] | None = None
    ) -> OutputFileDatasetConfig:
        """Files are committed when the step ends (the only way here: commits are atomic)."""
        return self._variant(upload_mode=True)

    def as_input(self, name: str | None = None) -> PipelineDataInput:
        return PipelineDataInput(self, "mount", name or self.name)

    def register_on_complete(
        self, name: str, description: str | None = None, tags: dict[str, str] | None = None
    ) -> OutputFileDatasetConfig:
        """Register the committed output as dataset ``name`` (a new version when it changes)."""
        return self._variant(
            registration={"name": name, "description": description, "tags": dict(tags or {})}
        )

    def read_delimited_files(
        self,
        include_path: bool = False,
        separator: str = ",",
        header: bool = True,
        partition_format: str | None = None,
        path_glob: str | None = None,
        set_column_types: dict[str, Any] | None = None,
    ) -> OutputFileDatasetConfig:
        return self._variant(
            tabular={
                "format": "delimited",
                "include_path": include_path,
                "separator": separator,
                "header": header,
                "glob": path_glob or "**",
                "set_column_types": {k: str(v) for k, v in (set_column_types or {}).items()},
            }
        )

    def read_parquet_files(
        self,
        include_path: bool = False,
        partition_format: str | None = None,
        path_glob: str | None = None,
    ) -> OutputFileDatasetConfig:
        return self._variant(
            tabular={"format": "parquet", "include_path": include_path, "glob": path_glob or "**"}
        )
