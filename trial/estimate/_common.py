"""Private helpers: argument validation and t/z inference."""
from __future__ import annotations

import math
import re
from typing import Iterable, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from ..exceptions import ParameterError

ALTERNATIVES = ("two-sided", "less", "greater")
ARM_DA = {1: "deltagergruppe", 0: "kontrolgruppe"}


_CPR = re.compile(r"\b(\d{6})-?\d{4}\b")


def show(value) -> str:
    """A cell value for an error message: plain text, CPR-like numbers masked as DDMMYY-XXXX."""
    if isinstance(value, (np.generic,)):
        value = value.item()
    return _CPR.sub(lambda m: m.group(1) + "-XXXX", repr(value))


def check_level(confidence_level: float) -> float:
    try:
        lv = float(confidence_level)
    except (TypeError, ValueError):
        lv = math.nan
    if not (0 < lv < 1):
        raise ParameterError("confidence_level", f"must be a number in (0, 1); got {confidence_level!r}")
    return lv


def check_alternative(alternative: str) -> str:
    if alternative not in ALTERNATIVES:
        raise ParameterError("alternative", f"must be one of {', '.join(ALTERNATIVES)}; got {alternative!r}")
    return alternative


def check_frame(data) -> pd.DataFrame:
    if not isinstance(data, pd.DataFrame):
        raise ParameterError("data", f"must be a pandas DataFrame; got {type(data).__name__}")
    if len(data) == 0:
        raise ParameterError("data", "has no rows")
    return data


def check_column(data: pd.DataFrame, name, parameter: str) -> str:
    if not isinstance(name, str) or name not in data.columns:
        cols = ", ".join(map(str, data.columns))
        raise ParameterError(parameter, f"names column {name!r}, which is not in the data; columns are: {cols}")
    return name


def numeric(data: pd.DataFrame, name: str, parameter: str) -> np.ndarray:
    """Column as float64 (NaN for missing); non-numeric values are an error."""
    col = data[name]
    try:
        return pd.to_numeric(col, errors="raise").to_numpy(dtype=float, na_value=np.nan)
    except (ValueError, TypeError):
        bad = pd.to_numeric(col, errors="coerce").isna() & col.notna()
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise ParameterError(parameter, f"column {name!r} must be numeric; data row {row + 1} holds "
                             f"{show(col.iloc[row])}") from None


#: Text values accepted in a treatment column (case and surrounding spaces ignored): the protocol's arm
#: ids as the register writes them, and the usual spellings of 0/1.
TREATMENT_CODES = {"deltagergruppe": 1.0, "kontrolgruppe": 0.0, "treatment": 1.0, "control": 0.0,
                   "behandling": 1.0, "kontrol": 0.0, "1": 1.0, "0": 0.0, "1.0": 1.0, "0.0": 0.0,
                   "true": 1.0, "false": 0.0}


def treatment_vector(data: pd.DataFrame, treatment: str) -> np.ndarray:
    """The assignment as int8 (1 = deltagergruppe, 0 = kontrolgruppe); anything else is an error naming the value.

    Accepted: 0/1 numbers, True/False, or the protocol's arm ids ``deltagergruppe`` / ``kontrolgruppe``
    (as ``trial export`` and the register write them; case and surrounding spaces ignored).
    """
    check_column(data, treatment, "treatment")
    col = data[treatment]
    allowed = ("0 (kontrolgruppe) or 1 (deltagergruppe), True/False, or the arm ids deltagergruppe / "
               "kontrolgruppe")
    if pd.api.types.is_bool_dtype(col) or pd.api.types.is_numeric_dtype(col):
        z = pd.to_numeric(col).to_numpy(dtype=float, na_value=np.nan)
    else:
        text = col.astype("string").str.strip().str.lower()
        z = text.map(TREATMENT_CODES).to_numpy(dtype=float, na_value=np.nan)
    bad = ~np.isin(z, (0.0, 1.0))
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        val = col.iloc[row]
        held = "is empty" if pd.isna(val) else f"holds {show(val)}"
        raise ParameterError("treatment", f"column {treatment!r} must hold {allowed} in every row; data row "
                             f"{row + 1} {held}")
    if z.min() == z.max():
        raise ParameterError("treatment", f"column {treatment!r} holds only {ARM_DA[int(z[0])]} "
                             f"({int(z[0])}): both arms are needed (deltagergruppe = 1, kontrolgruppe = 0)")
    return z.astype(np.int8)


