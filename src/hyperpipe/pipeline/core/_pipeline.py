"""``Pipeline``: steps and their graph, checked when built, submitted as one pipeline run."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from hyperpipe._surface import SdkV1Surface
from hyperpipe.data._consumption import DatasetConsumptionConfig
from hyperpipe.exceptions import ComputeTargetException, UserErrorException
from hyperpipe.pipeline._graph import Graph, build_graph
from hyperpipe.pipeline._spec import source_directory_of, step_spec
from hyperpipe.pipeline._template import check_values, declare_parameters, submit
from hyperpipe.pipeline.core._pipeline_data import DataPathInput, PipelineData, PipelineParameter

if TYPE_CHECKING:
    from collections.abc import Iterable
    from pathlib import Path

    from hyperpipe.core._experiment import Experiment
    from hyperpipe.core._workspace import Workspace
    from hyperpipe.data._datastore import Datastore
    from hyperpipe.pipeline.core._pipeline_run import PipelineRun
    from hyperpipe.pipeline.core._published import PublishedPipeline
    from hyperpipe.pipeline.steps._base import PipelineStep

__all__ = ["Pipeline", "StepSequence"]


class StepSequence(SdkV1Surface):
    """Steps that run one after another; an element may be a list of steps run side by side."""

    def __init__(self, steps: Iterable[Any]) -> None:
        self.steps = list(steps)
        previous: list[PipelineStep] = []
        for element in self.steps:
            group = element if isinstance(element, list) else [element]
            for step in group:
                for before in previous:
                    step.run_after(before)
            previous = group

    def flatten(self) -> list[PipelineStep]:
        return [s for e in self.steps for s in (e if isinstance(e, list) else [e])]


class Pipeline(SdkV1Surface):
    """A graph of steps, validated when built: graph errors, scripts, targets, parameters.

    ``steps`` is a step, a list of steps, a ``StepSequence`` or a ``PipelineData`` (its
    producer). Steps that produce consumed data or are named in ``run_after`` are pulled in.
    """

    def __init__(
        self,
        workspace: Workspace,
        steps: Any,
        description: str | None = None,
        default_datastore: Datastore | None = None,
        default_source_directory: str | os.PathLike[str] | None = None,
        resolve_closure: bool = True,
        _workflow_provider: Any = None,
        _service_endpoint: Any = None,
        **kwargs: Any,
    ) -> None:
        unknown = set(kwargs) - {"enable_email_notification"}
        if unknown:
            raise UserErrorException(f"Pipeline() got unexpected arguments {sorted(unknown)}")
        self._workspace = workspace
        self.description = description
        self._default_datastore = default_datastore
        self._default_source_directory = default_source_directory
        self._graph = build_graph(_roots(steps), resolve_closure)
        self._parameters = _parameters(self._graph)
        self._check_steps()

    @property
    def graph(self) -> Graph:
        return self._graph

    @property
    def steps(self) -> list[PipelineStep]:
        return list(self._graph.steps.values())

    @property
    def parameters(self) -> dict[str, PipelineParameter]:
        return dict(self._parameters)

    def validate(self) -> list[str]:
        """Problems found (SDK v1 returns a list); everything was already checked when built."""
        try:
            self._check_steps()
        except UserErrorException as exc:
            return [str(exc)]
        return []

    def _check_steps(self) -> None:
        outputs: dict[str, str] = {}
        for step in self._graph.steps.values():
            source = source_directory_of(step, self._default_source_directory)
            script = source / step.script_name if step.script_name is not None else None
            if script is not None and not script.is_file():
                raise UserErrorException(
                    f"step {step.name!r}: script not found at {script}; set source_directory on "
                    "the step or default_source_directory on the pipeline"
                )
            try:
                self._workspace._target_spec(step.compute_target)
            except ComputeTargetException as exc:
                raise ComputeTargetException(f"step {step.name!r}: {exc}") from None
            for data in step._outputs:
                name = data.pipeline_output_name
                if name and outputs.setdefault(name, step.name) != step.name:
                    raise UserErrorException(
                        f"pipeline_output_name {name!r} is used by steps {outputs[name]!r} and "
                        f"{step.name!r}; pipeline output names must be unique"
                    )

    def submit(
        self,
        experiment_name: str,
        pipeline_parameters: dict[str, Any] | None = None,
        continue_on_step_failure: bool = False,
        regenerate_outputs: bool = False,
        parent_run_id: str | None = None,
        **kwargs: Any,
    ) -> PipelineRun:
        """Submit to ``experiment_name`` (the same as ``Experiment(...).submit(pipeline)``)."""
        from hyperpipe.core._experiment import Experiment

        return Experiment(self._workspace, experiment_name).submit(
            self,
            pipeline_parameters=pipeline_parameters,
            continue_on_step_failure=continue_on_step_failure,
            regenerate_outputs=regenerate_outputs,
            parent_run_id=parent_run_id,
        )

    def publish(
        self,
        name: str | None = None,
        description: str | None = None,
        version: str | None = None,
        continue_on_step_failure: bool | None = None,
    ) -> PublishedPipeline:
        """Store this pipeline as a ``PublishedPipeline``: its steps, their source snapshots and
        its parameters with their defaults, unchangeable from now on; later edits to the source
        folders change nothing it runs."""
        from hyperpipe.pipeline.core._published import PublishedPipeline

        return PublishedPipeline._publish(
            self._workspace,
            self._template(self._workspace),
            name=name,
            description=description,
            version=version,
            continue_on_step_failure=continue_on_step_failure,
        )

    def _template(self, workspace: Workspace) -> dict[str, Any]:
        """Every step as a spec with parameter tokens, and the parameters' defaults."""
        datastore = (self._default_datastore or workspace.get_default_datastore()).name
        snapshots: dict[Path, tuple[str, dict[str, str]]] = {}
        return {
            "steps": [
                step_spec(
                    step,
                    workspace=workspace,
                    default_source_directory=self._default_source_directory,
                    default_datastore=datastore,
                    depends_on=self._graph.deps[name],
                    snapshots=snapshots,
                )
                for name, step in self._graph.steps.items()
            ],
            "parameters": declare_parameters(self._parameters, workspace),
            "datastore": datastore,
            "description": self.description,
        }

    def _submit_to(
        self,
        experiment: Experiment,
        pipeline_parameters: dict[str, Any] | None = None,
        regenerate_outputs: bool = False,
        continue_on_step_failure: bool = False,
        parent_run_id: str | None = None,
        **kwargs: Any,
    ) -> PipelineRun:
        workspace = experiment.workspace
        # Parameters are checked before anything is stored (snapshots and datasets included).
        check_values(
            declare_parameters(self._parameters), pipeline_parameters or {}, workspace=workspace
        )
        from hyperpipe.core._backends import check_targets

        check_targets(workspace, [step.compute_target for step in self._graph.steps.values()])
        return submit(
            experiment,
            self._template(workspace),
            pipeline_parameters,
            regenerate_outputs=regenerate_outputs,
            continue_on_step_failure=continue_on_step_failure,
            parent_run_id=parent_run_id,
        )


