"""Portal under load: page and API latency with 10,000 runs and one 100,000-point metric.

Fills a workspace's store through the store API (one experiment of --runs runs, mostly Completed,
some Failed/Canceled, a few Running, tags on some; the newest run holds --points values of a
scalar "loss", every other run --points-per-run values), starts `python -m hyperpipe portal` as a
real server and times each address with one keep-alive HTTP client: two warm-up requests, then
--repeat timed ones. Prints, side by side,
median, p90 and max in ms per address; rows marked "goal" count towards the requirement:
the runs list page and the metrics API answer in <= 300 ms (median of 20 requests).
Numbers from a shared machine are noisy: rerun before trusting a figure near the goal.

    python benchmarks/portal_load.py [--runs 10000] [--points 100000] [--points-per-run 50]
                                     [--repeat 20] [--workspace PATH]  # reused; filled once
"""

from __future__ import annotations

import argparse
import contextlib
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

from hyperpipe.core import Workspace
from hyperpipe.store import NewPoint, RunStatus

if TYPE_CHECKING:
    from collections.abc import Iterator

    from hyperpipe.store import Store

EXPERIMENT = "portal-load"
BIG_RUN_NAME = "long-training"
GOAL_MS = 300.0
# How runs end, in percent: Running ones stay so (they have no pid, so the portal leaves them be).
MIX = [RunStatus.COMPLETED] * 85 + [RunStatus.FAILED] * 8 + [RunStatus.CANCELED] * 5
MIX += [RunStatus.RUNNING] * 2
BATCH = 10_000


def fill(store: Store, n_runs: int, n_points: int, per_run: int) -> None:
    """n_runs runs in EXPERIMENT, each with per_run values of "loss"; the last (newest) one gets
    n_points values instead. The other runs' points make the store realistic: a query that scans
    every point of the store, not just one run's, shows up here.

    The store stamps start and end times itself, so durations here are milliseconds.
    """
    rng = random.Random(42)
    start = time.perf_counter()
    for i in range(1, n_runs + 1):
        last = i == n_runs
        tags = {"lr": f"{rng.choice((0.1, 0.01, 0.001))}", "team": "vision"} if i % 5 == 0 else {}
        run = store.create_run(
            experiment_name=EXPERIMENT,
            run_id=f"{EXPERIMENT}_{int(time.time())}_{uuid.uuid4().hex[:8]}",
            run_type="azureml.scriptrun",
            status=RunStatus.RUNNING,
            display_name=BIG_RUN_NAME if last else f"train-{i:05d}",
            target="local",
            definition={"script": "train.py", "arguments": ["--epochs", str(rng.randint(1, 50))]},
            tags=tags,
        )
        if not last and per_run:
            now = time.time()
            store.log_metrics(
                run.key,
                [NewPoint("loss", "scalar", 1.0 / (1 + s), None, now, s) for s in range(per_run)],
            )
        ending = RunStatus.COMPLETED if last else rng.choice(MIX)
        if ending == RunStatus.FAILED:
            error = {"error": {"code": "UserError", "message": "loss diverged"}}
            store.set_status(run.id, ending, error=error)
        elif ending != RunStatus.RUNNING:
            store.set_status(run.id, ending)
        if i % 1000 == 0 or last:
            print(f"  runs {i:>7,}/{n_runs:,}  {time.perf_counter() - start:6.1f} s", flush=True)
    now = time.time()
    for first in range(0, n_points, BATCH):
        batch = [
            NewPoint("loss", "scalar", 2.0 / (1 + s / 1000) + rng.gauss(0, 0.02), None, now, s)
            for s in range(first, min(n_points, first + BATCH))
        ]
        store.log_metrics(run.key, batch)
    print(f"  points {n_points:,} on run {run.id}  {time.perf_counter() - start:6.1f} s")


