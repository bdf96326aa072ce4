"""What ``azureml.data`` loads: ``hyperpipe.data``'s names plus ``OutputFileDatasetConfig``.

SDK v1 exports ``OutputFileDatasetConfig`` from ``azureml.data``; hyperpipe keeps it in
``hyperpipe.pipeline.core`` (``hyperpipe.data`` sits below the pipeline layer), so this module
adds it, loaded on first use so that ``import azureml.data`` does not load the pipeline package.
Every other name is ``hyperpipe.data``'s, looked up there so the two never drift apart.
"""

from __future__ import annotations

from typing import Any

import hyperpipe.data as _data

# every name is served by __getattr__ below
__all__ = [*_data.__all__, "OutputFileDatasetConfig"]  # noqa: F822


def __getattr__(name: str) -> Any:
    if name == "OutputFileDatasetConfig":
        from hyperpipe.pipeline.core import OutputFileDatasetConfig

        return OutputFileDatasetConfig
    if not name.startswith("_") and hasattr(_data, name):
        return getattr(_data, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
