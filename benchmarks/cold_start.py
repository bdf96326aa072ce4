"""Cold start: whole processes, as a user runs them, side by side in one run.

Each case is a new process timed from start to exit: ``python -c pass`` (the floor),
``import hyperpipe``, ``hyperpipe --help``, ``hyperpipe runs list`` on a workspace with 1,000
runs, a 2-step and a 20-step chain of trivial steps submitted fresh (``regenerate_outputs``)
and fully reused, and a sweep of 100 trivial trials 2 at a time; and, when DVC is found, the
same chains with ``dvc repro -f`` (fresh) and ``dvc repro`` (everything cached). The cases run
interleaved, one of each per round: 1 warm-up round, then ``--repeat`` rounds (>= 5); each
line shows the median and the min-max. Children run with bytecode caching on (as installed
packages are), whatever ``PYTHONDONTWRITEBYTECODE`` says here.

Goals (this 2-core machine): import hyperpipe <= 60 ms; hyperpipe --help <= 150 ms; 2-step
fresh <= 0.20 s; 20-step fully reused <= 0.15 s and >= 4x faster than DVC's cached run;
100 trivial trials <= 2.0 s and >= 4x faster than Ray Tune with ``reuse_actors`` (8.8 s
measured here when the goal was set; Ray is not a dependency, so that figure is quoted).

``--baseline PYTHON`` adds the hyperpipe cases run by another interpreter (e.g. a virtualenv
with an earlier hyperpipe), interleaved with these, for a before/after in one run.

DVC is looked for on PATH, then in ``--dvc`` (a ``dvc`` executable); ``--install-dvc`` makes it
in its own virtualenv (``~/.cache/hyperpipe-bench/dvc-venv``) with ``pip install dvc``.

    python benchmarks/cold_start.py [--repeat 5] [--trials 100] [--install-dvc] [--baseline PY]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

RAY_TUNE_REUSE_ACTORS_S = 8.8  # 100 trivial trials, 2 at a time, measured on this machine
DVC_VENV = Path.home() / ".cache" / "hyperpipe-bench" / "dvc-venv"

STEP = """\
import sys
value = int(open(sys.argv[1]).read()) if sys.argv[1] != "-" else 0
with open(sys.argv[2], "w") as out:
    out.write(str(value + 1))
"""

TRIAL = """\
import argparse
from hyperpipe.core import Run
parser = argparse.ArgumentParser()
parser.add_argument("--x", type=float)
x = parser.parse_args().x
Run.get_context().log("score", -(x - 0.3) ** 2)
"""

CHAIN = """\
import sys
from hyperpipe.core import Experiment, Workspace
from hyperpipe.pipeline.core import Pipeline, PipelineData
from hyperpipe.pipeline.steps import PythonScriptStep

ws = Workspace.from_config(path=sys.argv[1])
length, fresh = int(sys.argv[2]), sys.argv[3] == "fresh"
steps, previous = [], None
for i in range(length):
    out = PipelineData(f"out{i}")
    steps.append(
        PythonScriptStep(
            "step.py",
            name=f"step{i}",
            arguments=[previous if previous is not None else "-", out],
            inputs=[previous] if previous is not None else [],
            outputs=[out],
            source_directory=sys.argv[4],
        )
    )
    previous = out
run = Experiment(ws, f"chain{length}").submit(Pipeline(ws, steps), regenerate_outputs=fresh)
status = run.wait_for_completion(show_output=False)
assert status == "Finished", status
"""

SWEEP = """\
import sys
from hyperpipe.core import Experiment, ScriptRunConfig, Workspace
from hyperpipe.train.hyperdrive import (
    HyperDriveConfig, PrimaryMetricGoal, RandomParameterSampling, uniform,
)

