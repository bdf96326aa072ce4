"""What a run is called where runs are listed: a title and a place in its experiment.

Run ids are for machines; a person reads "Run 12 · train.py + 2 steps" or "trial 7 · train.py".
The portal, its API and ``hyperpipe runs list`` all name runs this one way.
"""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hyperpipe.store import RunRecord

__all__ = ["run_label", "run_title"]

_CHILD_WORDS = {"azureml.StepRun": "step", "hyperdrive": "sweep"}


def run_title(record: RunRecord) -> str:
    """The run's display name; for an unnamed pipeline run, its first step's script (or name) and
    how many steps follow; for a sweep, the script it sweeps; for a script run, its script; else
    its id."""
    if record.display_name:
        return record.display_name
    definition = record.definition
    steps = definition.get("steps") or []
    if record.run_type == "azureml.PipelineRun" and steps:
        first = steps[0].get("script") or steps[0].get("name") or "pipeline"
        more = f" + {len(steps) - 1} step{'s' if len(steps) > 2 else ''}" if len(steps) > 1 else ""
        return f"{_short(first)}{more}"
    if record.run_type == "hyperdrive":
        script = (definition.get("hyperdrive") or {}).get("script")
        return f"sweep of {_short(script)}" if script else "HyperDrive sweep"
    script = definition.get("script")
    return _short(script) if script else record.id


def run_label(record: RunRecord, position: int | None) -> str:
    """Where the run stands: "Run 12" for the experiment's 12th top-level run, "step 2" or
    "trial 7" for a child, counted among its parent's children (``position`` from
    ``Store.run_positions``; without it, the experiment-wide ``number``)."""
    if record.parent_id is None:
        return f"Run {position if position is not None else record.number}"
    if "hyperparameters" in record.properties:
        word = "trial"
    else:
        word = _CHILD_WORDS.get(record.run_type, "child")
    return f"{word} {position}" if position is not None else f"{word} #{record.number}"


def _short(script: str) -> str:
    """A script path as people name it: its file name (``src/train.py`` -> ``train.py``)."""
    return PurePosixPath(str(script).replace("\\", "/")).name or str(script)
