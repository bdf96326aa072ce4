"""A runner's own folder on its node: named for its owner, and removed once that owner is gone
(runners killed by Ray never remove theirs)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

pytest.importorskip("ray")

from hyperpipe.compute._process import ProcessIdentity
from hyperpipe.compute._ray_runner import FOLDER_PREFIX, OWNER_FILE, runner_folder


def _folder(base, name, owner):
    folder = base / f"{FOLDER_PREFIX}{name}"
    folder.mkdir()
    (folder / "task-1.log").write_text("output\n")
    if owner is not None:
        (folder / OWNER_FILE).write_text(json.dumps(owner))
    return folder


def test_a_new_runner_folder_names_its_owner_and_removes_those_of_runners_gone(tmp_path):
    ended = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    gone = _folder(tmp_path, "gone", {"pid": int(ended.stdout), "started_at": 1.0})
    me = ProcessIdentity.of(os.getpid())
    alive = _folder(tmp_path, "alive", me.to_json())
    # Same pid as a live process, another start time: a runner that is gone, its pid reused.
    reused = _folder(tmp_path, "reused", {"pid": os.getpid(), "started_at": me.started_at - 60})
    unowned = _folder(tmp_path, "unowned", None)  # being made, or not a runner's
    other = tmp_path / "something-else"
    other.mkdir()

    folder = runner_folder(str(tmp_path))

    assert not gone.exists() and not reused.exists()
    assert alive.exists() and unowned.exists() and other.exists()
    assert os.path.basename(folder).startswith(FOLDER_PREFIX)
    with open(os.path.join(folder, OWNER_FILE)) as owner:
        assert ProcessIdentity.from_json(json.load(owner)) == me
