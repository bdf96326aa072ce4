"""Fixtures for core tests: a fresh workspace and a folder of scripts to submit."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from hyperpipe.core import Experiment, Workspace


@pytest.fixture
def ws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    monkeypatch.delenv("HYPERPIPE_STORE_URL", raising=False)
    monkeypatch.delenv("AZUREML_RUN_ID", raising=False)
    return Workspace.create("testws", path=tmp_path / "ws")


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
