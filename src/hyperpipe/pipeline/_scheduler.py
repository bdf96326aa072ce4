"""The one scheduler loop: walk a pipeline run's graph, reuse or run each ready step, record all.

Ready steps (everything they wait for has finished) are first looked up by reuse key; a hit is
recorded as a reused step run pointing at the original outputs. Otherwise the step starts on its
compute target when a slot is free, as a child process of this one. Outputs are written to a
staging folder and moved to their final datastore path only when the step succeeds, so no
consumer, and no resume, ever sees half-written output.
"""

from __future__ import annotations

import sys
import time
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hyperpipe._ids import uuid4_str
from hyperpipe._record import Record
from hyperpipe.compute import Slot, SlotPool, TaskSpec, lost_node
from hyperpipe.core import _lifecycle, _paths
from hyperpipe.core._backends import backend_for
from hyperpipe.core._background import StopFlag
from hyperpipe.core._execution import (
    ending,
    error,
    run_context_env,
    store_run_files,
    with_process,
)
from hyperpipe.core._snapshot import copy_tree
from hyperpipe.data._dataset import Dataset
from hyperpipe.data._manifest import Source, build_manifest, content_hash
from hyperpipe.data._materialize import LaterRemovals, materialize_inputs, remove_tree
from hyperpipe.data._materialize import environment as dataset_environment
from hyperpipe.exceptions import UserErrorException
from hyperpipe.pipeline._reuse import explain, key_parts, output_digest, reuse_key
from hyperpipe.pipeline._step_data import (
    local_input,
    move_into,
    output_path,
    storage_error,
    tabular_output,
)
from hyperpipe.pipeline.core._pipeline_data import DATA_REFERENCE_PREFIX
from hyperpipe.store import RunStatus

if TYPE_CHECKING:
    from hyperpipe.compute import ComputeBackend, TaskHandle
    from hyperpipe.core._workspace import Workspace
    from hyperpipe.data._datastore import Datastore
    from hyperpipe.store import RunRecord

__all__ = ["STEP_RUN_TYPE", "Scheduler"]

STEP_RUN_TYPE = "azureml.StepRun"
HYPERDRIVE_DRIVER = "\0sweep-driver"  # the backend key of sweep steps' own processes
CANCEL_CHECK_S = 0.2
SLOT_RETRY_S = 0.05
# Starting the fork server costs about two steps' interpreter start-ups, and the first step
# starts before it is ready: from four steps on, it saves more than it costs.
FORK_SERVER_STEPS = 4


class _Active(Record, frozen=False):
    """A step whose process is running."""

    record: RunRecord
    spec: dict[str, Any]
    handle: TaskHandle
    slot: Slot
    run_dir: Path
    workdir: Path
    staging: dict[str, Path]
    log_path: Path


class _HandOver(Exception):
    """A ready step that must run (or whose inputs need reading): the orchestrator's work."""


