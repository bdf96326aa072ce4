"""The fault harness: real workloads, real ``kill -9`` at random moments, and what must hold after.

Each :class:`FaultCase` builds a workspace, submits a workload (a three-step pipeline with data
between its steps, a sweep, a pipeline whose first step is a sweep, or a script run) from a
submitting process of its own, kills one process of a given kind at a seeded random moment,
lets the run end by itself or resumes it once (a resume may itself be killed, then resumed
again), and then checks what a user relies on:

- the run reaches a final status (a pipeline or sweep: a successful one);
- no step that had finished ran again;
- no partial output is in the datastore (every committed output matches the manifest its step
  wrote last, and no staged copy is left);
- no metric value is lost or duplicated: every value a script logged (and wrote down in its
  ledger right after) is in the store exactly once, and a finished run has every value;
- no process of the case is left running;
- the SQLite store passes ``PRAGMA integrity_check``.

Workload processes carry ``HYPERPIPE_FAULT_CASE`` in their environment, which is how leftovers
are found. ``tests/faults/`` runs a small tier; ``benchmarks/faults.py`` the full table. The
module is also the workloads' submitter: ``python -m hyperpipe.testing.faults submit|resume``.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psutil

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from hyperpipe.core import Workspace
    from hyperpipe.store import RunRecord

__all__ = [
    "KINDS",
    "WORKLOADS",
    "CaseResult",
    "FaultCase",
    "MountNotAllowed",
    "concurrent_case",
    "disk_case",
    "leftover_processes",
    "plan",
    "run_case",
]

CASE_ENV = "HYPERPIPE_FAULT_CASE"
EXPERIMENT = "faults"
TARGET = "cpu"
# Process kinds that can be killed, and the workloads that have them.
KINDS = {
    "submitter": ("pipeline", "sweep", "script", "pipeline-sweep"),
    "orchestrator": ("pipeline", "pipeline-sweep"),
    "sweep-driver": ("sweep", "pipeline-sweep"),
    "fork-server": ("sweep", "pipeline-sweep"),
    "monitor": ("script",),
    "step": ("pipeline", "pipeline-sweep"),
    "trial": ("sweep", "pipeline-sweep"),
    "resume": ("pipeline", "pipeline-sweep", "sweep"),
}
WORKLOADS = ("pipeline", "sweep", "script", "pipeline-sweep")

# -- the scripts workloads run ------------------------------------------------------------------

# Logs VALUES values of "i", writing each to the ledger right after logging it; then (a step)
# checks its input against the manifest the previous step wrote, and writes its own output, its
# manifest last.
WORKER = """
import argparse, hashlib, json, os, time
from hyperpipe.core import Run

parser = argparse.ArgumentParser()
parser.add_argument("--values", type=int, default=10)
parser.add_argument("--pause", type=float, default=0.01)
parser.add_argument("--ledger")
parser.add_argument("--input")
parser.add_argument("--output")
parser.add_argument("--files", type=int, default=2)
parser.add_argument("--kib", type=int, default=64)
parser.add_argument("--x", type=float, default=0.5)
args = parser.parse_args()
run = Run.get_context()

def digest(path):
    return hashlib.sha256(open(path, "rb").read()).hexdigest()

if args.input:
    manifest = json.load(open(os.path.join(args.input, "MANIFEST.json")))
    for name, expected in manifest.items():
        if digest(os.path.join(args.input, name)) != expected:
            raise SystemExit(f"input file {name} is not whole")
for i in range(args.values):
    run.log("i", i)
    with open(args.ledger, "a") as ledger:
        ledger.write(f"{run.id} {i}\\n")
    time.sleep(args.pause)
run.log("acc", 1.0 - (args.x - 0.3) ** 2)
if args.output:
    os.makedirs(args.output, exist_ok=True)
    manifest = {}
    for n in range(args.files):
        name = f"part-{n}.bin"
        with open(os.path.join(args.output, name), "wb") as out:
            out.write(os.urandom(args.kib * 1024))
        manifest[name] = digest(os.path.join(args.output, name))
    with open(os.path.join(args.output, "MANIFEST.json"), "w") as out:
        json.dump(manifest, out)
