"""Parameter expressions: SDK v1's return shapes, checks and messages, and the exact math."""

from __future__ import annotations

import math
import random
import re
import statistics
from collections import Counter

import numpy as np
import pytest

from hyperpipe.exceptions import UserErrorException
from hyperpipe.train.hyperdrive import (
    PrimaryMetricGoal,
    choice,
    lognormal,
    loguniform,
    normal,
    qlognormal,
    qloguniform,
    qnormal,
    quniform,
    randint,
    uniform,
)
from hyperpipe.train.hyperdrive import parameter_expressions as pe
from hyperpipe.train.hyperdrive._space import parse_space

N = 10_000


def draws(expression, n=N, rng=None):
    (parameter,) = parse_space({"x": expression}, owner="test")
    rng = rng or random.Random(1234)
    return [parameter.sample(rng) for _ in range(n)]


# -- shapes ---------------------------------------------------------------------------------------


def test_every_expression_returns_sdk_v1_list_shape():
    assert choice(16, 32, 64) == ["choice", [[16, 32, 64]]]
    assert choice([16, 32]) == ["choice", [[16, 32]]]
    assert choice(range(3)) == ["choice", [[0, 1, 2]]]
    assert choice("relu") == ["choice", [["relu"]]]
    assert randint(5) == ["randint", [5]]
    assert uniform(0.05, 0.1) == ["uniform", [0.05, 0.1]]
    assert quniform(0, 100, 5) == ["quniform", [0, 100, 5]]
    assert loguniform(-6, -1) == ["loguniform", [-6, -1]]
    assert qloguniform(0, 5, 2.0) == ["qloguniform", [0, 5, 2.0]]
    assert normal(10, 3) == ["normal", [10, 3]]
    assert qnormal(10, 3, 2) == ["qnormal", [10, 3, 2]]
    assert lognormal(0, 1) == ["lognormal", [0, 1]]
    assert qlognormal(0, 1, 1) == ["qlognormal", [0, 1, 1]]


def test_str_matches_sdk_v1():
    assert str(uniform(0.05, 0.1)) == "['uniform', [0.05, 0.1]]"
    assert str(choice(1, 2)) == "['choice', [[1, 2]]]"


def test_public_module_lists_the_ten_expressions():
    assert sorted(pe.__all__) == sorted(
        [
            "choice",
            "randint",
            "uniform",
            "quniform",
            "loguniform",
            "qloguniform",
            "normal",
            "qnormal",
            "lognormal",
            "qlognormal",
        ]
    )


# -- checks ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: choice(), "Please specify an input for choice"),
        (lambda: choice([]), "non-empty single list"),
        (lambda: choice(range(0)), "non-empty single range()"),
        (lambda: choice([1, 2], 3), "got choice([1, 2], 3)"),
        (
            lambda: randint(0),
            "randint expects a positive int as input (the exclusive upper bound), got upper=0",
        ),
        (lambda: randint(2.0), "got upper=2.0"),
        (lambda: uniform(0.1, 0.05), "min_value < max_value, got min_value=0.1, max_value=0.05"),
        (lambda: uniform(1, 1), "use choice() for a single value"),
        (lambda: uniform("0", 1), "uniform expects min_value to be a float or an int"),
        (lambda: uniform(0, math.inf), "finite number"),
        (lambda: uniform(True, 2), "got min_value=True (bool)"),
        (lambda: quniform(10, 0, 1), "swap them: quniform(0, 10, q)"),
        (lambda: quniform(0, 10, 0.5), "quniform expects q to be an int"),
        (lambda: quniform(0, 10, 0), "q to be a positive int, got q=0"),
        (lambda: qloguniform(0, 3, -1), "q to be a positive int, got q=-1"),
        (lambda: loguniform(2, 1), "loguniform expects min_value <= max_value"),
        (lambda: normal(0, -1), "normal expects sigma to be non negative"),
        (lambda: qnormal(0, 1, 0), "qnormal expects q to be a positive int"),
        (lambda: lognormal(0, -0.5), "sigma=-0.5"),
        (lambda: qlognormal(0, 1, 1.5), "q to be an int"),
    ],
)
def test_bad_arguments_raise_user_error_with_the_value_and_fix(call, message):
    with pytest.raises(UserErrorException, match=re.escape(message)):
        call()


def test_uniform_error_says_how_to_fix():
    with pytest.raises(ValueError, match=re.escape("swap them: uniform(0.05, 0.1)")):
        uniform(0.1, 0.05)