def binary_vector(y: np.ndarray, name: str) -> np.ndarray:
    ok = ~np.isnan(y)
    if not np.isin(y[ok], (0.0, 1.0)).all():
        bad = np.flatnonzero(ok & ~np.isin(y, (0.0, 1.0)))[0]
        raise ParameterError("outcome", f"column {name!r} must be 0/1 for this estimator; data row {bad + 1} "
                             f"holds {show(y[bad])}")
    return y


def covariate_matrix(data: pd.DataFrame, covariates: Sequence[str]) -> tuple[np.ndarray, list[str]]:
    """Numeric covariates as columns; text columns become 0/1 dummies (first level dropped)."""
    if isinstance(covariates, str):
        covariates = [c.strip() for c in covariates.split(",") if c.strip()]
    cols, names = [], []
    for c in covariates:
        check_column(data, c, "covariates")
        s = data[c]
        if pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s):
            cols.append(pd.to_numeric(s).to_numpy(dtype=float, na_value=np.nan))
            names.append(c)
        else:
            d = pd.get_dummies(s.astype("string"), prefix=c, drop_first=True, dtype=float)
            for dc in d.columns:
                cols.append(d[dc].to_numpy(dtype=float))
                names.append(dc)
    if not cols:
        return np.empty((len(data), 0)), []
    return np.column_stack(cols), names


def t_inference(estimate: float, se: float, df: float, alternative: str, level: float):
    """statistic, p-value, ci_low, ci_high for ``estimate/se`` against t(df) (df=inf: normal)."""
    if not (math.isfinite(se) and se > 0 and math.isfinite(estimate)):
        return math.nan, math.nan, math.nan, math.nan
    dist = stats.norm if not math.isfinite(df) else stats.t(df)
    t = estimate / se
    if alternative == "two-sided":
        p = 2 * dist.sf(abs(t))
        q = dist.ppf(1 - (1 - level) / 2)
        lo, hi = estimate - q * se, estimate + q * se
    elif alternative == "greater":
        p = dist.sf(t)
        lo, hi = estimate - dist.ppf(level) * se, math.inf
    else:
        p = dist.cdf(t)
        lo, hi = -math.inf, estimate + dist.ppf(level) * se
    return float(t), float(min(1.0, p)), float(lo), float(hi)


def t_ci(estimate: float, se: float, df: float, alternative: str, level: float):
    return t_inference(estimate, se, df, alternative, level)[2:]


def _exp(x: float) -> float:
    """exp that saturates at 0 and inf instead of overflowing (degenerate fits have huge SEs)."""
    if x == -math.inf:
        return 0.0
    try:
        return math.exp(x)
    except OverflowError:
        return math.inf


def log_ci(coef: float, se: float, df: float, alternative: str, level: float):
    lo, hi = t_ci(coef, se, df, alternative, level)
    return _exp(lo), _exp(hi)


def complete_cases(arrays: Iterable[np.ndarray]) -> np.ndarray:
    mask = None
    for a in arrays:
        m = ~np.isnan(a) if a.ndim == 1 else ~np.isnan(a).any(axis=1)
        mask = m if mask is None else mask & m
    return mask


def missing_note(n_dropped: int) -> str:
    if not n_dropped:
        return ""
    return ("1 row with a missing value was left out" if n_dropped == 1
            else f"{n_dropped} rows with a missing value were left out")


def join_notes(*notes: str) -> str:
    return "; ".join(n for n in notes if n)


def constant_within(y: np.ndarray, *groups: np.ndarray) -> bool:
    """True when ``y`` (no NaN) takes a single value within every cell of ``groups`` (exact equality).

    Exact comparison on purpose: a variance computed from a constant such as
    3.7 is floating-point noise (~1e-31), not zero, and a test on it is noise.
    """
    if len(y) == 0:
        return False
    if not groups:
        return bool(y.min() == y.max())
    key = pd.MultiIndex.from_arrays([np.asarray(g) for g in groups]) if len(groups) > 1 else np.asarray(groups[0])
    s = pd.Series(y).groupby(key)
    return bool((s.min() == s.max()).all())


def constant_note(y: np.ndarray, z: np.ndarray, what: str = "standard error 0") -> str:
    """Note for an outcome without variation (all citizens, or within each arm); '' when it varies."""
    if len(y) and y.min() == y.max():
        return (f"the outcome is the same for every citizen ({y[0]:g}): nothing varies, so there is no test "
                f"({what}, no p-value or interval)")
    if constant_within(y, z):
        return f"the outcome does not vary within either arm: {what}, no test"
    return ""
