"""A waiter sleeps on the run's driver process: its exit wakes the waiter, whatever the timeout."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid

from hyperpipe.core._lifecycle import process_identity
from hyperpipe.core._waiting import EndWatch, _open_driver
from hyperpipe.store import RunStatus


def _run_driven_by(ws, identity):  # type: ignore[no-untyped-def]
    return ws._store.create_run(
        experiment_name="waiting",
        run_id=str(uuid.uuid4()),
        run_type="azureml.scriptrun",
        status=RunStatus.RUNNING,
        **identity,
    )


def test_the_driver_exiting_wakes_a_waiter_long_before_its_timeout(ws):
    driver = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(0.3)"])
    try:
        record = _run_driven_by(ws, process_identity(driver.pid))
        with EndWatch() as watch:
            start = time.monotonic()
            watch.sleep(record, 60)
            woke_after = time.monotonic() - start
        assert driver.wait(5) == 0
        assert woke_after < 30  # woken by the exit, not by the 60 s timeout
    finally:
        driver.kill()
        driver.wait()


def test_a_driver_whose_identity_no_longer_matches_is_not_watched(ws):
    driver = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        identity = process_identity(driver.pid)
        reused_pid = {**identity, "pid_started_at": identity["pid_started_at"] - 3600}
        assert _open_driver(_run_driven_by(ws, reused_pid)) is None
        fd = _open_driver(_run_driven_by(ws, identity))
        assert fd is not None
        os.close(fd)
    finally:
        driver.kill()
        driver.wait()


def test_a_run_still_recorded_as_this_process_is_waited_on_by_its_timeout(ws):
    record = _run_driven_by(ws, process_identity())
    assert _open_driver(record) is None
    ws._store.set_status(record.id, RunStatus.COMPLETED)  # else cleaning up would stop pytest
