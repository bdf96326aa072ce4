"""Fixtures for SDK v1 code run through the ``azureml`` alias, in fresh interpreters.

``sdkv1(code)`` writes ``code`` (SDK v1 code: imports from ``azureml.*``) to a script in the
test's folder and runs it as ``HYPERPIPE_AZUREML_ALIAS=1 python script.py`` — the way a user runs
an unchanged SDK v1 script — with no store URL or run context inherited from the test process.
Scripts report what they saw by printing one JSON line last, returned as ``.result``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest

from hyperpipe.compat import ALIAS_ENV

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

_DROPPED = (ALIAS_ENV, "PYTHONPATH", "HYPERPIPE_STORE_URL", "AZUREML_RUN_ID", "HYPERPIPE_WORKSPACE")


@dataclass
class Ran:
    returncode: int
    stdout: str
    stderr: str

    @property
    def result(self) -> Any:
        assert self.returncode == 0, self.stderr[-4000:]
        return json.loads(self.stdout.strip().splitlines()[-1])


def alias_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _DROPPED}
    env[ALIAS_ENV] = "1"
    env.update(extra)
    return env


def run_script(script: Path, *args: str, cwd: Path, timeout: float = 240, **env: str) -> Ran:
    """``HYPERPIPE_AZUREML_ALIAS=1 python script args...`` in ``cwd``."""
    done = subprocess.run(
        [sys.executable, str(script), *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=alias_env(**env),
        timeout=timeout,
    )
    return Ran(done.returncode, done.stdout, done.stderr)


@pytest.fixture
def sdkv1(tmp_path: Path) -> Callable[..., Ran]:
    """``sdkv1(code, name="script.py", cwd=tmp_path)``: run SDK v1 code under the alias."""

    def run(code: str, name: str = "script.py", cwd: Path | None = None, **env: str) -> Ran:
        folder = cwd or tmp_path
        script = folder / name
        script.write_text(textwrap.dedent(code))
        return run_script(script, cwd=folder, **env)

    return run


@pytest.fixture
def write(tmp_path: Path) -> Callable[[str, str], Path]:
    """``write("code/train.py", source)``: a file under the test's folder (dedented)."""

    def put(relative: str, text: str) -> Path:
        path = tmp_path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
        return path

    return put
