"""Tasks as Ray work: each task is a child process of a runner actor on a node of a Ray cluster.

A runner actor asks Ray for the task's resources (CPUs, GPUs, memory, custom resources), so Ray
picks the node; on that node it starts the task as it would locally (its own process group, or a
fork of a fork server that has imported the script's heavy modules once), writes its output to a
node-local file, and hands new output back on every poll, which the backend appends to the task's
log as it is written. Stopping a task kills its whole process tree on the node. A runner whose
task ended serves the next task of the same shape (its imports stay warm); runners die with the
process that made them (Ray ties an actor to its owner), like local tasks die with their parent.

When the node of a running task dies, the task starts again on another node, up to
``max_retries`` times; after that its poll reports SIGKILL and ``failure`` says which node was
lost and why. ``ray`` is imported only here, and only when a ray target is used.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import sys
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from hyperpipe.compute._base import TaskHandle, TaskSpec
from hyperpipe.exceptions import ComputeTargetException

__all__ = [
    "RayBackend",
    "RayRequest",
    "check_feasible",
    "connect",
    "forget_cluster",
    "import_ray",
]

# The Ray node a task runs on (its node id), in the task's environment.
NODE_ENV = "HYPERPIPE_RAY_NODE"
INSTALL_HINT = "pip install 'hyperpipe[ray]'"
# How long a new runner may wait for a node before idle runners are released to make room.
PLACEMENT_PATIENCE_S = 1.0
_POLL_MIN_S = 0.002
_POLL_MAX_S = 0.01


def import_ray() -> Any:
    """The ``ray`` module, or a one-line error saying how to install it."""
    try:
        import ray
    except ImportError:
        raise ComputeTargetException(
            f"a ray compute target needs Ray, which is not installed; {INSTALL_HINT}"
        ) from None
    return ray


@dataclass(frozen=True)
class RayRequest:
    """What one task asks of a node."""

    num_cpus: float = 1
    num_gpus: float = 0
    memory: int | None = None
    resources: dict[str, float] = field(default_factory=dict)

    def options(self) -> dict[str, Any]:
        options: dict[str, Any] = {"num_cpus": self.num_cpus, "num_gpus": self.num_gpus}
        if self.memory:
            options["memory"] = self.memory
        if self.resources:
            options["resources"] = dict(self.resources)
        return options

    def wants(self) -> dict[str, float]:
        """The request in Ray's resource names (memory in bytes)."""
        wanted = {"CPU": self.num_cpus, "GPU": self.num_gpus, "memory": self.memory or 0}
        wanted.update(self.resources)
        return {k: v for k, v in wanted.items() if v}

    def key(self) -> tuple[Any, ...]:
        return (self.num_cpus, self.num_gpus, self.memory, tuple(sorted(self.resources.items())))


def connect(address: str) -> Any:
    """Join the Ray cluster at ``address`` (once per process); a one-line error, and nothing
    started, when no cluster answers there."""
    ray = import_ray()
    target = address.strip()
    if ray.is_initialized():
        joined = _joined.get("address")
        if joined == target:
            return ray
        _check_address(address, target)
        if joined is None:  # joined by other code, at an address not known here
            return ray
        # A process belongs to one cluster: quietly using the one it joined first would run
        # this target's work somewhere else.
        raise ComputeTargetException(
            f"this process has joined the Ray cluster at {joined!r}, and a process can use one "
            f"cluster only; give every ray target it uses that address, not {address!r}"
        )
    _check_address(address, target)
    # Ray's driver set-up replaces the SIGTERM handler with one that exits at once; a monitor or
    # orchestrator must keep its own (SIGTERM is how a run is cancelled: stop the task, record).
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        ray.init(
            address=target,
            logging_level="ERROR",
            log_to_driver=False,
            configure_logging=False,
            include_dashboard=False,
        )
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise ComputeTargetException(
            f"cannot join the Ray cluster at {address!r}: {str(exc).splitlines()[0][:200]}; start "
            "one with `ray start --head` or point the target at a running head's address"
        ) from None
    finally:
        for sig, handler in handlers.items():
            if handler is not None:
                signal.signal(sig, handler)
    _joined["address"] = target
    return ray


_joined: dict[str, str] = {}  # the address this process joined, while it is joined


def forget_cluster() -> None:
    """After ``ray.shutdown()``: the process may join another cluster."""
    _joined.clear()


