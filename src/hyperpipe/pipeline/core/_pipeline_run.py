"""``PipelineRun`` and ``StepRun``: SDK v1's handles on a submitted pipeline and its steps."""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING, Any

from hyperpipe.core import _lifecycle
from hyperpipe.core._run import Run
from hyperpipe.core._waiting import EndWatch
from hyperpipe.exceptions import UserErrorException
from hyperpipe.pipeline.core._port_data import PortDataReference, StepRunOutput
from hyperpipe.store import RunStatus

if TYPE_CHECKING:
    from collections.abc import Iterator

    from hyperpipe.core._workspace import Workspace
    from hyperpipe.pipeline._live import StepView
    from hyperpipe.pipeline.core._published import PublishedPipeline

__all__ = ["PipelineRun", "PortDataReference", "StepRun", "StepRunOutput"]


class StepRun(Run):
    """One step of a pipeline run. A reused step run points at the original step's outputs."""

    @property
    def pipeline_run_id(self) -> str | None:
        return self._record.parent_id

    @property
    def _is_reused(self) -> bool:
        return bool(self._record.definition.get("reuse", {}).get("reused"))

    @property
    def reuse_decision(self) -> dict[str, Any]:
        """Whether the step was reused and why (or why not): its key and the changed parts."""
        decision = self._record.definition.get("reuse", {})
        return {k: v for k, v in decision.items() if k != "parts"}

    def _original(self) -> Run:
        """The step run whose work this one reused (itself when it ran)."""
        reused_from = self._record.definition.get("reuse", {}).get("reused_run_id")
        return Run.get(self._workspace, reused_from) if reused_from else self

    def get_metrics(
        self,
        name: str | None = None,
        recursive: bool = False,
        run_type: str | None = None,
        populate: bool = False,
    ) -> dict[str, Any]:
        """Metrics of the step; a reused step shows those of the run it reused."""
        original = self._original()
        if original is self:
            return super().get_metrics(name, recursive, run_type, populate)
        return original.get_metrics(name, recursive, run_type, populate)

    @property
    def properties(self) -> dict[str, Any]:
        """The run's properties, with SDK v1's ``StepType`` (``PythonScriptStep``...)."""
        return {**self._record.properties, "StepType": self._record.definition.get("type")}

    def get_properties(self) -> dict[str, Any]:
        self._refresh()
        return self.properties

    def get_outputs(self) -> dict[str, StepRunOutput]:
        """``{output name: StepRunOutput}`` for every output the step committed."""
        committed = self._refresh().definition.get("committed_outputs", {})
        return {name: StepRunOutput(self, name, out) for name, out in committed.items()}

    def get_output(self, name: str) -> StepRunOutput:
        """The output called ``name`` (``.get_port_data_reference()`` gives where it is)."""
        outputs = self.get_outputs()
        if name not in outputs:
            raise UserErrorException(
                f"step {self.name!r} has no output {name!r}; its outputs: "
                + (", ".join(outputs) or "none (it has not finished)")
            )
        return outputs[name]

    def get_output_data(self, name: str) -> PortDataReference:
        """Where the output called ``name`` was committed (SDK v1: ``get_output(name)
        .get_port_data_reference()``)."""
        return self.get_output(name).get_port_data_reference()

    def get_job_log(self) -> str:
        path = _lifecycle.driver_log_path(self._record)
        return path.read_text(errors="replace") if path is not None and path.is_file() else ""

    get_stdout_log = get_job_log

    def get_details(self) -> dict[str, Any]:
        details = super().get_details()
        details["reuse"] = self.reuse_decision
        return details

    def child_run(self, *args: Any, **kwargs: Any) -> Run:
        raise NotImplementedError("a step run cannot have child runs started on it")


