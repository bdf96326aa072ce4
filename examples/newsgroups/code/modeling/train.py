"""The lab's trainer: an MLP text classifier for 20 Newsgroups, for tuning and for the full model.

Tuning (each HyperDrive trial)::

    python train.py --learning_rate 0.001 --num_epochs 10 --batch_size 64 --hidden_size 300

trains on the named input ``subset_train`` and logs ``accuracy`` on ``subset_test`` (validation
documents from the training split, never the test split), the ``loss`` of every epoch and the four
hyperparameters, which is what the HyperDriveStep's metrics JSON then carries.

Full model (the pipeline's second step)::

    python train.py --models deeplearning --full_model [--metrics metrics.json]

reads the metrics JSON (default ``$AZUREML_DATAREFERENCE_metrics_data``), takes the best trial's
hyperparameters, trains on the named input ``train``, logs ``accuracy`` on ``test``, saves
``outputs/model.pt`` and registers it as ``newsgroups-classifier``. Full-model mode is also chosen
when ``--metrics`` is given or when the run has a ``train``/``test`` input and no
``subset_train``. ``--input_train`` / ``--input_test`` (folders of ``<category>/<docid>`` files)
replace the named inputs in either mode.

Featurisation runs once per training-data content and is cached (see ``cache.py``). A trial
trains on one thread, since trials run side by side; the full model uses every CPU it may.

``--device auto`` (the default) trains on the GPU the run was given when CUDA works here: a
compute target with ``gpus`` gives each run its own ``CUDA_VISIBLE_DEVICES``, and a target
without GPUs gives none, so its runs train on the CPU. The device is printed and recorded as the
run's ``device`` property.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from best import BestTrial, best_trial
from cache import Documents, cached_features
from features import FeatureConfig, Vocabulary
from model import (
    DEVICES,
    Hyperparameters,
    TextClassifier,
    accuracy,
    choose_device,
    describe_device,
    save,
    train,
)

from hyperpipe.core import Run

MODEL_NAME = "newsgroups-classifier"
MODEL_PATH = "outputs/model.pt"
METRICS_ENV = "AZUREML_DATAREFERENCE_metrics_data"
INPUTS = {"tuning": ("subset_train", "subset_test"), "full": ("train", "test")}


def _count(text: str) -> int:
    """A positive integer; also accepts ``10.0`` (what a quniform sampler may pass)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value != int(value) or value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return int(value)


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def _flag(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("1", "true", "yes", "y", "on"):
        return True
    if lowered in ("0", "false", "no", "n", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected yes/no, got {text!r}")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    defaults = Hyperparameters()
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--learning_rate", type=_positive, default=defaults.learning_rate)
    parser.add_argument("--num_epochs", type=_count, default=defaults.num_epochs)
    parser.add_argument("--batch_size", type=_count, default=defaults.batch_size)
    parser.add_argument("--hidden_size", type=_count, default=defaults.hidden_size)
    parser.add_argument("--models", default="deeplearning", help="ignored (the lab passes it)")
    parser.add_argument("--input_train", default=None, help="training documents folder")
    parser.add_argument("--input_test", default=None, help="evaluation documents folder")
    parser.add_argument(
        "--metrics", default=None, help=f"HyperDrive metrics JSON (default: ${METRICS_ENV})"
    )
    parser.add_argument(
        "--full_model",
        type=_flag,
        nargs="?",
        const=True,
        default=False,
        help="train the full model from the best trial's hyperparameters",
    )
    parser.add_argument("--cache_dir", default=None, help="featurisation cache folder")
    parser.add_argument("--min_df", type=_count, default=FeatureConfig.min_df)
    parser.add_argument("--max_vocab", type=_count, default=FeatureConfig.max_vocab)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--device",
        choices=DEVICES,
        default="auto",
        help="where to train: auto (the GPU this run was given if CUDA works, else the CPU), "
        "cpu, or cuda (an error without one)",
    )
    parser.add_argument(
        "--threads",
        type=_count,
        default=None,
        help="torch threads (default: 1 for a trial, which runs beside others; every CPU of "
        "this process for the full model)",
    )
    return parser.parse_args(argv)


@dataclass
class Outcome:
    accuracy: float
    model: TextClassifier
    vocab: Vocabulary
    losses: list[float]
    train_seconds: float
    featurise_seconds: float
    cache_hits: tuple[bool, bool]


def run_training(
    train_docs: Any,
    eval_docs: Any,
    hp: Hyperparameters,
    *,
    run: Any,
    cache_dir: str | os.PathLike[str] | None = None,
    config: FeatureConfig | None = None,
    seed: int = 0,
    device: torch.device | str = "cpu",
) -> Outcome:
    """Featurise (cached), train on ``device``, evaluate; logs the hyperparameters, each epoch's
    ``loss`` and ``accuracy`` on ``eval_docs`` to ``run``. Documents: a folder path or a
    FileDataset."""
    feats = cached_features(Documents(train_docs), Documents(eval_docs), config, root=cache_dir)
    hits = "+".join("hit" if hit else "miss" for hit in feats.hits)
    print(
        f"features: {len(feats.train)} training / {len(feats.evaluation)} evaluation documents, "
        f"{len(feats.vocab.terms)} terms, {len(feats.vocab.labels)} classes "
        f"(cache {hits}, {feats.seconds:.2f}s)",
        flush=True,
    )
    for name, value in hp.as_dict().items():
        run.log(name, value)

    def on_epoch(epoch: int, loss: float, _model: TextClassifier) -> None:
        run.log("loss", loss)
        print(f"epoch {epoch + 1}/{hp.num_epochs}  loss {loss:.4f}", flush=True)

    started = time.perf_counter()
    vocab = feats.vocab
    result = train(
        feats.train,
        len(vocab.terms),
        len(vocab.labels),
        hp,
        seed=seed,
        on_epoch=on_epoch,
        device=device,
    )
    seconds = time.perf_counter() - started
    score = accuracy(result.model, feats.evaluation)
    run.log("accuracy", score)
    epochs = sum(result.epoch_seconds)
    print(
        f"accuracy {score:.4f} on {len(feats.evaluation)} documents (training {seconds:.2f}s: "
        f"{epochs / hp.num_epochs:.3f}s per epoch, {seconds - epochs:.2f}s set-up)",
        flush=True,
    )
    return Outcome(
        accuracy=score,
        model=result.model,
        vocab=feats.vocab,
        losses=result.losses,
        train_seconds=seconds,
        featurise_seconds=feats.seconds,
        cache_hits=feats.hits,
    )


def _is_full(args: argparse.Namespace, inputs: dict[str, Any]) -> bool:
    if args.full_model or args.metrics is not None:
        return True
    return bool({"train", "test"} & inputs.keys()) and "subset_train" not in inputs


def _documents(mode: str, args: argparse.Namespace, inputs: dict[str, Any]) -> tuple[Any, Any]:
    names = INPUTS[mode]
    chosen = (args.input_train or inputs.get(names[0]), args.input_test or inputs.get(names[1]))
    missing = [
        f"--{flag} or the named input {name!r}"
        for flag, name, value in zip(("input_train", "input_test"), names, chosen, strict=True)
        if value is None
    ]
    if missing:
        have = ", ".join(sorted(inputs)) or "none"
        raise SystemExit(f"{mode} mode needs {' and '.join(missing)} (run inputs: {have})")
    return chosen


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _metrics_path(args: argparse.Namespace) -> str:
    path = args.metrics or os.environ.get(METRICS_ENV)
    if not path:
        raise SystemExit(
            f"full model: no HyperDrive metrics JSON; pass --metrics PATH or give the step the "
            f"HyperDriveStep's metrics_output (${METRICS_ENV} is not set)"
        )
    return path


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    run = Run.get_context()
    inputs = dict(getattr(run, "input_datasets", None) or {})
    mode = "full" if _is_full(args, inputs) else "tuning"
    torch.set_num_threads(args.threads or (_cpus() if mode == "full" else 1))
    try:
        device = choose_device(args.device)
    except ValueError as exc:
        raise SystemExit(f"--device {args.device}: {exc}") from None
    described = describe_device(device)
    print(f"device: {described}", flush=True)
    run.add_properties({"device": str(device), "device_detail": described})
    best: BestTrial | None = None
    hp = Hyperparameters(args.learning_rate, args.num_epochs, args.batch_size, args.hidden_size)
    if mode == "full":
        path = _metrics_path(args)
        best = best_trial(path)
        hp = Hyperparameters(**best.hyperparameters)  # type: ignore[arg-type]
        print(
            f"best trial {best.run_id}: accuracy {best.accuracy:.4f} "
            f"({best.usable} usable of {best.trials} trials in {path})\n"
            f"best hyperparameters: {hp.as_dict()}",
            flush=True,
        )
    if args.models != "deeplearning":
        print(f"--models {args.models!r} ignored: this trainer only has the deep learning model")
    train_docs, eval_docs = _documents(mode, args, inputs)
    config = FeatureConfig(min_df=args.min_df, max_vocab=args.max_vocab)
    outcome = run_training(
        train_docs,
        eval_docs,
        hp,
        run=run,
        cache_dir=args.cache_dir,
        config=config,
        seed=args.seed,
        device=device,
    )
    summary: dict[str, Any] = {
        "mode": mode,
        "accuracy": outcome.accuracy,
        "hyperparameters": hp.as_dict(),
        "train_seconds": outcome.train_seconds,
        "device": str(device),
    }
    if mode == "tuning":
        return summary

    assert best is not None
    run.tag("best_trial", best.run_id)
    Path(MODEL_PATH).parent.mkdir(parents=True, exist_ok=True)
    save(
        MODEL_PATH,
        outcome.model,
        outcome.vocab,
        hp,
        extra={
            "accuracy": outcome.accuracy,
            "best_trial": best.run_id,
            "features": config.describe(),  # tokeniser and vocabulary settings
        },
    )
    print(f"test accuracy: {outcome.accuracy:.4f}; model saved to {MODEL_PATH}")
    summary["model_path"] = MODEL_PATH
    if not hasattr(run, "register_model"):
        print(f"offline run: {MODEL_NAME} not registered")
        return summary
    model = run.register_model(
        model_name=MODEL_NAME,
        model_path=MODEL_PATH,
        tags={"accuracy": round(outcome.accuracy, 4), **hp.as_dict()},
    )
    print(f"registered model {model.name} version {model.version}")
    summary["model_version"] = model.version
    return summary


if __name__ == "__main__":
    main(sys.argv[1:])
