"""Non-compliance: complier average causal effect by instrumental variables."""
from __future__ import annotations

import math
import warnings
from functools import partial

import numpy as np
import pandas as pd

from ._common import (check_alternative, check_column, check_frame, check_level, complete_cases, join_notes,
                      missing_note, numeric, t_ci, t_inference, treatment_vector)
from .results import IVResult

__all__ = ["complier_average_effect"]


def complier_average_effect(data: pd.DataFrame, *, outcome: str, treatment: str, takeup: str,
                            confidence_level: float = 0.95, alternative: str = "two-sided") -> IVResult:
    """Complier average causal effect (CACE): 2SLS of the outcome on take-up, instrumented by assignment.

    Parameters
    ----------
    takeup : str
        0/1 (or share) column: did the citizen actually receive the enhanced programme.

    Notes
    -----
    Wald/IV estimator :math:`\\hat\\tau_{CACE} = ITT_Y / ITT_D`
    (``linearmodels.IV2SLS`` with heteroskedasticity-robust errors, normal
    reference; like ``estimatr::iv_robust(y ~ d | z, se_type = "HC0")`` up to
    the df). First stage: :math:`ITT_D` and its robust F (= t²); F < 10 flags a
    weak instrument. Identifies the effect among compliers under monotonicity
    (no defiers) and the exclusion restriction.
    """
    from linearmodels.iv import IV2SLS
    import statsmodels.api as sm

    data = check_frame(data)
    level = check_level(confidence_level)
    alternative = check_alternative(alternative)
    check_column(data, outcome, "outcome")
    check_column(data, takeup, "takeup")
    z = treatment_vector(data, treatment).astype(float)
    y = numeric(data, outcome, "outcome")
    dcol = numeric(data, takeup, "takeup")
    keep = complete_cases([y, dcol])
    y, z, dcol = y[keep], z[keep], dcol[keep]
    n1, n0 = int((z == 1).sum()), int((z == 0).sum())
    inputs = dict(outcome=outcome, treatment=treatment, takeup=takeup, confidence_level=level, alternative=alternative)
    common = dict(estimator="complier_average_effect", outcome=outcome, n_treatment=n1, n_control=n0,
                  confidence_level=level, alternative=alternative, inputs=inputs,
                  method="complier average effect, 2SLS (linearmodels IV2SLS), robust errors")
    drop = missing_note(int((~keep).sum()))
    X = np.column_stack([np.ones(len(y)), z])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fs = sm.OLS(dcol, X).fit(cov_type="HC0")
        itt = sm.OLS(y, X).fit(cov_type="HC0")
    fs_est, fs_f = float(fs.params[1]), float(fs.tvalues[1] ** 2) if fs.bse[1] > 0 else math.nan
    if abs(fs_est) < 1e-12:
        return IVResult(estimate=math.nan, first_stage_estimate=fs_est, first_stage_f=fs_f,
                        itt_estimate=float(itt.params[1]), note=join_notes(
                            "assignment does not change take-up (first stage 0): the complier effect is not "
                            "identified", drop), **common)
    exog = pd.DataFrame({"const": np.ones(len(y))})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = IV2SLS(pd.Series(y, name="y"), exog, pd.DataFrame({"takeup": dcol}),
                     pd.DataFrame({"z": z})).fit(cov_type="robust")
    est, se = float(res.params["takeup"]), float(res.std_errors["takeup"])
    stat, p, lo, hi = t_inference(est, se, math.inf, alternative, level)
    note = "weak instrument (first-stage F < 10): the interval may be unreliable" if fs_f < 10 else ""
    return IVResult(estimate=est, std_error=se, statistic=stat, df=math.inf, p_value=p, ci_low=lo, ci_high=hi,
                    first_stage_estimate=fs_est, first_stage_f=fs_f, itt_estimate=float(itt.params[1]),
                    note=join_notes(note, drop), _ci_fn=partial(t_ci, est, se, math.inf, alternative), **common)
