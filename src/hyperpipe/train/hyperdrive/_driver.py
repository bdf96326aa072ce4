"""The HyperDrive driver: ask → launch a trial → watch its primary metric → apply the policy → tell.

Trials are child runs ``<parent id>_<n>`` of the sweep's run, each executing the script with the
base arguments plus ``--<key> <value>`` pairs. They start as forks of a fork server that has
already imported the script's third-party modules (a fresh interpreter importing torch costs
seconds), each in its own process group with its own run context, log and working folder, so one
can be stopped without touching the others. Everything is recorded in the store as it happens: a
driver that crashes is resumed from there (finished trials are told to the sampler again, lost
ones re-run).
"""

from __future__ import annotations

import ast
import contextlib
import json
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hyperpipe._record import Record
from hyperpipe.compute import LocalBackend, SlotPool, TaskSpec, lost_node
from hyperpipe.core import _lifecycle, _paths
from hyperpipe.core._backends import backend_for
from hyperpipe.core._background import StopFlag, drive, start_in_background
from hyperpipe.core._execution import ending, run_context_env, store_run_files, with_process
from hyperpipe.core._metric_events import METRIC_EVENTS_ENV, URGENT_METRIC_ENV, MetricEvents
from hyperpipe.data._materialize import LaterRemovals, materialize_inputs, remove_tree
from hyperpipe.data._materialize import environment as dataset_environment
from hyperpipe.exceptions import UserErrorException
from hyperpipe.store import RunStatus
from hyperpipe.train.hyperdrive._goal import PrimaryMetricGoal
from hyperpipe.train.hyperdrive._serialize import policy_from_json, sampling_from_json
from hyperpipe.train.hyperdrive._space import require_optuna

if TYPE_CHECKING:
    from hyperpipe.compute import Slot, TaskHandle
    from hyperpipe.core._workspace import Workspace
    from hyperpipe.store import RunRecord

__all__ = ["Driver", "main", "start_driver"]

TRIAL_RUN_TYPE = "azureml.scriptrun"
POLICY_CHECK_S = 0.25  # how often the policy looks where trials' reports cannot wake the driver
# Where they can (``metric_events``), it looks as each report arrives, and this often regardless.
POLICY_FALLBACK_S = 2.0
CANCEL_CHECK_S = 0.2
BLAS_THREADS_ENV = "OPENBLAS_NUM_THREADS"


def start_driver(workspace: Workspace, run_id: str) -> None:
    start_in_background(workspace, run_id, "hyperpipe.train.hyperdrive._driver")


class _Trial(Record, frozen=False):
    record: RunRecord
    number: int
    values: dict[str, Any]
    optuna_trial: Any
    handle: TaskHandle
    slot: Slot
    run_dir: Path
    workdir: Path
    log_path: Path
    stopped_by_policy: bool = False
    judged: int = 0  # how many of its reports the policy has looked at


