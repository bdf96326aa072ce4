"""``hyperpipe.datadrift``: data drift monitors (SDK v1's ``azureml.datadrift``) that watch
tables and text, decide with calibrated tests, and can start a retrain pipeline.

SDK v1's surface: ``DataDriftDetector`` (``create_from_datasets``, ``get_by_name``, ``list``,
``run``, ``backfill``, ``enable_schedule``, ``disable_schedule``, ``update``, ``delete``,
``get_output``, ``show``) and ``AlertConfiguration``. The tests themselves are public too, for
use on documents and probabilities in memory: ``TermShiftTest`` (model-free, on text),
``ClassProbabilityTest`` (a model's class probabilities) and ``ColumnTest`` (table columns).
"""

from __future__ import annotations

from hyperpipe.datadrift._alert import AlertConfiguration
from hyperpipe.datadrift._class_test import ClassProbabilityTest
from hyperpipe.datadrift._column_test import ColumnTest, column_kinds
from hyperpipe.datadrift._detector import DataDriftDetector
from hyperpipe.datadrift._result import TestOutcome
from hyperpipe.datadrift._term_test import TermShiftTest

__all__ = [
    "AlertConfiguration",
    "ClassProbabilityTest",
    "ColumnTest",
    "DataDriftDetector",
    "TermShiftTest",
    "TestOutcome",
    "column_kinds",
]
