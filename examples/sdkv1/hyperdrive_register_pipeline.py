"""HyperDrive, then register the best model, as SDK v1's "pipeline with HyperDriveStep" sample.

The HyperDriveStep's outputs carry TrainingOutput("Metrics") (SDK v1's metrics JSON) and
TrainingOutput("Model", model_file=...) (the best trial's model file), which a PythonScriptStep
registers. Afterwards the metrics are read back as the sample reads them, and the best trial is
found through HyperDriveStepRun.

SDK v1 code: run it unchanged with the azureml alias, from a folder holding a workspace::

    hyperpipe init .
    HYPERPIPE_AZUREML_ALIAS=1 python examples/sdkv1/hyperdrive_register_pipeline.py
"""

import json
import os

import azureml.core
from azureml.core import Environment, Experiment, Model, ScriptRunConfig, Workspace
from azureml.core.compute import AmlCompute, ComputeTarget
from azureml.core.conda_dependencies import CondaDependencies
from azureml.core.runconfig import RunConfiguration
from azureml.exceptions import ComputeTargetException
from azureml.pipeline.core import Pipeline, PipelineData, TrainingOutput
from azureml.pipeline.steps import HyperDriveStep, HyperDriveStepRun, PythonScriptStep
from azureml.train.hyperdrive import (
    GridParameterSampling,
    HyperDriveConfig,
    PrimaryMetricGoal,
    choice,
)
from azureml.widgets import RunDetails

HERE = os.path.dirname(os.path.abspath(__file__))

print("SDK version:", azureml.core.VERSION)
ws = Workspace.from_config()
print(ws.name, ws.resource_group, ws.location, ws.subscription_id, sep="\n")
exp = Experiment(workspace=ws, name="Hyperdrive_sample")
datastore = ws.get_default_datastore()

cluster_name = "amlcomp"
try:
    compute_target = ComputeTarget(workspace=ws, name=cluster_name)
    print(f"Found existing compute target {cluster_name}.")
except ComputeTargetException:
    print("Creating a new compute target...")
    compute_config = AmlCompute.provisioning_configuration(vm_size="STANDARD_D2_V2", max_nodes=2)
    compute_target = ComputeTarget.create(ws, cluster_name, compute_config)
compute_target.wait_for_completion(show_output=True, timeout_in_minutes=20)

env = Environment.get(ws, name="AzureML-Minimal")
src = ScriptRunConfig(
    source_directory=os.path.join(HERE, "hyperdrive_train"),
    script="train.py",
    compute_target=compute_target,
    environment=env,
)
ps = GridParameterSampling({"--learning-rate": choice(0.01, 0.5), "--epochs": choice(2, 20)})
hd_config = HyperDriveConfig(
    run_config=src,
    hyperparameter_sampling=ps,
    primary_metric_name="validation_loss",
    primary_metric_goal=PrimaryMetricGoal.MINIMIZE,
    max_total_runs=4,
    max_concurrent_runs=2,
)

metrics_output_name = "metrics_output"
metrics_data = PipelineData(
    name="metrics_data",
    datastore=datastore,
    pipeline_output_name=metrics_output_name,
    training_output=TrainingOutput("Metrics"),
)
model_output_name = "model_output"
saved_model = PipelineData(
    name="saved_model",
    datastore=datastore,
    pipeline_output_name=model_output_name,
    training_output=TrainingOutput("Model", model_file="outputs/model/model.json"),
)
hd_step_name = "hd_step01"
hd_step = HyperDriveStep(
    name=hd_step_name, hyperdrive_config=hd_config, outputs=[metrics_data, saved_model]
)

conda_dep = CondaDependencies()
conda_dep.add_pip_package("azureml-sdk")
rcfg = RunConfiguration(conda_dependencies=conda_dep)
register_model_step = PythonScriptStep(
    script_name="register_model.py",
    name="register_model_step01",
    inputs=[saved_model],
    compute_target=compute_target,
    arguments=["--saved-model", saved_model],
    allow_reuse=True,
    runconfig=rcfg,
    source_directory=os.path.join(HERE, "hyperdrive_register"),
)
register_model_step.run_after(hd_step)

pipeline = Pipeline(workspace=ws, steps=[hd_step, register_model_step])
pipeline_run = exp.submit(pipeline)
RunDetails(pipeline_run).show()
pipeline_run.wait_for_completion()

metrics_output = pipeline_run.get_pipeline_output(metrics_output_name)
num_file_downloaded = metrics_output.download(".", show_progress=True, overwrite=True)
with open(metrics_output._path_on_datastore) as f:
    deserialized_metrics_output = json.loads(f.read())
for run_id, metrics in sorted(deserialized_metrics_output.items()):
    print(run_id, metrics)

hd_step_run = HyperDriveStepRun(step_run=pipeline_run.find_step_run(hd_step_name)[0])
best_run = hd_step_run.get_best_run_by_primary_metric()
print("best trial", best_run.id, best_run.get_metrics())
model = Model(ws, "sdkv1-logreg")
path = model.download("best_model", exist_ok=True)
print("registered model", model.name, "version", model.version, "downloaded to", path)
