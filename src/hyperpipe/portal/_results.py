"""What a pipeline run produced, for its page: each sweep's best trial, the models its steps
registered, the datasets they registered from their outputs. A reused step's results are those
of the step run it reused, so a run that reused everything still shows what it stands on."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hyperpipe.portal._schemas import ModelInfo
    from hyperpipe.portal._views import Views
    from hyperpipe.store import RunRecord

__all__ = ["BestTrial", "OutputDataset", "PipelineResults", "pipeline_results"]

# How deep below a step a registering run may sit: step -> sweep -> trial.
_DEPTH = 3


@dataclass
class BestTrial:
    step: str
    sweep_id: str
    run_id: str
    metric: str
    goal: str
    value: float | None
    hyperparameters: dict[str, Any]
    trials: int


@dataclass
class OutputDataset:
    step: str
    output: str
    name: str
    version: int | None


@dataclass
class PipelineResults:
    sweeps: list[BestTrial] = field(default_factory=list)
    models: list[tuple[str, ModelInfo]] = field(default_factory=list)
    datasets: list[OutputDataset] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.sweeps or self.models or self.datasets)


def pipeline_results(views: Views, pipeline: RunRecord) -> PipelineResults:
    """The results of ``pipeline``'s steps, in step order."""
    from hyperpipe.portal._views import _model

    store = views.store
    results = PipelineResults()
    for step in store.list_runs(parent_id=pipeline.id, newest_first=False):
        name = step.display_name or step.id
        reuse = step.definition.get("reuse") or {}
        source = step
        if reuse.get("reused") and reuse.get("reused_run_id"):
            try:
                source = store.get_run(reuse["reused_run_id"])
            except Exception:  # the reused run was deleted: show what this step has
                source = step
        sweep = views.sweep_of(source)
        if sweep is not None:
            view = views.hyperdrive(sweep.id)
            best = next((t for t in view.trials if t.run_id == view.best_run_id), None)
            if best is not None:
                results.sweeps.append(
                    BestTrial(
                        step=name,
                        sweep_id=sweep.id,
                        run_id=best.run_id,
                        metric=view.primary_metric,
                        goal=view.goal,
                        value=best.metric,
                        hyperparameters=best.hyperparameters,
                        trials=len(view.trials),
                    )
                )
        for run_id in _tree(views, source.id):
            for model in store.list_models(run_id=run_id):
                results.models.append((name, _model(model)))
        committed = source.definition.get("committed_outputs") or {}
        for output, entry in committed.items():
            dataset = entry.get("dataset") if isinstance(entry, dict) else None
            if dataset and dataset.get("name"):
                results.datasets.append(
                    OutputDataset(name, output, dataset["name"], dataset.get("version"))
                )
    return results


def _tree(views: Views, run_id: str) -> list[str]:
    """``run_id`` and the runs below it, a few levels down (a step's sweep and its trials)."""
    found, level = [run_id], [run_id]
    for _ in range(_DEPTH - 1):
        level = [c.id for parent in level for c in views.store.list_runs(parent_id=parent)]
        found.extend(level)
    return found
