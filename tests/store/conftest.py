"""Store tests: fixtures for racing processes; asserts rewritten in the packaged contract suite."""

from __future__ import annotations

import subprocess
import sys
import time
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from pathlib import Path

pytest.register_assert_rewrite(
    "hyperpipe.testing.store_contract", "hyperpipe.testing.automation_contract"
)

# Put in front of a worker's code: it gets INDEX, ARGS, and wait_for_go() to call once its imports
# and setup are done, so that every worker starts its real work at the same moment.
_PRELUDE = """\
import pathlib, sys, time
INDEX, _READY, _GO = int(sys.argv[1]), pathlib.Path(sys.argv[2]), pathlib.Path(sys.argv[3])
ARGS = sys.argv[4:]
def wait_for_go():
    (_READY / str(INDEX)).touch()
    deadline = time.monotonic() + 120
    while not _GO.exists():
        if time.monotonic() > deadline:
            sys.exit("never released")
        time.sleep(0.001)
"""


@pytest.fixture
def run_together(tmp_path: Path) -> Callable[..., list[subprocess.CompletedProcess[str]]]:
    """``run_together(code, args_per_process)``: start one Python process per argument list,
    release them together once all are ready (see ``_PRELUDE``), and return their results.
    """

    def run(
        code: str, args_per_process: Sequence[Sequence[str]], timeout: float = 120
    ) -> list[subprocess.CompletedProcess[str]]:
        ready = tmp_path / f"ready-{time.monotonic_ns()}"
        ready.mkdir()
        go = ready / "go"
        program = _PRELUDE + code
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", program, str(i), str(ready), str(go), *args],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for i, args in enumerate(args_per_process)
        ]
        deadline = time.monotonic() + timeout
        try:
            while sum(1 for p in ready.iterdir() if p.name != "go") < len(procs):
                if any(p.poll() is not None for p in procs) or time.monotonic() > deadline:
                    break  # one died before getting ready: release the rest, report below
                time.sleep(0.005)
            go.touch()
            results = []
            for proc in procs:
                out, err = proc.communicate(timeout=max(1.0, deadline - time.monotonic()))
                results.append(subprocess.CompletedProcess(proc.args, proc.returncode, out, err))
            return results
        finally:
            for proc in procs:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()

    return run
