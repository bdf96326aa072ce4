"""Sampling classes: SDK v1's checks and JSON, and the ask/tell interface the driver uses."""

from __future__ import annotations

import itertools
import math
import os
import re
import statistics
import warnings

import pytest

try:
    import optuna
except ImportError:  # the sampling extra; CI must not lose these tests silently
    if os.environ.get("CI", "").strip().lower() in ("true", "1", "yes"):
        raise
    pytest.skip(
        "optuna is not installed: pip install 'hyperpipe[hyperdrive]'", allow_module_level=True
    )

from hyperpipe.exceptions import UserErrorException
from hyperpipe.train.hyperdrive import (
    BayesianParameterSampling,
    GridParameterSampling,
    PrimaryMetricGoal,
    RandomParameterSampling,
    _sampling,
    choice,
    lognormal,
    loguniform,
    normal,
    qloguniform,
    quniform,
    randint,
    uniform,
)
from hyperpipe.train.hyperdrive._sampling import SearchSpaceExhaustedError
from hyperpipe.train.hyperdrive._serialize import (
    policy_from_json,
    sampling_from_json,
)

TrialState = optuna.trial.TrialState
LAB_SPACE = {
    "learning_rate": uniform(1e-5, 1.0),
    "num_epochs": choice(10, 20),
    "batch_size": choice(10, 20, 50, 100, 200, 300, 500, 1000),
    "hidden_size": choice(300, 400),
}


@pytest.fixture(autouse=True)
def _quiet_optuna_and_restore_torch_threads():
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        import torch
    except ImportError:
        yield
        return
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)  # Bayesian studies pin the sampling process to one thread


def run_all(sampling, study, n, value=lambda values: 0.0):
    seen = []
    for _ in range(n):
        trial, values = sampling.ask(study)
        seen.append(values)
        study.tell(trial, value(values))
    return seen


# -- SDK v1 surface -------------------------------------------------------------------------------


def test_to_json_has_sdk_v1_shape_and_names():
    space = {"lr": uniform(0.01, 0.1), "bs": choice(16, 32)}
    assert RandomParameterSampling(space).to_json() == {"name": "RANDOM", "parameter_space": space}
    assert GridParameterSampling({"bs": choice(16, 32)}).to_json()["name"] == "GRID"
    bayes = BayesianParameterSampling(space, properties={"n_startup_trials": 3})
    assert bayes.to_json() == {
        "name": "BayesianOptimization",
        "parameter_space": space,
        "properties": {"n_startup_trials": 3},
    }
    assert RandomParameterSampling(space) == RandomParameterSampling(dict(space))
    assert RandomParameterSampling(space) != GridParameterSampling({"bs": choice(16, 32)})


@pytest.mark.parametrize("space", [None, {}, [("lr", uniform(0, 1))]])
def test_space_must_be_a_non_empty_dict(space):
    with pytest.raises(UserErrorException, match="parameter_space to be a non-empty dict"):
        RandomParameterSampling(space)


def test_space_values_must_be_expressions():
    with pytest.raises(UserErrorException, match=re.escape("parameter 'lr' must be a parameter")):
        RandomParameterSampling({"lr": 0.1})


def test_hand_written_expressions_are_checked_again():
    with pytest.raises(UserErrorException, match=re.escape("parameter 'lr': uniform expects")):
        RandomParameterSampling({"lr": ["uniform", [1, 0]]})


def test_grid_allows_only_choice_and_names_the_key_and_expression():
    with pytest.raises(UserErrorException) as info:
        GridParameterSampling({"bs": choice(8, 16), "lr": uniform(0.01, 0.1)})
    message = str(info.value)
    assert "GridParameterSampling supports only the following distributions: [choice]" in message
    assert "parameter 'lr' is uniform(0.01, 0.1)" in message


@pytest.mark.parametrize(
    ("space", "message"),
    [
        ({"lr": loguniform(-6, -1)}, "[choice, quniform, uniform]; parameter 'lr' is loguniform"),
        ({"x": normal(0, 1)}, "parameter 'x' is normal(0, 1)"),
        ({"x": randint(3)}, "parameter 'x' is randint(3)"),
        ({"x": choice(1, "a")}, "either all or none of the 'choice' values should be 'str'"),
        ({"x": choice([[1, 2], [3]])}, "'choice' values should be 'int', 'string' or 'float'"),
        ({"x": choice(True, False)}, "got True (bool)"),
        ({"x": quniform(0, 10.0, 1)}, "expected quniform arguments to be int"),
        ({"x": quniform(0, 1_000_000, 2)}, "too many discrete points for quniform(0, 1000000, 2)"),
    ],
)
def test_bayesian_space_rules(space, message):
    with pytest.raises(UserErrorException, match=re.escape(message)):
        BayesianParameterSampling(space)


