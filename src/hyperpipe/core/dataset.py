"""``hyperpipe.core.dataset``: SDK v1's ``azureml.core.dataset`` path to ``Dataset``."""

from __future__ import annotations

from hyperpipe.data._dataset import Dataset

__all__ = ["Dataset"]
