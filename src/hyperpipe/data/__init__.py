"""``hyperpipe.data``: datastores and datasets (SDK v1's ``azureml.data``)."""

from __future__ import annotations

from hyperpipe.data._datastore import WORKSPACE_DEFAULT_BLOB_STORE_NAME, Datastore

__all__ = ["WORKSPACE_DEFAULT_BLOB_STORE_NAME", "Datastore"]
