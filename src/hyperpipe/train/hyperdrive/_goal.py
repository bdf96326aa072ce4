"""``PrimaryMetricGoal``: whether a larger or a smaller primary metric is better."""

from __future__ import annotations

import enum

from hyperpipe.exceptions import UserErrorException

__all__ = ["PrimaryMetricGoal"]


class PrimaryMetricGoal(enum.Enum):
    """Whether the primary metric is to be maximized or minimized, as in SDK v1.

    The values are SDK v1's (``"MAXIMIZE"``, ``"MINIMIZE"``); ``HyperDriveConfig`` stores
    ``goal.name.lower()``.

    Example:
        >>> PrimaryMetricGoal.from_str("maximize") is PrimaryMetricGoal.MAXIMIZE
        True
    """

    MAXIMIZE = "MAXIMIZE"
    MINIMIZE = "MINIMIZE"

    @staticmethod
    def from_str(goal: str) -> PrimaryMetricGoal:
        """The goal named by ``goal``, case-insensitively (``"maximize"``, ``"MINIMIZE"``...).

        Raises:
            UserErrorException: ``goal`` names neither goal.
        """
        if isinstance(goal, str):
            for member in PrimaryMetricGoal:
                if goal.strip().lower() == member.name.lower():
                    return member
        raise UserErrorException(
            f"The primary metric goal must be either 'maximize' or 'minimize', got {goal!r}; "
            "use PrimaryMetricGoal.MAXIMIZE or PrimaryMetricGoal.MINIMIZE"
        )

    @property
    def is_maximize(self) -> bool:
        """True for ``MAXIMIZE``."""
        return self is PrimaryMetricGoal.MAXIMIZE


def as_goal(goal: PrimaryMetricGoal | str) -> PrimaryMetricGoal:
    """``goal`` as a :class:`PrimaryMetricGoal`; strings are read with ``from_str``."""
    if isinstance(goal, PrimaryMetricGoal):
        return goal
    return PrimaryMetricGoal.from_str(goal)
