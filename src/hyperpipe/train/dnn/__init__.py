"""``hyperpipe.train.dnn``: SDK v1's framework estimators (``azureml.train.dnn``)."""

from __future__ import annotations

from hyperpipe.core.runconfig import MpiConfiguration, PyTorchConfiguration
from hyperpipe.train.dnn._pytorch import Estimator, PyTorch

__all__ = ["Estimator", "MpiConfiguration", "PyTorch", "PyTorchConfiguration"]
