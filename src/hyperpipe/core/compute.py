"""``hyperpipe.core.compute``: compute targets, SDK v1's ``azureml.core.compute``.

A compute target is an entry in the workspace config. Cloud provisioning maps to local meaning:
``AmlCompute.provisioning_configuration(max_nodes=4)`` declares a target that runs up to four
runs at once; ``ComputeTarget.create`` writes the entry and ``wait_for_completion`` returns at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from hyperpipe.core._compute_config import TargetSpec
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
    """How to declare a target: runs at once, GPU indices handed one per run, a size label."""

    max_concurrency: int = 1
    gpus: tuple[int, ...] = field(default_factory=tuple)
    vm_size: str | None = None


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
        from hyperpipe.core._compute_config import check_target_name

        check_target_name(name)
        if not isinstance(provisioning_configuration, LocalComputeProvisioningConfiguration):
            raise ComputeTargetException(
                f"cannot create compute target {name!r} from {provisioning_configuration!r}; use "
                "AmlCompute.provisioning_configuration(max_nodes=...) or "
                "LocalCompute.provisioning_configuration(max_concurrency=..., gpus=[...])"
            )
        config = provisioning_configuration
        spec = TargetSpec(
            name=name,
            max_concurrency=config.max_concurrency,
            gpus=tuple(config.gpus),
            vm_size=config.vm_size,
        )
        from hyperpipe.core._compute_config import validate_target

        problem = validate_target(spec.to_json())
        if problem:
            raise ComputeTargetException(f"compute target {name!r}: {problem[0]} {problem[1]}")
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
        return (
            f"ComputeTarget(name={self.name!r}, type={self.type!r}, "
            f"max_concurrency={self.max_concurrency}, gpus={list(self.gpus)})"
        )


class LocalCompute(ComputeTarget):
    """A target that runs processes on this machine."""

    @staticmethod
    def provisioning_configuration(
        max_concurrency: int = 1, gpus: list[int] | tuple[int, ...] = (), vm_size: str | None = None
    ) -> LocalComputeProvisioningConfiguration:
        return LocalComputeProvisioningConfiguration(max_concurrency, tuple(gpus), vm_size)


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
    ) -> LocalComputeProvisioningConfiguration:
        return LocalComputeProvisioningConfiguration(max_nodes, tuple(gpus), vm_size or None)
