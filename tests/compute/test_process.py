"""A process's identity (pid and start time) reads the same in every process, however the
machine's clock is corrected."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from hyperpipe.compute import _process
from hyperpipe.compute._process import ProcessIdentity, start_time

_SLEEPER = [sys.executable, "-c", "import time; time.sleep(60)"]


def _in_a_new_process(code: str, boot_folder: str | None = None) -> dict:
    """What ``code`` (an expression) gives in a fresh interpreter, optionally with the boot
    time recorded in ``boot_folder``."""
    program = (
        "import json\nfrom hyperpipe.compute import _process\n"
        + (f"_process._BOOT_FOLDER = {boot_folder!r}\n" if boot_folder else "")
        + f"print(json.dumps({code}))"
    )
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _btime() -> float:
    with open("/proc/stat") as stream:
        return float(next(line for line in stream if line.startswith("btime")).split()[1])


def _seconds_since_boot(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as stream:
        fields = stream.read().rsplit(")", 1)[1].split()
    return int(fields[19]) / os.sysconf("SC_CLK_TCK")


def test_a_process_start_time_reads_the_same_in_another_process():
    process = subprocess.Popen(_SLEEPER)
    try:
        here = start_time(process.pid)
        there = _in_a_new_process(f"_process.start_time({process.pid})")
        assert here is not None and there == here
    finally:
        process.kill()
        process.wait()


def test_the_boot_time_first_recorded_this_boot_holds_when_btime_moves_a_second(tmp_path):
    # /proc/stat's btime is whole seconds recomputed from the clock: a small clock correction
    # can move it by one. The first reading of the boot, kept in a file, is what counts.
    first = _in_a_new_process("_process.boot_time()", str(tmp_path))
    assert first == _btime()
    boot_file = next(tmp_path.glob("hyperpipe-boot-*"))
    assert float(boot_file.read_text()) == first
    assert [p.name for p in tmp_path.iterdir()] == [boot_file.name]  # no scratch file left

    boot_file.write_text(repr(first - 1.0))  # as if btime had moved since it was recorded
    process = subprocess.Popen(_SLEEPER)
    try:
        ticks = _seconds_since_boot(process.pid)
        seen = _in_a_new_process(
            f"[_process.boot_time(), _process.start_time({process.pid})]", str(tmp_path)
        )
        assert seen == [first - 1.0, ticks + first - 1.0]
    finally:
        process.kill()
        process.wait()


def test_an_identity_names_its_process_and_no_other():
    process = subprocess.Popen(_SLEEPER)
    try:
        identity = ProcessIdentity.of(process.pid)
        assert identity is not None and identity.alive() and identity.process() is not None
        for stranger in (identity.started_at - 2.0, identity.started_at + 2.0):
            assert not ProcessIdentity(process.pid, stranger).alive()
            assert ProcessIdentity(process.pid, stranger).process() is None
            assert not ProcessIdentity(process.pid, stranger).send()
        assert process.poll() is None
    finally:
        process.kill()
        process.wait()


def test_an_ended_process_is_not_alive_and_gets_no_signal():
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    identity = ProcessIdentity.of(process.pid)
    process.wait()
    assert identity is not None
    assert not identity.alive()
    assert identity.process() is None
    assert not identity.send()


def test_the_boot_time_is_recorded_where_every_process_finds_it():
    assert _process.boot_time() == _in_a_new_process("_process.boot_time()")


def test_without_proc_psutil_tells_who_is_alive_and_no_process_looks_gone(monkeypatch):
    # Where there is no /proc (macOS), a missing /proc/<pid>/stat must not read as "gone".
    process = subprocess.Popen(_SLEEPER)
    ended = subprocess.Popen([sys.executable, "-c", "pass"])
    try:
        recorded = ProcessIdentity.of(process.pid)
        gone = ProcessIdentity.of(ended.pid)
        ended.wait()
        monkeypatch.setattr(_process, "_HAS_PROC", False)
        assert recorded is not None and gone is not None
        assert _process.same_start(start_time(process.pid), recorded.started_at)
        assert recorded.alive() and recorded.process() is not None
        assert not ProcessIdentity(process.pid, recorded.started_at - 2.0).alive()
        assert not gone.alive() and start_time(ended.pid) is None
    finally:
        process.kill()
        process.wait()