def _check_address(address: str, target: str) -> None:
    """A one-line error for an address that is malformed or where no cluster answers."""
    if target != "auto" and not target.startswith("ray://"):
        host, _, port = target.rpartition(":")
        if not host or not port.isdigit():
            raise ComputeTargetException(
                f"Ray address {address!r} is not host:port (e.g. 127.0.0.1:6379), ray://host:port "
                "or 'auto'; fix the target with `hyperpipe compute add NAME --type ray --address "
                "HOST:PORT`"
            )
        _check_reachable(address, host, int(port))
    elif target.startswith("ray://"):
        parts = urlsplit(target)
        _check_reachable(address, parts.hostname or "", parts.port or 10001)


def _check_reachable(address: str, host: str, port: int) -> None:
    try:
        with socket.create_connection((host, port), timeout=2.0):
            return
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
    raise ComputeTargetException(
        f"no Ray cluster answers at {address!r} ({reason}); start one with `ray start --head "
        f"--port {port}` on that machine, or fix the target's address (`hyperpipe compute add "
        "NAME --type ray --address HOST:PORT`)"
    )


def alive_nodes(ray: Any) -> list[dict[str, Any]]:
    return [node for node in ray.nodes() if node.get("Alive")]


def check_feasible(ray: Any, request: RayRequest, target: str) -> None:
    """A one-line error when no node of the cluster has everything ``request`` asks for."""
    wanted = request.wants()
    nodes = alive_nodes(ray)
    for node in nodes:
        have = node.get("Resources", {})
        if all(have.get(name, 0) >= amount for name, amount in wanted.items()):
            return
    offered = "; ".join(
        f"{node.get('NodeManagerAddress')}: "
        + ", ".join(
            f"{name}={_amount(name, amount)}"
            for name, amount in sorted(node.get("Resources", {}).items())
            if not name.startswith("node:") and "object_store" not in name
        )
        for node in nodes
    )
    asked = ", ".join(f"{k}={_amount(k, v)}" for k, v in wanted.items())
    raise ComputeTargetException(
        f"compute target {target!r} asks each run for {asked}, which no node of the Ray cluster "
        f"has (nodes: {offered or 'none'}); lower the request or start a node with those "
        "resources (`ray start --resources '{\"NAME\": 1}'`)"
    )


def _amount(name: str, amount: float) -> str:
    if name == "memory":
        return f"{amount / 2**30:.1f}GiB"
    return f"{amount:g}"


@dataclass
class _RayTask:
    """A running task: the runner actor that holds it, and how to start it again elsewhere."""

    spec: TaskSpec
    runner: Any
    node: str
    offset: int = 0
    retries_left: int = 0
    exit_code: int | None = None
    failure: str | None = None
    attempts: list[str] = field(default_factory=list)


@dataclass
class _RayGroup:
    """The ranks of one distributed job and the placement group that holds their nodes."""

    tasks: list[_RayTask]
    group: Any
    exit_code: int | None = None
    failure: str | None = None


