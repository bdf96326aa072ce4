"""The drift loop's retrain step: the lab's classifier trained on the training posts plus the
labelled posts of the drifted dataset version, registered as ``newsgroups-classifier``.

    python retrain.py --train <folder of category/docid files> --drifted <named input>
        [--epochs 6] [--hidden 200] [--recent-weight 1] [--recent-days 1]

The drifted dataset is a table with ``text`` and ``label`` columns (the stream's posts, labelled
after they arrived). Reuses the lab's featurising and model code (``../modeling``).

``--recent-weight W``: the labelled posts of the drifted dataset's last ``--recent-days`` days
(counted back from its newest post, by the dataset's timestamp column) count W times a training
post in the loss. After a drift those few posts are the only examples of what the model now
sees (a topic it never saw, later threads); at weight 1 the training posts outnumber them. The
default, 1, trains on every post alike.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "modeling"))

import features  # noqa: E402
import model as lab  # noqa: E402

from hyperpipe.core import Run  # noqa: E402

if TYPE_CHECKING:
    import pandas as pd


def recent_weights(timestamps: pd.Series, days: float, weight: float) -> np.ndarray:
    """One loss weight per labelled post: ``weight`` for posts within ``days`` of the newest
    post (by ``timestamps``), 1 for the others."""
    if weight <= 0 or days <= 0:
        raise ValueError(
            f"--recent-weight ({weight}) and --recent-days ({days}) must be above 0; "
            "use --recent-weight 1 to weigh every post alike"
        )
    import pandas as pd

    when = pd.to_datetime(timestamps)
    if len(when) == 0:
        return np.ones(0)
    recent = (when > when.max() - pd.Timedelta(days=days)).to_numpy()
    return np.where(recent, weight, 1.0)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--train", required=True)
    parser.add_argument("--drifted", default=None)
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--hidden", type=int, default=200)
    parser.add_argument("--recent-weight", type=float, default=1.0)
    parser.add_argument("--recent-days", type=float, default=1.0)
    args = parser.parse_args()
    run = Run.get_context()
    corpus = features.read_corpus(args.train)
    texts, categories = list(corpus.texts), list(corpus.categories)
    drifted = run.input_datasets["drifted"]
    table = drifted.to_pandas_dataframe()
    labelled = table.dropna(subset=["label"])
    timestamp = drifted.timestamp_columns[0]
    new_weights = (
        recent_weights(labelled[timestamp], args.recent_days, args.recent_weight)
        if timestamp
        else np.ones(len(labelled))  # no timestamps: no post is more recent than another
    )
    texts += [str(t).encode("latin-1", "replace") for t in labelled["text"]]
    categories += [str(c) for c in labelled["label"]]
    combined = features.Corpus(
        paths=[f"{c}/{i}" for i, c in enumerate(categories)],
        categories=categories,
        texts=texts,
        content_hash="",
    )
    vocab, rows = features.fit(combined, features.FeatureConfig())
    hp = lab.Hyperparameters(num_epochs=args.epochs, hidden_size=args.hidden)
    weights = np.concatenate([np.ones(len(corpus.texts)), new_weights])
    result = lab.train(
        rows, len(vocab.terms), len(vocab.labels), hp, seed=0, sample_weights=weights
    )
    os.makedirs("outputs", exist_ok=True)
    lab.save("outputs/model.pt", result.model, vocab, hp)
    run.log("training_posts", len(texts))
    run.log("new_posts", len(labelled))
    run.log("recent_posts", int((new_weights != 1).sum()))
    run.log("recent_weight", args.recent_weight)
    registered = run.register_model(
        "newsgroups-classifier",
        "outputs/model.pt",
        tags={"new_posts": len(labelled), "classes": len(vocab.labels)},
    )
    print(f"registered {registered.name} version {registered.version} ({len(texts)} posts)")


if __name__ == "__main__":
    main()
