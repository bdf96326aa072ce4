"""The ``azureml`` import alias: SDK v1 imports load hyperpipe's objects, in this process and in
every child, only where the real SDK is absent; unsupported names say so.

The alias mutates ``sys.meta_path`` and ``sys.modules``, so every check runs in a fresh
interpreter started without ``HYPERPIPE_AZUREML_ALIAS`` unless the test sets it.
"""

from __future__ import annotations

import json
import os
import site
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from hyperpipe.compat import ALIAS_ENV

PTH_NAME = "hyperpipe_azureml_alias.pth"
REINSTALL = "the .pth start-up hook is not installed: run `.venv/bin/pip install -e .`"


# a fresh interpreter: no alias, no extra import path, no store or run context from outside
_DROPPED = (ALIAS_ENV, "PYTHONPATH", "HYPERPIPE_STORE_URL", "AZUREML_RUN_ID")


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _DROPPED}
    env.update(extra)
    return env


def _python(
    code: str, *, cwd: Path, check: bool = True, **env: str
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=_env(**env),
        timeout=120,
    )
    if check:
        assert result.returncode == 0, result.stderr
    return result


def _last_json(result: subprocess.CompletedProcess[str]):
    return json.loads(result.stdout.strip().splitlines()[-1])


def _installed_pth() -> Path | None:
    for folder in [*site.getsitepackages(), site.getusersitepackages()]:
        path = Path(folder) / PTH_NAME
        if path.is_file():
            return path
    return None


SDK_V1_SCRIPT = """
import json
from azureml.core import Workspace, Experiment, Datastore, Dataset, ScriptRunConfig, Run
from azureml.core.authentication import AzureCliAuthentication
from azureml.core.runconfig import MpiConfiguration
from azureml.train.dnn import PyTorch
from azureml.train.hyperdrive.parameter_expressions import uniform, choice
from azureml.train.hyperdrive import BayesianParameterSampling, HyperDriveConfig, PrimaryMetricGoal
from azureml.pipeline.steps import HyperDriveStep, PythonScriptStep
from azureml.pipeline.core import Pipeline, PipelineData
from azureml.core.compute import ComputeTarget, AmlCompute
from azureml.data.dataset_consumption_config import DatasetConsumptionConfig
from azureml.data.output_dataset_config import OutputFileDatasetConfig
from azureml.data import FileDataset, OutputFileDatasetConfig as DataOutputFileDatasetConfig
from azureml.pipeline.core.graph import PipelineParameter
from azureml.pipeline.core.run import PipelineRun, StepRun
from azureml.core.run import Run as RunFromRunModule
from azureml.core.model import Model
from azureml.core.compute_target import ComputeTargetException
from azureml.train.estimator import Estimator
from azureml.exceptions import UserErrorException
import azureml.core

import hyperpipe.core
import hyperpipe.core.authentication
import hyperpipe.core.compute
import hyperpipe.core.runconfig
import hyperpipe.data
import hyperpipe.exceptions
import hyperpipe.pipeline.core
import hyperpipe.pipeline.steps
import hyperpipe.train.dnn
import hyperpipe.train.hyperdrive
import hyperpipe.train.hyperdrive.parameter_expressions as pe

pairs = {
    "Workspace": (Workspace, hyperpipe.core.Workspace),
    "Experiment": (Experiment, hyperpipe.core.Experiment),
    "Datastore": (Datastore, hyperpipe.core.Datastore),
    "Dataset": (Dataset, hyperpipe.core.Dataset),
    "ScriptRunConfig": (ScriptRunConfig, hyperpipe.core.ScriptRunConfig),
    "Run": (Run, hyperpipe.core.Run),
    "core.run.Run": (RunFromRunModule, hyperpipe.core.Run),
    "Model": (Model, hyperpipe.core.Model),
    "AzureCliAuthentication": (
        AzureCliAuthentication, hyperpipe.core.authentication.AzureCliAuthentication
    ),
    "MpiConfiguration": (MpiConfiguration, hyperpipe.core.runconfig.MpiConfiguration),
    "PyTorch": (PyTorch, hyperpipe.train.dnn.PyTorch),
    "Estimator": (Estimator, hyperpipe.train.dnn.Estimator),
    "uniform": (uniform, pe.uniform),
    "choice": (choice, pe.choice),
    "BayesianParameterSampling": (
        BayesianParameterSampling, hyperpipe.train.hyperdrive.BayesianParameterSampling
    ),
    "HyperDriveConfig": (HyperDriveConfig, hyperpipe.train.hyperdrive.HyperDriveConfig),
    "PrimaryMetricGoal": (PrimaryMetricGoal, hyperpipe.train.hyperdrive.PrimaryMetricGoal),
    "HyperDriveStep": (HyperDriveStep, hyperpipe.pipeline.steps.HyperDriveStep),
    "PythonScriptStep": (PythonScriptStep, hyperpipe.pipeline.steps.PythonScriptStep),
    "Pipeline": (Pipeline, hyperpipe.pipeline.core.Pipeline),
    "PipelineData": (PipelineData, hyperpipe.pipeline.core.PipelineData),
    "PipelineParameter": (PipelineParameter, hyperpipe.pipeline.core.PipelineParameter),
    "PipelineRun": (PipelineRun, hyperpipe.pipeline.core.PipelineRun),
    "StepRun": (StepRun, hyperpipe.pipeline.core.StepRun),
    "OutputFileDatasetConfig": (
        OutputFileDatasetConfig, hyperpipe.pipeline.core.OutputFileDatasetConfig
    ),
    "data.OutputFileDatasetConfig": (
        DataOutputFileDatasetConfig, hyperpipe.pipeline.core.OutputFileDatasetConfig
    ),
    "FileDataset": (FileDataset, hyperpipe.data.FileDataset),
    "ComputeTarget": (ComputeTarget, hyperpipe.core.compute.ComputeTarget),
    "AmlCompute": (AmlCompute, hyperpipe.core.compute.AmlCompute),
    "ComputeTargetException": (
        ComputeTargetException, hyperpipe.exceptions.ComputeTargetException
    ),
    "DatasetConsumptionConfig": (
        DatasetConsumptionConfig, hyperpipe.data.DatasetConsumptionConfig
    ),
    "UserErrorException": (UserErrorException, hyperpipe.exceptions.UserErrorException),
    "azureml.core.Workspace": (azureml.core.Workspace, hyperpipe.core.Workspace),
}
different = sorted(name for name, (a, b) in pairs.items() if a is not b)
config = MpiConfiguration()
print(json.dumps({
    "different": different,
    "isinstance": isinstance(config, hyperpipe.core.runconfig.MpiConfiguration),
    "space": BayesianParameterSampling({"lr": uniform(1e-5, 1.0), "n": choice(10, 20)}) is not None,
    # the import system sets azureml.core.run etc. on the alias module, not on hyperpipe.core
    "hyperpipe_core_untouched": not {"run", "model", "compute_target"} & set(vars(hyperpipe.core)),
}))
"""


