"""``python -m hyperpipe.datadrift check NAME [--target-date YYYY-MM-DD]``: one check of a
monitor, as its scheduled pipeline step runs it (default: the latest complete period)."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime


def main(argv: list[str] | None = None) -> int:
    from hyperpipe.core import Run, Workspace
    from hyperpipe.datadrift import DataDriftDetector

    parser = argparse.ArgumentParser(prog="python -m hyperpipe.datadrift")
    commands = parser.add_subparsers(dest="command", required=True)
    one = commands.add_parser("check", help="check one period of a monitor")
    one.add_argument("name")
    one.add_argument("--target-date", type=datetime.fromisoformat, default=None)
    one.add_argument("--workspace", default=None, help="workspace folder (default: the run's)")
    args = parser.parse_args(argv)
    if args.workspace:
        workspace = Workspace.from_config(path=args.workspace)
    else:
        context = Run.get_context(allow_offline=True)
        experiment = getattr(context, "experiment", None)
        workspace = experiment.workspace if experiment is not None else Workspace.from_config()
    detector = DataDriftDetector.get_by_name(workspace, args.name)
    target = args.target_date or detector.latest_complete_period()[0]
    run = detector.run(target)
    result = detector.get_output(run_id=run.id)[0][0]["result"][0]
    print(
        f"{detector.name} {result['start_date']}..{result['end_date']}: "
        f"has_drift={result['has_drift']} p={result['p_value']:.3g} "
        f"n={result['window_size']} run {run.id}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
