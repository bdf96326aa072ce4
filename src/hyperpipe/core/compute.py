"""``hyperpipe.core.compute``: compute targets, SDK v1's ``azureml.core.compute``.

A compute target is an entry in the workspace config. Cloud provisioning maps to local meaning:
``AmlCompute.provisioning_configuration(max_nodes=4)`` declares a target that runs up to four
runs at once; ``ComputeTarget.create`` writes the entry and ``wait_for_completion`` returns at once.
A target declared that way reports ``type == "AmlCompute"`` (and its ``vm_size``, ``max_nodes``),
so SDK v1's "does it exist?" idioms (``ComputeTarget(ws, name)``, ``AmlCompute(ws, name)``,
``ws.compute_targets[name].type == "AmlCompute"``) find it instead of re-creating it.
A target with ``gpus`` gives each concurrent run one of them (``CUDA_VISIBLE_DEVICES``), in turn;
``trials_per_gpu=k`` lets k concurrent runs share each GPU (models too small to fill one). A run
on a target without GPUs sees none.

A ``ray`` target (``RayCompute.provisioning_configuration(address=...)``) runs each run as Ray
work on a cluster: ``num_cpus``, ``num_gpus``, ``memory`` and custom ``resources`` are what each
run asks of a node, ``max_retries`` how often a run whose node died starts again elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from hyperpipe._record import Record, field
from hyperpipe._surface import SdkV1Surface
from hyperpipe.core._compute_config import (
    RAY_TARGET,
    TargetSpec,
    resolve_concurrency,
    target_spec,
    validate_target,
)
from hyperpipe.exceptions import ComputeTargetException

if TYPE_CHECKING:
    from hyperpipe.core._workspace import Workspace

__all__ = [
    "AmlCompute",
    "AmlComputeNodeStateCounts",
    "AmlComputeProvisioningConfiguration",
    "AmlComputeStatus",
    "ComputeTarget",
    "ComputeTargetException",
    "LocalCompute",
    "LocalComputeProvisioningConfiguration",
    "RayCompute",
    "RayComputeProvisioningConfiguration",
    "ScaleSettings",
]

AML_COMPUTE = "AmlCompute"


class LocalComputeProvisioningConfiguration(Record):
    """How to declare a target: runs at once, GPU indices handed one per run, a size label, and
    how many concurrent runs share each GPU (None: as many as ``max_concurrency`` puts there)."""

    max_concurrency: int = 1
    gpus: tuple[int, ...] = field(default_factory=tuple)
    vm_size: str | None = None
    trials_per_gpu: int | None = None

    def _entry(self) -> dict[str, Any]:
        """The target's config entry, before validation."""
        entry: dict[str, Any] = {
            "type": "local",
            "max_concurrency": self.max_concurrency,
            "gpus": list(self.gpus) if isinstance(self.gpus, tuple | list) else self.gpus,
        }
        if self.trials_per_gpu is not None:
            entry["trials_per_gpu"] = self.trials_per_gpu
        if self.vm_size:
            entry["vm_size"] = self.vm_size
        return entry


def _provisioning(
    where: str,
    max_concurrency: int | None,
    gpus: Any,
    vm_size: str | None,
    trials_per_gpu: int | None,
) -> LocalComputeProvisioningConfiguration:
    """A checked configuration: a bad value is a one-line error naming it, here and now."""
    listed = list(gpus) if isinstance(gpus, list | tuple) else gpus
    config = LocalComputeProvisioningConfiguration(
        resolve_concurrency(max_concurrency, listed, trials_per_gpu),
        tuple(listed) if isinstance(listed, list) else listed,
        vm_size,
        trials_per_gpu,
    )
    problem = validate_target(config._entry())
    if problem:
        key, what = problem
        raise ComputeTargetException(f"{where}: {key} {what}")
    return config


class AmlComputeProvisioningConfiguration(LocalComputeProvisioningConfiguration):
    """What ``AmlCompute.provisioning_configuration`` returns: a local target that remembers it
    was declared as a cluster (``max_nodes`` runs at once)."""

    min_nodes: int = 0
    vm_priority: str = "dedicated"
    idle_seconds_before_scaledown: int | None = None

    def _entry(self) -> dict[str, Any]:
        return {
            **super()._entry(),
            "sdk_type": AML_COMPUTE,
            "min_nodes": self.min_nodes,
            "vm_priority": self.vm_priority,
            "idle_seconds_before_scaledown": self.idle_seconds_before_scaledown,
        }


