"""What one drift test says about one window: its p-value, its size and why."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["TestOutcome", "bonferroni"]


@dataclass
class TestOutcome:
    """One test family's verdict on one window.

    ``p_value`` is already corrected for the tests inside the family; ``coefficient`` is a
    magnitude in [0, 1] (0: no more difference than sampling noise); ``explanation`` lists what
    moved (classes, terms, columns), most telling first; ``contributions`` maps a feature (class,
    term or column) to its share of the drift."""

    family: str
    p_value: float
    window_size: int
    coefficient: float
    statistics: dict[str, float] = field(default_factory=dict)
    explanation: list[dict[str, Any]] = field(default_factory=list)
    contributions: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "family": self.family,
            "p_value": self.p_value,
            "window_size": self.window_size,
            "coefficient": self.coefficient,
            "statistics": dict(self.statistics),
            "explanation": list(self.explanation),
            "contributions": dict(self.contributions),
        }


def bonferroni(p_values: list[float]) -> float:
    """The family's p-value: the smallest one times how many were tried, at most 1."""
    if not p_values:
        return 1.0
    return float(min(1.0, min(p_values) * len(p_values)))
