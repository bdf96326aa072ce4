"""``PublishedPipeline`` and ``PipelineEndpoint``: pipelines that exist apart from the script
that built them, to be started by a schedule, over REST, or from any process.

A published pipeline is an immutable stored definition: every step spec with the digest of its
source snapshot (kept by content in ``.hyperpipe/snapshots``), and the parameters with their
defaults. Submitting it binds parameter values into those specs and starts the run exactly as
``Pipeline.submit`` does, so an unchanged submission reuses its steps the same way.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from hyperpipe._ids import uuid4_str
from hyperpipe._surface import SdkV1Surface
from hyperpipe.core._portal_access import portal_url
from hyperpipe.exceptions import UserErrorException
from hyperpipe.pipeline._template import check_values, graph_id, submit

if TYPE_CHECKING:
    from hyperpipe.core._experiment import Experiment
    from hyperpipe.core._workspace import Workspace
    from hyperpipe.pipeline.core._pipeline_run import PipelineRun
    from hyperpipe.store import PipelineEndpointRecord, PublishedPipelineRecord

__all__ = ["PipelineEndpoint", "PipelineIdVersion", "PipelineVersion", "PublishedPipeline"]

PIPELINE_ID_PROPERTY = "azureml.pipelineid"
ENDPOINT_ID_PROPERTY = "azureml.pipelineEndpointId"
ENDPOINT_VERSION_PROPERTY = "azureml.pipelineEndpointVersion"
SUBMIT_ROUTE = "/api/v1.0/PipelineRuns/PipelineSubmit/"
ENDPOINT_SUBMIT_ROUTE = "/api/v1.0/PipelineRuns/PipelineEndpointSubmit/Id/"


class PublishedPipeline(SdkV1Surface):
    """A published pipeline: get it with ``PublishedPipeline.get(ws, id)``, submit it from
    Python, the CLI (``hyperpipe published submit``) or REST (``POST`` to ``endpoint``)."""

    def __init__(self, workspace: Workspace, record: PublishedPipelineRecord) -> None:
        self._workspace = workspace
        self._record = record

    # -- identity -------------------------------------------------------------------------------

    @property
    def id(self) -> str:
        return self._record.id

    @property
    def name(self) -> str:
        return self._record.name

    @property
    def description(self) -> str | None:
        return self._record.description

    @property
    def version(self) -> str | None:
        return self._record.version

    @property
    def status(self) -> str:
        """``Active`` or ``Disabled``."""
        return self._record.status

    @property
    def graph_id(self) -> str:
        return self._record.graph_id

    @property
    def continue_on_step_failure(self) -> bool:
        return bool(self._record.continue_on_step_failure)

    @property
    def published_date(self) -> datetime:
        return datetime.fromtimestamp(self._record.created_at)

    @property
    def total_run_steps(self) -> int:
        return len(self._record.definition["steps"])

    @property
    def endpoint(self) -> str:
        """The REST URL on the portal server that submits this pipeline (``POST``)."""
        return portal_url(self._workspace) + SUBMIT_ROUTE + self.id

    @property
    def parameters(self) -> dict[str, Any]:
        """Each pipeline parameter's default value as JSON (a DataPath as ``{datastore,
        path_on_datastore}``, a dataset as ``{dataset_id, name, version}``)."""
        return {n: d["default"] for n, d in self._record.definition["parameters"].items()}

    @property
    def workspace(self) -> Workspace:
        return self._workspace

    def get_step_names(self) -> list[str]:
        return [spec["name"] for spec in self._record.definition["steps"]]

    def get_graph(self) -> dict[str, Any]:
        """The stored definition: step specs (parameters as ``{"parameter": name}``) and the
        parameters' types and defaults."""
        return dict(self._record.definition)

    def __repr__(self) -> str:
        return (
            f"PublishedPipeline(Name: {self.name}, Id: {self.id}, Status: {self.status}, "
            f"Endpoint: {self.endpoint})"
        )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PublishedPipeline) and other.id == self.id

    def __hash__(self) -> int:
        return hash(self.id)

    # -- finding --------------------------------------------------------------------------------

    @staticmethod
    def get(workspace: Workspace, id: str, **kwargs: Any) -> PublishedPipeline:
        """The published pipeline ``id``; a clear error when there is none."""
        record = workspace._store.get_published_pipeline(id)
        if record is None:
            raise UserErrorException(
                f"no published pipeline with id {id!r} in workspace {workspace.name!r}; list "
                "them with PublishedPipeline.list(ws, active_only=False) or `hyperpipe published "
                "list --all`"
            )
        return PublishedPipeline(workspace, record)

    @staticmethod
    def list(
        workspace: Workspace, active_only: bool = True, **kwargs: Any
    ) -> list[PublishedPipeline]:
        """Published pipelines, newest first (only Active ones unless ``active_only=False``)."""
        return [
            PublishedPipeline(workspace, r)
            for r in workspace._store.list_published_pipelines(active_only=active_only)
        ]

    get_all = list

    # -- status ---------------------------------------------------------------------------------

    def enable(self) -> None:
        """Make the pipeline submittable again."""
        self._record = self._workspace._store.set_published_pipeline_status(self.id, "Active")

    def disable(self) -> None:
        """Refuse submissions (schedules on it record their fires as failed) until enabled."""
        self._record = self._workspace._store.set_published_pipeline_status(self.id, "Disabled")

    def _check_active(self) -> None:
        fresh = self._workspace._store.get_published_pipeline(self.id)
        if fresh is not None:
            self._record = fresh
        if self.status != "Active":
            raise UserErrorException(
                f"published pipeline {self.name!r} ({self.id}) is {self.status}; enable it with "
                f"PublishedPipeline.get(ws, {self.id!r}).enable() or `hyperpipe published enable "
                f"{self.id}`"
            )

    def _check_parameters(
        self, pipeline_parameters: dict[str, Any] | None, *, from_text: bool = False
    ) -> dict[str, Any]:
        """The given values checked against this pipeline's parameters (DataPath and dataset
        values made objects), or a clear error."""
        return check_values(
            self._record.definition["parameters"],
            pipeline_parameters or {},
            workspace=self._workspace,
            from_text=from_text,
        )

    # -- submitting -----------------------------------------------------------------------------

    def submit(
        self,
        workspace: Workspace,
        experiment_name: str,
        pipeline_parameters: dict[str, Any] | None = None,
        _workflow_provider: Any = None,
        _service_endpoint: Any = None,
        parent_run_id: str | None = None,
        continue_on_step_failure: bool | None = None,
    ) -> PipelineRun:
        """Run the pipeline in ``experiment_name`` with ``pipeline_parameters`` (defaults
        otherwise). Unchanged steps are reused exactly as for ``Pipeline.submit``."""
        from hyperpipe.core._experiment import Experiment

        return Experiment(workspace, experiment_name).submit(
            self,
            pipeline_parameters=pipeline_parameters,
            parent_run_id=parent_run_id,
            continue_on_step_failure=continue_on_step_failure,
        )

    def _submit_to(
        self,
        experiment: Experiment,
        pipeline_parameters: dict[str, Any] | None = None,
        parent_run_id: str | None = None,
        continue_on_step_failure: bool | None = None,
        regenerate_outputs: bool = False,
        _from_text: bool = False,
        _properties: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> PipelineRun:
        self._check_active()
        if continue_on_step_failure is None:
            continue_on_step_failure = self.continue_on_step_failure
        return submit(
            experiment,
            self._record.definition,
            pipeline_parameters,
            from_text=_from_text,
            regenerate_outputs=regenerate_outputs,
            continue_on_step_failure=bool(continue_on_step_failure),
            parent_run_id=parent_run_id,
            properties={PIPELINE_ID_PROPERTY: self.id, **(_properties or {})},
        )

    # -- publishing -----------------------------------------------------------------------------

    @classmethod
    def _publish(
        cls,
        workspace: Workspace,
        template: dict[str, Any],
        *,
        name: str | None,
        description: str | None,
        version: str | None,
        continue_on_step_failure: bool | None,
        source_run_id: str | None = None,
    ) -> PublishedPipeline:
        if name is not None and (not isinstance(name, str) or not name.strip()):
            raise UserErrorException(f"a published pipeline needs a name (a string), got {name!r}")
        record = workspace._store.publish_pipeline(
            pipeline_id=uuid4_str(),
            name=name or template.get("description") or "pipeline",
            description=description,
            version=None if version is None else str(version),
            graph_id=graph_id(template),
            definition=template,
            continue_on_step_failure=continue_on_step_failure,
            source_run_id=source_run_id,
        )
        return cls(workspace, record)


class PipelineIdVersion(SdkV1Surface):
    """A version of a pipeline endpoint and the id of the published pipeline it runs."""

    def __init__(self, version: str, pipeline_id: str) -> None:
        self.version = version
        self.pipeline_id = pipeline_id

    def __repr__(self) -> str:
        return f"PipelineIdVersion(Version: {self.version}, PipelineId: {self.pipeline_id})"


class PipelineVersion(SdkV1Surface):
    """A version of a pipeline endpoint and the published pipeline it runs."""

    def __init__(self, version: str, pipeline: PublishedPipeline) -> None:
        self.version = version
        self.pipeline = pipeline

    def __repr__(self) -> str:
        return f"PipelineVersion(version: {self.version}, pipeline: {self.pipeline.id})"


class PipelineEndpoint(SdkV1Surface):
    """A named, versioned REST endpoint over published pipelines (versions "0", "1", ...).

    Submitting it runs its default version unless ``pipeline_version`` says another one.
    """

    def __init__(self, workspace: Workspace, record: PipelineEndpointRecord) -> None:
        self._workspace = workspace
        self._record = record

    @property
    def id(self) -> str:
        return self._record.id

    @property
    def name(self) -> str:
        return self._record.name

    @property
    def description(self) -> str | None:
        return self._record.description

    @property
    def status(self) -> str:
        return self._record.status

    @property
    def default_version(self) -> str:
        return self._record.default_version

    @property
    def endpoint(self) -> str:
        """The REST URL on the portal server that submits this endpoint (``POST``)."""
        return portal_url(self._workspace) + ENDPOINT_SUBMIT_ROUTE + self.id

    @property
    def swaggerurl(self) -> str:
        return portal_url(self._workspace) + "/openapi.json"

    @property
    def pipeline_version_list(self) -> list[PipelineIdVersion]:
        return [PipelineIdVersion(v, p) for v, p in self._record.versions]

    def __repr__(self) -> str:
        return (
            f"PipelineEndpoint(Name: {self.name}, Id: {self.id}, Status: {self.status}, "
            f"Default version: {self.default_version})"
        )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PipelineEndpoint) and other.id == self.id

    def __hash__(self) -> int:
        return hash(self.id)

    # -- making and finding ---------------------------------------------------------------------

    @staticmethod
    def publish(
        workspace: Workspace, name: str, description: str | None, pipeline: Any, **kwargs: Any
    ) -> PipelineEndpoint:
        """A new endpoint named ``name`` whose version "0" is ``pipeline`` (a ``Pipeline``,
        published here, or a ``PublishedPipeline``). The name must be new."""
        if not isinstance(name, str) or not name.strip():
            raise UserErrorException(f"a pipeline endpoint needs a name (a string), got {name!r}")
        published = _published_from(pipeline, name)
        record = workspace._store.create_pipeline_endpoint(
            endpoint_id=uuid4_str(),
            name=name,
            pipeline_id=published.id,
            description=description,
        )
        return PipelineEndpoint(workspace, record)

    @staticmethod
    def get(
        workspace: Workspace, id: str | None = None, name: str | None = None, **kwargs: Any
    ) -> PipelineEndpoint:
        """The endpoint with this ``id`` or ``name``."""
        if (id is None) == (name is None):
            raise UserErrorException(
                "PipelineEndpoint.get needs id= or name= (one of them); list endpoints with "
                "PipelineEndpoint.list(ws)"
            )
        record = workspace._store.get_pipeline_endpoint(endpoint_id=id, name=name)
        if record is None:
            what = f"id {id!r}" if id is not None else f"name {name!r}"
            raise UserErrorException(
                f"no pipeline endpoint with {what} in workspace {workspace.name!r}; list them "
                "with PipelineEndpoint.list(ws, active_only=False) or `hyperpipe endpoints list "
                "--all`"
            )
        return PipelineEndpoint(workspace, record)

    @staticmethod
    def list(
        workspace: Workspace, active_only: bool = True, **kwargs: Any
    ) -> list[PipelineEndpoint]:
        return [
            PipelineEndpoint(workspace, r)
            for r in workspace._store.list_pipeline_endpoints(active_only=active_only)
        ]

    get_all = list

    # -- versions -------------------------------------------------------------------------------

    def get_default_version(self) -> str:
        return self.default_version

    def add(self, pipeline: PublishedPipeline) -> None:
        """Add ``pipeline`` as the next version; the default stays."""
        self._record = self._store.add_pipeline_endpoint_version(self.id, _pipeline_id(pipeline))

    def add_default(self, pipeline: PublishedPipeline) -> None:
        """Add ``pipeline`` as the next version and make it the default."""
        self._record = self._store.add_pipeline_endpoint_version(
            self.id, _pipeline_id(pipeline), make_default=True
        )

    def set_default_version(self, version: str) -> None:
        """Make ``version`` (a string such as "1") the default; it must exist."""
        version = str(version)
        if self._record.pipeline_id_of(version) is None:
            raise UserErrorException(
                f"cannot set version {version!r}: pipeline endpoint {self.name!r} has versions "
                f"{', '.join(v for v, _ in self._record.versions)}; add one with add() or "
                "add_default()"
            )
        self._record = self._store.update_pipeline_endpoint(self.id, default_version=version)

    def set_default(self, pipeline: PublishedPipeline) -> None:
        """Make the version that runs ``pipeline`` the default; it must have been added."""
        wanted = _pipeline_id(pipeline)
        versions = [v for v, p in self._record.versions if p == wanted]
        if not versions:
            raise UserErrorException(
                f"cannot set pipeline {wanted!r} as default: it is not a version of pipeline "
                f"endpoint {self.name!r}; add it with add() or add_default()"
            )
        self._record = self._store.update_pipeline_endpoint(self.id, default_version=versions[-1])

    def get_pipeline(self, version: str | None = None) -> PublishedPipeline:
        """The published pipeline of ``version`` (default: the default version)."""
        version = self.default_version if version is None else str(version)
        pipeline_id = self._record.pipeline_id_of(version)
        if pipeline_id is None:
            raise UserErrorException(
                f"pipeline endpoint {self.name!r} has no version {version!r}; its versions: "
                f"{', '.join(v for v, _ in self._record.versions)}"
            )
        return PublishedPipeline.get(self._workspace, pipeline_id)

    def list_versions(self) -> list[PipelineVersion]:
        return [
            PipelineVersion(v, PublishedPipeline.get(self._workspace, p))
            for v, p in self._record.versions
        ]

    get_all_versions = list_versions

    def list_pipelines(self, active_only: bool = True) -> list[PublishedPipeline]:
        pipelines = [version.pipeline for version in self.list_versions()]
        return [p for p in pipelines if p.status == "Active" or not active_only]

    get_all_pipelines = list_pipelines

    # -- status and name ------------------------------------------------------------------------

    def enable(self) -> None:
        self._record = self._store.update_pipeline_endpoint(self.id, status="Active")

    def disable(self) -> None:
        self._record = self._store.update_pipeline_endpoint(self.id, status="Disabled")

    def set_name(self, name: str) -> None:
        self._record = self._store.update_pipeline_endpoint(self.id, name=name)

    def archive(self) -> None:
        """Disable the endpoint and free its name (it is renamed to a random one)."""
        self._record = self._store.update_pipeline_endpoint(
            self.id, name=uuid4_str(), status="Disabled"
        )

    def reactivate(self, name: str) -> PipelineEndpoint:
        """Enable an archived endpoint again under ``name``."""
        self._record = self._store.update_pipeline_endpoint(self.id, name=name, status="Active")
        return self

    @property
    def _store(self) -> Any:
        return self._workspace._store

    # -- submitting -----------------------------------------------------------------------------

    def submit(
        self,
        experiment_name: str,
        pipeline_parameters: dict[str, Any] | None = None,
        parent_run_id: str | None = None,
        pipeline_version: str | None = None,
    ) -> PipelineRun:
        """Run ``pipeline_version`` (default: the default version) in ``experiment_name``."""
        from hyperpipe.core._experiment import Experiment

        return Experiment(self._workspace, experiment_name).submit(
            self,
            pipeline_parameters=pipeline_parameters,
            parent_run_id=parent_run_id,
            pipeline_version=pipeline_version,
        )

    def _resolve(self, pipeline_version: str | None) -> tuple[str, PublishedPipeline]:
        fresh = self._store.get_pipeline_endpoint(endpoint_id=self.id)
        if fresh is not None:
            self._record = fresh
        if self.status != "Active":
            raise UserErrorException(
                f"pipeline endpoint {self.name!r} is {self.status}; enable it with "
                f"PipelineEndpoint.get(ws, id={self.id!r}).enable()"
            )
        version = self.default_version if pipeline_version is None else str(pipeline_version)
        return version, self.get_pipeline(version)

    def _submit_to(
        self,
        experiment: Experiment,
        pipeline_parameters: dict[str, Any] | None = None,
        parent_run_id: str | None = None,
        pipeline_version: str | None = None,
        continue_on_step_failure: bool | None = None,
        _from_text: bool = False,
        _properties: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> PipelineRun:
        version, pipeline = self._resolve(pipeline_version)
        return pipeline._submit_to(
            experiment,
            pipeline_parameters,
            parent_run_id=parent_run_id,
            continue_on_step_failure=continue_on_step_failure,
            _from_text=_from_text,
            _properties={
                ENDPOINT_ID_PROPERTY: self.id,
                ENDPOINT_VERSION_PROPERTY: version,
                **(_properties or {}),
            },
        )


def _pipeline_id(pipeline: Any) -> str:
    if not isinstance(pipeline, PublishedPipeline):
        raise UserErrorException(
            f"expected a PublishedPipeline, got {type(pipeline).__name__}; publish a Pipeline "
            "first with pipeline.publish(name)"
        )
    return pipeline.id


def _published_from(pipeline: Any, endpoint_name: str) -> PublishedPipeline:
    from hyperpipe.pipeline.core._pipeline import Pipeline

    if isinstance(pipeline, PublishedPipeline):
        return pipeline
    if isinstance(pipeline, Pipeline):
        stamp = datetime.now().strftime("%m-%d-%Y-%H-%M")
        name = f"{endpoint_name}-{stamp}-Pipeline"
        return pipeline.publish(name=name, description=f"Description for {name}")
    raise UserErrorException(
        f"pipeline should be a Pipeline or a PublishedPipeline, got {type(pipeline).__name__}"
    )
