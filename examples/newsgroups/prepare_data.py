"""Prepare the lab's data: register the 20 Newsgroups datasets in the workspace found from here.

    python examples/newsgroups/prepare_data.py [--source PATH] [--train-fraction 0.2]
        [--validation-fraction 0.1] [--seed 0]

The same as ``hyperpipe example newsgroups prepare``.
"""

from __future__ import annotations

import argparse

from hyperpipe.core import Workspace
from hyperpipe.examples.newsgroups.prepare import prepare


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--source",
        help="archive or extracted folder (default: $HYPERPIPE_NEWSGROUPS, else download)",
    )
    parser.add_argument("--train-fraction", type=float, default=0.2)
    parser.add_argument("--validation-fraction", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--workspace", default=None, help="workspace folder (default: found from here)"
    )
    args = parser.parse_args()
    workspace = Workspace.from_config(path=args.workspace)
    for item in prepare(
        workspace,
        args.source,
        train_fraction=args.train_fraction,
        validation_fraction=args.validation_fraction,
        seed=args.seed,
        progress=print,
    ):
        print(
            f"{item.name:<26} version {item.version}  {item.documents:>6,} documents  "
            f"{item.categories} categories"
        )


if __name__ == "__main__":
    main()
