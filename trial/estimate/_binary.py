"""Effects on 0/1 outcomes: risk difference, risk ratio, odds ratio; Fisher's and Boschloo's exact tests."""
from __future__ import annotations

import math
import warnings
from functools import partial

import numpy as np
import pandas as pd
from scipy import stats

from ._common import (binary_vector, check_alternative, check_column, check_frame, check_level,
                      join_notes, missing_note, numeric, treatment_vector)
from .results import BinaryResult

__all__ = ["risk_difference", "risk_ratio", "odds_ratio", "fisher_exact", "boschloo_exact"]


def _counts(data, outcome, treatment):
    data = check_frame(data)
    check_column(data, outcome, "outcome")
    z = treatment_vector(data, treatment)
    y = binary_vector(numeric(data, outcome, "outcome"), outcome)
    keep = ~np.isnan(y)
    y, z = y[keep], z[keep]
    n1, n0 = int((z == 1).sum()), int((z == 0).sum())
    x1, x0 = int(y[z == 1].sum()), int(y[z == 0].sum())
    return x1, n1, x0, n0, missing_note(int((~keep).sum()))


def _two_sided_level(level, alternative):
    return level if alternative == "two-sided" else 2 * level - 1


def _one_side(lo, hi, alternative, lower_limit, upper_limit):
    if alternative == "greater":
        return lo, upper_limit
    if alternative == "less":
        return lower_limit, hi
    return lo, hi


def _newcombe(x1, n1, x0, n0, alternative, level):
    from statsmodels.stats.proportion import confint_proportions_2indep

    lv = _two_sided_level(level, alternative)
    lo, hi = confint_proportions_2indep(x1, n1, x0, n0, method="newcomb", compare="diff", alpha=1 - lv)
    return _one_side(float(lo), float(hi), alternative, -1.0, 1.0)


def _score_ratio(x1, n1, x0, n0, alternative, level):
    from statsmodels.stats.proportion import confint_proportions_2indep

    lv = _two_sided_level(level, alternative)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lo, hi = confint_proportions_2indep(x1, n1, x0, n0, method="score", compare="ratio", alpha=1 - lv)
    return _one_side(float(lo), float(hi), alternative, 0.0, math.inf)


def _score_test(x1, n1, x0, n0, compare, alternative):
    from statsmodels.stats.proportion import test_proportions_2indep

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = test_proportions_2indep(x1, n1, x0, n0, method="score", compare=compare,
                                    alternative={"two-sided": "two-sided", "greater": "larger",
                                                 "less": "smaller"}[alternative])
    return float(r.statistic), float(r.pvalue)


def _fisher_p(x1, n1, x0, n0, alternative):
    return float(stats.fisher_exact([[x1, n1 - x1], [x0, n0 - x0]], alternative=alternative).pvalue)


def _base(x1, n1, x0, n0, level, alternative, inputs, estimator, outcome):
    return dict(estimator=estimator, outcome=outcome, n_treatment=n1, n_control=n0, events_treatment=x1,
                events_control=x0, treatment_mean=x1 / n1 if n1 else math.nan,
                control_mean=x0 / n0 if n0 else math.nan, confidence_level=level, alternative=alternative,
                inputs=inputs)


def _prep(data, outcome, treatment, confidence_level, alternative):
    level = check_level(confidence_level)
    alternative = check_alternative(alternative)
    x1, n1, x0, n0, drop = _counts(data, outcome, treatment)
    inputs = dict(outcome=outcome, treatment=treatment, confidence_level=level, alternative=alternative)
    return level, alternative, x1, n1, x0, n0, drop, inputs


def _same_for_all(value: bool, tail: str) -> str:
    """Note for a 0/1 outcome that is the same for every citizen: no test (as difference_in_means)."""
    return (f"the outcome is the same for every citizen ({int(value)}): nothing varies, so there is no test "
            f"(no p-value); {tail}")


def _no_arm(n1, n0):
    if n1 == 0 or n0 == 0:
        return "no citizen with an observed outcome in the " + ("deltagergruppe" if n1 == 0 else "kontrolgruppe")
    return ""