"""


@dataclass
class FaultCase:
    """One case: a workload, the kind of process to kill, and when."""

    name: str
    workload: str
    kill: str | None  # a key of KINDS, or None for no kill
    seed: int = 0
    root: Path = Path(".")
    store_url: str | None = None
    values: int = 12
    pause: float = 0.02
    files: int = 2
    kib: int = 64
    early: bool = False  # kill within the first 100 ms after the moment the kind exists
    timeout_s: float = 120.0

    @property
    def folder(self) -> Path:
        return self.root / self.name


@dataclass
class CaseResult:
    """What was checked after one case; ``problems`` is empty when everything held."""

    case: FaultCase
    killed: str | None = None  # what was killed ("" when the moment passed without a target)
    run_id: str | None = None
    final_status: str | None = None
    resumes: int = 0
    finished: bool = False
    reruns: int = 0
    partial_outputs: int = 0
    lost_metrics: int = 0
    duplicated_metrics: int = 0
    leftover_processes: int = 0
    integrity_failures: int = 0
    problems: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # the error messages runs ended with
    seconds: float = 0.0

    def ok(self) -> bool:
        return not self.problems


# -- building and submitting workloads ----------------------------------------------------------


def prepare(case: FaultCase) -> Workspace:
    """The case's folder: a workspace, the worker script, an empty ledger."""
    from hyperpipe.core import Workspace
    from hyperpipe.core.compute import ComputeTarget, LocalCompute

    case.folder.mkdir(parents=True, exist_ok=True)
    (case.folder / "code").mkdir(exist_ok=True)
    (case.folder / "code" / "worker.py").write_text(WORKER)
    (case.folder / "ledger.txt").touch()
    ws = Workspace.create("faults", path=case.folder / "ws", store_url=case.store_url)
    ComputeTarget.create(ws, TARGET, LocalCompute.provisioning_configuration(max_concurrency=2))
    return ws


def _config(kind: str, folder: Path, values: int, pause: float, files: int, kib: int) -> Any:
    """The workload's submittable configuration (built in the submitting process)."""
    from hyperpipe.core import ScriptRunConfig
    from hyperpipe.pipeline.core import Pipeline, PipelineData
    from hyperpipe.pipeline.steps import HyperDriveStep, PythonScriptStep
    from hyperpipe.train.hyperdrive import (
        HyperDriveConfig,
        PrimaryMetricGoal,
        RandomParameterSampling,
        uniform,
    )

    code = str(folder / "code")
    common = ["--values", values, "--pause", pause, "--ledger", str(folder / "ledger.txt")]
    if kind == "script":
        return ScriptRunConfig(code, "worker.py", arguments=common, compute_target=TARGET)
    sweep = HyperDriveConfig(
        run_config=ScriptRunConfig(code, "worker.py", arguments=common, compute_target=TARGET),
        hyperparameter_sampling=RandomParameterSampling({"--x": uniform(0.0, 1.0)}),
        primary_metric_name="acc",
        primary_metric_goal=PrimaryMetricGoal.MAXIMIZE,
        max_total_runs=4,
        max_concurrent_runs=2,
    )
    if kind == "sweep":
        return sweep
    from hyperpipe.core import Workspace

    ws = Workspace.from_config(path=folder / "ws")
    sizes = ["--files", files, "--kib", kib]
    first = PipelineData("first", datastore=ws.get_default_datastore())
    second = PipelineData("second", datastore=ws.get_default_datastore())
    if kind == "pipeline":
        head = PythonScriptStep(
            "worker.py",
            name="head",
            source_directory=code,
            arguments=[*common, *sizes, "--output", first],
            outputs=[first],
            compute_target=TARGET,
        )
    else:  # pipeline-sweep: the lab's shape, a sweep whose metrics JSON feeds the next step
        head = HyperDriveStep(
            "head", sweep, estimator_entry_script_arguments=[], metrics_output=first
        )
    middle = PythonScriptStep(
        "worker.py",
        name="middle",
        source_directory=code,
        arguments=[*common, *sizes, "--output", second]
        + (["--input", first] if kind == "pipeline" else ["--x", 0.1]),
        inputs=[first],
        outputs=[second],
        compute_target=TARGET,
    )
    tail = PythonScriptStep(
        "worker.py",
        name="tail",
        source_directory=code,
        arguments=[*common, "--input", second],
        inputs=[second],
        compute_target=TARGET,
    )
    return Pipeline(ws, [head, middle, tail])


