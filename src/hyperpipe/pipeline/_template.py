"""Pipeline templates: step specs with parameter tokens, bound to values at each submission.

A template is ``{"steps": [spec...], "parameters": {name: {"type", "default"}}, "datastore",
"description"}``; its specs hold ``{"parameter": name}`` wherever a pipeline parameter goes, and
inputs of kind ``datapath`` / ``dataset_parameter`` where a ``(PipelineParameter,
DataPathComputeBinding)`` pair or a ``DatasetConsumptionConfig(name, PipelineParameter)`` is
consumed (see ``_spec``). ``Pipeline.submit``, a published pipeline, an endpoint, a schedule and
the REST routes all submit through ``submit`` here, so a step's spec and reuse key are the same
whichever way the run was started.

Values come from Python (``DataPath`` and dataset objects, numbers as numbers) or, with
``from_text``, from the CLI, REST and stored schedules: numbers written as text, a DataPath as
``{"DataStoreName", "RelativePath"}``, ``{"datastore", "path_on_datastore"}`` or
``"datastore:path"``, a dataset as its id, ``{"dataset_id": id}`` or a registered
``name`` / ``name:version``.
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any

from hyperpipe._ids import uuid4_str
from hyperpipe.core import _lifecycle
from hyperpipe.data._consumption import DatasetConsumptionConfig
from hyperpipe.data._dataset import AbstractDataset, DatasetFactory
from hyperpipe.data.datapath import DataPath
from hyperpipe.exceptions import UserErrorException

if TYPE_CHECKING:
    from hyperpipe.core._experiment import Experiment
    from hyperpipe.core._workspace import Workspace
    from hyperpipe.pipeline.core._pipeline_data import PipelineParameter
    from hyperpipe.pipeline.core._pipeline_run import PipelineRun

__all__ = [
    "bind_steps",
    "bind_values",
    "check_values",
    "declare_parameters",
    "graph_id",
    "plain_values",
    "run_template",
    "submit",
]

PIPELINE_RUN_TYPE = "azureml.PipelineRun"
_SCALARS: dict[str, type] = {"int": int, "float": float, "bool": bool, "string": str}
_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off"})
_BOUND_PARTS = ("arguments", "params", "inputs")  # what bind_steps changes in a spec
_DATAPATH = "a DataPath (DataPath(datastore, 'path/on/datastore'))"


def declare_parameters(
    parameters: dict[str, PipelineParameter], workspace: Workspace | None = None
) -> dict[str, dict[str, Any]]:
    """Each parameter's type (SDK v1's words: int, float, bool, string, datapath; ``dataset``
    with its ``dataset_type``) and default as JSON.

    With ``workspace``, an unsaved default dataset is saved (anonymously, keeping the id as SDK
    v1 does) so that the template names it by id; without, only the types are complete, which
    is enough to check values (:func:`check_values`).
    """
    declared: dict[str, dict[str, Any]] = {}
    for name, parameter in sorted(parameters.items()):
        default = parameter.default_value
        entry = {"type": parameter.type_name, "default": _plain(default, workspace)}
        if isinstance(default, AbstractDataset):
            entry["dataset_type"] = type(default).__name__
        declared[name] = entry
    return declared


def graph_id(template: dict[str, Any]) -> str:
    """The identity of a template's graph: sha256 over its steps and parameters."""
    body = {"steps": template["steps"], "parameters": template["parameters"]}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def check_values(
    declared: dict[str, dict[str, Any]],
    given: Any,
    *,
    workspace: Workspace,
    from_text: bool = False,
) -> dict[str, Any]:
    """The ``given`` values, each checked against its parameter's type and made the object a
    step is given (a ``DataPath``, a dataset); a clear error for an unknown name or a bad
    value."""
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
    return {
        name: _checked(name, declared[name], value, workspace, from_text)
        for name, value in given.items()
    }


def bind_values(
    declared: dict[str, dict[str, Any]],
    given: Any,
    *,
    workspace: Workspace,
    from_text: bool = False,
) -> dict[str, Any]:
    """The value of every parameter: what ``given`` says (see :func:`check_values`), else its
    default."""
    checked = check_values(declared, given, workspace=workspace, from_text=from_text)
    return {
        name: checked[name] if name in checked else _default(name, d, workspace)
        for name, d in declared.items()
    }


def plain_values(values: dict[str, Any], workspace: Workspace | None = None) -> dict[str, Any]:
    """Parameter values as JSON: a DataPath as ``{"datastore", "path_on_datastore"}``, a dataset
    as ``{"dataset_id", "name", "version"}`` (saved first when ``workspace`` is given and it
    has no id yet)."""
    return {name: _plain(value, workspace) for name, value in values.items()}


