"""The drift loop's retrain step: the lab's classifier trained on the training posts plus the
labelled posts of the drifted dataset version, registered as ``newsgroups-classifier``.

    python retrain.py --train <folder of category/docid files> --drifted <named input>
        [--epochs 6] [--hidden 200]

The drifted dataset is a table with ``text`` and ``label`` columns (the stream's posts, labelled
after they arrived). Reuses the lab's featurising and model code (``../modeling``).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "modeling"))

import features  # noqa: E402
import model as lab  # noqa: E402

from hyperpipe.core import Run  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--train", required=True)
    parser.add_argument("--drifted", default=None)
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--hidden", type=int, default=200)
    args = parser.parse_args()
    run = Run.get_context()
    corpus = features.read_corpus(args.train)
    texts, categories = list(corpus.texts), list(corpus.categories)
    table = run.input_datasets["drifted"].to_pandas_dataframe()
    labelled = table.dropna(subset=["label"])
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
    result = lab.train(rows, len(vocab.terms), len(vocab.labels), hp, seed=0)
    os.makedirs("outputs", exist_ok=True)
    lab.save("outputs/model.pt", result.model, vocab, hp)
    run.log("training_posts", len(texts))
    run.log("new_posts", len(labelled))
    registered = run.register_model(
        "newsgroups-classifier",
        "outputs/model.pt",
        tags={"new_posts": len(labelled), "classes": len(vocab.labels)},
    )
    print(f"registered {registered.name} version {registered.version} ({len(texts)} posts)")


if __name__ == "__main__":
    main()
