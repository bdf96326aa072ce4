"""Ray overhead: hyperpipe on a real Ray cluster started here, side by side with local and Tune.

Prints, in one run:
  chain       a 20-step chain pipeline, every step executed, on the local target and on a ray
              target: the whole run, its fixed cost and the cost of each further step (the slope
              between a --short and a --length chain); goal: <= 10 ms per step more on Ray than
              locally. The first Ray run places the target's runners (cold); later runs, each
              a new orchestrator process joining the cluster, find them warm by name
  trials      100 trivial trials 2 at a time: a hyperpipe sweep on the ray target (each trial its
              own killable process) vs Ray Tune with reuse_actors=True on the same cluster,
              interleaved for --repeat rounds (medians, min-max); goal: hyperpipe <= 1/3 of
              Tune's time. hyperpipe's time is the whole submission (submit, its driver joining
              the cluster and importing Optuna, every trial, the sweep's end) with the target's
              runners warm, as a later submission finds them (placing them is shown apart, as
              "cold"); Tune's is fit() alone (its driver, a process of its own, has joined and
              imported Tune before), and is also shown with the join and the import. The warm
              runners hold the cluster's CPUs, so they are stopped before each Tune run and
              placed again (untimed) after it
  dispatch    trials of 1.6 s, 2 at a time, on the ray target: the time each trial costs beyond
              its 1.6 s; goal: <= 5 % of it

The cluster is one node with 2 CPUs (``ray start`` with its own temp dir, stopped at the end), so
the embedded SQLite store and local datastore serve (a cluster of several nodes would need
PostgreSQL and object storage). Wall times are whole submissions: submit to the run's end.

    python benchmarks/ray_overhead.py [--trials 100] [--repeat 3] [--short 2] [--length 20]
                                      [--parts chain,trials,dispatch]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from hyperpipe.core import Experiment, ScriptRunConfig, Workspace
from hyperpipe.core.compute import ComputeTarget, RayCompute
from hyperpipe.pipeline.core import Pipeline, PipelineData
from hyperpipe.pipeline.steps import PythonScriptStep
from hyperpipe.testing.ray_cluster import LocalRayCluster
from hyperpipe.train.hyperdrive import (
    GridParameterSampling,
    HyperDriveConfig,
    PrimaryMetricGoal,
    choice,
)

STEP = """\
import sys
value = int(open(sys.argv[1]).read()) if sys.argv[1] != "-" else 0
with open(sys.argv[2], "w") as out:
    out.write(str(value + 1))
