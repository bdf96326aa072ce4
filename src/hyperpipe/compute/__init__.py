"""``hyperpipe.compute``: where runs execute (internal). Backends start, poll and stop processes.

Backends take self-contained :class:`TaskSpec` objects and know nothing of the store: whoever
schedules a run records its status.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hyperpipe._lazy import lazy_exports

if TYPE_CHECKING:
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

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "ComputeBackend": "hyperpipe.compute._base",
        "TaskHandle": "hyperpipe.compute._base",
        "TaskSpec": "hyperpipe.compute._base",
        "lost_node": "hyperpipe.compute._base",
        "LocalBackend": "hyperpipe.compute._local",
        "Slot": "hyperpipe.compute._slots",
        "SlotPool": "hyperpipe.compute._slots",
    },
)
