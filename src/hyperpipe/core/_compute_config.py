"""Compute target entries of the workspace config: their types, defaults and validation."""

from __future__ import annotations

import math
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
    "resolve_concurrency",
    "target_spec",
    "validate_target",
]

LOCAL_TARGET = "local"
TARGET_TYPES = ("local",)


@dataclass(frozen=True)
class TargetSpec:
    """What a compute target offers: how many runs at once, which GPUs to hand out, and to how
    many concurrent runs each GPU goes at most.

    Concurrent runs take the GPUs in turn (slot ``i`` gets ``gpus[i % len(gpus)]``), so each GPU
    serves at most ``ceil(max_concurrency / len(gpus))`` runs at once; ``trials_per_gpu`` states
    that number, and by default it is exactly that.
    """

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
    trials_per_gpu: int = 1

    def to_json(self) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "type": self.type,
            "max_concurrency": self.max_concurrency,
            "gpus": list(self.gpus),
        }
        if self.gpus:
            entry["trials_per_gpu"] = self.trials_per_gpu
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


def _positive_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def _gpu_list(value: Any) -> bool:
    return isinstance(value, list | tuple) and all(
        isinstance(g, int) and not isinstance(g, bool) and g >= 0 for g in value
    )


def resolve_concurrency(max_concurrency: Any, gpus: Any, trials_per_gpu: Any) -> Any:
    """``max_concurrency`` as declared, or when it is None: every GPU times ``trials_per_gpu``
    when both are given, else 1. Invalid values are passed on for ``validate_target`` to name."""
    if max_concurrency is not None:
        return max_concurrency
    if trials_per_gpu is not None and _positive_int(trials_per_gpu) and _gpu_list(gpus) and gpus:
        return len(gpus) * trials_per_gpu
    return 1


def validate_target(entry: dict[str, Any]) -> tuple[str, str] | None:
    """The first problem with a config entry as (key, what is wrong), or None when it is valid."""
    kind = entry.get("type", "local")
    if kind not in TARGET_TYPES:
        return "type", f"must be one of {list(TARGET_TYPES)}, found {kind!r}"
    concurrency = entry.get("max_concurrency", 1)
    if not isinstance(concurrency, int) or isinstance(concurrency, bool) or concurrency < 1:
        return "max_concurrency", f"must be a positive integer, found {concurrency!r}"
    gpus = entry.get("gpus", [])
    if not isinstance(gpus, list) or not _gpu_list(gpus):
        return "gpus", f"must be a list of GPU indices like [0, 1], found {gpus!r}"
    if "trials_per_gpu" not in entry:
        return None
    per_gpu = entry["trials_per_gpu"]
    if not _positive_int(per_gpu):
        return "trials_per_gpu", f"must be a positive integer, found {per_gpu!r}"
    if not gpus:
        return "trials_per_gpu", (
            f"is {per_gpu} but the target has no GPUs to share; give it gpus too "
            "(e.g. gpus [0] with trials_per_gpu 4)"
        )
    if concurrency > len(gpus) * per_gpu:
        return "max_concurrency", (
            f"{concurrency} would put more than {per_gpu} runs on a GPU ({len(gpus)} GPU(s) x "
            f"{per_gpu} trials_per_gpu = {len(gpus) * per_gpu} at most); lower max_concurrency, "
            "raise trials_per_gpu or add GPUs"
        )
    return None


def target_spec(name: str, entry: dict[str, Any] | None) -> TargetSpec:
    """The spec of a target entry; the implicit ``local`` target runs one run per CPU core."""
    check_target_name(name)
    if entry is None:
        return TargetSpec(name=name, max_concurrency=os.cpu_count() or 1)
    concurrency = int(entry.get("max_concurrency", 1))
    gpus = tuple(entry.get("gpus", ()))
    per_gpu = entry.get("trials_per_gpu") or (math.ceil(concurrency / len(gpus)) if gpus else 1)
    return TargetSpec(
        name=name,
        type=entry.get("type", "local"),
        max_concurrency=concurrency,
        gpus=gpus,
        vm_size=entry.get("vm_size"),
        sdk_type=entry.get("sdk_type"),
        min_nodes=int(entry.get("min_nodes") or 0),
        vm_priority=entry.get("vm_priority"),
        idle_seconds_before_scaledown=entry.get("idle_seconds_before_scaledown"),
        trials_per_gpu=int(per_gpu),
    )
