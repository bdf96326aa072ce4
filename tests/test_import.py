"""``import hyperpipe`` is cheap and does nothing: no I/O, no database driver, no cycles."""

from __future__ import annotations

import subprocess
import sys


def _python(code: str) -> str:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout


def test_import_hyperpipe_loads_no_heavy_module():
    loaded = _python("import sys, hyperpipe; print(' '.join(sorted(sys.modules)))").split()
    for heavy in ("sqlalchemy", "alembic", "fsspec", "typer", "rich", "psutil", "hyperpipe.core"):
        assert heavy not in loaded, f"import hyperpipe loaded {heavy}"


def test_public_modules_import_in_a_fresh_process_without_cycles():
    for module in (
        "hyperpipe.core",
        "hyperpipe.core.compute",
        "hyperpipe.core.runconfig",
        "hyperpipe.core.authentication",
        "hyperpipe.data",
        "hyperpipe.cli",
    ):
        _python(f"import {module}")


def test_top_level_names_resolve_lazily():
    assert (
        _python("import hyperpipe; print(hyperpipe.Workspace.__module__)").strip()
        == "hyperpipe.core._workspace"
    )


def test_importing_core_opens_nothing(tmp_path):
    code = f"import os; os.chdir({str(tmp_path)!r}); import hyperpipe.core; print(os.listdir())"
    assert _python(code).strip() == "[]"
