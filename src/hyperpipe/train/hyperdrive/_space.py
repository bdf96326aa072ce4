"""A search space's expressions, read once: exact sampling and the mapping onto Optuna.

``parse_space`` turns ``{key: expression}`` into :class:`Parameter` objects, checking every
expression again (a hand-written ``["uniform", [1, 0]]`` fails like ``uniform(1, 0)``). A
``Parameter`` can

* draw a value with SDK v1's exact math from a ``random.Random`` or a NumPy generator
  (:meth:`Parameter.sample`), and
* stand for itself in an Optuna study (:meth:`Parameter.distribution`, :meth:`Parameter.decode`,
  :meth:`Parameter.encode`).

In a study each parameter has a *latent* value, the one Optuna samples and stores in
``trial.params``; ``decode`` turns it into the value the script receives. There are two
mappings:

* ``model=False`` (random and grid sampling) keeps SDK v1's distributions exactly: a latent
  drawn uniformly (or, for the ``normal`` family, normally) gives the SDK value after
  ``decode``. ``uniform``/``quniform`` latents are ``U(lo, hi)`` before rounding; the ``log``
  family's latents are the exponents; the ``normal`` family's latents are the normal draws,
  kept within ``mu ± 40 sigma`` so Optuna has finite bounds (never reached in practice).
* ``model=True`` (Bayesian sampling) gives the model the shape of the space:

  - a ``choice`` of numbers is ordinal: its latent is the option's rank among the sorted options
    (an integer), so the model can learn that 50 lies between 20 and 100; a ``choice`` of
    strings stays categorical;
  - a ``uniform`` whose bounds are both positive and at least 100 times apart (a learning rate,
    a weight decay) is modelled on a log scale, and its first random points are drawn
    log-uniformly: over ``uniform(1e-5, 1)`` nine draws in ten would otherwise fall above 0.1;
  - ``quniform`` is an integer (or float) distribution with ``step=q`` whose values are the
    quantized values.

Optuna is imported only when a distribution is asked for.
"""

from __future__ import annotations

import math
import random
import sys
import types
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from hyperpipe._record import Record
from hyperpipe.exceptions import UserErrorException
from hyperpipe.train.hyperdrive import parameter_expressions as pe

if TYPE_CHECKING:
    from optuna.distributions import BaseDistribution

__all__ = ["EXPRESSIONS", "Parameter", "argument_flag", "parse_space", "require_optuna"]

#: Expression name -> (function, number of arguments).
EXPRESSIONS: dict[str, tuple[Any, int]] = {
    "choice": (pe.choice, 1),
    "randint": (pe.randint, 1),
    "uniform": (pe.uniform, 2),
    "quniform": (pe.quniform, 3),
    "loguniform": (pe.loguniform, 2),
    "qloguniform": (pe.qloguniform, 3),
    "normal": (pe.normal, 2),
    "qnormal": (pe.qnormal, 3),
    "lognormal": (pe.lognormal, 2),
    "qlognormal": (pe.qlognormal, 3),
}

_GAUSSIAN = frozenset({"normal", "qnormal", "lognormal", "qlognormal"})
_EXPONENTIAL = frozenset({"loguniform", "qloguniform", "lognormal", "qlognormal"})
_QUANTIZED = frozenset({"quniform", "qloguniform", "qnormal", "qlognormal"})
#: Normal draws are kept within mu ± this many sigmas (a draw beyond 40 sigma has probability
#: below 1e-300, so the bound never changes a value; Optuna needs finite bounds).
_SIGMAS = 40.0
_PLAIN_TYPES = (bool, int, float, str)
#: Bayesian sampling models a positive ``uniform`` range on a log scale from this ratio up.
LOG_SCALE_RATIO = 100.0

OPTUNA_MISSING = (
    "HyperDrive sampling needs Optuna (and, for Bayesian sampling, scipy and torch): "
    "pip install 'hyperpipe[hyperdrive]'"
)


