"""Run configurations and environments written as SDK v1 code, run through the ``azureml``
alias: RunConfiguration files, CondaDependencies, the environment registry, curated names, and
Docker/conda settings recorded (not applied) with a warning said once."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def test_a_run_configuration_saved_then_loaded_is_the_same(sdkv1, write):
    # A .runconfig as SDK v1 wrote it: the conda specification in a file of its own.
    write(
        "project/.azureml/fullmodel.runconfig",
        """
        script: train.py
        arguments: [--epochs, '3']
        target: cpu-cluster
        framework: Python
        communicator: None
        nodeCount: 1
        environment:
          name: fullmodel-env
          python:
            userManagedDependencies: false
            interpreterPath: python
            condaDependenciesFile: .azureml/conda_dependencies.yml
          environmentVariables:
            EXAMPLE_ENV_VAR: EXAMPLE_VALUE
          docker:
            enabled: true
            baseImage: mcr.microsoft.com/azureml/base:latest
        history:
          outputCollection: true
        """,
    )
    write(
        "project/.azureml/conda_dependencies.yml",
        """
        name: project_environment
        dependencies:
        - python=3.6.2
        - pip:
          - azureml-defaults
          - torch==1.4
        channels:
        - conda-forge
        """,
    )
    ran = sdkv1(
        """
        import json
        from azureml.core.compute import ComputeTarget
        from azureml.core.conda_dependencies import CondaDependencies
        from azureml.core.runconfig import RunConfiguration

        deps = CondaDependencies.create(
            conda_packages=["scikit-learn"], pip_packages=["numpy"], pin_sdk_version=False
        )
        deps.add_pip_package("pandas==2.1")
        deps.add_conda_package("scipy")
        deps.add_channel("pytorch")
        config = RunConfiguration(conda_dependencies=deps, script="score.py")
        config.arguments = ["--alpha", "0.5"]
        config.target = "gpu-cluster"
        config.node_count = 2
        config.environment.docker.enabled = True
        config.environment.docker.base_image = "mcr.microsoft.com/azureml/base:latest"
        config.environment.environment_variables = {"MODE": "full"}
        config.save(path="project", name="scoring")

        def describe(c):
            deps = c.environment.python.conda_dependencies
            return {
                "script": c.script, "arguments": c.arguments, "target": c.target,
                "node_count": c.node_count, "env": c.environment.environment_variables,
                "docker": [c.environment.docker.enabled, c.environment.docker.base_image],
                "conda": deps.conda_packages[1:], "pip": deps.pip_packages,
                "channels": deps.conda_channels,
                "same_deps": deps == config.environment.python.conda_dependencies,
            }

        loaded = RunConfiguration.load(path="project", name="scoring")
        from_file = RunConfiguration.load("project/.azureml/scoring.runconfig")
        sdk_written = RunConfiguration.load(path="project", name="fullmodel")
        sdk_deps = sdk_written.environment.python.conda_dependencies
        try:
            RunConfiguration.load(path="project", name="missing")
        except Exception as exc:
            missing = str(exc)
        print(json.dumps({
            "saved": describe(config),
            "loaded": describe(loaded),
            "from_file": describe(from_file) == describe(loaded),
            "sdk_written": [
                sdk_written.script, sdk_written.arguments, sdk_written.target,
                sdk_written.environment.name, sdk_deps.pip_packages, sdk_deps.get_python_version(),
                sdk_written.environment.docker.base_image,
            ],
            "missing": missing,
        }))
        """
    )
    result = ran.result
    assert result["saved"] == {
        "script": "score.py",
        "arguments": ["--alpha", "0.5"],
        "target": "gpu-cluster",
        "node_count": 2,
        "env": {"MODE": "full"},
        "docker": [True, "mcr.microsoft.com/azureml/base:latest"],
        "conda": ["scikit-learn", "scipy"],
        "pip": ["numpy", "pandas==2.1"],
        "channels": ["anaconda", "conda-forge", "pytorch"],
        "same_deps": True,
    }
    assert result["loaded"] == result["saved"]
    assert result["from_file"] is True
    assert result["sdk_written"] == [
        "train.py",
        ["--epochs", "3"],
        "cpu-cluster",
        "fullmodel-env",
        ["azureml-defaults", "torch==1.4"],
        "3.6.2",
        "mcr.microsoft.com/azureml/base:latest",
    ]
    assert result["missing"].startswith(
        "Failed to load RunConfiguration from path='project' name='missing'"
    )


def test_environments_register_list_get_and_curated_names_run_locally(sdkv1, write, tmp_path):
    write("env/environment.yml", "name: train\ndependencies:\n- python=3.8\n- pip:\n  - numpy\n")
    write("env/requirements.txt", "# pinned\npandas==2.1\nscikit-learn\n")
    write(
        "code/train.py",
        """
        import os, sys
        from azureml.core import Run
        Run.get_context().log("python", sys.executable)
        """,
    )
    ran = sdkv1(
        """
        import json, sys
        from azureml.core import Environment, Experiment, ScriptRunConfig, Workspace

        ws = Workspace.create("envs", path="ws")
        conda_env = Environment.from_conda_specification("train-env", "env/environment.yml")
        first = conda_env.register(ws)
        again = conda_env.register(ws)
        conda_env.python.conda_dependencies.add_pip_package("torch")
        second = conda_env.register(ws)
        pip_env = Environment.from_pip_requirements("score-env", "env/requirements.txt")
        pip_env.register(ws)
        older = Environment.get(ws, "train-env", version="1")
        curated = Environment.get(ws, name="AzureML-Tutorial")
        run = Experiment(ws, "envs").submit(
            ScriptRunConfig("code", "train.py", environment=curated)
        )
        details = run.wait_for_completion()
        try:
            Environment.get(ws, "nope")
        except Exception as exc:
            missing = str(exc)
        print(json.dumps({
            "versions": [first.version, again.version, second.version],
            "listed": sorted((n, e.version) for n, e in Environment.list(ws).items()),
            "workspace": sorted(ws.environments),
            "older_pip": older.python.conda_dependencies.pip_packages,
            "latest_pip": Environment.get(ws, "train-env").python.conda_dependencies.pip_packages,
            "score_pip": pip_env.python.conda_dependencies.pip_packages,
            "ran_here": run.get_metrics()["python"] == sys.executable,
            "curated": [details["runDefinition"]["environment"]["name"], details["warnings"]],
            "run_id": run.id,
            "missing": missing,
        }))
        """
    )
    result = ran.result
    assert result["versions"] == ["1", "1", "2"]
    assert result["listed"] == [["score-env", "1"], ["train-env", "2"]]
    assert result["workspace"] == ["score-env", "train-env"]
    assert result["older_pip"] == ["numpy"]
    assert result["latest_pip"] == ["numpy", "torch"]
    assert result["score_pip"] == ["pandas==2.1", "scikit-learn"]
    assert result["ran_here"] is True
    name, warnings = result["curated"]
    assert name == "AzureML-Tutorial"
    assert len(warnings) == 1
    assert warnings[0]["message"].startswith(
        "curated environment 'AzureML-Tutorial' maps to the local interpreter "
    )
    shown = subprocess.run(
        [
            str(Path(sys.executable).parent / "hyperpipe"),
            "-w",
            "ws",
            "runs",
            "show",
            result["run_id"],
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "environment AzureML-Tutorial" in shown.stdout
    assert "note       curated environment 'AzureML-Tutorial' maps to" in shown.stdout
    assert result["missing"].startswith(
        "no environment 'nope' is registered in workspace 'envs' (registered: score-env, "
        "train-env); register it with env.register(ws)"
    )


def test_docker_and_conda_settings_are_recorded_and_warned_about_once(sdkv1, write):
    write("code/step.py", "print('ran')\n")
    ran = sdkv1(
        """
        import json
        from azureml.core import Experiment, Workspace
        from azureml.core.conda_dependencies import CondaDependencies
        from azureml.core.runconfig import DEFAULT_CPU_IMAGE, RunConfiguration
        from azureml.pipeline.core import Pipeline
        from azureml.pipeline.steps import PythonScriptStep

        ws = Workspace.create("docker", path="ws")
        run_config = RunConfiguration()
        run_config.environment.docker.enabled = True
        run_config.environment.docker.base_image = DEFAULT_CPU_IMAGE
        run_config.environment.python.user_managed_dependencies = False
        run_config.environment.python.conda_dependencies = CondaDependencies.create(
            conda_packages=["scikit-learn"]
        )
        steps = [
            PythonScriptStep("step.py", name=name, source_directory="code", runconfig=run_config)
            for name in ("one", "two")
        ]
        run = Experiment(ws, "docker").submit(Pipeline(ws, steps))
        run.wait_for_completion(show_output=False)
        details = run.find_step_run("one")[0].get_details()
        environment = details["runDefinition"]["environment"]
        print(json.dumps({
            "docker": [environment["docker"]["enabled"], environment["docker"]["baseImage"]],
            "conda": environment["python"]["condaDependencies"]["dependencies"][1],
            "notes": [w["message"].split(" ", 1)[0] for w in details["warnings"]],
        }))
        """
    )
    result = ran.result
    assert result == {
        "docker": [True, "hyperpipe/local-cpu"],
        "conda": "scikit-learn",
        "notes": ["Docker", "conda/pip"],
    }
    warned = [line for line in ran.stderr.splitlines() if "UserWarning: hyperpipe:" in line]
    assert len(warned) == 2, ran.stderr  # one for Docker, one for the packages: once each
    assert "Docker settings (hyperpipe/local-cpu) are recorded, not applied" in warned[0]
    assert "conda/pip packages (scikit-learn) are recorded, not installed" in warned[1]
