"""Faults at scale: seeded ``kill -9`` of every kind of hyperpipe process, then full disks, a
read-only datastore and concurrent submitters; prints what held and what did not.

For each process kind (submitter, orchestrator, sweep driver, fork server, monitor, step,
trial, and a resume that is itself killed) it runs real workloads (``hyperpipe.testing.faults``),
kills one process of that kind at a seeded random moment (a third of them within 100 ms of the
process appearing), lets the run end by itself or resumes it once, and counts:

  kills       cases where a process of that kind was killed
  finished    runs that reached a final status by themselves or after one resume (a pipeline or
              a sweep: successfully; a script run, which cannot be resumed: any final status)
  reruns      finished steps that ran again
  partial     partial outputs left in the datastore (staged copies, outputs of unfinished
              steps, files unlike the manifest their step wrote)
  lost / dup  logged metric values missing from, or doubled in, the store
  left        processes of the case still running after it ended
  integrity   SQLite stores failing PRAGMA integrity_check

Goal: everything 0 except kills and finished (= kills). Then the special cases, each one line.

    python benchmarks/faults.py --kills 200 [--seed 1] [--keep]

Cases run one at a time by default (this machine has two cores; the timings of a kill are the
point, and a loaded machine moves them). A full run of 200 kills takes about 40 minutes here.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from hyperpipe.testing.faults import (
    KINDS,
    CaseResult,
    MountNotAllowed,
    concurrent_case,
    disk_case,
    plan,
    run_case,
)

COLUMNS = ("kills", "finished", "reruns", "partial", "lost", "dup", "left", "integrity")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=200, help="cases, spread over the kinds")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--values", type=int, default=12, help="metric values each script logs")
    parser.add_argument("--keep", action="store_true", help="keep the case folders")
    parser.add_argument("--skip-special", action="store_true", help="only the kills")
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="hyperpipe-faults-"))
    started = time.monotonic()
    rows: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(COLUMNS, 0))
    failures: list[CaseResult] = []
    cases = plan(args.kills, args.seed, root, values=args.values)
    for n, case in enumerate(cases, 1):
        result = run_case(case)
        row = rows[case.kill or "none"]
        killed = bool(result.killed)
        row["kills"] += killed
        row["finished"] += killed and result.finished
        row["reruns"] += result.reruns
        row["partial"] += result.partial_outputs
        row["lost"] += result.lost_metrics
        row["dup"] += result.duplicated_metrics
        row["left"] += result.leftover_processes
        row["integrity"] += result.integrity_failures
        if not result.ok():
            failures.append(result)
        print(  # progress: one line per case
            f"[{n}/{len(cases)}] {case.name}: killed {result.killed or '-'}, "
            f"{result.final_status} after {result.resumes} resume(s), "
            f"{'ok' if result.ok() else 'PROBLEMS'} ({result.seconds:.1f} s)",
            file=sys.stderr,
            flush=True,
        )
        if not args.keep and result.ok():
            shutil.rmtree(case.folder, ignore_errors=True)

    print(f"\nkill -9 at random moments: {args.kills} cases, seed {args.seed}\n")
    header = f"{'process kind':<14}" + "".join(f"{c:>10}" for c in COLUMNS)
    print(header)
    print("-" * len(header))
    totals = dict.fromkeys(COLUMNS, 0)
    for kind in KINDS:
        row = rows.get(kind, dict.fromkeys(COLUMNS, 0))
        for column in COLUMNS:
            totals[column] += row[column]
        print(f"{kind:<14}" + "".join(f"{row[c]:>10}" for c in COLUMNS))
    print("-" * len(header))
    print(f"{'total':<14}" + "".join(f"{totals[c]:>10}" for c in COLUMNS))
    bad = sum(totals[c] for c in COLUMNS[2:]) + totals["kills"] - totals["finished"]
    print(f"goal (all 0 but kills, finished = kills): {'MET' if bad == 0 else 'NOT MET'}")

    if not args.skip_special:
        print("\nspecial cases")
        specials = [
            ("8 concurrent submitters", lambda: concurrent_case(8, root, values=5)),
            ("full datastore (tmpfs)", lambda: disk_case("datastore", root)),
            ("full run folders (tmpfs)", lambda: disk_case("runs", root)),
            ("full store (tmpfs)", lambda: disk_case("store", root)),
            ("read-only datastore", lambda: disk_case("datastore", root, read_only=True)),
        ]
        for label, make in specials:
            try:
                result = make()
            except MountNotAllowed as exc:
                print(f"  {label:<28} skipped: {exc}")
                continue
            verdict = "ok" if result.ok() else "PROBLEMS"
            print(
                f"  {label:<28} {verdict}: {result.final_status} after {result.resumes} "
                f"resume(s), {result.seconds:.1f} s"
            )
            if not result.ok():
                failures.append(result)
            elif result.errors:
                print(f"  {'':<28} error shown: {result.errors[0][:160]}")

    for result in failures:
        print(f"\n{result.case.name} (folder {result.case.folder}):")
        for problem in result.problems:
            print(f"  {problem}")
    print(f"\n{time.monotonic() - started:.0f} s in all; case folders under {root}")
    if not args.keep and not failures:
        shutil.rmtree(root, ignore_errors=True)
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())
