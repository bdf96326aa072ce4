"""Class probabilities of the lab's classifier, for the drift monitor's model test:
``score(model_path, texts) -> (class names, documents x classes probabilities)``."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "modeling"))

import features
import model as lab
import torch

_LOADED: dict[str, tuple] = {}


def score(model_path: str, texts: list[str]) -> tuple[list[str], np.ndarray]:
    if model_path not in _LOADED:
        _LOADED[model_path] = lab.load(model_path)
    classifier, vocab, _ = _LOADED[model_path]
    corpus = features.Corpus(
        paths=[str(i) for i in range(len(texts))],
        categories=[vocab.labels[0]] * len(texts),
        texts=[t.encode("latin-1", "replace") for t in texts],
        content_hash="",
    )
    rows = features.transform(corpus, vocab)
    out = []
    with torch.no_grad():
        for batch in lab.Rows.of(rows, None).batches(lab.EVAL_BATCH):
            logits = classifier(batch.indices, batch.offsets, batch.weights)
            out.append(torch.softmax(logits, dim=1))
    return list(vocab.labels), torch.cat(out).numpy()


def accuracy(model_path: str, texts: list[str], labels: list[str]) -> float:
    classes, probabilities = score(model_path, texts)
    predicted = [classes[i] for i in probabilities.argmax(axis=1)]
    return float(np.mean([p == y for p, y in zip(predicted, labels, strict=True)]))
