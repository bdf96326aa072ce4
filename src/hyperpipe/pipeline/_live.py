"""The live view of a pipeline run's steps shown while waiting for it."""

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


class StepView:
    """A Rich table redrawn in place on a terminal; one line per status change elsewhere."""

    def __init__(self, run: PipelineRun) -> None:
        self._run = run
        self._store = run._store
        self._seen: dict[str, str] = {}
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
        if record.status.is_terminal() and self._seen.get("") != record.status.value:
            self._seen[""] = record.status.value
            print(f"PipelineRun {record.id}: {record.status.value}", flush=True)  # noqa: T201

    def close(self) -> None:
        if self._live is not None:
            self._live.stop()

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
            title=f"Pipeline {record.status.value}",
            box=None,
        )
        for name in names:
            step = latest.get(name)
            if step is None:
                table.add_row(name, "[dim]Waiting[/]", "-", "-")
                continue
            label = self._label(step)
            color = _STYLE.get(step.status.value, "white")
            start, end = step.started_at, step.ended_at
            duration = f"{(end or time.time()) - start:.1f}s" if start else "-"
            table.add_row(name, f"[{color}]{label}[/]", duration, step.id)
        return table
