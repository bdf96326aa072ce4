"""Parameter expressions: the distributions a HyperDrive search space is written with.

The same functions as SDK v1's ``azureml.train.hyperdrive.parameter_expressions``. Each one only
checks its arguments and returns SDK v1's plain list, ``[name, [arguments]]``, so ``str()``,
equality and JSON match SDK v1::

    >>> uniform(0.05, 0.1)
    ['uniform', [0.05, 0.1]]
    >>> choice(16, 32, 64)
    ['choice', [[16, 32, 64]]]

The values drawn follow SDK v1 (which follows hyperopt):

================================  =====================================================
expression                        value
================================  =====================================================
``choice(*options)``              one of the options, each equally likely
``randint(upper)``                an integer in ``[0, upper)``
``uniform(lo, hi)``               ``U(lo, hi)``
``quniform(lo, hi, q)``           ``round(U(lo, hi) / q) * q``
``loguniform(lo, hi)``            ``exp(U(lo, hi))``: the bounds are **exponents**
``qloguniform(lo, hi, q)``        ``round(exp(U(lo, hi)) / q) * q``
``normal(mu, sigma)``             ``N(mu, sigma)``
``qnormal(mu, sigma, q)``         ``round(N(mu, sigma) / q) * q``
``lognormal(mu, sigma)``          ``exp(N(mu, sigma))``
``qlognormal(mu, sigma, q)``      ``round(exp(N(mu, sigma)) / q) * q``
================================  =====================================================

``round`` is Python's (and NumPy's): halves go to the even neighbour. A quantized value is an
``int`` when ``q`` is an ``int`` and a ``float`` when ``q`` is an integral ``float``.

A mistake raises :class:`~hyperpipe.exceptions.UserErrorException` (a ``ValueError``) that says
what was wrong, the value received and the fix. hyperpipe also rejects ``q <= 0`` (SDK v1 let
it through to the service) and ``bool`` where a number is expected.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

from hyperpipe.exceptions import UserErrorException

__all__ = [
    "choice",
    "lognormal",
    "loguniform",
    "normal",
    "qlognormal",
    "qloguniform",
    "qnormal",
    "quniform",
    "randint",
    "uniform",
]

_CHOICE_SHAPES = (
    "a non-empty single list, a non-empty single range() or one or more comma-separated values, "
    "e.g. choice(16, 32, 64) or choice([16, 32, 64])"
)


def choice(*options: Any) -> list[Any]:
    """A discrete set of options to sample from, each equally likely.

    Args:
        *options: The options: one or more values (``choice(1, 2, 3)``), or a single non-empty
            ``list`` or ``range`` (``choice([1, 2, 3])``, ``choice(range(1, 4))``).

    Returns:
        ``["choice", [[option, ...]]]`` (a ``range`` becomes a list).

    Raises:
        UserErrorException: No options, an empty list or range, or a list or range given with
            other arguments.
    """
    if len(options) == 0:
        raise UserErrorException(
            f"Please specify an input for choice: choice() got no options; pass {_CHOICE_SHAPES}"
        )
    for item in options:
        if isinstance(item, (range, list)):
            if len(options) > 1 or not item:
                raise UserErrorException(
                    f"choice expects {_CHOICE_SHAPES}; got choice{_show_args(options)}"
                )
            return ["choice", [list(item)]]
    return ["choice", [list(options)]]


def randint(upper: int) -> list[Any]:
    """A random integer in ``[0, upper)``.

    Nearby integers are not assumed to behave alike (use it for seeds); for an ordered integer
    use ``quniform`` instead.

    Args:
        upper: The exclusive upper bound, a positive ``int``.

    Returns:
        ``["randint", [upper]]``.
    """
    if not _is_int(upper) or upper <= 0:
        raise UserErrorException(
            f"randint expects a positive int as input (the exclusive upper bound), got "
            f"upper={upper!r}; e.g. randint(10) draws from 0..9"
        )
    return ["randint", [upper]]


def uniform(min_value: float, max_value: float) -> list[Any]:
    """A value drawn uniformly between ``min_value`` and ``max_value``.

    Args:
        min_value: The smallest value (inclusive).
        max_value: The largest value (inclusive); must be greater than ``min_value``.

    Returns:
        ``["uniform", [min_value, max_value]]``.
    """
    _check_number("uniform", "min_value", min_value)
    _check_number("uniform", "max_value", max_value)
    _check_order("uniform", min_value, max_value, strict=True)
    return ["uniform", [min_value, max_value]]


def quniform(min_value: float, max_value: float, q: int) -> list[Any]:
    """A value like ``round(uniform(min_value, max_value) / q) * q``.

    For a discrete value the objective is still fairly smooth in, bounded on both sides.

    Args:
        min_value: The lower bound of the uniform draw.
        max_value: The upper bound of the uniform draw; must be greater than ``min_value``.
        q: The step, an ``int`` (or an integral ``float``) greater than 0.

    Returns:
        ``["quniform", [min_value, max_value, q]]``.
    """
    _check_number("quniform", "min_value", min_value)
    _check_number("quniform", "max_value", max_value)
    _check_q("quniform", q)
    _check_order("quniform", min_value, max_value, strict=True, rest=", q")
    _warn_if_constant("quniform", min_value, max_value, q)
    return ["quniform", [min_value, max_value, q]]


def loguniform(min_value: float, max_value: float) -> list[Any]:
    """A value ``exp(uniform(min_value, max_value))``: its logarithm is uniform.

    The bounds are **exponents**: ``loguniform(-6, -1)`` gives values between ``e**-6`` (0.0025)
    and ``e**-1`` (0.37). For values between 1e-4 and 1e-1 write
    ``loguniform(math.log(1e-4), math.log(1e-1))``.

    Args:
        min_value: The exponent of the smallest value.
        max_value: The exponent of the largest value; not below ``min_value``.

    Returns:
        ``["loguniform", [min_value, max_value]]``.
    """
    _check_number("loguniform", "min_value", min_value)
    _check_number("loguniform", "max_value", max_value)
    _check_order("loguniform", min_value, max_value, strict=False)
    return ["loguniform", [min_value, max_value]]


def qloguniform(min_value: float, max_value: float, q: int) -> list[Any]:
    """A value like ``round(exp(uniform(min_value, max_value)) / q) * q``.

    The bounds are exponents, as for :func:`loguniform`.

    Args:
        min_value: The exponent of the smallest value.
        max_value: The exponent of the largest value; not below ``min_value``.
        q: The step, an ``int`` (or an integral ``float``) greater than 0.

    Returns:
        ``["qloguniform", [min_value, max_value, q]]``.
    """
    _check_number("qloguniform", "min_value", min_value)
    _check_number("qloguniform", "max_value", max_value)
    _check_q("qloguniform", q)
    _check_order("qloguniform", min_value, max_value, strict=False, rest=", q")
    if max(min_value, max_value) < 700:  # exp() of more overflows a float: no constant there
        _warn_if_constant("qloguniform", math.exp(min_value), math.exp(max_value), q)
    return ["qloguniform", [min_value, max_value, q]]


def normal(mu: float, sigma: float) -> list[Any]:
    """A real value drawn from the normal distribution ``N(mu, sigma)`` (unbounded).

    Args:
        mu: The mean.
        sigma: The standard deviation, not negative (0 always gives ``mu``).

    Returns:
        ``["normal", [mu, sigma]]``.
    """
    _check_number("normal", "mu", mu)
    _check_sigma("normal", sigma)
    return ["normal", [mu, sigma]]


def qnormal(mu: float, sigma: float, q: int) -> list[Any]:
    """A value like ``round(normal(mu, sigma) / q) * q``.

    Args:
        mu: The mean.
        sigma: The standard deviation, not negative.
        q: The step, an ``int`` (or an integral ``float``) greater than 0.

    Returns:
        ``["qnormal", [mu, sigma, q]]``.
    """
    _check_number("qnormal", "mu", mu)
    _check_sigma("qnormal", sigma)
    _check_q("qnormal", q)
    return ["qnormal", [mu, sigma, q]]


def lognormal(mu: float, sigma: float) -> list[Any]:
    """A value ``exp(normal(mu, sigma))``: always positive, its logarithm is normal.

    Args:
        mu: The mean of the logarithm.
        sigma: The standard deviation of the logarithm, not negative.

    Returns:
        ``["lognormal", [mu, sigma]]``.
    """
    _check_number("lognormal", "mu", mu)
    _check_sigma("lognormal", sigma)
    return ["lognormal", [mu, sigma]]


def qlognormal(mu: float, sigma: float, q: int) -> list[Any]:
    """A value like ``round(exp(normal(mu, sigma)) / q) * q``.

    Args:
        mu: The mean of the logarithm.
        sigma: The standard deviation of the logarithm, not negative.
        q: The step, an ``int`` (or an integral ``float``) greater than 0.

    Returns:
        ``["qlognormal", [mu, sigma, q]]``.
    """
    _check_number("qlognormal", "mu", mu)
    _check_sigma("qlognormal", sigma)
    _check_q("qlognormal", q)
    return ["qlognormal", [mu, sigma, q]]


# -- checks ------------------------------------------------------------------------------------


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _check_number(function: str, name: str, value: Any) -> None:
    if not _is_number(value):
        raise UserErrorException(
            f"{function} expects {name} to be a float or an int, got {name}={value!r} "
            f"({type(value).__name__})"
        )
    if not math.isfinite(value):
        raise UserErrorException(
            f"{function} expects {name} to be a finite number, got {name}={value!r}"
        )


def _check_order(function: str, low: float, high: float, *, strict: bool, rest: str = "") -> None:
    if low > high or (strict and low == high):
        relation = "min_value < max_value" if strict else "min_value <= max_value"
        fix = (
            f"swap them: {function}({high!r}, {low!r}{rest})"
            if low > high
            else "use choice() for a single value"
        )
        raise UserErrorException(
            f"{function} expects {relation}, got min_value={low!r}, max_value={high!r}; {fix}"
        )


def _warn_if_constant(function: str, low: float, high: float, q: float) -> None:
    """A step wider than the range rounds every draw to one value: say so, with the value."""
    values = {round(low / q) * q, round(high / q) * q}
    if len(values) == 1:
        warnings.warn(
            f"{function}: every value is {values.pop()!r}, because the step q={q!r} is wider than "
            f"the range [{low:g}, {high:g}]; use a smaller q (q=1 for whole numbers)",
            UserWarning,
            stacklevel=3,
        )


def _check_q(function: str, q: Any) -> None:
    if not (_is_int(q) or (isinstance(q, float) and q.is_integer())):
        raise UserErrorException(
            f"{function} expects q to be an int (the step values are rounded to), got q={q!r}; "
            f"for a step below 1 rescale the parameter in the script, or use uniform()"
        )
    if q <= 0:
        raise UserErrorException(
            f"{function} expects q to be a positive int, got q={q!r}; e.g. q=1 for whole numbers"
        )


def _check_sigma(function: str, sigma: Any) -> None:
    _check_number(function, "sigma", sigma)
    if sigma < 0:
        raise UserErrorException(
            f"{function} expects sigma to be non negative (a standard deviation), got "
            f"sigma={sigma!r}; pass abs(sigma)"
        )


def _show_args(options: tuple[Any, ...]) -> str:
    text = "(" + ", ".join(repr(o) for o in options) + ")"
    return text if len(text) <= 120 else text[:117] + "...)"
