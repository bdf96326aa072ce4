"""Early-termination policies: pure judgements over the primary metric's stored history.

Each policy has SDK v1's constructor, checks and ``to_json()``, plus one method the driver calls::

    policy.should_stop(trial_id, histories, goal, first_batch=...) -> bool

``histories`` maps every trial of the sweep (running and ended) to the primary metric values it
has logged, in order. A trial's *interval* ``k`` is the number of values it has logged: SDK v1
counts "each time the training script logs the primary metric" as one interval. A policy is
applied at interval ``k`` only when ``k % evaluation_interval == 0`` and
``k >= delay_evaluation`` ("every multiple of evaluation_interval that is greater than or equal to
delay_evaluation"); at any other interval ``should_stop`` is False.

SDK v1's service never stopped the trials of the first concurrent batch: "we wouldn't have a
previous best run for comparison" (MicrosoftDocs/azure-docs issue 29518). Pass their ids as
``first_batch`` (the first ``max_concurrent_runs`` trials launched) to keep that behaviour.

The judgements do no I/O and keep no state: the same inputs give the same answer.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any, ClassVar

from hyperpipe._surface import SdkV1Surface
from hyperpipe.exceptions import UserErrorException
from hyperpipe.train.hyperdrive._goal import PrimaryMetricGoal, as_goal

__all__ = [
    "BanditPolicy",
    "EarlyTerminationPolicy",
    "MedianStoppingPolicy",
    "NoTerminationPolicy",
    "TruncationSelectionPolicy",
]

Histories = Mapping[Any, Sequence[float]]


class EarlyTerminationPolicy(SdkV1Surface):
    """Base class of the policies: SDK v1's ``name``/``properties`` and the judgement."""

    POLICY_NAME: ClassVar[str] = ""

    def __init__(self, name: str, properties: dict[str, Any] | None = None) -> None:
        self._name = name
        self._properties = properties

    def to_json(self) -> dict[str, Any]:
        """SDK v1's description: ``{"name"[, "properties"]}``."""
        policy: dict[str, Any] = {"name": self._name}
        if self._properties is not None:
            policy["properties"] = dict(self._properties)
        return policy

    def _to_json(self) -> dict[str, Any]:
        """The constructor's arguments, for :func:`~._serialize.policy_from_json`."""
        return {}

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        assert isinstance(other, EarlyTerminationPolicy)
        return self._to_json() == other._to_json()

    def __hash__(self) -> int:
        return hash((type(self).__name__, repr(self._to_json())))

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self._to_json().items())
        return f"{type(self).__name__}({args})"

    def should_stop(
        self,
        trial_id: Any,
        histories: Histories,
        goal: PrimaryMetricGoal | str,
        *,
        first_batch: Collection[Any] = (),
        interval: int | None = None,
        **future_kwargs: Any,
    ) -> bool:
        """Whether ``trial_id`` should be cancelled now.

        Args:
            trial_id: The trial judged; a key of ``histories``.
            histories: Every trial's logged primary metric values, in logging order (the trials
                still running and those that ended).
            goal: ``PrimaryMetricGoal`` (or ``"maximize"``/``"minimize"``).
            first_batch: Ids of the trials of the first concurrent batch; never stopped.
            interval: The interval to judge the trial at (default: the number of values it has
                logged, i.e. its latest report). A driver that may miss reports can pass each
                new interval in turn.
            **future_kwargs: Ignored; lets later versions pass more facts.

        Returns:
            True to cancel the trial.
        """
        del future_kwargs
        history = histories.get(trial_id, ())
        n = len(history) if interval is None else interval
        if trial_id in first_batch or n < 1 or n > len(history) or not self._applies_at(n):
            return False
        return self._judge(trial_id, histories, as_goal(goal), n)

    def trials_to_stop(
        self,
        trial_ids: Collection[Any],
        histories: Histories,
        goal: PrimaryMetricGoal | str,
        *,
        first_batch: Collection[Any] = (),
        **future_kwargs: Any,
    ) -> set[Any]:
        """The trials among ``trial_ids`` (the running ones) that :meth:`should_stop` cancels."""
        return {
            t
            for t in trial_ids
            if self.should_stop(t, histories, goal, first_batch=first_batch, **future_kwargs)
        }

    def _applies_at(self, n: int) -> bool:
        return False

    def _judge(self, trial_id: Any, histories: Histories, goal: PrimaryMetricGoal, n: int) -> bool:
        return False


