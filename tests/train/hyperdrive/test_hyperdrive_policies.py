"""Early-termination policies: SDK v1's checks and JSON, and each judgement on hand-made histories."""

from __future__ import annotations

import re

import pytest

from hyperpipe.exceptions import UserErrorException
from hyperpipe.train.hyperdrive import (
    BanditPolicy,
    MedianStoppingPolicy,
    NoTerminationPolicy,
    PrimaryMetricGoal,
    TruncationSelectionPolicy,
)
from hyperpipe.train.hyperdrive._serialize import policy_from_json

MAX, MIN = PrimaryMetricGoal.MAXIMIZE, PrimaryMetricGoal.MINIMIZE


# -- construction ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs", [{}, {"slack_factor": 0.1, "slack_amount": 0.2}, {"slack_amount": None}]
)
def test_bandit_needs_exactly_one_slack(kwargs):
    with pytest.raises(
        UserErrorException, match="exactly one of slack factor or slack amount to be set"
    ):
        BanditPolicy(**kwargs)


def test_bandit_checks_slack_by_truthiness_like_sdk_v1():
    policy = BanditPolicy(slack_factor=0)
    assert policy.to_json() == {
        "name": "Bandit",
        "properties": {"evaluation_interval": 1, "delay_evaluation": 0, "slack_amount": None},
    }
    assert BanditPolicy(slack_factor=0, slack_amount=0.2).to_json()["properties"] == {
        "evaluation_interval": 1,
        "delay_evaluation": 0,
        "slack_amount": 0.2,
    }


def test_policies_to_json_match_sdk_v1():
    assert BanditPolicy(evaluation_interval=2, slack_factor=0.1, delay_evaluation=5).to_json() == {
        "name": "Bandit",
        "properties": {"evaluation_interval": 2, "delay_evaluation": 5, "slack_factor": 0.1},
    }
    assert MedianStoppingPolicy().to_json() == {
        "name": "MedianStopping",
        "properties": {"evaluation_interval": 1, "delay_evaluation": 0},
    }
    assert TruncationSelectionPolicy(20).to_json() == {
        "name": "TruncationSelection",
        "properties": {
            "evaluation_interval": 1,
            "delay_evaluation": 0,
            "truncation_percentage": 20,
            "exclude_finished_jobs": False,
        },
    }
    assert NoTerminationPolicy().to_json() == {"name": "Default"}


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (
            lambda: BanditPolicy(evaluation_interval=1.5, slack_factor=0.1),
            "evaluation_interval to be an int, got 1.5",
        ),
        (
            lambda: BanditPolicy(slack_factor=0.1, delay_evaluation="5"),
            "delay_evaluation to be an int, got '5'",
        ),
        (lambda: BanditPolicy(slack_amount=-0.1), "slack_amount to be a non-negative number"),
        (
            lambda: MedianStoppingPolicy(evaluation_interval=0),
            "evaluation_interval to be an int >= 1",
        ),
        (lambda: MedianStoppingPolicy(delay_evaluation=-1), "delay_evaluation to be an int >= 0"),
        (
            lambda: TruncationSelectionPolicy(0),
            "between 1 and 99 (the share of trials to cancel at each interval), got 0",
        ),
        (lambda: TruncationSelectionPolicy(100), "got 100"),
        (lambda: TruncationSelectionPolicy(50.0), "truncation_percentage to be an int, got 50.0"),
    ],
)
def test_bad_policy_arguments(make, message):
    with pytest.raises(UserErrorException, match=re.escape(message)):
        make()


def test_policies_round_trip_through_both_json_shapes():
    for policy in (
        BanditPolicy(evaluation_interval=2, slack_amount=0.05, delay_evaluation=3),
        MedianStoppingPolicy(1, 5),
        TruncationSelectionPolicy(30, 2, 4),
        NoTerminationPolicy(),
    ):
        assert policy_from_json({"type": type(policy).__name__, **policy._to_json()}) == policy
        assert policy_from_json(policy.to_json()) == policy
    with pytest.raises(UserErrorException, match="unknown early-termination policy 'Hyperband'"):
        policy_from_json({"name": "Hyperband"})


