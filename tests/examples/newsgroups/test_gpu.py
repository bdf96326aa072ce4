"""The lab's trainer on a GPU (these tests skip, saying why, where CUDA is not available): trials
that run at once each see exactly their one GPU and train on it, and the GPU trains the model
the CPU does, up to floating-point noise."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import numpy as np
import pytest

from hyperpipe.core import Experiment, ScriptRunConfig, Workspace
from hyperpipe.core.compute import ComputeTarget, LocalCompute
from hyperpipe.train.hyperdrive import (
    HyperDriveConfig,
    PrimaryMetricGoal,
    RandomParameterSampling,
    uniform,
)

torch = pytest.importorskip("torch")

MODELING = Path(__file__).resolve().parents[3] / "examples/newsgroups/code/modeling"

TRIAL = f"""
import os, sys, time
started = time.time()
import numpy as np, psutil, torch
sys.path.insert(0, {str(MODELING)!r})
import features, model
from hyperpipe.core import Run

run = Run.get_context()
device = model.choose_device("auto")
weights = np.array([0.6, 0.8, 0.5, 0.5, 0.7, 1.0, 0.6, 0.8], dtype=np.float32)
rows = features.Features(np.array([0, 2, 5, 6, 8]), np.arange(8), weights, np.array([0, 1, 0, 1]))
torch.manual_seed(0)
net = model.TextClassifier(10, 16, 2).to(device)
optimizer = model.make_optimizer(net, 0.05)
gradient = model.EmbeddingGradient(net.embedding.weight)
(batch,) = model.Rows.of(rows, device).batches(8)
losses = [model.step(net, optimizer, gradient, batch) for _ in range(15)]
torch.cuda.synchronize()
time.sleep(1.5)  # hold the GPU while the other trial runs
run.log("visible", os.environ["CUDA_VISIBLE_DEVICES"])
run.log("device_count", torch.cuda.device_count())
run.log("device", str(net.embedding.weight.device))
run.log("fused", bool(optimizer.defaults.get("fused")))
run.log("first_loss", float(losses[0]))
run.log("last_loss", float(losses[-1]))
run.log("forked", "hyperpipe.compute._zygote" in " ".join(psutil.Process(os.getppid()).cmdline()))
run.log("started", started)
run.log("ended", time.time())
"""


def _load(name: str):
    if str(MODELING) not in sys.path:
        sys.path.insert(0, str(MODELING))
    module = sys.modules.get(name)
    if module is not None and Path(getattr(module, "__file__", "") or "").parent != MODELING:
        del sys.modules[name]
    return importlib.import_module(name)


def test_two_concurrent_trials_each_see_one_gpu_and_train_on_it(
    cuda_devices, tmp_path, monkeypatch
):
    monkeypatch.delenv("HYPERPIPE_STORE_URL", raising=False)
    monkeypatch.delenv("AZUREML_RUN_ID", raising=False)
    ws = Workspace.create("gpu", path=tmp_path / "ws")
    # Two GPUs: one each. One GPU: shared by the two trials.
    gpus, per_gpu = ([0, 1], 1) if cuda_devices >= 2 else ([0], 2)
    config = LocalCompute.provisioning_configuration(gpus=gpus, trials_per_gpu=per_gpu)
    ComputeTarget.create(ws, "gpu", config)
    source = tmp_path / "src"
    source.mkdir()
    (source / "trial.py").write_text(TRIAL)
    sweep = Experiment(ws, "gpu").submit(
        HyperDriveConfig(
            run_config=ScriptRunConfig(source, "trial.py", compute_target="gpu"),
            hyperparameter_sampling=RandomParameterSampling({"--x": uniform(0, 1)}),
            primary_metric_name="last_loss",
            primary_metric_goal=PrimaryMetricGoal.MINIMIZE,
            max_total_runs=2,
            max_concurrent_runs=2,
        )
    )
    sweep.wait_for_completion()
    trials = list(sweep.get_children())
    assert [t.get_status() for t in trials] == ["Completed", "Completed"]
    metrics = [t.get_metrics() for t in trials]
    for m in metrics:
        assert m["device_count"] == 1 and m["device"] == "cuda:0" and m["fused"]
        assert m["forked"]  # started by the fork server, which never started CUDA itself
        assert m["last_loss"] < m["first_loss"] / 2
    assert sorted(str(m["visible"]) for m in metrics) == sorted(str(g) for g in gpus * per_gpu)
    assert max(m["started"] for m in metrics) < min(m["ended"] for m in metrics)  # at once


def test_the_gpu_trains_the_model_the_cpu_does(cuda_devices):
    features, model = _load("features"), _load("model")
    rng = np.random.default_rng(0)
    lengths = rng.integers(3, 12, size=300)
    indptr = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    indices = np.concatenate([rng.choice(80, n, replace=False) for n in lengths]).astype(np.int64)
    targets = np.repeat(np.arange(3), 100)
    indices = (indices + 25 * targets.repeat(lengths)) % 80  # a learnable topic per class
    weights = rng.uniform(0.1, 1.0, size=len(indices)).astype(np.float32)
    rows = features.Features(indptr, indices, weights, targets)
    hp = model.Hyperparameters(learning_rate=0.01, num_epochs=5, batch_size=16, hidden_size=32)
    on_cpu = model.train(rows, 80, 3, hp, seed=1, device="cpu")
    on_gpu = model.train(rows, 80, 3, hp, seed=1, device="cuda")
    assert on_gpu.model.output.weight.device.type == "cuda"
    torch.testing.assert_close(on_gpu.losses, on_cpu.losses, rtol=1e-4, atol=1e-5)
    for name, value in on_cpu.model.state_dict().items():
        torch.testing.assert_close(
            on_gpu.model.state_dict()[name].cpu(), value, rtol=1e-3, atol=1e-4
        )
    assert model.accuracy(on_gpu.model, rows) == pytest.approx(model.accuracy(on_cpu.model, rows))
