"""Tasks as Ray work: each task is a child process of a runner actor on a node of a Ray cluster.

A runner actor asks Ray for the task's resources (CPUs, GPUs, memory, custom resources), so Ray
picks the node; on that node it starts the task as it would locally (its own process group, or a
fork of a fork server that has imported the script's heavy modules once), writes its output to a
node-local file, and hands new output back on every poll, which the backend appends to the task's
log as it is written. Stopping a task kills its whole process tree on the node.

Runners stay warm: each is a detached actor named for its target and shape (resources,
environment) in the ``hyperpipe`` namespace, so the next step, trial or pipeline run of the same
shape, from any process, finds it by name and starts at once (a task names the modules it wants
preloaded, and the runner keeps a fork server that has imported them while tasks keep naming
them: a sweep's backend asks its warm runners to start importing before its first trial); a
runner takes one task at a time (a busy one says so and the next is tried). New runners are
placed together, not one after another. A runner's task dies with the process that started it
(the runner watches that process's Ray job), like a local task dies with its parent; an idle
runner ends itself after ``IDLE_EXIT_S``, when another shape needs its node's resources, or on
``hyperpipe compute stop`` (``stop_runners``). The owner learns that a task ended from a call
the runner answers when its process exits (no polling round trips).

A node that does not see the workspace folder gets the task's run folder through Ray's object
store and sends back what the task wrote (``_ray_apart``), when the workspace allows it.

When the node of a running task dies, the task starts again on another node, up to
``max_retries`` times; after that its poll reports SIGKILL and ``failure`` says which node was
lost and why. Joining the cluster and asking what it has is ``_ray_cluster``'s part.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import signal
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hyperpipe.compute._base import TaskHandle, TaskSpec
from hyperpipe.compute._ray_apart import APART, Apart, pack, read_tree, unpack
from hyperpipe.compute._ray_cluster import RayRequest, alive_nodes, check_feasible, connect
from hyperpipe.compute._ray_runner import Runner
from hyperpipe.exceptions import ComputeTargetException

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["RayBackend", "stop_runners"]

# How long a new runner may wait for a node before idle runners are released to make room.
PLACEMENT_PATIENCE_S = 1.0
# Runners: their namespace and name prefix.
NAMESPACE = "hyperpipe"
RUNNER_PREFIX = "hyperpipe-runner-"
# The longest a runner's answer to "tell me when the task ends" waits (new output comes back
# at least this often).
WATCH_S = 0.2
# How often the ranks of a distributed job are polled.
_POLL_MIN_S = 0.002
_POLL_MAX_S = 0.01


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
    request: RayRequest = field(default_factory=RayRequest)
    pending: Any = None  # the runner's answer to come: (exit code or None, new output)
    answered: bool | None = None  # whether ``pending`` had come when wait_any last looked
    starting: bool = False  # ``pending`` is the runner's ``run``: it also says the task started
    tries: int = 0  # runners asked to start it (a busy one says so, and the next is asked)
    packed: Any = None  # its run folder in Ray's object store, for nodes apart (see _ray_apart)


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
        concurrency: int = 1,
        shared: tuple[str, str] | None = None,
        apart: Apart | None = None,
    ) -> None:
        """``concurrency``: how many tasks of one shape this backend runs at once at most (that
        many runners are placed together when none is warm). ``shared``: a file of the
        workspace's folder and its content, which a runner reads before it starts a task to
        check that its node sees that folder (see ``Runner.sees``). ``apart``: whether a node
        that does not see it may run the task in a copy of its run folder (``_ray_apart``);
        without it, such a node refuses the task."""
        self.ray = connect(address)
        self.request = request or RayRequest()
        self.target = target
        check_feasible(self.ray, self.request, target)
        self.max_retries = max_retries
        self.preload = None if preload is None else list(preload)
        self.env = dict(env or {})
        self.concurrency = max(1, concurrency)
        self.shared = shared
        self.apart = apart
        self._apart_runners: set[str] = set()  # runners on nodes that do not see the folder
        self.owner = self.ray.get_runtime_context().get_job_id()
        self._idle: dict[tuple[Any, ...], list[Any]] = {}
        # Runners whose last task here ended (so they are placed and answer at once), by shape.
        self._warm: dict[tuple[Any, ...], list[Any]] = {}
        self._looked_up: set[tuple[Any, ...]] = set()
        self._runner_class: Any = None
        self._snapshots: dict[str, Any] = {}  # snapshot folder -> its files in Ray's object store
        self._prepare()

    def node_count(self) -> int:
        return len(alive_nodes(self.ray))

    # -- the contract -------------------------------------------------------------------------

    def start(self, spec: TaskSpec, request: RayRequest | None = None) -> TaskHandle:
        """Start ``spec`` on a runner. On a runner that ran a task for this backend before, the
        start and the task's end are one call that is not awaited here: the handle's ``pid`` is
        0 (and ``started_at`` the time it was asked) until the runner's answer is collected by
        ``poll``/``wait_any``, which for a short task is also its end."""
        task = _RayTask(
            spec, None, "", retries_left=self.max_retries, request=request or self.request
        )
        handle = TaskHandle(spec.run_id, 0, time.time(), task)
        self._launch(handle, task)
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
        deadline = time.monotonic() + 60
        while not group.wait(timeout_seconds=PLACEMENT_PATIENCE_S):
            if time.monotonic() < deadline:
                self._make_room(None)  # idle runners hold what the ranks need
                continue
            remove_placement_group(group)
            raise ComputeTargetException(
                f"compute target {self.target!r}: the Ray cluster has no {nodes} distinct nodes "
                f"with {bundle} free each for a {nodes}-node job; add nodes or lower node_count"
            )
        if self._runner_class is None:
            self._runner_class = self.ray.remote(Runner)
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
                ).remote(None, self.env)
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
        try:
            started = self.ray.get([t.runner.start.remote(self._remote(t)) for t in tasks])
            for index, answer in enumerate(started):
                if answer == APART:  # that rank's node does not see the workspace folder
                    self._mark_apart(tasks[index])
                    started[index] = self.ray.get(
                        tasks[index].runner.start.remote(self._remote(tasks[index]))
                    )
        except self.ray.exceptions.RayTaskError as exc:
            # Ranks that did start are stopped; the runners and the placement group are freed.
            self._end_group(_RayGroup(tasks, group), grace_s=5.0)
            raise _not_started(exc, self.target) from None
        job = _RayGroup(tasks, group)
        return TaskHandle(spec.run_id, started[0][0], started[0][1], job)

    def _poll_group(self, handle: TaskHandle, job: _RayGroup) -> int | None:
        if job.exit_code is not None:
            return job.exit_code
        codes = []
        for task in job.tasks:
            if task.exit_code is None:
                try:
                    code, chunk, files = self.ray.get(task.runner.poll.remote(task.offset))
                    self._unpack(task, files)
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
                    code, chunk, files = self.ray.get(
                        task.runner.terminate.remote(grace_s, task.offset), timeout=grace_s + 30
                    )
                    self._append(task, chunk)
                    self._unpack(task, files)
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
        if task.pending is not None and task.answered is not None:
            # wait_any looked just now: the answer came, or it had not (and none is asked again)
            answered, task.answered = task.answered, None
            return self._collect(handle, task) if answered else None
        done, _ = self.ray.wait([self._watch(task)], timeout=0)
        return self._collect(handle, task) if done else None

    def wait(self, handle: TaskHandle, timeout: float | None = None) -> int | None:
        deadline = None if timeout is None else time.monotonic() + timeout
        while (code := self.poll(handle)) is None:
            left = 1.0 if deadline is None else deadline - time.monotonic()
            if left <= 0:
                return None
            self.wait_any([handle], left)
        return code

    wake_on_fds = False  # a driver's pipe is not something Ray can wait on: callers keep a timer

    def wait_any(self, handles: list[TaskHandle], timeout: float, wake: Sequence[int] = ()) -> None:
        """Sleep until a task ends (its runner answers at once), new output comes, or
        ``timeout``."""
        if any(isinstance(h.native, _RayGroup) for h in handles):
            self._wait_any_polling(handles, timeout)
            return
        tasks = [self._task(h) for h in handles]
        if not tasks:
            time.sleep(timeout)
            return
        if any(t.exit_code is not None for t in tasks):
            return
        refs = [self._watch(t) for t in tasks]
        done, _ = self.ray.wait(refs, num_returns=len(refs), timeout=0)
        if not done:
            done, _ = self.ray.wait(refs, num_returns=1, timeout=max(timeout, 0))
        ready = set(done)
        for task in tasks:  # what the next poll of each needs to know, without asking Ray again
            task.answered = task.pending in ready

    def _wait_any_polling(self, handles: list[TaskHandle], timeout: float) -> None:
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
        if task.pending is not None:  # the runner answers it first (within WATCH_S)
            with contextlib.suppress(self.ray.exceptions.GetTimeoutError):
                self.ray.wait([task.pending], timeout=WATCH_S + 30)
                self._collect(handle, task, retry=False)
        if task.exit_code is not None:
            return task.exit_code
        try:
            code, chunk, files = self.ray.get(
                task.runner.terminate.remote(grace_s, task.offset), timeout=grace_s + 30
            )
            self._append(task, chunk)
            self._unpack(task, files)
        except self.ray.exceptions.RayError:
            code = -signal.SIGKILL
            with contextlib.suppress(Exception):
                self.ray.kill(task.runner)
            task.runner = None
        task.exit_code = code
        self._release(task)
        return code

    def close(self) -> None:
        """Forget the idle runners: they stay warm for the next process (running tasks are
        stopped by whoever started them)."""
        self._idle.clear()
        self._warm.clear()

    # -- runners ------------------------------------------------------------------------------

    def _watch(self, task: _RayTask) -> Any:
        """The runner's answer to come for ``task``: when its process ends, or with new output
        within ``WATCH_S``."""
        if task.pending is None:
            task.pending = task.runner.watch.remote(task.offset, WATCH_S)
        return task.pending

    def _collect(self, handle: TaskHandle, task: _RayTask, *, retry: bool = True) -> int | None:
        """Take the runner's answer: new output into the log, the exit code when it ended."""
        ref, task.pending, task.answered = task.pending, None, None
        starting, task.starting = task.starting, False
        try:
            answer = self.ray.get(ref)
        except self.ray.exceptions.RayTaskError as exc:  # the runner is there: the task is not
            if not starting:
                raise
            return self._end_unstarted(task, _cause(exc))
        except self.ray.exceptions.RayError as exc:
            if not retry:
                task.exit_code = -signal.SIGKILL
                return task.exit_code
            return self._lost(handle, task, exc)
        if starting:
            started, code, chunk, files = answer
            if started is None or started == APART:  # nothing started there
                if started == APART:  # its node does not see the folder: again, with the folder
                    self._warm.setdefault(task.request.key(), []).append(task.runner)
                    try:
                        self._mark_apart(task)
                    except ComputeTargetException as exc:  # it cannot be sent there
                        task.runner = None
                        return self._end_unstarted(task, str(exc))
                task.runner = None
                if not retry:
                    task.exit_code = -signal.SIGTERM
                    return task.exit_code
                self._launch(handle, task)
                return None
            handle.pid, handle.started_at, task.node = started
            task.attempts.append(task.node)
        else:
            code, chunk, files = answer
        self._append(task, chunk)
        self._unpack(task, files)
        if code is not None:
            task.exit_code = code
            self._release(task)
        return code

    def _end_unstarted(self, task: _RayTask, reason: str) -> int:
        """End ``task``, which its runner did not start, saying why."""
        task.failure = f"the task could not start on its runner: {reason}"
        task.exit_code = -signal.SIGKILL
        self._note(task, task.failure)
        self._release(task)
        return task.exit_code

    def _launch(self, handle: TaskHandle, task: _RayTask) -> None:
        """Start ``task`` on a free runner of its shape: on one that ran a task here before, by
        its ``run`` call (answered when the task ends, or with new output within ``WATCH_S``),
        not awaited; else on a runner found by name or placed now, awaiting its start (it may
        first need room on a node)."""
        task.offset, task.answered, task.exit_code = 0, None, None
        warm = self._warm.get(task.request.key())
        if warm and task.tries < 100:
            task.tries += 1
            task.runner = warm.pop()
            remote = self._remote(task)
            task.pending, task.starting = task.runner.run.remote(remote, self.owner, WATCH_S), True
            return
        runner = None
        while task.tries < 100:
            task.tries += 1
            runner = runner or self._runner(task.request)
            reply = runner.start.remote(self._remote(task, runner), self.owner)
            # A runner found by name may still wait for a node that idle runners of other
            # shapes hold: make room until it answers.
            while not self.ray.wait([reply], timeout=PLACEMENT_PATIENCE_S)[0]:
                self._make_room(self._shape(task.request))
            try:
                started = self.ray.get(reply)
            except self.ray.exceptions.RayTaskError as exc:  # the runner could not start it
                raise _not_started(exc, self.target) from None
            except self.ray.exceptions.RayError:
                runner = None
                continue  # it ended (idle too long, retired, its node lost): the next one
            if started == APART:  # its node does not see the folder: again, with the folder
                task.runner = runner
                self._mark_apart(task)
                continue
            if started is None:
                runner = None
                continue  # busy with another process's task
            handle.pid, handle.started_at, node = started
            task.runner, task.node, task.pending = runner, node, None
            task.attempts.append(node)
            return
        raise ComputeTargetException(
            f"compute target {self.target!r}: no Ray runner would take task {task.spec.run_id} "
            "after 100 tries; check the cluster with `ray status`"
        )

    def _remote(self, task: _RayTask, runner: Any = None) -> dict[str, Any]:
        """What ``runner`` (the task's) is sent to start ``task``: with its run folder when the
        runner's node is known not to see the workspace folder."""
        runner = runner or task.runner
        apart = _actor_id(runner) in self._apart_runners
        return _remote_spec(
            task.spec,
            self.preload,
            self._snapshot_ref(task.spec.snapshot),
            self.shared,
            None if self.apart is None else self.apart.to_remote(),
            task.packed if apart else None,
        )

    def _mark_apart(self, task: _RayTask) -> None:
        """``task``'s runner is on a node that does not see the workspace folder: it gets the
        task's run folder (put into Ray's object store once per task)."""
        self._apart_runners.add(_actor_id(task.runner))
        if task.packed is not None:
            return
        assert self.apart is not None, "a runner answers APART only when apart is allowed"
        packed = pack(self.apart, task.spec.cwd)
        if packed is None:
            raise ComputeTargetException(
                f"compute target {self.target!r}: node {task.node or '(a node)'} does not see "
                f"the workspace folder {self.apart.root}, and the task's working folder "
                f"{task.spec.cwd} is outside it, so it cannot be sent there; run the task in "
                "the workspace folder, or pin the target to nodes that see it (resources=...)"
            )
        task.packed = self.ray.put(packed)

    def _unpack(self, task: _RayTask, files: Any) -> None:
        """Write what ``task`` wrote on a node apart into its run folder here."""
        if files and self.apart is not None:
            unpack(self.apart.root, files)

    def _snapshot_ref(self, snapshot: str) -> Any:
        """The files of a stored snapshot in Ray's object store (put once per snapshot), for a
        node that does not see the folder: its runner fetches them once into the node's cache.
        A node that sees the folder reads it there."""
        if not snapshot:
            return None
        ref = self._snapshots.get(snapshot)
        if ref is None:
            ref = self._snapshots[snapshot] = self.ray.put(read_tree(snapshot))
        return ref

    def _shape(self, request: RayRequest) -> str:
        """The name prefix of this target's runners of one shape (resources, env); the modules
        a task preloads are its runner's choice per task, so a pipeline's steps and a sweep's
        trials share runners."""
        shape = repr((request.key(), sorted(self.env.items())))
        digest = hashlib.sha1(shape.encode()).hexdigest()[:12]
        return f"{RUNNER_PREFIX}{self.target}-{digest}-"

    def _runner(self, request: RayRequest) -> Any:
        """A runner of this shape that is likely free: one this backend used, one another
        process left warm (found by name), or one of new ones placed together."""
        idle = self._look_up(request)
        if idle:
            return idle.pop(0)
        return self._place(request)

    def _look_up(self, request: RayRequest) -> list[Any]:
        """The idle runners of this shape known here; the first time, those another process
        left warm (found by name)."""
        key = request.key()
        idle = self._idle.setdefault(key, [])
        if not idle and key not in self._looked_up:
            self._looked_up.add(key)
            prefix = self._shape(request)
            for name in _runner_names(self.ray):
                if name.startswith(prefix):
                    with contextlib.suppress(ValueError):
                        idle.append(self.ray.get_actor(name, namespace=NAMESPACE))
        return idle

    def _prepare(self) -> None:
        """Warm runners start importing this backend's preload now, while its caller gets
        ready (no answer awaited)."""
        if self.preload is None:
            return
        for runner in self._look_up(self.request):
            runner.prepare.remote(self.preload)

    def _place(self, request: RayRequest) -> Any:
        """New runners of this shape, as many as the backend may use at once, placed together;
        the first one placed (the others join the idle ones)."""
        if self._runner_class is None:
            self._runner_class = self.ray.remote(Runner)
        prefix = self._shape(request)
        taken = set(_runner_names(self.ray))
        wanted = request.wants()
        room = sum(  # runners of this shape the nodes that have what it asks for can hold
            int(min(node["Resources"].get(k, 0) // v for k, v in wanted.items())) if wanted else 1
            for node in alive_nodes(self.ray)
        )
        count = max(1, min(self.concurrency, room))
        runners: dict[Any, Any] = {}
        index = 0
        while len(runners) < count and index < 10_000:
            name = f"{prefix}{index}"
            index += 1
            if name in taken:
                continue
            try:
                runner = self._runner_class.options(
                    name=name,
                    namespace=NAMESPACE,
                    lifetime="detached",
                    max_restarts=0,
                    **request.options(),
                ).remote(self.preload, self.env)
            except ValueError:  # another process took the name just now
                continue
            runners[runner.node.remote()] = runner
        waiting = list(runners)
        while True:  # the target's slots bound how many wait here
            done, waiting = self.ray.wait(waiting, num_returns=1, timeout=PLACEMENT_PATIENCE_S)
            if done:
                first = runners.pop(done[0])
                self._idle.setdefault(request.key(), []).extend(runners.values())
                return first
            self._make_room(prefix)

    def _make_room(self, keep: str | None) -> None:
        """Idle runners of shapes other than ``keep`` (of any process) hold what a new one needs:
        end them."""
        for known in (self._idle, self._warm):
            for key in list(known):
                if self._shape_key_prefix(key) != keep:
                    known.pop(key)
        others = [n for n in _runner_names(self.ray) if keep is None or not n.startswith(keep)]
        asked = {}
        for name in others:
            with contextlib.suppress(ValueError):
                runner = self.ray.get_actor(name, namespace=NAMESPACE)
                asked[runner.retire.remote()] = runner
        done, _ = self.ray.wait(list(asked), num_returns=len(asked), timeout=1.0)
        for ref in done:
            with contextlib.suppress(self.ray.exceptions.RayError):
                if self.ray.get(ref)[0]:
                    self.ray.kill(asked[ref])

    def _shape_key_prefix(self, key: tuple[Any, ...]) -> str:
        num_cpus, num_gpus, memory, resources = key
        return self._shape(RayRequest(num_cpus, num_gpus, memory, dict(resources)))

    def _release(self, task: _RayTask) -> None:
        task.packed = None  # its run folder in the object store: freed once the task ended
        if task.runner is None:
            return
        self._warm.setdefault(task.request.key(), []).append(task.runner)
        task.runner = None

    def _lost(self, handle: TaskHandle, task: _RayTask, exc: Exception) -> int | None:
        """The runner (and so the task) died with its node or worker: run it again elsewhere,
        or end it with the node and the reason."""
        reason = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__
        with contextlib.suppress(Exception):
            self.ray.kill(task.runner)
        task.runner = None
        what = f"node {task.node or '(not known yet)'} was lost while the task ran ({reason})"
        if task.retries_left > 0:
            task.retries_left -= 1
            retry = self.max_retries - task.retries_left
            self._note(task, f"{what}; running it again, retry {retry} of {self.max_retries}")
            task.tries = 0
            self._launch(handle, task)
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


def _cause(exc: Any) -> str:
    """What a runner's exception said: its message, not the remote traceback Ray wraps it in."""
    cause = getattr(exc, "cause", None)
    text = str(cause) if cause is not None else str(exc).strip().splitlines()[-1]
    return text[:500]


def _not_started(exc: Any, target: str) -> Exception:
    """The error for a task its runner could not start: a user error (the node cannot run it
    as configured) says so in one line; anything else is raised as it was."""
    from hyperpipe.exceptions import UserErrorException

    if isinstance(getattr(exc, "cause", None), UserErrorException):
        return ComputeTargetException(
            f"compute target {target!r}: the task could not start on its runner: {_cause(exc)}"
        )
    return exc.as_instanceof_cause()


def _remote_spec(
    spec: TaskSpec,
    preload: list[str] | None = None,
    snapshot_ref: Any = None,
    shared: tuple[str, str] | None = None,
    apart: dict[str, str] | None = None,
    packed: Any = None,
) -> dict[str, Any]:
    return {
        "shared": shared,
        "apart": apart,
        "packed": packed,
        "preload": None if preload is None else list(preload),
        "snapshot": spec.snapshot,
        "snapshot_ref": snapshot_ref,
        "run_id": spec.run_id,
        "argv": list(spec.argv),
        "cwd": spec.cwd,
        "env": dict(spec.env),
        "gpus": list(spec.gpus),
    }


def _actor_id(runner: Any) -> str:
    return runner._actor_id.hex()


def _runner_names(ray: Any) -> list[str]:
    """The names of every runner on the cluster (any target, any process)."""
    return [
        entry["name"]
        for entry in ray.util.list_named_actors(all_namespaces=True)
        if entry.get("namespace") == NAMESPACE and entry["name"].startswith(RUNNER_PREFIX)
    ]


def stop_runners(address: str, target: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """End the warm runners of ``target`` on the cluster at ``address``: (those ended, those left
    because a task runs on them), each as its process id, node and task."""
    ray = connect(address)
    prefix = f"{RUNNER_PREFIX}{target}-"
    asked = {}
    for name in _runner_names(ray):
        if name.startswith(prefix):
            with contextlib.suppress(ValueError):
                runner = ray.get_actor(name, namespace=NAMESPACE)
                asked[runner.retire.remote()] = runner
    ended, busy = [], []
    for ref, runner in asked.items():
        try:
            retired, info = ray.get(ref, timeout=30)
        except ray.exceptions.RayError:
            continue  # already gone
        if retired:
            ray.kill(runner)
            ended.append(info)
        else:
            busy.append(info)
    return ended, busy
