"""Fixtures for data tests: workspaces here always use their own SQLite store."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _isolated_workspace_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HYPERPIPE_STORE_URL", raising=False)
    monkeypatch.delenv("AZUREML_RUN_ID", raising=False)
