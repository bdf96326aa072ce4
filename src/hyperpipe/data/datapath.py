"""``hyperpipe.data.datapath``: SDK v1's ``azureml.data.datapath``.

A :class:`DataPath` names a path in a datastore; a :class:`DataPathComputeBinding` says how a step
gets it (mounted or downloaded). Together, with the path held by a ``PipelineParameter``, they
make a step input chosen at submit time::

    param = PipelineParameter("input_data", default_value=DataPath(datastore, "raw/2020"))
    data_input = (param, DataPathComputeBinding(mode="mount"))
    step = PythonScriptStep("train.py", arguments=["--data", data_input], inputs=[data_input])
    experiment.submit(pipeline, pipeline_parameters={"input_data": DataPath(datastore, "raw/2021")})

A published pipeline keeps such a parameter's default as JSON (``DataPath._to_json``); its
submissions, schedules (``data_path_parameter_name``) and REST ``DataPathAssignments`` name a
new path by datastore name (``DataPath._from_json``).
"""

from __future__ import annotations

from typing import Any

from hyperpipe._ids import uuid4_hex
from hyperpipe._surface import SdkV1Surface
from hyperpipe.data._data_reference import DataReference, normalize_path
from hyperpipe.exceptions import UserErrorException

__all__ = ["DataPath", "DataPathComputeBinding"]

_MODES = ("mount", "download")


class DataPath(SdkV1Surface):
    """A path (a folder or a file) in a datastore.

    Args:
        datastore: the :class:`~hyperpipe.data.Datastore` holding the path (required).
        path_on_datastore: the path relative to the datastore's root (default: the root).
        name: a name for the path (default: ``<datastore>_<8 hex digits>``, as SDK v1).
    """

    def __init__(
        self, datastore: Any = None, path_on_datastore: str | None = None, name: str | None = None
    ) -> None:
        if datastore is None or not isinstance(getattr(datastore, "name", None), str):
            raise UserErrorException(
                f"DataPath needs a datastore, got {datastore!r}; pass "
                "DataPath(datastore=ws.get_default_datastore(), path_on_datastore='folder')"
            )
        normalize_path(path_on_datastore)  # refuses '..' and non-strings
        self._datastore = datastore
        self._path_on_datastore = path_on_datastore
        self._name = name or f"{datastore.name}_{uuid4_hex()[:8]}"

    @property
    def datastore(self) -> Any:
        return self._datastore

    @property
    def datastore_name(self) -> str:
        return self._datastore.name

    @property
    def path_on_datastore(self) -> str | None:
        return self._path_on_datastore

    @property
    def name(self) -> str:
        return self._name

    def create_data_reference(
        self,
        data_reference_name: str | None = None,
        datapath_compute_binding: DataPathComputeBinding | None = None,
    ) -> DataReference:
        """A :class:`DataReference` to this path, made available as the binding says."""
        if not isinstance(datapath_compute_binding, DataPathComputeBinding):
            raise UserErrorException(
                "create_data_reference needs datapath_compute_binding=DataPathComputeBinding(...), "
                f"got {datapath_compute_binding!r}"
            )
        return datapath_compute_binding.create_data_reference(data_reference_name, self)

    @staticmethod
    def create_from_data_reference(data_reference: DataReference) -> DataPath:
        """The path a :class:`DataReference` points at."""
        if not isinstance(data_reference, DataReference):
            raise UserErrorException(
                f"create_from_data_reference needs a DataReference, got {data_reference!r}"
            )
        return DataPath(data_reference.datastore, data_reference.path_on_datastore)

    def _serialize_to_dict(self) -> dict[str, Any]:
        return {
            "name": self._name,
            "path_on_datastore": self._path_on_datastore,
            "datastore": self.datastore_name,
        }

    def _to_json(self) -> dict[str, Any]:
        """What a run's definition and a published pipeline keep of this path (JSON)."""
        return {"datastore": self.datastore_name, "path_on_datastore": self._path_on_datastore}

    @classmethod
    def _from_json(cls, value: Any, workspace: Any) -> DataPath:
        """The path ``value`` names in ``workspace``: ``_to_json``'s form, SDK v1's REST
        ``{"DataStoreName", "RelativePath"}`` or the text ``"datastore:path"``. The datastore
        must exist in the workspace."""
        datastore = path = None
        if isinstance(value, dict):
            datastore = value.get("DataStoreName", value.get("datastore"))
            path = value.get("RelativePath", value.get("path_on_datastore", value.get("path")))
        elif isinstance(value, str) and ":" in value:
            datastore, _, path = value.partition(":")
        if (
            not isinstance(datastore, str)
            or not datastore
            or not isinstance(path, (str, type(None)))
        ):
            raise UserErrorException(
                f"{value!r} is not a DataPath; give {{'DataStoreName': name, 'RelativePath': "
                "path}} or 'datastore:path'"
            )
        return cls(workspace._datastore(datastore), path)

    def _key(self) -> tuple[str, str]:
        return (self.datastore_name, normalize_path(self._path_on_datastore))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, DataPath) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return (
            f"DataPath(datastore={self.datastore_name!r}, "
            f"path_on_datastore={self._path_on_datastore!r})"
        )


class DataPathComputeBinding(SdkV1Surface):
    """How a step gets a :class:`DataPath`: ``mount`` (default) or ``download``.

    Args:
        mode: ``mount`` (a local datastore's folder itself, read in place) or ``download``
            (a copy in the step's working folder).
        path_on_compute: where a downloaded copy goes (relative to the working folder).
        overwrite: whether a download may replace files already there.
    """

    def __init__(
        self, mode: str = "mount", path_on_compute: str | None = None, overwrite: bool = False
    ) -> None:
        if mode not in _MODES:
            raise UserErrorException(
                f"DataPathComputeBinding mode must be 'mount' or 'download', got {mode!r}"
            )
        self._mode = mode
        self._path_on_compute = path_on_compute
        self._overwrite = bool(overwrite)

    @property
    def mode(self) -> str:
        return self._mode

    @property
    def path_on_compute(self) -> str | None:
        return self._path_on_compute

    @property
    def overwrite(self) -> bool:
        return self._overwrite

    def create_data_reference(
        self, data_reference_name: str | None = None, datapath: DataPath | None = None
    ) -> DataReference:
        """A :class:`DataReference` to ``datapath`` in this binding's mode."""
        if not isinstance(datapath, DataPath):
            raise UserErrorException(
                f"create_data_reference needs datapath=DataPath(...), got {datapath!r}"
            )
        return DataReference(
            datapath.datastore,
            data_reference_name=data_reference_name,
            path_on_datastore=datapath.path_on_datastore,
            mode=self._mode,
            path_on_compute=self._path_on_compute,
            overwrite=self._overwrite,
        )

    @staticmethod
    def create_from_data_reference(data_reference: DataReference) -> DataPathComputeBinding:
        """The binding (mode, path on compute, overwrite) of a :class:`DataReference`."""
        if not isinstance(data_reference, DataReference):
            raise UserErrorException(
                f"create_from_data_reference needs a DataReference, got {data_reference!r}"
            )
        return DataPathComputeBinding(
            data_reference.mode, data_reference.path_on_compute, data_reference.overwrite
        )

    def __repr__(self) -> str:
        return f"DataPathComputeBinding(mode={self._mode!r})"
