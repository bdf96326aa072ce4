"""Start-up pays only for what is used: what a fresh process imports to open a workspace and
submit its first pipeline or sweep, and what the CLI imports for its quick commands.

Each case runs in a new interpreter and reads ``sys.modules`` at the end, so a module-level
import added anywhere on these paths fails here, naming the module that crept in.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from pathlib import Path

# Never needed by a SQLite workspace with local datastores and a current schema: its everyday
# store work runs on the standard library's sqlite3.
NOT_FOR_SQLITE = ("sqlalchemy", "psycopg", "psycopg2", "fsspec", "alembic")
# Loaded only where a process is signalled or killed, a source folder has an ignore file, a
# run is submitted by a user name (script runs), files are sampled, or temporary files are made.
NOT_FOR_SUBMIT_PATH = ("psutil", "pathspec", "socket", "getpass", "random", "tempfile", "uuid")
# Needed only by the commands, views and samplers that use them.
NOT_FOR_SUBMIT = ("pandas", "typer", "click", "optuna", "numpy", "fastapi", "uvicorn", "jinja2")


def _loaded_after(code: str, cwd: Path) -> set[str]:
    """The modules a fresh interpreter has loaded after running ``code`` (stdout kept clean)."""
    probe = textwrap.dedent(code) + textwrap.dedent(
        """
        import json as _json, sys as _sys
        _sys.__stdout__.write("\\nMODULES " + _json.dumps(sorted(_sys.modules)) + "\\n")
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=cwd, timeout=120
    )
    assert done.returncode == 0, done.stderr
    line = next(x for x in done.stdout.splitlines() if x.startswith("MODULES "))
    return set(json.loads(line[len("MODULES ") :]))


def _assert_none_of(loaded: set[str], names: tuple[str, ...], what: str) -> None:
    crept_in = sorted(n for n in names if n in loaded)
    assert not crept_in, f"{what} imported {crept_in}"


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """A workspace whose store exists at the current schema, with a trivial step script."""
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "step.py").write_text(
        "import sys\nopen(sys.argv[1], 'w').write('1')\n", encoding="utf-8"
    )
    (tmp_path / "src" / "trial.py").write_text(
        "import sys\nfrom hyperpipe.core import Run\n"
        "Run.get_context().log('score', float(sys.argv[-1]))\n",
        encoding="utf-8",
    )
    subprocess.run(
        [
            sys.executable,
            "-c",
            "from hyperpipe.core import Workspace; Workspace.create('startup', path='ws')._store",
        ],
        cwd=tmp_path,
        check=True,
        timeout=120,
    )
    return tmp_path


def test_opening_a_sqlite_workspace_loads_no_database_driver_nor_alembic(workspace):
    loaded = _loaded_after(
        """
        from hyperpipe.core import Workspace
        ws = Workspace.from_config(path="ws")
        ws._store.find_run("")
        ws.get_default_datastore()._local_path("x")
        """,
        workspace,
    )
    _assert_none_of(
        loaded, NOT_FOR_SQLITE + NOT_FOR_SUBMIT + NOT_FOR_SUBMIT_PATH + ("rich",), "opening"
    )
    assert "hyperpipe.store._sqlite" in loaded  # the probe did reach the store


def test_a_first_pipeline_submit_loads_only_what_it_uses(workspace):
    loaded = _loaded_after(
        """
        from hyperpipe.core import Experiment, Workspace
        from hyperpipe.pipeline.core import Pipeline, PipelineData
        from hyperpipe.pipeline.steps import PythonScriptStep
        ws = Workspace.from_config(path="ws")
        out = PipelineData("out")
        step = PythonScriptStep("step.py", arguments=[out], outputs=[out], source_directory="src")
        run = Experiment(ws, "startup").submit(Pipeline(ws, [step]))
        assert run.wait_for_completion(show_output=True) == "Finished"
        """,
        workspace,
    )
    # Output is a pipe here: the live view prints lines, without Rich.
    _assert_none_of(
        loaded, NOT_FOR_SQLITE + NOT_FOR_SUBMIT + NOT_FOR_SUBMIT_PATH + ("rich",), "a pipeline"
    )