class Driver:
    """Runs one sweep to its end (or resumes it)."""

    def __init__(
        self, workspace: Workspace, run_id: str, *, base_arguments: list[str] | None = None
    ) -> None:
        self.ws = workspace
        self.store = workspace._store
        self.run_id = run_id
        self.record = self.store.get_run(run_id)
        self.config = self.record.definition["hyperdrive"]
        self.sampling = sampling_from_json(self.config["sampling"])
        self.policy = policy_from_json(self.config["policy"]) if self.config.get("policy") else None
        self.goal = PrimaryMetricGoal[self.config["primary_metric_goal"]]
        self.metric = self.config["primary_metric_name"]
        self.base_arguments = (
            base_arguments if base_arguments is not None else self.config["arguments"]
        )
        self.stop = StopFlag()
        self.identity = _lifecycle.process_identity()
        self.active: dict[int, _Trial] = {}
        self.ended: list[RunRecord] = []
        self.final_histories: dict[str, list[float]] = {}
        self.started = 0  # trial numbers handed out (ids stay unique across resumes)
        self.used = 0  # trials that count against max_total_runs
        target = workspace._target_spec(self.config["target"])
        self.pool = SlotPool(
            _paths.slots_dir(workspace.root, target.name), target.max_concurrency, target.gpus
        )
        self.backend: Any = None
        self.events: MetricEvents | None = None
        # Ended trials' folders, removed off the path that starts the next trial (``execute``
        # waits for every removal before it returns).
        self._removals = LaterRemovals()

    # -- the loop -----------------------------------------------------------------------------

    def execute(self) -> RunStatus | None:
        if self.store.get_run(self.run_id).status == RunStatus.CANCEL_REQUESTED:
            return self._end(RunStatus.CANCELED)
        # The fork server imports while this process imports the sampler (Optuna).
        self.backend = self._start_backend()
        try:
            _optuna_logs_through_ours()
            self.study = self.sampling.create_study(self.goal)
            self._warm_start()
            self._adopt_earlier_trials()
            self._set_run(RunStatus.RUNNING)
            self.backend = self._ready(self.backend)
            if self.policy is not None and getattr(self.backend, "wake_on_fds", False):
                self.events = MetricEvents(
                    _paths.run_dir(self.ws.root, self.run_id) / "metric-events"
                )
            return self._loop()
        finally:
            self._removals.wait()
            close = getattr(self.backend, "close", None)
            if close is not None:
                close()
            if self.events is not None:
                self.events.close()

    def _loop(self) -> RunStatus | None:
        deadline = time.monotonic() + 60 * self.config["max_duration_minutes"]
        next_policy = next_cancel = 0.0
        while True:
            now = time.monotonic()
            if self.stop.is_set():
                return self._cancel_all(RunStatus.CANCELED)
            if now >= next_cancel:
                next_cancel = now + CANCEL_CHECK_S
                record = self.store.get_run(self.run_id)
                if record.status.is_terminal() or not _lifecycle.owned_by(record, self.identity):
                    return self._abandon()
                if record.status == RunStatus.CANCEL_REQUESTED:
                    return self._cancel_all(RunStatus.CANCELED)
            if now > deadline:
                return self._cancel_all(None)
            progressed = self._reap() + self._launch()
            reported = self.events is not None and self.events.drain()
            if self.policy is not None and (reported or now >= next_policy):
                self._apply_policy()
                next_policy = now + (POLICY_FALLBACK_S if self.events else POLICY_CHECK_S)
            if not self.active and not self._can_launch():
                return self._conclude()
            if not progressed:
                self.backend.wait_any(
                    [t.handle for t in self.active.values()],
                    CANCEL_CHECK_S if self.active else 0.05,
                    wake=[self.events.fileno()] if self.events else (),
                )

    def _can_launch(self) -> bool:
        if self.used >= self.config["max_total_runs"]:
            return False
        return not self.sampling.is_exhausted(self.study)

    def _launch(self) -> int:
        launched = 0
        while self._can_launch() and len(self.active) < self.config["max_concurrent_runs"]:
            if getattr(self.backend, "dead", False):  # the fork server was killed: a new one
                # Its trials died with it: end them here, while their handles still poll the
                # server that started them (the new one would never report them).
                self._reap()
                self.backend.close()
                self.backend = self._ready(self._start_backend())
            slot = self.pool.try_acquire()
            if slot is None:
                break
            try:
                self._start_trial(slot)
            except BaseException:
                slot.release()
                raise
            launched += 1
        return launched

    def _reap(self) -> int:
        ended = 0
        for number, trial in list(self.active.items()):
            code = self.backend.poll(trial.handle)
            if code is None:
                continue
            del self.active[number]
            self._finish_trial(trial, code)
            ended += 1
        return ended

    # -- trials -------------------------------------------------------------------------------

    def _start_backend(self) -> Any:
        """The target's backend, with the script's third-party imports preloaded once (by a fork
        server here, or by each warm runner on a cluster)."""
        snapshot = self.ws.state_dir / "snapshots" / self.config["snapshot"]
        preload = third_party_imports(snapshot / self.config["script"], snapshot)
        return backend_for(
            self.ws,
            self.ws._target_spec(self.config["target"]),
            preload=["hyperpipe.core", "hyperpipe.core._run:warm", *preload],
            server_log=_paths.run_dir(self.ws.root, self.run_id) / "trial-server.log",
            owner=self.run_id,  # what its trials leave behind is the sweep's
            wait=False,  # it imports while this process imports the sampler
        )

    def _ready(self, backend: Any) -> Any:
        """The fork server once it has imported its modules; plain processes if it cannot
        serve."""
        if not hasattr(backend, "ready"):
            return backend
        try:
            return backend.ready()
        except Exception as exc:  # fall back, but say so
            with contextlib.suppress(Exception):
                backend.close()
            print(f"fork server unavailable ({exc}); trials start as new processes")  # noqa: T201
            return LocalBackend()

    def _start_trial(self, slot: Slot) -> None:
        optuna_trial, values = self.sampling.ask(self.study)
        number = self._next_number()
        self._launch_trial(number, values, optuna_trial, slot)

    def _next_number(self) -> int:
        number = self.started
        self.started += 1
        self.used += 1
        return number

    def _launch_trial(
        self, number: int, values: dict[str, Any], optuna_trial: Any, slot: Slot
    ) -> None:
        arguments = [*self.base_arguments, *self.sampling.to_arguments(values)]
        run_id = f"{self.run_id}_{number}"
        datastore = self.ws.get_default_datastore()
        log_path = datastore._local_path(_paths.artifact_prefix(run_id) + _paths.DRIVER_LOG)
        if log_path is None:
            log_path = _paths.run_dir(self.ws.root, run_id) / _paths.DRIVER_LOG
        record = self.store.create_run(
            experiment_name=self.record.experiment_name,
            run_id=run_id,
            run_type=TRIAL_RUN_TYPE,
            status=RunStatus.PREPARING,
            parent_id=self.run_id,
            target=self.config["target"],
            definition={
                "script": self.config["script"],
                "arguments": arguments,
                "source_directory": self.config["source_directory"],
                "inputs": self.config["inputs"],
                "target": self.config["target"],
                "datastore": datastore.name,
                "log_path": str(log_path),
                "hyperparameters": values,
                "environment_variables": self.config["environment_variables"],
            },
            properties={"hyperparameters": json.dumps(values)},
            # SDK v1's record of each trial's values on the sweep's run, written with the trial
            parent_tags={f"_aml_system_{run_id}": json.dumps(values)},
            **self.identity,
        )
        run_dir = _paths.run_dir(self.ws.root, run_id)
        workdir = run_dir / "wd"
        env = dict(self.config["environment_variables"])
        inputs = self.config["inputs"]
        if inputs:
            materialized = materialize_inputs(self.ws, inputs, workdir, run_dir / "inputs")
            env.update(dataset_environment(inputs, materialized))
            from hyperpipe.core._execution import substitute_inputs

            arguments = [substitute_inputs(a, inputs, materialized) for a in arguments]
        env.update(run_context_env(self.ws, record))
        if self.events is not None:  # each report of the primary metric wakes this driver
            env.update({METRIC_EVENTS_ENV: str(self.events.path), URGENT_METRIC_ENV: self.metric})
        try:
            handle = self.backend.start(
                TaskSpec(
                    run_id=run_id,
                    argv=(sys.executable, self.config["script"], *arguments),
                    cwd=str(workdir),
                    log_path=str(log_path),
                    env=env,
                    gpus=slot.gpus,
                    die_with_parent=True,
                    # Copied into the working folder where the trial runs, by the trial's side.
                    snapshot=str(self.ws.state_dir / "snapshots" / self.config["snapshot"]),
                )
            )
        except RuntimeError as exc:  # the fork server died: this trial never started
            slot.release()
            remove_tree(run_dir)
            final = self.store.set_status(
                run_id,
                RunStatus.CRASHED,
                error=_error("TrialNotStarted", f"the trial could not start: {exc}", ""),
                strict=False,
            )
            self.ended.append(final)
            self._tell(optuna_trial, final)
            return
        record = self.store.set_status(
            run_id,
            RunStatus.RUNNING,
            strict=False,
            definition=with_process(record.definition, handle),
        )
        self.active[number] = _Trial(
            record, number, values, optuna_trial, handle, slot, run_dir, workdir, log_path
        )

    def _finish_trial(self, trial: _Trial, code: int) -> None:
        record = trial.record
        final = None
        try:
            store_run_files(self.ws, record, trial.workdir, trial.log_path)
            status, err = ending(
                self.store,
                record.id,
                code,
                cancelled=trial.stopped_by_policy,
                lost=lost_node(trial.handle),
            )
            final = self.store.set_status(record.id, status, error=err, strict=False)
        finally:
            trial.slot.release()
            if final is not None:  # else its metric journal stays, for whoever ends the trial
                self._removals.add(trial.run_dir)
        self.ended.append(final)
        self._tell(trial.optuna_trial, final)

    def _tell(self, optuna_trial: Any, record: RunRecord) -> None:
        best = self._best_value(record)
        import optuna

        if record.status == RunStatus.COMPLETED and best is not None:
            self.study.tell(optuna_trial, best)
        elif record.status == RunStatus.CANCELED:
            self.study.tell(optuna_trial, state=optuna.trial.TrialState.PRUNED)
        else:
            self.study.tell(optuna_trial, state=optuna.trial.TrialState.FAIL)

    def _histories(self, records: list[RunRecord]) -> dict[str, list[float]]:
        """Each trial's primary metric values; an ended trial's are read once and kept."""
        histories = {
            r.id: self.final_histories[r.id] for r in records if r.id in self.final_histories
        }
        unread = [r for r in records if r.id not in histories]
        by_key = self.store.get_metrics([r.key for r in unread], [self.metric]) if unread else {}
        for r in unread:
            values = [p.data for s in by_key.get(r.key, []) for p in s.points]
            histories[r.id] = [float(v) for v in values if isinstance(v, (int, float))]
            if r.status.is_terminal():
                self.final_histories[r.id] = histories[r.id]
        return histories

    def _best_value(self, record: RunRecord) -> float | None:
        values = self._histories([record])[record.id]
        if not values:
            return None
        return max(values) if self.goal == PrimaryMetricGoal.MAXIMIZE else min(values)

    def _apply_policy(self) -> None:
        if not self.active:
            return
        records = [t.record for t in self.active.values()] + self.ended
        histories = self._histories(records)
        first_batch = {f"{self.run_id}_{n}" for n in range(self.config["max_concurrent_runs"])}
        for trial in list(self.active.values()):
            reports = len(histories.get(trial.record.id, ()))
            # Judge every report since the last look, so none is skipped between polls.
            while not trial.stopped_by_policy and trial.judged < reports:
                trial.judged += 1
                if self.policy.should_stop(
                    trial.record.id,
                    histories,
                    self.goal,
                    first_batch=first_batch,
                    interval=trial.judged,
                ):
                    trial.stopped_by_policy = True
                    self.store.add_properties(trial.record.id, {"early_terminated": "true"})
                    self.backend.terminate(trial.handle, grace_s=5.0)

    # -- endings ------------------------------------------------------------------------------

    def _conclude(self) -> RunStatus:
        self._log_best()
        logged_any = any(self._histories(self.ended).values())
        if not self.ended:
            return self._end(RunStatus.COMPLETED)
        if all(r.status in (RunStatus.FAILED, RunStatus.CRASHED) for r in self.ended):
            first = self.ended[0]
            inner = (first.error or {}).get("error", {})
            return self._end(
                RunStatus.FAILED,
                _error(
                    "AllTrialsFailed",
                    f"all {len(self.ended)} trials failed; the first ({first.id}): "
                    f"{inner.get('message', first.status.value)}",
                    inner.get("logTail", ""),
                ),
            )
        if not logged_any:
            logged = sorted(
                {
                    s.name
                    for series in self.store.get_metrics([r.key for r in self.ended]).values()
                    for s in series
                }
            )
            return self._end(
                RunStatus.FAILED,
                _error(
                    "PrimaryMetricMissing",
                    f"no trial logged the primary metric {self.metric!r} (the trials logged: "
                    f"{', '.join(logged) or 'nothing'}); make primary_metric_name match the name "
                    "the script passes to run.log",
                    "",
                ),
            )
        return self._end(RunStatus.COMPLETED)

    def _log_best(self) -> None:
        """SDK v1's parent table ``best_child_by_primary_metric``: the best trial so far."""
        from hyperpipe.core._metrics import MetricWriter, to_point

        best = None
        for record in self.ended:
            value = self._best_value(record)
            if value is None:
                continue
            better = best is None or (
                value > best[1] if self.goal == PrimaryMetricGoal.MAXIMIZE else value < best[1]
            )
            if better:
                best = (record.id, value)
        if best is not None:
            writer = MetricWriter(self.store, self.record.key, None)
            row = {"run_id": [best[0]], "metric_value": [best[1]], "final": [True]}
            writer.append(to_point("best_child_by_primary_metric", "table", row, "", None))
            writer.close()

    def _set_run(self, status: RunStatus, err: dict[str, Any] | None = None) -> RunRecord:
        """Move the sweep's run, unless another process has taken it over meanwhile."""
        return self.store.set_status(
            self.run_id, status, error=err, strict=False, if_fields=self.identity
        )

    def _end(self, status: RunStatus, err: dict[str, Any] | None = None) -> RunStatus:
        self._set_run(status, err)
        return status

    def _abandon(self) -> None:
        """The sweep ended or was taken over elsewhere: stop the trials, write nothing."""
        for trial in list(self.active.values()):
            self.backend.terminate(trial.handle, grace_s=5.0)
            trial.slot.release()
            remove_tree(trial.run_dir)
        self.active.clear()

    def _cancel_all(self, status: RunStatus | None) -> RunStatus:
        for trial in list(self.active.values()):
            trial.stopped_by_policy = True
            self.backend.terminate(trial.handle, grace_s=5.0)
        self._reap()
        if status is None:  # out of time: what finished counts
            return self._conclude()
        return self._end(status)

    # -- resume -------------------------------------------------------------------------------

    def _warm_start(self) -> None:
        """``resume_from``: what earlier sweeps' trials found is told to the sampler first."""
        for earlier_id in self.config.get("resume_from") or []:
            earlier = self.store.get_run(earlier_id)
            sweep = earlier.definition.get("hyperdrive", {})
            if (sweep.get("primary_metric_name"), sweep.get("primary_metric_goal")) != (
                self.metric,
                self.goal.name,
            ):
                raise UserErrorException(
                    f"resume_from run {earlier_id} tuned {sweep.get('primary_metric_name')!r} "
                    f"({sweep.get('primary_metric_goal')}); this sweep tunes {self.metric!r} "
                    f"({self.goal.name}): they must match"
                )
            for record in self.store.list_runs(parent_id=earlier_id, newest_first=False):
                best = self._best_value(record) if record.status == RunStatus.COMPLETED else None
                if best is None:
                    continue
                values = record.definition.get("hyperparameters", {})
                try:
                    self.sampling.replay(self.study, values, best)
                except Exception as exc:
                    raise UserErrorException(
                        f"resume_from run {earlier_id}: trial {record.id} ran {values}, which is "
                        f"not a point of this sweep's space ({exc}); warm-start from a sweep "
                        "over the same parameter space"
                    ) from exc

    def _adopt_earlier_trials(self) -> None:
        """Tell the sampler what finished trials found. Trials lost with a crashed driver (ended
        ``DriverLost`` by whoever noticed, or still unfinished) do not count: their points are
        tried again."""
        for record in self.store.list_runs(parent_id=self.run_id, newest_first=False):
            self.started = max(self.started, int(record.id.rsplit("_", 1)[-1]) + 1)
            lost = _lifecycle.lost_with_driver(record)
            if not record.status.is_terminal():
                _lifecycle.stop_task_processes(record)
                self.store.set_status(
                    record.id,
                    RunStatus.CANCELED,
                    error=_error(
                        "DriverLost",
                        "the sweep's driver stopped while this trial ran; it runs again",
                        "",
                    ),
                    strict=False,
                )
                lost = True
            if lost:
                _lifecycle.clear_run_folder(self.store, record, self.ws.root)
                self.store.add_properties(record.id, {"driver_lost": "true"})
                continue
            if record.properties.get("driver_lost"):
                continue
            best = self._best_value(record) if record.status == RunStatus.COMPLETED else None
            state = {RunStatus.COMPLETED: "COMPLETE", RunStatus.CANCELED: "PRUNED"}.get(
                record.status, "FAIL"
            )
            if state == "COMPLETE" and best is None:
                state = "FAIL"
            self.sampling.replay(
                self.study, record.definition.get("hyperparameters", {}), best, state=state
            )
            self.used += 1
            self.ended.append(record)


