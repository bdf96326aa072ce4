"""Scheduler latency and idle cost: a real ``hyperpipe scheduler`` process on a real clock.

Twenty schedules of a one-step published pipeline come due two seconds apart (each with its own
parameter value, so every step really runs); for each, it measures the time from the due time to
the pipeline's first step starting (the step run's start stamp). Then, with the schedules waiting
an hour for their next due time and a datastore schedule polling every minute, it measures the
daemon process's CPU time over 60 s. Printed with the goals beside them:
  due -> first step started   median of 20   goal <= 1 s
  daemon idle CPU             over 60 s      goal <= 1 % of a core

    python benchmarks/scheduler_latency.py [--schedules 20] [--idle-seconds 60]
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import psutil

from hyperpipe.core import Workspace
from hyperpipe.pipeline.core import Pipeline, PipelineParameter, Schedule, ScheduleRecurrence
from hyperpipe.pipeline.steps import PythonScriptStep

STEP = "import sys\nprint('tick', sys.argv[1:])\n"
SPACING_S = 2


def _start(ws: Workspace, log: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if k != "HYPERPIPE_STORE_URL"}
    with open(log, "wb") as out:
        daemon = subprocess.Popen(
            [sys.executable, "-m", "hyperpipe", "-w", str(ws.root), "scheduler"],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
    deadline = time.monotonic() + 60
    while not ws._store.list_schedulers(running_only=True):
        if daemon.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"the scheduler did not start:\n{log.read_text()}")
        time.sleep(0.05)
    return daemon


def _first_step_started(ws: Workspace, schedule: Schedule, timeout: float = 60) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = schedule.get_last_pipeline_run()
        if run is not None:
            starts = [r.started_at for r in ws._store.list_runs(parent_id=run.id) if r.started_at]
            if starts:
                return min(starts)
        time.sleep(0.02)
    raise SystemExit(f"schedule {schedule.name} did not start a step within {timeout} s")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--schedules", type=int, default=20)
    parser.add_argument("--idle-seconds", type=float, default=60.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "src").mkdir()
        (root / "src" / "tick.py").write_text(STEP)
        ws = Workspace.create("bench", path=root / "ws")
        n = PipelineParameter("n", default_value=0)
        step = PythonScriptStep("tick.py", source_directory=root / "src", arguments=["--n", n])
        published = Pipeline(ws, [step]).publish("tick")
        daemon = _start(ws, root / "scheduler.log")
        try:
            first = math.ceil(time.time()) + 5
            schedules = []
            for i in range(args.schedules):
                due = first + SPACING_S * i
                start = datetime.fromtimestamp(due, UTC).strftime("%Y-%m-%dT%H:%M:%S")
                schedules.append(
                    (
                        due,
                        Schedule.create(
                            ws,
                            f"s{i}",
                            published.id,
                            "latency",
                            recurrence=ScheduleRecurrence("Hour", 1, start_time=start),
                            pipeline_parameters={"n": i + 1},
                        ),
                    )
                )
            print(
                f"{args.schedules} schedules due {SPACING_S} s apart from "
                f"{datetime.fromtimestamp(first):%H:%M:%S}...",
                flush=True,
            )
            latencies = []
            for i, (due, schedule) in enumerate(schedules):
                latencies.append(_first_step_started(ws, schedule) - due)
                print(f"  {i + 1:>2}/{args.schedules} {latencies[-1] * 1000:7.0f} ms", flush=True)
            folder = ws.get_default_datastore()._local_path("incoming")
            folder.mkdir(parents=True)
            Schedule.create(
                ws,
                "on-data",
                published.id,
                "latency",
                datastore=ws.get_default_datastore(),
                path_on_datastore="incoming",
                polling_interval=1,
            )
            process = psutil.Process(daemon.pid)
            time.sleep(2.0)  # let it pick the new schedule up before measuring
            before = process.cpu_times()
            time.sleep(args.idle_seconds)
            after = process.cpu_times()
            busy = (after.user - before.user) + (after.system - before.system)
            idle_percent = 100.0 * busy / args.idle_seconds
        finally:
            daemon.terminate()
            daemon.wait(timeout=30)
        for _, schedule in schedules:
            run = schedule.get_last_pipeline_run()
            if run is not None:
                run.wait_for_completion(show_output=False, raise_on_error=False)
    median = statistics.median(latencies)
    print()
    print(f"{'measure':<34}{'value':>12}{'goal':>12}")
    print(f"{'due -> first step started, median':<34}{median * 1000:>10.0f}ms{'<= 1000ms':>12}")
    print(
        f"{'  p90 / max':<34}{statistics.quantiles(latencies, n=10)[-1] * 1000:>10.0f}ms"
        f"{max(latencies) * 1000:>10.0f}ms"
    )
    print(
        f"{'daemon idle CPU over ' + str(int(args.idle_seconds)) + ' s':<34}"
        f"{idle_percent:>11.2f}%{'<= 1%':>12}"
    )
    print(
        f"\nmedian of {len(latencies)} schedules; "
        f"{'both goals met' if median <= 1.0 and idle_percent <= 1.0 else 'GOAL MISSED'}"
    )


if __name__ == "__main__":
    main()