def test_a_first_sweep_submit_loads_only_what_it_uses(workspace):
    loaded = _loaded_after(
        """
        from hyperpipe.core import Experiment, ScriptRunConfig, Workspace
        from hyperpipe.train.hyperdrive import (
            HyperDriveConfig, PrimaryMetricGoal, RandomParameterSampling, uniform,
        )
        ws = Workspace.from_config(path="ws")
        config = HyperDriveConfig(
            run_config=ScriptRunConfig("src", "trial.py"),
            hyperparameter_sampling=RandomParameterSampling({"x": uniform(0, 1)}),
            primary_metric_name="score",
            primary_metric_goal=PrimaryMetricGoal.MAXIMIZE,
            max_total_runs=2,
            max_concurrent_runs=2,
        )
        run = Experiment(ws, "startup").submit(config)
        assert run.wait_for_completion()["status"] == "Completed"
        """,
        workspace,
    )
    # The sampler (Optuna) lives in the sweep's driver process, not in the submitter.
    _assert_none_of(loaded, NOT_FOR_SQLITE + NOT_FOR_SUBMIT + ("rich",), "a sweep submit")


def _cli_loaded(args: list[str], cwd: Path) -> set[str]:
    return _loaded_after(
        f"""
        import os, sys
        os.environ["COLUMNS"] = "120"  # a wide terminal, whatever runs the tests
        sys.argv = ["hyperpipe", *{args!r}]
        from hyperpipe.cli import main
        try:
            main()
        except SystemExit as exc:
            assert not exc.code, exc.code
        """,
        cwd,
    )


def test_cli_help_loads_neither_the_engine_nor_the_command_line_library(tmp_path):
    loaded = _cli_loaded(["--help"], tmp_path)
    _assert_none_of(
        loaded,
        ("typer", "click", "rich", "hyperpipe.core", "sqlalchemy", "psutil"),
        "hyperpipe --help",
    )


def test_cli_runs_list_and_pipelines_show_load_only_what_they_use(workspace):
    _loaded_after(
        """
        from hyperpipe.core import Experiment, Workspace
        from hyperpipe.pipeline.core import Pipeline, PipelineData
        from hyperpipe.pipeline.steps import PythonScriptStep
        ws = Workspace.from_config(path="ws")
        out = PipelineData("out")
        step = PythonScriptStep("step.py", arguments=[out], outputs=[out], source_directory="src")
        run = Experiment(ws, "startup").submit(Pipeline(ws, [step]))
        run.wait_for_completion(show_output=False)
        open("run_id", "w").write(run.id)
        """,
        workspace,
    )
    run_id = (workspace / "run_id").read_text()
    never = (*NOT_FOR_SQLITE, "pandas", "optuna", "numpy", "markdown_it", "pygments", "fastapi")
    for args in (["runs", "list"], ["pipelines", "show", run_id]):
        loaded = _cli_loaded(["-w", "ws", *args], workspace)
        _assert_none_of(loaded, never, f"hyperpipe {' '.join(args)}")
        assert "rich" in loaded  # it did print its table


def test_the_sweep_driver_imports_optuna_without_its_progress_bar_library(tmp_path):
    loaded = _loaded_after(
        """
        from hyperpipe.train.hyperdrive import PrimaryMetricGoal, RandomParameterSampling, uniform
        from hyperpipe.train.hyperdrive._space import require_optuna
        require_optuna()
        study = RandomParameterSampling({"x": uniform(0, 1)}).create_study(
            PrimaryMetricGoal.MAXIMIZE
        )
        """,
        tmp_path,
    )
    assert "optuna" in loaded
    _assert_none_of(loaded, ("tqdm", "asyncio", "importlib.metadata"), "importing Optuna")


def test_optunas_progress_bar_still_works_after_the_lean_import(tmp_path):
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                """
                from hyperpipe.train.hyperdrive._space import require_optuna
                optuna = require_optuna()
                optuna.logging.set_verbosity(optuna.logging.WARNING)
                study = optuna.create_study()
                study.optimize(lambda t: t.suggest_float("x", 0, 1), 3, show_progress_bar=True)
                import tqdm.auto
                assert study.trials[-1].number == 2
                assert not getattr(tqdm.auto, "_hyperpipe_later", False)
                """
            ),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "3/3" in done.stderr  # the bar was drawn, by the real tqdm
