"""Where a run's files live: local working state in the workspace, artifacts in the datastore."""

from __future__ import annotations

from pathlib import Path

DRIVER_LOG = "azureml-logs/70_driver_log.txt"
OUTPUTS = "outputs"


def run_dir(workspace_root: Path, run_id: str) -> Path:
    """Local state of a run on the machine that executes it (snapshot, metric journals)."""
    return workspace_root / ".hyperpipe" / "runs" / run_id


def journal_dir(workspace_root: Path, run_id: str) -> Path:
    return run_dir(workspace_root, run_id) / "metrics"


def artifact_prefix(run_id: str) -> str:
    """Where a run's files go in the default datastore, as in SDK v1."""
    return f"ExperimentRun/dcid.{run_id}/"


def slots_dir(workspace_root: Path, target: str) -> Path:
    return workspace_root / ".hyperpipe" / "slots" / target
