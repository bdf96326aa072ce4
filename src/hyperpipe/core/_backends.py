"""The one place that chooses the compute backend for a target.

The pipeline scheduler, the sweep driver and the script-run monitor all ask here: a local target
gets local processes (or, for a sweep's trials, a fork server that has imported the script's
heavy modules), a ``ray`` target gets Ray work on the cluster at its address. A ray target is
also checked here, before anything starts: the cluster answers, some node has what each run
asks for, and a cluster of more than one node is given a store and a default datastore that
every node reaches (a SQLite file or a local folder would be another file on each node).
"""

from __future__ import annotations

import json
import os
import sys
from typing import TYPE_CHECKING, Any

from hyperpipe.compute._process import OWNER_ENV
from hyperpipe.core._compute_config import RAY_TARGET
from hyperpipe.core._workspace import STORE_ENV
from hyperpipe.core._workspace_config import WORKSPACE_ENV
from hyperpipe.exceptions import ComputeTargetException

if TYPE_CHECKING:
    from pathlib import Path

    from hyperpipe.compute import ComputeBackend
    from hyperpipe.core._compute_config import TargetSpec
    from hyperpipe.core._workspace import Workspace

__all__ = ["backend_for", "check_targets", "ray_request"]


def backend_for(
    workspace: Workspace,
    target: TargetSpec,
    *,
    preload: list[str] | None = None,
    server_log: Path | None = None,
    owner: str | None = None,
    wait: bool = True,
    warming: bool = False,
    scripts: int = 0,
) -> ComputeBackend:
    """The backend that runs tasks on ``target``.

    ``preload`` (a sweep's trials): modules a fork server imports once for every task; tasks
    start as plain processes when it cannot start. ``owner``: the run whose leftovers the
    fork server's tasks are. ``wait=False``: return before the fork server has imported them
    (the caller calls its ``ready()``). ``warming`` (a pipeline's steps): tasks start as plain
    processes until the fork server is ready, and as its forks from then on. ``scripts``
    (a pipeline's steps): how many Python scripts are still to run on a local target, each
    of which a plain process started ahead may become (see ``compute._local``).
    """
    from hyperpipe.compute._local import LocalBackend

    env = {OWNER_ENV: owner} if owner else {}
    if target.type == RAY_TARGET:
        return _ray_backend(workspace, target, preload, env)
    if preload is None:
        return LocalBackend(scripts)
    try:
        from hyperpipe.compute._zygote import ZygoteBackend

        assert server_log is not None, "a fork server needs a log file"
        server_log.parent.mkdir(parents=True, exist_ok=True)
        server = ZygoteBackend(
            sys.executable,
            preload,
            str(server_log),
            env={**env, **_warm_env(workspace)},
            wait=wait and not warming,
        )
    except Exception as exc:  # fall back, but say so
        print(f"fork server unavailable ({exc}); tasks start as new processes")  # noqa: T201
        return LocalBackend(scripts)
    if warming:
        from hyperpipe.compute._warming import WarmingBackend

        return WarmingBackend(LocalBackend(scripts), server)
    return server


def ray_request(target: TargetSpec, overrides: dict[str, Any] | None = None) -> Any:
    """What each run on a ray target asks of a node: the target's defaults, then ``overrides``
    (a run configuration's own)."""
    from hyperpipe.compute._ray_cluster import RayRequest

    settings = {**(target.ray or {}), **(overrides or {})}
    return RayRequest(
        num_cpus=settings.get("num_cpus", 1),
        num_gpus=settings.get("num_gpus") or 0,
        memory=settings.get("memory"),
        resources=dict(settings.get("resources") or {}),
    )


def _ray_backend(
    workspace: Workspace, target: TargetSpec, preload: list[str] | None, env: dict[str, str]
) -> ComputeBackend:
    from hyperpipe.compute._ray import RayBackend

    settings = target.ray or {}
    backend = RayBackend(
        settings["address"],
        ray_request(target),
        target=target.name,
        max_retries=settings.get("max_retries", 1),
        preload=preload,
        # Not the owner's mark: runners outlive one run and serve the next; each task carries it.
        env=_warm_env(workspace),
        concurrency=target.max_concurrency or 1,
        shared=_folder_token(workspace),
        apart=_apart(workspace),
    )
    try:
        check_shared_storage(workspace, target, backend.node_count())
    except ComputeTargetException:
        backend.close()
        _disconnect()
        raise
    return backend