class RayComputeProvisioningConfiguration(LocalComputeProvisioningConfiguration):
    """What ``RayCompute.provisioning_configuration`` returns: a Ray cluster's address and what
    each run asks of a node."""

    address: str = "auto"
    num_cpus: float = 1
    num_gpus: float = 0
    memory: int | None = None
    resources: dict[str, float] = field(default_factory=dict)
    max_retries: int = 1

    def _entry(self) -> dict[str, Any]:
        entry = super()._entry()
        entry["type"] = RAY_TARGET
        entry.update(
            address=self.address,
            num_cpus=self.num_cpus,
            num_gpus=self.num_gpus,
            memory=self.memory,
            resources=self.resources,
            max_retries=self.max_retries,
        )
        return entry


class ComputeTarget(SdkV1Surface):
    """A named place where runs execute. ``ComputeTarget(ws, name)`` gets an existing one (as an
    ``AmlCompute`` when it was declared as one); a missing one raises ``ComputeTargetException``."""

    def __new__(cls, workspace: Workspace, name: str) -> ComputeTarget:
        spec = workspace._target_spec(name)
        kind = _kind(spec)
        if cls is not ComputeTarget and not issubclass(kind, cls):
            raise ComputeTargetException(
                f"compute target {name!r} is a {spec.sdk_type or spec.type} target, not "
                f"{cls.__name__}; get it with ComputeTarget(ws, {name!r})"
            )
        return kind._from_spec(workspace, spec)

    def __init__(self, workspace: Workspace, name: str) -> None:
        """Everything is set by ``__new__`` (the getter)."""

    @classmethod
    def _from_spec(cls, workspace: Workspace, spec: TargetSpec) -> ComputeTarget:
        if cls is ComputeTarget:
            cls = _kind(spec)
        target = object.__new__(cls)
        target.workspace = workspace
        target._spec = spec
        return target

    @staticmethod
    def create(workspace: Workspace, name: str, provisioning_configuration: Any) -> ComputeTarget:
        """Declare (or redeclare) target ``name`` in the workspace config."""
        from hyperpipe.core._compute_config import check_target_name

        check_target_name(name)
        if not isinstance(provisioning_configuration, LocalComputeProvisioningConfiguration):
            raise ComputeTargetException(
                f"cannot create compute target {name!r} from {provisioning_configuration!r}; use "
                "AmlCompute.provisioning_configuration(max_nodes=...) or "
                "LocalCompute.provisioning_configuration(max_concurrency=..., gpus=[...]) or "
                "RayCompute.provisioning_configuration(address=...)"
            )
        entry = provisioning_configuration._entry()
        problem = validate_target(entry)
        if problem:
            raise ComputeTargetException(f"compute target {name!r}: {problem[0]} {problem[1]}")
        spec = target_spec(name, entry)
        workspace._set_target(spec, name)
        return ComputeTarget._from_spec(workspace, spec)

    @property
    def name(self) -> str:
        return self._spec.name

    @property
    def type(self) -> str:
        """``"AmlCompute"`` for targets declared as clusters, else ``"local"``."""
        return self._spec.sdk_type or self._spec.type

    @property
    def max_concurrency(self) -> int:
        return self._spec.max_concurrency

    @property
    def gpus(self) -> tuple[int, ...]:
        return self._spec.gpus

    @property
    def trials_per_gpu(self) -> int:
        """How many concurrent runs share each of ``gpus`` at most."""
        return self._spec.trials_per_gpu

    @property
    def vm_size(self) -> str | None:
        return self._spec.vm_size

    @property
    def provisioning_state(self) -> str:
        return "Succeeded"

    def wait_for_completion(
        self,
        show_output: bool = False,
        min_node_count: int | None = None,
        timeout_in_minutes: int = 20,
    ) -> None:
        """Nothing to wait for: local targets exist as soon as they are declared."""

    def get_status(self) -> AmlComputeStatus:
        """SDK v1's detailed status object (``.serialize()`` gives its JSON); a node is a slot
        of this target, busy while a run holds it."""
        from hyperpipe.compute import SlotPool
        from hyperpipe.core._paths import slots_dir

        busy = SlotPool(
            slots_dir(self.workspace.root, self.name), self.max_concurrency, self.gpus
        ).busy()
        counts = AmlComputeNodeStateCounts(0, 0, 0, 0, busy, 0)
        return AmlComputeStatus(
            allocation_state="Steady",
            allocation_state_transition_time=None,
            creation_time=None,
            current_node_count=busy,
            errors=None,
            modified_time=None,
            node_state_counts=counts,
            provisioning_state=self.provisioning_state,
            provisioning_state_transition_time=None,
            scale_settings=ScaleSettings(
                self._spec.min_nodes,
                self.max_concurrency,
                self._spec.idle_seconds_before_scaledown,
            ),
            target_node_count=busy,
            vm_priority=self._spec.vm_priority,
            vm_size=self.vm_size,
        )

    def delete(self) -> None:
        """Remove the target from the workspace config."""
        self.workspace._set_target(None, self.name)

    def serialize(self) -> dict[str, Any]:
        return {"name": self.name, **self._spec.to_json()}

    def __repr__(self) -> str:
        sharing = f", trials_per_gpu={self.trials_per_gpu}" if self.gpus else ""
        return (
            f"{type(self).__name__}(name={self.name!r}, type={self.type!r}, "
            f"max_concurrency={self.max_concurrency}, gpus={list(self.gpus)}{sharing})"
        )


