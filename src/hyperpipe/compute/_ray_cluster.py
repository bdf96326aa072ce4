"""Joining a Ray cluster and asking what it has, for the ray compute backend and for the checks
a submission makes before it starts anything.

``connect`` joins the cluster once per process (with Ray's serialization context built lean);
``probe_nodes`` asks which nodes are alive without joining (from a forked child, so that the
asking process stays free of Ray's threads and can still fork its run's driver);
``check_feasible`` says in one line which resource no node has. ``ray`` is imported only here
and in the backend, and only when a ray target is used.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import threading
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from hyperpipe.exceptions import ComputeTargetException

__all__ = [
    "INSTALL_HINT",
    "RayRequest",
    "alive_nodes",
    "check_feasible",
    "connect",
    "forget_cluster",
    "import_ray",
    "probe_nodes",
]

INSTALL_HINT = "pip install 'hyperpipe[ray]'"


def import_ray() -> Any:
    """The ``ray`` module, or a one-line error saying how to install it."""
    try:
        import ray
    except ImportError:
        raise ComputeTargetException(
            f"a ray compute target needs Ray, which is not installed; {INSTALL_HINT}"
        ) from None
    return ray


@dataclass(frozen=True)
class RayRequest:
    """What one task asks of a node."""

    num_cpus: float = 1
    num_gpus: float = 0
    memory: int | None = None
    resources: dict[str, float] = field(default_factory=dict)

    def options(self) -> dict[str, Any]:
        options: dict[str, Any] = {"num_cpus": self.num_cpus, "num_gpus": self.num_gpus}
        if self.memory:
            options["memory"] = self.memory
        if self.resources:
            options["resources"] = dict(self.resources)
        return options

    def wants(self) -> dict[str, float]:
        """The request in Ray's resource names (memory in bytes)."""
        wanted = {"CPU": self.num_cpus, "GPU": self.num_gpus, "memory": self.memory or 0}
        wanted.update(self.resources)
        return {k: v for k, v in wanted.items() if v}

    def key(self) -> tuple[Any, ...]:
        return (self.num_cpus, self.num_gpus, self.memory, tuple(sorted(self.resources.items())))


def connect(address: str) -> Any:
    """Join the Ray cluster at ``address`` (once per process); a one-line error, and nothing
    started, when no cluster answers there."""
    ray = import_ray()
    target = address.strip()
    if ray.is_initialized():
        joined = _joined.get("address")
        if joined == target:
            return ray
        _check_address(address, target)
        if joined is None:  # joined by other code, at an address not known here
            return ray
        # A process belongs to one cluster: quietly using the one it joined first would run
        # this target's work somewhere else.
        raise ComputeTargetException(
            f"this process has joined the Ray cluster at {joined!r}, and a process can use one "
            f"cluster only; give every ray target it uses that address, not {address!r}"
        )
    _check_address(address, target)
    # Ray's driver set-up replaces the SIGTERM handler with one that exits at once; a monitor or
    # orchestrator must keep its own (SIGTERM is how a run is cancelled: stop the task, record).
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        ray.init(
            address=target,
            logging_level="ERROR",
            log_to_driver=False,
            configure_logging=False,
            include_dashboard=False,
        )
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise ComputeTargetException(
            f"cannot join the Ray cluster at {address!r}: {str(exc).splitlines()[0][:200]}; start "
            "one with `ray start --head` or point the target at a running head's address"
        ) from None
    finally:
        for sig, handler in handlers.items():
            if handler is not None:
                signal.signal(sig, handler)
    _joined["address"] = target
    _lean_serialization(ray)
    return ray


# Libraries for whose objects Ray registers serializers on a process's first remote call, by
# importing them (~0.3 s here: pyarrow with numpy, pydantic). A process that joins through
# hyperpipe sends only plain values (task specs, file bytes) and never needs them.
_SERIALIZER_ADDONS = ("pyarrow", "pydantic")


def _lean_serialization(ray: Any) -> None:
    """Make this process's Ray serialization context now, without importing the libraries it
    registers serializers for (``_SERIALIZER_ADDONS``) when nothing here has imported them:
    that import was most of a run driver's time to its first task (a sweep's driver, a
    pipeline's orchestrator). What is blocked is importable again afterwards; Ray's usual
    path serves where its internals differ."""
    import sys

    blocked = [name for name in _SERIALIZER_ADDONS if name not in sys.modules]
    compat = "ray._common.pydantic_compat"
    fresh_compat = compat not in sys.modules
    for name in blocked:
        sys.modules[name] = None  # type: ignore[assignment]  # "import name" fails at once
    try:
        with contextlib.suppress(Exception):
            ray._private.worker.global_worker.get_serialization_context()
    finally:
        for name in blocked:
            if sys.modules.get(name, ...) is None:
                del sys.modules[name]
        if fresh_compat:  # it recorded pydantic as missing: whoever imports it next looks again
            sys.modules.pop(compat, None)


_joined: dict[str, str] = {}  # the address this process joined, while it is joined


def forget_cluster() -> None:
    """After ``ray.shutdown()``: the process may join another cluster."""
    _joined.clear()


def _check_address(address: str, target: str) -> None:
    """A one-line error for an address that is malformed or where no cluster answers."""
    if target != "auto" and not target.startswith("ray://"):
        host, _, port = target.rpartition(":")
        if not host or not port.isdigit():
            raise ComputeTargetException(
                f"Ray address {address!r} is not host:port (e.g. 127.0.0.1:6379), ray://host:port "
                "or 'auto'; fix the target with `hyperpipe compute add NAME --type ray --address "
                "HOST:PORT`"
            )
        _check_reachable(address, host, int(port))
    elif target.startswith("ray://"):
        parts = urlsplit(target)
        _check_reachable(address, parts.hostname or "", parts.port or 10001)


