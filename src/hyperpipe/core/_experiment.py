"""``Experiment``: a named group of runs; ``submit`` hands a config to its own submit hook."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from hyperpipe._ids import uuid4_hex
from hyperpipe._surface import SdkV1Surface
from hyperpipe.exceptions import UserErrorException
from hyperpipe.store import RunStatus

if TYPE_CHECKING:
    from collections.abc import Iterator

    from hyperpipe.core._run import Run
    from hyperpipe.core._workspace import Workspace

__all__ = ["Experiment"]

_NAME = re.compile(r"^[a-zA-Z0-9][\w\-]{0,254}$")


class Experiment(SdkV1Surface):
    """SDK v1's experiment: ``Experiment(workspace, name)`` gets it, creating it on first use."""

    def __init__(
        self, workspace: Workspace, name: str, _skip_name_validation: bool = False, **kwargs: Any
    ) -> None:
        if not _skip_name_validation and not (isinstance(name, str) and _NAME.match(name)):
            raise UserErrorException(
                f"experiment name {name!r} is invalid: start with a letter or digit, then up to "
                "254 letters, digits, '_' or '-'"
            )
        self._workspace = workspace
        self._name = name

    @property
    def name(self) -> str:
        return self._name

    @property
    def workspace(self) -> Workspace:
        return self._workspace

    @property
    def id(self) -> str:
        return self._workspace._store.get_or_create_experiment(self._name).name

    @property
    def archived_time(self) -> None:
        return None

    def __repr__(self) -> str:
        return f"Experiment(Name: {self._name}, Workspace: {self._workspace.name})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Experiment) and (self._workspace, self._name) == (
            other._workspace,
            other._name,
        )

    def __hash__(self) -> int:
        return hash((self._workspace, self._name))

    def submit(self, config: Any, tags: dict[str, Any] | None = None, **kwargs: Any) -> Run:
        """Submit a ``ScriptRunConfig``, ``Pipeline``, ``PublishedPipeline``, ``PipelineEndpoint``
        or ``HyperDriveConfig``; returns its run.

        Keyword arguments go to the config's own submit (e.g. ``pipeline_parameters=``).
        """
        submit = getattr(config, "_submit_to", None)
        if submit is None:
            raise UserErrorException(
                f"cannot submit a {type(config).__name__}; submit a ScriptRunConfig, Pipeline, "
                "PublishedPipeline, PipelineEndpoint or HyperDriveConfig"
            )
        run = submit(self, **kwargs)
        if tags:
            run.set_tags(tags)
        return run

    def start_logging(
        self,
        *args: Any,
        outputs: Any = None,
        snapshot_directory: Any = None,
        display_name: str | None = None,
        **kwargs: Any,
    ) -> Run:
        """Start an interactive run (Running) in this process; ``complete()`` ends it."""
        from hyperpipe.core._run import Run

        record = self._workspace._store.create_run(
            experiment_name=self._name,
            run_id=f"{self._name}_{int(__import__('time').time())}_{uuid4_hex()[:8]}",
            run_type="run",
            status=RunStatus.RUNNING,
            display_name=display_name,
            target="local",
            definition={"datastore": self._workspace.get_default_datastore().name},
        )
        run = Run._from_record(self, record)
        run._own_process = True
        return run

    def get_runs(
        self,
        type: str | None = None,
        tags: Any = None,
        properties: Any = None,
        include_children: bool = False,
    ) -> Iterator[Run]:
        """This experiment's runs, newest first."""
        from hyperpipe.core._run import Run

        return Run.list(
            self, type=type, tags=tags, properties=properties, include_children=include_children
        )

    @staticmethod
    def list(
        workspace: Workspace,
        experiment_name: str | None = None,
        view_type: str = "ActiveOnly",
        tags: Any = None,
    ) -> list[Experiment]:
        records = workspace._store.list_experiments()
        return [
            Experiment(workspace, r.name, _skip_name_validation=True)
            for r in records
            if experiment_name in (None, r.name)
        ]
