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
import select
import signal
from functools import partial
from typing import TYPE_CHECKING, Any

from hyperpipe._record import Record

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence

    import psutil

__all__ = [
    "OWNER_ENV",
    "ProcessIdentity",
    "boot_time",
    "die_with_parent",
    "dying_with_parent",
    "kill_group_leftovers",
    "kill_owned",
    "load_prctl",
    "readable",
    "same_start",
    "start_time",
]

# The run a process was started for; inherited by everything it starts.
OWNER_ENV = "HYPERPIPE_OWNER"
# Start times are read from /proc in clock ticks and rebased on the boot time: allow for rounding.
_SAME_START_S = 0.5
# The boot time every process of this boot adds to start ticks (see ``boot_time``).
_boot_time: float | None = None
# Where the first process of a boot records the boot time for the rest: tmpfs, gone at reboot.
_BOOT_FOLDER = "/dev/shm"
# Whether this system has Linux's /proc; elsewhere (macOS) psutil answers.
_HAS_PROC = os.path.isdir("/proc/self")
# util-linux's setpriv, once looked for: its path, or "" where there is none.
_setpriv: str | None = None


def boot_time() -> float:
    """The boot time (seconds since the epoch) that every process adds to a start time read in
    clock ticks since boot: /proc/stat's ``btime`` as the first process of this boot read it.

    ``btime`` itself is whole seconds, recomputed from the clock: a correction of a few
    milliseconds can carry it over a second, after which a process that read it earlier and
    one reading it now disagree by a second on every start time, and judge each other's
    live processes dead (seen on virtual machines whose host corrects their clock). So the
    first reading is kept in a file named for the boot, which every later process reads."""
    global _boot_time
    if _boot_time is None:
        _boot_time = _shared_boot_time()
    return _boot_time


def _shared_boot_time() -> float:
    # Binary reads throughout: a text-mode open looks up its codec (~0.2 ms in a new process).
    try:
        with open("/proc/sys/kernel/random/boot_id", "rb") as stream:
            boot_id = stream.read().strip().decode()
    except OSError:
        return _btime()
    folder = _BOOT_FOLDER
    if not os.access(folder, os.W_OK):
        import tempfile  # not on the common path: it imports random

        folder = tempfile.gettempdir()
    path = os.path.join(folder, f"hyperpipe-boot-{boot_id}")
    with contextlib.suppress(OSError, ValueError), open(path, "rb") as stream:
        return float(stream.read())
    btime = _btime()
    try:  # written whole beside it, then linked: a reader never sees half of it
        scratch = f"{path}.{os.getpid()}"
        with open(scratch, "wb") as stream:
            stream.write(repr(btime).encode())
        os.chmod(scratch, 0o644)
        try:
            os.link(scratch, path)
        except FileExistsError:  # another process was first: its reading counts
            pass
        finally:
            os.unlink(scratch)
        with open(path, "rb") as stream:
            return float(stream.read())
    except (OSError, ValueError):
        return btime


def _btime() -> float:
    """/proc/stat's boot time, as the kernel computes it now (whole seconds)."""
    with open("/proc/stat", "rb") as stream:
        return float(next(line for line in stream if line.startswith(b"btime")).split()[1])


def _proc_stat(pid: int) -> tuple[str, float] | None:
    """``(state, start time)`` of ``pid`` from Linux's /proc (clock ticks since boot, plus
    ``boot_time()``); None when the process is gone. Raises OSError where there is no /proc,
    for the callers' psutil fallback."""
    if not _HAS_PROC:
        raise FileNotFoundError("/proc")  # not a gone process: there is no /proc to look in
    try:
        with open(f"/proc/{pid}/stat", "rb") as stream:
            stat = stream.read()
    except (FileNotFoundError, ProcessLookupError):
        return None
    # The command name (field 2) may hold spaces and parentheses: fields restart after its ")".
    fields = stat[stat.rfind(b")") + 2 :].split()
    return fields[0].decode(), int(fields[19]) / os.sysconf("SC_CLK_TCK") + boot_time()


def start_time(pid: int) -> float | None:
    """When the live process ``pid`` started (seconds since the epoch); None when there is no
    such process. Reads /proc where there is one: no psutil import on the common path."""
    try:
        found = _proc_stat(pid)
    except OSError:
        import psutil

        try:
            return psutil.Process(pid).create_time()
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            return None
    return None if found is None else found[1]


def same_start(started_at: float, recorded: float) -> bool:
    """Whether a process that started at ``started_at`` (``start_time``) is the one recorded as
    started at ``recorded``."""
    return abs(started_at - recorded) <= _SAME_START_S


