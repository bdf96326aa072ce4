"""A DataPath pipeline parameter overridden at submit, as SDK v1's "showcasing DataPath and
PipelineParameter" sample: the same pipeline reads one datastore folder by default and another
when submitted with ``pipeline_parameters={"input_datapath": DataPath(...)}``.

SDK v1 code: run it unchanged with the azureml alias, from a folder holding a workspace::

    hyperpipe init .
    HYPERPIPE_AZUREML_ALIAS=1 python examples/sdkv1/datapath_parameter_pipeline.py
"""

import json
import os

import azureml.core
from azureml.core import Experiment, Workspace
from azureml.core.compute import AmlCompute, ComputeTarget
from azureml.data.datapath import DataPath, DataPathComputeBinding
from azureml.pipeline.core import Pipeline, PipelineData, PipelineParameter
from azureml.pipeline.steps import PythonScriptStep

HERE = os.path.dirname(os.path.abspath(__file__))

print("SDK version:", azureml.core.VERSION)
ws = Workspace.from_config()
print(ws.name, ws.resource_group, ws.location, ws.subscription_id, sep="\n")
experiment = Experiment(ws, "showcasing-datapath")

amlcompute_cluster_name = "cpu-cluster"
found = False
cts = ws.compute_targets
if amlcompute_cluster_name in cts and cts[amlcompute_cluster_name].type == "AmlCompute":
    found = True
    print("Found existing compute target.")
    compute_target = cts[amlcompute_cluster_name]
if not found:
    print("Creating a new compute target...")
    provisioning_config = AmlCompute.provisioning_configuration(
        vm_size="STANDARD_D2_V2", max_nodes=4
    )
    compute_target = ComputeTarget.create(ws, amlcompute_cluster_name, provisioning_config)
    compute_target.wait_for_completion(show_output=True, timeout_in_minutes=10)

# Two folders of sample data (made here, in ./sample_data) uploaded to the default datastore.
def_blob_store = ws.get_default_datastore()
print(f"Default datastore's name: {def_blob_store.name}")
samples = os.path.abspath("sample_data")
for index, rows in ((1, 3), (2, 5)):
    folder = os.path.join(samples, f"sample_datapath{index}")
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "part-0.csv"), "w") as out:
        out.write("".join(f"{i},{i * index}\n" for i in range(rows)))
    def_blob_store.upload(
        src_dir=folder,
        target_path=f"sample_datapath{index}",
        overwrite=True,
        show_progress=False,
    )

data_path = DataPath(datastore=def_blob_store, path_on_datastore="sample_datapath1")
datapath1_pipeline_param = PipelineParameter(name="input_datapath", default_value=data_path)
datapath_input = (datapath1_pipeline_param, DataPathComputeBinding(mode="mount"))
string_pipeline_param = PipelineParameter(name="input_string", default_value="sample_string1")
summary = PipelineData("summary", datastore=def_blob_store)

train_step = PythonScriptStep(
    name="train_step",
    script_name="train_with_datapath.py",
    arguments=["--arg1", string_pipeline_param, "--arg2", datapath_input, "--output", summary],
    inputs=[datapath_input],
    outputs=[summary],
    compute_target=compute_target,
    source_directory=os.path.join(HERE, "datapath_read"),
)
print("train_step created")
pipeline = Pipeline(workspace=ws, steps=[train_step])
print("pipeline with the train_step created")

pipeline_run = experiment.submit(pipeline)
print("Pipeline is submitted for execution")
pipeline_run.wait_for_completion()

pipeline_run_with_params = experiment.submit(
    pipeline,
    pipeline_parameters={
        "input_datapath": DataPath(datastore=def_blob_store, path_on_datastore="sample_datapath2"),
        "input_string": "sample_string2",
    },
)
pipeline_run_with_params.wait_for_completion()

for run in (pipeline_run, pipeline_run_with_params):
    step_run = run.find_step_run("train_step")[0]
    port = step_run.get_output("summary").get_port_data_reference()
    port.download("./results", overwrite=True)
    with open(os.path.join("results", port.path_on_datastore, "summary.json")) as f:
        print(run.id, json.load(f))
