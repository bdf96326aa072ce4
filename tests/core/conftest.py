"""Fixtures for core tests: a fresh workspace and a folder of scripts to submit."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from hyperpipe.core import Experiment, Workspace
from hyperpipe.testing.faults import stop_unfinished_runs


@pytest.fixture
def ws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Workspace]:
    monkeypatch.delenv("HYPERPIPE_STORE_URL", raising=False)
    monkeypatch.delenv("AZUREML_RUN_ID", raising=False)
    workspace = Workspace.create("testws", path=tmp_path / "ws")
    yield workspace
    stop_unfinished_runs(workspace)


@pytest.fixture
def experiment(ws: Workspace) -> Experiment:
    return Experiment(ws, "tests")


@pytest.fixture
def scripts(tmp_path: Path):
    """Write scripts into a source folder: ``scripts("name.py", code)`` returns the folder."""
    folder = tmp_path / "src"
    folder.mkdir()

    def write(name: str, code: str) -> Path:
        (folder / name).write_text(textwrap.dedent(code))
        return folder

    return write