class LocalCompute(ComputeTarget):
    """A target that runs processes on this machine."""

    @staticmethod
    def provisioning_configuration(
        max_concurrency: int | None = None,
        gpus: list[int] | tuple[int, ...] = (),
        vm_size: str | None = None,
        trials_per_gpu: int | None = None,
    ) -> LocalComputeProvisioningConfiguration:
        """Up to ``max_concurrency`` runs at once, each given one of ``gpus`` in turn; each GPU
        shared by at most ``trials_per_gpu`` of them. ``max_concurrency`` defaults to
        ``len(gpus) * trials_per_gpu`` when both are given, else 1."""
        return _provisioning(
            "LocalCompute.provisioning_configuration",
            max_concurrency,
            gpus,
            vm_size,
            trials_per_gpu,
        )


class AmlCompute(ComputeTarget):
    """SDK v1's cluster type; here ``max_nodes`` becomes how many runs execute at once."""

    @property
    def max_nodes(self) -> int:
        return self.max_concurrency

    @property
    def min_nodes(self) -> int:
        return self._spec.min_nodes

    @property
    def vm_priority(self) -> str | None:
        return self._spec.vm_priority

    @property
    def scale_settings(self) -> ScaleSettings:
        return ScaleSettings(
            self.min_nodes, self.max_nodes, self._spec.idle_seconds_before_scaledown
        )

    @staticmethod
    def provisioning_configuration(
        vm_size: str = "",
        vm_priority: str = "dedicated",
        min_nodes: int = 0,
        max_nodes: int = 4,
        idle_seconds_before_scaledown: int | None = None,
        admin_username: str | None = None,
        admin_user_password: str | None = None,
        admin_user_ssh_key: str | None = None,
        vnet_resourcegroup_name: str | None = None,
        vnet_name: str | None = None,
        subnet_name: str | None = None,
        tags: dict[str, str] | None = None,
        description: str | None = None,
        remote_login_port_public_access: str = "NotSpecified",
        identity_type: str | None = None,
        identity_id: list[str] | None = None,
        location: str | None = None,
        enable_node_public_ip: bool = True,
        *,
        gpus: list[int] | tuple[int, ...] = (),
        trials_per_gpu: int | None = None,
    ) -> AmlComputeProvisioningConfiguration:
        """``max_nodes`` runs at once; ``gpus`` and ``trials_per_gpu`` (hyperpipe's) as for
        ``LocalCompute.provisioning_configuration``."""
        local = _provisioning(
            "AmlCompute.provisioning_configuration",
            max_nodes,
            gpus,
            vm_size or None,
            trials_per_gpu,
        )
        return AmlComputeProvisioningConfiguration(
            max_concurrency=local.max_concurrency,
            gpus=local.gpus,
            vm_size=local.vm_size,
            trials_per_gpu=local.trials_per_gpu,
            min_nodes=min_nodes,
            vm_priority=vm_priority,
            idle_seconds_before_scaledown=idle_seconds_before_scaledown,
        )