def third_party_imports(script: Path, source_root: Path) -> list[str]:
    """Top-level modules the script imports, directly or through its own local modules, that
    are not files of its source folder (those are what a fork server can import ahead)."""
    found: list[str] = []
    seen: set[Path] = set()
    pending = [script]
    while pending:
        current = pending.pop()
        if current in seen:
            continue
        seen.add(current)
        try:
            tree = ast.parse(current.read_text(encoding="utf-8", errors="replace"))
        except (OSError, SyntaxError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                package, module = source_root / top, source_root / f"{top}.py"
                if module.is_file():
                    pending.append(module)
                elif (package / "__init__.py").is_file():
                    pending.append(package / "__init__.py")
                elif not package.is_dir() and top not in found and top != "__future__":
                    found.append(top)
    return found


def _optuna_logs_through_ours() -> None:
    """Optuna's warnings in the driver's log format, without its note of each in-memory study
    (an internal detail of the sweep). The sampler imports Optuna next anyway."""
    optuna = require_optuna()

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    optuna.logging.disable_default_handler()
    optuna.logging.enable_propagation()


def _error(code: str, message: str, tail: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "logTail": tail}}


def _import_numpy_single_threaded() -> None:
    """Import numpy (Optuna's, which the sampler imports next) with one BLAS thread, while this
    process has no other thread.

    OpenBLAS starts a thread per CPU as numpy loads, and they spin for about 0.1 s before they
    sleep: ~0.1 s of CPU taken from the trials, for a sampler that does no large linear algebra.
    The setting is this process's alone: it is removed once numpy is loaded, so the fork server
    and the trials it starts get the environment they had. One the user set is left as it is.
    """
    if "numpy" in sys.modules or BLAS_THREADS_ENV in os.environ:
        return
    os.environ[BLAS_THREADS_ENV] = "1"
    try:
        import numpy  # noqa: F401
    except ImportError:  # no Optuna either: the sweep says so when it needs it
        pass
    finally:
        del os.environ[BLAS_THREADS_ENV]


def main(argv: list[str]) -> int:
    """Execute (or resume) one sweep in this process."""
    _import_numpy_single_threaded()
    return drive(*argv, Driver, "run the sweep")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