def test_bayesian_rejects_none_space_and_bad_startup():
    with pytest.raises(UserErrorException, match="parameter_space to not be None"):
        BayesianParameterSampling(None)
    with pytest.raises(UserErrorException, match=r"\['n_startup_trials'\] to be an int >= 1"):
        BayesianParameterSampling({"x": uniform(0, 1)}, {"n_startup_trials": 0})


def test_bayesian_accepts_the_labs_space():
    assert BayesianParameterSampling(LAB_SPACE).space_size() is None


def test_bayesian_warns_below_20_runs_per_parameter():
    with pytest.warns(
        UserWarning, match=r"greater than or equal to 20 times .* Recommended value: 80"
    ):
        BayesianParameterSampling(LAB_SPACE).check_budget(79, 4)


def test_bayesian_warns_above_20_concurrent_runs():
    with pytest.warns(UserWarning, match="We recommend using 20 max concurrent runs or fewer"):
        BayesianParameterSampling(LAB_SPACE).check_budget(100, 21)
    with pytest.warns(UserWarning, match="max_concurrent_runs=100"):  # None: all at once
        BayesianParameterSampling(LAB_SPACE).check_budget(100, None)


def test_bayesian_budget_within_advice_is_silent():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        BayesianParameterSampling(LAB_SPACE).check_budget(80, 20)
        RandomParameterSampling(LAB_SPACE).check_budget(2, 50)


# -- to_arguments ---------------------------------------------------------------------------------


def test_to_arguments_adds_dashes_only_to_bare_keys_in_space_order():
    sampling = RandomParameterSampling(
        {"learning_rate": uniform(0, 1), "--batch-size": choice(8), "-x": choice(3)}
    )
    values = {"-x": 3, "--batch-size": 8, "learning_rate": 0.0734}
    assert sampling.to_arguments(values) == [
        "--learning_rate",
        "0.0734",
        "--batch-size",
        "8",
        "-x",
        "3",
    ]


def test_to_arguments_needs_every_key():
    sampling = RandomParameterSampling({"a": choice(1), "b": choice(2)})
    with pytest.raises(UserErrorException, match="no value for parameter 'b'"):
        sampling.to_arguments({"a": 1})


# -- studies --------------------------------------------------------------------------------------


def test_create_study_direction_follows_the_goal():
    sampling = RandomParameterSampling({"x": uniform(0, 1)})
    Direction = optuna.study.StudyDirection
    assert sampling.create_study(PrimaryMetricGoal.MAXIMIZE).direction == Direction.MAXIMIZE
    assert sampling.create_study("minimize").direction == Direction.MINIMIZE
    with pytest.raises(UserErrorException, match="either 'maximize' or 'minimize'"):
        sampling.create_study("best")


def test_grid_enumerates_the_cartesian_product_exactly_once():
    space = {"a": choice(1, 2, 3), "--b": choice("x", "y"), "c": choice(0.5, 1.5)}
    sampling = GridParameterSampling(space)
    assert sampling.space_size() == 12
    study = sampling.create_study("maximize", seed=3)
    seen = run_all(sampling, study, 12)
    points = [tuple(v.values()) for v in seen]
    assert sorted(points, key=repr) == sorted(
        itertools.product([1, 2, 3], ["x", "y"], [0.5, 1.5]), key=repr
    )
    assert [list(v) for v in seen] == [["a", "--b", "c"]] * 12  # space order
    assert sampling.is_exhausted(study)
    with pytest.raises(SearchSpaceExhaustedError, match="all 12 points"):
        sampling.ask(study)


def test_grid_gives_concurrent_trials_different_points():
    sampling = GridParameterSampling({"a": choice(1, 2, 3), "b": choice(1, 2)})
    study = sampling.create_study("maximize", seed=0)
    running = [sampling.ask(study) for _ in range(6)]
    assert len({tuple(v.values()) for _, v in running}) == 6
    assert sampling.is_exhausted(study)
    for trial, _ in running:
        study.tell(trial, 1.0)  # Optuna's GridSampler would raise in study.stop() here


