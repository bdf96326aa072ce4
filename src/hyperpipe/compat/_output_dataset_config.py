"""What ``azureml.data.output_dataset_config`` loads: ``OutputFileDatasetConfig``.

It lives in ``hyperpipe.pipeline.core`` (``hyperpipe.data`` sits below the pipeline layer and may
not import it), so the alias gets its own module here.
"""

from __future__ import annotations

from hyperpipe.pipeline.core import OutputFileDatasetConfig

__all__ = ["OutputFileDatasetConfig"]
