"""A step of the machine's clock while runs are live: no live run is judged dead.

/proc/stat's boot time is whole seconds, computed from the clock: a correction of a few
milliseconds can move it by one (virtual machines whose host corrects their clock do this). A
process that read it before and one that reads it after then disagreed by a second on every
start time, and judged each other's live processes dead. The test steps the clock just far
enough to move it, drives a pipeline across the step from both kinds of process, and steps the
clock back.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from hyperpipe.compute._process import start_time
from hyperpipe.core import Experiment, Workspace
from hyperpipe.pipeline.core import Pipeline
from hyperpipe.pipeline.steps import PythonScriptStep


def _btime() -> int:
    with open("/proc/stat") as stream:
        return int(next(line for line in stream if line.startswith("btime")).split()[1])


def _step_clock(seconds: float) -> None:
    now = time.clock_gettime(time.CLOCK_REALTIME)
    time.clock_settime(time.CLOCK_REALTIME, now + seconds)


@contextlib.contextmanager
def _clock_stepped_past_a_boot_second() -> Iterator[None]:
    """The clock stepped forward just past the next whole second of the boot time (0.05-1.05 s),
    then back by as much."""
    boot = time.clock_gettime(time.CLOCK_REALTIME) - time.clock_gettime(time.CLOCK_BOOTTIME)
    shift = 1.05 - boot % 1.0
    before = _btime()
    try:
        _step_clock(shift)
    except PermissionError as exc:
        pytest.skip(f"stepping the clock is not allowed here: {exc}")
    try:
        assert _btime() == before + 1, "the step moved /proc/stat's boot time by one second"
        yield
    finally:
        _step_clock(-shift)


@pytest.mark.slow
@pytest.mark.parametrize("background", ["fork", "subprocess"])
def test_a_pipeline_driven_across_a_clock_step_finishes_and_is_seen_running(
    background, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.delenv("HYPERPIPE_STORE_URL", raising=False)
    monkeypatch.setenv("HYPERPIPE_BACKGROUND", background)  # a forked driver, or a new process
    ws = Workspace.create("clockws", path=tmp_path / "ws")
    source = tmp_path / "src"
    source.mkdir()
    (source / "nap.py").write_text("import time\ntime.sleep(3)\nprint('slept')\n")
    step = PythonScriptStep("nap.py", name="nap", source_directory=source, allow_reuse=False)
    start_time(os.getpid())  # this process has read the boot time before the step

    with _clock_stepped_past_a_boot_second():
        run = Experiment(ws, "clock").submit(Pipeline(ws, [step]))
        deadline = time.monotonic() + 30
        while run.get_status() != "Running":
            assert time.monotonic() < deadline, run.get_status()
            time.sleep(0.1)
        seen = subprocess.run(  # a process started after the step reads the run
            [sys.executable, "-m", "hyperpipe", "-w", str(ws.root), "runs", "show", run.id],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert seen.returncode == 0, seen.stderr
        assert "Crashed" not in seen.stdout and "Running" in seen.stdout, seen.stdout
        assert run.wait_for_completion(show_output=False) == "Finished"
    assert [s.get_status() for s in run.get_steps()] == ["Finished"]