def test_a_large_grid_walked_two_at_a_time_gives_every_point_once():
    # Each ask reads only the trials new since the last one (benchmarks/grid_scaling.py times
    # it); here, every point is still given exactly once across 3000 asks and tells.
    sampling = GridParameterSampling({"a": choice(*range(60)), "b": choice(*range(50))})
    study = sampling.create_study("maximize", seed=4)
    running, points = [], []
    while not sampling.is_exhausted(study):
        trial, values = sampling.ask(study)
        running.append(trial)
        points.append((values["a"], values["b"]))
        if len(running) == 2:
            study.tell(running.pop(0), 1.0)
    assert sorted(points) == list(itertools.product(range(60), range(50)))


def test_grid_order_depends_on_the_seed():
    sampling = GridParameterSampling({"a": choice(*range(10)), "b": choice(*range(10))})
    orders = []
    for seed in (1, 1, 2):
        study = sampling.create_study("maximize", seed=seed)
        orders.append([tuple(v.values()) for v in run_all(sampling, study, 10)])
    assert orders[0] == orders[1] != orders[2]


def test_grid_resumed_from_replayed_trials_visits_only_the_rest():
    space = {"a": choice(1, 2, 3), "b": choice(10, 20)}
    sampling = GridParameterSampling(space)
    first = sampling.create_study("maximize", seed=5)
    done = run_all(sampling, first, 3)
    resumed = sampling.create_study("maximize", seed=5)
    for values in done[:2]:
        sampling.replay(resumed, values, 1.0)
    sampling.replay(resumed, done[2], state="FAIL")
    rest = run_all(sampling, resumed, 3)
    assert {tuple(v.values()) for v in done + rest} == set(itertools.product([1, 2, 3], [10, 20]))
    assert sampling.is_exhausted(resumed)


def test_grid_counts_enqueued_trials_as_their_points():
    sampling = GridParameterSampling({"a": choice(1, 2), "b": choice("u", "v")})
    study = sampling.create_study("maximize", seed=0)
    study.enqueue_trial(sampling.to_optuna_params({"a": 2, "b": "v"}))
    trial, values = sampling.ask(study)
    assert values == {"a": 2, "b": "v"}
    study.tell(trial, 0.0)
    rest = run_all(sampling, study, 3)
    assert {"a": 2, "b": "v"} not in rest
    assert sampling.is_exhausted(study)


def test_random_over_a_discrete_space_never_repeats_and_stops():
    sampling = RandomParameterSampling({"a": choice(1, 2, 3), "n": randint(2)})
    assert sampling.space_size() == 6
    study = sampling.create_study("maximize", seed=11)
    seen = run_all(sampling, study, 6)
    assert len({tuple(v.values()) for v in seen}) == 6
    assert sampling.is_exhausted(study)


def test_random_with_a_seed_is_reproducible():
    sampling = RandomParameterSampling({"lr": uniform(0, 1), "bs": choice(8, 16)})
    a = run_all(sampling, sampling.create_study("maximize", seed=4), 5)
    b = run_all(sampling, sampling.create_study("maximize", seed=4), 5)
    c = run_all(sampling, sampling.create_study("maximize", seed=5), 5)
    assert a == b != c


def test_random_through_optuna_keeps_sdk_v1_distributions():
    sampling = RandomParameterSampling(
        {
            "u": uniform(2, 5),
            "q": quniform(0, 10, 4),
            "lu": loguniform(-6, -1),
            "ql": qloguniform(0, 3, 1),
            "n": normal(10, 3),
            "ln": lognormal(0, 0.5),
            "r": randint(4),
        }
    )
    assert sampling.space_size() is None
    study = sampling.create_study("maximize", seed=0)
    seen = run_all(sampling, study, 1500)
    column = {key: [v[key] for v in seen] for key in seen[0]}
    assert min(column["u"]) >= 2 and max(column["u"]) <= 5
    assert set(column["q"]) == {0, 4, 8}
    assert column["q"].count(0) / 1500 == pytest.approx(0.2, abs=0.04)
    assert math.exp(-6) <= min(column["lu"]) and max(column["lu"]) <= math.exp(-1)
    assert statistics.mean(math.log(v) for v in column["lu"]) == pytest.approx(-3.5, abs=0.1)
    assert set(column["ql"]) <= set(range(1, 21))
    assert statistics.mean(column["n"]) == pytest.approx(10, abs=0.3)
    assert statistics.stdev(column["n"]) == pytest.approx(3, abs=0.3)
    assert statistics.mean(math.log(v) for v in column["ln"]) == pytest.approx(0, abs=0.05)
    assert set(column["r"]) == {0, 1, 2, 3}
    assert not sampling.is_exhausted(study)
    # values_of reads a stored trial back into the values the script got.
    assert sampling.values_of(study.trials[7]) == seen[7]