def _submit_main(argv: list[str]) -> int:
    """``submit WS_FOLDER KIND VALUES PAUSE FILES KIB``: submit, say so, exit."""
    from hyperpipe.core import Experiment, Workspace

    folder, kind = Path(argv[0]), argv[1]
    values, pause, files, kib = int(argv[2]), float(argv[3]), int(argv[4]), int(argv[5])
    ws = Workspace.from_config(path=folder / "ws")
    config = _config(kind, folder, values, pause, files, kib)
    print("SUBMITTING", flush=True)  # noqa: T201
    run = Experiment(ws, EXPERIMENT).submit(config)
    print("SUBMITTED", run.id, flush=True)  # noqa: T201
    return 0


def _resume_main(argv: list[str]) -> int:
    """``resume WS_FOLDER RUN_ID``: resume the run, say so, exit."""
    from hyperpipe.core import Run, Workspace

    ws = Workspace.from_config(path=Path(argv[0]) / "ws")
    print("RESUMING", flush=True)  # noqa: T201
    Run.get(ws, argv[1]).resume()
    print("RESUMED", flush=True)  # noqa: T201
    return 0


def _start(case: FaultCase, *argv: str) -> subprocess.Popen[str]:
    env = {**os.environ, CASE_ENV: _marker(case)}
    env.pop("HYPERPIPE_STORE_URL", None)
    env.pop("AZUREML_RUN_ID", None)
    return subprocess.Popen(
        [sys.executable, "-m", "hyperpipe.testing.faults", *argv],
        stdout=subprocess.PIPE,
        stderr=open(case.folder / "submitter.log", "a"),
        text=True,
        env=env,
        cwd=case.folder,
    )


def _wait_line(process: subprocess.Popen[str], word: str, timeout: float = 60.0) -> str | None:
    """The first stdout line starting with ``word``; None if the process ended first."""
    assert process.stdout is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            return None
        if line.startswith(word):
            return line.strip()
    return None


# -- finding the process to kill ----------------------------------------------------------------


def _case_processes(case: FaultCase) -> Iterator[psutil.Process]:
    """Live processes carrying this case's marker (zombies excluded)."""
    for process in psutil.process_iter():
        try:
            if process.status() == psutil.STATUS_ZOMBIE:
                continue
            if process.environ().get(CASE_ENV) == _marker(case):
                yield process
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue


def _marker(case: FaultCase) -> str:
    """What the case's processes carry in ``CASE_ENV``: its name and folder, so that two test
    sessions running the same case at once never take each other's processes for their own."""
    return f"{case.name}:{case.folder}"


def leftover_processes(case_name: str | None = None) -> list[psutil.Process]:
    """Processes of a case (its ``_marker``; every case when ``case_name`` is None) that are
    still running."""
    found = []
    for process in psutil.process_iter():
        try:
            if process.pid == os.getpid() or process.status() == psutil.STATUS_ZOMBIE:
                continue
            marker = process.environ().get(CASE_ENV)
            if marker and (case_name is None or marker == case_name):
                found.append(process)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return found


