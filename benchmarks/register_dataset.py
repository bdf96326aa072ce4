"""Time to register the 20 Newsgroups training split (11,314 files) as a dataset version.

Prints, side by side in one run (median of --repeat, each on a fresh workspace):
  first       registering the folder the first time: list, hash every file, store the manifest
  unchanged   registering it again: the sizes and times match, hashes are reused, same version
  one change  one file edited: only that file is hashed again, a new version is stored

    python benchmarks/register_dataset.py [--source ../shared/data/20news-bydate.tar.gz]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from hyperpipe.core import Dataset, Workspace
from hyperpipe.examples.newsgroups import data

DEFAULT_SOURCE = Path(__file__).resolve().parents[2] / "shared/data/20news-bydate.tar.gz"
FOLDER = "newsgroups/20news-bydate/20news-bydate-train"


def measure(source: Path) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        ws = Workspace.create("bench", path=Path(tmp))
        store = ws.get_default_datastore()
        data.extract(source, store._local_path("newsgroups/20news-bydate"))
        times = {}
        for label in ("first", "unchanged", "one change"):
            if label == "one change":
                victim = next(store._local_path(FOLDER).rglob("*/*"))
                victim.write_text(victim.read_text(errors="replace") + "\nedited\n")
            start = time.perf_counter()
            dataset = Dataset.File.from_files((store, FOLDER)).register(
                ws, "newsgroups_train", create_new_version=True
            )
            times[label] = time.perf_counter() - start
            expected = {"first": 1, "unchanged": 1, "one change": 2}[label]
            assert dataset.version == expected, (label, dataset.version)
        assert len(dataset.to_path()) == data.EXPECTED_DOCUMENTS["train"]
        return times


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--source", type=Path, default=Path(os.environ.get(data.ENV_VAR) or DEFAULT_SOURCE)
    )
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    runs = [measure(args.source) for _ in range(args.repeat)]
    print(f"{'registration':<14}{'median s':>10}{'min s':>9}{'max s':>9}{'files/s':>10}")
    for label in runs[0]:
        values = [r[label] for r in runs]
        median = statistics.median(values)
        rate = data.EXPECTED_DOCUMENTS["train"] / median
        print(f"{label:<14}{median:>10.2f}{min(values):>9.2f}{max(values):>9.2f}{rate:>10,.0f}")
    print(f"\n{data.EXPECTED_DOCUMENTS['train']:,} files, median of {args.repeat} fresh workspaces")


if __name__ == "__main__":
    main()
