"""Time to employment: Kaplan–Meier by arm, log-rank test, Cox hazard ratio (Efron ties)."""
from __future__ import annotations

import math
import warnings
from functools import partial

import numpy as np
import pandas as pd
from scipy import stats

from ..exceptions import ParameterError
from ._common import (ARM_DA, check_alternative, check_column, check_frame, check_level, complete_cases,
                      join_notes, log_ci, missing_note, numeric, show, t_ci, t_inference, treatment_vector)
from .results import KaplanMeierResult, SurvivalResult

__all__ = ["kaplan_meier", "logrank", "cox"]


def _prep(data, time, event, treatment, confidence_level, alternative):
    data = check_frame(data)
    level = check_level(confidence_level)
    alternative = check_alternative(alternative)
    if time is None or event is None:
        raise ParameterError("time", "time-to-event estimators need both `time` and `event` columns")
    check_column(data, time, "time")
    check_column(data, event, "event")
    z = treatment_vector(data, treatment)
    t = numeric(data, time, "time")
    d = numeric(data, event, "event")
    keep = complete_cases([t, d])
    bad_d = keep & ~np.isin(d, (0, 1))
    if bad_d.any():
        i = int(np.flatnonzero(bad_d)[0])
        raise ParameterError("event", f"column {event!r} must be 0 (censored) or 1 (event); data row {i + 1} "
                                      f"holds {show(d[i])}")
    with np.errstate(invalid="ignore"):
        bad_t = keep & (t < 0)
    if bad_t.any():
        i = int(np.flatnonzero(bad_t)[0])
        raise ParameterError("time", f"column {time!r} must be ≥ 0; data row {i + 1} holds {show(t[i])}")
    t, d, z = t[keep], d[keep], z[keep]
    inputs = dict(time=time, event=event, treatment=treatment, confidence_level=level, alternative=alternative)
    common = dict(outcome=time, n_treatment=int((z == 1).sum()), n_control=int((z == 0).sum()),
                  confidence_level=level, alternative=alternative, inputs=inputs)
    return t, d.astype(int), z, level, alternative, common, missing_note(int((~keep).sum()))


def _km_table(t, d):
    """Kaplan–Meier at each distinct event time with Greenwood variance."""
    times = np.unique(t[d == 1])
    n_risk = (t[None, :] >= times[:, None]).sum(axis=1)
    n_event = ((t[None, :] == times[:, None]) & (d[None, :] == 1)).sum(axis=1)
    s = np.cumprod(1 - n_event / n_risk)
    with np.errstate(divide="ignore", invalid="ignore"):
        gw = np.cumsum(n_event / (n_risk * (n_risk - n_event)))
        se = np.where(s > 0, s * np.sqrt(gw), 0.0)        # S = 0: Greenwood term is inf·0
    return times, n_risk, n_event, s, se


def _step_at(times, values, at, start):
    if len(times) == 0:
        return np.asarray(start, dtype=float)
    i = np.searchsorted(times, at, side="right") - 1
    return np.where(i >= 0, values[np.clip(i, 0, None)], start)


