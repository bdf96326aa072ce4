"""The monitor of a submitted script run: ``python -m hyperpipe.core._launcher ROOT RUN_ID``.

It waits for a slot on the run's compute target, runs the script from a snapshot of its source
folder with the run context in its environment, streams its output into the run's log, and
finalizes: replays unflushed metrics, stores ``outputs/`` and ``logs/``, and sets the status from
the exit code. SIGTERM (``run.cancel()``) stops the script's whole process group.
"""

from __future__ import annotations

import contextlib
import re
import signal
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hyperpipe.compute import LocalBackend, SlotPool, TaskSpec
from hyperpipe.core import _lifecycle, _paths
from hyperpipe.core._metrics import replay_journals
from hyperpipe.core._snapshot import copy_snapshot
from hyperpipe.core._workspace import STORE_ENV, Workspace
from hyperpipe.core._workspace_config import WORKSPACE_ENV
from hyperpipe.data._consumption import PLACEHOLDER
from hyperpipe.data._materialize import environment as input_environment
from hyperpipe.data._materialize import materialize_inputs, remove_tree
from hyperpipe.exceptions import UserErrorException
from hyperpipe.store import RunStatus

if TYPE_CHECKING:
    from hyperpipe.store import RunRecord

TRACEBACK_START = "Traceback (most recent call last):"
_ERROR_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Exit|Interrupt|Warning)?(: .*)?$")


def run_context_env(workspace: Workspace, record: RunRecord) -> dict[str, str]:
    """The variables that make ``Run.get_context()`` return this run (SDK v1's names)."""
    return {
        "AZUREML_RUN_ID": record.id,
        "AZUREML_ARM_SUBSCRIPTION": workspace.subscription_id,
        "AZUREML_ARM_RESOURCEGROUP": workspace.resource_group,
        "AZUREML_ARM_WORKSPACE_NAME": workspace.name,
        "AZUREML_ARM_PROJECT_NAME": record.experiment_name,
        "AZUREML_SERVICE_ENDPOINT": "hyperpipe://local",
        WORKSPACE_ENV: str(workspace.root),
        STORE_ENV: workspace.store_url,
        "PYTHONUNBUFFERED": "1",
    }


class Monitor:
    """Executes one run and reports how it ended."""

    def __init__(self, workspace: Workspace, run_id: str) -> None:
        self.workspace = workspace
        self.store = workspace._store
        self.run_id = run_id
        self.stop = threading.Event()

    def _set(self, status: RunStatus, **kwargs: Any) -> RunRecord:
        return self.store.set_status(self.run_id, status, strict=False, **kwargs)

    def execute(self) -> int:
        self.store.update_run(self.run_id, **_lifecycle.process_identity())
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
        return self.store.get_run(self.run_id).status == RunStatus.CANCEL_REQUESTED

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
            self._set(RunStatus.FAILED, error=_error("UserError", str(exc), None, ""))
            return 0
        arguments = [_substitute(a, inputs, values) for a in definition["arguments"]]
        command = definition.get("command") or [definition["script"]]
        argv = (
            (definition["python"], *command, *arguments)
            if definition.get("script")
            else (*command, *arguments)
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
        backend = LocalBackend()
        handle = backend.start(spec)
        self._set(RunStatus.RUNNING)
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
        self._set(RunStatus.FINALIZING)
        self._finalize_files(record, workdir, log_path)
        self._finish(record, code, cancelled=cancelled, timed_out=timed_out, log_path=log_path)
        remove_tree(run_dir / "wd")
        return 0

    def _finalize_files(self, record: RunRecord, workdir: Path, log_path: Path) -> None:
        replay_journals(self.store, record.key, _paths.journal_dir(self.workspace.root, record.id))
        datastore = self.workspace._datastore(record.definition["datastore"])
        prefix = _paths.artifact_prefix(record.id)
        stored: list[tuple[str, int]] = []
        for folder in (_paths.OUTPUTS, "logs"):
            base = workdir / folder
            if not base.is_dir():
                continue
            for file in sorted(p for p in base.rglob("*") if p.is_file()):
                name = file.relative_to(workdir).as_posix()
                stored.append((name, datastore._put_file(file, prefix + name)))
        if log_path.is_file():
            if datastore._local_path(prefix + _paths.DRIVER_LOG) != log_path:
                datastore._put_file(log_path, prefix + _paths.DRIVER_LOG)
            stored.append((_paths.DRIVER_LOG, log_path.stat().st_size))
        self.store.add_artifacts(record.key, stored)

    def _finish(
        self, record: RunRecord, code: int, *, cancelled: bool, timed_out: bool, log_path: Path
    ) -> None:
        current = self.store.get_run(record.id)
        if cancelled:
            self._set(RunStatus.CANCELED)
            return
        tail = _lifecycle.log_tail(self.workspace.root, current)
        if timed_out:
            limit = current.definition.get("max_run_duration_seconds")
            message = f"the run exceeded max_run_duration_seconds={limit} and was stopped"
            self._set(RunStatus.FAILED, error=_error("RunTimeout", message, code, tail))
        elif code == 0 and current.error:
            inner = {**current.error.get("error", {}), "exitCode": 0, "logTail": tail}
            self._set(RunStatus.FAILED, error={"error": inner})
        elif code == 0:
            self._set(RunStatus.COMPLETED)
        elif code > 0:
            self._set(
                RunStatus.FAILED, error=_error("UserError", error_message(tail, code), code, tail)
            )
        else:
            name = (
                signal.Signals(-code).name
                if -code in signal.Signals._value2member_map_
                else str(-code)
            )
            message = f"the script was killed by {name} (out of memory, or stopped from outside)"
            self._set(RunStatus.CRASHED, error=_error("ProcessKilled", message, code, tail))

    def _finish_cancelled(self) -> int:
        self._set(RunStatus.CANCELED)
        return 0


def error_message(log_tail: str, exit_code: int) -> str:
    """The exception line of the last traceback in the log, else the exit code."""
    lines = log_tail.splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith(TRACEBACK_START)]
    if starts:
        for line in reversed(lines[starts[-1] + 1 :]):
            if line.strip() and not line.startswith(" ") and _ERROR_LINE.match(line.strip()):
                return line.strip()
    return f"the script exited with code {exit_code}"


def _substitute(argument: str, inputs: list[dict[str, Any]], values: dict[str, str]) -> str:
    for spec in inputs:
        argument = argument.replace(f"{PLACEHOLDER}{spec['name']}", values[spec["name"]])
    return argument


def _error(code: str, message: str, exit_code: int | None, tail: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "exitCode": exit_code, "logTail": tail}}


def main(argv: list[str]) -> int:
    root, run_id = argv
    workspace = Workspace.from_config(path=root)
    monitor = Monitor(workspace, run_id)
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, lambda *_: monitor.stop.set())
    try:
        code = monitor.execute()
    except BaseException as exc:
        traceback.print_exc()
        with contextlib.suppress(Exception):
            monitor._set(
                RunStatus.FAILED,
                error={
                    "error": {
                        "code": "SystemError",
                        "message": f"hyperpipe could not execute the run: {exc!r}",
                    }
                },
            )
        return 1
    remove_tree(_paths.run_dir(workspace.root, run_id))
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
