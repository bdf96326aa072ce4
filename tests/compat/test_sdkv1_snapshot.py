"""A pipeline whose step snapshots the workspace root (``source_directory='.'`` after
``hyperpipe init .``), written as SDK v1 code: the second submission is reused."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def test_a_pipeline_submitted_twice_from_the_workspace_root_is_reused(tmp_path, sdkv1, write):
    hyperpipe = [str(Path(sys.executable).parent / "hyperpipe"), "init", ".", "--name", "rootws"]
    subprocess.run(hyperpipe, cwd=tmp_path, check=True, capture_output=True, timeout=120)
    (tmp_path / "venv").mkdir()
    (tmp_path / "venv" / "pyvenv.cfg").write_text("home = /usr/bin\n")
    write(
        "step.py",
        """
        import os
        from azureml.core import Run

        os.makedirs("outputs", exist_ok=True)
        with open("outputs/seen.txt", "w") as out:
            out.write("\\n".join(sorted(os.listdir("."))))
        Run.get_context().log("files", len(os.listdir(".")))
        """,
    )
    code = """
        import json
        from azureml.core import Experiment, Workspace
        from azureml.pipeline.core import Pipeline
        from azureml.pipeline.steps import PythonScriptStep

        ws = Workspace.from_config()
        step = PythonScriptStep(script_name="step.py", source_directory=".", allow_reuse=True)
        run = Experiment(ws, "root").submit(Pipeline(workspace=ws, steps=[step]))
        run.wait_for_completion(show_output=False)
        step_run = run.find_step_run("step.py")[0]
        print(json.dumps({
            "reused": step_run._is_reused,
            "files": sorted(step_run._record.definition["reuse"]["parts"]["source"]),
        }))
    """
    first = sdkv1(code, name="pipeline.py").result
    second = sdkv1(code, name="pipeline.py").result
    assert first == {"reused": False, "files": ["pipeline.py", "step.py"]}
    assert second == {"reused": True, "files": ["pipeline.py", "step.py"]}