def require_optuna() -> Any:
    """Import and return ``optuna``, or raise ``ImportError`` naming the pip command.

    Optuna imports its progress bar's library at import time (``tqdm.auto``, which loads asyncio,
    ssl and ``importlib.metadata``: ~90 ms of a sweep driver's ~290 ms to import Optuna here),
    for ``study.optimize(show_progress_bar=True)``, which a sweep never calls (it asks and
    tells). So ``tqdm.auto`` is imported when a bar is first made, not with Optuna.
    """
    if "optuna" in sys.modules:
        return sys.modules["optuna"]
    deferred = "tqdm.auto" not in sys.modules
    if deferred:
        sys.modules["tqdm.auto"] = _later_tqdm_module()
    try:
        import optuna
    except ImportError as exc:  # pragma: no cover - exercised only without the extra
        raise ImportError(OPTUNA_MISSING) from exc
    finally:
        if deferred and getattr(sys.modules.get("tqdm.auto"), "_hyperpipe_later", False):
            del sys.modules["tqdm.auto"]  # the next import of it finds the real module
    return optuna


def _later_tqdm_module() -> types.ModuleType:
    """A stand-in for ``tqdm.auto`` while Optuna imports: its ``tqdm`` imports the real one
    on first use and makes the bar with it."""

    class tqdm:  # the name Optuna imports
        def __new__(cls, *args: Any, **kwargs: Any) -> Any:
            from tqdm.auto import tqdm as real

            return real(*args, **kwargs)

    module = types.ModuleType("tqdm.auto")
    module.tqdm = tqdm  # type: ignore[attr-defined]
    module._hyperpipe_later = True  # type: ignore[attr-defined]
    return module


def argument_flag(key: str) -> str:
    """The command-line flag for a space key: kept as written when it starts with ``-``,
    else prefixed with ``--`` (SDK v1's rule)."""
    return key if key.startswith("-") else f"--{key}"