def risk_difference(data: pd.DataFrame, *, outcome: str, treatment: str, confidence_level: float = 0.95,
                    alternative: str = "two-sided") -> BinaryResult:
    """Risk difference (share treated − share control) with Newcombe's hybrid score interval.

    Notes
    -----
    :math:`\\hat\\delta = x_1/n_1 - x_0/n_0`. Interval: Newcombe (1998) method 10,
    built from the two Wilson score intervals :math:`[l_k, u_k]`:
    :math:`[\\hat\\delta - \\sqrt{(p_1-l_1)^2 + (u_0-p_0)^2},\\ \\hat\\delta + \\sqrt{(u_1-p_1)^2 + (p_0-l_0)^2}]`
    (R: Wilson limits from ``prop.test(x, n, correct = FALSE)``). Test: the
    Miettinen–Nurminen score test of no difference, which, unlike the Wald
    test, keeps its size with rare outcomes and zero cells. ``std_error`` is
    the unpooled Wald standard error, shown for reference.

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({"z": [1] * 10 + [0] * 10, "y": [1] * 3 + [0] * 17})
    >>> r = risk_difference(d, outcome="y", treatment="z")
    >>> round(r.estimate, 2), round(r.ci_low, 4), round(r.ci_high, 4)
    (0.3, -0.0376, 0.6032)
    """
    level, alternative, x1, n1, x0, n0, drop, inputs = _prep(data, outcome, treatment, confidence_level, alternative)
    base = _base(x1, n1, x0, n0, level, alternative, inputs, "risk_difference", outcome)
    method = "risk difference, Newcombe hybrid score interval, Miettinen–Nurminen score test"
    if (gap := _no_arm(n1, n0)):
        return BinaryResult(estimate=math.nan, method=method, note=join_notes(gap, drop), **base)
    p1, p0 = x1 / n1, x0 / n0
    est = p1 - p0
    se = math.sqrt(p1 * (1 - p1) / n1 + p0 * (1 - p0) / n0)
    lo, hi = _newcombe(x1, n1, x0, n0, alternative, level)
    note = ""
    if x1 + x0 == 0 or x1 + x0 == n1 + n0:
        stat, p = math.nan, math.nan
        note = _same_for_all(x1 + x0 > 0, "the Newcombe interval still bounds the difference")
    else:
        stat, p = _score_test(x1, n1, x0, n0, "diff", alternative)
    return BinaryResult(estimate=est, std_error=se, statistic=stat, df=math.inf, p_value=p, ci_low=lo, ci_high=hi,
                        method=method, note=join_notes(note, drop),
                        _ci_fn=partial(_newcombe, x1, n1, x0, n0, alternative), **base)


def risk_ratio(data: pd.DataFrame, *, outcome: str, treatment: str, confidence_level: float = 0.95,
               alternative: str = "two-sided") -> BinaryResult:
    """Risk ratio (share treated / share control) with the Miettinen–Nurminen score interval.

    Notes
    -----
    :math:`\\widehat{RR} = (x_1/n_1)/(x_0/n_0)`; ``coef`` = log RR with the
    Katz standard error :math:`\\sqrt{1/x_1 - 1/n_1 + 1/x_0 - 1/n_0}`. Interval:
    score interval of Miettinen & Nurminen (1985), the set of :math:`RR_0` with
    :math:`|p_1 - RR_0 p_0| / \\sqrt{(\\tilde p_1\\tilde q_1/n_1 + RR_0^2 \\tilde p_0\\tilde q_0/n_0) N/(N-1)} \\le z`
    at the restricted MLE (checked against a direct ``uniroot`` in R). Test: the
    matching score test of RR = 1. With no events in the kontrolgruppe the ratio
    is not defined: the result says so and reports Fisher's exact p-value.
    """
    level, alternative, x1, n1, x0, n0, drop, inputs = _prep(data, outcome, treatment, confidence_level, alternative)
    base = _base(x1, n1, x0, n0, level, alternative, inputs, "risk_ratio", outcome)
    method = "risk ratio, Miettinen–Nurminen score interval and test; coef = log ratio (Katz SE)"
    if (gap := _no_arm(n1, n0)):
        return BinaryResult(estimate=math.nan, method=method, note=join_notes(gap, drop), **base)
    if x1 + x0 == 0 or x1 + x0 == n1 + n0:
        return BinaryResult(estimate=1.0 if x1 else math.nan, method=method,
                            note=join_notes(_same_for_all(x1 > 0, "the ratio is 1" if x1 else
                                                          "the ratio 0/0 is not defined"), drop), **base)
    if x0 == 0 or x1 == 0:
        p = _fisher_p(x1, n1, x0, n0, alternative)
        lo, hi = _newcombe(x1, n1, x0, n0, alternative, level)
        which = ("kontrolgruppe" if x0 == 0 else "deltagergruppe") if x0 + x1 > 0 else "either arm"
        est = math.inf if x0 == 0 and x1 > 0 else (0.0 if x0 > 0 else math.nan)
        note = (f"no events in {which}: the risk ratio is not defined (its logarithm is infinite); "
                f"Fisher's exact p-value is reported (p = {p:.4g}) and the Newcombe interval for the risk "
                f"difference is [{lo:.4f}, {hi:.4f}]")
        return BinaryResult(estimate=est, p_value=p, method=method + "; Fisher's exact test (zero cell)",
                            note=join_notes(note, drop), **base)
    p1, p0 = x1 / n1, x0 / n0
    est = p1 / p0
    coef = math.log(est)
    se = math.sqrt(1 / x1 - 1 / n1 + 1 / x0 - 1 / n0)
    lo, hi = _score_ratio(x1, n1, x0, n0, alternative, level)
    stat, p = _score_test(x1, n1, x0, n0, "ratio", alternative)
    return BinaryResult(estimate=est, coef=coef, std_error=se, statistic=stat, df=math.inf, p_value=p,
                        ci_low=lo, ci_high=hi, method=method, note=drop,
                        _ci_fn=partial(_score_ratio, x1, n1, x0, n0, alternative), **base)


