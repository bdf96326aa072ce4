"""The quick-start demo: create a workspace, submit a real training script, show where to look."""

from __future__ import annotations

import argparse
from pathlib import Path

from hyperpipe.core import Experiment, ScriptRunConfig, Workspace


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workspace", default="demo-workspace", help="workspace folder")
    args = parser.parse_args()

    root = Path(args.workspace).resolve()
    root.mkdir(parents=True, exist_ok=True)
    ws = Workspace.create("demo", path=root, exist_ok=True)
    experiment = Experiment(ws, "quickstart")
    config = ScriptRunConfig(
        source_directory=Path(__file__).parent,
        script="train.py",
        arguments=["--learning_rate", 0.5, "--num_epochs", 30],
    )
    run = experiment.submit(config)
    print(f"Submitted run {run.id}; its output follows.\n")
    run.wait_for_completion(show_output=True)
    run.register_model(
        "quickstart-logreg", "outputs/model.json", tags={"accuracy": run.get_metrics()["accuracy"]}
    )
    metrics = run.get_metrics()
    print(f"accuracy {metrics['accuracy']:.3f}; final loss {metrics['loss'][-1]:.4f}")
    print("\nLook at it:")
    print(f"  hyperpipe -w {root} runs list")
    print(f"  hyperpipe -w {root} runs show {run.id}")
    print(f"  hyperpipe -w {root} runs logs {run.id}")
    print(f"  hyperpipe -w {root} models list")


if __name__ == "__main__":
    main()