def bind_steps(
    steps: list[dict[str, Any]], values: dict[str, Any], workspace: Workspace
) -> list[dict[str, Any]]:
    """The specs with every ``{"parameter": name}`` replaced by its value and every
    parameterised input made the input it stands for."""
    bound = []
    for template in steps:
        spec = _copy(template)
        spec["arguments"] = [_text(values, a) if _is_token(a) else a for a in spec["arguments"]]
        spec["params"] = {
            k: _text(values, v) if _is_token(v) else v for k, v in spec["params"].items()
        }
        spec["inputs"] = [_bind_input(i, values, workspace) for i in spec["inputs"]]
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

    The run is a row in the store before this returns, and its orchestrator a detached process
    recorded on it: it finishes whatever becomes of the caller. Steps that reuse earlier
    outputs are recorded here first (``Scheduler.reuse_in_place``): a run whose every step is
    reused has ended when this returns, and starts no process.
    """
    from hyperpipe.pipeline._orchestrator import start_orchestrator
    from hyperpipe.pipeline._scheduler import Scheduler
    from hyperpipe.pipeline.core._pipeline_run import PipelineRun

    workspace = experiment.workspace
    values = bind_values(
        template["parameters"],
        {} if pipeline_parameters is None else pipeline_parameters,
        workspace=workspace,
        from_text=from_text,
    )
    steps = bind_steps(template["steps"], values, workspace)  # saves datasets given unsaved
    description = template.get("description")
    record = workspace._store.create_run(
        experiment_name=experiment.name,
        run_id=uuid4_str(),
        run_type=PIPELINE_RUN_TYPE,
        target="pipeline",
        display_name=description,
        parent_id=parent_run_id,
        properties=properties or {},
        definition={
            "steps": steps,
            "parameters": plain_values(values, workspace),
            "regenerate_outputs": bool(regenerate_outputs),
            "continue_on_step_failure": bool(continue_on_step_failure),
            "datastore": template["datastore"],
            "description": description,
            "template": _kept(template, steps),  # what publish_pipeline publishes from it
        },
        **_lifecycle.process_identity(),  # responsible until its orchestrator is recorded
    )
    try:  # a fresh run (regenerate_outputs) reuses nothing: no need to read it back
        ended = not regenerate_outputs and Scheduler(workspace, record.id).reuse_in_place()
    except Exception:  # the orchestrator meets it again, and records it on the run
        ended = False
    if not ended:
        start_orchestrator(workspace, record.id, local_scripts=_local_scripts(workspace, steps))
    return PipelineRun._from_record(experiment, workspace._store.get_run(record.id))  # type: ignore[return-value]


def _local_scripts(workspace: Workspace, steps: list[dict[str, Any]]) -> bool:
    """Whether some step is a Python script on a local target."""
    from hyperpipe.core._compute_config import LOCAL_TARGET, RAY_TARGET

    targets = workspace._target_specs()
    return any(
        "command" not in spec
        and not spec.get("hyperdrive")
        and (target := targets.get(spec["target"] or LOCAL_TARGET)) is not None
        and target.type != RAY_TARGET
        for spec in steps
    )


def run_template(definition: dict[str, Any]) -> dict[str, Any] | None:
    """The template a pipeline run was bound from (None for a run recorded without it)."""
    kept = definition.get("template")
    if kept is None:
        return None
    return {
        "steps": [
            {**_copy(spec), **_copy(kept["steps"].get(spec["name"], {}))}
            for spec in definition["steps"]
        ],
        "parameters": _copy(kept["parameters"]),
        "datastore": definition["datastore"],
        "description": definition.get("description"),
    }


def _kept(template: dict[str, Any], steps: list[dict[str, Any]]) -> dict[str, Any]:
    """What a run keeps of its template: the parameters, and only the parts of each step that
    binding changed (the rest is the bound step itself), so a run's row stays as small as its
    steps; ``run_template`` puts it back together."""
    changed = {}
    for raw, bound in zip(template["steps"], steps, strict=True):
        parts = {key: raw[key] for key in _BOUND_PARTS if raw[key] != bound[key]}
        if parts:
            changed[raw["name"]] = parts
    return {"parameters": template["parameters"], "steps": changed}


def _is_token(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {"parameter"}


def _text(values: dict[str, Any], token: dict[str, str]) -> str:
    return str(values[token["parameter"]])


def _bind_input(
    spec: dict[str, Any], values: dict[str, Any], workspace: Workspace
) -> dict[str, Any]:
    kind = spec.get("kind")
    if kind == "datapath":  # the datastore path the parameter holds
        path: DataPath = values[spec["parameter"]]
        return {
            "kind": "reference",
            "port": spec["port"],
            "datastore": path.datastore_name,
            "path": path.path_on_datastore or "",
            "mode": spec["mode"],
            "path_on_compute": spec.get("path_on_compute"),
            "parameter": spec["parameter"],
        }
    if kind == "dataset_parameter":  # the dataset the parameter holds
        consumed = DatasetConsumptionConfig(
            spec["name"], values[spec["parameter"]], spec["mode"], spec.get("path_on_compute")
        )
        # The spec's own "kind" (file/tabular) must not replace the input kind "dataset".
        return {**consumed._to_spec(workspace), "kind": "dataset", "port": spec["port"]}
    return spec


def _plain(value: Any, workspace: Workspace | None) -> Any:
    if isinstance(value, DataPath):
        return value._to_json()
    if isinstance(value, AbstractDataset):
        if value.id is None and workspace is not None:
            value._adopt(value._save(workspace, None))
        return {"dataset_id": value.id, "name": value.name, "version": value.version}
    return value if isinstance(value, (str, int, float, bool)) or value is None else str(value)


def _default(name: str, declared: dict[str, Any], workspace: Workspace) -> Any:
    """A parameter's default as the object a step is given."""
    default = declared["default"]
    try:
        if declared["type"] == "datapath":
            return DataPath._from_json(default, workspace)
        if declared["type"] == "dataset":
            return DatasetFactory.get_by_id(workspace, default["dataset_id"])
    except UserErrorException as exc:
        raise UserErrorException(f"pipeline parameter {name!r}: default: {exc}") from None
    return default


