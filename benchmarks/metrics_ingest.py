"""Metric ingest throughput: one run logging N values, end to end (logged → in the store).

Prints, side by side in one run, points/s for:
  run.log      Run.log() per value, journaled, batched in the background, flushed at the end
  store only   the same values handed to the store in batches (the floor under run.log)
Each figure is the median of --repeat runs on a fresh SQLite workspace (and PostgreSQL when
HYPERPIPE_TEST_POSTGRES_URL is set). Goal: run.log >= 100,000 points/s for 100,000 values.

    python benchmarks/metrics_ingest.py [--values 100000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from hyperpipe.core import Experiment, Workspace
from hyperpipe.store import NewPoint


def bench_run_log(ws: Workspace, n: int) -> float:
    run = Experiment(ws, "bench").start_logging()
    run._own_process = True  # journaled, exactly as inside a submitted script
    start = time.perf_counter()
    for i in range(n):
        run.log("loss", 1.0 / (i + 1))
    run.flush()
    elapsed = time.perf_counter() - start
    stored = run.get_metrics()["loss"]
    assert len(stored) == n, f"only {len(stored)} of {n} values stored"
    run.complete()
    return n / elapsed


def bench_store(ws: Workspace, n: int, batch: int = 20_000) -> float:
    run = Experiment(ws, "bench").start_logging()
    now = time.time()
    points = [NewPoint("loss", "scalar", 1.0 / (i + 1), None, now) for i in range(n)]
    start = time.perf_counter()
    for i in range(0, n, batch):
        ws._store.log_metrics(run._record.key, points[i : i + batch])
    elapsed = time.perf_counter() - start
    run.complete()
    return n / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--values", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    stores = {"sqlite": None}
    if os.environ.get("HYPERPIPE_TEST_POSTGRES_URL"):
        stores["postgresql"] = os.environ["HYPERPIPE_TEST_POSTGRES_URL"]
    print(f"{'store':<12}{'path':<14}{'median points/s':>18}{'min':>12}{'max':>12}")
    for label, url in stores.items():
        with tempfile.TemporaryDirectory() as tmp:
            ws = Workspace.create("bench", path=Path(tmp), store_url=url)
            for name, bench in (("run.log", bench_run_log), ("store only", bench_store)):
                rates = [bench(ws, args.values) for _ in range(args.repeat)]
                print(
                    f"{label:<12}{name:<14}{statistics.median(rates):>18,.0f}{min(rates):>12,.0f}{max(rates):>12,.0f}",
                    flush=True,
                )
    print(
        f"\n{args.values:,} values per measurement, median of {args.repeat}; "
        "goal run.log >= 100,000 points/s"
    )


if __name__ == "__main__":
    main()
