"""Sampling classes: SDK v1's Random, Grid and Bayesian sampling, run on Optuna samplers.

The user-facing part is SDK v1's: ``RandomParameterSampling(parameter_space)`` and friends check
the space when built and give ``to_json()`` in SDK v1's shape.

The part the HyperDrive driver uses is an ask/tell loop over an Optuna study (Optuna is imported
only here, and only when a study is made)::

    study = sampling.create_study(PrimaryMetricGoal.MAXIMIZE, seed=7)
    for _ in range(min(max_total_runs, sampling.space_size() or max_total_runs)):
        if sampling.is_exhausted(study):
            break
        trial, values = sampling.ask(study)           # == study.ask() + sampling.suggest(trial)
        argv = base_arguments + sampling.to_arguments(values)
        ...                                           # run the script, read its metric
        study.tell(trial, best_value)                 # or state=TrialState.PRUNED / FAIL

and, to resume after a crash, ``sampling.replay(study, values, value)`` for each stored trial
before asking again.
"""

from __future__ import annotations

import random
import warnings
from typing import TYPE_CHECKING, Any, ClassVar

from hyperpipe._surface import SdkV1Surface
from hyperpipe.exceptions import HyperpipeError, UserErrorException
from hyperpipe.train.hyperdrive._goal import PrimaryMetricGoal, as_goal
from hyperpipe.train.hyperdrive._space import Parameter, argument_flag, parse_space, require_optuna

if TYPE_CHECKING:
    from collections.abc import Mapping

    import optuna
    from optuna.distributions import BaseDistribution
    from optuna.samplers import BaseSampler

__all__ = [
    "BayesianParameterSampling",
    "GridParameterSampling",
    "HyperParameterSampling",
    "RandomParameterSampling",
    "SearchSpaceExhaustedError",
]

#: SDK v1's recommendations for Bayesian sampling (``runconfig.py``).
RECOMMENDED_MIN_RUNS_PER_PARAMETER_BAYESIAN = 20
RECOMMENDED_MAX_CONCURRENT_RUNS_BAYESIAN = 20
#: Bayesian sampling: a ``quniform`` may have at most this many steps (SDK v1).
MAX_QUNIFORM_POINTS_BAYESIAN = 100_000
#: Random sampling over a space of only ``choice``/``randint`` draws without repeats (each point
#: once, in random order) up to this many points; larger spaces draw with repeats.
MAX_POINTS_WITHOUT_REPEATS = 100_000


class SearchSpaceExhaustedError(HyperpipeError, LookupError):
    """Every point of a finite search space has been started; there is nothing new to ask."""


