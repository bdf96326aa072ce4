"""A run's details in SDK v1's shape (``Run.get_details()``), from its stored record."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hyperpipe.core import _lifecycle, _paths

if TYPE_CHECKING:
    from hyperpipe.store import RunRecord

__all__ = ["run_details"]


def run_details(record: RunRecord) -> dict[str, Any]:
    """runId, status, times, inputs, definition (with the environment), log files, warnings
    (what was recorded but not applied locally) and the error, as SDK v1 names them."""
    definition = record.definition
    details: dict[str, Any] = {
        "runId": record.id,
        "runUuid": record.id,
        "parentRunId": record.parent_id,
        "target": record.target,
        "status": record.status.value,
        "startTimeUtc": _iso(record.started_at),
        "endTimeUtc": _iso(record.ended_at),
        "properties": dict(record.properties),
        "tags": dict(record.tags),
        "inputDatasets": [
            {
                "dataset": {
                    "id": spec["dataset_id"],
                    "name": spec.get("dataset_name"),
                    "version": spec.get("dataset_version"),
                },
                "consumptionDetails": {
                    "type": "RunInput",
                    "inputName": spec.get("name") or spec.get("port"),
                    "mechanism": spec["mode"].capitalize(),
                },
            }
            for spec in definition.get("inputs") or []
            if spec.get("dataset_id")
        ],
        "outputDatasets": definition.get("outputDatasets", []),
        "runDefinition": {
            k: definition[k]
            for k in (
                "script",
                "arguments",
                "source_directory",
                "target",
                "environment_variables",
            )
            if k in definition
        },
        "logFiles": {},
        "submittedBy": definition.get("submitted_by"),
    }
    environment = definition.get("environment")
    if environment:
        details["runDefinition"]["environment"] = environment["definition"]
        notes = environment.get("notes") or []
        details["warnings"] = [{"source": "hyperpipe", "message": n} for n in notes]
    log_path = _lifecycle.driver_log_path(record)
    if log_path is not None:
        details["logFiles"][_paths.DRIVER_LOG] = str(log_path)
    if record.error:
        details["error"] = record.error
    return details


def _iso(ts: float | None) -> str | None:
    from datetime import UTC, datetime

    return (
        None if ts is None else datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")
    )
