"""Local tasks started as plain processes until a fork server is ready, then as its forks.

A pipeline's steps are Python scripts, each paying the interpreter's start-up before its first
line (about 25 ms here, more than a short step's own work). A fork server (``_zygote``) pays
it once, but takes longer than one step to start: so it starts alongside the first steps,
which start as plain processes meanwhile, and the steps after them start as its forks. A task
that is not a Python script for this interpreter always starts as a plain process, and so does
every task once the fork server has failed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hyperpipe.compute._local import is_script
from hyperpipe.compute._zygote import ZygoteBackend

if TYPE_CHECKING:
    from collections.abc import Sequence

    from hyperpipe.compute._base import TaskHandle, TaskSpec
    from hyperpipe.compute._local import LocalBackend

__all__ = ["WarmingBackend"]


class WarmingBackend:
    """A :class:`LocalBackend` that hands Python scripts to a fork server once it is ready."""

    wake_on_fds = True

    def __init__(self, plain: LocalBackend, server: ZygoteBackend) -> None:
        self._plain = plain
        self._server = server
        self._failed = False

    def start(self, spec: TaskSpec) -> TaskHandle:
        if not self._failed and is_script(spec.argv) and self._serving():
            self._plain.close()  # its spare, if any: the scripts from now on are forks
            try:
                return self._server.start(spec)
            except RuntimeError as exc:  # it stopped: this task and the rest start plainly
                self._give_up(exc)
        return self._plain.start(spec)

    def poll(self, handle: TaskHandle) -> int | None:
        return self._of(handle).poll(handle)

    def wait(self, handle: TaskHandle, timeout: float | None = None) -> int | None:
        return self._of(handle).wait(handle, timeout)

    def wait_any(self, handles: list[TaskHandle], timeout: float, wake: Sequence[int] = ()) -> None:
        forked = [h for h in handles if isinstance(h.native, ZygoteBackend)]
        plain = [h for h in handles if not isinstance(h.native, ZygoteBackend)]
        if not forked:
            self._plain.wait_any(plain, timeout, wake)
        elif not plain:
            forked[0].native.wait_any(forked, timeout, wake)  # type: ignore[union-attr]
        else:  # both kinds: sleep on the plain tasks' ends and the fork server's messages
            server = forked[0].native
            assert isinstance(server, ZygoteBackend)
            self._plain.wait_any(plain, timeout, [*wake, server.fileno()])
            server.wait_any(forked, 0)

    def terminate(self, handle: TaskHandle, grace_s: float = 10.0) -> int:
        return self._of(handle).terminate(handle, grace_s)

    def close(self) -> None:
        self._plain.close()
        self._server.close()

    def _of(self, handle: TaskHandle) -> LocalBackend | ZygoteBackend:
        return handle.native if isinstance(handle.native, ZygoteBackend) else self._plain

    def _serving(self) -> bool:
        try:
            return self._server.is_ready()
        except RuntimeError as exc:
            self._give_up(exc)
            return False

    def _give_up(self, exc: Exception) -> None:
        print(f"fork server unavailable ({exc}); steps start as new processes")  # noqa: T201
        self._failed = True  # its tasks, if any, still answer through their handles
