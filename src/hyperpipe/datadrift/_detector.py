"""SDK v1's ``DataDriftDetector``: a named monitor comparing a target dataset's recent windows
with a baseline, its definition kept (versioned) in the store, each check a run.

hyperpipe's extensions, all keyword-only: ``model`` and ``scoring_script`` (watch a registered
model's class probabilities), ``alpha`` (the false-alarm level of the calibrated tests, used
when ``drift_threshold`` is not given), and ``AlertConfiguration(pipeline_endpoint=...)``.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hyperpipe._surface import SdkV1Surface
from hyperpipe.datadrift._alert import AlertConfiguration
from hyperpipe.datadrift._check import DRIFT_TYPE, OUTPUT_FILE, check, experiment_name
from hyperpipe.datadrift._periods import period_of, periods_between, shift
from hyperpipe.datadrift._validation import (
    BACKFILL_BATCH_LIMIT,
    DEFAULT_DRIFT_THRESHOLD,
    check_baseline,
    check_date,
    check_drift_threshold,
    check_feature_list,
    check_frequency,
    check_latency,
    check_name,
    check_target,
)
from hyperpipe.exceptions import DataDriftNameError, UserErrorException

if TYPE_CHECKING:
    from hyperpipe.core import Run, Workspace

__all__ = ["DataDriftDetector"]

ENABLED, DISABLED, DELETED = "Enabled", "Disabled", "Deleted"


class DataDriftDetector(SdkV1Surface):
    """A data drift monitor. ``DataDriftDetector(ws, name, baseline, target, ...)`` or
    ``create_from_datasets`` creates one (``KeyError`` if the name is taken); ``get_by_name``
    gets it back."""

    def __init__(
        self,
        workspace: Workspace,
        name: str,
        baseline_dataset: Any = None,
        target_dataset: Any = None,
        compute_target: Any = None,
        frequency: str | None = None,
        feature_list: list[str] | None = None,
        alert_config: AlertConfiguration | None = None,
        drift_threshold: float | None = None,
        latency: int | None = None,
        *,
        model: Any = None,
        scoring_script: str | os.PathLike[str] | None = None,
        alpha: float = 0.05,
        _definition: dict[str, Any] | None = None,
    ) -> None:
        self._workspace = workspace
        if _definition is not None:
            self._definition = _definition
            return
        check_name(name)
        existing = workspace._store.get_datadrift(name)
        if existing is not None and existing.definition.get("state") != DELETED:
            raise DataDriftNameError(
                f"a data drift monitor named {name!r} already exists: get it with "
                f"DataDriftDetector.get_by_name(ws, {name!r}) or choose another name"
            )
        baseline = check_baseline(baseline_dataset)
        target = check_target(target_dataset)
        if alert_config is not None and not isinstance(alert_config, AlertConfiguration):
            raise UserErrorException(
                f"alert_config must be an AlertConfiguration, got {type(alert_config).__name__}"
            )
        if not isinstance(alpha, float | int) or not 0 < alpha < 1:
            raise UserErrorException(f"alpha must be a false-alarm level in (0, 1), got {alpha!r}")
        definition: dict[str, Any] = {
            "state": DISABLED,
            "baseline_dataset_id": baseline.id,
            "baseline_dataset_name": baseline.name,
            "target_dataset_id": target.id,
            "target_dataset_name": target.name,
            "timestamp_column": target.timestamp_columns[0],
            "compute_target": _compute_name(compute_target),
            "frequency": check_frequency(frequency),
            "feature_list": check_feature_list(feature_list),
            "alert_config": None if alert_config is None else alert_config._to_dict(),
            "drift_threshold": check_drift_threshold(drift_threshold),
            "latency": check_latency(latency),
            "alpha": float(alpha),
            "schedule_id": None,
            "schedule_start": None,
        }
        if model is not None:
            if scoring_script is None or not Path(scoring_script).is_file():
                raise UserErrorException(
                    f"a monitor on a model needs scoring_script, the path of a .py file defining "
                    f"score(model_path, texts); got {scoring_script!r}"
                )
            definition["model"] = {"name": model.name, "version": model.version}
            definition["scoring_script"] = str(Path(scoring_script).resolve())
        self._definition = definition
        self._save(name)

    # -- creating and finding ----------------------------------------------------------------

    @staticmethod
    def create_from_datasets(
        workspace: Workspace,
        name: str,
        baseline_dataset: Any,
        target_dataset: Any,
        compute_target: Any = None,
        frequency: str | None = None,
        feature_list: list[str] | None = None,
        alert_config: AlertConfiguration | None = None,
        drift_threshold: float | None = None,
        latency: int | None = None,
        **kwargs: Any,
    ) -> DataDriftDetector:
        """Create a monitor of ``target_dataset`` against ``baseline_dataset``."""
        return DataDriftDetector(
            workspace,
            name,
            baseline_dataset,
            target_dataset,
            compute_target=compute_target,
            frequency=frequency,
            feature_list=feature_list,
            alert_config=alert_config,
            drift_threshold=drift_threshold,
            latency=latency,
            **kwargs,
        )

    @staticmethod
    def get_by_name(workspace: Workspace, name: str) -> DataDriftDetector:
        record = workspace._store.get_datadrift(check_name(name))
        if record is None or record.definition.get("state") == DELETED:
            known = [
                r.name
                for r in workspace._store.list_datadrifts()
                if r.definition.get("state") != DELETED
            ]
            raise DataDriftNameError(
                f"no data drift monitor named {name!r}; monitors: "
                + (", ".join(known) or "none")
                + " (create one with DataDriftDetector.create_from_datasets)"
            )
        detector = DataDriftDetector(workspace, name, _definition=dict(record.definition))
        detector._name = name
        detector._version = record.version
        return detector

    @staticmethod
    def list(
        workspace: Workspace, baseline_dataset: Any = None, target_dataset: Any = None
    ) -> list[DataDriftDetector]:
        """Every monitor, optionally only those on ``baseline_dataset``/``target_dataset``."""
        found = []
        for record in workspace._store.list_datadrifts():
            definition = record.definition
            if definition.get("state") == DELETED:
                continue
            if baseline_dataset is not None and definition["baseline_dataset_id"] != getattr(
                baseline_dataset, "id", None
            ):
                continue
            if target_dataset is not None and definition["target_dataset_name"] != getattr(
                target_dataset, "name", None
            ):
                continue
            found.append(DataDriftDetector.get_by_name(workspace, record.name))
        return found

    def _save(self, name: str | None = None) -> None:
        name = name or self.name
        record = self._workspace._store.save_datadrift(name, self._definition)
        self._name = name
        self._version = record.version

    # -- properties ----------------------------------------------------------------------------

    @property
    def name(self) -> str:
        return self._name

    @property
    def workspace(self) -> Workspace:
        return self._workspace

    @property
    def state(self) -> str:
        return self._definition["state"]

    @property
    def enabled(self) -> bool:
        return self.state == ENABLED

    @property
    def frequency(self) -> str:
        return self._definition["frequency"]

    @property
    def feature_list(self) -> list[str] | None:
        return self._definition["feature_list"]

    @property
    def drift_threshold(self) -> float:
        threshold = self._definition["drift_threshold"]
        return DEFAULT_DRIFT_THRESHOLD if threshold is None else threshold

    @property
    def latency(self) -> int:
        return self._definition["latency"]

    @property
    def alpha(self) -> float:
        return self._definition["alpha"]

    @property
    def compute_target(self) -> str | None:
        return self._definition["compute_target"]

    @property
    def schedule_start(self) -> datetime | None:
        value = self._definition.get("schedule_start")
        return None if value is None else datetime.fromisoformat(value)

    @property
    def alert_config(self) -> AlertConfiguration | None:
        return AlertConfiguration._from_dict(self._definition["alert_config"])

    @property
    def baseline_dataset(self) -> Any:
        from hyperpipe.core import Dataset

        return Dataset.get_by_id(self._workspace, self._definition["baseline_dataset_id"])

    @property
    def target_dataset(self) -> Any:
        from hyperpipe.core import Dataset

        return Dataset.get_by_name(self._workspace, self._definition["target_dataset_name"])

    @property
    def experiment_name(self) -> str:
        """Where this monitor's checks are recorded (a hyperpipe extension)."""
        return experiment_name(self.name)

    def __repr__(self) -> str:
        return (
            f"DataDriftDetector(name={self.name!r}, frequency={self.frequency!r}, "
            f"state={self.state!r})"
        )

    # -- jobs ----------------------------------------------------------------------------------

    def run(
        self,
        target_date: datetime,
        compute_target: Any = None,
        create_compute_target: bool = False,
        feature_list: list[str] | None = None,
        drift_threshold: float | None = None,
    ) -> Run:
        """Check the period holding ``target_date`` now, in this process; the check's run."""
        self._check_live()
        start, end = period_of(check_date(target_date, "target_date"), self.frequency)
        return check(
            self,
            start,
            end,
            feature_list=check_feature_list(feature_list),
            drift_threshold=check_drift_threshold(drift_threshold),
        )

    def backfill(
        self,
        start_date: datetime,
        end_date: datetime,
        compute_target: Any = None,
        create_compute_target: bool = False,
    ) -> Run:
        """Check every period from ``start_date`` to ``end_date`` (at most 30); one run with a
        child per period. Periods with too few rows are recorded as failed children."""
        self._check_live()
        first, last = check_date(start_date, "start_date"), check_date(end_date, "end_date")
        if last < first:
            raise UserErrorException(
                f"end_date {last:%Y-%m-%d} is earlier than start_date {first:%Y-%m-%d}: swap them"
            )
        starts = periods_between(first, last, self.frequency)
        if len(starts) > BACKFILL_BATCH_LIMIT:
            raise UserErrorException(
                f"backfill spans {len(starts)} {self.frequency} periods; the limit is "
                f"{BACKFILL_BATCH_LIMIT}: split it into several backfills"
            )
        from hyperpipe.core import Experiment

        parent = Experiment(self._workspace, self.experiment_name).start_logging(
            display_name=f"{self.name} backfill {first:%Y-%m-%d}..{last:%Y-%m-%d}"
        )
        parent.set_tags({"datadrift": self.name, "kind": "backfill"})
        failures = []
        try:
            for start in starts:
                try:
                    check(self, start, shift(start, self.frequency, 1), parent=parent)
                except UserErrorException as exc:
                    failures.append(f"{start:%Y-%m-%d}: {exc}")
        except BaseException:
            parent.fail()
            raise
        parent.log("skipped_periods", len(failures))
        if failures:
            parent.set_tags({"skipped": "; ".join(failures)[:4000]})
        parent.complete()
        return parent

    def latest_complete_period(self, now: datetime | None = None) -> tuple[datetime, datetime]:
        """The most recent period that ended at least ``latency`` hours before ``now``."""
        now = now or datetime.now(UTC).replace(tzinfo=None)
        start, _ = period_of(now - timedelta(hours=self.latency), self.frequency)
        previous = shift(start, self.frequency, -1)
        return previous, start

    # -- schedule ------------------------------------------------------------------------------

    def enable_schedule(
        self, create_compute_target: bool = False, wait_for_completion: bool = True
    ) -> None:
        """Check every period as it completes, through hyperpipe's scheduler: a published
        one-step pipeline (``python -m hyperpipe.datadrift check NAME``) on a schedule of this
        monitor's frequency. Run ``hyperpipe scheduler start`` for it to fire."""
        self._check_live()
        from hyperpipe.pipeline.core import Pipeline, Schedule, ScheduleRecurrence
        from hyperpipe.pipeline.steps import CommandStep

        schedule_id = self._definition.get("schedule_id")
        if schedule_id is None:
            folder = Path(tempfile.mkdtemp(prefix="hyperpipe-drift-step-"))
            try:  # publishing stores the step's source: the folder is not needed afterwards
                (folder / "README").write_text(f"data drift check of monitor {self.name}\n")
                step = CommandStep(
                    command=f"python -m hyperpipe.datadrift check {self.name}",
                    name=f"datadrift-{self.name}",
                    compute_target=self.compute_target,
                    source_directory=str(folder),
                    allow_reuse=False,
                )
                published = Pipeline(self._workspace, steps=[step]).publish(
                    name=f"datadrift-{self.name}", description=f"data drift check: {self.name}"
                )
            finally:
                shutil.rmtree(folder, ignore_errors=True)
            start = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
            schedule = Schedule.create(
                self._workspace,
                name=f"datadrift-{self.name}",
                pipeline_id=published.id,
                experiment_name=f"{self.experiment_name}-schedule",
                recurrence=ScheduleRecurrence(frequency=self.frequency, interval=1),
                description=f"data drift checks of monitor {self.name}",
            )
            self._definition["schedule_id"] = schedule.id
            self._definition["schedule_start"] = start.isoformat()
        else:
            from hyperpipe.pipeline.core import Schedule

            Schedule.get(self._workspace, schedule_id).enable()
        self._definition["state"] = ENABLED
        self._save()

    def disable_schedule(
        self, create_compute_target: bool = False, wait_for_completion: bool = True
    ) -> None:
        """Stop the scheduled checks (the schedule is kept, disabled)."""
        self._check_live()
        schedule_id = self._definition.get("schedule_id")
        if schedule_id is not None:
            from hyperpipe.pipeline.core import Schedule

            schedule = Schedule.get(self._workspace, schedule_id)
            if schedule.status == "Active":
                schedule.disable()
        self._definition["state"] = DISABLED
        self._save()

    def update(
        self,
        compute_target: Any = None,
        feature_list: list[str] | None = None,
        schedule_start: datetime | None = None,
        alert_config: AlertConfiguration | None = None,
        drift_threshold: float | None = None,
        wait_for_completion: bool = True,
    ) -> DataDriftDetector:
        """Change the given settings; the others stay. A new definition version is stored."""
        self._check_live()
        if compute_target is not None:
            self._definition["compute_target"] = _compute_name(compute_target)
        if feature_list is not None:
            self._definition["feature_list"] = check_feature_list(feature_list)
        if schedule_start is not None:
            self._definition["schedule_start"] = check_date(
                schedule_start, "schedule_start"
            ).isoformat()
        if alert_config is not None:
            if not isinstance(alert_config, AlertConfiguration):
                raise UserErrorException(
                    f"alert_config must be an AlertConfiguration, got {type(alert_config).__name__}"
                )
            self._definition["alert_config"] = alert_config._to_dict()
        if drift_threshold is not None:
            self._definition["drift_threshold"] = check_drift_threshold(drift_threshold)
        self._save()
        return self

    def delete(self, wait_for_completion: bool = True) -> None:
        """Delete the monitor (its schedule is disabled; its checks' runs stay)."""
        self._check_live()
        if self.enabled:
            self.disable_schedule()
        self._definition["state"] = DELETED
        self._save()

    def _check_live(self) -> None:
        if self.state == DELETED:
            raise UserErrorException(
                f"data drift monitor {self.name!r} was deleted; create it again"
            )

    # -- results -------------------------------------------------------------------------------

    def _checks(self) -> list[Any]:
        """The completed check runs, oldest first."""
        from hyperpipe.core import Run

        store = self._workspace._store
        records = store.list_runs(
            experiment_name=self.experiment_name, tag="datadrift", newest_first=False
        )
        return [
            Run.get(self._workspace, r.id)
            for r in records
            if r.status.value == "Completed" and "datadrift_start" in r.properties
        ]

    def _documents(
        self,
        start_time: datetime | None = None,
        end_time: datetime | None = None,
        run_id: str | None = None,
    ) -> list[dict[str, Any]]:
        if run_id is not None and (start_time is not None or end_time is not None):
            raise UserErrorException(
                "get_output takes run_id or start_time/end_time, not both: pass one of them"
            )
        if run_id is None:
            if end_time is None:
                end_time = datetime.now(UTC).replace(tzinfo=None)
            end_time = check_date(end_time, "end_time")
            if start_time is None:
                start_time = shift(period_of(end_time, self.frequency)[0], self.frequency, -10)
            start_time = check_date(start_time, "start_time")
        newest: dict[str, tuple[float, dict[str, Any]]] = {}
        for run in self._checks():
            if (
                run_id is not None
                and run.id != run_id
                and getattr(run.parent, "id", None) != run_id
            ):
                continue
            window_start = datetime.fromisoformat(run.properties["datadrift_start"])
            window_end = datetime.fromisoformat(run.properties["datadrift_end"])
            if run_id is None and (window_end <= start_time or window_start >= end_time):
                continue
            created = run._record.created_at
            key = window_start.isoformat()
            if key not in newest or newest[key][0] < created:
                newest[key] = (created, _read_document(run))
        return [doc for _, (_, doc) in sorted(newest.items())]

    def get_output(
        self,
        start_time: datetime | None = None,
        end_time: datetime | None = None,
        run_id: str | None = None,
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """SDK v1's ``(results, metrics)`` of the checks in range (default: the last 10
        periods up to now) or of one run; the newest check per window is kept."""
        documents = self._documents(start_time, end_time, run_id)
        if not documents:
            raise FileNotFoundError(
                f"no drift check output of monitor {self.name!r} in that range: run "
                "detector.run(target_date) or detector.backfill(start, end) first"
            )
        results = [{"drift_type": DRIFT_TYPE, "result": [d["result"] for d in documents]}]
        metrics = [{"drift_type": DRIFT_TYPE, "metrics": [d["metrics"] for d in documents]}]
        return results, metrics

    def get_explanations(
        self,
        start_time: datetime | None = None,
        end_time: datetime | None = None,
        run_id: str | None = None,
    ) -> list[dict[str, Any]]:
        """Per check: each test family's p-value, window size and what moved (classes,
        terms, columns) -- a hyperpipe extension."""
        return [
            {
                "start_date": d["result"]["start_date"],
                "families": d["families"],
                "action": d.get("action"),
            }
            for d in self._documents(start_time, end_time, run_id)
        ]

    def show(
        self,
        start_time: datetime | None = None,
        end_time: datetime | None = None,
        with_details: bool = False,
    ) -> Any:
        """A matplotlib figure: the coefficient and p-value per check, alarms marked."""
        import matplotlib

        matplotlib.use("Agg")
        from matplotlib import pyplot

        documents = self._documents(start_time, end_time)
        if not documents:
            raise FileNotFoundError(
                f"no drift check output of monitor {self.name!r} to show: run a check first"
            )
        dates = [datetime.fromisoformat(d["result"]["start_date"]) for d in documents]
        coefficients = [d["metrics"]["dataset_metrics"][0]["value"] for d in documents]
        p_values = [d["result"]["p_value"] for d in documents]
        figure, (top, bottom) = pyplot.subplots(2, 1, sharex=True, figsize=(8, 5))
        top.plot(dates, coefficients, marker="o")
        top.set_ylabel("datadrift_coefficient")
        top.set_ylim(0, 1)
        bottom.semilogy(dates, p_values, marker="o")
        bottom.axhline(self.alpha, color="red", linestyle="--", label=f"alpha {self.alpha}")
        bottom.set_ylabel("p-value")
        for when, doc in zip(dates, documents, strict=True):
            if doc["result"]["has_drift"]:
                top.axvline(when, color="red", alpha=0.3)
        bottom.legend()
        figure.suptitle(f"data drift: {self.name}")
        figure.autofmt_xdate()
        return figure


def _read_document(run: Any) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        target = Path(folder) / "datadrift.json"
        run.download_file(OUTPUT_FILE, target)
        return json.loads(target.read_text())


def _compute_name(compute_target: Any) -> str | None:
    if compute_target is None or isinstance(compute_target, str):
        return compute_target
    name = getattr(compute_target, "name", None)
    if not isinstance(name, str):
        raise UserErrorException(
            f"compute_target must be a compute target or its name, got "
            f"{type(compute_target).__name__}"
        )
    return name