class ProcessIdentity(Record):
    """A process: its pid and its start time (seconds since the epoch)."""

    pid: int
    started_at: float

    @classmethod
    def of(cls, pid: int) -> ProcessIdentity | None:
        """The identity of the live process ``pid``; None when there is none."""
        started = start_time(pid)
        return None if started is None else cls(pid, started)

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
        import psutil

        try:
            process = psutil.Process(self.pid)  # before the check: it then names the one checked
            started = start_time(self.pid)
            if started is None or not same_start(started, self.started_at):
                return None  # the pid now belongs to another process
            if process.status() == psutil.STATUS_ZOMBIE:
                return None
            return process
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            return None

    def alive(self) -> bool:
        try:
            found = _proc_stat(self.pid)
        except OSError:
            return self.process() is not None
        return found is not None and found[0] != "Z" and same_start(found[1], self.started_at)

    def send(self, signum: int = signal.SIGTERM) -> bool:
        """Signal this process if it is still the one recorded; whether a signal was sent."""
        import psutil

        process = self.process()
        if process is None:
            return False
        try:
            process.send_signal(signum)  # psutil checks the start time again, just before
            return True
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            return False

    def kill_tree(self, grace_s: float = 5.0, owners: Iterable[str | None] = ()) -> None:
        """SIGTERM this process, its descendants and its process group; SIGKILL what is left
        after ``grace_s``. Nothing is sent unless the process is still the one recorded.

        ``owners``: the runs whose processes the rest of its group may be (see
        ``kill_group_leftovers``); by default the one this process was started for. A process
        that became its task after it started (a spare interpreter) was not started with it.
        """
        import psutil

        process = self.process()
        if process is None:
            return
        try:
            family = [process, *process.children(recursive=True)]
            group = os.getpgid(self.pid)
        except (psutil.NoSuchProcess, ProcessLookupError):
            return
        owners = list(owners) or [_owner_of(process)]
        for member in family:
            with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
                member.terminate()
        _, alive = psutil.wait_procs(family, timeout=grace_s)
        for member in alive:
            with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
                member.kill()
        psutil.wait_procs(alive, timeout=5)
        if group == self.pid:  # it led its own group: the rest of the group goes too
            kill_group_leftovers(self, owners)


def kill_group_leftovers(leader: ProcessIdentity, owners: Iterable[str | None]) -> int:
    """SIGKILL the processes left in the process group ``leader`` led, once the leader is gone.

    A process is killed only when it is in that group, started after the leader, and carries
    ``HYPERPIPE_OWNER`` set to one of ``owners``: a pid number cannot be reused while a group of
    that number has members, and a stranger's process carries no such variable. Returns how many
    processes were killed.
    """
    return kill_owned(owners, leader.started_at, group=leader.pid)


def kill_owned(owners: Iterable[str | None], since: float, group: int | None = None) -> int:
    """SIGKILL the processes that carry ``HYPERPIPE_OWNER`` set to one of ``owners`` and started
    after ``since`` (in process group ``group``, when given). Without a group: what a run's
    script left behind when no process of it was recorded (its monitor died between starting
    the script and recording it). A stranger's process carries no such variable, and each
    process is signalled as the one read (psutil checks its start time). Returns how many
    processes were killed."""
    import psutil

    wanted = {o for o in owners if o}
    if not wanted:
        return 0
    killed = 0
    for process in psutil.process_iter():
        try:
            if process.pid == os.getpid():
                continue
            if group is not None and os.getpgid(process.pid) != group:
                continue
            started = start_time(process.pid)
            if started is None or started + _SAME_START_S < since:
                continue
            if _owner_of(process) not in wanted:
                continue
            process.kill()
            killed += 1
        except (psutil.NoSuchProcess, psutil.AccessDenied, ProcessLookupError, PermissionError):
            continue
    return killed


def _owner_of(process: psutil.Process) -> str | None:
    import psutil

    try:
        return process.environ().get(OWNER_ENV)
    except (psutil.NoSuchProcess, psutil.AccessDenied, OSError):
        return None


def readable(fds: list[int], timeout: float) -> list[int]:
    """The file descriptors in ``fds`` ready to read within ``timeout`` seconds.

    ``poll`` rather than ``select``: a process with many files open (a long-lived driver, a test
    run) gets descriptors above 1024, which ``select`` cannot watch.
    """
    poller = select.poll()
    for fd in fds:
        poller.register(fd, select.POLLIN | select.POLLHUP | select.POLLERR)
    return [fd for fd, _event in poller.poll(max(timeout, 0) * 1000)]


def die_with_parent(parent: int | None = None) -> None:
    """In a child (before exec, or right after a fork): ask Linux for SIGKILL when the parent
    dies. A parent that died before the request was made cannot signal: then exit at once.

    A parent that forks many children calls ``load_prctl`` ahead: each child then inherits libc
    loaded (importing ctypes and opening libc in every child costs it ~0.4 ms).
    """
    with contextlib.suppress(OSError, AttributeError):
        load_prctl()(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    if parent is not None and os.getppid() != parent:
        os._exit(1)


_prctl: Any = None


def load_prctl() -> Any:
    """libc's ``prctl``, loaded once per process (and inherited by its forks).

    Raises:
        OSError: There is no ``libc.so.6`` (not glibc Linux).
    """
    global _prctl
    if _prctl is None:
        import ctypes

        _prctl = ctypes.CDLL("libc.so.6", use_errno=True).prctl
    return _prctl


def dying_with_parent(argv: Sequence[str]) -> tuple[list[str], Callable[[], None] | None]:
    """``argv`` and ``preexec_fn`` for a child that Linux kills when this process dies.

    Where util-linux's ``setpriv`` is installed, the child asks for the signal itself
    (``setpriv --pdeathsig KILL -- argv``) and no ``preexec_fn`` is needed, so ``subprocess``
    starts it with ``vfork``: ``Popen`` returns in about 0.7 ms instead of 3-5 ms, the cost of
    forking the whole parent and of Python's after-fork work in the child before a
    ``preexec_fn`` can run. The signal is asked for before ``argv`` starts: only a parent
    killed in the fraction of a millisecond before that leaves the child running. Elsewhere
    ``die_with_parent`` runs between fork and exec.
    """
    global _setpriv
    if _setpriv is None:
        _setpriv = next(
            (
                path
                for folder in os.get_exec_path()
                if os.access(path := os.path.join(folder, "setpriv"), os.X_OK)
            ),
            "",
        )
    if _setpriv:
        return [_setpriv, "--pdeathsig", "KILL", "--", *argv], None
    with contextlib.suppress(OSError, AttributeError):
        load_prctl()  # here, not in each child between fork and exec

    return list(argv), partial(die_with_parent, os.getpid())
