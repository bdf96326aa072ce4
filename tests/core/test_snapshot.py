"""Source snapshots leave out the workspace itself and Python environments."""

from __future__ import annotations

from pathlib import Path

from hyperpipe.core import Datastore, Workspace
from hyperpipe.core._snapshot import snapshot_files


def test_a_workspace_root_snapshot_holds_only_the_code(tmp_path):
    ws = Workspace.create("rootsnap", path=tmp_path)
    Datastore.register(ws, "extra", "data/extra")
    (tmp_path / "data" / "extra" / "rows.csv").write_text("a\n1\n")
    (tmp_path / "data" / "readme.md").write_text("kept: not a datastore folder\n")
    (tmp_path / "train.py").write_text("print(1)\n")
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "util.py").write_text("X = 1\n")
    (tmp_path / "datastores" / "workspaceblobstore" / "big.bin").write_bytes(b"x" * 10)
    (tmp_path / ".venv" / "lib").mkdir(parents=True)
    (tmp_path / ".venv" / "pyvenv.cfg").write_text("home = /usr/bin\n")
    (tmp_path / "env" / "conda-meta").mkdir(parents=True)
    (tmp_path / "env" / "python.txt").write_text("")
    ws.get_default_datastore()  # the store exists: .hyperpipe/store.db
    assert (tmp_path / ".hyperpipe" / "store.db").exists()
    assert snapshot_files(tmp_path) == [
        Path("data/readme.md"),
        Path("pkg/util.py"),
        Path("train.py"),
    ]


def test_a_subfolder_snapshot_leaves_out_a_nested_workspace(tmp_path):
    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "train.py").write_text("print(1)\n")
    Workspace.create("nested", path=tmp_path / "code" / "inner")
    (tmp_path / "code" / "inner" / "keep.py").write_text("")
    assert snapshot_files(tmp_path / "code") == [Path("inner/keep.py"), Path("train.py")]


def test_the_fixed_rules_leave_out_what_their_gitignore_patterns_do(tmp_path):
    """Without an ignore file the fixed rules are checked without pathspec: same answers."""
    import pathspec

    from hyperpipe.core._snapshot import ALWAYS_IGNORED, _ignore_rules

    reference = pathspec.GitIgnoreSpec.from_lines(ALWAYS_IGNORED).match_file
    fast = _ignore_rules(tmp_path)
    paths = [
        "train.py",
        "a/b/model.pyc",
        "a/b/model.pyo",
        "a/b/model.py",
        "logs/",
        "logs",
        "a/logs/",
        "a/logs/x.txt",
        "outputs/model.pkl",
        "sub/outputs/",
        "outputs.py",
        "x.pyc/",
        "x.pyc/readme.md",
        "__pycache__/",
        "pkg/__pycache__/m.cpython-311.pyc",
        ".git/",
        ".gitignore",
        ".azureml/config.json",
        ".hyperpipe/",
        "data/.ipynb_checkpoints/",
        "my.logs/",
        "logsx/",
    ]
    assert [fast(p) for p in paths] == [reference(p) for p in paths]
    (tmp_path / ".amlignore").write_text("*.csv\n")
    assert _ignore_rules(tmp_path)("data/table.csv")
    assert not fast("data/table.csv")
