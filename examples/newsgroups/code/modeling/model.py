"""The classifier: TF-IDF rows -> EmbeddingBag(sum) -> ReLU -> Linear, trained with Adam.

``EmbeddingBag(vocab, hidden, mode="sum")`` with the TF-IDF weights as per-sample weights is a
linear layer applied to the sparse TF-IDF vector without ever building it. Batches are slices
of one CSR array permuted once per epoch, so a step costs a few small tensor ops plus the
optimiser update.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn
from torch.nn import functional

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from features import Features, Vocabulary

EVAL_BATCH = 2048


@dataclass(frozen=True)
class Hyperparameters:
    learning_rate: float = 0.001
    num_epochs: int = 10
    batch_size: int = 64
    hidden_size: int = 300

    def as_dict(self) -> dict[str, float | int]:
        return asdict(self)


class TextClassifier(nn.Module):
    def __init__(self, vocab_size: int, hidden_size: int, num_classes: int) -> None:
        super().__init__()
        self.embedding = nn.EmbeddingBag(vocab_size, hidden_size, mode="sum")
        self.hidden_bias = nn.Parameter(torch.zeros(hidden_size))
        self.output = nn.Linear(hidden_size, num_classes)
        nn.init.normal_(self.embedding.weight, std=0.02)

    def forward(
        self, indices: torch.Tensor, offsets: torch.Tensor, weights: torch.Tensor
    ) -> torch.Tensor:
        hidden = self.embedding(indices, offsets, per_sample_weights=weights)
        return self.output(torch.relu(hidden + self.hidden_bias))


@dataclass
class Batch:
    indices: torch.Tensor
    offsets: torch.Tensor
    weights: torch.Tensor
    targets: torch.Tensor


class Rows:
    """A ``Features`` CSR array as tensors, cut into batches (optionally shuffled)."""

    def __init__(self, features: Features) -> None:
        self.indptr = torch.from_numpy(features.indptr)
        self.indices = torch.from_numpy(features.indices)
        self.weights = torch.from_numpy(features.weights)
        self.targets = torch.from_numpy(features.targets)

    def __len__(self) -> int:
        return len(self.targets)

    def permuted(self, order: torch.Tensor) -> Rows:
        lengths = self.indptr[1:][order] - self.indptr[:-1][order]
        starts = self.indptr[:-1][order]
        indptr = torch.zeros(len(order) + 1, dtype=torch.int64)
        torch.cumsum(lengths, 0, out=indptr[1:])
        # Entry k of the new layout comes from starts[doc(k)] + (k - indptr[doc(k)]).
        gather = torch.repeat_interleave(starts - indptr[:-1], lengths) + torch.arange(
            int(indptr[-1])
        )
        out = object.__new__(Rows)
        out.indptr, out.indices = indptr, self.indices[gather]
        out.weights, out.targets = self.weights[gather], self.targets[order]
        return out

    def batches(self, batch_size: int) -> Iterator[Batch]:
        for lo in range(0, len(self), batch_size):
            hi = min(lo + batch_size, len(self))
            a, b = int(self.indptr[lo]), int(self.indptr[hi])
            yield Batch(
                indices=self.indices[a:b],
                offsets=self.indptr[lo:hi] - a,
                weights=self.weights[a:b],
                targets=self.targets[lo:hi],
            )


def make_optimizer(model: nn.Module, learning_rate: float) -> torch.optim.Optimizer:
    """Adam over dense gradients, fused when this torch build supports it on the CPU."""
    try:
        return torch.optim.Adam(model.parameters(), lr=learning_rate, fused=True)
    except (RuntimeError, TypeError, ValueError):
        return torch.optim.Adam(model.parameters(), lr=learning_rate)


@dataclass
class TrainResult:
    model: TextClassifier
    losses: list[float]
    epoch_seconds: list[float]


def train(
    train_rows: Features,
    vocab_size: int,
    num_classes: int,
    hp: Hyperparameters,
    *,
    seed: int = 0,
    on_epoch: Callable[[int, float], None] | None = None,
) -> TrainResult:
    """Train a fresh classifier; ``on_epoch(epoch, mean_loss)`` is called after each epoch."""
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    rows = Rows(train_rows)
    model = TextClassifier(vocab_size, hp.hidden_size, num_classes)
    optimizer = make_optimizer(model, hp.learning_rate)
    losses: list[float] = []
    seconds: list[float] = []
    for epoch in range(hp.num_epochs):
        started = time.perf_counter()
        model.train()
        total, count = 0.0, 0
        for batch in rows.permuted(torch.randperm(len(rows), generator=generator)).batches(
            hp.batch_size
        ):
            optimizer.zero_grad(set_to_none=True)
            logits = model(batch.indices, batch.offsets, batch.weights)
            loss = functional.cross_entropy(logits, batch.targets)
            loss.backward()
            optimizer.step()
            total += float(loss) * len(batch.targets)
            count += len(batch.targets)
        losses.append(total / max(count, 1))
        seconds.append(time.perf_counter() - started)
        if on_epoch is not None:
            on_epoch(epoch, losses[-1])
    return TrainResult(model=model, losses=losses, epoch_seconds=seconds)


@torch.no_grad()
def predict(model: TextClassifier, features: Features) -> np.ndarray:
    """Label ids predicted for every row of ``features``."""
    model.eval()
    out = []
    for batch in Rows(features).batches(EVAL_BATCH):
        out.append(model(batch.indices, batch.offsets, batch.weights).argmax(dim=1))
    return torch.cat(out).numpy() if out else np.zeros(0, dtype=np.int64)


def accuracy(model: TextClassifier, features: Features) -> float:
    if len(features) == 0:
        raise ValueError("no documents to evaluate on")
    return float((predict(model, features) == features.targets).mean())


def save(
    path: str,
    model: TextClassifier,
    vocab: Vocabulary,
    hp: Hyperparameters,
    extra: dict | None = None,
) -> None:
    """Everything needed to predict later: weights, vocabulary, idf, label names, settings."""
    torch.save(
        {
            "state_dict": model.state_dict(),
            "vocabulary": list(vocab.terms),
            "idf": torch.from_numpy(vocab.idf.copy()),
            "labels": list(vocab.labels),
            "hyperparameters": hp.as_dict(),
            **(extra or {}),
        },
        path,
    )


def load(path: str) -> tuple[TextClassifier, Vocabulary, dict]:
    """The model and vocabulary saved by ``save`` (and the whole saved dict)."""
    from features import Vocabulary

    saved = torch.load(path, map_location="cpu", weights_only=True)
    vocab = Vocabulary(
        terms=list(saved["vocabulary"]), idf=saved["idf"].numpy(), labels=list(saved["labels"])
    )
    model = TextClassifier(
        len(vocab.terms), int(saved["hyperparameters"]["hidden_size"]), len(vocab.labels)
    )
    model.load_state_dict(saved["state_dict"])
    model.eval()
    return model, vocab, saved