class Parameter(Record):
    """One entry of a search space: its key, expression name and arguments."""

    key: str
    kind: str
    args: tuple[Any, ...]

    # -- facts ---------------------------------------------------------------------------------

    @property
    def expression(self) -> list[Any]:
        """The SDK v1 expression, ``[kind, [args]]``."""
        return [self.kind, list(self.args)]

    @property
    def options(self) -> list[Any]:
        """The options of a ``choice``."""
        return list(self.args[0])

    @property
    def size(self) -> int | None:
        """How many values can be drawn: the options of a ``choice``, ``upper`` of a
        ``randint``; ``None`` for every other expression."""
        if self.kind == "choice":
            return len(self.args[0])
        if self.kind == "randint":
            return int(self.args[0])
        return None

    @property
    def gaussian(self) -> bool:
        """True for the ``normal`` family (their latents are normal draws)."""
        return self.kind in _GAUSSIAN

    # -- exact sampling ------------------------------------------------------------------------

    def sample(self, rng: Any) -> Any:
        """Draw a value with SDK v1's math.

        Args:
            rng: A ``random.Random``, a ``numpy.random.Generator`` or a ``RandomState``.
        """
        if self.kind == "choice":
            return self.args[0][_index(rng, len(self.args[0]))]
        if self.kind == "randint":
            return _index(rng, self.args[0])
        if self.gaussian:
            return self.decode(_normal(rng, self.args[0], self.args[1]))
        return self.decode(float(rng.uniform(self.args[0], self.args[1])))

    # -- Optuna mapping ------------------------------------------------------------------------

    def distribution(self, *, model: bool = False) -> BaseDistribution:
        """The Optuna distribution of this parameter's latent value (see the module docstring)."""
        optuna = require_optuna()
        dist = optuna.distributions
        kind, args = self.kind, self.args
        if kind == "choice":
            if model and self._numeric():
                return dist.IntDistribution(0, len(args[0]) - 1)
            return dist.CategoricalDistribution(self._categories())
        if kind == "randint":
            return dist.IntDistribution(0, args[0] - 1)
        if model and self._log_scaled():
            return dist.FloatDistribution(float(args[0]), float(args[1]), log=True)
        if model and kind == "quniform":
            low, high, q = self._quantized_bounds()
            if all(isinstance(a, int) for a in (low, high, q)):
                return dist.IntDistribution(low, high, step=q)
            return dist.FloatDistribution(low, high, step=q)
        if self.gaussian:
            return dist.FloatDistribution(*self._gaussian_bounds())
        return dist.FloatDistribution(float(args[0]), float(args[1]))

    def decode(self, latent: Any, *, model: bool = False) -> Any:
        """The value a latent stands for (the value passed to the script)."""
        kind, args = self.kind, self.args
        if kind == "choice":
            if model and self._numeric():
                return sorted(args[0])[int(latent)]
            return latent if self._plain() else args[0][int(latent)]
        if kind == "randint":
            return int(latent)
        if model and kind == "quniform":
            return latent
        value = math.exp(latent) if kind in _EXPONENTIAL else latent
        if kind in _QUANTIZED:
            value = _quantize(value, args[-1])
        return value

    def encode(self, value: Any, *, model: bool = False) -> Any:
        """A latent that decodes to ``value``: how a value recorded elsewhere (a stored trial)
        is told to Optuna again.

        Raises:
            UserErrorException: ``value`` cannot come from this expression (not one of the
                choices; not a number).
        """
        kind, args = self.kind, self.args
        if kind == "choice" and model and self._numeric():
            ranked = sorted(args[0])
            for index, option in enumerate(ranked):
                if option == value and type(option) is type(value):
                    return index
            if value in ranked:
                return ranked.index(value)
        if kind == "choice":
            for index, option in enumerate(args[0]):
                if type(option) is type(value) and option == value:
                    return option if self._plain() else index
            for index, option in enumerate(args[0]):
                if option == value:
                    return option if self._plain() else index
            raise UserErrorException(
                f"{value!r} is not one of the options of {self.key!r}: choice({args[0]!r}); a "
                "stored trial can only be replayed into the same search space"
            )
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise UserErrorException(
                f"{self.key!r} ({kind}) takes numbers, got {value!r}; a stored trial can only be "
                "replayed into the same search space"
            )
        if kind == "randint":
            return min(max(int(value), 0), args[0] - 1)
        if model and kind == "quniform":
            low, high, q = self._quantized_bounds()
            steps = round((value - low) / q)
            latent = min(max(low + steps * q, low), high)
            return int(latent) if isinstance(q, int) else float(latent)
        if self.gaussian:
            low, high = self._gaussian_bounds()
        else:
            low, high = float(args[0]), float(args[1])
        latent = float(value)
        if kind in _EXPONENTIAL:
            latent = math.log(value) if value > 0 else low
        return min(max(latent, low), high)

    # -- helpers -------------------------------------------------------------------------------

    def _plain(self) -> bool:
        """True when Optuna can hold the options themselves (distinct bools, ints, floats,
        strings, None); else the latent of a ``choice`` is the option's index."""
        options = self.args[0]
        if not all(o is None or isinstance(o, _PLAIN_TYPES) for o in options):
            return False
        if any(isinstance(o, float) and math.isnan(o) for o in options):
            return False
        # 1, 1.0 and True are equal to each other: such options go by index.
        return len({o for o in options}) == len(options)

    def _numeric(self) -> bool:
        """True for a ``choice`` of ints and floats (no bools, no NaN): an ordered set."""
        return all(
            isinstance(o, (int, float)) and not isinstance(o, bool) and o == o for o in self.args[0]
        )

    def _log_scaled(self) -> bool:
        """True for a positive ``uniform`` range spanning at least ``LOG_SCALE_RATIO``."""
        low, high = self.args[0], self.args[1]
        return self.kind == "uniform" and low > 0 and high / low >= LOG_SCALE_RATIO

    def _categories(self) -> tuple[Any, ...]:
        options = self.args[0]
        return tuple(options) if self._plain() else tuple(range(len(options)))

    def _quantized_bounds(self) -> tuple[Any, Any, Any]:
        low, high, q = self.args
        return _quantize(low, q), _quantize(high, q), q

    def _gaussian_bounds(self) -> tuple[float, float]:
        mu, sigma = float(self.args[0]), float(self.args[1])
        return mu - _SIGMAS * sigma, mu + _SIGMAS * sigma


