"""Difference in means with the Neyman (HC2) standard error, plain and blocked."""
from __future__ import annotations

import math
from functools import partial

import numpy as np
import pandas as pd

from ._common import (check_alternative, check_column, check_frame, check_level, complete_cases, constant_note,
                      constant_within, join_notes, missing_note, numeric, t_ci, t_inference, treatment_vector)
from .results import DifferenceInMeansResult

__all__ = ["difference_in_means"]


def _neyman(y: np.ndarray, z: np.ndarray):
    y1, y0 = y[z == 1], y[z == 0]
    n1, n0 = len(y1), len(y0)
    m1, m0 = y1.mean() if n1 else math.nan, y0.mean() if n0 else math.nan
    v1 = y1.var(ddof=1) if n1 > 1 else math.nan
    v0 = y0.var(ddof=1) if n0 > 1 else math.nan
    return n1, n0, m1, m0, v1, v0


def difference_in_means(data: pd.DataFrame, *, outcome: str, treatment: str, blocks: str | None = None,
                        confidence_level: float = 0.95, alternative: str = "two-sided") -> DifferenceInMeansResult:
    """Difference in means (treatment − control) with the Neyman standard error.

    Parameters
    ----------
    data : DataFrame
        One row per citizen.
    outcome, treatment : str
        Outcome column and 0/1 assignment column (1 = deltagergruppe).
    blocks : str, optional
        Block (stratum) column: the blocked estimator for a stratified design.
    confidence_level : float
        Level of the interval.
    alternative : {"two-sided", "less", "greater"}
        Alternative of the t-test.

    Returns
    -------
    DifferenceInMeansResult

    Notes
    -----
    Plain: :math:`\\hat\\tau = \\bar y_1 - \\bar y_0`, :math:`SE^2 = s_1^2/n_1 + s_0^2/n_0`
    (equal to the HC2 standard error of the regression on the treatment dummy),
    Welch–Satterthwaite degrees of freedom
    :math:`df = SE^4 / [(s_1^2/n_1)^2/(n_1-1) + (s_0^2/n_0)^2/(n_0-1)]`.

    Blocked: :math:`\\hat\\tau = \\sum_j (N_j/N)\\hat\\tau_j`,
    :math:`SE^2 = \\sum_j (N_j/N)^2 SE_j^2` and :math:`df = N - 2J`; when every
    block is a matched pair (one treated, one control) the pair estimator
    :math:`SE^2 = J/((J-1)N^2)\\sum_j (N_j\\hat\\tau_j - N\\hat\\tau/J)^2` with
    :math:`df = J - 1`. Matches ``estimatr::difference_in_means(y ~ z, blocks = b)``.

    A block holding one arm only, or an arm with one citizen in a block larger
    than a pair, has no within-block variance: the result then carries the
    estimate with a ``note`` saying which block, and no standard error.

    References
    ----------
    Gerber & Green (2012), *Field Experiments*, ch. 3–4; estimatr's
    ``difference_in_means`` technical notes.

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({"z": [1, 1, 1, 0, 0, 0], "y": [3.0, 5.0, 4.0, 1.0, 2.0, 3.0]})
    >>> r = difference_in_means(d, outcome="y", treatment="z")
    >>> round(r.estimate, 6), round(r.std_error, 6), round(r.df, 6)
    (2.0, 0.816497, 4.0)
    """
    data = check_frame(data)
    level = check_level(confidence_level)
    alternative = check_alternative(alternative)
    check_column(data, outcome, "outcome")
    z_all = treatment_vector(data, treatment)
    y_all = numeric(data, outcome, "outcome")
    arrays = [y_all]
    if blocks is not None:
        check_column(data, blocks, "blocks")
        b_all = data[blocks].astype("string").to_numpy(dtype=object, na_value=None)
        arrays.append(np.array([np.nan if v is None else 0.0 for v in b_all]))
    keep = complete_cases(arrays)
    y, z = y_all[keep], z_all[keep]
    drop_note = missing_note(int((~keep).sum()))
    n1, n0, m1, m0, v1, v0 = _neyman(y, z)
    inputs = dict(outcome=outcome, treatment=treatment, blocks=blocks, confidence_level=level,
                  alternative=alternative)
    common = dict(estimator="difference_in_means", outcome=outcome, n_treatment=n1, n_control=n0,
                  control_mean=m0, treatment_mean=m1, confidence_level=level, alternative=alternative,
                  inputs=inputs)
    if n1 == 0 or n0 == 0:
        arm = "deltagergruppe" if n1 == 0 else "kontrolgruppe"
        return DifferenceInMeansResult(estimate=math.nan, method="difference in means", note=join_notes(
            f"no citizens with an observed outcome in the {arm}: no estimate", drop_note), **common)

    if blocks is None:
        est = m1 - m0
        note = constant_note(y, z)
        if note:
            # exact: a mean of copies of 3.7 need not be 3.7, and its variance is noise, not 0
            est, se, df = float(y[z == 1][0] - y[z == 0][0]), 0.0, math.nan
        elif n1 < 2 or n0 < 2:
            se, df = math.nan, math.nan
            note = "an arm has a single citizen: its variance, hence the standard error, is not defined"
        else:
            a, b = v1 / n1, v0 / n0
            se = math.sqrt(a + b)
            df = (a + b) ** 2 / (a ** 2 / (n1 - 1) + b ** 2 / (n0 - 1)) if a + b > 0 else math.nan
        method = "difference in means, Neyman (HC2) standard error, Welch df (estimatr::difference_in_means)"
        return _finish(est, se, df, method, join_notes(note, drop_note), common, level, alternative)

    bl = b_all[keep]
    frame = pd.DataFrame({"b": bl, "y": y, "z": z})
    g = frame.groupby("b", sort=True)
    parts = []
    for name, d in g:
        n1j, n0j, m1j, m0j, v1j, v0j = _neyman(d["y"].to_numpy(), d["z"].to_numpy())
        parts.append((name, n1j, n0j, m1j, m0j, v1j, v0j))
    one_arm = [p[0] for p in parts if p[1] == 0 or p[2] == 0]
    common["n_blocks"] = len(parts)
    method = "blocked difference in means (weights N_j/N), Neyman standard errors by block (estimatr)"
    if one_arm:
        names = ", ".join(map(str, one_arm[:5])) + (" …" if len(one_arm) > 5 else "")
        return DifferenceInMeansResult(
            estimate=math.nan, method=method, note=join_notes(
                f"block(s) {names} hold only one arm: the blocked estimator is not defined there "
                "(estimatr stops with an error); merge such blocks with a neighbour or drop them explicitly",
                drop_note), **common)
    nj = np.array([p[1] + p[2] for p in parts], dtype=float)
    tau_j = np.array([p[3] - p[4] for p in parts])
    N, J = nj.sum(), len(parts)
    w = nj / N
    est = float(w @ tau_j)
    pairs = np.array([p[1] == 1 and p[2] == 1 for p in parts])
    note = ""
    first = frame.groupby(["b", "z"], sort=True)["y"].first().unstack("z")
    exact_tau = (first[1] - first[0]).to_numpy(dtype=float)      # the block differences when cells are constant
    if y.min() == y.max() or (not pairs.any() and constant_within(y, bl.astype(str), z)) or (
            pairs.all() and J > 1 and exact_tau.min() == exact_tau.max()):
        # no variation left to estimate a variance from: the differences are exact, nothing to test
        est = float(w @ exact_tau) if np.any(exact_tau) else 0.0
        se, df = 0.0, math.nan
        note = constant_note(y, z) or ("every matched pair shows the same difference" if pairs.all() else
                                       "the outcome does not vary within any block and arm") + \
            ": standard error 0, no test"
        if pairs.all():
            method = "matched-pair difference in means (estimatr, pairs)"
    elif pairs.all():
        if J < 2:
            se, df = math.nan, math.nan
            note = "a single matched pair: no standard error"
        else:
            se = math.sqrt(J / ((J - 1) * N ** 2) * np.sum((nj * tau_j - N * est / J) ** 2))
            df = J - 1
        method = "matched-pair difference in means (estimatr, pairs)"
    elif pairs.any():
        se, df = math.nan, math.nan
        note = ("some blocks are matched pairs (1 treated, 1 control) and others are larger: "
                "no standard error is defined for this mix (estimatr stops here too)")
    else:
        vj = np.array([p[5] / p[1] + p[6] / p[2] for p in parts])
        if np.isnan(vj).any():
            bad = [str(parts[i][0]) for i in np.flatnonzero(np.isnan(vj))[:5]]
            se, df = math.nan, math.nan
            note = (f"block(s) {', '.join(bad)} have a single citizen in one arm: the within-block "
                    "variance, hence the standard error, is not defined")
        else:
            se = math.sqrt(float(np.sum(w ** 2 * vj)))
            df = N - 2 * J
    return _finish(est, se, df, method, join_notes(note, drop_note), common, level, alternative)


def _finish(est, se, df, method, note, common, level, alternative):
    stat, p, lo, hi = t_inference(est, se, df, alternative, level)
    return DifferenceInMeansResult(estimate=float(est), std_error=float(se), statistic=stat, df=float(df),
                                   p_value=p, ci_low=lo, ci_high=hi, method=method, note=note,
                                   _ci_fn=partial(_ci, est, se, df, alternative), **common)


def _ci(est, se, df, alternative, level):
    return t_ci(est, se, df, alternative, level)
