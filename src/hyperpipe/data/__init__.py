"""``hyperpipe.data``: datastores and datasets (SDK v1's ``azureml.data``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from hyperpipe._lazy import lazy_exports

if TYPE_CHECKING:
    from hyperpipe.data._consumption import DatasetConsumptionConfig
    from hyperpipe.data._data_reference import DATA_REFERENCE_ENV_PREFIX, DataReference
    from hyperpipe.data._dataset import FileDataset, TabularDataset
    from hyperpipe.data._datastore import WORKSPACE_DEFAULT_BLOB_STORE_NAME, Datastore
    from hyperpipe.data.datapath import DataPath, DataPathComputeBinding

__all__ = [
    "DATA_REFERENCE_ENV_PREFIX",
    "WORKSPACE_DEFAULT_BLOB_STORE_NAME",
    "DataPath",
    "DataPathComputeBinding",
    "DataReference",
    "DatasetConsumptionConfig",
    "Datastore",
    "FileDataset",
    "TabularDataset",
]

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "DatasetConsumptionConfig": "hyperpipe.data._consumption",
        "DATA_REFERENCE_ENV_PREFIX": "hyperpipe.data._data_reference",
        "DataReference": "hyperpipe.data._data_reference",
        "FileDataset": "hyperpipe.data._dataset",
        "TabularDataset": "hyperpipe.data._dataset",
        "WORKSPACE_DEFAULT_BLOB_STORE_NAME": "hyperpipe.data._datastore",
        "Datastore": "hyperpipe.data._datastore",
        "DataPath": "hyperpipe.data.datapath",
        "DataPathComputeBinding": "hyperpipe.data.datapath",
    },
)
