"""Fixtures for data tests: workspaces here always use their own SQLite store."""

from __future__ import annotations

import importlib.util
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from collections.abc import Iterator

S3_MISSING = [m for m in ("s3fs", "moto", "flask") if importlib.util.find_spec(m) is None]


@pytest.fixture(autouse=True)
def _isolated_workspace_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HYPERPIPE_STORE_URL", raising=False)
    monkeypatch.delenv("AZUREML_RUN_ID", raising=False)


@pytest.fixture(scope="session")
def s3_options() -> Iterator[dict[str, Any]]:
    """storage_options for s3fs against a moto server (one per test session) with a bucket."""
    if S3_MISSING:
        pytest.skip(f"s3 tests need {', '.join(S3_MISSING)}: pip install s3fs 'moto[server]'")
    from hyperpipe.testing.s3_server import moto_s3

    with moto_s3("hyperpipe-tests") as options:
        yield options
