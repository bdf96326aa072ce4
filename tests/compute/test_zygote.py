"""The trial fork server: what it imports ahead, every task inherits."""

from __future__ import annotations

import json
import sys

import pytest

from hyperpipe.compute._base import TaskSpec
from hyperpipe.compute._zygote import ZygoteBackend

pytest.importorskip("torch")


def test_a_fork_server_preloading_torch_imports_what_torch_defers_to_first_use(tmp_path):
    script = tmp_path / "task.py"
    script.write_text(
        "import json, sys\n"
        "json.dump({'dynamo': 'torch._dynamo' in sys.modules}, open(sys.argv[1], 'w'))\n"
    )
    zygote = ZygoteBackend(sys.executable, ["torch"], str(tmp_path / "zygote.log"))
    try:
        out = tmp_path / "out.json"
        argv = (sys.executable, str(script), str(out))
        spec = TaskSpec("t", argv, str(tmp_path), str(tmp_path / "task.log"))
        assert zygote.wait(zygote.start(spec), timeout=60) == 0
    finally:
        zygote.close()
    # torch imports torch._dynamo when the first optimiser is made: 1.4 s a trial, paid once here
    assert json.loads(out.read_text()) == {"dynamo": True}
