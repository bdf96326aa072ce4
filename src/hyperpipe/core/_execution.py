"""Running one run's process: what the script monitor and the pipeline orchestrator share.

Both prepare a working folder, start the script with the run context in its environment, and,
once the process has ended, store the run's files (replayed metrics, ``outputs/``, ``logs/``, the
driver log) and decide its ending from the exit code.
"""

from __future__ import annotations

import re
import signal
from typing import TYPE_CHECKING, Any

from hyperpipe.compute._process import OWNER_ENV
from hyperpipe.core import _lifecycle, _paths
from hyperpipe.core._metrics import replay_journals
from hyperpipe.core._run import RUN_KEY_ENV, RUN_TYPE_ENV
from hyperpipe.core._workspace import STORE_ENV
from hyperpipe.core._workspace_config import WORKSPACE_ENV
from hyperpipe.data._consumption import PLACEHOLDER
from hyperpipe.store import RunStatus

if TYPE_CHECKING:
    from pathlib import Path

    from hyperpipe.compute import TaskHandle
    from hyperpipe.core._workspace import Workspace
    from hyperpipe.store import RunRecord, Store

__all__ = [
    "ending",
    "error",
    "error_message",
    "run_context_env",
    "store_run_files",
    "substitute_inputs",
    "with_process",
]

TRACEBACK_START = "Traceback (most recent call last):"
_ERROR_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Exit|Interrupt|Warning)?(: .*)?$")


def run_context_env(workspace: Workspace, record: RunRecord) -> dict[str, str]:
    """The variables that make ``Run.get_context()`` return this run (SDK v1's names), and the
    run every process started for it belongs to (``HYPERPIPE_OWNER``)."""
    return {
        "AZUREML_RUN_ID": record.id,
        "AZUREML_ARM_SUBSCRIPTION": workspace.subscription_id,
        "AZUREML_ARM_RESOURCEGROUP": workspace.resource_group,
        "AZUREML_ARM_WORKSPACE_NAME": workspace.name,
        "AZUREML_ARM_PROJECT_NAME": record.experiment_name,
        "AZUREML_SERVICE_ENDPOINT": "hyperpipe://local",
        WORKSPACE_ENV: str(workspace.root),
        STORE_ENV: workspace.store_url,
        OWNER_ENV: record.id,
        RUN_KEY_ENV: str(record.key),
        RUN_TYPE_ENV: record.run_type,
        "PYTHONUNBUFFERED": "1",
    }


def with_process(definition: dict[str, Any], handle: TaskHandle) -> dict[str, Any]:
    """``definition`` naming the task's process (pid and start time: its identity), which is
    what a reader checks to judge the run alive or stop it. A task a cluster runner starts has
    no pid until the runner answers (0): the definition is then returned as it was."""
    if not handle.pid:
        return definition
    return {**definition, "process": {"pid": handle.pid, "started_at": handle.started_at}}


def store_run_files(workspace: Workspace, record: RunRecord, workdir: Path, log_path: Path) -> None:
    """Replay unflushed metrics and store ``outputs/``, ``logs/`` and the driver log."""
    store = workspace._store
    replay_journals(store, record.key, _paths.journal_dir(workspace.root, record.id))
    datastore = workspace._datastore(record.definition["datastore"])
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
    store.add_artifacts(record.key, stored)


def ending(
    store: Store,
    run_id: str,
    code: int,
    *,
    cancelled: bool = False,
    timed_out: bool = False,
    success: RunStatus = RunStatus.COMPLETED,
    lost: str | None = None,
) -> tuple[RunStatus, dict[str, Any] | None]:
    """How a run whose process exited with ``code`` ends, and the error to record.

    ``lost``: the run's node was lost and it could not run again (which node, and why)."""
    current = store.get_run(run_id)
    if cancelled:
        return RunStatus.CANCELED, None
    if code == 0 and not (lost or timed_out or current.error):
        return success, None  # no error to describe: the log's tail is not read
    tail = _lifecycle.log_tail(current)
    if lost:
        message = f"{lost}; no retries were left (max_retries of the compute target)"
        return RunStatus.FAILED, error("NodeLost", message, code, tail)
    if timed_out:
        limit = current.definition.get("max_run_duration_seconds")
        message = f"the run exceeded max_run_duration_seconds={limit} and was stopped"
        return RunStatus.FAILED, error("RunTimeout", message, code, tail)
    if code == 0 and current.error:
        inner = {**current.error.get("error", {}), "exitCode": 0, "logTail": tail}
        return RunStatus.FAILED, {"error": inner}
    if code == 0:
        return success, None
    if code > 0:
        return RunStatus.FAILED, error("UserError", error_message(tail, code), code, tail)
    name = signal.Signals(-code).name if -code in signal.Signals._value2member_map_ else str(-code)
    message = f"the script was killed by {name} (out of memory, or stopped from outside)"
    return RunStatus.CRASHED, error("ProcessKilled", message, code, tail)


def error_message(log_tail: str, exit_code: int) -> str:
    """The exception line of the last traceback in the log; else the log's last line (argparse
    and ``sys.exit("...")`` say what went wrong there); else the exit code."""
    lines = log_tail.splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith(TRACEBACK_START)]
    if starts:
        for line in reversed(lines[starts[-1] + 1 :]):
            if line.strip() and not line.startswith(" ") and _ERROR_LINE.match(line.strip()):
                return line.strip()
    last = next((line.strip() for line in reversed(lines) if line.strip()), "")
    if last:
        return f"{last} (exit code {exit_code})"
    return f"the script exited with code {exit_code}"


def substitute_inputs(argument: str, inputs: list[dict[str, Any]], values: dict[str, str]) -> str:
    for spec in inputs:
        argument = argument.replace(f"{PLACEHOLDER}{spec['name']}", values[spec["name"]])
    return argument


def error(code: str, message: str, exit_code: int | None, tail: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "exitCode": exit_code, "logTail": tail}}
