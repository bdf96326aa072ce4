"""Where a finished step's outputs are: ``StepRunOutput`` and its ``PortDataReference``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from hyperpipe._surface import SdkV1Surface
from hyperpipe.data._data_reference import DataReference
from hyperpipe.exceptions import UserErrorException

if TYPE_CHECKING:
    from hyperpipe.core._workspace import Workspace
    from hyperpipe.pipeline.core._pipeline_run import StepRun

__all__ = ["PortDataReference", "StepRunOutput"]


class PortDataReference(SdkV1Surface):
    """An output a step committed: a path (a folder, or a file) in a datastore.

    ``download(local_path)`` copies it to ``local_path/<path_on_datastore>`` (SDK v1's layout,
    ``azureml/<step run id>/<output name>``). ``as_mount()``/``as_download()``/``as_input(name)``
    make it an input of a step in another pipeline.
    """

    def __init__(
        self,
        workspace: Workspace,
        datastore_name: str,
        path_on_datastore: str,
        name: str,
        step_run: StepRun | None = None,
    ) -> None:
        self._workspace = workspace
        self.datastore_name = datastore_name
        self.path_on_datastore = path_on_datastore
        self.name = name
        self.step_run = step_run

    @property
    def _path_on_datastore(self) -> str:
        """SDK v1 notebooks read this private name (``open(port._path_on_datastore)``)."""
        return self.path_on_datastore

    @property
    def datastore(self) -> Any:
        return self._workspace._datastore(self.datastore_name)

    @property
    def pipeline_run_id(self) -> str | None:
        return self.step_run.pipeline_run_id if self.step_run is not None else None

    @property
    def data_reference(self) -> DataReference:
        """The output as a mount-mode :class:`DataReference` named after the output."""
        return DataReference(self.datastore, self.name, self.path_on_datastore)

    @property
    def _data_reference(self) -> DataReference:
        return self.data_reference

    def as_mount(self, input_name: str | None = None) -> DataReference:
        return self.data_reference.path(data_reference_name=input_name).as_mount()

    def as_download(
        self,
        input_name: str | None = None,
        path_on_compute: str | None = None,
        overwrite: bool | None = None,
    ) -> DataReference:
        reference = self.data_reference.path(data_reference_name=input_name)
        return reference.as_download(path_on_compute, bool(overwrite))

    def as_input(self, input_name: str) -> DataReference:
        return self.as_mount(input_name)

    def create_input_binding(
        self,
        input_name: str | None = None,
        mode: str | None = None,
        path_on_compute: str | None = None,
        overwrite: bool | None = None,
    ) -> DataReference:
        if mode == "download":
            return self.as_download(input_name, path_on_compute, overwrite)
        return self.as_mount(input_name)

    def __repr__(self) -> str:
        return (
            f"PortDataReference(name={self.name!r}, datastore={self.datastore_name!r}, "
            f"path_on_datastore={self.path_on_datastore!r})"
        )

    def download(
        self,
        local_path: str | Any,
        overwrite: bool | None = None,
        show_progress: bool | None = None,
    ) -> int:
        """Copy the output to ``local_path/<path_on_datastore>`` (SDK v1's layout); returns the
        number of files."""
        count = 0
        for rel, _size in self.datastore._walk(self.path_on_datastore):
            target = Path(local_path) / rel
            if target.exists() and not overwrite:
                raise UserErrorException(f"{target} exists; pass overwrite=True to replace it")
            self.datastore._get_file(rel, target)
            count += 1
        return count

    def local_path(self) -> Path | None:
        """The output's path on this machine, when its datastore is a local folder."""
        return self.datastore._local_path(self.path_on_datastore)


class StepRunOutput(SdkV1Surface):
    """One output of a step run (SDK v1's ``StepRun.get_output(name)``)."""

    def __init__(self, step_run: StepRun, name: str, committed: dict[str, Any]) -> None:
        self.step_run = step_run
        self.name = name
        self.pipeline_run_id = step_run.pipeline_run_id
        self._committed = dict(committed)

    @property
    def step_output(self) -> dict[str, Any]:
        """What was committed: datastore, path, content hash, whether it is a single file."""
        return dict(self._committed)

    def get_port_data_reference(self) -> PortDataReference:
        """Where the output is, to download it or give it to another pipeline."""
        return PortDataReference(
            self.step_run._workspace,
            self._committed["datastore"],
            self._committed["path"],
            self.name,
            step_run=self.step_run,
        )

    def __repr__(self) -> str:
        return f"StepRunOutput(name={self.name!r}, step_run={self.step_run.id!r})"