def _woolf_ci(coef, se, alternative, level):
    from ._common import log_ci

    return log_ci(coef, se, math.inf, alternative, level)


def odds_ratio(data: pd.DataFrame, *, outcome: str, treatment: str, confidence_level: float = 0.95,
               alternative: str = "two-sided") -> BinaryResult:
    """Sample odds ratio with the Woolf (log) interval and Wald test.

    Notes
    -----
    :math:`\\widehat{OR} = x_1(n_0-x_0) / ((n_1-x_1)x_0)`, ``coef`` = log OR with
    :math:`SE = \\sqrt{1/a + 1/b + 1/c + 1/d}`. A zero cell makes it undefined:
    the result then says so and reports the conditional MLE and Fisher's exact
    test (as :func:`fisher_exact`) instead.
    """
    level, alternative, x1, n1, x0, n0, drop, inputs = _prep(data, outcome, treatment, confidence_level, alternative)
    base = _base(x1, n1, x0, n0, level, alternative, inputs, "odds_ratio", outcome)
    method = "sample odds ratio, Woolf log interval, Wald test"
    if (gap := _no_arm(n1, n0)):
        return BinaryResult(estimate=math.nan, method=method, note=join_notes(gap, drop), **base)
    cells = (x1, n1 - x1, x0, n0 - x0)
    if min(cells) == 0:
        f = fisher_exact(data, outcome=outcome, treatment=treatment, confidence_level=level, alternative=alternative)
        note = ("a zero cell in the 2×2 table: the sample odds ratio and its log standard error are not "
                "defined; the conditional MLE with Fisher's exact interval and test are reported instead")
        return BinaryResult(**{**base, "estimator": "odds_ratio"}, estimate=f.estimate, p_value=f.p_value,
                            ci_low=f.ci_low, ci_high=f.ci_high, method=f.method, note=join_notes(note, f.note, drop),
                            _ci_fn=f._ci_fn)
    coef = math.log(x1 * (n0 - x0) / ((n1 - x1) * x0))
    se = math.sqrt(sum(1 / c for c in cells))
    from ._common import t_inference

    stat, p, _, _ = t_inference(coef, se, math.inf, alternative, level)
    lo, hi = _woolf_ci(coef, se, alternative, level)
    return BinaryResult(estimate=math.exp(coef), coef=coef, std_error=se, statistic=stat, df=math.inf, p_value=p,
                        ci_low=lo, ci_high=hi, method=method, note=drop,
                        _ci_fn=partial(_woolf_ci, coef, se, alternative), **base)


def _fisher_ci(table, alternative, level):
    from scipy.stats.contingency import odds_ratio as _or

    ci = _or(table, kind="conditional").confidence_interval(confidence_level=level, alternative=alternative)
    return float(ci.low), float(ci.high)


