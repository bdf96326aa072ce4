"""Pipeline templates: step specs with parameter tokens, bound to values at each submission.

A template is ``{"steps": [spec...], "parameters": {name: {"type", "default"}}, "datastore",
"description"}``; its specs hold ``{"parameter": name}`` wherever a pipeline parameter goes (see
``_spec``). ``Pipeline.submit``, a published pipeline, an endpoint, a schedule and the REST routes
all submit through ``submit`` here, so a step's reuse key is the same whichever way it came.
"""

from __future__ import annotations

import copy
import hashlib
import json
import uuid
from typing import TYPE_CHECKING, Any

from hyperpipe.data.datapath import DataPath
from hyperpipe.exceptions import UserErrorException

if TYPE_CHECKING:
    from hyperpipe.core._experiment import Experiment
    from hyperpipe.pipeline.core._pipeline_data import PipelineParameter
    from hyperpipe.pipeline.core._pipeline_run import PipelineRun

__all__ = [
    "bind_steps",
    "bind_values",
    "declare_parameters",
    "graph_id",
    "plain_values",
    "submit",
]

PIPELINE_RUN_TYPE = "azureml.PipelineRun"
_SCALARS: dict[str, type] = {"int": int, "float": float, "bool": bool, "string": str}
_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off"})


def declare_parameters(parameters: dict[str, PipelineParameter]) -> dict[str, dict[str, Any]]:
    """Each parameter's type (SDK v1's words: int, float, bool, string, datapath) and default."""
    return {
        name: {"type": p.type_name, "default": _plain(p.default_value)}
        for name, p in sorted(parameters.items())
    }


def graph_id(template: dict[str, Any]) -> str:
    """The identity of a template's graph: sha256 over its steps and parameters."""
    body = {"steps": template["steps"], "parameters": template["parameters"]}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def bind_values(
    declared: dict[str, dict[str, Any]], given: dict[str, Any], *, from_text: bool = False
) -> dict[str, Any]:
    """The value of every parameter: its default, or what ``given`` says.

    ``from_text`` (the CLI, REST) also accepts numbers and booleans written as text, and a
    DataPath as ``{"DataStoreName": ..., "RelativePath": ...}`` or ``"datastore:path"``.
    """
    if not isinstance(given, dict):
        raise UserErrorException(
            f"pipeline_parameters must be a dict of name -> value, got {given!r}"
        )
    unknown = sorted(set(given) - set(declared))
    if unknown:
        known = ", ".join(sorted(declared)) or "none"
        raise UserErrorException(
            f"pipeline parameter {unknown[0]!r} does not exist in this pipeline; its parameters: "
            f"{known}"
        )
    values = {name: _value(d["type"], d["default"]) for name, d in declared.items()}
    for name, value in given.items():
        values[name] = _checked(name, declared[name]["type"], value, from_text)
    return values


def plain_values(values: dict[str, Any]) -> dict[str, Any]:
    """Parameter values as JSON (a DataPath as ``{"datastore", "path"}``)."""
    return {name: _plain(value) for name, value in values.items()}


def bind_steps(steps: list[dict[str, Any]], values: dict[str, Any]) -> list[dict[str, Any]]:
    """The specs with every ``{"parameter": name}`` replaced by its value."""
    bound = []
    for template in steps:
        spec = copy.deepcopy(template)
        spec["arguments"] = [_text(values, a) if _is_token(a) else a for a in spec["arguments"]]
        spec["params"] = {
            k: _text(values, v) if _is_token(v) else v for k, v in spec["params"].items()
        }
        spec["inputs"] = [_bind_input(i, values) for i in spec["inputs"]]
        bound.append(spec)
    return bound