def _target(case: FaultCase, ws: Workspace, run_id: str | None, kind: str) -> int | None:
    """The pid of a live process of ``kind`` in the case, if one exists now."""
    from hyperpipe.store import RunStatus

    if kind == "fork-server":
        for process in _case_processes(case):
            with contextlib.suppress(psutil.NoSuchProcess):
                if "hyperpipe.compute._zygote" in " ".join(process.cmdline()):
                    return process.pid
        return None
    if run_id is None:
        return None
    store = ws._store
    top = store.get_run(run_id)
    runs = [top, *_descendants(ws, run_id)]
    active = [r for r in runs if not r.status.is_terminal()]
    if kind in ("orchestrator", "monitor"):  # submit() has returned: the run names its driver
        return None if top.status.is_terminal() else top.pid
    if kind == "sweep-driver":
        for record in active:
            if record.run_type == "hyperdrive" and record.status == RunStatus.RUNNING:
                return record.pid
        return None
    wanted = "azureml.StepRun" if kind == "step" else "azureml.scriptrun"
    for record in active:
        process = record.definition.get("process")
        if record.run_type == wanted and process and record.status == RunStatus.RUNNING:
            if kind == "trial" and record.parent_id is None:
                continue
            return int(process["pid"])
    return None


def _descendants(ws: Workspace, run_id: str) -> list[RunRecord]:
    found, frontier = [], [run_id]
    while frontier:
        children = ws._store.list_runs(parent_id=frontier.pop(), newest_first=False)
        found.extend(children)
        frontier.extend(c.id for c in children)
    return found


def _kill(pid: int | None) -> bool:
    if pid is None:
        return False
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, signal.SIGKILL)
        return True
    return False


def _top_run(ws: Workspace) -> str | None:
    records = ws._store.list_runs(experiment_name=EXPERIMENT, top_level_only=True)
    return records[0].id if records else None


# -- running a case -----------------------------------------------------------------------------


def run_case(
    case: FaultCase,
    *,
    before_submit: Callable[[Workspace], None] | None = None,
    before_resume: Callable[[Workspace], None] | None = None,
) -> CaseResult:
    """Run one case end to end and check it (see the module docstring).

    ``before_submit`` and ``before_resume`` change the case's surroundings (fill a disk, then
    free it) at those moments.
    """
    started = time.monotonic()
    rng = random.Random(case.seed)
    result = CaseResult(case)
    ws = prepare(case)
    if before_submit is not None:
        before_submit(ws)
    # Like a user's shell, the harness holds no database connection while the submitter runs
    # (one would keep SQLite from cleaning up when the submitter exits, hiding what that does).
    ws._store.close()
    submitter = _start(
        case,
        "submit",
        str(case.folder),
        case.workload,
        str(case.values),
        str(case.pause),
        str(case.files),
        str(case.kib),
    )
    try:
        result.killed = _kill_at_random(case, ws, submitter, rng)
        with contextlib.suppress(subprocess.TimeoutExpired):
            submitter.wait(timeout=60)
        result.run_id = _top_run(ws)
        if result.run_id is not None:
            status = _wait_final(ws, result.run_id, case.timeout_s)
            if case.kill == "resume" and not _success(status):
                _resume(case, ws, result, rng, kill_early=True)
                status = _wait_final(ws, result.run_id, case.timeout_s)
            if not _success(status) and _resumable(ws, result.run_id):
                if before_resume is not None:
                    before_resume(ws)
                _resume(case, ws, result, rng, kill_early=False)
                status = _wait_final(ws, result.run_id, case.timeout_s)
            result.final_status = status
    finally:
        if submitter.poll() is None:
            submitter.kill()
        submitter.wait()
        if submitter.stdout is not None:
            submitter.stdout.close()
    _check(case, ws, result)
    result.seconds = time.monotonic() - started
    return result