class HyperParameterSampling(SdkV1Surface):
    """Base class of the sampling methods: a checked search space plus the driver interface.

    Args:
        sampling_method_name: SDK v1's name of the method (``"RANDOM"``, ``"GRID"``,
            ``"BayesianOptimization"``).
        parameter_space: ``{name: expression}``; each name is the script's argument (``"lr"``
            becomes ``--lr``; ``"--batch-size"`` and ``"-x"`` are kept as written).
        properties: Extra properties, stored and serialized as given.
    """

    SAMPLING_NAME: ClassVar[str] = ""
    #: Expression names the method takes (``None``: all).
    _SUPPORTED: ClassVar[frozenset[str] | None] = None
    #: Whether the Optuna study sees the model-friendly mapping (``_space`` module docstring).
    _MODEL: ClassVar[bool] = False

    def __init__(
        self,
        sampling_method_name: str,
        parameter_space: dict[str, Any],
        properties: dict[str, Any] | None = None,
    ) -> None:
        owner = type(self).__name__
        self._parameters: list[Parameter] = parse_space(
            parameter_space, owner=owner, allowed=self._SUPPORTED
        )
        if properties is not None and not isinstance(properties, dict):
            raise UserErrorException(
                f"{owner} expects properties to be a dict or None, got {properties!r}"
            )
        self._sampling_method_name = sampling_method_name
        self._parameter_space = {p.key: p.expression for p in self._parameters}
        self._properties = properties

    # -- SDK v1 surface ------------------------------------------------------------------------

    @property
    def parameter_space(self) -> dict[str, list[Any]]:
        """The search space, ``{name: expression}``, in the order given."""
        return {key: [e[0], list(e[1])] for key, e in self._parameter_space.items()}

    def to_json(self) -> dict[str, Any]:
        """SDK v1's description: ``{"name", "parameter_space"[, "properties"]}``."""
        definition: dict[str, Any] = {
            "name": self._sampling_method_name,
            "parameter_space": self.parameter_space,
        }
        if self._properties:
            definition["properties"] = self._properties
        return definition

    def _to_json(self) -> dict[str, Any]:
        """The constructor's arguments, for :func:`~._serialize.sampling_from_json`."""
        return {"parameter_space": self.parameter_space, "properties": self._properties}

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        assert isinstance(other, HyperParameterSampling)
        return self.to_json() == other.to_json()

    def __hash__(self) -> int:
        return hash((type(self).__name__, repr(self.to_json())))

    def __repr__(self) -> str:
        args = repr(self.parameter_space)
        if self._properties:
            args += f", properties={self._properties!r}"
        return f"{type(self).__name__}({args})"

    # -- driver interface ----------------------------------------------------------------------

    def check_budget(self, max_total_runs: int, max_concurrent_runs: int | None = None) -> None:
        """Warn about a budget that does not suit this method (``HyperDriveConfig`` calls it).

        Only Bayesian sampling has advice; see :meth:`BayesianParameterSampling.check_budget`.
        """

    def space_size(self) -> int | None:
        """How many distinct points the space has, or ``None`` when it is continuous.

        A sweep runs at most this many trials ("there may be fewer runs when the sample space is
        smaller", SDK v1).
        """
        size = 1
        for parameter in self._parameters:
            n = self._parameter_size(parameter)
            if n is None:
                return None
            size *= n
        return size

    def create_study(
        self,
        goal: PrimaryMetricGoal | str,
        *,
        seed: int | None = None,
        storage: Any = None,
        study_name: str | None = None,
        load_if_exists: bool = False,
    ) -> optuna.Study:
        """A new Optuna study that samples this space for ``goal``.

        Args:
            goal: ``PrimaryMetricGoal`` (or ``"maximize"``/``"minimize"``): the study's direction.
            seed: Makes the sequence of points reproducible; ``None`` for a fresh one.
            storage: Passed to ``optuna.create_study`` (``None``: in memory).
            study_name: Passed to ``optuna.create_study``.
            load_if_exists: Passed to ``optuna.create_study``.
        """
        optuna = require_optuna()
        direction = "maximize" if as_goal(goal) is PrimaryMetricGoal.MAXIMIZE else "minimize"
        return optuna.create_study(
            sampler=self._make_sampler(seed),
            direction=direction,
            storage=storage,
            study_name=study_name,
            load_if_exists=load_if_exists,
        )

    def ask(self, study: optuna.Study) -> tuple[optuna.Trial, dict[str, Any]]:
        """Start a trial and draw its values: ``study.ask()`` then :meth:`suggest`.

        Raises:
            SearchSpaceExhaustedError: Every point of a finite space has been started (see
                :meth:`is_exhausted`).
        """
        if self.is_exhausted(study):
            raise SearchSpaceExhaustedError(
                f"all {self.space_size()} points of the search space have been started; stop "
                "asking (check is_exhausted(study) or space_size() first)"
            )
        trial = study.ask()
        return trial, self.suggest(trial)

    def suggest(self, trial: optuna.Trial) -> dict[str, Any]:
        """The values of a new trial, ``{name: value}`` in space order (call it once, right
        after ``study.ask()``)."""
        latents = {
            p.key: _suggest(trial, p.key, p.distribution(model=self._MODEL))
            for p in self._parameters
        }
        return {p.key: p.decode(latents[p.key], model=self._MODEL) for p in self._parameters}

    def values_of(self, trial: optuna.trial.FrozenTrial) -> dict[str, Any]:
        """The values a finished (or replayed) trial ran with, from its ``params``."""
        return {p.key: p.decode(trial.params[p.key], model=self._MODEL) for p in self._parameters}

    def to_optuna_params(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """``values`` as Optuna ``params`` of this space (e.g. for ``study.enqueue_trial``)."""
        return {p.key: p.encode(_value(values, p.key), model=self._MODEL) for p in self._parameters}

    def replay(
        self,
        study: optuna.Study,
        values: Mapping[str, Any],
        value: float | None = None,
        *,
        state: Any = None,
        intermediate_values: Mapping[int, float] | None = None,
    ) -> optuna.trial.FrozenTrial:
        """Tell ``study`` about a trial that ran before (e.g. before the driver crashed).

        Args:
            study: A study from :meth:`create_study`.
            values: The trial's values, as :meth:`suggest` gave them.
            value: Its best primary metric (``None`` when it logged none).
            state: An ``optuna.trial.TrialState`` or its name; default ``COMPLETE`` when
                ``value`` is given, else ``FAIL``.
            intermediate_values: Optional ``{step: value}`` reports.

        Returns:
            The trial as stored in the study.
        """
        optuna = require_optuna()
        states = optuna.trial.TrialState
        if state is None:
            state = states.COMPLETE if value is not None else states.FAIL
        elif isinstance(state, str):
            state = states[state.upper()]
        params = self.to_optuna_params(values)
        system_attrs: dict[str, Any] = {}
        sampler = study.sampler
        if isinstance(sampler, _grid_sampler_class()):
            system_attrs = sampler.attrs_for(study, params)
        study.add_trial(
            optuna.trial.create_trial(
                state=state,
                value=None if state == states.FAIL else value,
                params=params,
                distributions=self._distributions(),
                system_attrs=system_attrs,
                intermediate_values=dict(intermediate_values or {}),
            )
        )
        return study.get_trials(deepcopy=False)[-1]

    def is_exhausted(self, study: optuna.Study) -> bool:
        """True when every point of a finite space has been started in ``study`` (running or
        finished); always False for spaces sampled with repeats."""
        sampler = study.sampler
        if isinstance(sampler, _grid_sampler_class()):
            return sampler.unstarted(study) == 0
        return False

    def to_arguments(self, values: Mapping[str, Any]) -> list[str]:
        """The script arguments for ``values``: ``[flag, value, ...]`` in space order.

        The flag is the key as written when it starts with ``-``, else ``--key`` (SDK v1).

        Example:
            >>> from hyperpipe.train.hyperdrive import choice
            >>> RandomParameterSampling({"lr": choice(0.1), "--batch-size": choice(8)}
            ...     ).to_arguments({"lr": 0.1, "--batch-size": 8})
            ['--lr', '0.1', '--batch-size', '8']
        """
        arguments: list[str] = []
        for p in self._parameters:
            arguments += [argument_flag(p.key), str(_value(values, p.key))]
        return arguments

    # -- for subclasses ------------------------------------------------------------------------

    def _parameter_size(self, parameter: Parameter) -> int | None:
        return parameter.size

    def _distributions(self) -> dict[str, BaseDistribution]:
        return {p.key: p.distribution(model=self._MODEL) for p in self._parameters}

    def _grid(self) -> dict[str, list[Any]]:
        """The Optuna-side values of each parameter of a space of choice/randint only."""
        grid = {}
        for p in self._parameters:
            dist = p.distribution(model=self._MODEL)
            grid[p.key] = list(dist.choices) if p.kind == "choice" else list(range(p.args[0]))
        return grid

    def _make_sampler(self, seed: int | None) -> BaseSampler:
        raise NotImplementedError


class RandomParameterSampling(HyperParameterSampling):
    """Random sampling: each trial draws every parameter from its expression, independently.

    All expressions are allowed. Values follow SDK v1's math exactly (see
    ``parameter_expressions``). When every parameter is a ``choice`` or ``randint`` (and the space
    has at most 100,000 points) points are drawn without repeats, in random order, so a sweep
    whose budget exceeds the space runs each point once and stops (SDK v1: "there may be fewer
    runs when the sample space is smaller").

    Args:
        parameter_space: ``{name: expression}``.
        properties: Extra properties, stored and serialized as given.

    Example:
        >>> from hyperpipe.train.hyperdrive import choice, uniform
        >>> sampling = RandomParameterSampling({"lr": uniform(0.01, 0.1), "bs": choice(16, 32)})
        >>> sampling.space_size() is None
        True
    """

    SAMPLING_NAME = "RANDOM"

    def __init__(self, parameter_space: dict[str, Any], properties: dict[str, Any] | None = None):
        super().__init__(self.SAMPLING_NAME, parameter_space, properties)

    def _make_sampler(self, seed: int | None) -> BaseSampler:
        size = self.space_size()
        if size is not None and size <= MAX_POINTS_WITHOUT_REPEATS:
            if seed is None:
                seed = random.SystemRandom().randrange(2**32)
            return _grid_sampler_class()(self._grid(), seed=seed)
        gaussian = {
            p.key: (float(p.args[0]), float(p.args[1])) for p in self._parameters if p.gaussian
        }
        return _exact_random_sampler_class()(seed=seed, gaussian=gaussian)


class GridParameterSampling(HyperParameterSampling):
    """Grid sampling: every combination of the ``choice`` values, each once.

    Only ``choice`` is allowed. Points come in a shuffled order fixed by the study's seed (Optuna's
    ``GridSampler``), so a budget smaller than the grid still spreads over it; with a larger
    budget the sweep stops after ``space_size()`` trials.

    Args:
        parameter_space: ``{name: choice(...)}``.
        properties: Extra properties, stored and serialized as given.
    """

    SAMPLING_NAME = "GRID"
    _SUPPORTED = frozenset({"choice"})

    def __init__(self, parameter_space: dict[str, Any], properties: dict[str, Any] | None = None):
        super().__init__(self.SAMPLING_NAME, parameter_space, properties)
        for parameter in self._parameters:
            options = parameter.options
            repeated = [o for i, o in enumerate(options) if o in options[:i]]
            if repeated:
                raise UserErrorException(
                    f"grid parameter {parameter.key!r} repeats {sorted(set(map(repr, repeated)))} "
                    f"in choice{tuple(options)!r}: a grid would run those points more than once; "
                    "give each value once"
                )

    def _make_sampler(self, seed: int | None) -> BaseSampler:
        return _grid_sampler_class()(self._grid(), seed=seed)


class BayesianParameterSampling(HyperParameterSampling):
    """Bayesian sampling: each trial's point is chosen from how earlier points performed.

    As in SDK v1 only ``choice``, ``uniform`` and ``quniform`` are allowed; ``quniform``'s three
    arguments must be ``int`` with at most 100,000 steps; ``choice`` values must be ``int``,
    ``float`` or ``str``, and either all or none of them ``str``. SDK v1 recommends
    ``max_total_runs >= 20 x`` the number of parameters and ``max_concurrent_runs <= 20``; the
    config warns otherwise (:meth:`check_budget`). Fewer concurrent runs converge better.

    The model is Optuna's ``GPSampler`` (a Gaussian process with log expected improvement; it
    accounts for trials still running). It needs ``torch`` and ``scipy``; torch is pinned to one
    thread in the process that samples (more threads make it about 10x slower). Without them
    it falls back, with a warning, to Optuna's multivariate ``TPESampler``. The first
    ``n_startup_trials`` points are random.

    The model sees the space's shape (``_space`` module): a ``choice`` of numbers is ordered (50
    lies between 20 and 100), a positive ``uniform`` spanning 100x or more (the lab's
    ``learning_rate: uniform(1e-5, 1)``) is modelled, and first sampled, on a log scale, and
    ``quniform`` is a stepped integer. On the lab-shaped benchmark
    (``benchmarks/sampler_efficiency.py``) this reaches 1 % of the optimum in a median of 8
    trials, against 30 for random sampling.

    **Unlike SDK v1**, Bayesian sampling may be combined with an early-termination policy
    (SDK 1.0.85 raised an error, later versions documented it as unsupported). A trial stopped by
    the policy is told to the study as pruned, so the model never learns from a value the trial
    did not finish.

    Args:
        parameter_space: ``{name: choice(...) | uniform(...) | quniform(...)}``.
        properties: Extra properties, stored and serialized as given. hyperpipe reads
            ``"n_startup_trials"`` (an int >= 1, default 5): how many random points come before
            the model is used.
    """

    SAMPLING_NAME = "BayesianOptimization"
    _SUPPORTED = frozenset({"choice", "uniform", "quniform"})
    _MODEL = True
    DEFAULT_N_STARTUP_TRIALS = 5

    def __init__(self, parameter_space: dict[str, Any], properties: dict[str, Any] | None = None):
        if parameter_space is None:
            raise UserErrorException(
                "BayesianParameterSampling expects parameter_space to not be None or empty; pass "
                "a dict such as {'learning_rate': uniform(0.01, 0.1)}"
            )
        super().__init__(self.SAMPLING_NAME, parameter_space, properties)
        for p in self._parameters:
            if p.kind == "choice":
                _check_bayesian_choice(p)
            elif p.kind == "quniform":
                _check_bayesian_quniform(p)
        startup = (properties or {}).get("n_startup_trials", self.DEFAULT_N_STARTUP_TRIALS)
        if not isinstance(startup, int) or isinstance(startup, bool) or startup < 1:
            raise UserErrorException(
                "BayesianParameterSampling expects properties['n_startup_trials'] to be an int "
                f">= 1 (random points before the model is used), got {startup!r}"
            )
        self._n_startup_trials = startup

    def check_budget(self, max_total_runs: int, max_concurrent_runs: int | None = None) -> None:
        """Warn, as SDK v1 does, when ``max_total_runs < 20 x`` the number of parameters or
        ``max_concurrent_runs > 20`` (``None`` counts as ``max_total_runs``)."""
        n = len(self._parameters)
        recommended = RECOMMENDED_MIN_RUNS_PER_PARAMETER_BAYESIAN * n
        if max_total_runs < recommended:
            warnings.warn(
                "For best results with Bayesian Sampling we recommend using a maximum number of "
                f"runs greater than or equal to {RECOMMENDED_MIN_RUNS_PER_PARAMETER_BAYESIAN} "
                f"times the number of hyperparameters being tuned: max_total_runs={max_total_runs} "
                f"for {n} hyperparameter(s). Recommended value: {recommended}.",
                UserWarning,
                stacklevel=3,
            )
        concurrent = max_concurrent_runs or max_total_runs
        if concurrent > RECOMMENDED_MAX_CONCURRENT_RUNS_BAYESIAN:
            warnings.warn(
                f"We recommend using {RECOMMENDED_MAX_CONCURRENT_RUNS_BAYESIAN} max concurrent "
                "runs or fewer when using Bayesian sampling since a higher number might not "
                f"provide the best result: max_concurrent_runs={concurrent}.",
                UserWarning,
                stacklevel=3,
            )

    def _parameter_size(self, parameter: Parameter) -> int | None:
        if parameter.kind == "quniform":
            low, high, q = parameter._quantized_bounds()
            return round((high - low) / q) + 1
        return parameter.size

    def _make_sampler(self, seed: int | None) -> BaseSampler:
        return _bayesian_sampler(seed, self._n_startup_trials)


# -- Bayesian checks ----------------------------------------------------------------------------


def _check_bayesian_choice(p: Parameter) -> None:
    options = p.options
    for option in options:
        if type(option) not in (int, str, float):
            raise UserErrorException(
                f"BayesianParameterSampling: parameter {p.key!r}: 'choice' values should be "
                f"'int', 'string' or 'float', got {option!r} ({type(option).__name__}); use "
                "RandomParameterSampling for other values"
            )
    strings = sum(isinstance(o, str) for o in options)
    if strings not in (0, len(options)):
        raise UserErrorException(
            f"BayesianParameterSampling: parameter {p.key!r}: either all or none of the 'choice' "
            f"values should be 'str' type, got {options!r}; make them all strings or all numbers"
        )


def _check_bayesian_quniform(p: Parameter) -> None:
    low, high, q = p.args
    if any(type(a) is not int for a in (low, high, q)):
        raise UserErrorException(
            f"BayesianParameterSampling: parameter {p.key!r}: expected quniform arguments to be "
            f"int, got quniform({low!r}, {high!r}, {q!r}); use uniform() for real values"
        )
    if (high - low) / q > MAX_QUNIFORM_POINTS_BAYESIAN:
        raise UserErrorException(
            f"BayesianParameterSampling: parameter {p.key!r}: too many discrete points for "
            f"quniform({low}, {high}, {q}): {(high - low) // q} steps, at most "
            f"{MAX_QUNIFORM_POINTS_BAYESIAN}. Use a larger q or uniform instead."
        )


# -- Optuna samplers ----------------------------------------------------------------------------


def _import_gp_dependencies() -> Any:
    """``torch`` when the GP sampler's dependencies (torch, scipy) import, else ImportError."""
    import scipy  # noqa: F401
    import torch

    return torch


def _bayesian_sampler(seed: int | None, n_startup_trials: int) -> BaseSampler:
    optuna = require_optuna()
    try:
        torch = _import_gp_dependencies()
    except ImportError as exc:
        warnings.warn(
            f"BayesianParameterSampling uses Optuna's GPSampler, which needs torch and scipy "
            f"({exc}); falling back to the TPE sampler. Install them for the GP model: "
            "pip install torch==2.13.0 scipy",
            UserWarning,
            stacklevel=4,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return optuna.samplers.TPESampler(
                seed=seed,
                n_startup_trials=n_startup_trials,
                multivariate=True,
            )
    # NOTE: the GP's many small torch calls are ~10x slower with torch's default thread pool
    # (it competes with OpenBLAS); the sweep samples in one process, which runs no training.
    torch.set_num_threads(1)
    return optuna.samplers.GPSampler(seed=seed, n_startup_trials=n_startup_trials)


_CLASSES: dict[str, type] = {}


def _grid_sampler_class() -> type:
    """``_OrderedGridSampler``, defined on first use so that Optuna loads only when needed."""
    if "grid" not in _CLASSES:
        _CLASSES["grid"] = _define_grid_sampler()
    return _CLASSES["grid"]


def _exact_random_sampler_class() -> type:
    if "random" not in _CLASSES:
        _CLASSES["random"] = _define_exact_random_sampler()
    return _CLASSES["random"]


def _define_grid_sampler() -> type:
    optuna = require_optuna()

    class _OrderedGridSampler(optuna.samplers.GridSampler):  # type: ignore[misc,name-defined]
        """Optuna's ``GridSampler`` for ask/tell sweeps that may resume.

        Each new trial takes the first point, in the seeded shuffled order, that no running or
        finished trial holds. Optuna's own rule (grid point = trial number for the first N
        trials) revisits points when a resumed study lacks a trial that was lost, and its
        ``after_trial`` calls ``study.stop()``, which raises outside ``study.optimize``; the
        driver stops on :meth:`unstarted` instead.
        """

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._scans: dict[int, _GridScan] = {}  # per study

        def before_trial(self, study: Any, trial: Any) -> None:
            if "grid_id" in trial.system_attrs:
                return
            fixed = trial.system_attrs.get("fixed_params")
            if fixed is not None:  # enqueued: record which point it is, if it is one
                attrs = self.attrs_for(study, fixed)
                if not attrs:
                    return
                grid_id = attrs["grid_id"]
            else:
                grid_id = self._first_free(study)
                if grid_id is None:
                    grid_id = int(self._rng.rng.randint(self._n_min_trials))
            study._storage.set_trial_system_attr(
                trial._trial_id, "search_space", self._search_space
            )
            study._storage.set_trial_system_attr(trial._trial_id, "grid_id", grid_id)

        def after_trial(self, study: Any, trial: Any, state: Any, values: Any) -> None:
            return None

        def unstarted(self, study: Any) -> int:
            """How many points no running or finished trial holds."""
            return self._n_min_trials - len(self._started(study))

        def attrs_for(self, study: Any, params: Mapping[str, Any]) -> dict[str, Any]:
            """The system attributes that mark a trial with ``params`` as one grid point (the
            first such point not started yet); ``{}`` when ``params`` is not on the grid."""
            try:
                point = tuple(params[name] for name in self._param_names)
            except KeyError:
                return {}
            started = self._started(study)
            matches = [
                i
                for i, grid in enumerate(self._all_grids)
                if all(self._grid_value_equal(a, b) for a, b in zip(grid, point, strict=True))
            ]
            if not matches:
                return {}
            free = [i for i in matches if i not in started]
            return {"search_space": self._search_space, "grid_id": (free or matches)[0]}

        def _first_free(self, study: Any) -> int | None:
            """The first grid point no running or finished trial holds, if any."""
            started = self._started(study)
            scan = self._scans[study._study_id]
            while scan.first_free < self._n_min_trials and scan.first_free in started:
                scan.first_free += 1  # points once started stay started
            return scan.first_free if scan.first_free < self._n_min_trials else None

        def _started(self, study: Any) -> set[int]:
            """The grid points of running and finished trials. A study's trials are only ever
            appended, and a trial that runs or ran keeps its point: each call reads only the
            trials new since the last one, and those that did not hold a point yet."""
            scan = self._scans.get(study._study_id)
            if scan is None:
                scan = self._scans[study._study_id] = _GridScan()
            trials = study._storage.get_all_trials(study._study_id, deepcopy=False)
            unsettled = scan.unsettled + list(range(scan.seen, len(trials)))
            scan.seen, scan.unsettled = len(trials), []
            states = optuna.trial.TrialState
            for index in unsettled:
                t = trials[index]
                holds = "grid_id" in t.system_attrs
                if t.state == states.WAITING or (t.state == states.RUNNING and not holds):
                    scan.unsettled.append(index)  # enqueued, or not given its point yet
                elif holds and self._same_search_space(t.system_attrs["search_space"]):
                    scan.started.add(t.system_attrs["grid_id"])
            return scan.started

    return _OrderedGridSampler


class _GridScan:
    """What ``_OrderedGridSampler`` has read of one study's trials."""

    def __init__(self) -> None:
        self.seen = 0  # trials read
        self.unsettled: list[int] = []  # read, but not yet holding a point (to read again)
        self.started: set[int] = set()
        self.first_free = 0  # no point before it is free


def _define_exact_random_sampler() -> type:
    optuna = require_optuna()
    import numpy as np

    class _ExactRandomSampler(optuna.samplers.RandomSampler):  # type: ignore[misc,name-defined]
        """Optuna's ``RandomSampler`` plus normal draws for the ``normal`` family's latents
        (Optuna has no unbounded normal distribution)."""

        def __init__(
            self, *, seed: int | None, gaussian: Mapping[str, tuple[float, float]]
        ) -> None:
            super().__init__(seed=seed)
            self._gaussian = dict(gaussian)
            self._normal_rng = np.random.default_rng(None if seed is None else seed + 1)

        def reseed_rng(self) -> None:
            super().reseed_rng()
            self._normal_rng = np.random.default_rng()

        def sample_independent(
            self, study: Any, trial: Any, param_name: str, param_distribution: Any
        ) -> Any:
            if param_name in self._gaussian:
                mu, sigma = self._gaussian[param_name]
                draw = float(self._normal_rng.normal(mu, sigma))
                return min(max(draw, param_distribution.low), param_distribution.high)
            return super().sample_independent(study, trial, param_name, param_distribution)

    return _ExactRandomSampler


def _suggest(trial: optuna.Trial, name: str, dist: BaseDistribution) -> Any:
    """``trial.suggest_*`` for an Optuna distribution object (public API only)."""
    optuna = require_optuna()
    d = optuna.distributions
    if isinstance(dist, d.CategoricalDistribution):
        return trial.suggest_categorical(name, dist.choices)
    if isinstance(dist, d.IntDistribution):
        return trial.suggest_int(name, dist.low, dist.high, step=dist.step, log=dist.log)
    if isinstance(dist, d.FloatDistribution):
        return trial.suggest_float(name, dist.low, dist.high, step=dist.step, log=dist.log)
    raise TypeError(f"unexpected distribution {dist!r}")  # pragma: no cover


def _value(values: Mapping[str, Any], key: str) -> Any:
    try:
        return values[key]
    except KeyError:
        raise UserErrorException(
            f"no value for parameter {key!r}: the values must have every key of the search "
            f"space, got keys {sorted(values)!r}"
        ) from None