def _checked(
    name: str, declared: dict[str, Any], value: Any, workspace: Workspace, from_text: bool
) -> Any:
    kind = declared["type"]
    if kind == "datapath":
        return _datapath(name, value, workspace, from_text)
    if kind == "dataset":
        return _dataset(name, declared.get("dataset_type", "dataset"), value, workspace, from_text)
    expected = _SCALARS[kind]
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
    """A number or boolean written as text; a float written as a whole number stays one (as
    the same value given from Python), so every way of submitting binds the same argument."""
    try:
        if kind == "int":
            return int(text)
        if kind == "float":
            try:
                return int(text)
            except ValueError:
                return float(text)
    except ValueError:
        pass
    if kind == "bool" and text.strip().lower() in _TRUE | _FALSE:
        return text.strip().lower() in _TRUE
    raise UserErrorException(f"pipeline parameter {name!r} takes a {kind}, got {text!r}")


def _datapath(name: str, value: Any, workspace: Workspace, from_text: bool) -> DataPath:
    if isinstance(value, DataPath):
        return value
    if not from_text or not isinstance(value, (dict, str)):
        hint = (
            "; as text give {'DataStoreName': ..., 'RelativePath': ...} or 'datastore:path'"
            if from_text
            else ""
        )
        raise UserErrorException(
            f"pipeline parameter {name!r} takes {_DATAPATH}, got {value!r}{hint}"
        )
    try:
        return DataPath._from_json(value, workspace)
    except UserErrorException as exc:
        raise UserErrorException(f"pipeline parameter {name!r} takes {_DATAPATH}: {exc}") from None


def _dataset(
    name: str, dataset_type: str, value: Any, workspace: Workspace, from_text: bool
) -> AbstractDataset:
    found = value if isinstance(value, AbstractDataset) else None
    if found is None and from_text:
        found = _dataset_from_text(name, value, workspace)
    if found is None or type(found).__name__ != dataset_type:
        hint = (
            "; as text give its id, {'dataset_id': id} or a registered name[:version]"
            if from_text and found is None
            else ""
        )
        raise UserErrorException(
            f"pipeline parameter {name!r} takes a {dataset_type}, got {value!r}{hint}"
        )
    return found


def _dataset_from_text(name: str, value: Any, workspace: Workspace) -> AbstractDataset | None:
    """The stored dataset ``value`` names: an id, ``{"dataset_id": id}``, or a registered
    ``name`` / ``name:version``; None when it is none of these forms."""
    if isinstance(value, dict) and isinstance(value.get("dataset_id"), str):
        value = value["dataset_id"]
    if not isinstance(value, str) or not value:
        return None
    if workspace._store.get_dataset_by_id(value) is not None:
        return DatasetFactory.get_by_id(workspace, value)
    dataset_name, _, version = value.partition(":")
    try:
        return DatasetFactory.get_by_name(workspace, dataset_name, version or "latest")
    except UserErrorException as exc:
        raise UserErrorException(f"pipeline parameter {name!r}: {exc}") from None


def _copy(value: Any) -> Any:
    """A deep copy of JSON-shaped data (dicts, lists, scalars): ``copy.deepcopy``'s result for
    specs, several times faster (no memo, no dispatch on every string)."""
    if isinstance(value, dict):
        return {key: _copy(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_copy(item) for item in value]
    return value
