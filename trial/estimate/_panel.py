"""Weekly panel: share self-supporting per week by arm; effects by period, errors clustered by citizen."""
from __future__ import annotations

import math
import warnings
from functools import partial

import pandas as pd

from ..exceptions import ParameterError
from ._common import (ARM_DA, check_alternative, check_column, check_frame, check_level, t_ci, t_inference,
                      treatment_vector, numeric, binary_vector)
from .results import PanelResult

__all__ = ["panel_effects"]


def panel_effects(panel: pd.DataFrame, *, outcome: str, treatment: str, unit: str = "pseudonym",
                  week: str = "week", period_weeks: int = 13, confidence_level: float = 0.95,
                  alternative: str = "two-sided") -> PanelResult:
    """Share in a status per week by arm, and the effect by period with errors clustered by citizen.

    Parameters
    ----------
    panel : DataFrame
        One row per citizen per week: ``unit``, ``week``, ``treatment`` (0/1,
        constant within citizen) and the 0/1 ``outcome`` (e.g. self-supporting).
    period_weeks : int
        Length of a period (13 = a quarter, the steering group's rhythm).

    Returns
    -------
    PanelResult
        Base columns: pooled effect over all weeks; ``weekly`` and ``periods`` tables.

    Notes
    -----
    Pooled: :math:`y_{it} = a + \\tau z_i + e_{it}`; by period p:
    :math:`y_{it} = \\sum_p a_p 1[t \\in p] + \\sum_p \\tau_p z_i 1[t \\in p] + e_{it}`,
    both by ``linearmodels.PanelOLS`` with ``cov_type="clustered", cluster_entity=True``
    (CR0 sandwich over citizens times linearmodels' factor :math:`N/(N-k)`, N
    citizen-weeks), normal reference. With a balanced panel the pooled
    estimate is the difference in the citizens' average weekly shares and its
    clustered standard error equals the HC0 standard error of that difference
    times :math:`\\sqrt{N/(N-k)}` (tested). Weekly shares carry Wilson intervals.
    """
    from linearmodels.panel import PanelOLS
    from statsmodels.stats.proportion import proportion_confint

    panel = check_frame(panel)
    level = check_level(confidence_level)
    alternative = check_alternative(alternative)
    for col, par in ((outcome, "outcome"), (unit, "unit"), (week, "week")):
        check_column(panel, col, par)
    if int(period_weeks) < 1:
        raise ParameterError("period_weeks", f"must be a whole number ≥ 1; got {period_weeks!r}")
    z = treatment_vector(panel, treatment).astype(float)
    y = binary_vector(numeric(panel, outcome, "outcome"), outcome)
    w = numeric(panel, week, "week")
    df = pd.DataFrame({"unit": panel[unit].astype("string").to_numpy(), "week": w, "z": z, "y": y}).dropna()
    if df.groupby("unit")["z"].nunique().max() > 1:
        raise ParameterError("treatment", f"column {treatment!r} must be constant within each {unit!r}")
    if df.duplicated(["unit", "week"]).any():
        raise ParameterError("week", f"each ({unit}, {week}) pair must appear once")
    df["week"] = df["week"].astype(int)
    df["period"] = (df["week"] - 1) // int(period_weeks) + 1
    g = df.groupby(["week", "z"])["y"].agg(["sum", "count"]).reset_index()
    lo, hi = proportion_confint(g["sum"], g["count"], alpha=1 - level, method="wilson")
    weekly = pd.DataFrame({"week": g["week"], "arm": g["z"].map({1.0: ARM_DA[1], 0.0: ARM_DA[0]}),
                           "n": g["count"].astype(int), "share": g["sum"] / g["count"], "ci_low": lo, "ci_high": hi})
    idx = df.set_index(["unit", "week"]).sort_index()
    n1 = int(idx.groupby(level=0)["z"].first().sum())
    n0 = int(idx.index.get_level_values(0).nunique()) - n1
    inputs = dict(outcome=outcome, treatment=treatment, unit=unit, week=week, period_weeks=int(period_weeks),
                  confidence_level=level, alternative=alternative)
    common = dict(estimator="panel_effects", outcome=outcome, n_treatment=n1, n_control=n0,
                  confidence_level=level, alternative=alternative, inputs=inputs, weekly=weekly,
                  method="PanelOLS (linearmodels), errors clustered by citizen; pooled over all weeks")
    if idx["y"].nunique() < 2:
        return PanelResult(estimate=float(idx["y"].mean() * 0), periods=pd.DataFrame(), note=(
            "the status never varies (every week the same for everyone): effect 0 with no variance to test"),
            **common)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        X = pd.DataFrame({"const": 1.0, "z": idx["z"]}, index=idx.index)
        pooled = PanelOLS(idx["y"], X).fit(cov_type="clustered", cluster_entity=True)
        periods = sorted(idx["period"].unique())
        P = pd.get_dummies(idx["period"], prefix="p", dtype=float)
        ZP = P.mul(idx["z"], axis=0).add_prefix("z_")
        byp = PanelOLS(idx["y"], pd.concat([P, ZP], axis=1)).fit(cov_type="clustered", cluster_entity=True)
    est, se = float(pooled.params["z"]), float(pooled.std_errors["z"])
    rows = []
    for p in periods:
        name = f"z_p_{p}"
        e_, s_ = float(byp.params[name]), float(byp.std_errors[name])
        st, pv, l_, h_ = t_inference(e_, s_, math.inf, alternative, level)
        wk = idx.index.get_level_values(1)[idx["period"] == p]
        rows.append(dict(period=int(p), first_week=int(wk.min()), last_week=int(wk.max()), estimate=e_,
                         std_error=s_, statistic=st, p_value=pv, ci_low=l_, ci_high=h_))
    stat, p, lo_, hi_ = t_inference(est, se, math.inf, alternative, level)
    return PanelResult(estimate=est, std_error=se, statistic=stat, df=math.inf, p_value=p, ci_low=lo_, ci_high=hi_,
                       periods=pd.DataFrame(rows), _ci_fn=partial(t_ci, est, se, math.inf, alternative), **common)
