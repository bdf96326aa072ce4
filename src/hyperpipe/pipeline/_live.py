"""The live view of a pipeline run's steps shown while waiting for it; a step that sweeps shows
the sweep's progress (trials done of all, running, best so far, time left) as a bare sweep's
``wait_for_completion(show_output=True)`` does."""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.live import Live
    from rich.table import Table

    from hyperpipe.pipeline.core._pipeline_run import PipelineRun
    from hyperpipe.store import RunRecord

_STYLE = {
    "Finished": "green",
    "Failed": "red",
    "Crashed": "red",
    "Canceled": "yellow",
    "Running": "cyan",
}
# How often a sweep's progress is read again (it lists the trials and their metric).
PROGRESS_EVERY_S = 1.0


class StepView:
    """A Rich table redrawn in place on a terminal; one line per status change elsewhere."""

    def __init__(self, run: PipelineRun) -> None:
        self._run = run
        self._store = run._store
        self._seen: dict[str, str] = {}
        self._progress: dict[str, tuple[float, str | None]] = {}
        self._live: Live | None = None
        print(f"PipelineRun {run.id} (experiment {run.experiment.name})", flush=True)  # noqa: T201
        if sys.stdout.isatty():  # Rich is loaded only for the in-place view
            from rich.console import Console
            from rich.live import Live

            console = Console(file=sys.stdout)
            if console.is_terminal:
                self._live = Live(console=console, refresh_per_second=8, transient=False)
                self._live.start()

    def update(self, record: RunRecord) -> None:
        steps = self._store.list_runs(parent_id=record.id, newest_first=False)
        names = [s["name"] for s in record.definition.get("steps", [])]
        latest = {s.display_name: s for s in steps}
        if self._live is not None:
            self._live.update(self._table(record, names, latest))
            return
        for name in names:
            step = latest.get(name)
            status = self._label(step) if step else "Waiting"
            if self._seen.get(name) != status and step is not None:
                self._seen[name] = status
                print(f"  step {name}: {status}", flush=True)  # noqa: T201
            progress = self.sweep_progress(step) if step is not None else None
            # A line when a trial ends (or starts), not each time the time left is re-estimated.
            if progress and self._seen.get(f"sweep:{name}") != progress.split(", best")[0]:
                self._seen[f"sweep:{name}"] = progress.split(", best")[0]
                print(f"  step {name}: [{progress}]", flush=True)  # noqa: T201
        if record.status.is_terminal() and self._seen.get("") != record.status.value:
            self._seen[""] = record.status.value
            print(f"PipelineRun {record.id}: {record.status.value}", flush=True)  # noqa: T201

    def close(self) -> None:
        if self._live is not None:
            self._live.stop()

    def sweep_progress(self, step: RunRecord) -> str | None:
        """``12/80 done, 2 running, best accuracy 0.85, about 3.1 min left`` for a step that runs
        a sweep (None for other steps, and for a step that reused an earlier one's results)."""
        now = time.monotonic()
        cached = self._progress.get(step.id)
        # A step that has just ended is read once more, so its last counts are shown.
        if cached is not None and (
            cached[0] == float("inf")
            or (not step.status.is_terminal() and now - cached[0] < PROGRESS_EVERY_S)
        ):
            return cached[1]
        found = self._store.list_runs(parent_id=step.id, run_type="hyperdrive", limit=1)
        line = None
        if found:
            from hyperpipe.train.hyperdrive._run import HyperDriveRun

            sweep = HyperDriveRun._from_record(self._run.experiment, found[0])
            assert isinstance(sweep, HyperDriveRun)
            line = sweep._progress_line(sweep._trials()).strip().removeprefix("[").removesuffix("]")
        # A sweep that has ended does not change: no need to read it again.
        self._progress[step.id] = (now if not step.status.is_terminal() else float("inf"), line)
        return line

    @staticmethod
    def _label(step: Any) -> str:
        reused = step.definition.get("reuse", {}).get("reused")
        return f"{step.status.value} (reused)" if reused else step.status.value

    def _table(self, record: RunRecord, names: list[str], latest: dict[str, Any]) -> Table:
        from rich.table import Table

        table = Table(
            "Step",
            "Status",
            "Duration",
            "Run id",
            "Progress",
            title=f"Pipeline {record.status.value}",
            box=None,
        )
        for name in names:
            step = latest.get(name)
            if step is None:
                table.add_row(name, "[dim]Waiting[/]", "-", "-", "")
                continue
            label = self._label(step)
            color = _STYLE.get(step.status.value, "white")
            start, end = step.started_at, step.ended_at
            duration = f"{(end or time.time()) - start:.1f}s" if start else "-"
            table.add_row(
                name, f"[{color}]{label}[/]", duration, step.id, self.sweep_progress(step) or ""
            )
        return table
