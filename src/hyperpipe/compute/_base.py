"""The compute backend contract: a task spec in, a handle out; poll it, stop it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

from hyperpipe._record import Record, field

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = [
    "ComputeBackend",
    "TaskHandle",
    "TaskSpec",
    "gpu_environment",
    "lost_node",
    "place_snapshot",
]

CUDA_VISIBLE_DEVICES = "CUDA_VISIBLE_DEVICES"


class TaskSpec(Record):
    """Everything needed to start one process, and nothing live (it crosses process boundaries).

    ``env`` is added to the backend's own environment; ``log_path`` receives stdout and stderr,
    interleaved, as they are written. ``gpus`` are the GPUs the task may use: it sees those and
    no others (see ``gpu_environment``).
    """

    run_id: str
    argv: tuple[str, ...]
    cwd: str
    log_path: str
    env: dict[str, str] = field(default_factory=dict)
    gpus: tuple[int, ...] = ()
    # Kill the task when the process that started it dies (Linux), so a lost monitor or
    # orchestrator leaves no script running on its own.
    die_with_parent: bool = True
    # A stored source snapshot (a folder named for its content) whose files the task's ``cwd``
    # gets before the task starts: by the backend, where the task runs (see ``place_snapshot``).
    snapshot: str = ""


class TaskHandle(Record, frozen=False):
    """A started task: its process's identity and what the backend needs to poll or stop it."""

    run_id: str
    pid: int
    started_at: float  # the process's start time: with the pid, its identity
    native: object = None


@runtime_checkable
class ComputeBackend(Protocol):
    """Starts task processes and reports how they ended."""

    def start(self, spec: TaskSpec) -> TaskHandle:
        """Start the task; returns once the process exists."""
        ...

    def poll(self, handle: TaskHandle) -> int | None:
        """The exit code (negative: killed by that signal), or None while it runs."""
        ...

    def wait(self, handle: TaskHandle, timeout: float | None = None) -> int | None:
        """Block until the task ends or ``timeout`` passes; returns ``poll``'s answer."""
        ...

    def wait_any(self, handles: list[TaskHandle], timeout: float, wake: Sequence[int] = ()) -> None:
        """Block until one of ``handles`` ends, a file descriptor of ``wake`` is readable, or
        ``timeout`` passes (whichever is first). ``wake_on_fds`` says whether ``wake`` is
        watched; a backend that cannot watch it only sleeps ``timeout``."""
        ...

    def terminate(self, handle: TaskHandle, grace_s: float = 10.0) -> int:
        """Stop the task and every process it started; returns the exit code."""
        ...


def gpu_environment(spec: TaskSpec) -> dict[str, str]:
    """``CUDA_VISIBLE_DEVICES`` for a task: its GPUs, or none at all when it was given none.

    A task given no GPU sees an empty list, so CUDA finds no device and a script that uses the GPU
    when there is one runs on the CPU, instead of sharing, unasked, GPUs that other targets hand
    out. A ``CUDA_VISIBLE_DEVICES`` in the task's own environment (the run's environment
    variables) is kept for a task given no GPU.
    """
    if spec.gpus:
        return {CUDA_VISIBLE_DEVICES: ",".join(str(g) for g in spec.gpus)}
    if CUDA_VISIBLE_DEVICES in spec.env:
        return {}
    return {CUDA_VISIBLE_DEVICES: ""}


def lost_node(handle: TaskHandle) -> str | None:
    """Why a task ended without an exit code of its own (the node it ran on was lost, and it
    could not run again elsewhere), or None. Only backends that run tasks on other machines set
    a ``failure`` on their handles."""
    failure = getattr(handle.native, "failure", None)
    return failure if isinstance(failure, str) else None


def place_snapshot(snapshot: str, cwd: str) -> None:
    """Copy the files of the stored snapshot ``snapshot`` into ``cwd`` (created), keeping their
    permission bits; nothing when there is no snapshot. (No ``shutil``: a forked task copies
    its own, and ``shutil`` loads compression modules a task need not pay for.)"""
    if not snapshot:
        return
    import os

    for root, _dirs, files in os.walk(snapshot):
        rel = os.path.relpath(root, snapshot)
        folder = cwd if rel == "." else os.path.join(cwd, rel)
        os.makedirs(folder, exist_ok=True)
        for name in files:
            source, target = os.path.join(root, name), os.path.join(folder, name)
            with open(source, "rb") as reader, open(target, "wb") as writer:
                while chunk := reader.read(1 << 20):
                    writer.write(chunk)
            os.chmod(target, os.stat(source).st_mode & 0o7777)