# -- intervals ------------------------------------------------------------------------------------


def strict_bandit(**kwargs):
    """A Bandit that cancels anything behind the best, to test when it applies."""
    return BanditPolicy(slack_amount=0.0001, **kwargs)


def test_applied_only_at_multiples_of_the_interval_at_or_after_the_delay():
    policy = strict_bandit(evaluation_interval=2, delay_evaluation=3)
    best = {"best": [1.0] * 8}
    judged = {k: policy.should_stop("t", {**best, "t": [0.0] * k}, MAX) for k in range(1, 9)}
    assert judged == {1: False, 2: False, 3: False, 4: True, 5: False, 6: True, 7: False, 8: True}


def test_the_delay_itself_is_an_applied_interval():
    policy = strict_bandit(evaluation_interval=2, delay_evaluation=4)
    assert policy.should_stop("t", {"best": [1.0], "t": [0.0] * 4}, MAX)
    assert not policy.should_stop("t", {"best": [1.0], "t": [0.0] * 2}, MAX)


def test_interval_argument_judges_an_earlier_report():
    policy = strict_bandit(evaluation_interval=2)
    histories = {"best": [1.0], "t": [0.0, 0.0, 0.0]}
    assert not policy.should_stop("t", histories, MAX)  # latest report is the 3rd: not applied
    assert policy.should_stop("t", histories, MAX, interval=2)
    assert not policy.should_stop("t", histories, MAX, interval=4)  # not reported yet


def test_first_batch_and_trials_without_reports_are_never_stopped():
    policy = strict_bandit()
    histories = {"best": [1.0], "t": [0.0], "new": []}
    assert not policy.should_stop("t", histories, MAX, first_batch={"best", "t"})
    assert not policy.should_stop("new", histories, MAX)
    assert not policy.should_stop("unknown", histories, MAX)
    assert policy.trials_to_stop(["t", "new"], histories, MAX) == {"t"}


def test_extra_keyword_arguments_are_accepted_for_the_future():
    assert not NoTerminationPolicy().should_stop("t", {"t": [0.0]}, MAX, running=["t"], now=1.0)
    assert strict_bandit().should_stop("t", {"a": [1.0], "t": [0.0]}, "maximize", elapsed_s=3)


# -- Bandit ---------------------------------------------------------------------------------------


def test_bandit_slack_factor_maximize_matches_the_docs_example():
    # Best 0.8 with slack_factor 0.2: the cut-off is 0.8 / 1.2 = 0.667.
    policy = BanditPolicy(slack_factor=0.2)
    assert policy.should_stop("t", {"best": [0.8], "t": [0.66]}, MAX)
    assert not policy.should_stop("t", {"best": [0.8], "t": [0.67]}, MAX)


def test_bandit_slack_amount_maximize():
    policy = BanditPolicy(slack_amount=0.2)
    assert policy.should_stop("t", {"best": [0.8], "t": [0.59]}, MAX)
    assert not policy.should_stop("t", {"best": [0.8], "t": [0.61]}, MAX)


def test_bandit_minimize_is_the_mirror_image():
    factor = BanditPolicy(slack_factor=0.2)  # best 0.5: cut-off 0.6
    assert factor.should_stop("t", {"best": [0.5], "t": [0.61]}, MIN)
    assert not factor.should_stop("t", {"best": [0.5], "t": [0.59]}, MIN)
    amount = BanditPolicy(slack_amount=0.1)  # best 0.5: cut-off 0.6
    assert amount.should_stop("t", {"best": [0.5], "t": [0.61]}, MIN)
    assert not amount.should_stop("t", {"best": [0.5], "t": [0.59]}, "minimize")