def fisher_exact(data: pd.DataFrame, *, outcome: str, treatment: str, confidence_level: float = 0.95,
                 alternative: str = "two-sided") -> BinaryResult:
    """Fisher's exact test with the conditional MLE of the odds ratio and its exact interval.

    Notes
    -----
    Table ``[[x1, n1 - x1], [x0, n0 - x0]]`` (rows: deltagergruppe, kontrolgruppe).
    Two-sided p-value: sum of hypergeometric probabilities not above the
    observed one (relative tolerance 1e-7); the estimate is the conditional
    maximum-likelihood odds ratio with the exact conditional interval. Matches
    ``stats::fisher.test``. Valid with zero cells (the estimate may be 0 or ∞).
    """
    level, alternative, x1, n1, x0, n0, drop, inputs = _prep(data, outcome, treatment, confidence_level, alternative)
    base = _base(x1, n1, x0, n0, level, alternative, inputs, "fisher", outcome)
    method = "Fisher's exact test; conditional MLE odds ratio with exact interval (stats::fisher.test)"
    if (gap := _no_arm(n1, n0)):
        return BinaryResult(estimate=math.nan, method=method, note=join_notes(gap, drop), **base)
    table = [[x1, n1 - x1], [x0, n0 - x0]]
    from scipy.stats.contingency import odds_ratio as _or

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = float(_or(table, kind="conditional").statistic)
        lo, hi = _fisher_ci(table, alternative, level)
    p = _fisher_p(x1, n1, x0, n0, alternative)
    note = ""
    if x1 + x0 == 0 or x1 + x0 == n1 + n0:
        note = _same_for_all(x1 + x0 > 0, "the odds ratio is not defined")
        est, lo, hi, p = math.nan, math.nan, math.nan, math.nan
    elif min(x1, n1 - x1, x0, n0 - x0) == 0:
        note = "a zero cell: the conditional MLE is at the boundary (0 or ∞); the exact interval and test are valid"
    coef = math.log(est) if est and math.isfinite(est) and est > 0 else math.nan
    return BinaryResult(estimate=est, coef=coef if math.isfinite(coef) else math.nan, p_value=p, ci_low=lo, ci_high=hi,
                        method=method, note=join_notes(note, drop),
                        _ci_fn=partial(_fisher_ci, table, alternative), **base)


def boschloo_exact(data: pd.DataFrame, *, outcome: str, treatment: str, confidence_level: float = 0.95,
                   alternative: str = "two-sided", sup_points: int = 32) -> BinaryResult:
    """Boschloo's exact unconditional test; estimate = risk difference with Newcombe interval.

    Notes
    -----
    Boschloo (1970): Fisher's p-value used as the statistic, maximised over
    the nuisance common proportion (``scipy.stats.boschloo_exact``); uniformly
    more powerful than Fisher's test. The columns passed to scipy are the arms
    (deltagergruppe first), so ``alternative="greater"`` means a higher share
    in the deltagergruppe.
    """
    level, alternative, x1, n1, x0, n0, drop, inputs = _prep(data, outcome, treatment, confidence_level, alternative)
    base = _base(x1, n1, x0, n0, level, alternative, inputs, "boschloo", outcome)
    method = "Boschloo's exact unconditional test (scipy); risk difference with Newcombe interval"
    if (gap := _no_arm(n1, n0)):
        return BinaryResult(estimate=math.nan, method=method, note=join_notes(gap, drop), **base)
    est = x1 / n1 - x0 / n0
    lo, hi = _newcombe(x1, n1, x0, n0, alternative, level)
    if x1 + x0 == 0 or x1 + x0 == n1 + n0:
        return BinaryResult(estimate=est, ci_low=lo, ci_high=hi, method=method, note=join_notes(
            _same_for_all(x1 + x0 > 0, "the Newcombe interval still bounds the difference"), drop),
            _ci_fn=partial(_newcombe, x1, n1, x0, n0, alternative), **base)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = stats.boschloo_exact([[x1, x0], [n1 - x1, n0 - x0]], alternative=alternative, n=sup_points)
    return BinaryResult(estimate=est, statistic=float(r.statistic), p_value=float(min(1.0, r.pvalue)),
                        ci_low=lo, ci_high=hi, method=method, note=drop,
                        _ci_fn=partial(_newcombe, x1, n1, x0, n0, alternative), **base)