def _km_ci(s, se, level):
    """R's default ``conf.type = "log"``: exp(log S ± z SE/S), capped at 1."""
    q = stats.norm.ppf(1 - (1 - level) / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        lo = np.exp(np.log(s) - q * se / s)
        hi = np.minimum(1.0, np.exp(np.log(s) + q * se / s))
    return np.where(s > 0, lo, np.nan), np.where(s > 0, hi, np.nan)


def kaplan_meier(data: pd.DataFrame, *, time: str, event: str, treatment: str, horizon: float | None = None,
                 confidence_level: float = 0.95, alternative: str = "two-sided") -> KaplanMeierResult:
    """Kaplan–Meier curves by arm and the difference in the share with the event by ``horizon``.

    Notes
    -----
    :math:`\\hat S(t) = \\prod_{t_i \\le t}(1 - d_i/n_i)`, Greenwood
    :math:`SE = \\hat S\\sqrt{\\sum d_i/(n_i(n_i-d_i))}`, log-type pointwise
    intervals (R's ``survfit`` default). Estimate: :math:`\\hat F_1(h) - \\hat F_0(h)`
    with :math:`F = 1 - S` (share employed by week h, treatment − control),
    z-test with the two Greenwood variances. ``horizon`` defaults to the last
    time both arms are still observed. Curves in ``table``; matches
    ``summary(survfit(Surv(time, event) ~ z), times = ...)``.
    """
    t, d, z, level, alternative, common, drop = _prep(data, time, event, treatment, confidence_level, alternative)
    rows = []
    at_h = {}
    h = float(horizon) if horizon is not None else float(min(t[z == 1].max(), t[z == 0].max()))
    for arm in (0, 1):
        ta, da = t[z == arm], d[z == arm]
        times, nr, ne, s, se = _km_table(ta, da)
        lo, hi = _km_ci(s, se, level)
        rows.append(pd.DataFrame({"arm": ARM_DA[arm], "treatment": arm, "time": times, "n_risk": nr,
                                  "n_event": ne, "survival": s, "std_error": se, "ci_low": lo, "ci_high": hi}))
        at_h[arm] = (float(_step_at(times, s, h, 1.0)), float(_step_at(times, se, h, 0.0)))
    table = pd.concat(rows, ignore_index=True)
    est = (1 - at_h[1][0]) - (1 - at_h[0][0])
    se = math.sqrt(at_h[1][1] ** 2 + at_h[0][1] ** 2)
    note = ""
    if d.sum() == 0:
        note = "every citizen is censored (no events): the curves stay at 1 and there is no difference to test"
    stat, p, lo, hi = t_inference(est, se, math.inf, alternative, level)
    return KaplanMeierResult(estimator="kaplan_meier", estimate=est, std_error=se, statistic=stat,
                             df=math.inf if math.isfinite(p) else math.nan, p_value=p, ci_low=lo, ci_high=hi,
                             method="Kaplan–Meier by arm (Greenwood); difference in share with the event by the "
                                    "horizon, z-test (survival::survfit)", horizon=h, table=table,
                             note=join_notes(note, drop), _ci_fn=partial(t_ci, est, se, math.inf, alternative),
                             **common)


def logrank(data: pd.DataFrame, *, time: str, event: str, treatment: str, confidence_level: float = 0.95,
            alternative: str = "two-sided") -> SurvivalResult:
    """Log-rank test; the estimate is the Peto (O/E) hazard ratio.

    Notes
    -----
    At each event time: :math:`E_1 = d\\,n_1/n`,
    :math:`V = d (n_1/n)(1 - n_1/n)(n-d)/(n-1)`; :math:`\\chi^2 = (O_1-E_1)^2/\\sum V`
    on 1 df (``survival::survdiff``). One-sided p-values use
    :math:`(O_1-E_1)/\\sqrt V` against the normal. Estimate
    :math:`(O_1/E_1)/(O_0/E_0)` with :math:`SE(\\log) = \\sqrt{1/E_1 + 1/E_0}`.
    """
    t, d, z, level, alternative, common, drop = _prep(data, time, event, treatment, confidence_level, alternative)
    base = dict(estimator="logrank", method="log-rank test (survival::survdiff); Peto O/E hazard ratio",
                events_treatment=int(d[z == 1].sum()), events_control=int(d[z == 0].sum()), **common)
    if d.sum() == 0:
        return SurvivalResult(estimate=math.nan, note=join_notes(
            "every citizen is censored (no events): the log-rank test has nothing to compare", drop), **base)
    times = np.unique(t[d == 1])
    at_risk = t[None, :] >= times[:, None]
    ev = (t[None, :] == times[:, None]) & (d[None, :] == 1)
    n = at_risk.sum(1).astype(float)
    n1 = (at_risk & (z[None, :] == 1)).sum(1).astype(float)
    dd = ev.sum(1).astype(float)
    o1 = float((ev & (z[None, :] == 1)).sum())
    e1 = float(np.sum(dd * n1 / n))
    with np.errstate(divide="ignore", invalid="ignore"):
        v = float(np.sum(np.where(n > 1, dd * (n1 / n) * (1 - n1 / n) * (n - dd) / (n - 1), 0.0)))
    o0, e0 = float(dd.sum()) - o1, float(dd.sum()) - e1
    if v <= 0:
        return SurvivalResult(estimate=math.nan, note=join_notes("no variance: no event while both arms were at risk",
                                                                  drop), **base)
    chisq = (o1 - e1) ** 2 / v
    zs = (o1 - e1) / math.sqrt(v)
    p = {"two-sided": stats.chi2.sf(chisq, 1), "greater": stats.norm.sf(zs), "less": stats.norm.cdf(zs)}[alternative]
    note = ""
    if o1 == 0 or o0 == 0:
        note = (f"no events in the {'deltagergruppe' if o1 == 0 else 'kontrolgruppe'}: the test is valid but the "
                "O/E hazard ratio is 0 or infinite")
        return SurvivalResult(estimate=0.0 if o1 == 0 else math.inf, statistic=chisq, df=1.0, p_value=float(p),
                              note=join_notes(note, drop), **base)
    coef = math.log((o1 / e1) / (o0 / e0))
    se = math.sqrt(1 / e1 + 1 / e0)
    lo, hi = log_ci(coef, se, math.inf, alternative, level)
    return SurvivalResult(estimate=math.exp(coef), coef=coef, std_error=se, statistic=chisq, df=1.0,
                          p_value=float(p), ci_low=lo, ci_high=hi, note=drop,
                          _ci_fn=partial(log_ci, coef, se, math.inf, alternative), **base)


def cox(data: pd.DataFrame, *, time: str, event: str, treatment: str, confidence_level: float = 0.95,
        alternative: str = "two-sided") -> SurvivalResult:
    """Cox proportional-hazards hazard ratio of assignment, Efron's method for ties.

    Notes
    -----
    Partial likelihood with Efron's tie correction (statsmodels ``PHReg(ties="efron")``),
    model-based standard error, Wald z; matches
    ``survival::coxph(Surv(time, event) ~ z, ties = "efron")``. ``coef`` = log HR.
    With no events in an arm the partial likelihood is monotone (the HR runs
    to 0 or ∞): the result says so and reports the log-rank p-value instead.
    """
    from statsmodels.duration.hazard_regression import PHReg

    t, d, z, level, alternative, common, drop = _prep(data, time, event, treatment, confidence_level, alternative)
    base = dict(estimator="cox", method="Cox proportional hazards, Efron ties, Wald z (survival::coxph)",
                events_treatment=int(d[z == 1].sum()), events_control=int(d[z == 0].sum()), **common)
    if d.sum() == 0:
        return SurvivalResult(estimate=math.nan, note=join_notes(
            "every citizen is censored (no events): no hazard ratio can be estimated", drop), **base)
    if base["events_treatment"] == 0 or base["events_control"] == 0:
        lr = logrank(data, time=time, event=event, treatment=treatment, confidence_level=level, alternative=alternative)
        arm = "deltagergruppe" if base["events_treatment"] == 0 else "kontrolgruppe"
        return SurvivalResult(estimate=0.0 if arm == "deltagergruppe" else math.inf, p_value=lr.p_value, note=join_notes(
            f"no events in the {arm}: the Cox likelihood is monotone (hazard ratio 0 or ∞, no finite estimate); "
            f"the log-rank p-value is reported (p = {lr.p_value:.4g})", drop), **base)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = PHReg(t, z[:, None].astype(float), status=d, ties="efron").fit(gtol=1e-12)
    coef, se = float(fit.params[0]), float(fit.bse[0])
    stat, p, _, _ = t_inference(coef, se, math.inf, alternative, level)
    lo, hi = log_ci(coef, se, math.inf, alternative, level)
    return SurvivalResult(estimate=math.exp(coef), coef=coef, std_error=se, statistic=stat, df=math.inf,
                          p_value=p, ci_low=lo, ci_high=hi, note=drop,
                          _ci_fn=partial(log_ci, coef, se, math.inf, alternative), **base)
