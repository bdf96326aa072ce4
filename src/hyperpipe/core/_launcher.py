"""The monitor of a submitted script run (started by ``core._background``; by hand:
``python -m hyperpipe.core._launcher ROOT RUN_ID``).

It waits for a slot on the run's compute target, runs the script from a snapshot of its source
folder with the run context in its environment, streams its output into the run's log, and
finalizes: replays unflushed metrics, stores ``outputs/`` and ``logs/``, and sets the status from
the exit code. SIGTERM (``run.cancel()``) stops the script's whole process group; the script dies
with its monitor, and a monitor that finds the run ended or taken over stops it and writes
nothing more.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hyperpipe.compute import SlotPool, TaskSpec, lost_node
from hyperpipe.core import _lifecycle, _paths
from hyperpipe.core._backends import backend_for
from hyperpipe.core._background import StopFlag, drive
from hyperpipe.core._execution import (
    ending,
    error,
    run_context_env,
    store_run_files,
    substitute_inputs,
    with_process,
)
from hyperpipe.core._snapshot import copy_snapshot
from hyperpipe.core._workspace import Workspace
from hyperpipe.data._materialize import environment as input_environment
from hyperpipe.data._materialize import materialize_inputs, remove_tree
from hyperpipe.exceptions import UserErrorException
from hyperpipe.store import RunStatus

if TYPE_CHECKING:
    from hyperpipe.store import RunRecord


class Monitor:
    """Executes one run and reports how it ended."""

    def __init__(self, workspace: Workspace, run_id: str) -> None:
        self.workspace = workspace
        self.store = workspace._store
        self.run_id = run_id
        self.stop = StopFlag()
        self.identity = _lifecycle.process_identity()
        self.lost = False  # the run ended, or another process took it over

    def _set(self, status: RunStatus, **kwargs: Any) -> RunRecord:
        return self.store.set_status(
            self.run_id, status, strict=False, if_fields=self.identity, **kwargs
        )

    def execute(self) -> int:
        record = self._set(RunStatus.QUEUED)
        if record.status != RunStatus.QUEUED:
            return self._finish_cancelled()
        target = self.workspace._target_spec(record.target)
        pool = SlotPool(
            _paths.slots_dir(self.workspace.root, target.name), target.max_concurrency, target.gpus
        )
        slot = pool.acquire(should_stop=self._stopping)
        if slot is None:
            return self._finish_cancelled()
        try:
            return self._execute_in_slot(record, slot.gpus)
        finally:
            slot.release()

    def _stopping(self) -> bool:
        if self.stop.is_set():
            return True
        record = self.store.get_run(self.run_id)
        if record.status.is_terminal() or not _lifecycle.owned_by(record, self.identity):
            self.lost = True
            return True
        return record.status == RunStatus.CANCEL_REQUESTED

    def _execute_in_slot(self, record: RunRecord, gpus: tuple[int, ...]) -> int:
        definition = record.definition
        run_dir = _paths.run_dir(self.workspace.root, record.id)
        workdir = run_dir / "wd"
        log_path = Path(definition["log_path"])
        log_path.parent.mkdir(parents=True, exist_ok=True)
        self._set(RunStatus.PREPARING)
        copy_snapshot(Path(definition["source_directory"]), workdir)
        inputs = definition.get("inputs") or []
        try:
            values = materialize_inputs(self.workspace, inputs, workdir, run_dir / "inputs")
        except UserErrorException as exc:
            self._set(RunStatus.FAILED, error=error("UserError", str(exc), None, ""))
            return 0
        arguments = [substitute_inputs(a, inputs, values) for a in definition["arguments"]]
        command = definition.get("command")
        argv = (
            (*command, *arguments)
            if command
            else (definition["python"], definition["script"], *arguments)
        )
        spec = TaskSpec(
            run_id=record.id,
            argv=tuple(argv),
            cwd=str(workdir),
            log_path=str(log_path),
            env={
                **definition.get("environment_variables", {}),
                **input_environment(inputs, values),
                **run_context_env(self.workspace, record),
            },
            gpus=gpus,
        )
        if self._stopping():
            return self._finish_cancelled()
        backend = backend_for(self.workspace, self.workspace._target_spec(record.target))
        try:
            return self._run(backend, record, spec, workdir, run_dir, log_path)
        finally:
            close = getattr(backend, "close", None)
            if close is not None:
                close()

    def _run(
        self,
        backend: Any,
        record: RunRecord,
        spec: TaskSpec,
        workdir: Path,
        run_dir: Path,
        log_path: Path,
    ) -> int:
        definition = record.definition
        distributed = definition.get("distributed")
        if distributed and hasattr(backend, "start_group"):  # one process per rank, across nodes
            handle = backend.start_group(
                spec,
                distributed["node_count"],
                distributed["process_count_per_node"],
                rank_zero_env=("AZUREML_RUN_ID",),  # only rank 0 records into the run
            )
        else:
            handle = backend.start(spec)
        self._set(RunStatus.RUNNING, definition=with_process(definition, handle))
        limit = definition.get("max_run_duration_seconds")
        deadline = time.monotonic() + limit if limit else None
        cancelled = timed_out = False
        while True:
            code = backend.wait(handle, timeout=0.1)
            if code is not None:
                break
            if self._stopping():
                code, cancelled = backend.terminate(handle), True
                break
            if deadline is not None and time.monotonic() > deadline:
                code, timed_out = backend.terminate(handle), True
                break
        if self.lost:
            return 0
        self._set(RunStatus.FINALIZING)
        store_run_files(self.workspace, record, workdir, log_path)
        self._finish(record, code, cancelled=cancelled, timed_out=timed_out, lost=lost_node(handle))
        remove_tree(run_dir / "wd")
        return 0

    def _finish(
        self,
        record: RunRecord,
        code: int,
        *,
        cancelled: bool,
        timed_out: bool,
        lost: str | None = None,
    ) -> None:
        status, error = ending(
            self.store, record.id, code, cancelled=cancelled, timed_out=timed_out, lost=lost
        )
        self._set(status, error=error)

    def _finish_cancelled(self) -> int:
        if not self.lost:
            self._set(RunStatus.CANCELED)
        return 0


def main(argv: list[str]) -> int:
    root, run_id = argv
    code = drive(root, run_id, Monitor, "execute the run")
    if code == 0:  # on failure the run folder stays, with monitor.log, for a look
        remove_tree(_paths.run_dir(Path(root), run_id))
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
