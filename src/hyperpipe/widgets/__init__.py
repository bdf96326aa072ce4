"""``hyperpipe.widgets``: SDK v1's ``azureml.widgets`` (``RunDetails``), as text or HTML."""

from __future__ import annotations

from hyperpipe.widgets._run_details import RunDetails

__all__ = ["RunDetails"]