ws = Workspace.from_config(path=sys.argv[1])
config = HyperDriveConfig(
    run_config=ScriptRunConfig(sys.argv[3], "trial.py", compute_target="pair"),
    hyperparameter_sampling=RandomParameterSampling({"x": uniform(0, 1)}),
    primary_metric_name="score",
    primary_metric_goal=PrimaryMetricGoal.MAXIMIZE,
    max_total_runs=int(sys.argv[2]),
    max_concurrent_runs=2,
)
run = Experiment(ws, "sweep").submit(config)
assert run.wait_for_completion()["status"] == "Completed"
"""


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["DVC_NO_ANALYTICS"] = "1"
    return env


def timed(argv: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    done = subprocess.run(
        argv, cwd=cwd, env=child_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({done.returncode}):\n{done.stderr.decode()}")
    return elapsed


def find_dvc(explicit: str | None, install: bool) -> str | None:
    if explicit:
        return explicit
    found = shutil.which("dvc")
    if found:
        return found
    venv_dvc = DVC_VENV / "bin" / "dvc"
    if not venv_dvc.exists() and install:
        print(f"installing DVC into {DVC_VENV} ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(DVC_VENV)], check=True)
        subprocess.run([str(DVC_VENV / "bin" / "pip"), "install", "-q", "dvc"], check=True)
    return str(venv_dvc) if venv_dvc.exists() else None


def setup_hyperpipe(root: Path, runs: int) -> dict[str, Path]:
    """The workspaces and scripts: one for chains, one for the sweep, one with ``runs`` runs."""
    from hyperpipe.core import Workspace
    from hyperpipe.core.compute import ComputeTarget, LocalCompute
    from hyperpipe.store import RunStatus

    source = root / "src"
    source.mkdir()
    (source / "step.py").write_text(STEP)
    (source / "trial.py").write_text(TRIAL)
    (root / "chain.py").write_text(CHAIN)
    (root / "sweep.py").write_text(SWEEP)
    Workspace.create("chains", path=root / "ws-chains")._store  # noqa: B018 - makes the store
    Workspace.create("chains-base", path=root / "ws-chains-base")._store  # noqa: B018
    sweep_ws = Workspace.create("sweep", path=root / "ws-sweep")
    ComputeTarget.create(
        sweep_ws, "pair", LocalCompute.provisioning_configuration(max_concurrency=2)
    )
    listed = Workspace.create("listed", path=root / "ws-runs")
    store = listed._store
    for i in range(runs):
        run_id = str(uuid.uuid4())
        store.create_run(
            experiment_name=f"exp{i % 10}",
            run_id=run_id,
            run_type="azureml.scriptrun",
            status=RunStatus.RUNNING,
        )
        store.set_status(run_id, RunStatus.COMPLETED)
    return {"source": source, "chains": root / "ws-chains", "sweep": root / "ws-sweep"}


def setup_dvc(root: Path, dvc: str, length: int, source: Path) -> Path:
    """A DVC project whose pipeline is the same chain: each stage runs step.py on the last
    stage's output."""
    repo = root / f"dvc{length}"
    repo.mkdir()
    shutil.copy(source / "step.py", repo / "step.py")
    subprocess.run([dvc, "init", "--no-scm", "-q"], cwd=repo, env=child_env(), check=True)
    lines = ["stages:"]
    for i in range(length):
        previous = f"out{i - 1}.txt" if i else "-"
        deps = ["step.py"] + ([previous] if i else [])
        lines += [
            f"  step{i}:",
            f"    cmd: {sys.executable} step.py {previous} out{i}.txt",
            "    deps:",
            *[f"      - {d}" for d in deps],
            "    outs:",
            f"      - out{i}.txt",
        ]
    (repo / "dvc.yaml").write_text("\n".join(lines) + "\n")
    return repo


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=5, help="timed rounds (>= 5)")
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--runs", type=int, default=1000, help="runs in the listed workspace")
    parser.add_argument("--dvc", help="a dvc executable (default: PATH, then its own venv)")
    parser.add_argument("--install-dvc", action="store_true", help="pip install dvc if missing")
    parser.add_argument("--baseline", help="another Python whose hyperpipe runs the same cases")
    args = parser.parse_args()
    if args.repeat < 5:
        parser.error("--repeat must be at least 5")
    python = sys.executable
    dvc = find_dvc(args.dvc, args.install_dvc)

    with tempfile.TemporaryDirectory(prefix="hp-cold-") as tmp:
        root = Path(tmp)
        print(f"setting up (a workspace with {args.runs} runs)...", flush=True)
        paths = setup_hyperpipe(root, args.runs)
        chains, src = str(paths["chains"]), str(paths["source"])
        cases: list[tuple[str, list[str], Path, str]] = [
            ("python -c pass", [python, "-c", "pass"], root, ""),
        ]
        pythons = [(python, "", "")]
        if args.baseline:
            pythons.append((args.baseline, "  (baseline)", "-base"))

        def for_each_python(name: str, argv: list[str], goal: str) -> None:
            for py, label, _suffix in pythons:
                exe = Path(py).with_name("hyperpipe")
                cli = [str(exe)] if exe.exists() else [py, "-m", "hyperpipe"]
                swapped = [*cli, *argv[1:]] if argv[0] == "CLI" else [py, *argv[1:]]
                cases.append((name + label, swapped, root, "" if label else goal))

        for_each_python("import hyperpipe", ["PY", "-c", "import hyperpipe"], "<= 0.060 s")
        for_each_python("hyperpipe --help", ["CLI", "--help"], "<= 0.150 s")
        for_each_python(
            f"hyperpipe runs list ({args.runs} runs)",
            ["CLI", "-w", str(root / "ws-runs"), "runs", "list"],
            "",
        )
        for length in (2, 20):
            for mode in ("fresh", "reused"):
                goal = {(2, "fresh"): "<= 0.20 s", (20, "reused"): "<= 0.15 s"}.get(
                    (length, mode), ""
                )
                for py, label, suffix in pythons:
                    argv = [py, "chain.py", chains + suffix, str(length), mode, src]
                    name = f"hyperpipe {length}-step {mode}{label}"
                    cases.append((name, argv, root, "" if label else goal))
            if dvc:
                repo = setup_dvc(root, dvc, length, paths["source"])
                cases.append((f"dvc repro -f  {length}-step", [dvc, "repro", "-f", "-q"], repo, ""))
                cases.append(
                    (f"dvc repro     {length}-step cached", [dvc, "repro", "-q"], repo, "")
                )
        for_each_python(
            f"hyperpipe {args.trials} trials, 2 at a time",
            ["PY", "sweep.py", str(paths["sweep"]), str(args.trials), src],
            "<= 2.0 s",
        )

        times: dict[str, list[float]] = {name: [] for name, *_ in cases}
        for round_ in range(args.repeat + 1):
            label = "warm-up" if round_ == 0 else f"{round_}/{args.repeat}"
            print(f"round {label}", flush=True)
            for name, argv, cwd, _goal in cases:
                elapsed = timed(argv, cwd)
                if round_:
                    times[name].append(elapsed)

    load = os.getloadavg()
    print(
        f"\nwhole processes, median of {args.repeat} (min-max); load average at the end "
        f"{load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} on {os.cpu_count()} CPUs"
    )
    print(f"  {'case':<50}{'median':>9}  {'min-max':<17}goal")
    medians = {}
    for name, _argv, _cwd, goal in cases:
        values = times[name]
        medians[name] = statistics.median(values)
        verdict = ""
        if goal:
            limit = float(goal.split()[1])
            verdict = "  met" if medians[name] <= limit else "  NOT met"
        print(
            f"  {name:<50}{medians[name]:>8.3f}s  "
            f"{min(values):.3f}-{max(values):.3f} s   {goal}{verdict}"
        )
    if not dvc:
        print("  (DVC not found: run with --install-dvc, or --dvc PATH, to add its chains)")
    else:
        ratio = medians["dvc repro     20-step cached"] / medians["hyperpipe 20-step reused"]
        print(f"\n  20-step reused: DVC's cached run / hyperpipe's = {ratio:.1f}x   (goal >= 4x)")
    sweep = medians[f"hyperpipe {args.trials} trials, 2 at a time"]
    print(
        f"  {args.trials} trials: Ray Tune reuse_actors ({RAY_TUNE_REUSE_ACTORS_S} s, quoted) / "
        f"hyperpipe's = {RAY_TUNE_REUSE_ACTORS_S / sweep:.1f}x   (goal >= 4x)"
    )


if __name__ == "__main__":
    main()
