"""The classifier: TF-IDF rows -> EmbeddingBag(sum) -> ReLU -> Linear, trained with Adam.

``EmbeddingBag(vocab, hidden, mode="sum")`` with the TF-IDF weights as per-sample weights is a
linear layer applied to the sparse TF-IDF vector without ever building it. Batches are slices
of one CSR array permuted once per epoch. Adam (fused) updates every parameter from dense
gradients; the embedding's gradient is written into a reused buffer (``EmbeddingGradient``), so
a step costs little more than the optimiser's pass over the vocabulary x hidden weights.

On a GPU (``device``) the same code trains with the same results up to floating-point noise: the
rows go to the device once, each epoch's shuffle is drawn on the host with the same generator,
batch boundaries are read from a host copy of the row pointers, and losses are read back once per
epoch, so no step waits for the host.
"""

from __future__ import annotations

import contextlib
import os
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
DEVICES = ("auto", "cpu", "cuda")


def choose_device(requested: str = "auto") -> torch.device:
    """The device to train on: ``auto`` is the GPU this process was given (CUDA sees only those
    ``CUDA_VISIBLE_DEVICES`` names) when CUDA works here, else the CPU.

    Raises ValueError for an unknown name, or for ``cuda`` where CUDA is not available."""
    if requested not in DEVICES:
        raise ValueError(f"unknown device {requested!r}; use one of {', '.join(DEVICES)}")
    if requested == "cpu":
        return torch.device("cpu")
    if torch.cuda.is_available():
        return torch.device("cuda", 0)
    if requested == "cuda":
        visible = os.environ.get("CUDA_VISIBLE_DEVICES")
        why = (
            f"CUDA_VISIBLE_DEVICES={visible!r} hides every GPU"
            if visible is not None and not visible.strip()
            else f"torch {torch.__version__} finds no usable GPU"
        )
        raise ValueError(f"no CUDA device here: {why}; use auto or cpu")
    return torch.device("cpu")


def describe_device(device: torch.device) -> str:
    """``cpu (2 threads)`` or ``cuda:0 (NVIDIA H200, CUDA_VISIBLE_DEVICES=3)``."""
    if device.type != "cuda":
        return f"{device.type} ({torch.get_num_threads()} threads)"
    visible = os.environ.get("CUDA_VISIBLE_DEVICES", "unset")
    return f"{device} ({torch.cuda.get_device_name(device)}, CUDA_VISIBLE_DEVICES={visible})"


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

    def bag(
        self, indices: torch.Tensor, offsets: torch.Tensor, weights: torch.Tensor
    ) -> torch.Tensor:
        """The weighted sum of each document's term rows: the sparse TF-IDF row times W."""
        return self.embedding(indices, offsets, per_sample_weights=weights)

    def head(self, bag: torch.Tensor) -> torch.Tensor:
        return self.output(torch.relu(bag + self.hidden_bias))

    def forward(
        self, indices: torch.Tensor, offsets: torch.Tensor, weights: torch.Tensor
    ) -> torch.Tensor:
        return self.head(self.bag(indices, offsets, weights))


@dataclass
class Batch:
    indices: torch.Tensor
    offsets: torch.Tensor
    weights: torch.Tensor
    targets: torch.Tensor


class Rows:
    """A ``Features`` CSR array as tensors on one device, cut into batches (optionally shuffled).

    ``host_indptr`` is the row pointers on the host (the same tensor on the CPU): batches are cut
    at boundaries read from it, so cutting one never waits for a GPU."""

    def __init__(
        self,
        indptr: torch.Tensor,
        indices: torch.Tensor,
        weights: torch.Tensor,
        targets: torch.Tensor,
        host_indptr: torch.Tensor | None = None,
    ) -> None:
        self.indptr, self.indices, self.weights, self.targets = indptr, indices, weights, targets
        self.host_indptr = indptr if host_indptr is None else host_indptr

    @classmethod
    def of(cls, features: Features, device: torch.device | str | None = None) -> Rows:
        """The rows as tensors, copied to ``device`` (once) when that is not the CPU."""
        arrays = (features.indptr, features.indices, features.weights, features.targets)
        tensors = [torch.from_numpy(a) for a in arrays]
        if device is None or torch.device(device).type == "cpu":
            return cls(*tensors)
        return cls(*(t.to(device) for t in tensors), host_indptr=tensors[0])

    @property
    def device(self) -> torch.device:
        return self.indices.device

    def __len__(self) -> int:
        return len(self.targets)

    def permuted(self, order: torch.Tensor) -> Rows:
        """The rows in ``order`` (a CPU tensor of row numbers)."""
        host = self.host_indptr
        lengths = host[1:][order] - host[:-1][order]
        starts = host[:-1][order]
        indptr = torch.zeros(len(order) + 1, dtype=torch.int64)
        torch.cumsum(lengths, 0, out=indptr[1:])
        total = int(indptr[-1])
        # Entry k of the new layout comes from starts[doc(k)] + (k - indptr[doc(k)]).
        if self.host_indptr is self.indptr:  # on the CPU
            gather = torch.repeat_interleave(starts - indptr[:-1], lengths) + torch.arange(total)
            return Rows(indptr, self.indices[gather], self.weights[gather], self.targets[order])
        # On a GPU: the per-row numbers go up in one copy and the entry-level gather is built
        # there (its size is known here, so the device is never asked for it).
        device = self.device
        shift, counts, rows, pointers = torch.stack(
            (starts - indptr[:-1], lengths, order, indptr[:-1])
        ).to(device)
        gather = torch.repeat_interleave(shift, counts, output_size=total)
        gather += torch.arange(total, device=device)
        return Rows(
            torch.cat((pointers, torch.full((1,), total, device=device))),
            self.indices[gather],
            self.weights[gather],
            self.targets[rows],
            host_indptr=indptr,
        )

    def batches(self, batch_size: int) -> Iterator[Batch]:
        bounds = self.host_indptr.tolist()
        for lo in range(0, len(self), batch_size):
            hi = min(lo + batch_size, len(self))
            a, b = bounds[lo], bounds[hi]
            yield Batch(
                indices=self.indices[a:b],
                offsets=self.indptr[lo:hi] - a,
                weights=self.weights[a:b],
                targets=self.targets[lo:hi],
            )