def _check_sdk_v1_script(result: subprocess.CompletedProcess[str]) -> None:
    assert _last_json(result) == {
        "different": [],
        "isinstance": True,
        "space": True,
        "hyperpipe_core_untouched": True,
    }


def test_enable_maps_sdk_v1_imports_onto_hyperpipe_objects(tmp_path):
    script = tmp_path / "train.py"
    script.write_text(SDK_V1_SCRIPT)
    result = _python(
        f"""
        import os, runpy
        from hyperpipe.compat import ALIAS_ENV, azureml_alias_enabled, enable_azureml_alias
        assert not azureml_alias_enabled() and ALIAS_ENV not in os.environ
        assert enable_azureml_alias() is True
        assert enable_azureml_alias() is True  # idempotent
        assert azureml_alias_enabled() and os.environ[ALIAS_ENV] == "1"
        runpy.run_path({str(script)!r}, run_name="__main__")
        """,
        cwd=tmp_path,
    )
    _check_sdk_v1_script(result)


def test_env_var_turns_the_alias_on_for_a_plain_python_script(tmp_path):
    assert _installed_pth() is not None, REINSTALL
    script = tmp_path / "train.py"
    script.write_text(SDK_V1_SCRIPT)
    result = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=_env(**{ALIAS_ENV: "1"}),
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    _check_sdk_v1_script(result)


def test_a_child_of_an_aliased_process_imports_azureml_too(tmp_path):
    assert _installed_pth() is not None, REINSTALL
    result = _python(
        """
        import json, subprocess, sys
        from hyperpipe.compat import enable_azureml_alias
        enable_azureml_alias()
        child = (
            "import azureml.core, hyperpipe.core; "
            "from azureml.pipeline.steps import PythonScriptStep; "
            "import hyperpipe.pipeline.steps as s; "
            "print(azureml.core.Run is hyperpipe.core.Run and PythonScriptStep is s.PythonScriptStep)"
        )
        out = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True)
        print(json.dumps([out.returncode, out.stdout.strip(), out.stderr[-2000:]]))
        """,
        cwd=tmp_path,
    )
    assert _last_json(result) == [0, "True", ""]


