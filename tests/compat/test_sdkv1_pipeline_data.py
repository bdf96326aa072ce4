"""Data chosen at submit time, written as SDK v1 code and run through the ``azureml`` alias:
DataPath pipeline parameters and dataset pipeline parameters, overridden at submit."""

from __future__ import annotations

READER = """
import argparse, json, os
from azureml.core import Run

parser = argparse.ArgumentParser()
parser.add_argument("--data")
parser.add_argument("--tag")
args = parser.parse_args()
files = sorted(
    os.path.relpath(os.path.join(d, f), args.data) for d, _, fs in os.walk(args.data) for f in fs
)
print("FACTS " + json.dumps({
    "tag": args.tag,
    "is_dir": os.path.isdir(args.data),
    "env_matches": os.environ["AZUREML_DATAREFERENCE_input_datapath"] == args.data,
    "files": files,
    "text": open(os.path.join(args.data, files[0])).read(),
}))
"""


def test_a_datapath_parameter_overridden_at_submit_reaches_the_step_mounted(sdkv1, write):
    write("steps/read/read.py", READER)
    ran = sdkv1(
        """
        import json
        from azureml.core import Experiment, Workspace
        from azureml.core.compute import AmlCompute, ComputeTarget
        from azureml.data.datapath import DataPath, DataPathComputeBinding
        from azureml.pipeline.core import Pipeline, PipelineParameter
        from azureml.pipeline.steps import PythonScriptStep

        ws = Workspace.create("datapath", path="ws")
        target = ComputeTarget.create(ws, "cpu", AmlCompute.provisioning_configuration(max_nodes=2))
        store = ws.get_default_datastore()
        for folder, text in (("sample_datapath1", "one"), ("sample_datapath2", "two")):
            root = store._local_path(folder)
            (root / "part").mkdir(parents=True)
            (root / "part" / "data.txt").write_text(text)

        data_path = DataPath(datastore=store, path_on_datastore="sample_datapath1")
        datapath_param = PipelineParameter(name="input_datapath", default_value=data_path)
        datapath_input = (datapath_param, DataPathComputeBinding(mode="mount"))
        string_param = PipelineParameter(name="input_string", default_value="sample_string1")
        step = PythonScriptStep(
            name="train_step",
            script_name="read.py",
            arguments=["--tag", string_param, "--data", datapath_input],
            inputs=[datapath_input],
            compute_target=target,
            source_directory="steps/read",
        )
        pipeline = Pipeline(workspace=ws, steps=[step])
        experiment = Experiment(ws, "showcasing-datapath")

        def facts(run):
            run.wait_for_completion(show_output=False)
            log = run.find_step_run("train_step")[0].get_job_log()
            line = next(l for l in log.splitlines() if l.startswith("FACTS "))
            return json.loads(line[len("FACTS "):])

        default = facts(experiment.submit(pipeline))
        overridden = facts(experiment.submit(
            pipeline,
            pipeline_parameters={
                "input_datapath": DataPath(datastore=store, path_on_datastore="sample_datapath2"),
                "input_string": "sample_string2",
            },
        ))
        try:
            experiment.submit(pipeline, pipeline_parameters={"input_datapath": "sample_datapath2"})
        except Exception as exc:
            refused = str(exc)
        print(json.dumps({"default": default, "overridden": overridden, "refused": refused}))
        """
    )
    result = ran.result
    common = {"is_dir": True, "env_matches": True, "files": ["part/data.txt"]}
    assert result["default"] == {**common, "tag": "sample_string1", "text": "one"}
    assert result["overridden"] == {**common, "tag": "sample_string2", "text": "two"}
    assert result["refused"] == (
        "pipeline parameter 'input_datapath' takes a DataPath (DataPath(datastore, "
        "'path/on/datastore')), got 'sample_datapath2'"
    )


def test_a_dataset_parameter_overridden_at_submit_reaches_the_step(sdkv1, write):
    write(
        "steps/read/read.py",
        """
        import json
        from azureml.core import Run

        run = Run.get_context()
        path = run.input_datasets["file_dataset"]
        table = run.input_datasets["tabular_dataset"].to_pandas_dataframe()
        print("FACTS " + json.dumps({"text": open(path).read().strip(), "rows": len(table)}))
        """,
    )
    ran = sdkv1(
        """
        import json
        from azureml.core import Dataset, Experiment, Workspace
        from azureml.data.dataset_consumption_config import DatasetConsumptionConfig
        from azureml.pipeline.core import Pipeline, PipelineParameter
        from azureml.pipeline.steps import PythonScriptStep

        ws = Workspace.create("dsparam", path="ws")
        store = ws.get_default_datastore()
        root = store._local_path("")
        (root / "titanic.csv").write_text("a,b\\n1,2\\n3,4\\n")
        (root / "iris.csv").write_text("a,b\\n1,2\\n3,4\\n5,6\\n")

        file_dataset = Dataset.File.from_files((store, "titanic.csv"))
        id_before = file_dataset.id
        file_param = PipelineParameter(name="file_ds_param", default_value=file_dataset)
        file_input = DatasetConsumptionConfig("file_dataset", file_param).as_mount()
        tabular_dataset = Dataset.Tabular.from_delimited_files((store, "titanic.csv"))
        tabular_param = PipelineParameter(name="tabular_ds_param", default_value=tabular_dataset)
        tabular_input = DatasetConsumptionConfig("tabular_dataset", tabular_param)
        step = PythonScriptStep(
            name="train_step",
            script_name="read.py",
            arguments=["--param1", file_input, "--param2", tabular_input],
            inputs=[file_input, tabular_input],
            source_directory="steps/read",
        )
        pipeline = Pipeline(workspace=ws, steps=[step])
        experiment = Experiment(ws, "showcasing-dataset")

        def facts(run):
            run.wait_for_completion(show_output=False)
            log = run.find_step_run("train_step")[0].get_job_log()
            line = next(l for l in log.splitlines() if l.startswith("FACTS "))
            return json.loads(line[len("FACTS "):])

        default = facts(experiment.submit(pipeline))
        id_after = file_dataset.id
        iris_file = Dataset.File.from_files((store, "iris.csv"))
        iris_table = Dataset.Tabular.from_delimited_files((store, "iris.csv"))
        overridden = facts(experiment.submit(
            pipeline,
            pipeline_parameters={"file_ds_param": iris_file, "tabular_ds_param": iris_table},
        ))
        try:
            experiment.submit(pipeline, pipeline_parameters={"file_ds_param": iris_table})
        except Exception as exc:
            refused = str(exc)
        print(json.dumps({
            "default": default,
            "overridden": overridden,
            "ids": [id_before, id_after is not None, id_after == file_dataset.id],
            "iris_id_kept": iris_file.id is not None,
            "refused": refused,
        }))
        """
    )
    result = ran.result
    assert result["default"] == {"text": "a,b\n1,2\n3,4", "rows": 2}
    assert result["overridden"] == {"text": "a,b\n1,2\n3,4\n5,6", "rows": 3}
    assert result["ids"] == [None, True, True]
    assert result["iris_id_kept"] is True
    assert result["refused"].startswith("pipeline parameter 'file_ds_param' takes a FileDataset")