def _kill_at_random(
    case: FaultCase, ws: Workspace, submitter: subprocess.Popen[str], rng: random.Random
) -> str | None:
    if case.kill is None:
        return None
    if case.kill == "submitter":
        if _wait_line(submitter, "SUBMITTING") is None:
            return ""
        time.sleep(rng.uniform(0, 0.1))
        return "submitter" if _kill(submitter.pid) else ""
    if case.kill == "resume":  # first a crash to resume from (the driver, early), then see below
        driver = "orchestrator" if "pipeline" in case.workload else "sweep-driver"
        return "resume" if _kill_target(case, ws, submitter, rng, driver, early=True) else ""
    return _kill_target(case, ws, submitter, rng, case.kill, early=case.early)


def _kill_target(
    case: FaultCase,
    ws: Workspace,
    submitter: subprocess.Popen[str],
    rng: random.Random,
    kind: str,
    *,
    early: bool,
) -> str:
    """Wait for a process of ``kind`` to exist, then kill it at a random moment of its life."""
    line = _wait_line(submitter, "SUBMITTED")
    run_id = line.split()[1] if line else _top_run(ws)
    deadline = time.monotonic() + case.timeout_s / 2
    pid = None
    while time.monotonic() < deadline:
        pid = _target(case, ws, run_id, kind)
        if pid is not None or (run_id and _is_final(ws, run_id)):
            break
        time.sleep(0.005)
    if pid is None:
        return ""
    time.sleep(rng.uniform(0, 0.1) if early else rng.uniform(0, case.values * case.pause * 1.5))
    pid = _target(case, ws, run_id, kind) or pid
    return kind if _kill(pid) else ""


def _resume(
    case: FaultCase, ws: Workspace, result: CaseResult, rng: random.Random, *, kill_early: bool
) -> None:
    resumer = _start(case, "resume", str(case.folder), result.run_id or "")
    try:
        if kill_early and _wait_line(resumer, "RESUMING") is not None:
            time.sleep(rng.uniform(0, 0.1))
            _kill(resumer.pid)
            # and the driver it may have started
            time.sleep(rng.uniform(0, 0.05))
            record = ws._store.get_run(result.run_id)  # type: ignore[arg-type]
            if record.pid not in (None, resumer.pid) and not record.status.is_terminal():
                _kill(record.pid)
        resumer.wait(timeout=60)
    finally:
        if resumer.poll() is None:
            resumer.kill()
        resumer.wait()
        if resumer.stdout is not None:
            resumer.stdout.close()
    result.resumes += 1


def _status(ws: Workspace, run_id: str) -> str:
    from hyperpipe.core import Run

    return Run.get(ws, run_id).get_status()  # judges a run whose driver died as crashed


def _is_final(ws: Workspace, run_id: str) -> bool:
    from hyperpipe.store import RunStatus

    return RunStatus(_status(ws, run_id)).is_terminal()


def _wait_final(ws: Workspace, run_id: str, timeout: float) -> str:
    from hyperpipe.store import RunStatus

    deadline = time.monotonic() + timeout
    while True:
        status = _status(ws, run_id)
        if RunStatus(status).is_terminal() or time.monotonic() > deadline:
            return status
        time.sleep(0.05)


def _success(status: str | None) -> bool:
    return status in ("Completed", "Finished")


def _resumable(ws: Workspace, run_id: str) -> bool:
    return ws._store.get_run(run_id).run_type in ("azureml.PipelineRun", "hyperdrive")


# -- the checks ---------------------------------------------------------------------------------


