"""The lab end to end (what ``make demo`` runs): data, the retraining pipeline, the results.

1. creates (or reuses) a workspace and the lab's two compute targets, with this machine's GPUs
   when it has some (``--gpus``): the trials share them, ``--trials-per-gpu`` at a time on each,
   and the full model trains on the first;
2. registers the 20 Newsgroups datasets (from --source, $HYPERPIPE_NEWSGROUPS, or a download);
3. submits the lab's pipeline: HyperDrive over the subsets, then the full model;
4. prints the best hyperparameters, the full model's test accuracy, the registered model
   version, the wall time, and where to look at it all.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
import warnings
from pathlib import Path

from hyperpipe.core import Model, Workspace
from hyperpipe.core.compute import AmlCompute, ComputeTarget, LocalCompute
from hyperpipe.examples.newsgroups.prepare import prepare

sys.path.insert(0, str(Path(__file__).resolve().parent / "code" / "pipelines"))
from pipeline_retrain import SPACES, build_pipeline


def machine_gpus() -> list[int]:
    """The GPUs ``nvidia-smi`` lists (asked outside this process: CUDA is never started here)."""
    if shutil.which("nvidia-smi") is None:
        return []
    try:
        listed = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return []
    return [i for i, line in enumerate(listed.stdout.splitlines()) if line.startswith("GPU ")]


def parse_gpus(text: str) -> list[int]:
    if text == "auto":
        return machine_gpus()
    try:
        return [int(g) for g in text.split(",") if g.strip()]
    except ValueError:
        raise SystemExit(f"--gpus: expected auto, none or indices like 0,1; got {text!r}") from None


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--workspace", default="demo-workspace", help="workspace folder")
    parser.add_argument("--source", default=None, help="20news-bydate archive or folder")
    parser.add_argument("--space", choices=sorted(SPACES), default="recommended")
    parser.add_argument("--max-total-runs", type=int, default=80)
    parser.add_argument(
        "--max-concurrent-runs",
        type=int,
        default=None,
        help="trials at once (default: GPUs x --trials-per-gpu, else 2)",
    )
    parser.add_argument(
        "--gpus",
        default="auto",
        help="GPUs for the lab's targets: auto (those nvidia-smi lists), none (train on the CPU), "
        "or indices like 0,1",
    )
    parser.add_argument("--trials-per-gpu", type=int, default=8, help="trials sharing each GPU")
    args = parser.parse_args()
    started = time.perf_counter()
    gpus = [] if args.gpus == "none" else parse_gpus(args.gpus)
    concurrent = args.max_concurrent_runs or (len(gpus) * args.trials_per_gpu if gpus else 2)

    root = Path(args.workspace).resolve()
    root.mkdir(parents=True, exist_ok=True)
    workspace = Workspace.create("newsgroups", path=root, exist_ok=True)
    if gpus:
        print(f"GPUs {gpus}: {args.trials_per_gpu} trials on each at once", flush=True)
        targets = {
            "hypercomputegpu": LocalCompute.provisioning_configuration(
                concurrent, gpus, "STANDARD_NC6", trials_per_gpu=args.trials_per_gpu
            ),
            "fullcomputegpu": LocalCompute.provisioning_configuration(1, gpus[:1], "STANDARD_NC6"),
        }
    else:
        targets = {
            name: AmlCompute.provisioning_configuration(vm_size="STANDARD_NC6", max_nodes=nodes)
            for name, nodes in (("hypercomputegpu", concurrent), ("fullcomputegpu", 1))
        }
    for name, config in targets.items():
        ComputeTarget.create(workspace, name, config).wait_for_completion(show_output=True)

    print("Preparing the 20 Newsgroups datasets", flush=True)
    for item in prepare(workspace, args.source, progress=lambda m: print(f"  {m}", flush=True)):
        print(f"  {item.name:<26} version {item.version}  {item.documents:>6,} documents")

    print(
        f"\nSubmitting the retraining pipeline ({args.space} space, {args.max_total_runs} trials)"
    )
    from hyperpipe.core import Experiment

    if not gpus:
        print("No GPU in use: the lab trains on the CPU", flush=True)
    with warnings.catch_warnings():
        # The lab is SDK v1 code as written (a PyTorch 1.4 estimator with pip packages, use_gpu):
        # what hyperpipe says about that is for people porting their own code, not the demo's.
        warnings.simplefilter("ignore", FutureWarning)
        for message in (r"PyTorch \S+ is recorded", r".*packages .* are recorded, not installed"):
            warnings.filterwarnings("ignore", message=message, category=UserWarning)
        warnings.filterwarnings("ignore", message="use_gpu=True but compute target")
        pipeline = build_pipeline(workspace, SPACES[args.space], args.max_total_runs, concurrent)
        run = Experiment(workspace, "re-train").submit(pipeline)
    status = run.wait_for_completion(show_output=True)

    full = run.find_step_run("fullmodel")[0]
    metrics = full.get_metrics()
    best = {k: metrics.get(k) for k in ("learning_rate", "num_epochs", "batch_size", "hidden_size")}
    # The version this run registered: its full-model step's, or the one it reused.
    made_by = full.reuse_decision.get("reused_run_id") or full.id
    registered = Model.list(workspace, name="newsgroups-classifier", run_id=made_by)
    model = registered[0] if registered else Model(workspace, "newsgroups-classifier")
    elapsed = time.perf_counter() - started
    print(f"\nPipeline run {run.id}: {status}")
    print(f"  best hyperparameters   {best}")
    print(f"  full model accuracy    {metrics.get('accuracy'):.4f} on the by-date test split")
    print(f"  registered model       {model.name} version {model.version}")
    print(f"  wall time              {elapsed:.1f} s")
    # `hyperpipe` is in the virtualenv's bin folder: named so, the commands work without
    # activating it.
    cli = shutil.which("hyperpipe") or os.path.relpath(Path(sys.executable).parent / "hyperpipe")
    where = os.path.relpath(root)
    print("\nLook at it in the portal (the lab's last step):")
    print(f"  {cli} -w {where} portal   # then open http://127.0.0.1:8765/runs/{run.id}")
    print("or from the shell:")
    print(f"  {cli} -w {where} pipelines show {run.id}")
    print(f"  {cli} -w {where} pipelines why {full.id}")
    print(f"  {cli} -w {where} runs list --children")
    print(f"  {cli} -w {where} models list")


if __name__ == "__main__":
    main()