class _IntervalPolicy(EarlyTerminationPolicy):
    """A policy applied at SDK v1's evaluation intervals."""

    def __init__(self, name: str, evaluation_interval: int, delay_evaluation: int) -> None:
        _check_int(type(self).__name__, "evaluation_interval", evaluation_interval, minimum=1)
        _check_int(type(self).__name__, "delay_evaluation", delay_evaluation, minimum=0)
        self._evaluation_interval = evaluation_interval
        self._delay_evaluation = delay_evaluation
        super().__init__(name, self._properties_dict())

    @property
    def evaluation_interval(self) -> int:
        """How often the policy is applied: every this many logged values."""
        return self._evaluation_interval

    @property
    def delay_evaluation(self) -> int:
        """The policy is first applied at the first multiple of the interval >= this."""
        return self._delay_evaluation

    def _properties_dict(self) -> dict[str, Any]:
        return {
            "evaluation_interval": self._evaluation_interval,
            "delay_evaluation": self._delay_evaluation,
        }

    def _applies_at(self, n: int) -> bool:
        return n % self._evaluation_interval == 0 and n >= self._delay_evaluation


class BanditPolicy(_IntervalPolicy):
    """Cancel a trial whose best value is not within the slack of the best value of any trial.

    At an applied interval, ``best`` is the best value any trial has logged so far. The judged
    trial's best value up to that interval, ``run_best``, is out of the slack when

    ============  ==================================  ===============================
    goal          ``slack_factor``                     ``slack_amount``
    ============  ==================================  ===============================
    maximize      ``run_best < best / (1 + factor)``  ``run_best < best - amount``
    minimize      ``run_best > best * (1 + factor)``  ``run_best > best + amount``
    ============  ==================================  ===============================

    (SDK v1's how-to: with a best of 0.8 and ``slack_factor=0.2`` the cut-off is 0.667.) A trial
    holding the best value is never cancelled, whatever its sign.

    Exactly one of ``slack_factor`` and ``slack_amount`` is set. As in SDK v1 the check goes by
    truthiness: ``slack_factor=0`` with ``slack_amount=None`` is accepted (and stored as
    ``slack_amount: None``); it then cancels every trial behind the best.

    Args:
        evaluation_interval: Apply the policy every this many logged values (int >= 1).
        slack_factor: The allowed distance from the best trial, as a ratio.
        slack_amount: The allowed distance from the best trial, as an absolute amount.
        delay_evaluation: Apply it first at the first multiple of the interval >= this (int).

    Example:
        >>> policy = BanditPolicy(slack_factor=0.2)
        >>> policy.should_stop("b", {"a": [0.8], "b": [0.6]}, "maximize")
        True
    """

    POLICY_NAME = "Bandit"

    def __init__(
        self,
        evaluation_interval: int = 1,
        slack_factor: float | None = None,
        slack_amount: float | None = None,
        delay_evaluation: int = 0,
    ) -> None:
        if (slack_factor is None and slack_amount is None) or (slack_factor and slack_amount):
            raise UserErrorException(
                "Bandit termination policy expects exactly one of slack factor or slack amount to "
                f"be set, got slack_factor={slack_factor!r}, slack_amount={slack_amount!r}; e.g. "
                "BanditPolicy(slack_factor=0.1) or BanditPolicy(slack_amount=0.05)"
            )
        for name, value in (("slack_factor", slack_factor), ("slack_amount", slack_amount)):
            if value is not None and (
                not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0
            ):
                raise UserErrorException(
                    f"BanditPolicy expects {name} to be a non-negative number, got {value!r}"
                )
        self._slack_factor = slack_factor
        self._slack_amount = slack_amount
        super().__init__(self.POLICY_NAME, evaluation_interval, delay_evaluation)

    @property
    def slack_factor(self) -> float | None:
        """The allowed distance from the best trial, as a ratio."""
        return self._slack_factor

    @property
    def slack_amount(self) -> float | None:
        """The allowed distance from the best trial, as an absolute amount."""
        return self._slack_amount

    def _properties_dict(self) -> dict[str, Any]:
        properties = super()._properties_dict()
        if self._slack_factor:
            properties["slack_factor"] = self._slack_factor
        else:
            properties["slack_amount"] = self._slack_amount
        return properties

    def _to_json(self) -> dict[str, Any]:
        return {
            "evaluation_interval": self._evaluation_interval,
            "slack_factor": self._slack_factor,
            "slack_amount": self._slack_amount,
            "delay_evaluation": self._delay_evaluation,
        }

    def _judge(self, trial_id: Any, histories: Histories, goal: PrimaryMetricGoal, n: int) -> bool:
        maximize = goal is PrimaryMetricGoal.MAXIMIZE
        pick = max if maximize else min
        run_best = pick(histories[trial_id][:n])
        everything = [v for values in histories.values() for v in values]
        best = pick(everything)
        if run_best == best:
            return False
        if self._slack_factor or self._slack_amount is None:
            factor = float(self._slack_factor or 0.0)
            return run_best < best / (1 + factor) if maximize else run_best > best * (1 + factor)
        amount = float(self._slack_amount)
        return run_best < best - amount if maximize else run_best > best + amount