def parse_space(
    parameter_space: Any, *, owner: str, allowed: frozenset[str] | None = None
) -> list[Parameter]:
    """Check a ``{key: expression}`` search space and read it into parameters, in order.

    Args:
        parameter_space: The dict given to a sampling class.
        owner: The class name, for messages.
        allowed: The expression names this sampling method takes; ``None`` for all.

    Raises:
        UserErrorException: Not a non-empty dict of str keys; an expression that is not one of
            ``parameter_expressions``' lists, or has bad arguments, or is not in ``allowed``.
    """
    if parameter_space is None or not isinstance(parameter_space, Mapping) or not parameter_space:
        raise UserErrorException(
            f"{owner} expects parameter_space to be a non-empty dict of name -> expression, got "
            f"{parameter_space!r}; e.g. {owner}({{'learning_rate': uniform(0.01, 0.1)}})"
        )
    parameters = []
    for key, expression in parameter_space.items():
        if not isinstance(key, str) or not key.strip("-"):
            raise UserErrorException(
                f"{owner}: parameter names must be non-empty strings (the script's argument "
                f"names), got {key!r}"
            )
        parameter = _parse_expression(key, expression, owner)
        if allowed is not None and parameter.kind not in allowed:
            names = ", ".join(sorted(allowed))
            raise UserErrorException(
                f"{owner} supports only the following distributions: [{names}]; parameter "
                f"{key!r} is {parameter.kind}{_show(parameter.args)} ({expression!r}); "
                "change its expression or use RandomParameterSampling"
            )
        parameters.append(parameter)
    return parameters


def _parse_expression(key: str, expression: Any, owner: str) -> Parameter:
    shape_ok = (
        isinstance(expression, (list, tuple))
        and len(expression) == 2
        and isinstance(expression[0], str)
        and isinstance(expression[1], (list, tuple))
    )
    if not shape_ok or expression[0] not in EXPRESSIONS:
        raise UserErrorException(
            f"{owner}: parameter {key!r} must be a parameter expression such as choice(...), "
            f"uniform(...) or loguniform(...) from hyperpipe.train.hyperdrive, got {expression!r}"
        )
    kind, args = expression[0], list(expression[1])
    function, arity = EXPRESSIONS[kind]
    if len(args) != arity:
        raise UserErrorException(
            f"{owner}: parameter {key!r}: {kind} takes {arity} argument(s), got {expression!r}"
        )
    try:
        checked = function(*args)  # the same checks as when the user calls it
    except UserErrorException as exc:
        raise UserErrorException(f"{owner}: parameter {key!r}: {exc}") from exc
    return Parameter(key, kind, tuple(checked[1]))


def _quantize(value: float, q: float) -> Any:
    """``round(value / q) * q``: an ``int`` for an ``int`` q, else a ``float``."""
    return round(value / q) * q


def _index(rng: Any, n: int) -> int:
    if isinstance(rng, random.Random):
        return rng.randrange(n)
    if hasattr(rng, "integers"):  # numpy Generator
        return int(rng.integers(n))
    return int(rng.randint(n))  # numpy RandomState


def _normal(rng: Any, mu: float, sigma: float) -> float:
    if isinstance(rng, random.Random):
        return rng.gauss(mu, sigma)
    return float(rng.normal(mu, sigma))


def _show(args: tuple[Any, ...]) -> str:
    return "(" + ", ".join(repr(a) for a in args) + ")"
