"""The actor that runs tasks on a node of a Ray cluster, one at a time (see ``_ray``).

A task is a child process of the actor (its own process group, or a fork of a fork server that
imported the modules the task names once: the runner keeps that server while tasks keep naming
the same modules, so one runner serves a pipeline's steps and then a sweep's trials), its output
going to a file of the actor's own that the owner reads as it grows. On a node that does not see
the workspace folder, the task runs in a copy of its run folder (``_ray_apart``). A thread ends
the task when the process that started it (its Ray job) is gone, and the actor itself after
``IDLE_EXIT_S`` without a task.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
from dataclasses import replace
from typing import Any

from hyperpipe.compute._base import TaskHandle, TaskSpec
from hyperpipe.compute._process import ProcessIdentity
from hyperpipe.compute._ray_apart import APART, NodeCopy, unpack
from hyperpipe.exceptions import ComputeTargetException

__all__ = ["IDLE_EXIT_S", "NODE_ENV", "SNAPSHOT_CACHE", "Runner", "node_snapshot"]

# The Ray node a task runs on (its node id), in the task's environment.
NODE_ENV = "HYPERPIPE_RAY_NODE"
# An idle runner ends itself after IDLE_EXIT_S.
IDLE_EXIT_S = 600.0
# Where a node keeps the snapshots its tasks fetched (the submitter's disk being elsewhere).
SNAPSHOT_CACHE = os.path.join(tempfile.gettempdir(), "hyperpipe-snapshots")
# How often a runner checks that the process that started its task is still there.
OWNER_CHECK_S = 2.0
# A runner's own folder (task and fork-server logs): tempdir/<prefix>*, holding OWNER_FILE.
FOLDER_PREFIX = "hyperpipe-ray-"
OWNER_FILE = "runner.json"


class Runner:
    """The actor on a node: runs one task at a time as a child process (own process group, dies
    with the actor), its output going to a file of the actor's own. A thread ends the task when
    the process that started it is gone, and the runner itself when idle for ``idle_exit_s``."""

    def __init__(
        self, preload: list[str] | None, env: dict[str, str], idle_exit_s: float = IDLE_EXIT_S
    ) -> None:
        from hyperpipe.compute._local import LocalBackend

        os.environ.update(env)
        self.folder = runner_folder()
        self.plain: Any = LocalBackend()
        # Fork servers by the modules they preload (one kept at a time, see _server).
        self.servers: dict[tuple[str, ...], Any] = {}
        self.importing: set[tuple[str, ...]] = set()  # servers not yet asked whether ready
        self.backend: Any = self.plain  # the running task's
        self.handle: TaskHandle | None = None
        self.log = ""
        self.count = 0
        self.owner: str | None = None
        self.retired = False
        self.idle_since = time.monotonic()
        self.idle_exit_s = idle_exit_s
        self.lock = threading.Lock()
        self._node = ""
        self.seen_shared: dict[str, str | None] = {}  # folder-token file -> what it holds here
        self.copy: NodeCopy | None = None  # the running task's run folder, on a node apart
        self.spec: TaskSpec | None = None  # the running task's, as started here
        if preload is not None:
            self._server(preload)
        threading.Thread(target=self._watchdog, daemon=True).start()

    def prepare(self, preload: list[str]) -> None:
        """Start a fork server importing ``preload`` now, for tasks to come (a sweep's trials,
        while its driver gets ready), unless it runs already."""
        with self.lock:
            if not self.retired:
                self._server(preload)

    def _server(self, preload: list[str] | None) -> Any:
        """The backend for tasks that want ``preload`` imported: a fork server importing them
        (started now, without waiting; with nothing to import it still spares each task the
        interpreter's start-up), or plain processes when ``preload`` is None or
        it cannot start. One fork server is kept: a runner serving another sweep's shape ends
        the previous one's, unless a task of it is running."""
        if preload is None:
            return self.plain
        key = tuple(preload)
        server = self.servers.get(key)
        if server is not None and not getattr(server, "dead", False):
            return server
        for other in [k for k in self.servers if k != key]:
            if self.handle is None or self.servers[other] is not self.backend:
                self.importing.discard(other)
                with contextlib.suppress(Exception):
                    self.servers.pop(other).close()
        try:
            from hyperpipe.compute._zygote import ZygoteBackend

            log = os.path.join(self.folder, f"server-{len(self.servers)}-{self.count}.log")
            server = ZygoteBackend(sys.executable, list(key), log, wait=False)
            self.importing.add(key)
        except Exception as exc:  # plain processes then, as locally
            print(f"fork server unavailable ({exc}); tasks start as new processes")  # noqa: T201
            server = self.plain
        self.servers[key] = server
        return server

    def _ready(self, preload: list[str] | None) -> Any:
        """``_server(preload)`` once it has imported its modules (plain processes if it could
        not)."""
        server = self._server(preload)
        if preload is None:
            return server
        key = tuple(preload)
        if key in self.importing:
            self.importing.discard(key)
            try:
                server.ready()
            except Exception as exc:
                print(f"fork server unavailable ({exc}); tasks start as new processes")  # noqa: T201
                with contextlib.suppress(Exception):
                    server.close()
                server = self.servers[key] = self.plain
        return server

    def node(self) -> str:
        if not self._node:
            import ray

            context = ray.get_runtime_context()
            self._node = f"{context.get_node_id()[:12]} ({ray.util.get_node_ip_address()})"
        return self._node

    def rendezvous(self) -> tuple[str, int]:
        """This node's address and a free port on it, for rank 0 to listen on."""
        import ray

        address = ray.util.get_node_ip_address()
        with socket.socket() as sock:
            sock.bind((address, 0))
            return address, sock.getsockname()[1]

    def start(
        self, remote: dict[str, Any], owner: str | None = None
    ) -> tuple[int, float, str] | str | None:
        """Start the task (pid, start time, node), or None when busy with another or ending.
        On a node that does not see the workspace folder, the task runs in a copy of its run
        folder that ``remote`` brings (``_ray_apart``); ``APART`` when it brings none yet."""
        import ray

        with self.lock:
            if self.handle is not None or self.retired:
                return None
            copy = None
            if not self.sees(remote.get("shared")):
                apart = remote.get("apart") or {}
                if not apart or apart["refusal"]:
                    raise self._unseen(remote["shared"], apart.get("refusal", ""))
                if remote.get("packed") is None:
                    return APART
                copy = NodeCopy(ray.get(remote["packed"]))
            try:
                self.count += 1
                self.log = os.path.join(self.folder, f"task-{self.count}.log")
                node = ray.get_runtime_context().get_node_id()
                moved = copy.path if copy is not None else str
                spec = TaskSpec(
                    run_id=remote["run_id"],
                    argv=tuple(moved(a) for a in remote["argv"]),
                    cwd=moved(remote["cwd"]),
                    log_path=self.log,
                    env={**{k: moved(v) for k, v in remote["env"].items()}, NODE_ENV: node},
                    gpus=tuple(remote["gpus"]),
                    snapshot=node_snapshot(remote.get("snapshot", ""), remote.get("snapshot_ref")),
                )
                if copy is not None:
                    os.makedirs(spec.cwd, exist_ok=True)
                if "CUDA_VISIBLE_DEVICES" in os.environ and not spec.gpus:
                    # Ray gave this actor its GPUs: the task gets the same ones.
                    visible = os.environ["CUDA_VISIBLE_DEVICES"]
                    spec = replace(spec, env={**spec.env, "CUDA_VISIBLE_DEVICES": visible})
                self.backend = self._ready(remote.get("preload"))
                self.handle = self.backend.start(spec)
            except BaseException:
                if copy is not None:
                    copy.remove()
                raise
            self.copy, self.spec, self.owner = copy, spec, owner
            return self.handle.pid, self.handle.started_at, self.node()

    def sees(self, shared: tuple[str, str] | None) -> bool:
        """Whether this node sees the workspace folder the task runs in (True when nothing is
        to be checked): ``shared`` is a file of that folder and the content the submitter wrote
        into it. The same path can exist on two machines, so the content, not the path, says
        it is the same folder. What the file holds here is kept (None: no file), and read
        again until it matches (a folder mounted meanwhile is then seen)."""
        if shared is None:
            return True
        path, token = shared
        if self.seen_shared.get(path) != token:
            try:
                with open(path, encoding="utf-8") as file:
                    self.seen_shared[path] = file.read().strip()
            except OSError:
                self.seen_shared[path] = None
        return self.seen_shared[path] == token

    def _unseen(self, shared: tuple[str, str], refusal: str) -> Exception:
        folder = os.path.dirname(os.path.dirname(shared[0]))
        there = "holds another workspace" if self.seen_shared[shared[0]] else "has no workspace"
        how = (
            f"; {refusal}"
            if refusal
            else "; mount it there, or pin the target to nodes that have it (resources=...)"
        )
        return ComputeTargetException(
            f"node {self.node()} does not see the workspace folder {folder} "
            f"(that path {there} there): "
            "every node of the cluster needs the workspace folder on a disk shared with "
            f"the submitting machine, at the same path (NFS, for example){how}"
        )

    def run(
        self, remote: dict[str, Any], owner: str | None, timeout: float
    ) -> tuple[tuple[int, float, str] | str | None, int | None, bytes, Any]:
        """``start`` and ``watch`` in one call, so that a short task costs its owner one round
        trip: (pid, start time, node), None when busy or ``APART`` (nothing started), then
        ``watch``'s answer."""
        started = self.start(remote, owner)
        if started is None or started == APART:
            return started, None, b"", None
        return (started, *self.watch(0, timeout))

    def watch(self, offset: int, timeout: float) -> tuple[int | None, bytes, Any]:
        """Once the task ends (its exit code, last output and, on a node apart, the files it
        wrote in its run folder), or after ``timeout`` (None, the output so far, None)."""
        with self.lock:
            if self.handle is None:  # ended here because its owner was gone
                return -signal.SIGKILL, b"", None
            code = self.backend.wait(self.handle, timeout)
            chunk = self._read(offset)
            if code is None:
                return None, chunk, None
            return code, chunk, self._done()

    def poll(self, offset: int) -> tuple[int | None, bytes, Any]:
        return self.watch(offset, 0)

    def terminate(self, grace_s: float, offset: int) -> tuple[int, bytes, Any]:
        with self.lock:
            if self.handle is None:
                return -signal.SIGKILL, b"", None
            code = self.backend.terminate(self.handle, grace_s=grace_s)
            chunk = self._read(offset)
            return code, chunk, self._done()

    def retire(self) -> tuple[bool, dict[str, Any]]:
        """Take no more tasks if idle (the caller then ends this runner); (idle, who I am)."""
        with self.lock:
            if self.handle is None:
                self.retired = True
            info = {
                "pid": os.getpid(),
                "node": self.node(),
                "task": self.handle.run_id if self.handle is not None else None,
            }
            return self.retired, info

    def _watchdog(self) -> None:
        while True:
            time.sleep(OWNER_CHECK_S)
            with self.lock:
                if self.handle is not None and self.owner and not _job_alive(self.owner):
                    with contextlib.suppress(Exception):
                        self.backend.terminate(self.handle, grace_s=5.0)
                    self._done(send=False)
                idle = self.handle is None and time.monotonic() - self.idle_since
                # Retired by a caller that may not have heard the answer (and so not ended it).
                if idle and (idle > self.idle_exit_s or self.retired):
                    self.retired = True
                    self._close()
                    os._exit(0)

    def _read(self, offset: int) -> bytes:
        try:
            with open(self.log, "rb") as log:
                log.seek(offset)
                return log.read()
        except FileNotFoundError:
            return b""

    def _done(self, *, send: bool = True) -> Any:
        """Forget the ended task; on a node apart, the files it wrote in its run folder (by
        path relative to the workspace folder, unless ``send`` is false), its copy of the
        folder removed."""
        copy, spec = self.copy, self.spec
        self.handle = self.copy = self.spec = None
        self.owner = None
        self.idle_since = time.monotonic()
        with contextlib.suppress(OSError):
            os.unlink(self.log)
        if copy is None or spec is None or not send:
            if copy is not None:
                copy.remove()
            return None
        try:
            return copy.changes(spec.cwd, spec.snapshot)
        finally:
            copy.remove()

    def _close(self) -> None:
        for server in getattr(self, "servers", {}).values():
            close = getattr(server, "close", None)
            if close is not None:
                with contextlib.suppress(Exception):
                    close()
        if getattr(self, "folder", None):
            shutil.rmtree(self.folder, ignore_errors=True)

    def __del__(self) -> None:
        self._close()


def runner_folder(base: str | None = None) -> str:
    """A new folder of this process's own under ``base`` (the temporary folder), naming this
    process (pid and start time) as its owner. Runners end without removing theirs when Ray
    kills them (``ray.kill``, a node's Ray stopped): the folders of owners that are gone are
    removed first."""
    base = base or tempfile.gettempdir()
    for entry in os.scandir(base):
        if entry.name.startswith(FOLDER_PREFIX) and entry.is_dir(follow_symlinks=False):
            try:
                with open(os.path.join(entry.path, OWNER_FILE), encoding="utf-8") as file:
                    owner = ProcessIdentity.from_json(json.load(file))
            except (OSError, ValueError):  # being made, or not a runner's: not for us to judge
                continue
            if owner is not None and not owner.alive():
                shutil.rmtree(entry.path, ignore_errors=True)
    folder = tempfile.mkdtemp(prefix=FOLDER_PREFIX, dir=base)
    me = ProcessIdentity.of(os.getpid())
    if me is not None:
        with open(os.path.join(folder, OWNER_FILE), "w", encoding="utf-8") as file:
            json.dump(me.to_json(), file)
    return folder


def node_snapshot(snapshot: str, ref: Any) -> str:
    """Where this node has the stored snapshot ``snapshot``: its folder, when the node sees it
    (a disk shared with the submitter), else a copy in the node's cache, fetched once per
    snapshot (its folder is named for its content) from Ray's object store."""
    if not snapshot or os.path.isdir(snapshot) or ref is None:
        return snapshot
    import ray

    cached = os.path.join(SNAPSHOT_CACHE, os.path.basename(snapshot.rstrip("/")))
    if os.path.isdir(cached):
        return cached
    temp = f"{cached}.{os.getpid()}.tmp"
    os.makedirs(temp, exist_ok=True)  # an empty snapshot stays an empty folder
    unpack(temp, ray.get(ref))
    try:
        os.rename(temp, cached)
    except OSError:  # another runner of this node cached it first
        import shutil

        shutil.rmtree(temp, ignore_errors=True)
    return cached


def _job_alive(job_id: str) -> bool:
    """Whether the Ray job (driver process) ``job_id`` is still there."""
    try:
        from ray._private.worker import global_worker

        jobs = global_worker.gcs_client.get_all_job_info(
            skip_submission_job_info_field=True, skip_is_running_tasks_field=True
        )
    except Exception:
        return True  # cannot tell: keep the task
    for key, info in jobs.items():
        if key.hex() == job_id:
            return not info.is_dead
    return True