class Scheduler:
    """Executes one pipeline run to its end (or resumes it)."""

    def __init__(self, workspace: Workspace, run_id: str) -> None:
        self.ws = workspace
        self.store = workspace._store
        self.run_id = run_id
        self.record = self.store.get_run(run_id)
        definition = self.record.definition
        self.specs: dict[str, dict[str, Any]] = {s["name"]: s for s in definition["steps"]}
        self.regenerate = bool(definition.get("regenerate_outputs"))
        self.keep_going = bool(definition.get("continue_on_step_failure"))
        self.stop = StopFlag()
        self.backends: dict[str, ComputeBackend] = {}
        self.identity = _lifecycle.process_identity()
        self.done: dict[str, RunRecord] = {}
        self.failed: dict[str, RunRecord] = {}
        self.skipped: set[str] = set()
        self.active: dict[str, _Active] = {}
        self.pools: dict[str, SlotPool] = {}
        self._in_place = False
        # Finished steps' folders, removed off the path that starts the next step.
        self._removals = LaterRemovals()

    # -- in the submitter ---------------------------------------------------------------------

    def reuse_in_place(self) -> bool:
        """Record, in this process, each ready step that reuses an earlier run's outputs, for
        as long as every ready step does; returns whether that ended the run (all reused).

        A resubmit that changed nothing then needs no orchestrator at all. At the first step
        that must run, this stops and the orchestrator, started next, resumes from the steps
        recorded here. Nothing is started, no thread made and no signal handled, so the
        calling process stays as it was; the run names this process as responsible meanwhile,
        so if it dies mid-way the run is seen as crashed and resumes like any other.
        """
        if self.regenerate:
            return False
        self._in_place = True
        try:
            while ready := self._launchable():
                for name in ready:
                    self._reuse_or_start(name)
        except _HandOver:
            return False
        finally:
            self._in_place = False
        return self._conclude() == RunStatus.FINISHED

    # -- the loop -----------------------------------------------------------------------------

    def execute(self) -> RunStatus | None:
        try:
            return self._execute()
        finally:
            self._removals.wait()
            for backend in self.backends.values():
                close = getattr(backend, "close", None)
                if close is not None:
                    close()

    def _backend(self, target: str) -> ComputeBackend:
        """The backend of a step's target (chosen once per target, in ``core._backends``)."""
        if target == HYPERDRIVE_DRIVER:  # a sweep's driver runs here; its trials go to the target
            return self.backends.setdefault(
                target, backend_for(self.ws, self.ws._target_spec(None))
            )
        if target not in self.backends:
            self.backends[target] = backend_for(
                self.ws, self.ws._target_spec(target), **self._backend_options(target)
            )
        return self.backends[target]

    def _backend_options(self, target: str) -> dict[str, Any]:
        """How the target's steps start: Python scripts from a spare interpreter started ahead
        (``compute._local``), and from a fork server once it is ready when enough of them are
        still to run there that it pays for itself (each step after it is ready starts as its
        fork, without paying the interpreter's start-up again). On a ray target the runners
        keep the fork server, and spares do not apply."""
        scripts = [
            name
            for name, spec in self.specs.items()
            if _where(spec) == target and "command" not in spec and name not in self.done
        ]
        if len(scripts) < FORK_SERVER_STEPS:
            return {"scripts": len(scripts)}
        # Nothing preloaded: the server is ready the sooner (about twice as soon as with
        # hyperpipe.core), and a step imports what it imports, as ``python step.py`` would.
        return {
            "preload": [],
            "server_log": _paths.run_dir(self.ws.root, self.run_id) / "step-server.log",
            "owner": self.run_id,
            "warming": True,
            "scripts": len(scripts),
        }

    def _execute(self) -> RunStatus | None:
        if self.store.get_run(self.run_id).status == RunStatus.CANCEL_REQUESTED:
            return self._end(RunStatus.CANCELED)
        self._adopt_earlier_step_runs()
        for target in {_where(spec) for spec in self.specs.values()} - {HYPERDRIVE_DRIVER}:
            if self._backend_options(target).get("scripts"):
                self._backend(target)  # its spare and fork server start while steps get ready
        self._set_run(RunStatus.RUNNING)
        next_check = 0.0
        delay = 0.001
        while True:
            now = time.monotonic()
            if self.stop.is_set():
                return self._cancel()
            if now >= next_check:
                next_check = now + CANCEL_CHECK_S
                record = self.store.get_run(self.run_id)
                if record.status.is_terminal() or not _lifecycle.owned_by(record, self.identity):
                    return self._abandon()
                if record.status == RunStatus.CANCEL_REQUESTED:
                    return self._cancel()
            progressed = self._reap() + self._launch_ready()
            if not self.active and not self._launchable():
                return self._conclude()
            if progressed:
                delay = 0.001
                continue
            delay = min(delay * 2, 0.05)
            # Woken by the kernel when a step's process exits; the timeout paces the checks
            # for cancellation and for slots that other runs free.
            wait = max(min(delay if not self.active else CANCEL_CHECK_S, next_check - now), 0)
            self._wait_any(wait)

    def _wait_any(self, timeout: float) -> None:
        """Sleep until a step's process ends, or ``timeout``. Steps on one backend (the usual
        case) wake this at once; steps spread over several are checked every few ms."""
        groups: dict[str, list[TaskHandle]] = {}
        for active in self.active.values():
            groups.setdefault(_where(active.spec), []).append(active.handle)
        if len(groups) <= 1:
            where, handles = next(iter(groups.items()), (None, []))
            if where is None:
                time.sleep(timeout)
            else:
                self._backend(where).wait_any(handles, timeout)
            return
        for where, handles in groups.items():
            self._backend(where).wait_any(handles, min(timeout, 0.005))

    def _launchable(self) -> list[str]:
        """Steps not started yet whose dependencies have all finished."""
        if self.failed and not self.keep_going:
            return []
        ready = []
        for name, spec in self.specs.items():
            if (
                name in self.done
                or name in self.failed
                or name in self.active
                or name in self.skipped
            ):
                continue
            waits = set(spec["depends_on"])
            if waits & (set(self.failed) | self.skipped):
                self.skipped.add(name)
                continue
            if waits <= set(self.done):
                ready.append(name)
        return ready

    def _launch_ready(self) -> int:
        started = 0
        for name in self._launchable():
            if self._reuse_or_start(name):
                started += 1
        return started

    def _reap(self) -> int:
        ended = 0
        for name, active in list(self.active.items()):
            code = self._backend(_where(active.spec)).poll(active.handle)
            if code is None:
                continue
            del self.active[name]
            self._finish(active, code)
            ended += 1
        return ended

    def _conclude(self) -> RunStatus:
        if not self.failed:
            return self._end(RunStatus.FINISHED)
        name, record = next(iter(self.failed.items()))
        inner = (record.error or {}).get("error", {})
        message = f"step {name!r} failed: {inner.get('message') or record.status.value}"
        not_run = set(self.specs) - set(self.done) - set(self.failed)
        if not_run:
            message += f"; not run: {', '.join(sorted(not_run))}"
        return self._end(
            RunStatus.FAILED,
            {
                "error": {
                    "code": "StepFailed",
                    "message": message,
                    "logTail": inner.get("logTail", ""),
                    "failedStep": name,
                    "failedStepRunId": record.id,
                }
            },
        )

    def _set_run(self, status: RunStatus, err: dict[str, Any] | None = None) -> RunRecord:
        """Move the pipeline run, unless another process has taken it over meanwhile."""
        return self.store.set_status(
            self.run_id, status, error=err, strict=False, if_fields=self.identity
        )

    def _end(self, status: RunStatus, err: dict[str, Any] | None = None) -> RunStatus:
        self._removals.wait()  # an ended run has no step folder left
        self._set_run(status, err)
        return status

    def _abandon(self) -> None:
        """The run ended or was taken over elsewhere: stop the steps, write nothing."""
        for name, active in list(self.active.items()):
            self._backend(_where(active.spec)).terminate(active.handle, grace_s=5.0)
            active.slot.release()
            remove_tree(active.run_dir)
            del self.active[name]
        return None

    def _cancel(self) -> RunStatus:
        for name, active in list(self.active.items()):
            self._backend(_where(active.spec)).terminate(active.handle, grace_s=5.0)
            active.slot.release()
            self.store.set_status(active.record.id, RunStatus.CANCELED, strict=False)
            remove_tree(active.run_dir)
            del self.active[name]
        return self._end(RunStatus.CANCELED)

    # -- resume -------------------------------------------------------------------------------

    def _adopt_earlier_step_runs(self) -> None:
        """On resume: keep finished steps; stop what a dead orchestrator left running, and clear
        away what unfinished step runs left in the datastore (their outputs were never
        committed: a copy cut short, or one finished just before the orchestrator died)."""
        latest: dict[str, RunRecord] = {}
        for record in self.store.list_runs(parent_id=self.run_id, newest_first=False):
            latest[record.display_name or record.id] = record
            if record.status == RunStatus.FINISHED:
                continue
            if not record.status.is_terminal():
                _lifecycle.stop_task_processes(record)
                self.store.set_status(
                    record.id,
                    RunStatus.CRASHED,
                    error={
                        "error": {
                            "code": "OrchestratorLost",
                            "message": "the pipeline's orchestrator stopped while this step "
                            "ran; it runs again on resume",
                        }
                    },
                    strict=False,
                )
            _lifecycle.clear_run_folder(self.store, record, self.ws.root)  # staged outputs
            self._discard_outputs(record)
        for name, record in latest.items():
            if record.status == RunStatus.FINISHED:
                self.done[name] = record

    def _discard_outputs(self, record: RunRecord) -> None:
        for output in record.definition.get("outputs") or []:
            datastore = self.ws._datastore(output["datastore"])
            path = output_path(output, record.id)
            datastore._remove_temps(path)
            if record.id in path:  # a destination shared by every run is not this run's alone
                datastore._remove(path)

    # -- one step -----------------------------------------------------------------------------

    def _input_identities(self, spec: dict[str, Any]) -> tuple[dict[str, str], dict[str, str]]:
        contents: dict[str, str] = {}
        labels: dict[str, str] = {}
        for item in spec["inputs"]:
            port = item["port"]
            if item["kind"] == "data":
                output = self._outputs_of(item["producer"])[item["output"]]
                contents[port] = output["hash"]
                labels[port] = f"output {item['output']!r} of step {item['producer']!r}"
            elif item["kind"] == "dataset":
                dataset = Dataset.get_by_id(self.ws, item["dataset_id"])
                contents[port] = dataset.content_hash
                labels[port] = (
                    f"dataset {dataset.name}:{dataset.version}"
                    if dataset.name
                    else f"dataset {dataset.id[:8]}"
                )
            else:
                store = self.ws._datastore(item["datastore"])
                if not store._exists(item["path"]):
                    raise UserErrorException(
                        f"input {port!r} refers to {store.name}/{item['path']}, which does not "
                        f"exist; upload the data first (datastore.upload(src_dir, "
                        f"target_path={item['path']!r})) or correct path_on_datastore"
                    )
                entries = build_manifest(
                    [Source(store.name, item["path"])], {store.name: store}, validate=False
                )
                contents[port] = content_hash(entries)
                labels[port] = f"{item['datastore']}/{item['path']} ({len(entries)} files)"
        return contents, labels

    def _outputs_of(self, step: str) -> dict[str, dict[str, Any]]:
        return self.done[step].definition.get("committed_outputs", {})

    def _previous_parts(self, name: str) -> dict[str, Any] | None:
        """Key parts of the latest earlier run of this step in this experiment."""
        for record in self.store.list_runs(
            experiment_name=self.record.experiment_name,
            run_type=STEP_RUN_TYPE,
            display_name=name,
            limit=3,
        ):
            parts = record.definition.get("reuse", {}).get("parts")
            if record.parent_id != self.run_id and parts:
                return parts
        return None

    def _reuse_or_start(self, name: str) -> bool:
        """Record a reused step run, or start the step; False when no slot is free yet."""
        spec = self.specs[name]
        if self._in_place and not (spec["allow_reuse"] and _inputs_known(spec)):
            raise _HandOver(name)
        try:
            contents, labels = self._input_identities(spec)
        except UserErrorException as exc:
            if self._in_place:
                raise _HandOver(name) from exc
            self._fail_before_start(name, spec, str(exc))
            return True
        parts = key_parts(spec, contents, labels)
        key = reuse_key(parts)
        original = None
        if spec["allow_reuse"] and not self.regenerate:
            original = self.store.find_reusable(key, [RunStatus.FINISHED])
        if original is not None:
            if self._in_place and not self.done:
                self._set_run(RunStatus.RUNNING)
            self._record_reused(name, spec, key, parts, original)
            return True
        if self._in_place:
            raise _HandOver(name)
        if spec.get("hyperdrive"):
            # A sweep's own process only drives its trials, which take the target's slots (and
            # GPUs) themselves; holding one here would leave the sweep a slot short.
            slot = Slot(index=-1, gpus=(), _fd=-1)
        else:
            slot = self._pool(spec["target"]).try_acquire()
        if slot is None:
            return False
        if not spec["allow_reuse"]:
            reasons = ["allow_reuse=False"]
        elif self.regenerate:
            reasons = ["regenerate_outputs=True"]
        else:
            reasons = explain(self._previous_parts(name), parts) or [
                "no finished run with this key"
            ]
        try:
            self._start(name, spec, key, parts, reasons, slot)
        except BaseException:
            slot.release()
            raise
        return True

    def _pool(self, target: str) -> SlotPool:
        if target not in self.pools:
            spec = self.ws._target_spec(target)
            self.pools[target] = SlotPool(
                _paths.slots_dir(self.ws.root, spec.name), spec.max_concurrency, spec.gpus
            )
        return self.pools[target]

    @cached_property
    def _default_datastore(self) -> Datastore:
        """Where this pipeline run's step logs go: the workspace's default datastore, resolved
        once per run rather than once per step."""
        return self.ws.get_default_datastore()

    def _new_step_run(
        self,
        name: str,
        spec: dict[str, Any],
        status: RunStatus,
        key: str,
        decision: dict[str, Any],
        properties: dict[str, Any] | None = None,
        **extra: Any,
    ) -> RunRecord:
        run_id = uuid4_str()
        datastore = self._default_datastore
        log_path = datastore._local_path(_paths.artifact_prefix(run_id) + _paths.DRIVER_LOG)
        if log_path is None:
            log_path = _paths.run_dir(self.ws.root, run_id) / _paths.DRIVER_LOG
        return self.store.create_run(
            experiment_name=self.record.experiment_name,
            run_id=run_id,
            run_type=STEP_RUN_TYPE,
            status=status,
            parent_id=self.run_id,
            display_name=name,
            target=spec["target"],
            definition={
                **{k: v for k, v in spec.items() if k != "source_files"},
                "datastore": datastore.name,
                "log_path": str(log_path),
                "reuse": decision,
                "python": self.record.definition.get("python") or _python(),
                **extra,
            },
            reuse_key=key,
            properties=properties,
            **self.identity,
        )

    def _record_reused(
        self, name: str, spec: dict[str, Any], key: str, parts: dict[str, Any], original: RunRecord
    ) -> None:
        decision = {
            "key": key,
            "parts": parts,
            "reused": True,
            "reused_run_id": original.id,
            "reasons": [f"reused the outputs of step run {original.id} (same key)"],
        }
        record = self._new_step_run(
            name,
            spec,
            RunStatus.FINISHED,
            key,
            decision,
            properties={"azureml.isreused": "true", "azureml.reusedrunid": original.id},
            committed_outputs=original.definition.get("committed_outputs", {}),
        )
        self.done[name] = record

    def _fail_before_start(self, name: str, spec: dict[str, Any], message: str) -> None:
        record = self._new_step_run(name, spec, RunStatus.NOT_STARTED, "", {"reasons": []})
        self.failed[name] = self.store.set_status(
            record.id, RunStatus.FAILED, error=error("UserError", message, None, ""), strict=False
        )

    def _start(
        self,
        name: str,
        spec: dict[str, Any],
        key: str,
        parts: dict[str, Any],
        reasons: list[str],
        slot: Slot,
    ) -> None:
        decision = {"key": key, "parts": parts, "reused": False, "reasons": reasons}
        record = self._new_step_run(name, spec, RunStatus.PREPARING, key, decision)
        run_dir = _paths.run_dir(self.ws.root, record.id)
        try:
            active = self._launch(record, spec, run_dir, slot)
        except (UserErrorException, OSError) as exc:
            slot.release()
            remove_tree(run_dir)
            err = (
                error("UserError", str(exc), None, "")
                if isinstance(exc, UserErrorException)
                else storage_error(exc, f"step run {record.id} could not start")
            )
            self.failed[name] = self.store.set_status(
                record.id, RunStatus.FAILED, error=err, strict=False
            )
            return
        self.active[name] = active

    def _launch(
        self, record: RunRecord, spec: dict[str, Any], run_dir: Path, slot: Slot
    ) -> _Active:
        """Prepare the step's working folder, inputs and output folders, and start it."""
        workdir = run_dir / "wd"
        copy_tree(self.ws.state_dir / "snapshots" / spec["snapshot"], workdir)
        paths, env = self._materialize(spec, run_dir, workdir)
        staging: dict[str, Path] = {}
        for output in spec["outputs"]:
            target = (
                Path(output["path_on_compute"])
                if output.get("path_on_compute")
                else run_dir / "outputs" / output["name"]
            )
            target = target if target.is_absolute() else workdir / target
            target.parent.mkdir(parents=True, exist_ok=True)
            staging[output["name"]] = target
            paths[output["name"]] = str(target)
            if output["mode"] == "mount":
                env[DATA_REFERENCE_PREFIX + output["name"]] = str(target)
        arguments = [_argument(token, paths) for token in spec["arguments"]]
        env.update({f"AML_PARAMETER_{_env_name(k)}": v for k, v in spec["params"].items()})
        env.update(run_context_env(self.ws, record))
        log_path = Path(record.definition["log_path"])
        handle = self._backend(_where(spec)).start(
            TaskSpec(
                run_id=record.id,
                argv=(
                    record.definition["python"],
                    *spec.get("command", [spec["script"]]),
                    *arguments,
                ),
                cwd=str(workdir),
                log_path=str(log_path),
                env={**spec["environment_variables"], **env},
                gpus=slot.gpus,
                die_with_parent=True,
            )
        )
        record = self.store.set_status(
            record.id,
            RunStatus.RUNNING,
            strict=False,
            definition=with_process(record.definition, handle),
        )
        return _Active(record, spec, handle, slot, run_dir, workdir, staging, log_path)

    def _materialize(
        self, spec: dict[str, Any], run_dir: Path, workdir: Path
    ) -> tuple[dict[str, str], dict[str, str]]:
        """Local paths of every input port, and the variables naming them."""
        paths: dict[str, str] = {}
        env: dict[str, str] = {}
        datasets = [
            dict(item, name=item["port"]) for item in spec["inputs"] if item["kind"] == "dataset"
        ]
        if datasets:
            values = materialize_inputs(self.ws, datasets, workdir, run_dir / "inputs")
            paths.update(values)
            env.update(dataset_environment(datasets, values))
        for item in spec["inputs"]:
            if item["kind"] == "dataset":
                continue
            if item["kind"] == "data":
                output = self._outputs_of(item["producer"])[item["output"]]
                store_name, path = output["datastore"], output["path"]
            else:
                store_name, path = item["datastore"], item["path"]
            local = local_input(self.ws, store_name, path, item, workdir)
            paths[item["port"]] = local
            env[DATA_REFERENCE_PREFIX + item["port"]] = local
            if item.get("tabular"):
                env[item["port"]] = tabular_output(self.ws, store_name, path, item["tabular"]).id
        return paths, env

    def _finish(self, active: _Active, code: int) -> None:
        record = active.record
        final = None
        try:
            try:
                store_run_files(self.ws, record, active.workdir, active.log_path)
                status, err = ending(
                    self.store,
                    record.id,
                    code,
                    success=RunStatus.FINISHED,
                    lost=lost_node(active.handle),
                )
                fields = {}
                if status == RunStatus.FINISHED:
                    committed = self._commit_outputs(record, active)
                    fields["definition"] = {**record.definition, "committed_outputs": committed}
            except OSError as exc:  # a full or read-only datastore: the step fails, not us
                what = f"the outputs of step run {record.id}"
                status, err, fields = RunStatus.FAILED, storage_error(exc, what), {}
            # The outputs and the ending land in one transaction: a crash between the two
            # leaves the step unfinished (run again on resume), never finished without outputs.
            final = self.store.set_status(record.id, status, error=err, strict=False, **fields)
        finally:
            active.slot.release()
            if final is not None:  # else its metric journal stays, for whoever ends the run
                self._removals.add(active.run_dir)
        if final.status == RunStatus.FINISHED:
            self.done[active.spec["name"]] = final
        else:
            self.failed[active.spec["name"]] = final

    def _commit_outputs(self, record: RunRecord, active: _Active) -> dict[str, dict[str, Any]]:
        """Move each staged output to ``azureml/<step run id>/<output name>``, all or nothing:
        when one cannot be stored, those already moved are removed again."""
        committed: dict[str, dict[str, Any]] = {}
        try:
            for output in active.spec["outputs"]:
                committed[output["name"]] = self._commit_output(record, output, active)
        except BaseException:
            for done in committed.values():
                self.ws._datastore(done["datastore"])._remove(done["path"])
            raise
        return committed

    def _commit_output(
        self, record: RunRecord, output: dict[str, Any], active: _Active
    ) -> dict[str, Any]:
        staged = active.staging[output["name"]]
        if not staged.exists():
            staged.mkdir(parents=True)  # the step wrote nothing: an empty folder
        datastore = self.ws._datastore(output["datastore"])
        path = output_path(output, record.id)
        digest = output_digest(staged)
        is_file = staged.is_file()
        local = datastore._local_path(path)
        try:
            if local is not None:
                move_into(staged, local, datastore._local_path(datastore._temp_name(path)))
            elif staged.is_dir():
                datastore.upload(str(staged), target_path=path, overwrite=True, show_progress=False)
            else:
                datastore._put_file(staged, path)
        except BaseException as exc:
            datastore._remove(path)  # what part of it got there
            if isinstance(exc, OSError):
                exc.add_note(f"{output['name']!r} -> {datastore.name}/{path}")
            raise
        entry: dict[str, Any] = {
            "datastore": datastore.name,
            "path": path,
            "hash": digest,
            "is_file": is_file,
        }
        if output.get("register"):
            registration = output["register"]
            registered = Dataset.File.from_files((datastore, path)).register(
                self.ws,
                registration["name"],
                description=registration.get("description"),
                tags=registration.get("tags"),
                create_new_version=True,
            )
            # Recorded so that the dataset's version can name the run that made it.
            entry["dataset"] = {
                "id": registered.id,
                "name": registered.name,
                "version": registered.version,
            }
        return entry


def _inputs_known(spec: dict[str, Any]) -> bool:
    """Whether a step's inputs are identified by the store alone (earlier steps' outputs,
    registered datasets), not by listing datastore folders, which may be slow."""
    return all(item["kind"] in ("data", "dataset") for item in spec["inputs"])


def _where(spec: dict[str, Any]) -> str:
    """Which backend runs a step's process: a sweep step's driver always runs on this machine."""
    return HYPERDRIVE_DRIVER if spec.get("hyperdrive") else spec["target"]


def _argument(token: Any, paths: dict[str, str]) -> str:
    if isinstance(token, str):
        return token
    name = token.get("port") or token.get("dataset")
    return paths[name]


def _env_name(name: str) -> str:
    return "".join(c if c.isalnum() or c == "_" else "_" for c in name)


def _python() -> str:
    return sys.executable
