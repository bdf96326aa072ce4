"""``hyperpipe.data.datapath``: a path in a datastore that a pipeline takes as a parameter.

SDK v1's ``azureml.data.datapath``: ``PipelineParameter(name, default_value=DataPath(...))`` with a
``DataPathComputeBinding`` gives a step an input whose location is chosen at submit time (by
``pipeline_parameters``, REST ``DataPathAssignments`` or a datastore-triggered schedule).
"""

from __future__ import annotations

from typing import Any

from hyperpipe.data._data_reference import DataReference, normalize_path
from hyperpipe.exceptions import UserErrorException

__all__ = ["DataPath", "DataPathComputeBinding"]


class DataPath:
    """``path_on_datastore`` in ``datastore`` (a Datastore; its name is what is kept)."""

    def __init__(
        self, datastore: Any = None, path_on_datastore: str | None = None, name: str | None = None
    ) -> None:
        datastore_name = (
            datastore if isinstance(datastore, str) else getattr(datastore, "name", None)
        )
        if not isinstance(datastore_name, str) or not datastore_name:
            raise UserErrorException(
                f"DataPath needs a datastore, got {datastore!r}; pass Datastore.get(ws, name)"
            )
        self._datastore = datastore if not isinstance(datastore, str) else None
        self.datastore_name = datastore_name
        self.path_on_datastore = normalize_path(path_on_datastore)
        self.name = name

    @property
    def datastore(self) -> Any:
        return self._datastore

    def create_data_reference(
        self,
        data_reference_name: str | None = None,
        datapath_compute_binding: DataPathComputeBinding | None = None,
    ) -> DataReference:
        """A ``DataReference`` to this path (needs the Datastore object, not only its name)."""
        if self._datastore is None:
            raise UserErrorException(
                f"DataPath({self.datastore_name!r}, {self.path_on_datastore!r}) was made from a "
                "datastore name; make it from Datastore.get(ws, name) to create a DataReference"
            )
        binding = datapath_compute_binding or DataPathComputeBinding()
        return DataReference(
            self._datastore,
            data_reference_name=data_reference_name,
            path_on_datastore=self.path_on_datastore or None,
            mode=binding.mode,
            path_on_compute=binding.path_on_compute,
            overwrite=binding.overwrite,
        )

    def _to_json(self) -> dict[str, str]:
        return {"datastore": self.datastore_name, "path": self.path_on_datastore}

    @classmethod
    def _from_json(cls, value: dict[str, Any]) -> DataPath:
        return cls(value["datastore"], value.get("path") or "")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, DataPath) and self._to_json() == other._to_json()

    def __hash__(self) -> int:
        return hash((self.datastore_name, self.path_on_datastore))

    def __repr__(self) -> str:
        return (
            f"DataPath(datastore={self.datastore_name!r}, "
            f"path_on_datastore={self.path_on_datastore!r})"
        )


class DataPathComputeBinding:
    """How a step gets a ``DataPath``: ``mount`` (default) or ``download``."""

    def __init__(
        self, mode: str = "mount", path_on_compute: str | None = None, overwrite: bool = False
    ) -> None:
        if mode not in ("mount", "download"):
            raise UserErrorException(
                f"DataPathComputeBinding mode must be 'mount' or 'download', got {mode!r}"
            )
        self.mode = mode
        self.path_on_compute = path_on_compute
        self.overwrite = overwrite

    def __repr__(self) -> str:
        return f"DataPathComputeBinding(mode={self.mode!r})"
