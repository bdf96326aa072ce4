"""Sampling classes and policies from JSON, for the driver process (SDK v1's ``_from_dict``).

Two shapes are read:

* hyperpipe's: ``{"type": "BanditPolicy", **policy._to_json()}`` (the class name and its
  constructor arguments), as ``HyperDriveConfig`` stores them;
* SDK v1's ``to_json()``: ``{"name": "Bandit", "properties": {...}}`` and
  ``{"name": "RANDOM", "parameter_space": {...}}``, as SDK v1 stored them on a run.
"""

from __future__ import annotations

from typing import Any

from hyperpipe.exceptions import UserErrorException
from hyperpipe.train.hyperdrive._policies import (
    BanditPolicy,
    EarlyTerminationPolicy,
    MedianStoppingPolicy,
    NoTerminationPolicy,
    TruncationSelectionPolicy,
)
from hyperpipe.train.hyperdrive._sampling import (
    BayesianParameterSampling,
    GridParameterSampling,
    HyperParameterSampling,
    RandomParameterSampling,
)

__all__ = ["policy_from_json", "sampling_from_json"]

_SAMPLINGS: tuple[type[HyperParameterSampling], ...] = (
    RandomParameterSampling,
    GridParameterSampling,
    BayesianParameterSampling,
)
_POLICIES: tuple[type[EarlyTerminationPolicy], ...] = (
    BanditPolicy,
    MedianStoppingPolicy,
    TruncationSelectionPolicy,
    NoTerminationPolicy,
)


def sampling_from_json(data: dict[str, Any]) -> HyperParameterSampling:
    """The sampling object ``data`` describes (either shape, see the module docstring)."""
    if not isinstance(data, dict):
        raise UserErrorException(f"a sampling description must be a dict, got {data!r}")
    for cls in _SAMPLINGS:
        if data.get("type") == cls.__name__ or (
            "type" not in data and str(data.get("name", "")).lower() == cls.SAMPLING_NAME.lower()
        ):
            return cls(data["parameter_space"], data.get("properties"))
    raise UserErrorException(
        f"unknown sampling {data.get('type') or data.get('name')!r}; expected one of "
        f"{', '.join(c.__name__ for c in _SAMPLINGS)}"
    )


def policy_from_json(data: dict[str, Any] | None) -> EarlyTerminationPolicy:
    """The policy ``data`` describes (either shape); ``None`` gives ``NoTerminationPolicy``."""
    if data is None:
        return NoTerminationPolicy()
    if not isinstance(data, dict):
        raise UserErrorException(f"a policy description must be a dict, got {data!r}")
    for cls in _POLICIES:
        if data.get("type") == cls.__name__:
            return cls(**{k: v for k, v in data.items() if k != "type"})
        if "type" not in data and str(data.get("name", "")).lower() == cls.POLICY_NAME.lower():
            properties = dict(data.get("properties") or {})
            properties.pop("exclude_finished_jobs", None)
            return cls(**properties)
    raise UserErrorException(
        f"unknown early-termination policy {data.get('type') or data.get('name')!r}; expected "
        f"one of {', '.join(c.__name__ for c in _POLICIES)}"
    )
