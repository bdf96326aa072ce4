"""The portal's read model: store records turned into what the pages and the API show.

Everything here reads; nothing changes a run except ``reconcile``, which marks a run whose
process died as Crashed, exactly as the CLI and the SDK do when they look at it.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections import Counter
from typing import TYPE_CHECKING, Any

from hyperpipe.core import _lifecycle, _paths
from hyperpipe.core._naming import run_label, run_title
from hyperpipe.exceptions import UserErrorException
from hyperpipe.portal._charts import align, best_so_far, chartable, from_buckets
from hyperpipe.portal._layout import layout
from hyperpipe.portal._schemas import (
    CompareLine,
    CompareSeries,
    CompareView,
    DatasetInfo,
    ExperimentInfo,
    FileInfo,
    GraphEdge,
    GraphNode,
    HyperDriveView,
    InputInfo,
    LogChunk,
    MetricInfo,
    MetricSeriesData,
    ModelInfo,
    PipelineGraph,
    ReuseInfo,
    RunDetail,
    RunPage,
    RunState,
    RunSummary,
    Trial,
    TrialCurve,
    TrialCurves,
)
from hyperpipe.store import RunStatus

if TYPE_CHECKING:
    from hyperpipe.core import Workspace
    from hyperpipe.data._datastore import Datastore
    from hyperpipe.store import DatasetRecord, ModelRecord, RunRecord, Store
    from hyperpipe.store._records import SeriesSummary

__all__ = ["NotFound", "Views"]

KINDS = {
    "azureml.scriptrun": "script",
    "azureml.PipelineRun": "pipeline",
    "azureml.StepRun": "step",
    "hyperdrive": "hyperdrive",
}
MAX_CHILDREN = 200
MAX_TRACKED = 2000
MAX_METRIC_COLUMNS = 5
MAX_CURVES = 200
MAX_COMPARED = 20
MAX_LOG_CHUNK = 256 * 1024
MAX_VALUES = 1000


class NotFound(LookupError):
    """What was asked for does not exist; the message says what and how to find it."""


class Views:
    """Read-only views over one workspace's store and datastores."""

    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace

    @property
    def store(self) -> Store:
        return self.workspace._store

    # -- runs -----------------------------------------------------------------------------------

    def record(self, run_id: str) -> RunRecord:
        record = self.store.find_run(run_id)
        if record is None:
            raise NotFound(f"no run with id {run_id!r} in this workspace")
        return self._reconciled(record)

    def _reconciled(self, record: RunRecord) -> RunRecord:
        if record.status.is_terminal():
            return record
        return _lifecycle.reconcile(self.store, record, self.workspace.root)

    def experiments(self) -> list[ExperimentInfo]:
        stats = self.store.experiment_stats()
        infos = [
            ExperimentInfo(
                name=e.name,
                run_count=stats.get(e.name, (0, None))[0],
                last_run_at=stats.get(e.name, (0, None))[1],
            )
            for e in self.store.list_experiments()
        ]
        return sorted(infos, key=lambda e: -(e.last_run_at or 0))

    def runs_page(
        self,
        experiment: str,
        *,
        status: str | None = None,
        tag: str | None = None,
        search: str | None = None,
        order: str = "-created",
        offset: int = 0,
        limit: int = 50,
        children: bool = False,
    ) -> RunPage:
        if self.store.get_experiment(experiment) is None:
            raise NotFound(f"no experiment named {experiment!r} in this workspace")
        filters: dict[str, Any] = {"experiment_name": experiment, "top_level_only": not children}
        if status:
            filters["statuses"] = [_status(status)]
        if tag:
            key, _, value = tag.partition("=")
            filters["tag"] = key.strip()
            if value:
                filters["tag_value"] = value.strip()
        if search:
            filters["search"] = search
        records = self.store.list_runs(order=order, offset=offset, limit=limit, **filters)
        latest = self.store.latest_metrics([r.key for r in records])
        counts = Counter(name for values in latest.values() for name in values)
        runs = self.summaries([self._reconciled(r) for r in records])
        for summary, record in zip(runs, records, strict=True):
            summary.metrics = {k: _json_safe(v) for k, v in latest.get(record.key, {}).items()}
        return RunPage(
            experiment=experiment,
            total=self.store.count_runs(**filters),
            offset=offset,
            limit=limit,
            order=order,
            metric_columns=_metric_columns(counts, order),
            runs=runs,
        )

    def summary(self, record: RunRecord) -> RunSummary:
        return self.summaries([record])[0]

    def summaries(self, records: list[RunRecord]) -> list[RunSummary]:
        """Records as listed, each with its title and place (one query for all of them)."""
        positions = self.store.run_positions([r.key for r in records])
        return [RunSummary(**_summary_fields(r, positions.get(r.key))) for r in records]

    def detail(self, run_id: str) -> RunDetail:
        record = self.record(run_id)
        definition = record.definition
        children = self.store.list_runs(parent_id=record.id, newest_first=False, limit=MAX_CHILDREN)
        hyperparameters = record.properties.get("hyperparameters")
        reuse = definition.get("reuse")
        inputs = [self._input(spec) for spec in definition.get("inputs") or []]
        return RunDetail(
            **_summary_fields(record, self.store.run_positions([record.key]).get(record.key)),
            script=definition.get("script"),
            arguments=[_argument(a, inputs) for a in definition.get("arguments") or []],
            hyperparameters=json.loads(hyperparameters) if hyperparameters else None,
            properties=record.properties,
            error=record.error,
            inputs=inputs,
            reuse=ReuseInfo(
                reused=bool(reuse.get("reused")),
                reasons=list(reuse.get("reasons") or []),
                reused_run_id=reuse.get("reused_run_id"),
                key=reuse.get("key"),
            )
            if reuse
            else None,
            child_count=(
                len(children)
                if len(children) < MAX_CHILDREN
                else self.store.count_runs(parent_id=record.id)
            ),
            children=self.summaries([self._reconciled(c) for c in children]),
            files=self.files(record),
            metrics=self.metrics(record),
            models=[_model(m) for m in self.store.list_models(run_id=record.id)],
        )

    def _input(self, spec: dict[str, Any]) -> InputInfo:
        """One input as listed; a dataset by its name and version, which a trial's definition
        leaves out (it keeps the id): looked up, or for an unregistered one, where its files are."""
        info = _input(spec)
        if info.dataset_id and not info.dataset_name:
            found = self.store.get_dataset_by_id(info.dataset_id)
            if found is not None and found.name:
                info.dataset_name, info.dataset_version = found.name, found.version
            elif found is not None:
                sources = ", ".join(
                    "/".join(map(str, s)) for s in found.definition.get("sources") or []
                )
                info.detail = f"unregistered {found.kind} dataset" + (
                    f" of {sources}" if sources else ""
                )
        return info

    def state(self, run_id: str) -> RunState:
        """A fingerprint of everything a run's page shows, cheap enough to poll."""
        record = self.record(run_id)
        counts = {s.name: s.count for s in self.store.metric_summaries(record.key)}
        # Descendants too: a pipeline's steps, a step's sweep, the sweep's trials.
        descendants: list[RunRecord] = []
        parents = [record.id]
        while parents and len(descendants) < MAX_TRACKED:  # one query per generation
            found = self.store.list_runs(parent_ids=parents, limit=MAX_TRACKED)
            descendants.extend(found)
            parents = [c.id for c in found]
        files = self.store.list_artifacts(record.key)
        # A sweep's trials logging values change its charts: their last values, in one query.
        latest = self.store.latest_metrics([c.key for c in descendants])
        fingerprint = json.dumps(
            [
                record.status.value,
                counts,
                [(c.id, c.status.value, latest.get(c.key)) for c in descendants],
                len(files),
                sorted(record.tags.items(), key=str),
            ],
            default=str,
        )
        return RunState(
            id=record.id,
            status=record.status.value,
            active=not record.status.is_terminal(),
            version=hashlib.sha1(fingerprint.encode()).hexdigest()[:16],
            metric_counts=counts,
        )

    # -- metrics --------------------------------------------------------------------------------

    def metrics(self, record: RunRecord) -> list[MetricInfo]:
        return [
            MetricInfo(
                name=s.name,
                kind=s.kind,
                description=s.description,
                count=s.count,
                last=_json_safe(s.last),
            )
            for s in self.store.metric_summaries(record.key)
        ]

    def series(self, run_id: str, name: str, max_points: int = 2000) -> MetricSeriesData:
        """One series ready to chart. Longer than ``max_points`` (and ``max_points`` > 0), the
        database reduces it to stretches that keep their ends and extremes."""
        record = self.record(run_id)
        summary = next((s for s in self.store.metric_summaries(record.key) if s.name == name), None)
        if summary is None:
            raise NotFound(f"run {run_id!r} has no metric named {name!r}")
        shape = {"name": name, "kind": summary.kind, "description": summary.description}
        if summary.kind != "scalar":
            rows = self.store.metric_rows(record.key, name)
            values = [_json_safe(_point_value(v, p)) for _, v, p in rows[-MAX_VALUES:]]
            return MetricSeriesData(
                **shape,
                count=len(rows),
                x_label="index",
                x=[],
                y=[],
                downsampled=False,
                values=values,
            )
        if 0 < max_points < summary.count:
            xs, ys, stepped = from_buckets(
                self.store.metric_buckets(record.key, name, max(1, max_points // 4))
            )
            return MetricSeriesData(
                **shape,
                count=summary.count,
                x_label="step" if stepped else "index",
                x=xs,
                y=ys,
                downsampled=True,
                values=None,
            )
        rows = self.store.metric_rows(record.key, name)
        times = self.store.metric_times(record.key, name)
        start = record.started_at or (times[0] if times else 0.0)
        steps = [step for step, _, _ in rows]
        stepped = bool(rows) and None not in steps
        # Most points are a finite float without payload: keep that path free of calls.
        ys = [
            (v if -math.inf < v < math.inf else None)
            if p is None and v is not None
            else chartable(_point_value(v, p))
            for _, v, p in rows
        ]
        return MetricSeriesData(
            **shape,
            count=len(rows),
            x_label="step" if stepped else "index",
            x=steps if stepped else list(range(len(rows))),  # type: ignore[arg-type]
            y=ys,
            t=[round(ts - start, 3) for ts in times] if len(times) == len(rows) else None,
            downsampled=False,
            values=None,
        )

    # -- files and logs -------------------------------------------------------------------------

    def files(self, record: RunRecord) -> list[FileInfo]:
        return [FileInfo(path=a.path, size=a.size) for a in self.store.list_artifacts(record.key)]

    def datastore_of(self, record: RunRecord) -> Datastore:
        name = record.definition.get("datastore")
        return self.workspace._datastore(name) if name else self.workspace.get_default_datastore()

    def file_location(self, run_id: str, path: str) -> tuple[Datastore, str]:
        """The datastore and datastore path of one of the run's stored files.

        Only paths the run itself recorded are served: a name is looked up in the run's file
        list, never joined onto a folder, so ``..`` or an absolute path cannot reach elsewhere.
        """
        record = self.record(run_id)
        if any(part in ("", ".", "..") for part in path.split("/")) or "\\" in path:
            raise UserErrorException(
                f"invalid file path {path!r}: use a path from the run's file list"
            )
        if path not in {a.path for a in self.store.list_artifacts(record.key)}:
            raise NotFound(f"run {run_id!r} has no file {path!r}")
        return self.datastore_of(record), _paths.artifact_prefix(record.id) + path

    def log(self, run_id: str, offset: int = 0) -> LogChunk:
        """Output from byte ``offset`` (negative: from the end): live file, else the stored log."""
        record = self.record(run_id)
        live = _lifecycle.driver_log_path(record)
        if live is not None and not live.is_file():
            live = None
        stored = self._stored_log(record) if live is None else None
        if live is None and stored is None:
            return LogChunk(
                run_id=record.id,
                offset=0,
                text="",
                status=record.status.value,
                active=not record.status.is_terminal(),
                source="none",
            )
        if stored is None:
            size = live.stat().st_size  # type: ignore[union-attr]
            opened = open(live, "rb")  # type: ignore[arg-type]  # noqa: SIM115 (closed below)
        else:
            datastore, location, size = stored
            opened = datastore._open(location)
        if offset < 0:  # from the end: the tail a page opens with
            offset = max(0, size + offset)
        offset = min(offset, size)  # past the end: nothing new yet
        with opened as handle:
            handle.seek(offset)
            chunk = handle.read(MAX_LOG_CHUNK)
        cut = _utf8_boundary(chunk)
        return LogChunk(
            run_id=record.id,
            offset=offset + cut,
            text=chunk[:cut].decode("utf-8", errors="replace"),
            status=record.status.value,
            active=not record.status.is_terminal(),
            source="live" if stored is None else "stored",
        )

    def _stored_log(self, record: RunRecord) -> tuple[Datastore, str, int] | None:
        """The datastore, path and size of the run's stored driver log, if it has one."""
        for artifact in self.store.list_artifacts(record.key, prefix="azureml-logs/"):
            if artifact.path == _paths.DRIVER_LOG:
                location = _paths.artifact_prefix(record.id) + _paths.DRIVER_LOG
                return self.datastore_of(record), location, artifact.size
        return None

    # -- pipelines ------------------------------------------------------------------------------

    def graph(self, run_id: str) -> PipelineGraph:
        record = self.record(run_id)
        steps = record.definition.get("steps")
        if record.run_type != "azureml.PipelineRun" or steps is None:
            raise UserErrorException(
                f"run {run_id!r} is a {record.run_type} run, not a pipeline run"
            )
        latest: dict[str, RunRecord] = {}
        for child in self.store.list_runs(parent_id=record.id, newest_first=False):
            latest[child.display_name or child.id] = self._reconciled(child)
        names: list[str] = []
        edges: list[tuple[str, str, str]] = []
        datasets: dict[str, str] = {}
        for spec in steps:
            for item in spec.get("inputs") or []:
                if item.get("kind") == "data":
                    edges.append((item["producer"], spec["name"], item.get("output") or ""))
                elif item.get("dataset_id") or item.get("kind") == "reference":
                    if item.get("dataset_id") and not item.get("dataset_name"):
                        named = self._input(item)
                        item = {**item, "dataset_name": named.dataset_name}
                        item["dataset_version"] = named.dataset_version
                    label = _input_label(item)
                    node = f"data:{label}"
                    if node not in datasets:
                        datasets[node] = label
                        names.append(node)
                    edges.append((node, spec["name"], item.get("port") or item.get("name") or ""))
            fed = {source for source, target, _ in edges if target == spec["name"]}
            for other in spec.get("depends_on") or []:
                if other not in fed:
                    edges.append((other, spec["name"], ""))
        names.extend(spec["name"] for spec in steps)
        known = set(names)
        edges = [e for e in edges if e[0] in known and e[1] in known]
        placed, width, height = layout(names, [(s, t) for s, t, _ in edges])
        nodes = []
        for name in names:
            where = placed[name]
            step = latest.get(name)
            reuse = (step.definition.get("reuse") or {}) if step else {}
            nodes.append(
                GraphNode(
                    id=name,
                    kind="dataset" if name in datasets else "step",
                    label=datasets.get(name, name),
                    status=None
                    if name in datasets
                    else (step.status.value if step else "NotStarted"),
                    reused=bool(reuse.get("reused")) if step and reuse else None,
                    run_id=step.id if step else None,
                    reasons=list(reuse.get("reasons") or []),
                    x=where.x,
                    y=where.y,
                    w=where.w,
                    h=where.h,
                    column=where.column,
                )
            )
        return PipelineGraph(
            run_id=record.id,
            status=record.status.value,
            active=not record.status.is_terminal(),
            width=width,
            height=height,
            nodes=nodes,
            edges=[
                GraphEdge(
                    source=s,
                    target=t,
                    label=label,
                    start=placed[s].edges[t][0],
                    end=placed[s].edges[t][1],
                )
                for s, t, label in edges
            ],
        )

    # -- HyperDrive -----------------------------------------------------------------------------

    def sweep_of(self, record: RunRecord) -> RunRecord | None:
        """The HyperDrive run a page should show for ``record``: itself, or a step's sweep."""
        if record.run_type == "hyperdrive":
            return record
        if record.run_type == "azureml.StepRun":
            found = self.store.list_runs(parent_id=record.id, run_type="hyperdrive", limit=1)
            return found[0] if found else None
        return None

    def _sweep_record(self, run_id: str) -> RunRecord:
        """The HyperDrive run to show for ``run_id``: itself or its step's sweep."""
        record = self.record(run_id)
        sweep = self.sweep_of(record)
        if sweep is None:
            raise UserErrorException(
                f"run {run_id!r} is a {record.run_type} run, not a HyperDrive run"
            )
        return self._reconciled(sweep)

    def hyperdrive(self, run_id: str) -> HyperDriveView:
        record = self._sweep_record(run_id)
        sweep = record.definition["hyperdrive"]
        metric, goal = sweep["primary_metric_name"], sweep["primary_metric_goal"]
        maximize = goal == "MAXIMIZE"
        trials = [
            self._reconciled(t)
            for t in self.store.list_runs(parent_id=record.id, newest_first=False)
        ]
        values = self.store.get_metrics([t.key for t in trials], [metric])
        rows = []
        for index, trial in enumerate(trials):
            numbers = [
                float(p.data)
                for s in values.get(trial.key, [])
                for p in s.points
                if isinstance(p.data, (int, float))
                and not isinstance(p.data, bool)
                and math.isfinite(p.data)
            ]
            best = (max(numbers) if maximize else min(numbers)) if numbers else None
            rows.append(
                Trial(
                    run_id=trial.id,
                    index=index,
                    status=trial.status.value,
                    hyperparameters=json.loads(trial.properties.get("hyperparameters") or "{}"),
                    metric=best,
                    early_terminated=trial.properties.get("early_terminated") == "true",
                    started_at=trial.started_at,
                    ended_at=trial.ended_at,
                )
            )
        scored = [t for t in rows if t.metric is not None]
        best_trial = (max if maximize else min)(scored, key=lambda t: t.metric) if scored else None  # type: ignore[arg-type,return-value]
        space = sweep["sampling"].get("parameter_space") or {}
        policy = sweep.get("policy")
        return HyperDriveView(
            run_id=record.id,
            status=record.status.value,
            active=not record.status.is_terminal(),
            primary_metric=metric,
            goal=goal,
            sampling=sweep["sampling"]["type"],
            policy=policy["type"] if policy else None,
            max_total_runs=int(sweep["max_total_runs"]),
            parameters=list(space) or sorted({k for t in rows for k in t.hyperparameters}),
            trials=rows,
            best_so_far=best_so_far([t.metric for t in rows], maximize),
            best_run_id=best_trial.run_id if best_trial else None,
        )

    def trial_curves(self, run_id: str, max_points: int = 500) -> TrialCurves:
        """Each trial's primary metric as logged, step by step: where early termination shows."""
        sweep_record = self._sweep_record(run_id)
        metric = sweep_record.definition["hyperdrive"]["primary_metric_name"]
        trials = self.store.list_runs(
            parent_id=sweep_record.id, newest_first=False, limit=MAX_CURVES
        )
        series = self.store.get_metrics([t.key for t in trials], [metric])
        lines = {}
        for trial in trials:
            found = series.get(trial.key, [])
            logged = found[0].points if found else ()
            lines[trial.id] = [(p.step, chartable(p.data)) for p in logged]
        xs, ys, stepped = align(lines, max_points)
        return TrialCurves(
            run_id=sweep_record.id,
            primary_metric=metric,
            x_label="step" if stepped else "index",
            x=xs,
            trials=[
                TrialCurve(
                    run_id=trial.id,
                    index=index,
                    status=trial.status.value,
                    early_terminated=trial.properties.get("early_terminated") == "true",
                    y=ys[trial.id],
                )
                for index, trial in enumerate(trials)
            ],
        )

    # -- comparing runs -------------------------------------------------------------------------

    def compare(self, run_ids: list[str], max_points: int = 500) -> CompareView:
        """Up to ``MAX_COMPARED`` runs side by side."""
        unique = list(dict.fromkeys(run_ids))
        if not 1 <= len(unique) <= MAX_COMPARED:
            raise UserErrorException(
                f"compare 1 to {MAX_COMPARED} runs at once, got {len(unique)}: pick them in a "
                "runs list, or pass run=ID several times"
            )
        records = [self.record(run_id) for run_id in unique]
        latest = self.store.latest_metrics([r.key for r in records])
        summaries = {r.id: self.store.metric_summaries(r.key) for r in records}
        values = {r.id: _parameters(r) for r in records}
        runs = self.summaries(records)
        for summary, record in zip(runs, records, strict=True):
            summary.metrics = {k: _json_safe(v) for k, v in latest.get(record.key, {}).items()}
        curves = sorted(
            {s.name for found in summaries.values() for s in found if s.kind == "scalar"}
            & {s.name for found in summaries.values() for s in found if s.count > 1}
        )
        series = []
        for name in curves:
            lines, steps = {}, []
            for record in records:
                lines[record.id], stepped = self._line(
                    record, summaries[record.id], name, max_points
                )
                steps.append(stepped)
            xs, ys, _ = align(lines, max_points)
            series.append(
                CompareSeries(
                    name=name,
                    x_label="step" if all(steps) else "index",
                    x=xs,
                    runs=[CompareLine(run_id=run_id, y=y) for run_id, y in ys.items()],
                )
            )
        return CompareView(
            runs=runs,
            parameters=sorted({k for found in values.values() for k in found}),
            values=values,
            metrics=sorted({k for r in runs for k in r.metrics}),
            series=series,
        )

    def _line(
        self, record: RunRecord, summaries: list[SeriesSummary], name: str, max_points: int
    ) -> tuple[list[tuple[float | None, float | None]], bool]:
        """One run's points of metric ``name`` as (x, y), all of them or the buckets of a long
        series, and whether x are logged steps (else positions)."""
        count = next((s.count for s in summaries if s.name == name), 0)
        if count == 0:
            return [], True
        if count <= max_points:
            rows = self.store.metric_rows(record.key, name)
            stepped = all(step is not None for step, _, _ in rows)
            return [
                (step if stepped else i, chartable(_point_value(v, p)))
                for i, (step, v, p) in enumerate(rows)
            ], stepped
        xs, ys, stepped = from_buckets(
            self.store.metric_buckets(record.key, name, max(1, max_points // 4))
        )
        return list(zip(xs, ys, strict=True)), stepped

    # -- models and datasets --------------------------------------------------------------------

    def models(self, name: str | None = None) -> list[ModelInfo]:
        found = [_model(m) for m in self.store.list_models(name=name)]
        if name is not None and not found:
            raise NotFound(f"no model named {name!r} in this workspace")
        return sorted(found, key=lambda m: (m.name, -m.version))

    def datasets(self, name: str | None = None) -> list[DatasetInfo]:
        found = [_dataset(d) for d in self.store.list_datasets(name=name) if d.name is not None]
        if name is not None:
            if not found:
                raise NotFound(f"no dataset named {name!r} in this workspace")
            for info in found:
                runs = self.store.runs_with_dataset(info.id, limit=100)
                info.used_by = self.summaries([r for r, role in runs if role == "input"])
                info.made_by = self.summaries(
                    [
                        r
                        for r, role in runs
                        if role == "output" and not (r.definition.get("reuse") or {}).get("reused")
                    ]
                )
        return sorted(found, key=lambda d: (d.name or "", -(d.version or 0)))


# -- helpers ------------------------------------------------------------------------------------


def _summary_fields(record: RunRecord, position: int | None) -> dict[str, Any]:
    end = record.ended_at
    if record.started_at is None:
        duration = None
    else:
        duration = (end if end is not None else time.time()) - record.started_at
    return {
        "id": record.id,
        "number": record.number,
        "experiment": record.experiment_name,
        "name": record.display_name,
        "title": run_title(record),
        "position": position if position is not None else record.number,
        "label": run_label(record, position),
        "kind": KINDS.get(record.run_type, "run"),
        "type": record.run_type,
        "status": record.status.value,
        "active": not record.status.is_terminal(),
        "created_at": record.created_at,
        "started_at": record.started_at,
        "ended_at": end,
        "duration_s": duration,
        "parent_id": record.parent_id,
        "target": record.target,
        "tags": record.tags,
    }


def _metric_columns(counts: Counter[str], order: str) -> list[str]:
    """The page's most common metrics; the one the page is sorted by always among them."""
    columns = [name for name, _ in counts.most_common(MAX_METRIC_COLUMNS)]
    field = order.lstrip("-")
    if field.startswith("metric:") and field[len("metric:") :] not in columns:
        columns.insert(0, field[len("metric:") :])
    return columns


def _parameters(record: RunRecord) -> dict[str, Any]:
    """A run's parameters: a trial's hyperparameters, else its ``--name value`` arguments."""
    sampled = record.properties.get("hyperparameters")
    if sampled:
        return json.loads(sampled)
    arguments = [str(a) for a in record.definition.get("arguments") or []]
    found: dict[str, Any] = {}
    for i, token in enumerate(arguments):
        following = arguments[i + 1] if i + 1 < len(arguments) else None
        if token.startswith("--") and len(token) > 2:
            found[token[2:]] = following if following and not following.startswith("--") else True
    return found


def _status(word: str) -> RunStatus:
    for status in RunStatus:
        if status.value.lower() == word.lower():
            return status
    raise UserErrorException(
        f"unknown status {word!r}; use one of {', '.join(s.value for s in RunStatus)}"
    )


def _input(spec: dict[str, Any]) -> InputInfo:
    kind = spec.get("kind") or ("dataset" if spec.get("dataset_id") else "data")
    detail = None
    if kind == "data":
        detail = f"output {spec.get('output')} of step {spec.get('producer')}"
    elif kind == "reference":
        detail = f"{spec.get('datastore')}/{spec.get('path')}"
    return InputInfo(
        name=spec.get("name") or spec.get("port") or "",
        kind=kind,
        dataset_id=spec.get("dataset_id"),
        dataset_name=spec.get("dataset_name"),
        dataset_version=spec.get("dataset_version"),
        detail=detail,
    )


def _argument(value: Any, inputs: list[InputInfo]) -> str:
    """An argument as submitted, a data reference named as the page names the input: "texts v1"
    for a dataset, "metrics_data of hypertrain" for a step's output, not a dict or a type name."""
    name = None
    if isinstance(value, dict):
        name = value.get("dataset") or value.get("port")
    elif isinstance(value, str) and value.startswith("DatasetConsumptionConfig:"):
        name = value.partition(":")[2]
    if name is None:
        return str(value)
    found = next((i for i in inputs if i.name == name), None)
    if found is None:
        return f"[{name}]"
    if found.dataset_name:
        return f"[{found.name}: {found.dataset_name} v{found.dataset_version}]"
    if found.kind == "data" and found.detail:
        return f"[{found.detail}]"
    return f"[{found.name}]"


def _input_label(item: dict[str, Any]) -> str:
    if item.get("dataset_name"):
        return f"{item['dataset_name']}:{item.get('dataset_version')}"
    if item.get("dataset_id"):
        return f"dataset {item['dataset_id'][:8]}"
    return f"{item.get('datastore')}/{item.get('path')}"


def _model(m: ModelRecord) -> ModelInfo:
    return ModelInfo.model_validate(m, from_attributes=True)


def _dataset(d: DatasetRecord) -> DatasetInfo:
    return DatasetInfo.model_validate(d, from_attributes=True)


def _point_value(value: float | None, payload: str | None) -> Any:
    return json.loads(payload) if value is None and payload is not None else value


def _json_safe(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    return value


def _utf8_boundary(chunk: bytes) -> int:
    """Where to cut ``chunk`` so that no UTF-8 character is split (the rest comes next time)."""
    cut = len(chunk)
    for back in range(1, min(4, len(chunk)) + 1):
        byte = chunk[-back]
        if byte & 0xC0 == 0x80:  # a continuation byte: keep looking for the lead byte
            continue
        if byte & 0x80 and back < _utf8_length(byte):
            cut = len(chunk) - back
        break
    return cut


def _utf8_length(lead: int) -> int:
    return 4 if lead >= 0xF0 else 3 if lead >= 0xE0 else 2 if lead >= 0xC0 else 1