def _check_reachable(address: str, host: str, port: int) -> None:
    try:
        with socket.create_connection((host, port), timeout=2.0):
            return
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
    raise ComputeTargetException(
        f"no Ray cluster answers at {address!r} ({reason}); start one with `ray start --head "
        f"--port {port}` on that machine, or fix the target's address (`hyperpipe compute add "
        "NAME --type ray --address HOST:PORT`)"
    )


def alive_nodes(ray: Any) -> list[dict[str, Any]]:
    return [node for node in ray.nodes() if node.get("Alive")]


def probe_nodes(address: str) -> list[dict[str, Any]] | None:
    """The live nodes of the cluster at ``address`` (as ``ray.nodes()`` describes them), asked of
    its GCS without joining the cluster (joining costs a second or more, and a submitter whose
    run's driver joins anyway has no use for it); a one-line error when no cluster answers.
    ``None`` where only joining can tell (``auto``, ``ray://`` client addresses, or a Ray without
    the GCS client this uses).

    Ray's GCS client starts threads that stay, and a process with threads cannot fork its runs'
    drivers: a single-threaded process asks from a forked child (``ray`` imported here first, so
    the driver forked later has it already)."""
    target = address.strip()
    if target == "auto" or target.startswith("ray://"):
        return None
    _check_address(address, target)
    import_ray()
    try:
        from ray._raylet import GcsClient  # noqa: F401
    except ImportError:
        return None
    single = threading.active_count() == 1 and len(os.listdir("/proc/self/task")) == 1
    answer = _in_child(_gcs_nodes, target) if single else _gcs_nodes(target)
    if "error" in answer:
        if _needs_token(answer["error"]):
            raise ComputeTargetException(
                f"the Ray cluster at {address!r} requires an auth token (it was started with "
                "token authentication) and this process sent none or another; set "
                "RAY_AUTH_MODE=token where you submit, with the cluster's token in "
                "RAY_AUTH_TOKEN, RAY_AUTH_TOKEN_PATH or ~/.ray/auth_token (`ray get-auth-token` "
                "on the head shows it)"
            )
        raise ComputeTargetException(
            f"cannot reach the Ray cluster at {address!r}: {answer['error']}; start one with "
            "`ray start --head` or point the target at a running head's address"
        )
    return answer.get("nodes")


def _needs_token(error: str) -> bool:
    """Whether a GCS refused the caller for its auth token (missing or not the cluster's)."""
    return "InvalidAuthToken" in error or "Unauthenticated" in error


def _gcs_nodes(target: str) -> dict[str, Any]:
    """{"nodes": [...]} of the GCS at ``target``, {"error": "..."}, or {} (cannot ask so)."""
    try:
        from ray._raylet import GcsClient
        from ray.core.generated import gcs_pb2

        infos = GcsClient(address=target).get_all_node_info(timeout=10)
    except (ImportError, AttributeError, TypeError):
        return {}
    except Exception as exc:  # the GCS did not answer (a port that is not Ray's)
        return {"error": str(exc).splitlines()[0][:200]}
    nodes = [
        {
            "Alive": True,
            "NodeManagerAddress": info.node_manager_address,
            "Resources": dict(info.resources_total),
        }
        for info in infos.values()
        if info.state == gcs_pb2.GcsNodeInfo.ALIVE
    ]
    return {"nodes": nodes}


def _in_child(function: Any, *args: Any) -> dict[str, Any]:
    """``function(*args)`` (a JSON-able dict) computed in a forked child that then exits."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: answer, and leave without running the parent's exit handlers
        code = 0
        try:
            os.close(read)
            with os.fdopen(write, "w") as out:
                json.dump(function(*args), out)
        except BaseException:
            code = 1
        os._exit(code)
    os.close(write)
    with os.fdopen(read) as answer:
        text = answer.read()
    os.waitpid(pid, 0)
    try:
        return json.loads(text)
    except ValueError:
        return {}


def check_feasible(
    ray: Any, request: RayRequest, target: str, nodes: list[dict[str, Any]] | None = None
) -> None:
    """A one-line error when no node of the cluster (``nodes``, or those ``ray`` is joined to)
    has everything ``request`` asks for."""
    wanted = request.wants()
    nodes = alive_nodes(ray) if nodes is None else nodes
    for node in nodes:
        have = node.get("Resources", {})
        if all(have.get(name, 0) >= amount for name, amount in wanted.items()):
            return
    offered = "; ".join(
        f"{node.get('NodeManagerAddress')}: "
        + ", ".join(
            f"{name}={_amount(name, amount)}"
            for name, amount in sorted(node.get("Resources", {}).items())
            if not name.startswith("node:") and "object_store" not in name
        )
        for node in nodes
    )
    asked = ", ".join(f"{k}={_amount(k, v)}" for k, v in wanted.items())
    raise ComputeTargetException(
        f"compute target {target!r} asks each run for {asked}, which no node of the Ray cluster "
        f"has (nodes: {offered or 'none'}); lower the request or start a node with those "
        "resources (`ray start --resources '{\"NAME\": 1}'`)"
    )


def _amount(name: str, amount: float) -> str:
    if name == "memory":
        return f"{amount / 2**30:.1f}GiB"
    return f"{amount:g}"