def _roots(steps: Any) -> list[PipelineStep]:
    # Imported here: steps._base imports this package, so a module-level import is circular
    # when hyperpipe.pipeline.steps is imported first.
    from hyperpipe.pipeline.steps._base import PipelineStep

    items = steps if isinstance(steps, list) else [steps]
    roots: list[PipelineStep] = []
    for item in items:
        if isinstance(item, StepSequence):
            roots.extend(item.flatten())
        elif isinstance(item, PipelineStep):
            roots.append(item)
        elif isinstance(item, PipelineData) and item._producers:
            roots.append(item._producers[0])
        else:
            raise UserErrorException(
                f"Pipeline steps must be steps, lists of steps, a StepSequence or PipelineData; "
                f"got {item!r}"
            )
    if not roots:
        raise UserErrorException("a pipeline needs at least one step")
    return roots


def _parameters(graph: Graph) -> dict[str, PipelineParameter]:
    found: dict[str, PipelineParameter] = {}
    for step in graph.steps.values():
        values = [*step._arguments, *getattr(step, "params", {}).values()]
        for binding in step._inputs:
            if isinstance(binding, DataPathInput) or (
                isinstance(binding, DatasetConsumptionConfig) and binding.parameter is not None
            ):
                values.append(binding.parameter)
        for value in values:
            if not isinstance(value, PipelineParameter):
                continue
            known = found.setdefault(value.name, value)
            if known is not value and known.default_value != value.default_value:
                raise UserErrorException(
                    f"two PipelineParameters are named {value.name!r} with different defaults "
                    f"({known.default_value!r} and {value.default_value!r}); use one object"
                )
    return found
