"""A full or read-only disk under the store, the run folders or the datastore: a clear error,
nothing half-written, and a resume once space is back finishes the run."""

from __future__ import annotations

import pytest

from hyperpipe.testing.faults import MountNotAllowed, disk_case


def _case(where, tmp_path, **options):
    try:
        return disk_case(where, tmp_path, **options)
    except MountNotAllowed as exc:
        pytest.skip(f"mounting a small tmpfs is not allowed here: {exc}")


@pytest.mark.slow
def test_a_full_datastore_fails_the_step_naming_the_device_and_leaves_no_partial_copy(
    tmp_path, assert_held
):
    result = _case("datastore", tmp_path)
    assert_held(result)
    assert result.resumes == 1
    message = next(e for e in result.errors if "no space left" in e)
    assert "on tmpfs at " in message and "free space there" in message
    assert "\n" not in message and len(message) < 1000


@pytest.mark.slow
def test_full_run_folders_cost_the_metric_journal_not_the_metrics(tmp_path, assert_held):
    result = _case("runs", tmp_path)
    assert_held(result)  # every logged value is in the store, exactly once
    logs = (tmp_path / "enospc-runs").rglob("70_driver_log.txt")
    text = "could not write the metric journal: no space left on tmpfs"
    assert any(text in log.read_text(errors="replace") for log in logs)


@pytest.mark.slow
def test_a_full_store_stops_the_run_cleanly_and_it_resumes_once_space_is_back(
    tmp_path, assert_held
):
    result = _case("store", tmp_path)
    assert_held(result)  # integrity_check passes; nothing lost or doubled
    assert result.resumes == 1


@pytest.mark.slow
def test_a_read_only_datastore_fails_the_step_with_the_fix(tmp_path, assert_held):
    result = _case("datastore", tmp_path, read_only=True)
    assert_held(result)
    message = next(e for e in result.errors if "read-only" in e)
    assert "make it writable" in message and "\n" not in message