def _warm_env(workspace: Workspace) -> dict[str, str]:
    """What a fork server (or a Ray runner's) needs to open the store and load the workspace
    once for its tasks (``hyperpipe.store.warm``, ``hyperpipe.core._run.warm``)."""
    return {STORE_ENV: workspace.store_url, WORKSPACE_ENV: str(workspace.root)}


def _folder_token(workspace: Workspace) -> tuple[str, str]:
    """A file in the workspace's folder and its content (random, written once): a node that
    reads the same content sees this folder (see ``Runner.check_shared``)."""
    import secrets

    path = workspace.state_dir / "folder-token"
    try:
        return str(path), path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        pass
    token = secrets.token_hex(16)
    temp = path.with_name(f"{path.name}.{token}")
    temp.write_text(token + "\n", encoding="utf-8")
    try:
        os.link(temp, path)  # the first writer's token stays; a concurrent one reads it
    except FileExistsError:
        token = path.read_text(encoding="utf-8").strip()
    finally:
        temp.unlink()
    return str(path), token


def check_shared_storage(workspace: Workspace, target: TargetSpec, nodes: int) -> None:
    """A cluster of several nodes needs a store and a default datastore every node reaches."""
    if nodes <= 1:
        return
    problem = _unreachable(workspace)
    if problem is not None:
        what, fix = problem
        raise ComputeTargetException(
            f"compute target {target.name!r} is a Ray cluster of {nodes} nodes, but {what} the "
            f"other nodes cannot reach; {fix}"
        )


def _unreachable(workspace: Workspace) -> tuple[str, str] | None:
    """What of the workspace another machine cannot reach (the store, the default datastore),
    and what to use instead; None when both are reachable from anywhere."""
    if workspace.store_url.startswith("sqlite"):
        return (
            f"the workspace's store is a SQLite file ({workspace.store_url})",
            "use PostgreSQL (store_url postgresql+psycopg://USER@HOST/DB in the workspace "
            "config, or HYPERPIPE_STORE_URL)",
        )
    datastore = workspace.get_default_datastore()
    if datastore._local_path("") is not None:
        return (
            f"the default datastore {datastore.name!r} is a local folder ({datastore.url})",
            "register object storage (Datastore.register(ws, NAME, 's3://BUCKET/PATH', ...)) "
            "and make it the default (ws.set_default_datastore(NAME))",
        )
    return None


def _apart(workspace: Workspace) -> Any:
    """Whether a node that does not see the workspace folder may run tasks in a copy of their
    run folder (see ``compute._ray_apart``): when the store and the default datastore are
    reachable from every machine. The copy's config is this one, without a ``root`` setting."""
    from hyperpipe.compute._ray_apart import Apart
    from hyperpipe.core._workspace_config import SECTION

    root = str(workspace.root)
    problem = _unreachable(workspace)
    if problem is not None:
        what, fix = problem
        return Apart(root, refusal=f"or, for nodes without it, since {what}: {fix}")
    config = workspace._config.to_json()
    config[SECTION] = {k: v for k, v in config[SECTION].items() if k != "root"}
    return Apart(root, config=json.dumps(config, indent=2))


def check_targets(workspace: Workspace, names: list[str | None]) -> None:
    """Before a submission starts anything: every ray target among ``names`` is usable (see the
    module docstring). A one-line ``ComputeTargetException`` otherwise."""
    seen: set[str] = set()
    for name in names:
        target = workspace._target_spec(name)
        if target.type != RAY_TARGET or target.name in seen:
            continue
        seen.add(target.name)
        from hyperpipe.compute._ray_cluster import (
            alive_nodes,
            check_feasible,
            connect,
            probe_nodes,
        )

        address = target.ray["address"]  # type: ignore[index]
        # Asked of the cluster without joining it: the run's driver joins, this process need not.
        nodes = None if _connected() else probe_nodes(address)
        if nodes is None:  # only joining can tell
            was_connected = _connected()
            ray = connect(address)
            try:
                nodes = alive_nodes(ray)
            finally:
                if not was_connected:
                    _disconnect()
        check_feasible(None, ray_request(target), target.name, nodes)
        check_shared_storage(workspace, target, len(nodes))


def _connected() -> bool:
    ray = sys.modules.get("ray")
    return bool(ray is not None and ray.is_initialized())


def _disconnect() -> None:
    ray = sys.modules.get("ray")
    if ray is not None and ray.is_initialized():
        ray.shutdown()
        from hyperpipe.compute._ray_cluster import forget_cluster

        forget_cluster()
