"""A HyperDriveStep's training outputs feeding a model-registration step, written as SDK v1
code (the shape of SDK v1's "pipeline with HyperDriveStep" sample) and run through the alias."""

from __future__ import annotations

TRAIN = """
import argparse, os
from azureml.core import Run

parser = argparse.ArgumentParser()
parser.add_argument("--quality", type=float)
args = parser.parse_args()
os.makedirs("outputs/model", exist_ok=True)
with open("outputs/model/model.txt", "w") as f:
    f.write(f"quality={args.quality}")
with open("outputs/model/vocab.txt", "w") as f:
    f.write("a b c")
run = Run.get_context()
run.log("accuracy", args.quality)
run.log("quality", args.quality)
"""

REGISTER = """
import argparse, os
from shutil import copy2
from azureml.core import Model, Run

parser = argparse.ArgumentParser()
parser.add_argument("--saved-model", type=str, dest="saved_model")
args = parser.parse_args()
model_output_dir = "./model/"
os.makedirs(model_output_dir, exist_ok=True)
copy2(args.saved_model, model_output_dir)
ws = Run.get_context().experiment.workspace
model = Model.register(workspace=ws, model_name="tuned-model", model_path=model_output_dir)
print("registered", model.name, model.version)
"""


def test_the_best_trials_model_reaches_a_registering_step(sdkv1, write):
    write("tune/train.py", TRAIN)
    write("register/register_model.py", REGISTER)
    ran = sdkv1(
        """
        import json, os
        from azureml.core import Experiment, Model, ScriptRunConfig, Workspace
        from azureml.core.compute import AmlCompute, ComputeTarget
        from azureml.pipeline.core import Pipeline, PipelineData, TrainingOutput
        from azureml.pipeline.steps import HyperDriveStep, HyperDriveStepRun, PythonScriptStep
        from azureml.train.hyperdrive import GridParameterSampling, HyperDriveConfig
        from azureml.train.hyperdrive import PrimaryMetricGoal, choice

        ws = Workspace.create("tuned", path="ws")
        datastore = ws.get_default_datastore()
        cluster = ComputeTarget.create(ws, "amlcomp", AmlCompute.provisioning_configuration(max_nodes=2))
        src = ScriptRunConfig(source_directory="tune", script="train.py", compute_target=cluster)
        hd_config = HyperDriveConfig(
            run_config=src,
            hyperparameter_sampling=GridParameterSampling({"--quality": choice(0.2, 0.9, 0.5)}),
            primary_metric_name="accuracy",
            primary_metric_goal=PrimaryMetricGoal.MAXIMIZE,
            max_total_runs=3,
            max_concurrent_runs=2,
        )
        metrics_data = PipelineData(
            name="metrics_data", datastore=datastore, pipeline_output_name="metrics_output",
            training_output=TrainingOutput("Metrics"),
        )
        saved_model = PipelineData(
            name="saved_model", datastore=datastore, pipeline_output_name="model_output",
            training_output=TrainingOutput("Model", model_file="outputs/model/model.txt"),
        )
        model_dir = PipelineData(name="model_dir", training_output=TrainingOutput("Model"))
        hd_step = HyperDriveStep(
            name="hd_step01", hyperdrive_config=hd_config,
            outputs=[metrics_data, saved_model, model_dir],
        )
        register_step = PythonScriptStep(
            script_name="register_model.py", name="register_model_step01",
            inputs=[saved_model], compute_target=cluster, arguments=["--saved-model", saved_model],
            source_directory="register", allow_reuse=True,
        )
        register_step.run_after(hd_step)
        pipeline_run = Experiment(ws, "Hyperdrive_sample").submit(
            Pipeline(workspace=ws, steps=[hd_step, register_step])
        )
        status = pipeline_run.wait_for_completion(show_output=False)

        metrics_output = pipeline_run.get_pipeline_output("metrics_output")
        downloaded = metrics_output.download(".", show_progress=True)
        with open(metrics_output._path_on_datastore) as f:
            metrics = json.load(f)
        hd_run = HyperDriveStepRun(step_run=pipeline_run.find_step_run("hd_step01")[0])
        best = hd_run.get_best_run_by_primary_metric()
        model = Model(ws, "tuned-model")
        model.download(target_dir="registered", exist_ok=True)
        folder = hd_run.get_output("model_dir").get_port_data_reference()
        folder_files = folder.download("dl")
        root = os.path.join("dl", folder.path_on_datastore)
        print(json.dumps({
            "status": status,
            "downloaded": downloaded,
            "trials": sorted(m["quality"][0] for m in metrics.values()),
            "best": [best.get_metrics()["accuracy"], best.id in metrics],
            "registered": sorted(
                os.path.relpath(os.path.join(d, f), "registered")
                for d, _, fs in os.walk("registered") for f in fs
            ),
            "model": open(os.path.join("registered", "model", "saved_model")).read(),
            "folder": [folder_files, sorted(
                os.path.relpath(os.path.join(d, f), root) for d, _, fs in os.walk(root) for f in fs
            )],
            "port": [folder.datastore_name, folder.path_on_datastore.startswith("azureml/")],
        }))
        """
    )
    result = ran.result
    assert result["status"] == "Finished"
    assert result["downloaded"] == 1
    assert result["trials"] == [0.2, 0.5, 0.9]
    assert result["best"] == [0.9, True]
    # SDK v1's register_model.py copies the file it was given, the best trial's model file,
    # which the output holds under the output's name
    assert result["registered"] == ["model/saved_model"]
    assert result["model"] == "quality=0.9"
    assert result["folder"] == [2, ["model/model.txt", "model/vocab.txt"]]
    assert result["port"] == ["workspaceblobstore", True]
