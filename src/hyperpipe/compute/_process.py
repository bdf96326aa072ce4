"""Processes known by identity, so that a signal never reaches a stranger.

A pid alone names a process only while it lives: after it ends, or after a reboot, the same
number may belong to anything. hyperpipe therefore records a pid together with the process's
start time, and signals a process it did not start itself (or no longer waits on) only when both
match. The processes left in a dead run's process group are recognised by the group, their start
time and the ``HYPERPIPE_OWNER`` variable every process started for a run carries.
"""

from __future__ import annotations

import contextlib
import os
import signal
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import psutil

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = ["OWNER_ENV", "ProcessIdentity", "kill_group_leftovers"]

# The run a process was started for; inherited by everything it starts.
OWNER_ENV = "HYPERPIPE_OWNER"
# Start times are read from /proc in clock ticks and rebased on the boot time: allow for rounding.
_SAME_START_S = 0.5


@dataclass(frozen=True)
class ProcessIdentity:
    """A process: its pid and its start time (seconds since the epoch)."""

    pid: int
    started_at: float

    @classmethod
    def of(cls, pid: int) -> ProcessIdentity | None:
        """The identity of the live process ``pid``; None when there is none."""
        try:
            return cls(pid, psutil.Process(pid).create_time())
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            return None

    @classmethod
    def from_json(cls, value: Any) -> ProcessIdentity | None:
        """Read ``{"pid": ..., "started_at": ...}``; None for anything else (old records)."""
        if isinstance(value, dict) and value.get("pid") and value.get("started_at"):
            return cls(int(value["pid"]), float(value["started_at"]))
        return None

    def to_json(self) -> dict[str, Any]:
        return {"pid": self.pid, "started_at": self.started_at}

    def process(self) -> psutil.Process | None:
        """The live process with this identity (not a zombie), or None."""
        try:
            process = psutil.Process(self.pid)
            if abs(process.create_time() - self.started_at) > _SAME_START_S:
                return None  # the pid now belongs to another process
            if process.status() == psutil.STATUS_ZOMBIE:
                return None
            return process
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            return None

    def alive(self) -> bool:
        return self.process() is not None

    def send(self, signum: int = signal.SIGTERM) -> bool:
        """Signal this process if it is still the one recorded; whether a signal was sent."""
        process = self.process()
        if process is None:
            return False
        try:
            process.send_signal(signum)  # psutil checks the start time again, just before
            return True
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            return False

    def kill_tree(self, grace_s: float = 5.0) -> None:
        """SIGTERM this process, its descendants and its process group; SIGKILL what is left
        after ``grace_s``. Nothing is sent unless the process is still the one recorded."""
        process = self.process()
        if process is None:
            return
        try:
            family = [process, *process.children(recursive=True)]
            group = os.getpgid(self.pid)
        except (psutil.NoSuchProcess, ProcessLookupError):
            return
        owner = _owner_of(process)
        for member in family:
            with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
                member.terminate()
        _, alive = psutil.wait_procs(family, timeout=grace_s)
        for member in alive:
            with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
                member.kill()
        psutil.wait_procs(alive, timeout=5)
        if group == self.pid:  # it led its own group: the rest of the group goes too
            kill_group_leftovers(self, [owner])


def kill_group_leftovers(leader: ProcessIdentity, owners: Iterable[str | None]) -> int:
    """SIGKILL the processes left in the process group ``leader`` led, once the leader is gone.

    A process is killed only when it is in that group, started after the leader, and carries
    ``HYPERPIPE_OWNER`` set to one of ``owners``: a pid number cannot be reused while a group of
    that number has members, and a stranger's process carries no such variable. Returns how many
    processes were killed.
    """
    wanted = {o for o in owners if o}
    if not wanted:
        return 0
    killed = 0
    for process in psutil.process_iter():
        try:
            if process.pid == os.getpid() or os.getpgid(process.pid) != leader.pid:
                continue
            if process.create_time() + _SAME_START_S < leader.started_at:
                continue
            if _owner_of(process) not in wanted:
                continue
            process.kill()
            killed += 1
        except (psutil.NoSuchProcess, psutil.AccessDenied, ProcessLookupError, PermissionError):
            continue
    return killed


def _owner_of(process: psutil.Process) -> str | None:
    try:
        return process.environ().get(OWNER_ENV)
    except (psutil.NoSuchProcess, psutil.AccessDenied, OSError):
        return None