def big_run_id(store: Store) -> str:
    found = store.list_runs(experiment_name=EXPERIMENT, display_name=BIG_RUN_NAME, limit=1)
    if not found:
        sys.exit(
            f"experiment {EXPERIMENT!r} has no run named {BIG_RUN_NAME!r}: use a new --workspace"
        )
    return found[0].id


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def portal(root: Path, log: Path) -> Iterator[str]:
    """A portal server process on a free loopback port; its base URL while the block runs."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "hyperpipe", "-w", str(root), "portal", "--port", str(port)]
    with open(log, "wb") as out:
        server = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            if server.poll() is not None:
                sys.exit(f"the portal exited ({server.returncode}):\n{log.read_text()}")
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{base}/api/experiments", timeout=5).status_code == 200:
                    break
            if time.monotonic() > deadline:
                sys.exit(f"the portal did not answer within 60 s:\n{log.read_text()}")
            time.sleep(0.2)
        yield base
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def measure(client: httpx.Client, url: str, repeat: int, count: int | None) -> list[float]:
    """Milliseconds per request, body read, after two warm-ups; every answer is checked."""
    times = []
    for i in range(repeat + 2):
        start = time.perf_counter()
        response = client.get(url)
        elapsed = 1000 * (time.perf_counter() - start)
        if response.status_code != 200:
            sys.exit(f"GET {url} answered {response.status_code}: {response.text[:300]}")
        if count is not None and response.json()["count"] != count:
            sys.exit(f"GET {url} says count {response.json()['count']}, expected {count}")
        if i >= 2:
            times.append(elapsed)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--points", type=int, default=100_000)
    parser.add_argument(
        "--points-per-run", type=int, default=50, help="values of loss in every other run"
    )
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--workspace", type=Path, help="reuse (and fill once) this workspace")
    args = parser.parse_args()
    with contextlib.ExitStack() as stack:
        root = args.workspace or Path(stack.enter_context(tempfile.TemporaryDirectory()))
        root = root.resolve()
        if (root / ".azureml" / "config.json").exists():
            ws = Workspace.from_config(path=root)
        else:
            ws = Workspace.create("bench", path=root, show_output=False)
        store = ws._store
        if store.get_experiment(EXPERIMENT) is None:
            print(
                f"filling {root}: {args.runs:,} runs with {args.points_per_run} points each, "
                f"one with {args.points:,}",
                flush=True,
            )
            start = time.perf_counter()
            fill(store, args.runs, args.points, args.points_per_run)
            print(f"filled in {time.perf_counter() - start:.1f} s")
        else:
            print(f"reusing {root}: already filled (experiment {EXPERIMENT!r} exists)")
        total = store.count_runs(experiment_name=EXPERIMENT, top_level_only=True)
        run_id = big_run_id(store)
        points = store.metric_summaries(store.get_run(run_id).key)[0].count
        last_page = max(0, (total - 1) // 50 * 50)
        small_id = store.list_runs(experiment_name=EXPERIMENT, limit=1, offset=1)[0].id
        page = f"/experiments/{EXPERIMENT}"
        checks: list[tuple[str, str, bool, int | None]] = [
            ("runs page", page, True, None),
            ("runs page, by duration desc", f"{page}?order=-duration", True, None),
            ("runs page, status=Failed", f"{page}?status=Failed", True, None),
            ("runs page, by last loss", f"{page}?order=metric:loss", True, None),
            (f"runs page, last (offset={last_page})", f"{page}?offset={last_page}", True, None),
            ("runs JSON", f"/api/experiments/{EXPERIMENT}/runs", True, None),
            ("metrics API (max_points=2000)", f"/api/runs/{run_id}/metrics/loss", True, points),
            ("metrics API, a typical run", f"/api/runs/{small_id}/metrics/loss", True, None),
            (
                "metrics API, all (max_points=0)",
                f"/api/runs/{run_id}/metrics/loss?max_points=0",
                False,
                points,
            ),
            ("run page of the long run", f"/runs/{run_id}", False, None),
        ]
        log = Path(stack.enter_context(tempfile.TemporaryDirectory())) / "portal.log"
        base = stack.enter_context(portal(root, log))
        client = stack.enter_context(httpx.Client(base_url=base, timeout=120))
        print(f"\n{total:,} runs, {points:,} points in the long run; {args.repeat} requests each")
        print(f"{'GET':<36}{'median ms':>10}{'p90':>8}{'max':>8}   goal")
        verdicts = []
        for label, url, goal, count in checks:
            ms = measure(client, url, args.repeat, count)
            median = statistics.median(ms)
            p90 = statistics.quantiles(ms, n=10, method="inclusive")[8]
            mark = ("ok" if median <= GOAL_MS else "OVER") if goal else "(info)"
            if goal:
                verdicts.append(median <= GOAL_MS)
            print(f"{label:<36}{median:>10.1f}{p90:>8.1f}{max(ms):>8.1f}   {mark}", flush=True)
    verdict = "PASS" if all(verdicts) else "FAIL"
    print(
        f"\n{verdict}: runs list page and metrics API medians "
        f"{'all within' if all(verdicts) else 'NOT all within'} {GOAL_MS:.0f} ms "
        f"({sum(verdicts)}/{len(verdicts)} goal rows ok; shared machine, numbers are noisy)"
    )


if __name__ == "__main__":
    main()
