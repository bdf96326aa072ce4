"""The sweep driver's own process: what it loads, and what it leaves to the trials it starts."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

# Loads numpy the way a sweep's driver does, then says what the process looks like.
PROBE = """
import json, os, sys
from hyperpipe.train.hyperdrive._driver import _import_numpy_single_threaded
_import_numpy_single_threaded()
print(json.dumps({
    "numpy": "numpy" in sys.modules,
    "threads": len(os.listdir("/proc/self/task")),
    "setting": os.environ.get("OPENBLAS_NUM_THREADS"),
}))
"""


def _probe(**env: str) -> dict:
    clean = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    done = subprocess.run(
        [sys.executable, "-c", PROBE],
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(done.stdout)


@pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="needs Linux's /proc")
def test_the_driver_loads_numpy_without_blas_threads_and_leaves_the_environment_as_it_was():
    pytest.importorskip("numpy")
    seen = _probe()
    # No OpenBLAS threads spinning in the driver; the fork server and trials it starts later
    # get the environment without the setting (their numpy keeps its threads).
    assert seen == {"numpy": True, "threads": 1, "setting": None}


def test_a_blas_thread_count_the_user_set_is_left_as_it_is():
    pytest.importorskip("numpy")
    assert _probe(OPENBLAS_NUM_THREADS="2")["setting"] == "2"