class EmbeddingGradient:
    """The embedding's dense gradient, computed into one buffer reused at every step.

    Autograd allocates and zeroes a new vocabulary x hidden gradient per step, which costs more
    than the Adam update itself. Only the rows of the batch's terms are non-zero: row ``t`` is
    the sum of ``w * dbag[doc]`` over the batch's entries of term ``t``, itself an EmbeddingBag
    (one bag per term) over the documents' gradients. Those rows are written, and reset before
    the next batch. The optimiser still sees, and updates with, the whole dense gradient.

    On a GPU, sorting out the distinct terms (``unique_consecutive``) would make every step wait
    for the host to learn how many there are; there each entry's ``w * dbag[doc]`` is added into
    its row with ``index_add_`` instead (the same sums, in another order).
    """

    def __init__(self, weight: torch.Tensor, scatter: bool | None = None) -> None:
        self.weight = weight
        self.buffer = torch.zeros_like(weight)
        self.rows: torch.Tensor | None = None
        # index_add_ off the CPU (or when asked); the sorted sums on the CPU, where they are faster
        self.scatter = weight.device.type != "cpu" if scatter is None else scatter

    def accumulate(self, batch: Batch, bag_grad: torch.Tensor) -> None:
        if self.scatter:
            self._scatter(batch, bag_grad)
            return
        if self.rows is not None:
            self.buffer.index_fill_(0, self.rows, 0.0)
        lengths = torch.diff(batch.offsets, append=torch.tensor([len(batch.indices)]))
        doc = torch.repeat_interleave(torch.arange(len(batch.offsets)), lengths)
        terms, order = torch.sort(batch.indices, stable=True)
        rows, counts = torch.unique_consecutive(terms, return_counts=True)
        self.buffer[rows] = functional.embedding_bag(
            doc[order],
            bag_grad,
            torch.cumsum(counts, 0) - counts,
            mode="sum",
            per_sample_weights=batch.weights[order],
        )
        self.rows = rows
        self.weight.grad = self.buffer

    def _scatter(self, batch: Batch, bag_grad: torch.Tensor) -> None:
        device, entries = self.buffer.device, len(batch.indices)
        if self.rows is not None:
            self.buffer.index_fill_(0, self.rows, 0.0)  # repeated rows are zeroed twice: fine
        end = torch.full((1,), entries, dtype=batch.offsets.dtype, device=device)
        lengths = torch.diff(batch.offsets, append=end)
        doc = torch.repeat_interleave(
            torch.arange(len(batch.offsets), device=device), lengths, output_size=entries
        )
        self.buffer.index_add_(0, batch.indices, bag_grad[doc] * batch.weights.unsqueeze(1))
        self.rows = batch.indices
        self.weight.grad = self.buffer


def make_optimizer(model: nn.Module, learning_rate: float) -> torch.optim.Optimizer:
    """Adam over dense gradients, fused when this torch build supports it on the model's device
    (one kernel for every parameter on a GPU)."""
    try:
        return torch.optim.Adam(model.parameters(), lr=learning_rate, fused=True)
    except (RuntimeError, TypeError, ValueError):
        return torch.optim.Adam(model.parameters(), lr=learning_rate)


def step(
    model: TextClassifier,
    optimizer: torch.optim.Optimizer,
    gradient: EmbeddingGradient,
    batch: Batch,
    sample_weights: torch.Tensor | None = None,
) -> torch.Tensor:
    """One Adam step on ``batch``; returns the (detached) mean loss.

    ``sample_weights`` (one per document of the batch) scale each document's loss."""
    optimizer.zero_grad(set_to_none=True)
    with torch.no_grad():
        bag = model.bag(batch.indices, batch.offsets, batch.weights)
    bag.requires_grad_(True)
    if sample_weights is None:
        loss = functional.cross_entropy(model.head(bag), batch.targets)
    else:
        losses = functional.cross_entropy(model.head(bag), batch.targets, reduction="none")
        loss = (losses * sample_weights).mean()
    loss.backward()
    gradient.accumulate(batch, bag.grad)
    optimizer.step()
    return loss.detach()