def _check(
    case: FaultCase, ws: Workspace, result: CaseResult, run_ids: list[str] | None = None
) -> None:
    """Every check of the module docstring, over the case's run (or ``run_ids``)."""
    problems = result.problems
    run_ids = run_ids if run_ids is not None else [r for r in [result.run_id] if r]
    runs: list[RunRecord] = []
    result.finished = True  # killed before submit() created anything: nothing to finish
    for run_id in run_ids:
        record = ws._store.get_run(run_id)
        final = record.status.is_terminal()
        if record.run_type == "azureml.scriptrun":
            finished = final  # a script run cannot be resumed: its ending is final
        else:
            finished = final and record.status.is_success()
        if not finished:
            result.finished = False
            problems.append(f"run {record.id} ended {record.status.value}: {record.error}")
        runs += [record, *_descendants(ws, run_id)]
    result.errors = [r.error["error"]["message"] for r in runs if r.error]
    result.reruns = _reruns(runs)
    if result.reruns:
        problems.append(f"{result.reruns} finished step(s) ran again")
    partial = _partial_outputs(ws, runs) if runs else []
    result.partial_outputs = len(partial)
    problems.extend(f"partial output: {p}" for p in partial)
    lost, duplicated, notes = _metric_problems(ws, case, runs)
    result.lost_metrics, result.duplicated_metrics = lost, duplicated
    problems.extend(notes)
    left = _stop_leftovers(case)
    result.leftover_processes = len(left)
    problems.extend(f"process left running: {desc}" for desc in left)
    integrity = _integrity(ws)
    if integrity != "ok":
        result.integrity_failures = 1
        problems.append(f"integrity_check: {integrity}")


def concurrent_case(submitters: int, root: Path, **options: Any) -> CaseResult:
    """``submitters`` processes submit the pipeline into one workspace at the same moment; every
    run must finish by itself, each with all its metrics."""
    case = FaultCase(name=f"concurrent-{submitters}", workload="pipeline", kill=None, root=root)
    for key, value in options.items():
        setattr(case, key, value)
    started = time.monotonic()
    result = CaseResult(case)
    ws = prepare(case)
    argv = [str(case.values), str(case.pause), str(case.files), str(case.kib)]
    processes = [
        _start(case, "submit", str(case.folder), case.workload, *argv) for _ in range(submitters)
    ]
    run_ids = []
    try:
        for process in processes:
            line = _wait_line(process, "SUBMITTED", timeout=case.timeout_s)
            if line is None:
                result.problems.append(f"submitter {process.pid} did not submit")
            else:
                run_ids.append(line.split()[1])
        statuses = [_wait_final(ws, run_id, case.timeout_s) for run_id in run_ids]
        result.final_status = ",".join(sorted(set(statuses)))
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
            process.wait()
            if process.stdout is not None:
                process.stdout.close()
    _check(case, ws, result, run_ids)
    result.seconds = time.monotonic() - started
    return result


def _reruns(runs: list[RunRecord]) -> int:
    """Step runs started (not reused) after a run of the same step had finished."""
    from hyperpipe.store import RunStatus

    count = 0
    by_pipeline: dict[str, list[RunRecord]] = {}
    for record in runs:
        if record.run_type == "azureml.StepRun" and record.parent_id:
            by_pipeline.setdefault(record.parent_id, []).append(record)
    for steps in by_pipeline.values():
        finished_at: dict[str, float] = {}
        for step in sorted(steps, key=lambda r: r.created_at):
            name = step.display_name or step.id
            reused = step.definition.get("reuse", {}).get("reused")
            if name in finished_at and not reused:
                count += 1
            if step.status == RunStatus.FINISHED:
                finished_at.setdefault(name, step.created_at)
    return count