def test_the_pth_hook_is_installed_and_costs_nothing_without_the_variable(tmp_path):
    pth = _installed_pth()
    assert pth is not None, REINSTALL
    assert "hyperpipe.compat._startup" in pth.read_text()
    result = _python(
        """
        import json, sys
        at_start = sorted(m for m in sys.modules if m.startswith(("hyperpipe", "azureml")))
        import hyperpipe
        print(json.dumps({
            "at_start": at_start,
            "after": sorted(m for m in sys.modules if m.startswith(("hyperpipe", "azureml"))),
            "finders": [type(f).__name__ for f in sys.meta_path],
        }))
        """,
        cwd=tmp_path,
    )
    state = _last_json(result)
    assert state["at_start"] == []
    assert state["after"] == ["hyperpipe"]
    assert "AliasFinder" not in state["finders"]
    importtime = _python("pass", cwd=tmp_path, PYTHONPROFILEIMPORTTIME="1")
    assert "hyperpipe" not in importtime.stderr


def test_the_variable_installs_only_the_finder_until_azureml_is_imported(tmp_path):
    assert _installed_pth() is not None, REINSTALL
    result = _python(
        """
        import json, sys
        loaded = set(sys.modules)
        finders = [type(f).__name__ for f in sys.meta_path]
        import azureml.core
        print(json.dumps({
            "first_finder": finders[0],
            "heavy_at_start": sorted(
                loaded & {"hyperpipe.core", "sqlalchemy", "fsspec", "psutil", "typer"}
            ),
            "core_after_import": "hyperpipe.core" in sys.modules,
        }))
        """,
        cwd=tmp_path,
        **{ALIAS_ENV: "1"},
    )
    assert _last_json(result) == {
        "first_finder": "AliasFinder",
        "heavy_at_start": [],
        "core_after_import": True,
    }


@pytest.mark.parametrize(
    ("statement", "error", "call"),
    [
        ("import azureml.core.webservice", ModuleNotFoundError, "azureml.core.webservice"),
        (
            "from azureml.core.webservice import AciWebservice",
            ModuleNotFoundError,
            "azureml.core.webservice",
        ),
        (
            "from azureml.core.model import InferenceConfig",
            ImportError,
            "azureml.core.model.InferenceConfig",
        ),
        ("import azureml.core; azureml.core.Webservice", AttributeError, "azureml.core.Webservice"),
        ("from azureml.core import Webservice", ImportError, "azureml.core.Webservice"),
        (
            "from azureml.core.runconfig import DockerConfiguration",
            ImportError,
            "azureml.core.runconfig.DockerConfiguration",
        ),
        ("import azureml.datadrift", ModuleNotFoundError, "azureml.datadrift"),
        ("import azureml.pipeline.wrapper", ModuleNotFoundError, "azureml.pipeline.wrapper"),
    ],
)
def test_unsupported_sdk_v1_names_raise_naming_the_call(tmp_path, statement, error, call):
    result = _python(
        f"""
        import json
        from hyperpipe.compat import enable_azureml_alias
        enable_azureml_alias()
        try:
            exec({statement!r})
        except Exception as exc:
            print(json.dumps([[c.__name__ for c in type(exc).__mro__], str(exc)]))
        """,
        cwd=tmp_path,
    )
    classes, message = _last_json(result)
    assert error.__name__ in classes and "HyperpipeError" in classes
    if error is ImportError:  # Python would hide an AttributeError behind its own message
        assert "AttributeError" not in classes
    assert message.startswith(f"not supported in hyperpipe: {call}; ")
    assert "the alias maps azureml." in message or " holds only " in message
    assert 'see README "Where hyperpipe differs from SDK v1"' in message


def test_lookups_that_expect_absence_still_get_it(tmp_path):
    result = _python(
        """
        import importlib.util, json
        from hyperpipe.compat import enable_azureml_alias
        enable_azureml_alias()
        import azureml.core
        print(json.dumps({
            "hasattr": hasattr(azureml.core, "Webservice"),
            "getattr_default": getattr(azureml.core, "Webservice", None),
            "find_spec": importlib.util.find_spec("azureml.core.webservice"),
            "private": hasattr(azureml.core, "_run"),
            "dir_has_names": {"Workspace", "compute", "run"} <= set(dir(azureml.core)),
        }))
        """,
        cwd=tmp_path,
    )
    assert _last_json(result) == {
        "hasattr": False,
        "getattr_default": None,
        "find_spec": None,
        "private": False,
        "dir_has_names": True,
    }


