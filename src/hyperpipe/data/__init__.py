"""``hyperpipe.data``: datastores and datasets (SDK v1's ``azureml.data``)."""

from __future__ import annotations

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
