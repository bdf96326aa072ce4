"""``HyperDriveStepRun``: a ``HyperDriveStep``'s step run read as the sweep it ran."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hyperpipe.exceptions import UserErrorException
from hyperpipe.train.hyperdrive._config import HYPERDRIVE_RUN_TYPE
from hyperpipe.train.hyperdrive._run import HyperDriveRun

if TYPE_CHECKING:
    from hyperpipe.pipeline.core._pipeline_run import StepRun
    from hyperpipe.pipeline.core._port_data import PortDataReference, StepRunOutput

__all__ = ["HyperDriveStepRun"]


class HyperDriveStepRun(HyperDriveRun):
    """The sweep a ``HyperDriveStep`` ran, with SDK v1's HyperDrive API and the step run's
    outputs::

        step_run = pipeline_run.find_step_run("hd_step")[0]
        best = HyperDriveStepRun(step_run).get_best_run_by_primary_metric()

    A reused step run reads the sweep of the step run whose outputs it reused.
    """

    def __init__(self, step_run: StepRun) -> None:
        step_type = step_run.properties.get("StepType", "Unknown")
        if step_type != "HyperDriveStep":
            raise UserErrorException(
                f"step run {step_run.id} ({step_run.name!r}) is a {step_type}, not a "
                "HyperDriveStep; pass the step run of a HyperDriveStep"
            )
        original = step_run._original()
        store = step_run._store
        sweeps = [
            r
            for r in store.list_runs(parent_id=original.id, newest_first=False)
            if r.run_type == HYPERDRIVE_RUN_TYPE
        ]
        if not sweeps:
            raise UserErrorException(
                f"step run {step_run.id} ({step_run.name!r}) has not started its HyperDrive run "
                f"yet (status {step_run.get_status()}); wait for it"
            )
        from hyperpipe.core._experiment import Experiment

        record = sweeps[-1]
        self._experiment = Experiment(step_run._workspace, record.experiment_name)
        self._record = record
        self._writer = None
        self._own_process = False
        self._step_run = step_run

    @property
    def step_run(self) -> StepRun:
        """The pipeline's step run this sweep belongs to."""
        return self._step_run

    @property
    def pipeline_run_id(self) -> str | None:
        return self._step_run.pipeline_run_id

    def get_outputs(self) -> dict[str, StepRunOutput]:
        return self._step_run.get_outputs()

    def get_output(self, name: str) -> StepRunOutput:
        return self._step_run.get_output(name)

    def get_output_data(self, name: str) -> PortDataReference:
        return self._step_run.get_output_data(name)

    def get_job_log(self) -> str:
        return self._step_run.get_job_log()

    def get_step_details(self) -> dict[str, Any]:
        """The step run's details (``get_details()`` gives the sweep's)."""
        return self._step_run.get_details()