def test_azureml_data_loads_the_pipeline_package_only_for_output_file_dataset_config(tmp_path):
    result = _python(
        """
        import json, sys
        from hyperpipe.compat import enable_azureml_alias
        enable_azureml_alias()
        from azureml.data import DataReference, FileDataset
        before = "hyperpipe.pipeline.core" in sys.modules
        from azureml.data import OutputFileDatasetConfig
        import hyperpipe.data, hyperpipe.pipeline.core
        print(json.dumps([
            before,
            OutputFileDatasetConfig is hyperpipe.pipeline.core.OutputFileDatasetConfig,
            DataReference is hyperpipe.data.DataReference,
        ]))
        """,
        cwd=tmp_path,
    )
    assert _last_json(result) == [False, True, True]


def _fake_sdk(root: Path, *, namespace: bool) -> Path:
    core = root / "azureml" / "core"
    core.mkdir(parents=True)
    if not namespace:
        (root / "azureml" / "__init__.py").write_text("")
    (core / "__init__.py").write_text("REAL_SDK = True\n")
    return root


@pytest.mark.parametrize("namespace", [True, False], ids=["namespace", "package"])
def test_the_alias_steps_aside_for_the_real_sdk(tmp_path, namespace):
    sdk = _fake_sdk(tmp_path / "sdk", namespace=namespace)
    explicit = _python(
        """
        import json, os, sys
        from hyperpipe.compat import ALIAS_ENV, azureml_alias_enabled, enable_azureml_alias
        enabled = enable_azureml_alias()
        import azureml.core
        print(json.dumps({
            "enabled": enabled,
            "active": azureml_alias_enabled(),
            "env": ALIAS_ENV in os.environ,
            "real": getattr(azureml.core, "REAL_SDK", False),
            "finders": [type(f).__name__ for f in sys.meta_path],
        }))
        """,
        cwd=tmp_path,
        PYTHONPATH=str(sdk),
    )
    state = _last_json(explicit)
    assert state["finders"].count("AliasFinder") == 0
    assert state == {**state, "enabled": False, "active": False, "env": False, "real": True}

    # inherited variable: the start-up hook finds the real SDK at the first azureml import
    assert _installed_pth() is not None, REINSTALL
    inherited = _python(
        """
        import json, sys
        import azureml.core
        print(json.dumps({
            "real": getattr(azureml.core, "REAL_SDK", False),
            "finders": [type(f).__name__ for f in sys.meta_path],
        }))
        """,
        cwd=tmp_path,
        PYTHONPATH=str(sdk),
        **{ALIAS_ENV: "1"},
    )
    state = _last_json(inherited)
    assert state["real"] is True and "AliasFinder" not in state["finders"]


def test_other_azureml_distributions_stay_importable_under_the_alias(tmp_path):
    other = tmp_path / "other" / "azureml" / "dataprep"
    other.mkdir(parents=True)
    (other / "__init__.py").write_text("OTHER = True\n")
    result = _python(
        """
        import json
        from hyperpipe.compat import enable_azureml_alias
        enabled = enable_azureml_alias()
        import azureml.core, azureml.dataprep, hyperpipe.core
        print(json.dumps([enabled, azureml.dataprep.OTHER, azureml.core.Run is hyperpipe.core.Run]))
        """,
        cwd=tmp_path,
        PYTHONPATH=str(tmp_path / "other"),
    )
    assert _last_json(result) == [True, True, True]


def test_disable_removes_the_hook_the_modules_and_the_variable(tmp_path):
    result = _python(
        """
        import json, os, sys
        from hyperpipe.compat import ALIAS_ENV, disable_azureml_alias, enable_azureml_alias
        enable_azureml_alias()
        from azureml.core import Run
        disable_azureml_alias()
        try:
            import azureml.core
            error = None
        except ModuleNotFoundError as exc:
            error = type(exc).__name__
        print(json.dumps({
            "error": error,
            "env": ALIAS_ENV in os.environ,
            "modules": sorted(m for m in sys.modules if m.startswith("azureml")),
            "run_still_works": Run.__module__,
        }))
        """,
        cwd=tmp_path,
    )
    assert _last_json(result) == {
        "error": "ModuleNotFoundError",
        "env": False,
        "modules": [],
        "run_still_works": "hyperpipe.core._run",
    }


