"""Fixtures for pipeline tests: a fresh workspace, a parallel compute target, step scripts.

Every step gets its own source folder (``tmp_path/steps/<name>``): each file of a step's
source_directory is part of its reuse key, so a shared folder would make an edit meant for one
step re-run them all. Scripts report what they saw by printing ``FACTS {json}`` lines, read back
from the step's log with ``facts(step_run)``.
"""

from __future__ import annotations

import json
import textwrap
import time
from typing import TYPE_CHECKING, Any

import pytest

from hyperpipe.core import Experiment, Workspace
from hyperpipe.core.compute import ComputeTarget, LocalCompute
from hyperpipe.pipeline.steps import PythonScriptStep
from hyperpipe.testing.faults import stop_unfinished_runs

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from hyperpipe.pipeline.core import StepRun

TARGET = "cpu"


@pytest.fixture
def ws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Workspace]:
    monkeypatch.delenv("HYPERPIPE_STORE_URL", raising=False)
    monkeypatch.delenv("AZUREML_RUN_ID", raising=False)
    workspace = Workspace.create("pl", path=tmp_path / "ws")
    yield workspace
    stop_unfinished_runs(workspace)


@pytest.fixture
def target(ws: Workspace) -> str:
    """A compute target that runs up to four steps at once."""
    ComputeTarget.create(ws, TARGET, LocalCompute.provisioning_configuration(max_concurrency=4))
    return TARGET


@pytest.fixture
def experiment(ws: Workspace) -> Experiment:
    return Experiment(ws, "pl")


@pytest.fixture
def write_script(tmp_path: Path) -> Callable[..., Path]:
    """``write_script("prep", code)`` writes ``prep.py`` into the folder ``steps/prep`` (made
    once, kept between calls) and returns the folder; ``file=`` names another file in it."""

    def write(folder: str, code: str, file: str | None = None) -> Path:
        source = tmp_path / "steps" / folder
        source.mkdir(parents=True, exist_ok=True)
        (source / (file or f"{folder}.py")).write_text(textwrap.dedent(code))
        return source

    write.folder = lambda folder: tmp_path / "steps" / folder  # type: ignore[attr-defined]
    return write


@pytest.fixture
def make_step(write_script: Callable[..., Path], target: str) -> Callable[..., PythonScriptStep]:
    """``make_step("prep", code, arguments=..., outputs=...)``: a PythonScriptStep named
    ``prep`` running ``prep.py`` from its own folder on the parallel target. With ``code=None``
    the script already in that folder is used as it is."""

    def make(name: str, code: str | None, **kwargs: Any) -> PythonScriptStep:
        source = write_script(name, code) if code is not None else write_script.folder(name)
        kwargs.setdefault("compute_target", target)
        return PythonScriptStep(f"{name}.py", name=name, source_directory=source, **kwargs)

    return make


def facts(step_run: StepRun) -> dict[str, Any]:
    """What a step script printed as ``FACTS {json}`` lines, merged."""
    found: dict[str, Any] = {}
    for line in step_run.get_job_log().splitlines():
        if line.startswith("FACTS "):
            found.update(json.loads(line[len("FACTS ") :]))
    return found


def wait_for(predicate: Callable[[], Any], timeout: float = 20.0) -> Any:
    """Poll ``predicate`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"condition not met within {timeout}s")


@pytest.fixture(name="facts")
def facts_fixture() -> Callable[[StepRun], dict[str, Any]]:
    return facts


@pytest.fixture(name="wait_for")
def wait_for_fixture() -> Callable[..., Any]:
    return wait_for