class MedianStoppingPolicy(_IntervalPolicy):
    """Cancel a trial whose best value is worse than the median of the trials' running averages.

    At an applied interval ``N``: every trial that has logged at least ``N`` values has a
    running average over its values ``1..N``; the judged trial is cancelled when its best value
    up to ``N`` is worse than the median of those averages (SDK v1's rule, after Google Vizier).

    SDK v1's docs call ``evaluation_interval=1, delay_evaluation=5`` a conservative choice that
    saves about 25-35 % without loss; the default delay is SDK v1's, 0.

    Args:
        evaluation_interval: Apply the policy every this many logged values (int >= 1).
        delay_evaluation: Apply it first at the first multiple of the interval >= this (int).
    """

    POLICY_NAME = "MedianStopping"

    def __init__(self, evaluation_interval: int = 1, delay_evaluation: int = 0) -> None:
        super().__init__(self.POLICY_NAME, evaluation_interval, delay_evaluation)

    def _to_json(self) -> dict[str, Any]:
        return {
            "evaluation_interval": self._evaluation_interval,
            "delay_evaluation": self._delay_evaluation,
        }

    def _judge(self, trial_id: Any, histories: Histories, goal: PrimaryMetricGoal, n: int) -> bool:
        maximize = goal is PrimaryMetricGoal.MAXIMIZE
        averages = [sum(values[:n]) / n for values in histories.values() if len(values) >= n]
        import statistics  # loads decimal and fractions: only where a policy judges

        median = statistics.median(averages)
        run_best = (max if maximize else min)(histories[trial_id][:n])
        return run_best < median if maximize else run_best > median


class TruncationSelectionPolicy(_IntervalPolicy):
    """Cancel the trials ranked in the lowest ``truncation_percentage`` at an interval.

    At an applied interval ``N``, the trials that have logged at least ``N`` values (finished
    ones included: SDK v1 hard-codes ``exclude_finished_jobs=False``) are ranked by their value
    *at* interval ``N``, so a young trial is compared with older ones at the same point of
    training. The lowest ``floor(count * truncation_percentage / 100)`` are cancelled; a trial
    tied with one outside that group is kept.

    Args:
        truncation_percentage: The percentage of trials to cancel at each applied interval, an
            int from 1 to 99.
        evaluation_interval: Apply the policy every this many logged values (int >= 1).
        delay_evaluation: Apply it first at the first multiple of the interval >= this (int).
    """

    POLICY_NAME = "TruncationSelection"

    def __init__(
        self, truncation_percentage: int, evaluation_interval: int = 1, delay_evaluation: int = 0
    ) -> None:
        _check_int("TruncationSelectionPolicy", "truncation_percentage", truncation_percentage)
        if not 1 <= truncation_percentage <= 99:
            raise UserErrorException(
                "TruncationSelectionPolicy expects truncation_percentage to be between 1 and 99 "
                f"(the share of trials to cancel at each interval), got {truncation_percentage!r}"
            )
        self._truncation_percentage = truncation_percentage
        super().__init__(self.POLICY_NAME, evaluation_interval, delay_evaluation)

    @property
    def truncation_percentage(self) -> int:
        """The percentage of trials cancelled at each applied interval."""
        return self._truncation_percentage

    def _properties_dict(self) -> dict[str, Any]:
        return {
            **super()._properties_dict(),
            "truncation_percentage": self._truncation_percentage,
            "exclude_finished_jobs": False,
        }

    def _to_json(self) -> dict[str, Any]:
        return {
            "truncation_percentage": self._truncation_percentage,
            "evaluation_interval": self._evaluation_interval,
            "delay_evaluation": self._delay_evaluation,
        }

    def _judge(self, trial_id: Any, histories: Histories, goal: PrimaryMetricGoal, n: int) -> bool:
        at_n = [values[n - 1] for values in histories.values() if len(values) >= n]
        cut = len(at_n) * self._truncation_percentage // 100
        if cut == 0:
            return False
        mine = histories[trial_id][n - 1]
        if goal is PrimaryMetricGoal.MAXIMIZE:
            better = sum(v > mine for v in at_n)
        else:
            better = sum(v < mine for v in at_n)
        # Within the lowest `cut` whichever way ties are broken.
        return better >= len(at_n) - cut


class NoTerminationPolicy(EarlyTerminationPolicy):
    """No early termination: every trial runs to its end (``policy=None`` means this)."""

    POLICY_NAME = "Default"

    def __init__(self) -> None:
        super().__init__(self.POLICY_NAME)


def _check_int(owner: str, name: str, value: Any, *, minimum: int | None = None) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        raise UserErrorException(
            f"{owner} expects {name} to be an int, got {value!r} ({type(value).__name__})"
        )
    if minimum is not None and value < minimum:
        raise UserErrorException(f"{owner} expects {name} to be an int >= {minimum}, got {value!r}")
