"""Compute target entries of the workspace config: their types, defaults and validation."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Any

from hyperpipe.exceptions import ComputeTargetException

__all__ = [
    "LOCAL_TARGET",
    "TARGET_TYPES",
    "TargetSpec",
    "check_target_name",
    "target_spec",
    "validate_target",
]

LOCAL_TARGET = "local"
TARGET_TYPES = ("local",)


@dataclass(frozen=True)
class TargetSpec:
    """What a compute target offers: how many runs at once, and which GPUs to hand out."""

    name: str
    type: str = "local"
    max_concurrency: int = 1
    gpus: tuple[int, ...] = field(default_factory=tuple)
    vm_size: str | None = None
    # What SDK v1 code sees (``ComputeTarget.type``): "AmlCompute" for targets declared through
    # ``AmlCompute.provisioning_configuration``; the other fields are that call's settings.
    sdk_type: str | None = None
    min_nodes: int = 0
    vm_priority: str | None = None
    idle_seconds_before_scaledown: int | None = None

    def to_json(self) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "type": self.type,
            "max_concurrency": self.max_concurrency,
            "gpus": list(self.gpus),
        }
        if self.vm_size:
            entry["vm_size"] = self.vm_size
        if self.sdk_type:
            entry["sdk_type"] = self.sdk_type
            entry["min_nodes"] = self.min_nodes
            entry["vm_priority"] = self.vm_priority
            entry["idle_seconds_before_scaledown"] = self.idle_seconds_before_scaledown
        return entry


_TARGET_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,31}")


def check_target_name(name: Any) -> str:
    """A compute target's name: it names a folder of concurrency slots, so no paths."""
    if not isinstance(name, str) or not _TARGET_NAME.fullmatch(name):
        raise ComputeTargetException(
            f"compute target name {name!r} is invalid: use 1-32 letters, digits, '-' or '_', "
            "starting with a letter (e.g. 'gpu-cluster')"
        )
    return name


def validate_target(entry: dict[str, Any]) -> tuple[str, str] | None:
    """The first problem with a config entry as (key, what is wrong), or None when it is valid."""
    kind = entry.get("type", "local")
    if kind not in TARGET_TYPES:
        return "type", f"must be one of {list(TARGET_TYPES)}, found {kind!r}"
    concurrency = entry.get("max_concurrency", 1)
    if not isinstance(concurrency, int) or isinstance(concurrency, bool) or concurrency < 1:
        return "max_concurrency", f"must be a positive integer, found {concurrency!r}"
    gpus = entry.get("gpus", [])
    if not isinstance(gpus, list) or not all(isinstance(g, int) and g >= 0 for g in gpus):
        return "gpus", f"must be a list of GPU indices like [0, 1], found {gpus!r}"
    return None


def target_spec(name: str, entry: dict[str, Any] | None) -> TargetSpec:
    """The spec of a target entry; the implicit ``local`` target runs one run per CPU core."""
    check_target_name(name)
    if entry is None:
        return TargetSpec(name=name, max_concurrency=os.cpu_count() or 1)
    return TargetSpec(
        name=name,
        type=entry.get("type", "local"),
        max_concurrency=int(entry.get("max_concurrency", 1)),
        gpus=tuple(entry.get("gpus", ())),
        vm_size=entry.get("vm_size"),
        sdk_type=entry.get("sdk_type"),
        min_nodes=int(entry.get("min_nodes") or 0),
        vm_priority=entry.get("vm_priority"),
        idle_seconds_before_scaledown=entry.get("idle_seconds_before_scaledown"),
    )