def submit(
    experiment: Experiment,
    template: dict[str, Any],
    pipeline_parameters: dict[str, Any] | None = None,
    *,
    from_text: bool = False,
    regenerate_outputs: bool = False,
    continue_on_step_failure: bool = False,
    parent_run_id: str | None = None,
    properties: dict[str, Any] | None = None,
) -> PipelineRun:
    """Record a pipeline run of ``template`` and start its orchestrator; returns the run.

    The run is a row in the store before this returns, and its orchestrator a detached process:
    it finishes whatever becomes of the caller.
    """
    from hyperpipe.pipeline._orchestrator import start_orchestrator
    from hyperpipe.pipeline.core._pipeline_run import PipelineRun

    values = bind_values(template["parameters"], pipeline_parameters or {}, from_text=from_text)
    workspace = experiment.workspace
    description = template.get("description")
    record = workspace._store.create_run(
        experiment_name=experiment.name,
        run_id=str(uuid.uuid4()),
        run_type=PIPELINE_RUN_TYPE,
        target="pipeline",
        display_name=description,
        parent_id=parent_run_id,
        properties=properties or {},
        definition={
            "steps": bind_steps(template["steps"], values),
            "parameters": plain_values(values),
            "regenerate_outputs": bool(regenerate_outputs),
            "continue_on_step_failure": bool(continue_on_step_failure),
            "datastore": template["datastore"],
            "description": description,
            "template": template,  # what publish_pipeline publishes from this run
        },
    )
    start_orchestrator(workspace, record.id)
    return PipelineRun._from_record(experiment, workspace._store.get_run(record.id))  # type: ignore[return-value]


def _is_token(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {"parameter"}


def _text(values: dict[str, Any], token: dict[str, str]) -> str:
    return str(values[token["parameter"]])


def _bind_input(spec: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    if spec.get("kind") != "datapath":
        return spec
    path: DataPath = values[spec["parameter"]]
    return {
        "kind": "reference",
        "port": spec["port"],
        "datastore": path.datastore_name,
        "path": path.path_on_datastore,
        "mode": spec["mode"],
        "path_on_compute": spec.get("path_on_compute"),
    }


def _plain(value: Any) -> Any:
    if isinstance(value, DataPath):
        return value._to_json()
    return value if isinstance(value, (str, int, float, bool)) or value is None else str(value)


def _value(kind: str, default: Any) -> Any:
    return DataPath._from_json(default) if kind == "datapath" else default


def _checked(name: str, kind: str, value: Any, from_text: bool) -> Any:
    if kind == "datapath":
        return _datapath(name, value)
    expected = _SCALARS.get(kind)
    if expected is None:
        return value
    if from_text and isinstance(value, str) and expected is not str:
        return _parse(name, kind, value)
    if from_text and expected is str and isinstance(value, (int, float)):
        value = str(value)
    widened = expected is float and isinstance(value, int) and not isinstance(value, bool)
    if not isinstance(value, expected) and not widened:
        raise UserErrorException(
            f"pipeline parameter {name!r} takes a {expected.__name__}, got {value!r}"
        )
    if isinstance(value, str) and "\n" in value:
        raise UserErrorException(
            f"pipeline parameter {name!r}: multi-line strings are not supported"
        )
    return value


def _parse(name: str, kind: str, text: str) -> Any:
    try:
        if kind == "int":
            return int(text)
        if kind == "float":
            return float(text)
    except ValueError:
        pass
    if kind == "bool" and text.strip().lower() in _TRUE | _FALSE:
        return text.strip().lower() in _TRUE
    raise UserErrorException(f"pipeline parameter {name!r} takes a {kind}, got {text!r}")


def _datapath(name: str, value: Any) -> DataPath:
    if isinstance(value, DataPath):
        return value
    if isinstance(value, dict):
        datastore = value.get("DataStoreName", value.get("datastore"))
        path = value.get("RelativePath", value.get("path"))
        if isinstance(datastore, str) and isinstance(path, str):
            return DataPath(datastore, path)
    if isinstance(value, str) and ":" in value:
        datastore, _, path = value.partition(":")
        return DataPath(datastore, path)
    raise UserErrorException(
        f"pipeline parameter {name!r} takes a DataPath, got {value!r}; pass DataPath(datastore, "
        "path), {'DataStoreName': ..., 'RelativePath': ...} or 'datastore:path'"
    )
