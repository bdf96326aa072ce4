"""The lab's retraining pipeline written for the Azure ML SDK v1, unchanged: azureml imports.

With hyperpipe installed and the real SDK absent, run it with the azureml alias on, from the
workspace folder (``Workspace.from_config`` looks in the current folder and its parents); after
``make demo``, from the repository's root:

    cd demo-workspace && HYPERPIPE_AZUREML_ALIAS=1 ../.venv/bin/python \
        ../examples/newsgroups/code/pipelines/pipeline_retrain_sdkv1.py

It is the same pipeline as ``pipeline_retrain.py`` with the same defaults (its recommended space,
80 trials, as many at once as the sweep's target runs, the ``seed`` parameter), so after
``make demo`` both steps are reused. ``--max-total-runs`` and ``--space`` only exist so tests can
run it small.
"""

import argparse
import os

from azureml.core import Dataset, Datastore, Experiment, Workspace
from azureml.core.authentication import AzureCliAuthentication
from azureml.core.runconfig import MpiConfiguration
from azureml.pipeline.core import Pipeline, PipelineData, PipelineParameter
from azureml.pipeline.steps import HyperDriveStep, PythonScriptStep
from azureml.train.dnn import PyTorch
from azureml.train.hyperdrive import BayesianParameterSampling, HyperDriveConfig, PrimaryMetricGoal
from azureml.train.hyperdrive.parameter_expressions import choice, uniform

parser = argparse.ArgumentParser()
parser.add_argument("--max-total-runs", type=int, default=80)
parser.add_argument("--space", choices=["lab", "recommended"], default="recommended")
args = parser.parse_args()

workspace = Workspace.from_config(auth=AzureCliAuthentication())

# retrieve datastore
datastore_name = "workspaceblobstore"
datastore = Datastore.get(workspace, datastore_name)

# retrieve datasets used for training
subset_dataset_train = Dataset.get_by_name(workspace, name="newsgroups_subset_train")
subset_dataset_test = Dataset.get_by_name(workspace, name="newsgroups_subset_test")
dataset_train = Dataset.get_by_name(workspace, name="newsgroups_train")
dataset_test = Dataset.get_by_name(workspace, name="newsgroups_test")

metrics_output_name = "metrics_output"
metrics_data = PipelineData(
    name="metrics_data", datastore=datastore, pipeline_output_name=metrics_output_name
)

compute_target_hyper = workspace.compute_targets["hypercomputegpu"]
compute_target_fullmodel = workspace.compute_targets["fullcomputegpu"]

modeling = os.path.join(os.path.dirname(os.path.realpath(__file__)), "..", "modeling")
estimator = PyTorch(
    entry_script="train.py",
    source_directory=modeling,
    compute_target=compute_target_hyper,
    distributed_training=MpiConfiguration(),
    framework_version="1.4",
    use_gpu=True,
    pip_packages=["numpy", "torch"],
)

if args.space == "lab":
    param_sampling = BayesianParameterSampling(
        {
            "learning_rate": uniform(0.05, 0.1),
            "num_epochs": choice(5, 10, 15),
            "batch_size": choice(150, 200),
            "hidden_size": choice(50, 100),
        }
    )
else:
    param_sampling = BayesianParameterSampling(
        {
            "learning_rate": uniform(0.0005, 0.004),
            "num_epochs": choice(5, 10, 15),
            "batch_size": choice(64, 128),
            "hidden_size": choice(100, 200, 300),
        }
    )

hypertuning = HyperDriveStep(
    name="hypertrain",
    hyperdrive_config=HyperDriveConfig(
        estimator=estimator,
        hyperparameter_sampling=param_sampling,
        policy=None,
        primary_metric_name="accuracy",
        primary_metric_goal=PrimaryMetricGoal.MAXIMIZE,
        max_total_runs=args.max_total_runs,
        # as many trials at once as the target has nodes (make demo sizes it to this machine)
        max_concurrent_runs=compute_target_hyper.scale_settings.maximum_node_count,
    ),
    estimator_entry_script_arguments=[],
    inputs=[
        subset_dataset_train.as_named_input("subset_train"),
        subset_dataset_test.as_named_input("subset_test"),
    ],
    outputs=[],
    metrics_output=metrics_data,
    allow_reuse=True,
)

seed = PipelineParameter(name="seed", default_value=0)  # the full model's random seed
fullmodel = PythonScriptStep(
    name="fullmodel",
    script_name="train.py",
    source_directory=modeling,
    arguments=["--models", "deeplearning", "--full_model", "--seed", seed],
    inputs=[
        metrics_data,
        dataset_train.as_named_input("train"),
        dataset_test.as_named_input("test"),
    ],
    compute_target=compute_target_fullmodel,
    allow_reuse=True,
)

pipeline = Pipeline(workspace=workspace, steps=[hypertuning, fullmodel])

# Define the experiment
experiment = Experiment(workspace, "re-train")

# Run the experiment
pipeline_run = experiment.submit(pipeline)
pipeline_run.wait_for_completion()
print("pipeline run", pipeline_run.id, pipeline_run.get_status())