"""

TRIAL = """\
import argparse, time
from hyperpipe.core import Run
parser = argparse.ArgumentParser()
parser.add_argument("--x", type=float)
parser.add_argument("--sleep", type=float, default=0.0)
args = parser.parse_args()
time.sleep(args.sleep)
Run.get_context().log("score", args.x)
"""


def chain(ws: Workspace, source: Path, length: int, target: str) -> Pipeline:
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
                source_directory=source,
                compute_target=target,
                allow_reuse=False,
            )
        )
        previous = out
    return Pipeline(ws, steps)


def time_chain(ws: Workspace, source: Path, length: int, target: str) -> tuple[float, float]:
    """(wall time of the pipeline run, time from the first step's start to the last one's end)."""
    pipeline = chain(ws, source, length, target)
    start = time.perf_counter()
    run = Experiment(ws, f"chain-{target}").submit(pipeline)
    status = run.wait_for_completion(show_output=False)
    elapsed = time.perf_counter() - start
    assert status == "Finished", status
    steps = ws._store.list_runs(parent_id=run.id)
    first = min(r.started_at or r.created_at for r in steps)
    return elapsed, max(r.ended_at or 0.0 for r in steps) - first


def time_sweep(ws: Workspace, source: Path, trials: int, sleep: float) -> tuple[float, float]:
    """(wall time of the whole sweep, time from the first trial's start to the last one's end)."""
    config = HyperDriveConfig(
        run_config=ScriptRunConfig(
            str(source), "trial.py", arguments=["--sleep", sleep], compute_target="ray"
        ),
        hyperparameter_sampling=GridParameterSampling({"--x": choice(*range(trials))}),
        primary_metric_name="score",
        primary_metric_goal=PrimaryMetricGoal.MAXIMIZE,
        max_total_runs=trials,
        max_concurrent_runs=2,
    )
    start = time.perf_counter()
    run = Experiment(ws, "sweep").submit(config)
    run.wait_for_completion()
    elapsed = time.perf_counter() - start
    children = ws._store.list_runs(parent_id=run.id)
    assert len(children) == trials and all(c.status.value == "Completed" for c in children)
    first = min(c.started_at or c.created_at for c in children)
    last = max(c.ended_at or 0.0 for c in children)
    return elapsed, last - first


def time_tune(address: str, trials: int, storage: Path) -> tuple[float, float]:
    """(fit() alone, joining the cluster + importing Tune + fit()), measured by a process of its
    own (as a user's Tune script runs): this one stays free of Ray's threads, so hyperpipe's
    drivers are forked from it in every round alike."""
    done = subprocess.run(
        [sys.executable, __file__, "--tune-child", address, str(trials), str(storage)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    if done.returncode != 0:
        raise SystemExit(f"the Ray Tune run failed:\n{done.stderr[-3000:]}")
    fit, whole = json.loads(done.stdout.strip().splitlines()[-1])
    return fit, whole


def tune_child(address: str, trials: int, storage: Path) -> tuple[float, float]:
    """Tune's side, in its own process: its trials run in actors it starts on the cluster."""
    joining = time.perf_counter()
    import ray
    from ray import tune

    ray.init(address=address, logging_level="ERROR", log_to_driver=False)
    try:

        def trivial(config: dict) -> None:
            tune.report({"score": config["x"]})

        run_config = getattr(tune, "RunConfig", None)
        if run_config is None:  # older Ray
            from ray.train import RunConfig as run_config
        tuner = tune.Tuner(
            tune.with_resources(trivial, {"cpu": 1}),
            param_space={"x": tune.grid_search(list(range(trials)))},
            tune_config=tune.TuneConfig(
                max_concurrent_trials=2, reuse_actors=True, metric="score", mode="max"
            ),
            run_config=run_config(storage_path=str(storage), verbose=0),
        )
        start = time.perf_counter()
        results = tuner.fit()
        end = time.perf_counter()
        assert len(results) == trials and not results.errors
        return end - start, end - joining
    finally:
        ray.shutdown()


PARTS = ("chain", "trials", "dispatch")


def chain_part(ws: Workspace, steps: Path, args: argparse.Namespace) -> None:
    """Chain pipelines on the local and the ray target: the whole run, fixed cost, per step."""
    cold = time_chain(ws, steps, args.length, "ray")[0]
    wall: dict[tuple[str, int], list[float]] = {}
    for _ in range(args.repeat):  # interleaved, so that load varies alike for both
        for target in ("local", "ray"):
            for length in (args.short, args.length):
                wall.setdefault((target, length), []).append(
                    time_chain(ws, steps, length, target)[0]
                )
    med = {k: statistics.median(v) for k, v in wall.items()}
    print(f"\nchain pipelines, median of {args.repeat} runs each (wall-clock, s):")
    print(f"  {'':38} {'local':>8} {'ray':>8} {'ray - local':>12}")
    rows = {}
    for target in ("local", "ray"):
        long, short = med[(target, args.length)], med[(target, args.short)]
        per_step = (long - short) / (args.length - args.short)
        rows[target] = (long, short, long - per_step * args.length, per_step)
    labels = (
        f"{args.length}-step chain, whole run",
        f"{args.short}-step chain, whole run",
        "fixed cost (chain of 0 steps, by slope)",
        "each further step (slope)",
    )
    for i, label in enumerate(labels):
        scale, unit = (1e3, "ms") if i == 3 else (1, "s")
        lo, ra = rows["local"][i] * scale, rows["ray"][i] * scale
        print(f"  {label:38} {lo:8.3f} {ra:8.3f} {ra - lo:+12.3f} {unit}")
    print(f"  first Ray run ({args.length} steps, runners placed, cold): {cold:.2f} s")
    extra_ms = (rows["ray"][3] - rows["local"][3]) * 1e3
    print(f"  per step on Ray beyond local: {extra_ms:+.1f} ms (goal <= 10 ms)")


def trials_part(
    ws: Workspace, trial: Path, address: str, scratch: Path, args: argparse.Namespace, warm: bool
) -> None:
    """hyperpipe's sweep on Ray vs Ray Tune, interleaved rounds; ``warm``: the runners are
    placed already (else each round's untimed cold sweep places them first)."""
    # The warm runners hold the cluster's CPUs, which Tune's trials need: stopped before
    # each Tune run, placed again after it by a sweep that is not timed (the "cold" one; the
    # first round has one too when nothing placed them before).
    stop = [sys.executable, "-m", "hyperpipe", "-w", str(ws.root), "compute", "stop", "ray"]
    trials: dict[str, list[float]] = {}
    for round_ in range(args.repeat):
        if round_ or not warm:
            trials.setdefault("cold", []).append(time_sweep(ws, trial, 2, 0.0)[0])
        ours, ours_span = time_sweep(ws, trial, args.trials, 0.0)
        subprocess.run(stop, check=True, capture_output=True, timeout=120)
        tune_s, tune_all = time_tune(address, args.trials, scratch / "tune")
        for key, value in (
            ("ours", ours),
            ("span", ours_span),
            ("tune", tune_s),
            ("tune_all", tune_all),
            ("ratio", ours / tune_s),
        ):
            trials.setdefault(key, []).append(value)
    print(f"\n{args.trials} trivial trials, 2 at a time, {args.repeat} interleaved rounds:")
    print(f"  {'':44} {'median':>7}  min-max")
    for key, label in (
        ("ours", "hyperpipe on Ray, submit to end (s)"),
        ("span", "hyperpipe on Ray, first start to last end (s)"),
        ("cold", "2 trials placing the runners (cold, s)"),
        ("tune", "Ray Tune (reuse_actors=True), fit() (s)"),
        ("tune_all", "Ray Tune, import + ray.init + fit() (s)"),
        ("ratio", "hyperpipe submit to end / Tune fit()"),
    ):
        values = trials.get(key)
        if values:
            print(
                f"  {label:44} {statistics.median(values):7.2f}  "
                f"{min(values):.2f}-{max(values):.2f}"
            )
    ratio = statistics.median(trials["ours"]) / statistics.median(trials["tune"])
    print(f"  medians: hyperpipe / Tune fit() = {ratio:.2f} (goal <= 0.33)")


def dispatch_part(ws: Workspace, trial: Path) -> None:
    """Trials of 1.6 s, 2 at a time: what each costs beyond its 1.6 s."""
    count, length = 8, 1.6
    wall, running = time_sweep(ws, trial, count, length)
    per_trial = running * 2 / count - length
    print(f"\n{count} trials of {length} s, 2 at a time: {wall:.2f} s in all")
    print(
        "  before the first trial and after the last (joining the cluster, placing "
        f"runners): {wall - running:.2f} s"
    )
    print(
        f"  dispatch per trial, first start to last end: {per_trial * 1e3:.0f} ms = "
        f"{per_trial / length:.1%} of a trial (goal <= 5 %)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--length", type=int, default=20)
    parser.add_argument("--short", type=int, default=2)
    parser.add_argument(
        "--parts",
        default=",".join(PARTS),
        help="which parts to run, comma-separated (default: all three)",
    )
    parser.add_argument("--tune-child", nargs=3, metavar=("ADDRESS", "TRIALS", "STORAGE"))
    args = parser.parse_args()
    parts = set(args.parts.split(","))
    if not parts <= set(PARTS):
        parser.error(
            f"--parts: unknown part(s) {', '.join(sorted(parts - set(PARTS)))}; "
            f"choose among {','.join(PARTS)}"
        )
    if args.tune_child:
        address, trials, storage = args.tune_child
        print(json.dumps(tune_child(address, int(trials), Path(storage))))
        return

    scratch = Path(tempfile.mkdtemp(prefix="hp-rb-"))
    cluster = LocalRayCluster(scratch / "ray", workers=0, num_cpus=2)
    os.environ.pop("HYPERPIPE_STORE_URL", None)
    try:
        print(f"load before: {_load()}", flush=True)
        print("starting a one-node Ray cluster (2 CPUs) ...", flush=True)
        cluster.start()
        ws = Workspace.create("raybench", path=scratch / "ws")
        ComputeTarget.create(
            ws, "ray", RayCompute.provisioning_configuration(cluster.address, max_concurrency=2)
        )
        steps = scratch / "steps"
        steps.mkdir()
        (steps / "step.py").write_text(STEP)
        trial = scratch / "trial"
        trial.mkdir()
        (trial / "trial.py").write_text(textwrap.dedent(TRIAL))

        if "chain" in parts:
            chain_part(ws, steps, args)
        if "trials" in parts:
            # Without the chain part, the first sweep places the runners (a "cold" one).
            trials_part(ws, trial, cluster.address, scratch, args, warm="chain" in parts)
        if "dispatch" in parts:
            dispatch_part(ws, trial)
        print(f"\nload after: {_load()}")
    finally:
        cluster.stop()
        shutil.rmtree(scratch, ignore_errors=True)


def _load() -> str:
    """The machine's load averages (1, 5, 15 minutes) and its CPUs."""
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} CPUs"


if __name__ == "__main__":
    main()