class RayBackend:
    """Runs tasks on a Ray cluster (see the module docstring)."""

    def __init__(
        self,
        address: str,
        request: RayRequest | None = None,
        *,
        target: str = "ray",
        max_retries: int = 1,
        preload: list[str] | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.ray = connect(address)
        self.request = request or RayRequest()
        self.target = target
        check_feasible(self.ray, self.request, target)
        self.max_retries = max_retries
        self.preload = list(preload or [])
        self.env = dict(env or {})
        self._idle: dict[tuple[Any, ...], list[Any]] = {}
        self._runner_class: Any = None

    def node_count(self) -> int:
        return len(alive_nodes(self.ray))

    # -- the contract -------------------------------------------------------------------------

    def start(self, spec: TaskSpec, request: RayRequest | None = None) -> TaskHandle:
        request = request or self.request
        runner, node = self._runner(request)
        task = _RayTask(spec, runner, node, retries_left=self.max_retries)
        task.attempts.append(node)
        pid, started_at = self.ray.get(runner.start.remote(_remote_spec(spec)))
        handle = TaskHandle(spec.run_id, pid, started_at, task)
        handle.request = request  # type: ignore[attr-defined]
        return handle

    def start_group(
        self,
        spec: TaskSpec,
        nodes: int,
        per_node: int,
        *,
        rank_zero_env: tuple[str, ...] = (),
        request: RayRequest | None = None,
    ) -> TaskHandle:
        """Start ``spec`` as ``nodes * per_node`` ranks of one distributed job, ``per_node`` on
        each of ``nodes`` distinct nodes (a placement group), with the variables
        ``torch.distributed`` reads (``MASTER_ADDR``, ``MASTER_PORT``, ``WORLD_SIZE``, ``RANK``,
        ``LOCAL_RANK``, ``NODE_RANK``). Rank 0 writes to ``spec.log_path``; rank r to
        ``logs/rank_<r>.log`` in the task's folder. ``rank_zero_env``: variables only rank 0
        gets (so that only it records into the run). A rank that fails stops the others."""
        from ray.util.placement_group import placement_group, remove_placement_group
        from ray.util.scheduling_strategies import PlacementGroupSchedulingStrategy

        request = request or self.request
        bundle = {k: v * per_node for k, v in request.wants().items() if k != "memory"}
        if request.memory:
            bundle["memory"] = request.memory * per_node
        group = placement_group(
            [dict(bundle) for _ in range(nodes)],
            strategy="STRICT_SPREAD" if nodes > 1 else "PACK",
        )
        if not group.wait(timeout_seconds=60):
            remove_placement_group(group)
            raise ComputeTargetException(
                f"compute target {self.target!r}: the Ray cluster has no {nodes} distinct nodes "
                f"with {bundle} free each for a {nodes}-node job; add nodes or lower node_count"
            )
        if self._runner_class is None:
            self._runner_class = self.ray.remote(_Runner)
        world = nodes * per_node
        runners = []
        for rank in range(world):
            options = request.options()
            options.pop("resources", None)
            runners.append(
                self._runner_class.options(
                    max_restarts=0,
                    scheduling_strategy=PlacementGroupSchedulingStrategy(
                        placement_group=group, placement_group_bundle_index=rank // per_node
                    ),
                    **options,
                ).remote([], self.env)
            )
        master, port = self.ray.get(runners[0].rendezvous.remote())
        tasks = []
        for rank, runner in enumerate(runners):
            env = {
                **{k: v for k, v in spec.env.items() if rank == 0 or k not in rank_zero_env},
                "MASTER_ADDR": master,
                "MASTER_PORT": str(port),
                "WORLD_SIZE": str(world),
                "RANK": str(rank),
                "LOCAL_RANK": str(rank % per_node),
                "LOCAL_WORLD_SIZE": str(per_node),
                "NODE_RANK": str(rank // per_node),
                "GROUP_RANK": str(rank // per_node),
            }
            log = spec.log_path if rank == 0 else os.path.join(spec.cwd, "logs", f"rank_{rank}.log")
            rank_spec = replace(spec, env=env, log_path=log)
            node = self.ray.get(runner.node.remote())
            task = _RayTask(rank_spec, runner, node)
            task.attempts.append(node)
            tasks.append(task)
        started = self.ray.get([t.runner.start.remote(_remote_spec(t.spec)) for t in tasks])
        job = _RayGroup(tasks, group)
        return TaskHandle(spec.run_id, started[0][0], started[0][1], job)

    def _poll_group(self, handle: TaskHandle, job: _RayGroup) -> int | None:
        if job.exit_code is not None:
            return job.exit_code
        codes = []
        for task in job.tasks:
            if task.exit_code is None:
                try:
                    code, chunk = self.ray.get(task.runner.poll.remote(task.offset))
                except self.ray.exceptions.RayError as exc:
                    code, chunk = -signal.SIGKILL, b""
                    task.failure = f"node {task.node} was lost while rank ran ({exc!s:.200})"
                    job.failure = task.failure
                self._append(task, chunk)
                task.exit_code = code
            codes.append(task.exit_code)
        failed = [c for c in codes if c not in (None, 0)]
        if failed:  # one rank failed: the others cannot finish without it
            self._end_group(job, grace_s=5.0)
            job.exit_code = failed[0]
        elif all(c == 0 for c in codes):
            self._end_group(job, grace_s=0)
            job.exit_code = 0
        return job.exit_code

    def _end_group(self, job: _RayGroup, grace_s: float) -> None:
        from ray.util.placement_group import remove_placement_group

        for task in job.tasks:
            if task.exit_code is None:
                with contextlib.suppress(self.ray.exceptions.RayError):
                    code, chunk = self.ray.get(
                        task.runner.terminate.remote(grace_s, task.offset), timeout=grace_s + 30
                    )
                    self._append(task, chunk)
                    task.exit_code = code
            with contextlib.suppress(Exception):
                self.ray.kill(task.runner)
        with contextlib.suppress(Exception):
            remove_placement_group(job.group)

    def poll(self, handle: TaskHandle) -> int | None:
        if isinstance(handle.native, _RayGroup):
            return self._poll_group(handle, handle.native)
        task = self._task(handle)
        if task.exit_code is not None:
            return task.exit_code
        try:
            code, chunk = self.ray.get(task.runner.poll.remote(task.offset))
        except self.ray.exceptions.RayError as exc:
            return self._lost(handle, task, exc)
        self._append(task, chunk)
        if code is not None:
            task.exit_code = code
            self._release(handle, task)
        return code

    def wait(self, handle: TaskHandle, timeout: float | None = None) -> int | None:
        deadline = None if timeout is None else time.monotonic() + timeout
        while (code := self.poll(handle)) is None:
            left = 1.0 if deadline is None else deadline - time.monotonic()
            if left <= 0:
                return None
            self.wait_any([handle], left)
        return code

    def wait_any(self, handles: list[TaskHandle], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        delay = _POLL_MIN_S
        while True:
            if any(self.poll(h) is not None for h in handles):
                return
            left = deadline - time.monotonic()
            if left <= 0:
                return
            time.sleep(min(delay, left))
            delay = min(delay * 2, _POLL_MAX_S)

    def terminate(self, handle: TaskHandle, grace_s: float = 10.0) -> int:
        """Stop the task's whole process tree on its node; a lost node has nothing to stop."""
        if isinstance(handle.native, _RayGroup):
            job = handle.native
            if job.exit_code is None:
                self._end_group(job, grace_s)
                job.exit_code = -signal.SIGTERM
            return job.exit_code
        task = self._task(handle)
        if task.exit_code is not None:
            return task.exit_code
        try:
            code, chunk = self.ray.get(
                task.runner.terminate.remote(grace_s, task.offset), timeout=grace_s + 30
            )
            self._append(task, chunk)
        except self.ray.exceptions.RayError:
            code = -signal.SIGKILL
            with contextlib.suppress(Exception):
                self.ray.kill(task.runner)
            task.runner = None
        task.exit_code = code
        self._release(handle, task)
        return code

    def close(self) -> None:
        """Stop every idle runner (running tasks are stopped by whoever started them)."""
        for runners in self._idle.values():
            for runner in runners:
                with contextlib.suppress(Exception):
                    self.ray.kill(runner)
        self._idle.clear()

    # -- runners ------------------------------------------------------------------------------

    def _runner(self, request: RayRequest) -> tuple[Any, str]:
        """An idle runner of this shape, or a new one once Ray has placed it on a node."""
        idle = self._idle.get(request.key())
        while idle:
            runner = idle.pop()
            try:
                return runner, self.ray.get(runner.node.remote(), timeout=30)
            except self.ray.exceptions.RayError:
                continue  # its node went away
        if self._runner_class is None:
            self._runner_class = self.ray.remote(_Runner)
        runner = self._runner_class.options(max_restarts=0, **request.options()).remote(
            self.preload, self.env
        )
        ready = runner.node.remote()
        while True:  # the target's slots bound how many wait here
            done, _ = self.ray.wait([ready], timeout=PLACEMENT_PATIENCE_S)
            if done:
                return runner, self.ray.get(ready)
            if any(self._idle.values()):
                self.close()  # idle runners of other shapes hold what this one needs

    def _release(self, handle: TaskHandle, task: _RayTask) -> None:
        if task.runner is None:
            return
        request = getattr(handle, "request", self.request)
        self._idle.setdefault(request.key(), []).append(task.runner)
        task.runner = None

    def _lost(self, handle: TaskHandle, task: _RayTask, exc: Exception) -> int | None:
        """The runner (and so the task) died with its node or worker: run it again elsewhere,
        or end it with the node and the reason."""
        reason = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__
        with contextlib.suppress(Exception):
            self.ray.kill(task.runner)
        task.runner = None
        what = f"node {task.node} was lost while the task ran ({reason})"
        if task.retries_left > 0:
            task.retries_left -= 1
            retry = self.max_retries - task.retries_left
            self._note(task, f"{what}; running it again, retry {retry} of {self.max_retries}")
            request = getattr(handle, "request", self.request)
            runner, node = self._runner(request)
            task.runner, task.node, task.offset = runner, node, 0
            task.attempts.append(node)
            pid, started_at = self.ray.get(runner.start.remote(_remote_spec(task.spec)))
            handle.pid, handle.started_at = pid, started_at
            return None
        task.failure = what
        task.exit_code = -signal.SIGKILL
        self._note(task, what)
        return task.exit_code

    @staticmethod
    def _note(task: _RayTask, line: str) -> None:
        _write(task.spec.log_path, f"\n[hyperpipe] {line}\n".encode())

    @staticmethod
    def _append(task: _RayTask, chunk: bytes) -> None:
        """New output of the task on its node, added to its log (``offset``: what it has)."""
        if chunk:
            task.offset += len(chunk)
            _write(task.spec.log_path, chunk)

    @staticmethod
    def _task(handle: TaskHandle) -> _RayTask:
        assert isinstance(handle.native, _RayTask), "handle from another backend"
        return handle.native


def _write(log_path: str, chunk: bytes) -> None:
    path = Path(log_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "ab") as log:
        log.write(chunk)


def _remote_spec(spec: TaskSpec) -> dict[str, Any]:
    return {
        "run_id": spec.run_id,
        "argv": list(spec.argv),
        "cwd": spec.cwd,
        "env": dict(spec.env),
        "gpus": list(spec.gpus),
    }


class _Runner:
    """The actor on a node: runs one task at a time as a child process (own process group, dies
    with the actor), its output going to a file of the actor's own."""

    def __init__(self, preload: list[str], env: dict[str, str]) -> None:
        from hyperpipe.compute._local import LocalBackend

        os.environ.update(env)
        self.folder = tempfile.mkdtemp(prefix="hyperpipe-ray-")
        self.backend: Any = LocalBackend()
        if preload:
            try:
                from hyperpipe.compute._zygote import ZygoteBackend

                self.backend = ZygoteBackend(
                    sys.executable, preload, os.path.join(self.folder, "server.log")
                )
            except Exception as exc:  # plain processes then, as locally
                print(f"fork server unavailable ({exc}); tasks start as new processes")  # noqa: T201
        self.handle: TaskHandle | None = None
        self.log = ""
        self.count = 0

    def node(self) -> str:
        import ray

        context = ray.get_runtime_context()
        return f"{context.get_node_id()[:12]} ({ray.util.get_node_ip_address()})"

    def rendezvous(self) -> tuple[str, int]:
        """This node's address and a free port on it, for rank 0 to listen on."""
        import ray

        address = ray.util.get_node_ip_address()
        with socket.socket() as sock:
            sock.bind((address, 0))
            return address, sock.getsockname()[1]

    def start(self, remote: dict[str, Any]) -> tuple[int, float]:
        import ray

        self.count += 1
        self.log = os.path.join(self.folder, f"task-{self.count}.log")
        node = ray.get_runtime_context().get_node_id()
        spec = TaskSpec(
            run_id=remote["run_id"],
            argv=tuple(remote["argv"]),
            cwd=remote["cwd"],
            log_path=self.log,
            env={**remote["env"], NODE_ENV: node},
            gpus=tuple(remote["gpus"]),
        )
        if "CUDA_VISIBLE_DEVICES" in os.environ and not spec.gpus:
            # Ray gave this actor its GPUs: the task gets the same ones.
            visible = os.environ["CUDA_VISIBLE_DEVICES"]
            spec = replace(spec, env={**spec.env, "CUDA_VISIBLE_DEVICES": visible})
        self.handle = self.backend.start(spec)
        return self.handle.pid, self.handle.started_at

    def poll(self, offset: int) -> tuple[int | None, bytes]:
        assert self.handle is not None
        code = self.backend.poll(self.handle)
        chunk = self._read(offset)
        if code is not None:
            self._done()
        return code, chunk

    def terminate(self, grace_s: float, offset: int) -> tuple[int, bytes]:
        assert self.handle is not None
        code = self.backend.terminate(self.handle, grace_s=grace_s)
        chunk = self._read(offset)
        self._done()
        return code, chunk

    def _read(self, offset: int) -> bytes:
        try:
            with open(self.log, "rb") as log:
                log.seek(offset)
                return log.read()
        except FileNotFoundError:
            return b""

    def _done(self) -> None:
        self.handle = None
        with contextlib.suppress(OSError):
            os.unlink(self.log)

    def __del__(self) -> None:
        close = getattr(getattr(self, "backend", None), "close", None)
        if close is not None:
            with contextlib.suppress(Exception):
                close()