@dataclass
class TrainResult:
    model: TextClassifier
    losses: list[float]
    epoch_seconds: list[float]


_SMALLEST_SUBNORMAL = float.fromhex("0x0.0000000000001p-1022")


@contextlib.contextmanager
def flushing_denormals() -> Iterator[None]:
    """Treat subnormal floats as zero inside, as the caller had it after.

    Adam's second moments of rarely seen terms decay into subnormal floats after a few epochs,
    which the CPU handles ~10x slower (an epoch of the full model went from 1.6 s to 12 s).
    Flushing them to zero changes no result here. The setting belongs to the thread, so it is
    put back: code that trains in-process (a notebook, a test) keeps IEEE subnormals."""
    was_on = _SMALLEST_SUBNORMAL == 0.0  # with denormals-are-zero it compares equal to zero
    torch.set_flush_denormal(True)
    try:
        yield
    finally:
        torch.set_flush_denormal(was_on)


@flushing_denormals()
def train(
    train_rows: Features,
    vocab_size: int,
    num_classes: int,
    hp: Hyperparameters,
    *,
    seed: int = 0,
    on_epoch: Callable[[int, float, TextClassifier], None] | None = None,
    device: torch.device | str | None = None,
    sample_weights: np.ndarray | None = None,
) -> TrainResult:
    """A freshly trained classifier; ``on_epoch(epoch, mean_loss, model)`` follows each epoch.

    The model is initialised on the CPU, then moved to ``device`` (default: the CPU), so a seed
    gives the same start, and the same shuffles, on every device. ``sample_weights`` (one
    non-negative number per row) make a row's loss count that many times another's: rescaled
    to a mean of 1, so the learning rate keeps its meaning; equal weights train as none."""
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    rows = Rows.of(train_rows, device)
    weights = _row_weights(sample_weights, len(rows), rows.device)
    model = TextClassifier(vocab_size, hp.hidden_size, num_classes).to(rows.device)
    optimizer = make_optimizer(model, hp.learning_rate)
    gradient = EmbeddingGradient(model.embedding.weight)
    losses: list[float] = []
    seconds: list[float] = []
    for epoch in range(hp.num_epochs):
        started = time.perf_counter()
        model.train()
        step_losses: list[torch.Tensor] = []
        sizes: list[int] = []
        order = torch.randperm(len(rows), generator=generator)
        shuffled = None if weights is None else weights[order.to(weights.device)]
        for lo, batch in zip(
            range(0, len(rows), hp.batch_size),
            rows.permuted(order).batches(hp.batch_size),
            strict=True,
        ):
            scale = None if shuffled is None else shuffled[lo : lo + len(batch.targets)]
            step_losses.append(step(model, optimizer, gradient, batch, scale))
            sizes.append(len(batch.targets))
        # Read back once per epoch: reading a GPU's loss every step would wait for each step.
        means = torch.stack(step_losses).tolist() if step_losses else []
        total = sum(mean * size for mean, size in zip(means, sizes, strict=True))
        losses.append(total / max(sum(sizes), 1))
        seconds.append(time.perf_counter() - started)
        if on_epoch is not None:
            on_epoch(epoch, losses[-1], model)
    return TrainResult(model=model, losses=losses, epoch_seconds=seconds)


def _row_weights(
    sample_weights: np.ndarray | None, rows: int, device: torch.device
) -> torch.Tensor | None:
    """``sample_weights`` checked and rescaled to a mean of 1, on ``device``; None when all are
    equal (the unweighted loss, bit for bit)."""
    if sample_weights is None:
        return None
    values = np.asarray(sample_weights, dtype=np.float64)
    if values.shape != (rows,):
        raise ValueError(
            f"sample_weights has shape {values.shape}; pass one weight per row ({rows})"
        )
    if rows == 0:
        return None
    if not np.all(np.isfinite(values)) or values.min() < 0 or values.sum() <= 0:
        raise ValueError("sample_weights must be finite, non-negative and not all zero")
    if np.all(values == values[0]):
        return None
    return torch.from_numpy((values / values.mean()).astype(np.float32)).to(device)


@torch.no_grad()
def predict(model: TextClassifier, features: Features) -> np.ndarray:
    """Label ids predicted for every row of ``features`` (on the model's device)."""
    model.eval()
    out = []
    for batch in Rows.of(features, model.output.weight.device).batches(EVAL_BATCH):
        out.append(model(batch.indices, batch.offsets, batch.weights).argmax(dim=1))
    return torch.cat(out).cpu().numpy() if out else np.zeros(0, dtype=np.int64)


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
            "state_dict": {name: value.cpu() for name, value in model.state_dict().items()},
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
