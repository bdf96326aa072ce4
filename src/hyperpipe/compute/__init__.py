"""``hyperpipe.compute``: where runs execute (internal). Backends start, poll and stop processes.

Backends take self-contained :class:`TaskSpec` objects and know nothing of the store: whoever
schedules a run records its status.
"""

from __future__ import annotations

from hyperpipe.compute._base import ComputeBackend, TaskHandle, TaskSpec, lost_node
from hyperpipe.compute._local import LocalBackend
from hyperpipe.compute._slots import Slot, SlotPool

__all__ = [
    "ComputeBackend",
    "LocalBackend",
    "Slot",
    "SlotPool",
    "TaskHandle",
    "TaskSpec",
    "lost_node",
]
