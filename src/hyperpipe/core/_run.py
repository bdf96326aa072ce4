"""``Run``: one execution with its metrics, tags, properties, files and children (SDK v1 shapes).

What it logs is ``_run_metrics``'s part, its files ``_run_files``'s (mixins of ``Run``).
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hyperpipe._ids import uuid4_hex
from hyperpipe._surface import SdkV1Surface
from hyperpipe.core import _lifecycle, _paths
from hyperpipe.core._log_follower import LogFollower
from hyperpipe.core._metrics import MetricWriter
from hyperpipe.core._run_details import run_details
from hyperpipe.core._run_files import RunFiles
from hyperpipe.core._run_metrics import MAX_NAME_LENGTH, RunMetrics
from hyperpipe.core._waiting import EndWatch
from hyperpipe.exceptions import (
    ActivityFailedException,
    ModelPathNotFoundException,
    RunEnvironmentException,
    UserErrorException,
)
from hyperpipe.store import RunStatus

if TYPE_CHECKING:
    from collections.abc import Iterator

    from hyperpipe.core._experiment import Experiment
    from hyperpipe.core._model import Model
    from hyperpipe.core._workspace import Workspace
    from hyperpipe.store import RunRecord, Store

__all__ = ["Run", "ScriptRun"]

# run type -> "module:Class" of its Run subclass, resolved on use so core imports no upper layer.
RUN_CLASSES: dict[str, str] = {
    "azureml.scriptrun": "hyperpipe.core._run:ScriptRun",
    "azureml.PipelineRun": "hyperpipe.pipeline.core._pipeline_run:PipelineRun",
    "azureml.StepRun": "hyperpipe.pipeline.core._pipeline_run:StepRun",
    "hyperdrive": "hyperpipe.train.hyperdrive._run:HyperDriveRun",
}
_context_cache: dict[str, Run] = {}
# The workspace a fork server loaded for the run contexts of its tasks (``warm``), by the folder
# given: (the config file's identity then, the workspace).
_warm_workspaces: dict[str, tuple[tuple[int, int, int], Workspace]] = {}
PORTAL_URL_ENV = "HYPERPIPE_PORTAL_URL"
# What a launcher tells a run's process of its run besides its id (AZUREML_RUN_ID), so that
# ``Run.get_context()`` reads the run's record only when something asks for it: the record's key
# (which metric values are written under) and type (the Run subclass).
RUN_KEY_ENV = "HYPERPIPE_RUN_KEY"
RUN_TYPE_ENV = "HYPERPIPE_RUN_TYPE"
DEFAULT_PORTAL_URL = "http://127.0.0.1:8765"
# The longest value of a tag or property (README: "Limits"; names: MAX_NAME_LENGTH).
MAX_VALUE_LENGTH = 5000


def _new_writers_in_child() -> None:
    """A forked child (a data-loader worker, say) logs through writers of its own."""
    for run in _context_cache.values():
        run._writer = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_new_writers_in_child)


class Run(RunMetrics, RunFiles, SdkV1Surface):
    """A run in the workspace's store. ``Run(experiment, run_id)`` loads an existing run.

    Inside a submitted script, ``Run.get_context()`` returns the run being executed; metric values
    are batched in the background and are all in the store by the time the run ends (or when
    ``flush()``, ``get_metrics()`` or ``complete()`` is called).
    """

    # This process was started by a hyperpipe launcher (a script run, a step, a trial), which
    # replays the metric journals of the run's processes when it ends the run.
    _launched = False

    def __init__(
        self, experiment: Experiment, run_id: str, outputs: Any = None, **kwargs: Any
    ) -> None:
        self._experiment = experiment
        self._record = experiment.workspace._store.get_run(run_id)
        self._writer: MetricWriter | None = None
        self._own_process = False

    @classmethod
    def _from_record(cls, experiment: Experiment, record: RunRecord) -> Run:
        run = cls._bare(experiment, record.run_type)
        run._record = record
        return run

    @classmethod
    def _unread(cls, experiment: Experiment, run_id: str, key: int, run_type: str) -> Run:
        """The run ``run_id`` (record key ``key``), its record read from the store on first use."""
        run = cls._bare(experiment, run_type)
        run._run_id, run._run_key, run._loaded = run_id, key, None
        return run

    @classmethod
    def _bare(cls, experiment: Experiment, run_type: str) -> Run:
        """A run of ``run_type``'s class (``cls`` where that is not one of its own), no record
        set yet."""
        target = _resolve_class(run_type)
        run = object.__new__(target if issubclass(target, cls) else cls)
        run._experiment = experiment
        run._writer = None
        run._own_process = False
        return run

    @property
    def _record(self) -> RunRecord:
        """The run as stored when last read (on first use, for a run from ``_unread``)."""
        record = self._loaded
        if record is None:
            record = self._loaded = self._store.get_run(self._run_id)
        return record

    @_record.setter
    def _record(self, record: RunRecord) -> None:
        self._loaded, self._run_id, self._run_key = record, record.id, record.key

    # -- finding runs -------------------------------------------------------------------------

    @staticmethod
    def get_context(
        allow_offline: bool = True, used_for_context_manager: bool = False, **kwargs: Any
    ) -> Run:
        """The run this process executes, or an offline run that prints what it is given.

        Raises ``RunEnvironmentException`` outside a run when ``allow_offline`` is False.
        """
        run_id = os.environ.get("AZUREML_RUN_ID")
        root = os.environ.get("HYPERPIPE_WORKSPACE")
        if not run_id or not root:
            if not allow_offline:
                raise RunEnvironmentException(
                    "Run.get_context(allow_offline=False) was called outside a submitted run; "
                    "submit the script with experiment.submit(ScriptRunConfig(...)) or "
                    "`hyperpipe run SCRIPT`"
                )
            from hyperpipe.core._offline_run import OfflineRun

            return OfflineRun()
        cached = _context_cache.get(run_id)
        if cached is not None:
            return cached
        from hyperpipe.core._experiment import Experiment

        workspace = _context_workspace(root)
        experiment_name = os.environ.get("AZUREML_ARM_PROJECT_NAME")
        key, run_type = os.environ.get(RUN_KEY_ENV), os.environ.get(RUN_TYPE_ENV)
        if experiment_name and key and key.isdigit() and run_type:
            # Started by hyperpipe: the store is opened when the script first needs it (a short
            # trial that only logs never does, see ``MetricWriter``).
            run = Run._unread(Experiment(workspace, experiment_name), run_id, int(key), run_type)
            run._launched = True
        else:
            record = workspace._store.get_run(run_id)
            run = Run._from_record(Experiment(workspace, record.experiment_name), record)
        run._own_process = True
        _context_cache[run_id] = run
        return run

    @staticmethod
    def get(workspace: Workspace, run_id: str) -> Run:
        """The run with id ``run_id`` in ``workspace``, as its own subclass."""
        from hyperpipe.core._experiment import Experiment

        record = workspace._store.get_run(run_id)
        return Run._from_record(Experiment(workspace, record.experiment_name), record)

    @staticmethod
    def list(
        experiment: Experiment,
        type: str | None = None,
        tags: str | dict[str, Any] | None = None,
        properties: str | dict[str, Any] | None = None,
        status: str | None = None,
        include_children: bool = False,
        _rehydrate_runs: bool = True,
    ) -> Iterator[Run]:
        """Runs of ``experiment``, newest first, filtered as SDK v1 filters them."""
        records = experiment.workspace._store.list_runs(
            experiment_name=experiment.name,
            top_level_only=not include_children,
            statuses=[RunStatus(status)] if status else None,
            run_type=type,
        )
        for record in records:
            if _matches(record.tags, tags) and _matches(record.properties, properties):
                yield Run._from_record(experiment, record)

    # -- identity -----------------------------------------------------------------------------

    @property
    def id(self) -> str:
        return self._run_id

    @property
    def number(self) -> int:
        return self._record.number

    @property
    def experiment(self) -> Experiment:
        return self._experiment

    @property
    def type(self) -> str:
        return self._record.run_type

    @property
    def name(self) -> str | None:
        return self._record.display_name

    @property
    def display_name(self) -> str:
        return self._record.display_name or self._record.id

    @display_name.setter
    def display_name(self, value: str) -> None:
        self._record = self._store.update_run(self.id, display_name=value)

    @property
    def status(self) -> str:
        return self.get_status()

    @property
    def tags(self) -> dict[str, Any]:
        return dict(self._record.tags)

    @property
    def properties(self) -> dict[str, Any]:
        return dict(self._record.properties)

    @property
    def input_datasets(self) -> dict[str, Any]:
        """The run's named inputs: a local path for mounted or downloaded file datasets (inside
        the running script), the dataset itself for direct inputs (and anywhere else)."""
        from hyperpipe.data._dataset import Dataset

        found: dict[str, Any] = {}
        for spec in self._record.definition.get("inputs") or []:
            name = spec.get("name") or spec.get("port")
            dataset_id = spec.get("dataset_id")
            value = os.environ.get(name) if self._own_process else None
            if spec.get("tabular") and value:  # a step output read as a table
                dataset_id = value
            elif dataset_id is None:
                continue  # step data that is not a dataset: AZUREML_DATAREFERENCE_<name>
            if spec.get("mode") != "direct" and value is not None and not spec.get("tabular"):
                found[name] = value
            else:
                found[name] = Dataset.get_by_id(self._workspace, dataset_id)
        return found

    @property
    def parent(self) -> Run | None:
        if self._record.parent_id is None:
            return None
        return Run._from_record(self._experiment, self._store.get_run(self._record.parent_id))

    @property
    def _store(self) -> Store:
        return self._experiment.workspace._store

    @property
    def _workspace(self) -> Workspace:
        return self._experiment.workspace

    def __repr__(self) -> str:
        return (
            f"Run(Experiment: {self._experiment.name}, Id: {self.id}, Type: {self.type}, "
            f"Status: {self._record.status.value})"
        )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Run) and self.id == other.id

    def __hash__(self) -> int:
        return hash(self.id)

    # -- status -------------------------------------------------------------------------------

    def _refresh(self) -> RunRecord:
        record = self._store.get_run(self.id)
        record = _lifecycle.reconcile(self._store, record, self._workspace.root)
        self._record = record
        return record

    def get_status(self) -> str:
        """The SDK v1 status word: NotStarted, Queued, Running, Completed, Failed, Canceled..."""
        return self._refresh().status.value

    def get_details(self) -> dict[str, Any]:
        """Run details in SDK v1's shape (runId, status, times, definition, logs, error...)."""
        return run_details(self._refresh())

    def get_portal_url(self) -> str:
        """This run's page in the portal (``hyperpipe portal``; ``HYPERPIPE_PORTAL_URL`` names
        another address than the default http://127.0.0.1:8765)."""
        base = os.environ.get(PORTAL_URL_ENV) or DEFAULT_PORTAL_URL
        return f"{base.rstrip('/')}/runs/{self.id}"

    def wait_for_completion(
        self,
        show_output: bool = False,
        wait_post_processing: bool = False,
        raise_on_error: bool = True,
    ) -> dict[str, Any]:
        """Block until the run ends; returns ``get_details()``.

        With ``show_output`` the run's log is streamed here as it is written. Raises
        ``ActivityFailedException`` when the run ends Failed or Crashed and ``raise_on_error``.
        """
        follower = LogFollower(self) if show_output else None
        delay = 0.02
        try:
            with EndWatch() as watch:
                while True:
                    record = self._refresh()
                    if follower:
                        follower.pump()
                    if record.status.is_terminal():
                        break
                    watch.sleep(record, delay)
                    delay = min(delay * 1.5, 0.5)
        except KeyboardInterrupt:
            _lifecycle.left_running(self.id)
            raise
        if follower:
            follower.pump()
            print(f"\nRunId: {self.id}\nStatus: {record.status.value}\n", flush=True)  # noqa: T201
        details = self.get_details()
        if raise_on_error:
            self._raise_if_failed(record, "run", details)
        return details

    def _requeue(self, kind: str) -> None:
        """Queue a failed, cancelled or crashed run again, for its driver to resume.

        The previous driver's identity (and error) is replaced by this process's until the new
        driver is recorded, so a resume that dies half-way leaves a crashed run, never a run
        queued forever.
        """
        record = self._refresh()
        resumable = (RunStatus.FAILED, RunStatus.CANCELED, RunStatus.CRASHED)
        if record.status not in resumable:
            raise UserErrorException(
                f"{kind} {self.id} is {record.status.value}; only Failed, Canceled or Crashed "
                f"{kind}s can be resumed"
            )
        self._record = self._store.set_status(
            self.id,
            RunStatus.QUEUED,
            if_fields=_lifecycle.identity_fields(record),
            **_lifecycle.process_identity(),
        )
        if self._record.status != RunStatus.QUEUED:
            raise UserErrorException(
                f"{kind} {self.id} was resumed by another process at the same time"
            )

    def _raise_if_failed(self, record: RunRecord, kind: str, details: dict[str, Any]) -> None:
        """``ActivityFailedException`` with the error and the log tail, for a run that failed."""
        if record.status not in (RunStatus.FAILED, RunStatus.CRASHED):
            return
        error = (record.error or {}).get("error", {})
        message = error.get("message") or f"{kind} ended {record.status.value}"
        tail = error.get("logTail")
        raise ActivityFailedException(
            f"{kind} {self.id} {record.status.value}: {message}"
            + (f"\n--- last log lines ---\n{tail}" if tail else ""),
            details,
        )

    def complete(self, _set_status: bool = True) -> None:
        """Flush metrics; for interactive and child runs also mark the run Completed.

        A submitted script's own run ends when its process does (exit code 0 → Completed), as
        in SDK v1, so calling this there only flushes.
        """
        self.flush()
        if _set_status and not self._managed:
            self._record = self._store.set_status(self.id, RunStatus.COMPLETED, strict=False)

    def fail(
        self, error_details: Any = None, error_code: str | None = None, _set_status: bool = True
    ) -> None:
        """Record an error. The run ends Failed (for a submitted script: when it exits)."""
        self.flush()
        error = {
            "error": {
                "code": error_code or "UserError",
                "message": str(error_details)
                if error_details is not None
                else "run.fail() was called",
            }
        }
        if self._managed:
            self._record = self._store.update_run(self.id, error=error)
        elif _set_status:
            self._record = self._store.set_status(
                self.id, RunStatus.FAILED, error=error, strict=False
            )

    def cancel(self) -> None:
        """Stop the run: a running script's processes are terminated, the run ends Canceled."""
        self.flush()
        self._record = _lifecycle.request_cancel(self._store, self._refresh(), self._workspace.root)

    @property
    def _managed(self) -> bool:
        return self._record.run_type in _lifecycle.MANAGED_TYPES

    def __enter__(self) -> Run:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc is None:
            self.complete()
        else:
            self.fail(error_details=exc)

    # -- tags and properties ------------------------------------------------------------------

    def tag(self, key: str, value: Any = None) -> None:
        self.set_tags({key: value})

    def set_tags(self, tags: dict[str, Any]) -> None:
        """Add or overwrite tags; tags not named stay as they are."""
        if not isinstance(tags, dict):
            raise UserErrorException(f"set_tags needs a dict, got {type(tags).__name__}")
        clean = {_key(k, "tag"): _limited(_tag_value(v), k, "tag") for k, v in tags.items()}
        merged = self._store.set_tags(self.id, clean)
        self._record = _replace(self._record, tags=merged)

    def remove_tags(self, tags: list[str]) -> None:
        merged = self._store.remove_tags(self.id, tags)
        self._record = _replace(self._record, tags=merged)

    def get_tags(self) -> dict[str, Any]:
        return dict(self._refresh().tags)

    def add_properties(self, properties: dict[str, Any]) -> None:
        """Add properties; unlike tags they cannot change once set."""
        if not isinstance(properties, dict):
            raise UserErrorException(
                f"add_properties needs a dict, got {type(properties).__name__}"
            )
        clean = {_key(k, "property"): _limited(v, k, "property") for k, v in properties.items()}
        merged = self._store.add_properties(self.id, clean)
        self._record = _replace(self._record, properties=merged)

    def get_properties(self) -> dict[str, Any]:
        return dict(self._refresh().properties)

    # -- children -----------------------------------------------------------------------------

    def child_run(
        self, name: str | None = None, run_id: str | None = None, outputs: Any = None
    ) -> Run:
        """Start a child run (Running); end it with ``complete()``, or use it in a ``with``."""
        record = self._store.create_run(
            experiment_name=self._experiment.name,
            run_id=run_id or f"{self.id}_{uuid4_hex()[:8]}",
            run_type="run",
            status=RunStatus.RUNNING,
            parent_id=self.id,
            display_name=name,
            target=self._record.target,
            definition={"datastore": self._datastore.name},
        )
        child = Run._from_record(self._experiment, record)
        child._own_process = self._own_process
        return child

    def get_children(
        self,
        recursive: bool = False,
        tags: str | dict[str, Any] | None = None,
        properties: str | dict[str, Any] | None = None,
        type: str | None = None,
        status: str | None = None,
        _rehydrate_runs: bool = True,
    ) -> Iterator[Run]:
        """Child runs, oldest first; ``recursive`` walks the whole tree below this run."""
        records = (
            self._descendants(type)
            if recursive
            else self._store.list_runs(parent_id=self.id, newest_first=False, run_type=type)
        )
        for record in records:
            if status and record.status.value != status:
                continue
            if _matches(record.tags, tags) and _matches(record.properties, properties):
                yield Run._from_record(self._experiment, record)

    def _descendants(self, run_type: str | None = None) -> list[RunRecord]:
        found: list[RunRecord] = []
        frontier = [self.id]
        while frontier:
            parent = frontier.pop(0)
            children = self._store.list_runs(parent_id=parent, newest_first=False)
            found.extend(c for c in children if run_type is None or c.run_type == run_type)
            frontier.extend(c.id for c in children)
        return found

    # -- models -------------------------------------------------------------------------------

    def register_model(
        self,
        model_name: str,
        model_path: str | None = None,
        tags: dict[str, Any] | None = None,
        properties: dict[str, Any] | None = None,
        model_framework: str | None = None,
        model_framework_version: str | None = None,
        description: str | None = None,
        datasets: Any = None,
        sample_input_dataset: Any = None,
        sample_output_dataset: Any = None,
        resource_configuration: Any = None,
        **kwargs: Any,
    ) -> Model:
        """Register files of this run (``model_path``: a file or folder among the run's files).

        Better than SDK v1: inside the run's own script, a path not uploaded yet but present on
        disk (typically under ``./outputs``) is uploaded first instead of failing.
        """
        from hyperpipe.core._model import Model

        model_path = (model_path or model_name).rstrip("/")
        names = self.get_file_names()
        selected = [n for n in names if n == model_path or n.startswith(model_path + "/")]
        if not selected and self._own_process and Path(model_path).exists():
            local = Path(model_path)
            if local.is_dir():
                self.upload_folder(model_path, local)
            else:
                self.upload_file(model_path, local)
            names = self.get_file_names()
            selected = [n for n in names if n == model_path or n.startswith(model_path + "/")]
        if not selected:
            raise ModelPathNotFoundException(
                f"could not register model {model_name!r}: {model_path!r} is not among the "
                f"files of run {self.id} ({', '.join(names) or 'none uploaded yet'}); upload it "
                "first with "
                "run.upload_file(name, path), or pass one of those names as model_path"
            )
        import tempfile

        with tempfile.TemporaryDirectory() as scratch:
            for name in selected:
                self._datastore._get_file(
                    _paths.artifact_prefix(self.id) + name, Path(scratch) / name
                )
            return Model._register(
                self._workspace,
                Path(scratch) / model_path,
                model_name,
                tags=tags,
                properties=properties,
                description=description,
                model_framework=model_framework,
                model_framework_version=model_framework_version,
                run_id=self.id,
                experiment_name=self._experiment.name,
            )


