"""Which GPUs a task sees: those of its slot, and none when it was given none, whether it starts
as a new process or as a fork of the trial fork server; a fork server in which CUDA was started
refuses to serve (its forks could not use a GPU)."""

from __future__ import annotations

import ctypes.util
import json
import shutil
import sys
import textwrap
from pathlib import Path

import pytest

from hyperpipe.compute._base import TaskSpec
from hyperpipe.compute._local import LocalBackend
from hyperpipe.compute._slots import SlotPool
from hyperpipe.compute._zygote import ZygoteBackend

SHOW_ENV = textwrap.dedent(
    """
    import json, os, sys
    with open(sys.argv[1], "w") as out:
        json.dump({"visible": os.environ.get("CUDA_VISIBLE_DEVICES")}, out)
    """
)


@pytest.fixture
def script(tmp_path) -> Path:
    path = tmp_path / "show_env.py"
    path.write_text(SHOW_ENV)
    return path


def _seen(backend, script: Path, tmp_path: Path, name: str, **spec) -> str | None:
    out = tmp_path / f"{name}.json"
    handle = backend.start(
        TaskSpec(
            run_id=name,
            argv=(sys.executable, str(script), str(out)),
            cwd=str(tmp_path),
            log_path=str(tmp_path / f"{name}.log"),
            **spec,
        )
    )
    assert backend.wait(handle, timeout=60) == 0, (tmp_path / f"{name}.log").read_text()
    return json.loads(out.read_text())["visible"]


@pytest.fixture(params=["process", "fork"])
def backend(request, tmp_path, monkeypatch):
    # The machine's own setting must not leak into a task that was given no GPU.
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1,2,3")
    if request.param == "process":
        yield LocalBackend()
        return
    zygote = ZygoteBackend(sys.executable, ["json"], str(tmp_path / "zygote.log"))
    yield zygote
    zygote.close()


def test_a_task_sees_its_gpus_and_a_task_given_none_sees_none(backend, script, tmp_path):
    assert _seen(backend, script, tmp_path, "one", gpus=(1,)) == "1"
    assert _seen(backend, script, tmp_path, "two", gpus=(0, 2)) == "0,2"
    assert _seen(backend, script, tmp_path, "none") == ""
    # A run's own environment variables may still name GPUs for a task given none.
    own = {"CUDA_VISIBLE_DEVICES": "3"}
    assert _seen(backend, script, tmp_path, "own", env=own) == "3"
    assert _seen(backend, script, tmp_path, "slot", env=own, gpus=(2,)) == "2"


def test_k_slots_per_gpu_share_each_gpu_in_turn(tmp_path):
    pool = SlotPool(tmp_path / "slots", size=6, gpus=(0, 1))
    slots = [pool.try_acquire() for _ in range(6)]
    assert pool.try_acquire() is None
    assert [s.gpus for s in slots] == [(0,), (1,), (0,), (1,), (0,), (1,)]
    for slot in slots:
        slot.release()


def test_a_fork_server_with_the_cuda_driver_loaded_refuses_to_serve(tmp_path, monkeypatch):
    """A preloaded module that starts CUDA maps the driver library, libcuda.so, into the fork
    server. Stood in for here by a real shared library loaded under that name."""
    libm = ctypes.util.find_library("m")
    found = [p for p in Path("/lib").glob(f"**/{libm}") if p.is_file()] if libm else []
    if not found:
        pytest.skip(f"no C math library found to load under the CUDA driver's name ({libm})")
    driver = tmp_path / "lib" / "libcuda.so.1"
    driver.parent.mkdir()
    shutil.copy(found[0], driver)
    module = tmp_path / "starts_cuda.py"
    module.write_text(f"import ctypes\n\ndef start():\n    ctypes.CDLL({str(driver)!r})\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    with pytest.raises(RuntimeError, match=r"preloading json, starts_cuda:start initialised CUDA"):
        ZygoteBackend(sys.executable, ["json", "starts_cuda:start"], str(tmp_path / "z.log"))
    zygote = ZygoteBackend(sys.executable, ["json", "starts_cuda"], str(tmp_path / "ok.log"))
    zygote.close()  # importing alone loads no driver: served


def test_a_fork_server_that_started_cuda_refuses_and_one_that_imported_torch_serves(
    cuda_devices, tmp_path, monkeypatch
):
    (tmp_path / "asks_cuda.py").write_text(
        "import torch\n\ndef ask():\n    torch.cuda.is_available()\n"
    )
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    with pytest.raises(
        RuntimeError, match=r"preloading torch, asks_cuda:ask, torch._dynamo initialised CUDA"
    ):
        ZygoteBackend(sys.executable, ["torch", "asks_cuda:ask"], str(tmp_path / "z.log"))
    zygote = ZygoteBackend(sys.executable, ["torch"], str(tmp_path / "ok.log"))
    zygote.close()