def test_replay_then_values_of_round_trips():
    sampling = RandomParameterSampling(
        {"lr": loguniform(-5, 0), "bs": choice([8, 16]), "opt": choice({"name": "sgd"}, None)}
    )
    study = sampling.create_study("minimize", seed=0)
    values = {"lr": 0.01, "bs": 16, "opt": {"name": "sgd"}}
    frozen = sampling.replay(study, values, 0.25)
    assert frozen.state == TrialState.COMPLETE and frozen.value == 0.25
    replayed = sampling.values_of(frozen)
    assert replayed["lr"] == pytest.approx(0.01) and replayed["bs"] == 16
    assert replayed["opt"] == {"name": "sgd"}
    with pytest.raises(UserErrorException, match="32 is not one of the options of 'bs'"):
        sampling.replay(study, {**values, "bs": 32}, 0.1)


# -- Bayesian -------------------------------------------------------------------------------------


def test_bayesian_uses_the_gp_sampler_with_torch_on_one_thread():
    torch = pytest.importorskip("torch")
    pytest.importorskip("scipy")
    sampling = BayesianParameterSampling({"x": uniform(0, 1)})
    study = sampling.create_study("maximize", seed=0)
    assert isinstance(study.sampler, optuna.samplers.GPSampler)
    assert torch.get_num_threads() == 1


def test_bayesian_falls_back_to_tpe_without_torch(monkeypatch):
    def missing():
        raise ImportError("No module named 'torch'")

    monkeypatch.setattr(_sampling, "_import_gp_dependencies", missing)
    sampling = BayesianParameterSampling({"x": uniform(0, 1)})
    with pytest.warns(UserWarning, match="falling back to the TPE sampler"):
        study = sampling.create_study("maximize", seed=0)
    assert isinstance(study.sampler, optuna.samplers.TPESampler)
    run_all(sampling, study, 3, value=lambda v: v["x"])


def test_bayesian_suggests_values_of_the_space_and_learns():
    pytest.importorskip("torch")
    space = {
        "lr": uniform(1e-4, 0.1),
        "bs": choice(10, 20, 50, 100),
        "act": choice("relu", "tanh"),
        "units": quniform(100, 400, 100),
    }
    sampling = BayesianParameterSampling(space, {"n_startup_trials": 3})
    assert BayesianParameterSampling({"a": choice(1, 2), "q": quniform(0, 10, 5)}).space_size() == 6
    study = sampling.create_study("maximize", seed=1)
    seen = run_all(sampling, study, 6, value=lambda v: -abs(math.log10(v["lr"]) + 2))
    for values in seen:
        assert 1e-4 <= values["lr"] <= 0.1
        assert values["bs"] in (10, 20, 50, 100) and values["act"] in ("relu", "tanh")
        assert values["units"] in (100, 200, 300, 400) and type(values["units"]) is int
    assert sampling.values_of(study.best_trial) in seen
    frozen = sampling.replay(study, seen[0], -1.0)
    assert sampling.values_of(frozen) == pytest.approx(seen[0])


# -- serialization --------------------------------------------------------------------------------


def test_sampling_round_trips_through_both_json_shapes():
    for sampling in (
        RandomParameterSampling({"lr": loguniform(-6, -1), "bs": choice(8, 16)}),
        GridParameterSampling({"bs": choice(8, 16)}, properties={"note": "x"}),
        BayesianParameterSampling({"lr": uniform(0.01, 0.1)}),
    ):
        described = {"type": type(sampling).__name__, **sampling._to_json()}
        assert sampling_from_json(described) == sampling
        assert sampling_from_json(sampling.to_json()) == sampling
    with pytest.raises(UserErrorException, match="unknown sampling 'SOBOL'"):
        sampling_from_json({"name": "SOBOL", "parameter_space": {}})


def test_policy_from_json_none_is_no_termination():
    assert policy_from_json(None).to_json() == {"name": "Default"}


def test_a_quantised_range_narrower_than_its_step_warns_that_every_value_is_the_same():
    with pytest.warns(UserWarning, match="every value is 0, because the step q=5"):
        quniform(0, 1, 5)


def test_a_grid_choice_with_repeated_values_is_refused():
    with pytest.raises(UserErrorException, match="repeats \\['1'\\] in choice"):
        GridParameterSampling({"--a": choice(1, 1, 1)})
