"""How a run consumes a dataset: SDK v1's ``DatasetConsumptionConfig``.

In a run's arguments the config stands for the local path of its data, written as the
placeholder ``DatasetConsumptionConfig:<name>`` until the run starts. Inside the run,
``Run.get_context().input_datasets[name]`` gives that path (file datasets mounted or downloaded)
or the dataset itself (``direct`` mode, and always for tabular datasets).
"""

from __future__ import annotations

import re
import warnings
from typing import TYPE_CHECKING, Any

from hyperpipe._surface import SdkV1Surface
from hyperpipe.exceptions import UserErrorException

if TYPE_CHECKING:
    from hyperpipe.data._dataset import AbstractDataset

__all__ = ["MODES", "PLACEHOLDER", "DatasetConsumptionConfig", "check_input_name"]

MODES = ("direct", "mount", "download")
PLACEHOLDER = "DatasetConsumptionConfig:"
_NAME = re.compile(r"^[a-zA-Z_]+[a-zA-Z0-9_]*$")
_COMMON_ENV = frozenset({"PATH", "HOME", "USER", "PYTHONPATH", "TMPDIR", "LANG", "SHELL"})


def check_input_name(name: str, *, warn: bool = True) -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        raise UserErrorException(
            f"input name {name!r} is invalid: use letters, digits and '_', not starting with a "
            "digit (it becomes an environment variable)"
        )
    if warn and name.upper() in _COMMON_ENV:
        warnings.warn(
            f"input name {name!r} shadows a common environment variable", UserWarning, stacklevel=3
        )
    return name


class DatasetConsumptionConfig(SdkV1Surface):
    """A dataset given to a run under ``name``, in ``mode`` direct, mount or download.

    ``dataset`` may also be a pipeline's ``PipelineParameter`` whose default is a dataset: the
    step then gets the dataset chosen at submit (``pipeline_parameters={name: other_dataset}``).
    """

    def __init__(
        self,
        name: str,
        dataset: AbstractDataset | Any,
        mode: str = "direct",
        path_on_compute: str | None = None,
    ) -> None:
        if mode not in MODES:
            raise UserErrorException(f"mode must be one of {list(MODES)}, got {mode!r}")
        check_input_name(name, warn=False)
        sample = dataset.default_value if _is_parameter(dataset) else dataset
        if not hasattr(sample, "_kind"):
            raise UserErrorException(
                f"input {name!r}: {dataset!r} is not a dataset; pass a FileDataset, a "
                "TabularDataset or a PipelineParameter whose default is one"
            )
        if mode != "direct" and sample._kind != "file":
            raise UserErrorException(
                f"input {name!r}: only a FileDataset can be consumed in {mode} mode; use a "
                "TabularDataset directly (as_named_input(name)) and call to_pandas_dataframe()"
            )
        self.name = name
        self.dataset = dataset
        self.mode = mode
        self.path_on_compute = path_on_compute

    def as_mount(self, path_on_compute: str | None = None) -> DatasetConsumptionConfig:
        return DatasetConsumptionConfig(self.name, self.dataset, "mount", path_on_compute)

    def as_download(self, path_on_compute: str | None = None) -> DatasetConsumptionConfig:
        return DatasetConsumptionConfig(self.name, self.dataset, "download", path_on_compute)

    @property
    def placeholder(self) -> str:
        return f"{PLACEHOLDER}{self.name}"

    def __str__(self) -> str:
        return self.placeholder

    def __repr__(self) -> str:
        return (
            f"DatasetConsumptionConfig(name={self.name!r}, mode={self.mode!r}, "
            f"dataset={self.dataset!r})"
        )

    @property
    def parameter(self) -> Any:
        """The ``PipelineParameter`` that chooses the dataset, or None for a fixed dataset."""
        return self.dataset if _is_parameter(self.dataset) else None

    def _bound(self, dataset: AbstractDataset) -> DatasetConsumptionConfig:
        """This input with the dataset a pipeline parameter was given at submit."""
        sample = self.dataset.default_value if _is_parameter(self.dataset) else self.dataset
        if getattr(dataset, "_kind", None) != sample._kind:
            raise UserErrorException(
                f"input {self.name!r} takes a {type(sample).__name__}, got {dataset!r}"
            )
        return DatasetConsumptionConfig(self.name, dataset, self.mode, self.path_on_compute)

    def _to_spec(self, workspace: Any) -> dict[str, Any]:
        """What the run's definition records: the dataset saved (anonymously if unregistered;
        the dataset object keeps the id it was saved under, as SDK v1's does)."""
        if _is_parameter(self.dataset):
            return self._bound(self.dataset.default_value)._to_spec(workspace)
        dataset = self.dataset
        if dataset.id is None:
            dataset._adopt(dataset._save(workspace, None))
        return {
            "name": self.name,
            "dataset_id": dataset.id,
            "dataset_name": dataset.name,
            "dataset_version": dataset.version,
            "kind": dataset._kind,
            "mode": self.mode,
            "path_on_compute": self.path_on_compute,
        }


def _is_parameter(value: Any) -> bool:
    """A pipeline parameter (``hyperpipe.pipeline`` sits above this layer: duck-typed)."""
    return (
        hasattr(value, "default_value") and hasattr(value, "name") and not hasattr(value, "_kind")
    )
