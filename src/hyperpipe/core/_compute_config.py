"""Compute target entries of the workspace config: their types, defaults and validation."""

from __future__ import annotations

import math
import os
import re
from typing import Any

from hyperpipe._record import Record, field
from hyperpipe.exceptions import ComputeTargetException

__all__ = [
    "LOCAL_TARGET",
    "RAY_TARGET",
    "TARGET_TYPES",
    "TargetSpec",
    "check_target_name",
    "ray_settings",
    "resolve_concurrency",
    "target_spec",
    "validate_target",
]

LOCAL_TARGET = "local"
RAY_TARGET = "ray"
TARGET_TYPES = ("local", RAY_TARGET)
# A ray target's settings: where the cluster is, and what each run asks of a node by default.
RAY_KEYS = ("address", "num_cpus", "num_gpus", "memory", "resources", "max_retries")


class TargetSpec(Record):
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
    # A ``ray`` target's settings (``RAY_KEYS``); None for a local target.
    ray: dict[str, Any] | None = None

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
        if self.ray is not None:
            entry.update(self.ray)
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
    if kind == RAY_TARGET:
        problem = _validate_ray(entry)
        if problem:
            return problem
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


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value >= 0


def _validate_ray(entry: dict[str, Any]) -> tuple[str, str] | None:
    address = entry.get("address")
    if not isinstance(address, str) or not address.strip():
        return "address", (
            f"must be the Ray cluster's address (host:port of the head, ray://host:port, or "
            f"'auto'), found {address!r}"
        )
    for key in ("num_cpus", "num_gpus"):
        if entry.get(key) is not None and not _number(entry[key]):
            return key, f"must be a number >= 0, found {entry[key]!r}"
    memory = entry.get("memory")
    if memory is not None and not (_number(memory) and int(memory) == memory):
        return "memory", f"must be a number of bytes, found {memory!r}"
    resources = entry.get("resources") or {}
    if not isinstance(resources, dict) or not all(
        isinstance(k, str) and k and _number(v) and v > 0 for k, v in resources.items()
    ):
        return "resources", (
            f"must map custom resource names to amounts > 0, like {{'node_b': 1}}, "
            f"found {resources!r}"
        )
    retries = entry.get("max_retries", 1)
    if not isinstance(retries, int) or isinstance(retries, bool) or retries < 0:
        return "max_retries", f"must be an integer >= 0, found {retries!r}"
    return None


def ray_settings(entry: dict[str, Any]) -> dict[str, Any]:
    """A ray target's settings with their defaults: one CPU per run, one retry."""
    return {
        "address": str(entry["address"]).strip(),
        "num_cpus": entry.get("num_cpus", 1) if entry.get("num_cpus") is not None else 1,
        "num_gpus": entry.get("num_gpus") or 0,
        "memory": entry.get("memory"),
        "resources": dict(entry.get("resources") or {}),
        "max_retries": entry.get("max_retries", 1),
    }


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
        ray=ray_settings(entry) if entry.get("type") == RAY_TARGET else None,
    )