def test_edge_values_sdk_v1_accepts():
    assert loguniform(1, 1) == ["loguniform", [1, 1]]
    assert normal(3, 0) == ["normal", [3, 0]]
    assert quniform(0, 10, 2.0) == ["quniform", [0, 10, 2.0]]
    assert draws(normal(3, 0), n=5) == [3, 3, 3, 3, 3]


# -- math -----------------------------------------------------------------------------------------


def test_choice_is_uniform_over_the_options():
    counts = Counter(draws(choice("a", "b", "c", "d")))
    assert set(counts) == {"a", "b", "c", "d"}
    assert all(abs(c / N - 0.25) < 0.02 for c in counts.values())


def test_randint_is_zero_to_upper_exclusive():
    values = draws(randint(5))
    assert set(values) == {0, 1, 2, 3, 4}
    assert all(type(v) is int for v in values)


def test_uniform_bounds_and_mean():
    values = draws(uniform(2, 5))
    assert 2 <= min(values) < 2.01 and 4.99 < max(values) <= 5
    assert statistics.mean(values) == pytest.approx(3.5, abs=0.05)


def test_quniform_rounds_to_q_with_halves_to_even():
    values = draws(quniform(0, 10, 4))
    # U(0, 10) / 4 lies in [0, 2.5]: round() gives 0 on [0, .5], 1 on (.5, 1.5), 2 on [1.5, 2.5].
    counts = Counter(values)
    assert set(counts) == {0, 4, 8}
    assert all(type(v) is int for v in values)
    assert counts[0] / N == pytest.approx(0.2, abs=0.02)
    assert counts[4] / N == pytest.approx(0.4, abs=0.02)
    assert counts[8] / N == pytest.approx(0.4, abs=0.02)


def test_quniform_with_float_q_gives_floats():
    values = draws(quniform(0, 10, 2.0), n=100)
    assert all(type(v) is float and v % 2 == 0 for v in values)


def test_loguniform_bounds_are_exponents():
    values = draws(loguniform(-6, -1))
    assert math.exp(-6) <= min(values) < 0.003 and 0.36 < max(values) <= math.exp(-1)
    logs = [math.log(v) for v in values]
    assert statistics.mean(logs) == pytest.approx(-3.5, abs=0.05)
    # Log-uniform: as many values in [e^-6, e^-3.5] as in [e^-3.5, e^-1].
    assert sum(v < math.exp(-3.5) for v in values) / N == pytest.approx(0.5, abs=0.02)


def test_qloguniform_quantizes_exp_of_uniform():
    values = draws(qloguniform(0, 3, 1))
    assert set(values) <= set(range(1, 21))  # round(e^0)=1 .. round(e^3)=20
    assert min(values) == 1 and max(values) == 20


def test_normal_mean_and_sigma():
    values = draws(normal(10, 3))
    assert statistics.mean(values) == pytest.approx(10, abs=0.1)
    assert statistics.stdev(values) == pytest.approx(3, abs=0.1)


def test_qnormal_is_a_multiple_of_q():
    values = draws(qnormal(10, 3, 2))
    assert all(v % 2 == 0 for v in values)
    assert statistics.mean(values) == pytest.approx(10, abs=0.1)


def test_lognormal_is_exp_of_normal():
    values = draws(lognormal(0, 0.5))
    assert min(values) > 0
    logs = [math.log(v) for v in values]
    assert statistics.mean(logs) == pytest.approx(0, abs=0.02)
    assert statistics.stdev(logs) == pytest.approx(0.5, abs=0.02)


def test_qlognormal_quantizes_exp_of_normal():
    values = draws(qlognormal(2, 0.5, 1))
    assert all(type(v) is int and v >= 0 for v in values)
    assert statistics.median(values) == pytest.approx(math.exp(2), abs=0.6)


def test_numpy_generators_draw_the_same_distributions():
    values = draws(uniform(2, 5), rng=np.random.default_rng(3))
    assert statistics.mean(values) == pytest.approx(3.5, abs=0.05)
    assert set(draws(randint(3), n=300, rng=np.random.RandomState(3))) == {0, 1, 2}
    assert statistics.mean(draws(normal(1, 1), rng=np.random.default_rng(3))) == pytest.approx(
        1, abs=0.05
    )


# -- goal -----------------------------------------------------------------------------------------


def test_primary_metric_goal_values_and_from_str():
    assert PrimaryMetricGoal.MAXIMIZE.value == "MAXIMIZE"
    assert PrimaryMetricGoal.MINIMIZE.value == "MINIMIZE"
    assert PrimaryMetricGoal.from_str("Minimize") is PrimaryMetricGoal.MINIMIZE
    with pytest.raises(UserErrorException, match="either 'maximize' or 'minimize', got 'up'"):
        PrimaryMetricGoal.from_str("up")
