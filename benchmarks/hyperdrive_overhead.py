"""HyperDrive dispatch overhead, side by side in one run.

Part 1: 100 trials of a trivial script, 2 at a time:
  hyperpipe   a sweep (random sampling), submit to completion, every trial a real run
  optuna      the same 100 asks/tells in-process with a trivial objective (the sampler floor)
  bare        100 `python trivial.py` subprocesses, 2 at a time (the process floor)
Goal: the sweep <= 3 s total.

Part 2: 20 trials of a script that imports torch and computes for a fixed amount of work
(about 1.5 s here, the size of a lab tuning trial), 2 at a time. Each trial measures its own
compute; the dispatch overhead is the sweep's wall time
over the ideal (total compute / 2). Goal: <= 5 %. A fresh interpreter importing torch costs about
a second; trials are forks of a server that imported it once.

    python benchmarks/hyperdrive_overhead.py [--trials 100] [--torch-trials 20]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import optuna

from hyperpipe.core import Experiment, ScriptRunConfig, Workspace
from hyperpipe.core.compute import ComputeTarget, LocalCompute
from hyperpipe.train.hyperdrive import (
    HyperDriveConfig,
    PrimaryMetricGoal,
    RandomParameterSampling,
    uniform,
)

TRIVIAL = """\
import argparse
from hyperpipe.core import Run
parser = argparse.ArgumentParser()
parser.add_argument("--x", type=float)
x = parser.parse_args().x
Run.get_context().log("score", -(x - 0.3) ** 2)
"""

TORCH = """\
import argparse, time
import torch
from hyperpipe.core import Run
torch.set_num_threads(1)
parser = argparse.ArgumentParser()
parser.add_argument("--x", type=float)
x = parser.parse_args().x
start = time.perf_counter()
a = torch.randn(256, 256)
for _ in range(7000):
    a = torch.tanh(a @ a.T / 256.0)
compute = time.perf_counter() - start
run = Run.get_context()
run.log("score", -(x - 0.3) ** 2)
run.log("compute_s", compute)
"""


def sweep(ws: Workspace, source: Path, script: str, trials: int) -> tuple[float, object]:
    config = HyperDriveConfig(
        run_config=ScriptRunConfig(source, script, compute_target="pair"),
        hyperparameter_sampling=RandomParameterSampling({"x": uniform(0, 1)}),
        primary_metric_name="score",
        primary_metric_goal=PrimaryMetricGoal.MAXIMIZE,
        max_total_runs=trials,
        max_concurrent_runs=2,
    )
    start = time.perf_counter()
    run = Experiment(ws, "overhead").submit(config)
    run.wait_for_completion()
    return time.perf_counter() - start, run


def optuna_floor(trials: int) -> float:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    start = time.perf_counter()
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.RandomSampler())
    for _ in range(trials):
        trial = study.ask()
        x = trial.suggest_float("x", 0, 1)
        study.tell(trial, -((x - 0.3) ** 2))
    return time.perf_counter() - start


def bare(source: Path, trials: int) -> float:
    def one(i: int) -> None:
        subprocess.run(
            [sys.executable, str(source / "trivial.py"), "--x", str(i / trials)],
            check=True,
            stdout=subprocess.DEVNULL,
        )

    start = time.perf_counter()
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(one, range(trials)))
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--torch-trials", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        source = root / "src"
        source.mkdir()
        (source / "trivial.py").write_text(TRIVIAL)
        (source / "torch_trial.py").write_text(TORCH)
        ws = Workspace.create("bench", path=root / "ws")
        ComputeTarget.create(ws, "pair", LocalCompute.provisioning_configuration(max_concurrency=2))

        print(f"Part 1: {args.trials} trivial trials, 2 at a time", flush=True)
        hyperpipe_s, run = sweep(ws, source, "trivial.py", args.trials)
        assert sum(t.get_status() == "Completed" for t in run.get_children()) == args.trials
        optuna_s = optuna_floor(args.trials)
        bare_s = bare(source, args.trials)
        print(f"  {'hyperpipe sweep':<18}{hyperpipe_s:>8.2f} s   (goal <= 3 s)")
        print(f"  {'optuna in-process':<18}{optuna_s:>8.2f} s")
        print(f"  {'bare subprocesses':<18}{bare_s:>8.2f} s")

        print(f"\nPart 2: {args.torch_trials} trials importing torch, 2 at a time", flush=True)
        wall, run = sweep(ws, source, "torch_trial.py", args.torch_trials)
        computes = [m["compute_s"] for m in run.get_metrics().values() if "compute_s" in m]
        assert len(computes) == args.torch_trials, computes
        trials = [t._record for t in run.get_children()]
        sweep_record = run._refresh()
        first_start = min(t.started_at for t in trials)
        last_end = max(t.ended_at for t in trials)
        startup = first_start - sweep_record.created_at
        steady = last_end - first_start
        ideal = sum(computes) / 2
        print(f"  sweep wall time      {wall:8.2f} s  (submit to completion)")
        print(
            f"  one-time start       {startup:8.2f} s  (driver, fork server importing torch once)"
        )
        print(f"  trials, first to last {steady:7.2f} s")
        print(
            f"  trial compute        {sum(computes):8.2f} s total, "
            f"median {statistics.median(computes):.2f} s"
        )
        print(f"  ideal (compute / 2)  {ideal:8.2f} s")
        per_trial = 1000 * 2 * (steady - ideal) / len(computes)
        print(
            f"  dispatch overhead    {100 * (steady - ideal) / ideal:8.1f} %   "
            "of trial compute (goal <= 5 %)"
        )
        print(f"  per trial            {per_trial:8.0f} ms of wall time beyond its compute")
        print(f"  with the one-time start {100 * (wall - ideal) / ideal:5.1f} %")


if __name__ == "__main__":
    main()