def _partial_outputs(ws: Workspace, runs: list[RunRecord]) -> list[str]:
    """Staged copies, outputs of unfinished steps, and outputs unlike their manifest."""
    import hashlib

    from hyperpipe.store import RunStatus

    datastore = ws.get_default_datastore()
    base = datastore._local_path("azureml")
    if base is None or not base.is_dir():
        return []
    committed: dict[Path, RunRecord] = {}
    for record in runs:
        if record.status == RunStatus.FINISHED:
            for output in record.definition.get("committed_outputs", {}).values():
                local = ws._datastore(output["datastore"])._local_path(output["path"])
                if local is not None:
                    committed[local.resolve()] = record
    problems = []
    for path in sorted(base.rglob("*")):
        if ".hp-tmp-" in path.name:
            problems.append(f"staged copy left: {path}")
    for step_dir in sorted(p for p in base.iterdir() if p.is_dir()):
        for output in sorted(p for p in step_dir.iterdir() if ".hp-tmp-" not in p.name):
            if output.resolve() not in committed:
                problems.append(f"output of an unfinished step run: {output}")
                continue
            manifest = output / "MANIFEST.json"
            if not manifest.is_file():
                if output.is_dir() and any(output.glob("part-*")):
                    problems.append(f"output without its manifest: {output}")
                continue
            for name, digest in json.loads(manifest.read_text()).items():
                file = output / name
                if not file.is_file() or hashlib.sha256(file.read_bytes()).hexdigest() != digest:
                    problems.append(f"output file not whole: {file}")
    return problems


def _ledger(case: FaultCase) -> dict[str, Counter[int]]:
    written: dict[str, Counter[int]] = {}
    for line in (case.folder / "ledger.txt").read_text().splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit():
            written.setdefault(parts[0], Counter())[int(parts[1])] += 1
    return written


def _metric_problems(
    ws: Workspace, case: FaultCase, runs: list[RunRecord]
) -> tuple[int, int, list[str]]:

    ledger = _ledger(case)
    by_key = ws._store.get_metrics([r.key for r in runs], ["i"])
    lost = duplicated = 0
    notes = []
    for record in runs:
        stored = Counter(int(p.data) for s in by_key.get(record.key, []) for p in s.points)
        expected = set(ledger.get(record.id, ()))  # what the script wrote down it had logged
        if record.status.is_success() and _runs_worker(record):
            expected |= set(range(case.values))  # a finished worker logged every value
        extra = sum(n - 1 for n in stored.values() if n > 1)
        missing = len(expected - set(stored))
        if extra:
            notes.append(f"run {record.id}: {extra} metric value(s) stored twice")
        if missing:
            notes.append(f"run {record.id}: {missing} logged metric value(s) not stored")
        duplicated += extra
        lost += missing
    return lost, duplicated, notes


def _runs_worker(record: RunRecord) -> bool:
    """Whether the run executed the worker script itself (not reused, not a sweep's step)."""
    definition = record.definition
    if definition.get("reuse", {}).get("reused") or "hyperdrive" in definition:
        return False
    return definition.get("script") == "worker.py"


def _stop_leftovers(case: FaultCase) -> list[str]:
    """Describe, then kill, the case's processes still running a few seconds after its end."""
    deadline = time.monotonic() + 10
    left = leftover_processes(_marker(case))
    while left and time.monotonic() < deadline:
        time.sleep(0.1)
        left = leftover_processes(_marker(case))
    described = []
    for process in left:
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            described.append(f"{process.pid} {' '.join(process.cmdline())[:200]}")
            process.kill()
    return described


def _integrity(ws: Workspace) -> str:
    url = ws.store_url
    if not url.startswith("sqlite:///"):
        return "ok"
    path = url[len("sqlite:///") :]
    with contextlib.closing(sqlite3.connect(path, timeout=60)) as conn:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]


class MountNotAllowed(RuntimeError):
    """This machine does not let us mount a filesystem (not root, or no tmpfs)."""


@contextlib.contextmanager
def tmpfs(path: Path, size: str, *, read_only: bool = False) -> Iterator[Path]:
    """A small tmpfs mounted over ``path`` for the duration (root only; else MountNotAllowed)."""
    path.mkdir(parents=True, exist_ok=True)
    options = f"size={size}" + (",ro" if read_only else "")
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        raise MountNotAllowed(f"cannot mount a tmpfs at {path}: {mounted.stderr.strip()}")
    try:
        yield path
    finally:
        if subprocess.run(["umount", str(path)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(path)], capture_output=True)


