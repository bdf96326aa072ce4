"""``hyperpipe.core.compute``: compute targets, SDK v1's ``azureml.core.compute``.

A compute target is an entry in the workspace config. Cloud provisioning maps to local meaning:
``AmlCompute.provisioning_configuration(max_nodes=4)`` declares a target that runs up to four
runs at once; ``ComputeTarget.create`` writes the entry and ``wait_for_completion`` returns at once.
A target with ``gpus`` gives each concurrent run one of them (``CUDA_VISIBLE_DEVICES``), in turn;
``trials_per_gpu=k`` lets k concurrent runs share each GPU (models too small to fill one). A run
on a target without GPUs sees none.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from hyperpipe.core._compute_config import (
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
    "ComputeTarget",
    "ComputeTargetException",
    "LocalCompute",
    "LocalComputeProvisioningConfiguration",
]


@dataclass(frozen=True)
class LocalComputeProvisioningConfiguration:
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


class ComputeTarget:
    """A named place where runs execute. ``ComputeTarget(ws, name)`` gets an existing one."""

    def __init__(self, workspace: Workspace, name: str) -> None:
        spec = workspace._target_spec(name)
        self.workspace = workspace
        self._spec = spec

    @classmethod
    def _from_spec(cls, workspace: Workspace, spec: TargetSpec) -> ComputeTarget:
        target = object.__new__(cls)
        target.workspace = workspace
        target._spec = spec
        return target

    @staticmethod
    def create(workspace: Workspace, name: str, provisioning_configuration: Any) -> ComputeTarget:
        """Declare (or redeclare) target ``name`` in the workspace config."""
        if not isinstance(provisioning_configuration, LocalComputeProvisioningConfiguration):
            raise ComputeTargetException(
                f"cannot create compute target {name!r} from {provisioning_configuration!r}; use "
                "AmlCompute.provisioning_configuration(max_nodes=...) or "
                "LocalCompute.provisioning_configuration(max_concurrency=..., gpus=[...])"
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
        return self._spec.type

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

    def get_status(self) -> str:
        return "Succeeded"

    def delete(self) -> None:
        """Remove the target from the workspace config."""
        self.workspace._set_target(None, self.name)

    def serialize(self) -> dict[str, Any]:
        return {"name": self.name, **self._spec.to_json()}

    def __repr__(self) -> str:
        sharing = f", trials_per_gpu={self.trials_per_gpu}" if self.gpus else ""
        return (
            f"ComputeTarget(name={self.name!r}, type={self.type!r}, "
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
    ) -> LocalComputeProvisioningConfiguration:
        """``max_nodes`` runs at once; ``gpus`` and ``trials_per_gpu`` (hyperpipe's) as for
        ``LocalCompute.provisioning_configuration``."""
        return _provisioning(
            "AmlCompute.provisioning_configuration",
            max_nodes,
            gpus,
            vm_size or None,
            trials_per_gpu,
        )
