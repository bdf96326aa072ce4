"""``Workspace``: a folder holding a config, a metadata store, datastores and compute targets."""

from __future__ import annotations

import contextlib
import os
import re
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hyperpipe._surface import SdkV1Surface
from hyperpipe.core import _workspace_config as wsconfig
from hyperpipe.core._compute_config import LOCAL_TARGET, TargetSpec, target_spec
from hyperpipe.data._datastore import WORKSPACE_DEFAULT_BLOB_STORE_NAME, Datastore
from hyperpipe.exceptions import ComputeTargetException, UserErrorException
from hyperpipe.store import Store, get_store

if TYPE_CHECKING:
    from hyperpipe.core._environment import Environment
    from hyperpipe.core._experiment import Experiment
    from hyperpipe.core._model import Model
    from hyperpipe.core._run import Run
    from hyperpipe.core.compute import ComputeTarget

__all__ = ["Workspace"]

STORE_ENV = "HYPERPIPE_STORE_URL"
STATE_DIR = ".hyperpipe"
LOCAL_LOCATION = "local"
_NAME = re.compile(r"^[a-zA-Z0-9][\w\-]{1,32}$")


class Workspace(SdkV1Surface):
    """SDK v1's workspace, kept in a local folder.

    ``Workspace(subscription_id, resource_group, workspace_name)`` and ``Workspace.get(name)`` are
    getters: they find the workspace's config from ``path`` (default: the current folder) the way
    ``from_config`` does and check its name. Authentication objects are accepted and ignored.
    """

    def __init__(
        self,
        subscription_id: str | None = None,
        resource_group: str | None = None,
        workspace_name: str | None = None,
        auth: Any = None,
        _location: str | None = None,
        _disable_service_check: bool = False,
        _workspace_id: str | None = None,
        sku: str = "basic",
        tags: dict[str, str] | None = None,
        _cloud: str = "AzureCloud",
        *,
        path: str | os.PathLike[str] | None = None,
        _config: wsconfig.WorkspaceConfig | None = None,
    ) -> None:
        config = _config or wsconfig.load_config(wsconfig.find_config(path))
        if workspace_name is not None and workspace_name != config.workspace_name:
            raise UserErrorException(
                f"workspace {workspace_name!r} not found: the config at {config.path} is for "
                f"workspace {config.workspace_name!r}; pass path= to the folder of the workspace "
                "you want"
            )
        self._config = config
        self.tags = dict(tags or {})
        self.sku = sku
        if hasattr(auth, "_bind"):  # the auth object's header is this workspace's portal token
            auth._bind(self.root)

    # -- constructors -------------------------------------------------------------------------

    @classmethod
    def create(
        cls,
        name: str,
        auth: Any = None,
        subscription_id: str | None = None,
        resource_group: str | None = None,
        location: str | None = None,
        create_resource_group: bool = True,
        sku: str = "basic",
        tags: dict[str, str] | None = None,
        friendly_name: str | None = None,
        exist_ok: bool = False,
        show_output: bool = True,
        *,
        path: str | os.PathLike[str] | None = None,
        store_url: str | None = None,
        **_cloud_only: Any,
    ) -> Workspace:
        """Create a workspace in ``path`` (default: the current folder).

        Writes ``<path>/.azureml/config.json``, the default datastore folder and the SQLite store.
        With ``exist_ok=True`` an existing workspace of the same name is returned instead.
        """
        if not _NAME.match(name):
            raise UserErrorException(
                f"workspace name {name!r} is invalid: use 2-33 letters, digits, '-' or '_', "
                "starting with a letter or digit"
            )
        root = Path(path or ".").resolve()
        if root.exists() and not root.is_dir():
            raise UserErrorException(
                f"cannot create workspace {name!r} at {root}: it is a file; pass a folder "
                "(new or existing) as path"
            )
        config_path = root / ".azureml" / "config.json"
        if config_path.exists():
            existing = cls(path=config_path)
            if exist_ok and existing.name == name:
                return existing
            raise UserErrorException(
                f"a workspace ({existing.name!r}) already exists at {config_path}; pass "
                "exist_ok=True to use it, or choose another path"
            )
        config = wsconfig.WorkspaceConfig(
            path=config_path,
            workspace_name=name,
            subscription_id=subscription_id or "local",
            resource_group=resource_group or "local",
            settings={
                "store_url": store_url,
                "location": location or LOCAL_LOCATION,
                "default_datastore": WORKSPACE_DEFAULT_BLOB_STORE_NAME,
                "datastores": {
                    WORKSPACE_DEFAULT_BLOB_STORE_NAME: {
                        "url": f"datastores/{WORKSPACE_DEFAULT_BLOB_STORE_NAME}"
                    }
                },
                "compute_targets": {},
            },
        )
        wsconfig.save_config(config)
        try:
            workspace = cls(auth=auth, _config=config, tags=tags, sku=sku)
            workspace.get_default_datastore()._local_path().mkdir(parents=True, exist_ok=True)  # type: ignore[union-attr]
            workspace._store  # noqa: B018 - creates the database and its schema now, not mid-run
        except BaseException:
            config_path.unlink(missing_ok=True)  # no half-made workspace left behind
            with contextlib.suppress(OSError):
                config_path.parent.rmdir()
            raise
        return workspace

    @classmethod
    def get(
        cls,
        name: str,
        auth: Any = None,
        subscription_id: str | None = None,
        resource_group: str | None = None,
        *,
        path: str | os.PathLike[str] | None = None,
    ) -> Workspace:
        """The workspace called ``name`` whose config is found from ``path``."""
        return cls(subscription_id, resource_group, name, auth=auth, path=path)

    @classmethod
    def from_config(
        cls,
        path: str | os.PathLike[str] | None = None,
        auth: Any = None,
        _logger: Any = None,
        _file_name: str | None = None,
    ) -> Workspace:
        """Load the workspace whose config SDK v1's search rules find (see ``find_config``)."""
        return cls(auth=auth, _config=wsconfig.load_config(wsconfig.find_config(path, _file_name)))

    def write_config(
        self, path: str | os.PathLike[str] | None = None, file_name: str | None = None
    ) -> Path:
        """Write this workspace's config to ``<path>/.azureml/<file_name>`` (or ``aml_config/``).

        The copy points back at this workspace's folder, so scripts anywhere can find it.
        """
        base = Path(path or ".").resolve()
        folder = base / "aml_config" if (base / "aml_config").is_dir() else base / ".azureml"
        target = folder / (file_name or "config.json")
        settings = dict(self._config.settings)
        settings["root"] = os.path.relpath(self.root, folder)
        copy = wsconfig.WorkspaceConfig(
            target,
            self._config.workspace_name,
            self._config.subscription_id,
            self._config.resource_group,
            settings,
        )
        return wsconfig.save_config(copy)

    # -- identity -----------------------------------------------------------------------------

    @property
    def name(self) -> str:
        return self._config.workspace_name

    @property
    def subscription_id(self) -> str:
        return self._config.subscription_id

    @property
    def resource_group(self) -> str:
        return self._config.resource_group

    @property
    def location(self) -> str:
        """Where the workspace lives: the ``location`` given to ``Workspace.create`` (SDK v1's
        Azure region), else ``local``."""
        return self._config.settings.get("location") or LOCAL_LOCATION

    @property
    def root(self) -> Path:
        """The folder holding this workspace's state."""
        return self._config.root

    @property
    def config_path(self) -> Path:
        return self._config.path

    @property
    def state_dir(self) -> Path:
        return self.root / STATE_DIR

    def __repr__(self) -> str:
        return f"Workspace.create(name={self.name!r}, path={str(self.root)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Workspace) and self.root == other.root

    def __hash__(self) -> int:
        return hash(self.root)

    def get_details(self) -> dict[str, Any]:
        return {
            "id": wsconfig.LOCAL_SCOPE.format(
                s=self.subscription_id, rg=self.resource_group, ws=self.name
            ),
            "name": self.name,
            "subscriptionId": self.subscription_id,
            "resourceGroup": self.resource_group,
            "location": self.location,
            "root": str(self.root),
            "storeUrl": self.store_url,
            "defaultDatastore": self._default_datastore_name,
            "computeTargets": sorted(self._config.settings.get("compute_targets", {})),
        }

    # -- store --------------------------------------------------------------------------------

    @property
    def store_url(self) -> str:
        """``HYPERPIPE_STORE_URL``, else the config's ``store_url``, else SQLite in the folder."""
        url = os.environ.get(STORE_ENV) or self._config.settings.get("store_url")
        if url:
            return url
        return f"sqlite:///{self.state_dir / 'store.db'}"

    @cached_property
    def _store(self) -> Store:
        return get_store(self.store_url)

    # -- datastores ---------------------------------------------------------------------------

    @property
    def _default_datastore_name(self) -> str:
        return self._config.settings.get("default_datastore") or WORKSPACE_DEFAULT_BLOB_STORE_NAME

    @staticmethod
    def _datastore_entries_in(settings: dict[str, Any]) -> dict[str, dict[str, Any]]:
        """The registered datastores; ``workspaceblobstore`` is implied while it is the default."""
        entries = dict(settings.get("datastores", {}))
        default = settings.get("default_datastore") or WORKSPACE_DEFAULT_BLOB_STORE_NAME
        if default == WORKSPACE_DEFAULT_BLOB_STORE_NAME:
            entries.setdefault(
                WORKSPACE_DEFAULT_BLOB_STORE_NAME,
                {"url": f"datastores/{WORKSPACE_DEFAULT_BLOB_STORE_NAME}"},
            )
        return entries

    def _datastore_entries(self) -> dict[str, dict[str, Any]]:
        return self._datastore_entries_in(self._config.settings)

    def _unknown_datastore(self, name: str, entries: dict[str, Any]) -> UserErrorException:
        return UserErrorException(
            f"datastore {name!r} is not registered in workspace {self.name!r}; registered: "
            f"{', '.join(sorted(entries))}"
        )

    def _datastore(self, name: str) -> Datastore:
        entries = self._datastore_entries()
        entry = entries.get(name)
        if entry is None:
            raise self._unknown_datastore(name, entries)
        url = self._datastore_url(entry["url"])
        return Datastore._from_url(name, url, entry.get("options"), workspace=self)

    def _datastore_url(self, url: str) -> str:
        """Folder paths and ``file://`` URLs resolve against the workspace root when relative."""
        if url.startswith("file://"):
            url = url[len("file://") :]
        elif "://" in url or "::" in url:
            return url
        return str((self.root / Path(url).expanduser()).resolve())

    def _register_datastore(
        self, name: str, url: str, options: dict[str, Any], *, overwrite: bool = False
    ) -> Datastore:
        """Add (or with ``overwrite`` replace) a datastore entry; see ``Datastore.register``."""

        def change(settings: dict[str, Any]) -> None:
            old = self._datastore_entries_in(settings).get(name)
            if old is not None and not overwrite:
                raise UserErrorException(
                    f"datastore {name!r} is already registered in workspace {self.name!r} with "
                    f"URL {old['url']!r}; pass overwrite=True to replace it, or choose another name"
                )
            entries = settings.setdefault("datastores", {})
            for implied, entry in self._datastore_entries_in(settings).items():
                entries.setdefault(implied, entry)  # keep an implied default once others exist
            entries[name] = {"url": url, **({"options": dict(options)} if options else {})}

        self._edit_settings(change)
        return self._datastore(name)

    def _unregister_datastore(self, name: str) -> None:
        """Remove a datastore entry; the default datastore cannot be removed."""

        def change(settings: dict[str, Any]) -> None:
            entries = self._datastore_entries_in(settings)
            if name not in entries:
                raise self._unknown_datastore(name, entries)
            default = settings.get("default_datastore") or WORKSPACE_DEFAULT_BLOB_STORE_NAME
            if name == default:
                raise UserErrorException(
                    f"datastore {name!r} is the default datastore of workspace {self.name!r} and "
                    "cannot be unregistered; make another datastore the default first "
                    "(Datastore.get(ws, other).set_as_default())"
                )
            settings.get("datastores", {}).pop(name, None)

        self._edit_settings(change)

    @property
    def datastores(self) -> dict[str, Datastore]:
        return {name: self._datastore(name) for name in self._datastore_entries()}

    def get_default_datastore(self) -> Datastore:
        return self._datastore(self._default_datastore_name)

    def set_default_datastore(self, name: str) -> None:
        self._datastore(name)  # raises for an unknown name
        self._edit_settings(lambda settings: settings.__setitem__("default_datastore", name))

    # -- compute targets ----------------------------------------------------------------------

    def _target_specs(self) -> dict[str, TargetSpec]:
        entries = self._config.settings.get("compute_targets", {})
        specs = {name: target_spec(name, entry) for name, entry in entries.items()}
        specs.setdefault(LOCAL_TARGET, target_spec(LOCAL_TARGET, None))
        return specs

    def _target_spec(self, name: str | None) -> TargetSpec:
        name = name or LOCAL_TARGET
        specs = self._target_specs()
        if name not in specs:
            raise ComputeTargetException(
                f"compute target {name!r} is not defined in workspace {self.name!r}; known "
                f"targets: {', '.join(sorted(specs))}. Add it with `hyperpipe compute add {name}` "
                "or ComputeTarget.create(ws, name, config)"
            )
        return specs[name]

    @property
    def compute_targets(self) -> dict[str, ComputeTarget]:
        from hyperpipe.core.compute import ComputeTarget

        return {
            name: ComputeTarget._from_spec(self, spec)
            for name, spec in self._target_specs().items()
        }

    def _set_target(self, spec: TargetSpec | None, name: str) -> None:
        def change(settings: dict[str, Any]) -> None:
            targets = settings.setdefault("compute_targets", {})
            if spec is None:
                targets.pop(name, None)
            else:
                targets[name] = spec.to_json()

        self._edit_settings(change)

    def _edit_settings(self, change: Any) -> None:
        with wsconfig.editing(self._config.path) as config:
            change(config.settings)
        self._config = wsconfig.load_config(self._config.path)

    # -- other collections --------------------------------------------------------------------

    def get_run(self, run_id: str) -> Run:
        """The run with id ``run_id``, as its own subclass (SDK v1's ``ws.get_run``)."""
        from hyperpipe.core._run import Run

        return Run.get(self, run_id)

    @property
    def datasets(self) -> dict[str, Any]:
        """The latest version of every registered dataset, by name."""
        from hyperpipe.data._dataset import Dataset

        return Dataset.get_all(self)

    @property
    def experiments(self) -> dict[str, Experiment]:
        from hyperpipe.core._experiment import Experiment

        return {r.name: Experiment(self, r.name) for r in self._store.list_experiments()}

    @property
    def environments(self) -> dict[str, Environment]:
        """The latest version of every registered environment, by name."""
        from hyperpipe.core._environment import Environment

        return Environment.list(self)

    @property
    def models(self) -> dict[str, Model]:
        from hyperpipe.core._model import Model

        return {r.name: Model._from_record(self, r) for r in self._store.list_models(latest=True)}