def remount(path: Path, size: str, *, read_only: bool = False) -> None:
    """Change a tmpfs made by :func:`tmpfs`: its size, or whether it is read-only."""
    options = f"remount,size={size}," + ("ro" if read_only else "rw")
    subprocess.run(["mount", "-o", options, str(path)], check=True, capture_output=True)


def disk_case(where: str, root: Path, *, read_only: bool = False) -> CaseResult:
    """A pipeline whose ``where`` ("datastore", "runs" or "store") is a tmpfs too small for it
    (or, with ``read_only``, a read-only one); space is given back before the one resume."""
    case = FaultCase(
        name=f"{'readonly' if read_only else 'enospc'}-{where}",
        workload="pipeline",
        kill=None,
        root=root,
        values=40 if where == "store" else 6,
        files=4,
        kib=256,
    )
    mount = _mount_point(case, where)
    if where == "store":
        case.store_url = f"sqlite:///{mount / 'store.db'}"
    with tmpfs(mount, "64m") as path:

        def shrink(ws: Workspace) -> None:
            if read_only:
                remount(path, "64m", read_only=True)
            elif where == "store":  # leave the store a little room: it fills while runs log
                ws._store.close()  # the last connection checkpoints the WAL: measure what stays
                used = sum(f.stat().st_size for f in path.iterdir() if f.is_file())
                remount(path, f"{(used + 256 * 1024) // 1024}k")
            elif where == "datastore":
                remount(path, "1200k")
            else:  # run folders smaller than a metric journal's first chunk (64 KiB)
                remount(path, "48k")

        def give_back(ws: Workspace) -> None:
            remount(path, "64m")

        return run_case(case, before_submit=shrink, before_resume=give_back)


def _mount_point(case: FaultCase, where: str) -> Path:
    ws_root = case.folder / "ws"
    if where == "datastore":
        return ws_root / "datastores" / "workspaceblobstore"
    if where == "runs":
        return ws_root / ".hyperpipe" / "runs"
    return case.folder / "store"


def plan(kills: int, seed: int, root: Path, **options: Any) -> list[FaultCase]:
    """``kills`` cases spread evenly over the process kinds, each on a workload that has it,
    with seeded random moments (a third of them in the first 100 ms)."""
    rng = random.Random(seed)
    kinds = list(KINDS)
    cases = []
    for n in range(kills):
        kind = kinds[n % len(kinds)]
        workload = rng.choice(KINDS[kind])
        cases.append(
            FaultCase(
                name=f"c{n:04d}-{kind}-{workload}",
                workload=workload,
                kill=kind,
                seed=rng.randrange(2**31),
                root=root,
                early=rng.random() < 1 / 3,
                **options,
            )
        )
    return cases


def main(argv: list[str]) -> int:
    command, rest = argv[0], argv[1:]
    if command == "submit":
        return _submit_main(rest)
    if command == "resume":
        return _resume_main(rest)
    print(textwrap.dedent(__doc__ or ""), file=sys.stderr)  # noqa: T201
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))


def stop_unfinished_runs(workspace: Workspace, timeout: float = 15.0) -> list[str]:
    """Cancel every top-level run of ``workspace`` that has not ended and wait for them to end
    (a test that failed half-way leaves drivers and scripts running); the ids cancelled."""
    from hyperpipe.core import _lifecycle

    store = workspace._store
    pending = []
    for record in store.list_runs(top_level_only=True):
        record = _lifecycle.reconcile(store, record, workspace.root)
        if not record.status.is_terminal():
            _lifecycle.request_cancel(store, record, workspace.root)
            pending.append(record.id)
    cancelled = list(pending)
    deadline = time.monotonic() + timeout
    while pending and time.monotonic() < deadline:
        pending = [
            run_id
            for run_id in pending
            if not _lifecycle.reconcile(
                store, store.get_run(run_id), workspace.root
            ).status.is_terminal()
        ]
        time.sleep(0.05)
    return cancelled
