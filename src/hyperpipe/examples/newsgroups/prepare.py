"""Register the lab's four datasets from the 20 Newsgroups by-date archive.

``newsgroups_train`` / ``newsgroups_test`` are the standard by-date split (all 20 categories).
``newsgroups_subset_train`` / ``newsgroups_subset_test`` are for tuning: disjoint stratified
samples of the **training** split (default 20 % and 10 % of each category), so tuning never sees
the test split. The files are extracted once into the default datastore; running this again
registers no new versions unless the data or the sampling options changed.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hyperpipe.data._dataset import Dataset
from hyperpipe.examples.newsgroups import data

if TYPE_CHECKING:
    import os

    from hyperpipe.core import Workspace

__all__ = ["DATASET_NAMES", "PreparedDataset", "prepare"]

DATASTORE_FOLDER = "newsgroups/20news-bydate"
DATASET_NAMES = (
    "newsgroups_train",
    "newsgroups_test",
    "newsgroups_subset_train",
    "newsgroups_subset_test",
)


@dataclass(frozen=True)
class PreparedDataset:
    name: str
    version: int
    documents: int
    categories: int
    description: str


def prepare(
    workspace: Workspace,
    source: str | os.PathLike[str] | None = None,
    *,
    train_fraction: float = 0.2,
    validation_fraction: float = 0.1,
    seed: int = 0,
    progress: Any = None,
) -> list[PreparedDataset]:
    """Extract the archive into the default datastore and register the four datasets.

    ``source`` is the archive or its extracted folder; default ``$HYPERPIPE_NEWSGROUPS``, else a
    checksummed download. ``progress(message)`` is called at each stage.
    """
    say = progress or (lambda _message: None)
    datastore = workspace.get_default_datastore()
    archive = data.resolve_source(source, workspace.state_dir / "downloads")
    say(f"source: {archive}")
    local = datastore._local_path(DATASTORE_FOLDER)
    if local is not None:
        root = data.extract(archive, local)
    else:
        scratch = Path(tempfile.mkdtemp(prefix="newsgroups-"))
        root = data.extract(archive, scratch / "20news-bydate")
        datastore.upload(str(root), target_path=DATASTORE_FOLDER, show_progress=True)
    say(f"extracted to {datastore.url}/{DATASTORE_FOLDER}")

    train_docs = data.list_documents(root, "train")
    test_docs = data.list_documents(root, "test")
    subset_train, subset_validation = data.stratified_subsets(
        train_docs, train_fraction, validation_fraction, seed
    )
    sampling = {
        "train_fraction": str(train_fraction),
        "validation_fraction": str(validation_fraction),
        "seed": str(seed),
    }

    def folder(split: str) -> Any:
        return (datastore, f"{DATASTORE_FOLDER}/{data.SPLIT_FOLDERS[split]}")

    def files(docs: list[data.Document]) -> Any:
        return [(datastore, f"{DATASTORE_FOLDER}/{path}") for path, _ in docs]

    plans = [
        ("newsgroups_train", train_docs, folder("train"), "by-date training split", {}),
        ("newsgroups_test", test_docs, folder("test"), "by-date test split", {}),
        (
            "newsgroups_subset_train",
            subset_train,
            files(subset_train),
            f"stratified {train_fraction:.0%} sample of the training split, for tuning",
            sampling,
        ),
        (
            "newsgroups_subset_test",
            subset_validation,
            files(subset_validation),
            f"stratified {validation_fraction:.0%} sample of the training split, disjoint from "
            "newsgroups_subset_train: validation for tuning (never the test split)",
            sampling,
        ),
    ]
    prepared = []
    for name, docs, source, description, tags in plans:
        started = time.perf_counter()
        dataset = Dataset.File.from_files(source).register(
            workspace,
            name,
            description=f"20 Newsgroups: {description}",
            tags={"documents": len(docs), **tags},
            create_new_version=True,
        )
        categories = len(data.summarize(docs))
        say(
            f"{name}: version {dataset.version}, {len(docs):,} documents, {categories} "
            f"categories ({time.perf_counter() - started:.1f}s)"
        )
        prepared.append(
            PreparedDataset(name, dataset.version or 0, len(docs), categories, description)
        )
    return prepared
