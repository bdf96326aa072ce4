"""Step inputs chosen at submit and training outputs: what is refused when a step is built."""

from __future__ import annotations

import pytest

from hyperpipe.data import DataPath, DataPathComputeBinding
from hyperpipe.exceptions import UserErrorException
from hyperpipe.pipeline.core import PipelineData, PipelineParameter, TrainingOutput
from hyperpipe.pipeline.steps import CommandStep, PythonScriptStep


def test_training_outputs_take_sdk_v1_types_only_and_belong_to_hyperdrive_steps(tmp_path):
    assert TrainingOutput("model", model_file="outputs/m.pt").type == "Model"
    with pytest.raises(UserErrorException, match="type must be 'Metrics' or 'Model', got 'Best'"):
        TrainingOutput("Best")
    with pytest.raises(UserErrorException, match=r"TrainingOutput\('Metrics'\) takes no"):
        TrainingOutput("Metrics", model_file="m.pt")
    with pytest.raises(UserErrorException, match="takes iteration or metric, not both"):
        TrainingOutput("Model", iteration=2, metric="auc")
    (tmp_path / "s.py").write_text("")
    model = PipelineData("model", training_output=TrainingOutput("Model"))
    with pytest.raises(UserErrorException, match="which only a HyperDriveStep fills"):
        PythonScriptStep("s.py", source_directory=tmp_path, outputs=[model])


def test_a_datapath_parameter_needs_its_binding_and_a_command_needs_text(ws, tmp_path):
    (tmp_path / "s.py").write_text("")
    param = PipelineParameter("data", DataPath(ws.get_default_datastore(), "raw"))
    with pytest.raises(UserErrorException, match="holds a DataPath; pass"):
        PythonScriptStep("s.py", source_directory=tmp_path, arguments=["--data", param])
    pair = (param, DataPathComputeBinding())
    step = PythonScriptStep("s.py", source_directory=tmp_path, arguments=["--data", pair])
    assert [i.name for i in step._inputs] == ["data"]  # added to the inputs, as a dataset is
    with pytest.raises(UserErrorException, match="default must be a DataPath"):
        PythonScriptStep(
            "s.py",
            source_directory=tmp_path,
            inputs=[(PipelineParameter("n", 3), DataPathComputeBinding())],
        )
    with pytest.raises(UserErrorException, match="CommandStep command must not be empty"):
        CommandStep(command="  ")
    with pytest.raises(UserErrorException, match="is not a folder"):
        CommandStep(command="ls", source_directory=tmp_path / "missing")
