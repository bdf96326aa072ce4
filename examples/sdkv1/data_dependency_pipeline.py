"""Data dependencies between steps, as SDK v1's "pipelines with data dependency steps" sample.

A DataReference to a CSV in the datastore feeds step 1; PipelineData carries its output to step 2
and on to step 3, which also reads the raw file through a DataPath pipeline parameter. After the
run, every step's outputs are listed and step 1's output is downloaded.

SDK v1 code: run it unchanged with the azureml alias, from a folder holding a workspace::

    hyperpipe init .
    HYPERPIPE_AZUREML_ALIAS=1 python examples/sdkv1/data_dependency_pipeline.py
"""

import os

import azureml.core
from azureml.core import Datastore, Experiment, Workspace
from azureml.core.compute import AmlCompute, ComputeTarget
from azureml.core.compute_target import ComputeTargetException
from azureml.data.data_reference import DataReference
from azureml.data.datapath import DataPath, DataPathComputeBinding
from azureml.pipeline.core import Pipeline, PipelineData, PipelineParameter
from azureml.pipeline.steps import PythonScriptStep

HERE = os.path.dirname(os.path.abspath(__file__))

print("SDK version:", azureml.core.VERSION)

ws = Workspace.from_config()
print(ws.name, ws.resource_group, ws.location, ws.subscription_id, sep="\n")

def_blob_store = Datastore(ws, "workspaceblobstore")
def_blob_store.upload_files(
    files=[os.path.join(HERE, "data", "titanic.csv")],
    target_path="titanic",
    overwrite=True,
    show_progress=False,
)

aml_compute_target = "cpu-cluster"
try:
    aml_compute = AmlCompute(ws, aml_compute_target)
    print("found existing compute target.")
except ComputeTargetException:
    print("creating new compute target")
    provisioning_config = AmlCompute.provisioning_configuration(
        vm_size="STANDARD_D2_V2", min_nodes=1, max_nodes=4
    )
    aml_compute = ComputeTarget.create(ws, aml_compute_target, provisioning_config)
    aml_compute.wait_for_completion(show_output=True, min_node_count=None, timeout_in_minutes=20)
print(aml_compute.get_status().serialize())

blob_input_data = DataReference(
    datastore=def_blob_store,
    data_reference_name="test_data",
    path_on_datastore="titanic/titanic.csv",
)
processed_data1 = PipelineData("processed_data1", datastore=def_blob_store, is_directory=True)
trainStep = PythonScriptStep(
    script_name="train.py",
    arguments=["--input_data", blob_input_data, "--output_train", processed_data1],
    inputs=[blob_input_data],
    outputs=[processed_data1],
    compute_target=aml_compute,
    source_directory=os.path.join(HERE, "data_dependency_train"),
)

processed_data2 = PipelineData("processed_data2", datastore=def_blob_store, is_directory=True)
extractStep = PythonScriptStep(
    script_name="extract.py",
    arguments=["--input_extract", processed_data1, "--output_extract", processed_data2],
    inputs=[processed_data1],
    outputs=[processed_data2],
    compute_target=aml_compute,
    source_directory=os.path.join(HERE, "data_dependency_extract"),
)

datapath = DataPath(datastore=def_blob_store, path_on_datastore="titanic/titanic.csv")
datapath_param = PipelineParameter(name="compare_data", default_value=datapath)
data_parameter1 = (datapath_param, DataPathComputeBinding(mode="mount"))
processed_data3 = PipelineData("processed_data3", datastore=def_blob_store, is_directory=True)
compareStep = PythonScriptStep(
    script_name="compare.py",
    arguments=[
        "--compare_data1",
        data_parameter1,
        "--compare_data2",
        processed_data2,
        "--output_compare",
        processed_data3,
    ],
    inputs=[data_parameter1, processed_data2],
    outputs=[processed_data3],
    compute_target=aml_compute,
    source_directory=os.path.join(HERE, "data_dependency_compare"),
)

# Only the last step is given: the steps producing its inputs are pulled in.
pipeline1 = Pipeline(workspace=ws, steps=[compareStep])
pipeline_run1 = Experiment(ws, "Data_dependency_sample").submit(pipeline1)
print("Pipeline is submitted for execution")
pipeline_run1.wait_for_completion(show_output=True)

for step in pipeline_run1.get_steps():
    print("Outputs of step " + step.name)
    output_dict = step.get_outputs()
    for name, output in output_dict.items():
        output_reference = output.get_port_data_reference()
        print("\tname: " + name)
        print("\tdatastore: " + output_reference.datastore_name)
        print("\tpath on datastore: " + output_reference.path_on_datastore)

train_step = pipeline_run1.find_step_run("train.py")
if train_step:
    train_step_obj = train_step[0]
    train_step_obj.get_output_data("processed_data1").download("./outputs", overwrite=True)
    print("downloaded processed_data1 to ./outputs")