class ScriptRun(Run):
    """A run created by submitting a ``ScriptRunConfig``."""


def _resolve_class(run_type: str) -> type[Run]:
    target = RUN_CLASSES.get(run_type)
    if target is None:
        return Run
    module, _, name = target.partition(":")
    with contextlib.suppress(ImportError, AttributeError):
        return getattr(importlib.import_module(module), name)
    return Run


def _matches(values: dict[str, Any], wanted: str | dict[str, Any] | None) -> bool:
    if wanted is None:
        return True
    if isinstance(wanted, str):
        return wanted in values
    return all(values.get(k) == v for k, v in wanted.items())


def _key(key: Any, what: str) -> str:
    key = str(key)
    if not key or len(key) > MAX_NAME_LENGTH:
        raise UserErrorException(
            f"{what} name {key[:40]!r} has {len(key):,} characters; use 1 to {MAX_NAME_LENGTH}"
        )
    return key


def _limited(value: Any, key: Any, what: str) -> Any:
    size = len(value) if isinstance(value, str) else len(json.dumps(value, default=str))
    if size > MAX_VALUE_LENGTH:
        raise UserErrorException(
            f"{what} {str(key)[:40]!r} has a value of {size:,} characters; the limit is "
            f"{MAX_VALUE_LENGTH:,}: store long text as a file (run.upload_file) instead"
        )
    return value


