"""The lab end to end (what ``make demo`` runs): data, the retraining pipeline, the results.

1. creates (or reuses) a workspace and the lab's two compute targets;
2. registers the 20 Newsgroups datasets (from --source, $HYPERPIPE_NEWSGROUPS, or a download);
3. submits the lab's pipeline: HyperDrive over the subsets, then the full model;
4. prints the best hyperparameters, the full model's test accuracy, the registered model
   version, the wall time, and where to look at it all.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from hyperpipe.core import Model, Workspace
from hyperpipe.core.compute import AmlCompute, ComputeTarget
from hyperpipe.examples.newsgroups.prepare import prepare

sys.path.insert(0, str(Path(__file__).resolve().parent / "code" / "pipelines"))
from pipeline_retrain import SPACES, build_pipeline


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--workspace", default="demo-workspace", help="workspace folder")
    parser.add_argument("--source", default=None, help="20news-bydate archive or folder")
    parser.add_argument("--space", choices=sorted(SPACES), default="recommended")
    parser.add_argument("--max-total-runs", type=int, default=80)
    parser.add_argument("--max-concurrent-runs", type=int, default=2)
    args = parser.parse_args()
    started = time.perf_counter()

    root = Path(args.workspace).resolve()
    root.mkdir(parents=True, exist_ok=True)
    workspace = Workspace.create("newsgroups", path=root, exist_ok=True)
    for name, nodes in (("hypercomputegpu", args.max_concurrent_runs), ("fullcomputegpu", 1)):
        config = AmlCompute.provisioning_configuration(vm_size="STANDARD_NC6", max_nodes=nodes)
        ComputeTarget.create(workspace, name, config).wait_for_completion(show_output=True)

    print("Preparing the 20 Newsgroups datasets", flush=True)
    for item in prepare(workspace, args.source, progress=lambda m: print(f"  {m}", flush=True)):
        print(f"  {item.name:<26} version {item.version}  {item.documents:>6,} documents")

    print(
        f"\nSubmitting the retraining pipeline ({args.space} space, {args.max_total_runs} trials)"
    )
    from hyperpipe.core import Experiment

    pipeline = build_pipeline(
        workspace, SPACES[args.space], args.max_total_runs, args.max_concurrent_runs
    )
    run = Experiment(workspace, "re-train").submit(pipeline)
    status = run.wait_for_completion(show_output=True)

    full = run.find_step_run("fullmodel")[0]
    metrics = full.get_metrics()
    best = {k: metrics.get(k) for k in ("learning_rate", "num_epochs", "batch_size", "hidden_size")}
    model = Model(workspace, "newsgroups-classifier")
    elapsed = time.perf_counter() - started
    print(f"\nPipeline run {run.id}: {status}")
    print(f"  best hyperparameters   {best}")
    print(f"  full model accuracy    {metrics.get('accuracy'):.4f} on the by-date test split")
    print(f"  registered model       {model.name} version {model.version}")
    print(f"  wall time              {elapsed:.1f} s")
    print("\nLook at it in the portal (the lab's last step):")
    print(f"  hyperpipe -w {root} portal   # then open http://127.0.0.1:8765/runs/{run.id}")
    print("or from the shell:")
    print(f"  hyperpipe -w {root} pipelines show {run.id}")
    print(f"  hyperpipe -w {root} pipelines why {full.id}")
    print(f"  hyperpipe -w {root} runs list --children")
    print(f"  hyperpipe -w {root} models list")


if __name__ == "__main__":
    main()
