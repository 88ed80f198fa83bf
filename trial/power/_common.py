"""Argument validation and small shared pieces of :mod:`trial.power`."""
from __future__ import annotations

import math
from numbers import Integral, Real

from ..exceptions import ParameterError

ALTERNATIVES = ("two-sided", "less", "greater")
DIRECTIONS = ("increase", "decrease")


def check_alternative(alternative) -> str:
    if alternative not in ALTERNATIVES:
        raise ParameterError("alternative", f"must be one of {', '.join(map(repr, ALTERNATIVES))}; "
                                            f"got {alternative!r}")
    return alternative


def check_number(name: str, value, *, lo=None, hi=None, lo_open=True, hi_open=True,
                 allow_none=False) -> float | None:
    """A finite real number in an (open or closed) interval."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(float(value)):
        raise ParameterError(name, f"must be a finite number{_interval(lo, hi, lo_open, hi_open)}; got {value!r}")
    v = float(value)
    bad = ((lo is not None and (v <= lo if lo_open else v < lo))
           or (hi is not None and (v >= hi if hi_open else v > hi)))
    if bad:
        hint = ""
        if lo == 0 and hi == 1 and 1 < v <= 100:      # a percentage given for a share
            hint = f" (a share: {v / 100:g} for {v:g} %)"
        raise ParameterError(name, f"must be a number{_interval(lo, hi, lo_open, hi_open)}; got {value!r}{hint}")
    return v


def _interval(lo, hi, lo_open, hi_open) -> str:
    if lo is None and hi is None:
        return ""
    if hi is None:
        return f" {'above' if lo_open else 'at least'} {lo:g}"
    if lo is None:
        return f" {'below' if hi_open else 'at most'} {hi:g}"
    return f" in {'(' if lo_open else '['}{lo:g}, {hi:g}{')' if hi_open else ']'}"


def check_probability(name: str, value, allow_none=False) -> float | None:
    return check_number(name, value, lo=0.0, hi=1.0, allow_none=allow_none)


def check_alpha(alpha) -> float:
    return check_number("alpha", alpha, lo=0.0, hi=0.5, hi_open=False)


def check_power(power, allow_none=True) -> float | None:
    return check_number("power", power, lo=0.0, hi=1.0, allow_none=allow_none)


def check_power_above_alpha(target, alpha) -> None:
    """Refuse a target power at or below alpha: without any effect a test already rejects with probability
    about alpha, so such a target asks for no effect at all (the solver would return a difference of 0)."""
    if target is not None and alpha is not None and target <= alpha:
        raise ParameterError("power", f"must be above alpha ({alpha:g}): with no effect at all the test rejects "
                                      f"with probability about alpha; got {target:g}")


def check_n(name: str, value, *, minimum: int = 2, allow_none=False) -> int | None:
    """A whole number of citizens (at least ``minimum``)."""
    if value is None and allow_none:
        return None
    ok = (isinstance(value, Integral) and not isinstance(value, bool)) or (
        isinstance(value, float) and value.is_integer())
    if not ok or int(value) < minimum:
        raise ParameterError(name, f"must be a whole number of at least {minimum}; got {value!r}")
    return int(value)


def check_direction(direction, alternative: str) -> str:
    """Direction of the effect searched for by an MDE; fixed by one-sided alternatives."""
    if direction is None:
        return "decrease" if alternative == "less" else "increase"
    if direction not in DIRECTIONS:
        raise ParameterError("direction", f"must be 'increase' or 'decrease'; got {direction!r}")
    if (alternative == "greater" and direction == "decrease") or (alternative == "less" and direction == "increase"):
        raise ParameterError("direction", f"{direction!r} contradicts alternative={alternative!r}")
    return direction


def exactly_one_missing(**values) -> str:
    """Name of the single argument given as None (the one to solve for)."""
    missing = [k for k, v in values.items() if v is None]
    if len(missing) != 1:
        names = ", ".join(values)
        raise ParameterError(
            "/".join(values),
            f"exactly one of {names} must be left out (None) to be solved for; "
            f"got {len(missing)} left out ({', '.join(missing) or 'none'})")
    return missing[0]


def fmt(x, digits=3) -> str:
    if x is None:
        return "–"
    try:
        if not math.isfinite(float(x)):
            return "–"
    except (TypeError, ValueError):
        return str(x)
    return f"{float(x):.{digits}f}"