def _tag_value(value: Any) -> Any:
    return value if value is None or isinstance(value, str) else str(value)


def _replace(record: RunRecord, **changes: Any) -> RunRecord:
    from dataclasses import replace

    return replace(record, **changes)


def warm() -> None:
    """A fork server's preparation for tasks that open their run context (trials): the store
    opened once (``hyperpipe.store.warm``), the records the context makes ready to build, and
    the workspace of ``HYPERPIPE_WORKSPACE`` loaded, so that each forked task skips all three."""
    from hyperpipe._record import compile_inits
    from hyperpipe.core._workspace import Workspace
    from hyperpipe.core._workspace_config import WORKSPACE_ENV, WorkspaceConfig
    from hyperpipe.store import RunRecord
    from hyperpipe.store import warm as warm_store

    warm_store()
    compile_inits(WorkspaceConfig, RunRecord)
    root = os.environ.get(WORKSPACE_ENV)
    if root:
        with contextlib.suppress(Exception):  # a task then loads it itself (and says why not)
            workspace = Workspace.from_config(path=root)
            _warm_workspaces[root] = (_file_identity(workspace._config.path), workspace)


def _context_workspace(root: str) -> Workspace:
    """The workspace of the run context in folder ``root``: the one the fork server loaded,
    while its config file is the one it read, else loaded now."""
    warmed = _warm_workspaces.get(root)
    if warmed is not None:
        identity, workspace = warmed
        with contextlib.suppress(OSError):
            if _file_identity(workspace._config.path) == identity:
                return workspace
    from hyperpipe.core._workspace import Workspace

    return Workspace.from_config(path=root)


def _file_identity(path: Path) -> tuple[int, int, int]:
    stat = os.stat(path)
    return stat.st_ino, stat.st_size, stat.st_mtime_ns
