"""``HyperDriveRun``: the parent run of a sweep, with SDK v1's ways to read its trials."""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING, Any

from hyperpipe.core import _lifecycle
from hyperpipe.core._run import Run
from hyperpipe.core._waiting import EndWatch
from hyperpipe.exceptions import UserErrorException
from hyperpipe.store import RunStatus
from hyperpipe.train.hyperdrive._goal import PrimaryMetricGoal

if TYPE_CHECKING:
    from hyperpipe.store import RunRecord

__all__ = ["HyperDriveRun"]


class HyperDriveRun(Run):
    """A sweep's run; its children are the trials (``<id>_0``, ``<id>_1``, ...)."""

    @property
    def _sweep(self) -> dict[str, Any]:
        return self._record.definition["hyperdrive"]

    @property
    def _goal(self) -> PrimaryMetricGoal:
        return PrimaryMetricGoal[self._sweep["primary_metric_goal"]]

    @property
    def primary_metric_name(self) -> str:
        return self._sweep["primary_metric_name"]

    def _trials(self) -> list[RunRecord]:
        return self._store.list_runs(parent_id=self.id, newest_first=False)

    def _best_values(self, trials: list[RunRecord]) -> dict[str, float]:
        metric = self.primary_metric_name
        by_key = self._store.get_metrics([t.key for t in trials], [metric])
        best = {}
        for trial in trials:
            values = [
                float(p.data)
                for s in by_key.get(trial.key, [])
                for p in s.points
                if isinstance(p.data, (int, float)) and not isinstance(p.data, bool)
            ]
            if values:
                best[trial.id] = (
                    max(values) if self._goal == PrimaryMetricGoal.MAXIMIZE else min(values)
                )
        return best

    def get_hyperparameters(self) -> dict[str, str]:
        """``{trial run id: JSON string of its hyperparameters}`` (SDK v1: ``json.loads`` them)."""
        return {t.id: t.properties.get("hyperparameters", "{}") for t in self._trials()}

    def get_metrics(
        self,
        name: str | None = None,
        recursive: bool = False,
        run_type: str | None = None,
        populate: bool = False,
    ) -> dict[str, Any]:  # type: ignore[override]
        """``{trial run id: its metrics}`` for every trial (SDK v1 shapes)."""
        from hyperpipe.core._metrics import shape_metrics

        trials = self._trials()
        names = [name] if name else None
        by_key = self._store.get_metrics([t.key for t in trials], names)
        return {t.id: shape_metrics(by_key.get(t.key, [])) for t in trials}

    def get_children_sorted_by_primary_metric(
        self, top: int = 0, reverse: bool = False, discard_no_metric: bool = False
    ) -> list[dict[str, Any]]:
        """Trials best first: ``{"run_id", "hyperparameters", "best_primary_metric", "status"}``.

        ``reverse`` flips only the trials that logged the metric; the others come last unless
        ``discard_no_metric``.
        """
        if not isinstance(top, int) or top < 0:
            raise UserErrorException(f"top must be a non-negative integer, got {top!r}")
        trials = self._trials()
        best = self._best_values(trials)
        maximize = self._goal == PrimaryMetricGoal.MAXIMIZE
        scored = sorted(
            (t for t in trials if t.id in best),
            key=lambda t: best[t.id],
            reverse=maximize != reverse,
        )
        rows = [_row(t, best.get(t.id)) for t in scored]
        if not discard_no_metric:
            rows += [_row(t, None) for t in trials if t.id not in best]
        return rows[:top] if top else rows

    def get_best_run_by_primary_metric(
        self,
        include_failed: bool = True,
        include_canceled: bool = True,
        include_resume_from_runs: bool = True,
    ) -> Run | None:
        """The trial with the best value of the primary metric (None if no trial logged it)."""
        skip = set()
        if not include_failed:
            skip |= {RunStatus.FAILED.value, RunStatus.CRASHED.value}
        if not include_canceled:
            skip.add(RunStatus.CANCELED.value)
        for row in self.get_children_sorted_by_primary_metric(discard_no_metric=True):
            if row["status"] not in skip:
                return Run.get(self._workspace, row["run_id"])
        return None

    def wait_for_completion(
        self,
        show_output: bool = False,
        wait_post_processing: bool = False,
        raise_on_error: bool = True,
    ) -> dict[str, Any]:
        """Wait for the sweep to end; with ``show_output`` print each trial as it ends."""
        seen: set[str] = set()
        delay = 0.02
        try:
            with EndWatch() as watch:
                while True:
                    record = self._refresh()
                    if show_output:
                        self._print_progress(seen)
                    if record.status.is_terminal():
                        break
                    watch.sleep(record, delay)
                    delay = min(delay * 1.5, 0.5)
        except KeyboardInterrupt:
            _lifecycle.left_running(self.id, "HyperDrive run")
            raise
        details = self.get_details()
        if raise_on_error:
            self._raise_if_failed(record, "HyperDrive run", details)
        return details

    def _print_progress(self, seen: set[str]) -> None:
        every = self._trials()
        trials = [t for t in every if t.status.is_terminal() and t.id not in seen]
        if not trials:
            return
        best = self._best_values(trials)
        for trial in trials:
            seen.add(trial.id)
            value = best.get(trial.id)
            shown = f"{self.primary_metric_name}={value:.4g}" if value is not None else "no metric"
            hyperparameters = trial.properties.get("hyperparameters", "")
            print(  # noqa: T201 - show_output streams progress to the user
                f"  trial {trial.id}: {trial.status.value}  {shown}  {hyperparameters}",
                file=sys.stdout,
                flush=True,
            )
        print(self._progress_line(every), file=sys.stdout, flush=True)  # noqa: T201

    def _progress_line(self, trials: list[RunRecord]) -> str:
        """``[12/80 done, 2 running, best accuracy 0.85, about 3.1 min left]``: the sweep so far,
        its time left estimated from the pace of the trials done so far."""
        total = self._sweep.get("max_total_runs") or len(trials)
        done = [t for t in trials if t.status.is_terminal()]
        running = sum(1 for t in trials if not t.status.is_terminal())
        values = self._best_values(done)
        parts = [f"{len(done)}/{total} done", f"{running} running"]
        if values:
            pick = max if self._goal == PrimaryMetricGoal.MAXIMIZE else min
            parts.append(f"best {self.primary_metric_name} {pick(values.values()):.4g}")
        started = self._record.started_at
        if started and done and len(done) < total:
            elapsed = time.time() - started
            left = elapsed / len(done) * (total - len(done))
            parts.append(
                f"about {left / 60:.1f} min left" if left >= 60 else f"about {left:.0f} s left"
            )
        return f"  [{', '.join(parts)}]"

    def resume(self) -> HyperDriveRun:
        """Continue a sweep whose driver crashed (or that was cancelled): finished trials count,
        the sampler is told what they found, and the remaining budget runs."""
        from hyperpipe.train.hyperdrive._driver import start_driver

        self._requeue("HyperDrive run")
        start_driver(self._workspace, self.id)
        return self

    def fail(
        self, error_details: Any = None, error_code: str | None = None, _set_status: bool = True
    ) -> None:
        raise NotImplementedError("a HyperDrive run fails when its trials do; cancel() stops it")

    def get_diagnostics(self) -> None:
        raise NotImplementedError("get_diagnostics is not available for HyperDrive runs")


def _row(trial: RunRecord, value: float | None) -> dict[str, Any]:
    return {
        "run_id": trial.id,
        "hyperparameters": trial.properties.get("hyperparameters"),
        "best_primary_metric": value,
        "status": trial.status.value,
    }
