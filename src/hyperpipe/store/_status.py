"""The one run-status enum and its transition table.

Status words are SDK v1's (``NotStarted`` ... ``Completed``); pipeline and step runs end in
``Finished`` as SDK v1's do. ``Crashed`` is hyperpipe's own: the process died without reporting
(killed, out of memory, machine lost), as opposed to ``Failed`` (user code raised or exited
non-zero).
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["TERMINAL_STATUSES", "RunStatus", "can_transition"]


class RunStatus(StrEnum):
    """Lifecycle of a run; the value is the SDK v1 status string."""

    NOT_STARTED = "NotStarted"
    QUEUED = "Queued"
    PREPARING = "Preparing"
    RUNNING = "Running"
    FINALIZING = "Finalizing"
    CANCEL_REQUESTED = "CancelRequested"
    COMPLETED = "Completed"
    FINISHED = "Finished"
    FAILED = "Failed"
    CANCELED = "Canceled"
    CRASHED = "Crashed"

    def __str__(self) -> str:
        return self.value

    def is_terminal(self) -> bool:
        """Whether the run has ended and will not change status again on its own."""
        return self in TERMINAL_STATUSES

    def is_success(self) -> bool:
        return self in (RunStatus.COMPLETED, RunStatus.FINISHED)


TERMINAL_STATUSES = frozenset(
    {
        RunStatus.COMPLETED,
        RunStatus.FINISHED,
        RunStatus.FAILED,
        RunStatus.CANCELED,
        RunStatus.CRASHED,
    }
)

_ENDINGS = TERMINAL_STATUSES
_ACTIVE = (RunStatus.PREPARING, RunStatus.RUNNING, RunStatus.FINALIZING)

_TRANSITIONS: dict[RunStatus, frozenset[RunStatus]] = {
    RunStatus.NOT_STARTED: frozenset(
        {RunStatus.QUEUED, *_ACTIVE, RunStatus.CANCEL_REQUESTED, *_ENDINGS}
    ),
    RunStatus.QUEUED: frozenset({*_ACTIVE, RunStatus.CANCEL_REQUESTED, *_ENDINGS}),
    RunStatus.PREPARING: frozenset(
        {RunStatus.RUNNING, RunStatus.FINALIZING, RunStatus.CANCEL_REQUESTED, *_ENDINGS}
    ),
    RunStatus.RUNNING: frozenset({RunStatus.FINALIZING, RunStatus.CANCEL_REQUESTED, *_ENDINGS}),
    RunStatus.FINALIZING: frozenset({RunStatus.CANCEL_REQUESTED, *_ENDINGS}),
    RunStatus.CANCEL_REQUESTED: frozenset(
        {RunStatus.CANCELED, RunStatus.FAILED, RunStatus.CRASHED, RunStatus.FINALIZING}
    ),
    # A failed, cancelled or crashed run may be resumed (pipelines): it queues again.
    RunStatus.FAILED: frozenset({RunStatus.QUEUED}),
    RunStatus.CANCELED: frozenset({RunStatus.QUEUED}),
    RunStatus.CRASHED: frozenset({RunStatus.QUEUED}),
    RunStatus.COMPLETED: frozenset(),
    RunStatus.FINISHED: frozenset(),
}


def can_transition(current: RunStatus, new: RunStatus) -> bool:
    """Whether a run in ``current`` may move to ``new`` (staying put is always allowed)."""
    return current == new or new in _TRANSITIONS[current]