class RayCompute(ComputeTarget):
    """A Ray cluster: each run becomes Ray work on a node that has what it asks for."""

    @property
    def address(self) -> str:
        return (self._spec.ray or {})["address"]

    @property
    def resources(self) -> dict[str, Any]:
        """What each run asks of a node: num_cpus, num_gpus, memory and custom resources."""
        ray = self._spec.ray or {}
        return {k: ray[k] for k in ("num_cpus", "num_gpus", "memory", "resources")}

    @property
    def max_retries(self) -> int:
        return (self._spec.ray or {})["max_retries"]

    @staticmethod
    def provisioning_configuration(
        address: str = "auto",
        max_concurrency: int | None = None,
        num_cpus: float = 1,
        num_gpus: float = 0,
        memory: int | None = None,
        resources: dict[str, float] | None = None,
        max_retries: int = 1,
    ) -> RayComputeProvisioningConfiguration:
        """A Ray cluster at ``address`` (``host:port`` of its head, or ``auto``), running up to
        ``max_concurrency`` runs at once, each asking a node for ``num_cpus``, ``num_gpus``,
        ``memory`` bytes and custom ``resources`` (``{"node_b": 1}`` pins runs to the nodes
        started with that resource); a run whose node dies starts again up to ``max_retries``
        times."""
        config = RayComputeProvisioningConfiguration(
            max_concurrency=resolve_concurrency(max_concurrency, [], None),
            address=address,
            num_cpus=num_cpus,
            num_gpus=num_gpus,
            memory=memory,
            resources=dict(resources or {}) if isinstance(resources, dict) else resources,
            max_retries=max_retries,
        )
        problem = validate_target(config._entry())
        if problem:
            raise ComputeTargetException(
                f"RayCompute.provisioning_configuration: {problem[0]} {problem[1]}"
            )
        return config


def _kind(spec: TargetSpec) -> type[ComputeTarget]:
    if spec.type == RAY_TARGET:
        return RayCompute
    return AmlCompute if spec.sdk_type == AML_COMPUTE else LocalCompute


@dataclass
class ScaleSettings(SdkV1Surface):
    """A cluster's scale settings (SDK v1 shape)."""

    minimum_node_count: int
    maximum_node_count: int
    idle_seconds_before_scaledown: int | None = None

    def serialize(self) -> dict[str, Any]:
        seconds = self.idle_seconds_before_scaledown
        return {
            "minNodeCount": self.minimum_node_count,
            "maxNodeCount": self.maximum_node_count,
            "nodeIdleTimeBeforeScaleDown": f"PT{seconds}S" if seconds else "",
        }


@dataclass
class AmlComputeNodeStateCounts(SdkV1Surface):
    """How many nodes (here: slots) are in each state."""

    idle_node_count: int
    leaving_node_count: int
    preempted_node_count: int
    preparing_node_count: int
    running_node_count: int
    unusable_node_count: int

    def serialize(self) -> dict[str, int]:
        return {
            "idleNodeCount": self.idle_node_count,
            "leavingNodeCount": self.leaving_node_count,
            "preemptedNodeCount": self.preempted_node_count,
            "preparingNodeCount": self.preparing_node_count,
            "runningNodeCount": self.running_node_count,
            "unusableNodeCount": self.unusable_node_count,
        }


@dataclass
class AmlComputeStatus(SdkV1Surface):
    """What ``get_status()`` returns; ``serialize()`` gives SDK v1's JSON (camelCase keys)."""

    allocation_state: str
    allocation_state_transition_time: datetime | None
    creation_time: datetime | None
    current_node_count: int
    errors: list[Any] | None
    modified_time: datetime | None
    node_state_counts: AmlComputeNodeStateCounts | None
    provisioning_state: str
    provisioning_state_transition_time: datetime | None
    scale_settings: ScaleSettings | None
    target_node_count: int
    vm_priority: str | None
    vm_size: str | None

    def serialize(self) -> dict[str, Any]:
        def iso(value: datetime | None) -> str | None:
            return value.astimezone(UTC).isoformat() if value else None

        return {
            "currentNodeCount": self.current_node_count,
            "targetNodeCount": self.target_node_count,
            "nodeStateCounts": (
                self.node_state_counts.serialize() if self.node_state_counts else None
            ),
            "allocationState": self.allocation_state,
            "allocationStateTransitionTime": iso(self.allocation_state_transition_time),
            "errors": self.errors,
            "creationTime": iso(self.creation_time),
            "modifiedTime": iso(self.modified_time),
            "provisioningState": self.provisioning_state,
            "provisioningStateTransitionTime": iso(self.provisioning_state_transition_time),
            "scaleSettings": self.scale_settings.serialize() if self.scale_settings else None,
            "vmPriority": self.vm_priority,
            "vmSize": self.vm_size,
        }

    def __str__(self) -> str:
        return self.provisioning_state