class PipelineRun(Run):
    """A submitted pipeline. It ends ``Finished`` (SDK v1's word) when every step has."""

    def get_steps(self) -> Iterator[StepRun]:
        """The step runs started so far, in start order."""
        return self.get_children()  # type: ignore[return-value]

    def find_step_run(self, name: str) -> list[StepRun]:
        """Step runs of the step called ``name`` (a list, as in SDK v1)."""
        return [s for s in self.get_steps() if s.name == name]

    def get_pipeline_output(self, pipeline_output_name: str) -> PortDataReference:
        for spec in self._record.definition.get("steps", []):
            for output in spec["outputs"]:
                if output.get("pipeline_output_name") == pipeline_output_name:
                    runs = self.find_step_run(spec["name"])
                    finished = [r for r in runs if r.get_status() == RunStatus.FINISHED.value]
                    if not finished:
                        raise UserErrorException(
                            f"pipeline output {pipeline_output_name!r} comes from step "
                            f"{spec['name']!r}, which has not finished"
                        )
                    return finished[-1].get_output_data(output["name"])
        names = [
            o["pipeline_output_name"]
            for spec in self._record.definition.get("steps", [])
            for o in spec["outputs"]
            if o.get("pipeline_output_name")
        ]
        raise UserErrorException(
            f"no pipeline output named {pipeline_output_name!r}; this pipeline's outputs: "
            + (", ".join(names) or "none")
        )

    def wait_for_completion(
        self,
        show_output: bool = True,
        timeout_seconds: float = sys.maxsize,
        raise_on_error: bool = True,
    ) -> str:  # type: ignore[override]
        """Wait for the pipeline to end; returns its status word (``Finished``...).

        With ``show_output`` a live view of the steps is drawn (a line per change when output is
        not a terminal).
        """
        view: StepView | None = None
        if show_output:
            from hyperpipe.pipeline._live import StepView

            view = StepView(self)
        deadline = time.monotonic() + timeout_seconds
        delay = 0.005
        watch = EndWatch()
        try:
            while True:
                record = self._refresh()
                if view is not None:
                    view.update(record)
                if record.status.is_terminal() or time.monotonic() > deadline:
                    break
                watch.sleep(record, min(delay, max(deadline - time.monotonic(), 0)))
                delay = min(delay * 1.25, 0.05)
        except KeyboardInterrupt:
            if view is not None:
                view.close()
                view = None
            _lifecycle.left_running(self.id, "pipeline run")
            raise
        finally:
            watch.close()
            if view is not None:
                view.close()
        if raise_on_error and record.status in (RunStatus.FAILED, RunStatus.CRASHED):
            self._raise_if_failed(record, "pipeline run", self.get_details())
        return record.status.value

    def publish_pipeline(
        self,
        name: str,
        description: str | None,
        version: str | None,
        continue_on_step_failure: bool | None = None,
    ) -> PublishedPipeline:
        """Publish the pipeline this run ran: its step specs and source snapshots as stored with
        the run, its parameters with their defaults (not the values this run was given)."""
        from hyperpipe.pipeline._template import run_template
        from hyperpipe.pipeline.core._published import PublishedPipeline

        template = run_template(self._record.definition)
        if template is None:
            raise UserErrorException(
                f"pipeline run {self.id!r} was recorded without its pipeline's definition (an "
                "older hyperpipe made it); publish the Pipeline object with pipeline.publish(name)"
            )
        return PublishedPipeline._publish(
            self._workspace,
            template,
            name=name,
            description=description,
            version=version,
            continue_on_step_failure=continue_on_step_failure,
            source_run_id=self.id,
        )

    @staticmethod
    def get_pipeline_runs(workspace: Workspace, pipeline_id: str) -> list[PipelineRun]:
        """The runs of the published pipeline ``pipeline_id``, newest first."""
        from hyperpipe.core._experiment import Experiment
        from hyperpipe.pipeline.core._published import PIPELINE_ID_PROPERTY

        records = workspace._store.list_runs(
            run_type="azureml.PipelineRun",
            property_name=PIPELINE_ID_PROPERTY,
            property_value=pipeline_id,
        )
        return [
            PipelineRun._from_record(  # type: ignore[misc]
                Experiment(workspace, r.experiment_name, _skip_name_validation=True), r
            )
            for r in records
        ]

    def resume(self) -> PipelineRun:
        """Continue a failed, cancelled or crashed run; finished steps are not run again."""
        from hyperpipe.pipeline._orchestrator import start_orchestrator

        self._requeue("pipeline run")
        start_orchestrator(self._workspace, self.id)
        return self

    def complete(self, _set_status: bool = True) -> None:
        raise NotImplementedError("a pipeline run ends when its steps do")

    def fail(
        self, error_details: Any = None, error_code: str | None = None, _set_status: bool = True
    ) -> None:
        raise NotImplementedError("a pipeline run fails when one of its steps does")

    def child_run(self, *args: Any, **kwargs: Any) -> Run:
        raise NotImplementedError("a pipeline run's children are its steps")
