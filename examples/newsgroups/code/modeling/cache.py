"""Featurise each dataset content once, whatever number of trials ask for it.

An entry is a folder ``<root>/<key>`` holding ``features.npz`` and ``meta.json``:

- the training entry's key hashes the feature settings and the training documents' content
  (sha256 over sorted (relative path, file sha256), the same value as a hyperpipe dataset's
  ``content_hash``, so a mounted folder and the dataset itself share entries); it holds the
  vocabulary, idf, label names and the training rows;
- an evaluation entry's key hashes the training key and the evaluated documents' content.

An entry is built in a temporary folder beside it and renamed into place, so a reader never sees
half of one. Builders of the same key take an exclusive ``fcntl.flock`` on ``<key>.lock`` so that
two trials starting together featurise once: the second waits and then reads the first's entry.
Should the lock be unavailable, both build and the later rename loses and is discarded.

Default root: ``$HYPERPIPE_WORKSPACE/.hyperpipe/cache/newsgroups-features`` inside a hyperpipe run,
else ``$XDG_CACHE_HOME`` (or ``~/.cache``) ``/hyperpipe/newsgroups-features``. Entries are never
evicted; delete the folder to reclaim the space.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from features import (
    Corpus,
    FeatureConfig,
    Features,
    Vocabulary,
    fit,
    read_corpus,
    transform,
)

try:
    import fcntl
except ImportError:  # not POSIX: rely on the atomic rename alone
    fcntl = None

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

CACHE_NAME = "newsgroups-features"
ARRAYS = "features.npz"
META = "meta.json"


def default_root() -> Path:
    workspace = os.environ.get("HYPERPIPE_WORKSPACE")
    if workspace:
        return Path(workspace) / ".hyperpipe" / "cache" / CACHE_NAME
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "hyperpipe" / CACHE_NAME


def _key(*parts: str) -> str:
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:40]


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    if fcntl is None:
        yield
        return
    with open(path, "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def build_once(root: Path, key: str, build: Callable[[Path], dict[str, Any]]) -> tuple[Path, bool]:
    """The complete entry ``root/key``, built by ``build(folder)`` unless present.

    ``build`` writes its files into the folder it is given and returns metadata for
    ``meta.json``. Returns the entry's folder and whether it was already there (a hit).
    """
    final = root / key
    if (final / META).is_file():
        return final, True
    root.mkdir(parents=True, exist_ok=True)
    with _locked(root / f"{key}.lock"):
        if (final / META).is_file():
            return final, True  # built by another process while this one waited
        scratch = Path(tempfile.mkdtemp(prefix=f".{key}.", dir=root))
        try:
            scratch.chmod(0o755)
            meta = build(scratch)
            # meta.json last: a folder with it is complete.
            (scratch / META).write_text(json.dumps({**meta, "created": time.time()}, indent=1))
            if final.exists() and not (final / META).is_file():
                shutil.rmtree(final, ignore_errors=True)  # debris of an interrupted writer
            try:
                os.rename(scratch, final)
            except OSError:
                if not (final / META).is_file():
                    raise  # not a lost race: a real error
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    return final, False


class Documents:
    """Where documents come from: a folder of ``<category>/<docid>`` files, or a FileDataset
    (anything with ``content_hash`` and ``download(target_path=...)``), read only when needed."""

    def __init__(self, where: Any) -> None:
        self.where = where
        self._corpus: Corpus | None = None
        self._content: str | None = None

    def __repr__(self) -> str:
        return f"Documents({self.where!r})"

    @property
    def is_dataset(self) -> bool:
        return hasattr(self.where, "content_hash") and hasattr(self.where, "download")

    def content_hash(self) -> str:
        if self._content is None:
            if self.is_dataset:
                self._content = str(self.where.content_hash)
            else:
                self._content = self.corpus().content_hash
        return self._content

    def corpus(self) -> Corpus:
        if self._corpus is None:
            if self.is_dataset:
                with tempfile.TemporaryDirectory(prefix="newsgroups-docs-") as scratch:
                    self.where.download(target_path=scratch, overwrite=True)
                    self._corpus = read_corpus(scratch)
            else:
                self._corpus = read_corpus(os.fspath(self.where))
        return self._corpus


@dataclass
class Featurised:
    vocab: Vocabulary
    train: Features
    evaluation: Features
    train_key: str
    hits: tuple[bool, bool]  # (training entry, evaluation entry) found in the cache
    seconds: float


def _save(folder: Path, features: Features, vocab: Vocabulary | None = None) -> None:
    arrays = features.arrays()
    if vocab is not None:
        arrays |= {
            "terms": np.array(vocab.terms, dtype=str),
            "idf": vocab.idf,
            "labels": np.array(vocab.labels, dtype=str),
        }
    with open(folder / ARRAYS, "wb") as handle:
        np.savez(handle, **arrays)


def _load(folder: Path) -> tuple[Features, dict[str, np.ndarray]]:
    with np.load(folder / ARRAYS, allow_pickle=False) as data:
        arrays = {name: data[name] for name in data.files}
    return Features.from_arrays(arrays), arrays


def cached_features(
    train: Documents,
    evaluation: Documents,
    config: FeatureConfig | None = None,
    root: str | os.PathLike[str] | None = None,
) -> Featurised:
    """Training rows with the vocabulary fitted on them, and the evaluation rows featurised with
    that vocabulary, from the cache when their content was featurised before."""
    started = time.perf_counter()
    config = config or FeatureConfig()
    base = Path(root) if root is not None else default_root()
    train_key = _key("train", config.describe(), train.content_hash())

    def build_train(folder: Path) -> dict[str, Any]:
        vocab, rows = fit(train.corpus(), config)
        _save(folder, rows, vocab)
        return {"role": "train", "config": config.describe(), "content": train.content_hash(),
                "documents": len(rows), "terms": len(vocab.terms)}  # fmt: skip

    train_dir, train_hit = build_once(base, train_key, build_train)
    rows, arrays = _load(train_dir)
    vocab = Vocabulary(
        terms=arrays["terms"].tolist(), idf=arrays["idf"], labels=arrays["labels"].tolist()
    )

    def build_eval(folder: Path) -> dict[str, Any]:
        _save(folder, transform(evaluation.corpus(), vocab))
        return {"role": "evaluation", "train": train_key, "content": evaluation.content_hash()}

    eval_key = _key("evaluation", train_key, evaluation.content_hash())
    eval_dir, eval_hit = build_once(base, eval_key, build_eval)
    eval_rows, _ = _load(eval_dir)
    return Featurised(
        vocab=vocab,
        train=rows,
        evaluation=eval_rows,
        train_key=train_key,
        hits=(train_hit, eval_hit),
        seconds=time.perf_counter() - started,
    )