def test_bandit_judges_the_trials_best_value_so_far():
    policy = BanditPolicy(slack_factor=0.1)  # best 0.95: cut-off 0.864
    assert not policy.should_stop("t", {"best": [0.95], "t": [0.9, 0.1]}, MAX)
    assert policy.should_stop("t", {"best": [0.95], "t": [0.1, 0.8]}, MAX)


def test_bandit_compares_with_the_best_value_any_trial_logged():
    policy = BanditPolicy(slack_amount=0.1)
    histories = {"old": [0.5, 0.7, 0.95], "t": [0.8]}
    assert policy.should_stop("t", histories, MAX)


def test_bandit_never_stops_the_best_trial_even_with_negative_metrics():
    policy = BanditPolicy(slack_factor=0.2)
    assert not policy.should_stop("t", {"other": [-3.0], "t": [-1.0]}, MAX)
    assert not policy.should_stop("t", {"t": [0.3]}, MAX)  # alone: no baseline


# -- MedianStopping -------------------------------------------------------------------------------


def test_median_stops_a_trial_whose_best_is_below_the_median_of_running_averages():
    histories = {"a": [0.5, 0.6, 0.7], "b": [0.4, 0.5, 0.6], "c": [0.1, 0.1], "d": [0.9]}
    # At interval 2 the running averages over 1..2 are a 0.55, b 0.45, c 0.1; d has one report.
    policy = MedianStoppingPolicy()
    assert policy.should_stop("c", histories, MAX)
    assert not policy.should_stop("b", {**histories, "b": [0.4, 0.5]}, MAX)  # best 0.5 >= 0.45


def test_median_minimize():
    histories = {"a": [0.5, 0.4], "b": [0.6, 0.5], "c": [0.9, 0.8]}
    # Running averages at 2: a 0.45, b 0.55, c 0.85 -> median 0.55; c's best 0.8 is worse.
    policy = MedianStoppingPolicy()
    assert policy.should_stop("c", histories, MIN)
    assert not policy.should_stop("b", histories, MIN)


def test_median_respects_its_delay():
    histories = {"a": [0.9] * 4, "b": [0.9] * 4, "c": [0.1] * 4}
    assert not MedianStoppingPolicy(delay_evaluation=5).should_stop("c", histories, MAX)
    assert MedianStoppingPolicy(delay_evaluation=4).should_stop("c", histories, MAX)


# -- TruncationSelection --------------------------------------------------------------------------


def test_truncation_cancels_the_lowest_percentage_at_the_interval():
    histories = {f"t{i}": [i / 10] for i in range(1, 11)}  # 0.1 .. 1.0
    policy = TruncationSelectionPolicy(20)  # 10 trials: the lowest 2
    stopped = policy.trials_to_stop(list(histories), histories, MAX)
    assert stopped == {"t1", "t2"}
    assert policy.trials_to_stop(list(histories), histories, MIN) == {"t9", "t10"}


def test_truncation_ranks_by_the_value_at_the_interval_not_the_best():
    policy = TruncationSelectionPolicy(50)
    histories = {"old": [0.1, 0.9, 0.9], "young": [0.5, 0.2]}
    # At interval 2: old 0.9, young 0.2 -> young is the lower half, even though its best is 0.5.
    assert policy.should_stop("young", histories, MAX)
    # At interval 1 the young trial (0.5) beats the old one (0.1).
    assert not policy.should_stop("young", {"old": [0.1, 0.9], "young": [0.5]}, MAX)


def test_truncation_keeps_ties_and_needs_enough_trials():
    policy = TruncationSelectionPolicy(25)
    tied = {"a": [0.5], "b": [0.5], "c": [0.5], "d": [0.5]}
    assert policy.trials_to_stop(list(tied), tied, MAX) == set()
    few = {"a": [0.9], "b": [0.1], "c": [0.5]}  # 3 x 25 % rounds down to 0
    assert policy.trials_to_stop(list(few), few, MAX) == set()


def test_no_termination_never_stops():
    histories = {"a": [1.0], "t": [0.0]}
    assert not NoTerminationPolicy().should_stop("t", histories, MAX)