def test_a_submitted_sdk_v1_script_runs_under_the_alias(tmp_path):
    """The submitting process enables the alias; the run's script (started by the monitor and
    launcher processes) imports ``azureml.core`` and logs through hyperpipe's run context."""
    assert _installed_pth() is not None, REINSTALL
    source = tmp_path / "code"
    source.mkdir()
    (source / "train.py").write_text(
        textwrap.dedent(
            """
            from azureml.core import Run
            from azureml.core.run import Run as SameRun

            run = Run.get_context()
            assert Run is SameRun
            run.log("accuracy", 0.5)
            print("aliased run", type(run).__module__)
            """
        )
    )
    result = _python(
        f"""
        import json
        from hyperpipe.compat import enable_azureml_alias
        enable_azureml_alias()
        from azureml.core import Experiment, ScriptRunConfig, Workspace
        ws = Workspace.create("aliasws", path={str(tmp_path / "ws")!r})
        run = Experiment(ws, "alias").submit(
            ScriptRunConfig(source_directory={str(source)!r}, script="train.py")
        )
        details = run.wait_for_completion(raise_on_error=False)
        print(json.dumps([details["status"], run.get_metrics()]))
        """,
        cwd=tmp_path,
    )
    assert _last_json(result) == ["Completed", {"accuracy": 0.5}]


def test_an_sdk_v1_pipeline_with_a_sweep_runs_under_the_alias(tmp_path):
    """Pipeline steps and HyperDrive trials (forks of the trial server) import ``azureml``."""
    assert _installed_pth() is not None, REINSTALL
    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "train.py").write_text(
        textwrap.dedent(
            """
            import argparse
            from azureml.core import Run

            parser = argparse.ArgumentParser()
            parser.add_argument("--quality", type=float)
            parser.add_argument("--data")
            Run.get_context().log("accuracy", parser.parse_args().quality)
            """
        )
    )
    (tmp_path / "reader").mkdir()
    (tmp_path / "reader" / "read.py").write_text(
        textwrap.dedent(
            """
            import json, os
            from azureml.core.run import Run

            with open(os.environ["AZUREML_DATAREFERENCE_metrics_data"]) as f:
                metrics = json.load(f)
            Run.get_context().log("best", max(m["accuracy"][0] for m in metrics.values()))
            """
        )
    )
    result = _python(
        """
        import json
        from hyperpipe.compat import enable_azureml_alias
        enable_azureml_alias()
        from azureml.core import Experiment, ScriptRunConfig, Workspace
        from azureml.core.compute import AmlCompute, ComputeTarget
        from azureml.pipeline.core import Pipeline, PipelineData
        from azureml.pipeline.steps import HyperDriveStep, PythonScriptStep
        from azureml.train.hyperdrive import (
            GridParameterSampling, HyperDriveConfig, PrimaryMetricGoal,
        )
        from azureml.train.hyperdrive.parameter_expressions import choice

        ws = Workspace.create("aliasws", path="ws")
        ComputeTarget.create(ws, "cpu", AmlCompute.provisioning_configuration(max_nodes=2))
        metrics = PipelineData("metrics_data")
        sweep = HyperDriveConfig(
            run_config=ScriptRunConfig("code", "train.py", compute_target="cpu"),
            hyperparameter_sampling=GridParameterSampling({"quality": choice(0.3, 0.6)}),
            primary_metric_name="accuracy",
            primary_metric_goal=PrimaryMetricGoal.MAXIMIZE,
            max_total_runs=2,
            max_concurrent_runs=2,
        )
        steps = [
            HyperDriveStep(
                "sweep", sweep, estimator_entry_script_arguments=[], metrics_output=metrics
            ),
            PythonScriptStep(
                "read.py", name="read", source_directory="reader", inputs=[metrics],
                compute_target="cpu",
            ),
        ]
        run = Experiment(ws, "alias").submit(Pipeline(ws, steps))
        status = run.wait_for_completion(show_output=False, raise_on_error=False)
        print(json.dumps([status, run.find_step_run("read")[0].get_metrics()]))
        """,
        cwd=tmp_path,
    )
    assert _last_json(result) == ["Finished", {"best": 0.6}]
