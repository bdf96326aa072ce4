"""Run folders: removed in the background, off the path that starts the next task."""

from __future__ import annotations

import threading

from hyperpipe.data._materialize import LaterRemovals


def _folder(path, files=3):
    (path / "deep" / "er").mkdir(parents=True)
    for i in range(files):
        (path / "deep" / "er" / f"f{i}").write_text("x")
    return path


def test_later_removals_are_all_done_when_wait_returns_and_the_thread_ends(tmp_path):
    removals = LaterRemovals()
    folders = [_folder(tmp_path / f"run{i}") for i in range(5)]
    for folder in folders:
        removals.add(folder)
    removals.wait()
    assert not any(folder.exists() for folder in folders)
    assert not [t for t in threading.enumerate() if t.name == "hyperpipe-remove"]


def test_a_folder_already_gone_does_not_stop_the_removal_of_the_next(tmp_path):
    removals = LaterRemovals()
    removals.add(tmp_path / "never-made")
    removals.add(_folder(tmp_path / "run"))
    removals.wait()
    assert not (tmp_path / "run").exists()


def test_waiting_with_nothing_given_starts_no_thread(tmp_path):
    before = threading.active_count()
    LaterRemovals().wait()
    assert threading.active_count() == before
