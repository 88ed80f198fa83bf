"""Counts: negative binomial rate ratio with exposure, Poisson with robust errors, ratio of means."""
from __future__ import annotations

import math
import warnings
from functools import partial

import numpy as np
import pandas as pd

from ..exceptions import ParameterError
from ._common import (check_alternative, check_column, check_frame, check_level, complete_cases, join_notes,
                      log_ci, missing_note, numeric, show, t_inference, treatment_vector)
from .results import CountResult

__all__ = ["negbin_rate_ratio", "poisson_robust", "ratio_of_means"]


def _prep(data, outcome, treatment, exposure, confidence_level, alternative):
    data = check_frame(data)
    level = check_level(confidence_level)
    alternative = check_alternative(alternative)
    check_column(data, outcome, "outcome")
    z = treatment_vector(data, treatment).astype(float)
    y = numeric(data, outcome, "outcome")
    if exposure is not None:
        check_column(data, exposure, "exposure")
        e = numeric(data, exposure, "exposure")
    else:
        e = np.ones(len(y))
    keep = complete_cases([y, e])
    with np.errstate(invalid="ignore"):
        bad_y = keep & ((y < 0) | (np.abs(y - np.round(y)) > 1e-9))
        bad_e = keep & (e <= 0)
    if bad_y.any():
        i = int(np.flatnonzero(bad_y)[0])
        raise ParameterError("outcome", f"column {outcome!r} must hold counts (whole numbers ≥ 0); data row {i + 1} "
                                        f"holds {show(y[i])}")
    if bad_e.any():
        i = int(np.flatnonzero(bad_e)[0])
        raise ParameterError("exposure", f"column {exposure!r} must be positive (person-years at risk); data row "
                                         f"{i + 1} holds {show(e[i])}")
    y, z, e = y[keep], z[keep], e[keep]
    inputs = dict(outcome=outcome, treatment=treatment, exposure=exposure, confidence_level=level,
                  alternative=alternative)
    n1, n0 = int((z == 1).sum()), int((z == 0).sum())
    r1 = y[z == 1].sum() / e[z == 1].sum() if n1 else math.nan
    r0 = y[z == 0].sum() / e[z == 0].sum() if n0 else math.nan
    common = dict(outcome=outcome, n_treatment=n1, n_control=n0, treatment_rate=r1, control_rate=r0,
                  confidence_level=level, alternative=alternative, inputs=inputs)
    return y, z, e, level, alternative, common, missing_note(int((~keep).sum()))


def _zero_arm(y, z):
    for arm, name in ((0, "kontrolgruppe"), (1, "deltagergruppe")):
        if (z == arm).sum() == 0:
            return f"no citizens in the {name}"
        if y[z == arm].sum() == 0:
            return (f"no events in the {name}: the rate ratio is 0 or infinite (the fit separates perfectly), "
                    "so no ratio or Wald test is reported; compare the counts directly or use "
                    "randomization inference")
    return ""


def _flat_rate(y, z, e) -> str:
    """Note when every citizen's rate (count / exposure) equals the arm's rate: robust SE 0, no test."""
    r = y / e
    for arm in (0, 1):
        ra = r[z == arm]
        if ra.size and not np.allclose(ra, ra[0], rtol=1e-12, atol=0.0):
            return ""
    return ("the rate (count / exposure) does not vary within either arm: the robust standard error is 0 "
            "(rounding noise), so there is no test (no p-value or interval)")


def _no_test(cls_kw, coef, method, note):
    return CountResult(estimate=math.exp(coef), coef=coef, std_error=0.0, method=method, note=note, **cls_kw)


def _finish(cls_kw, coef, se, alternative, level, method, note):
    stat, p, _, _ = t_inference(coef, se, math.inf, alternative, level)
    lo, hi = log_ci(coef, se, math.inf, alternative, level)
    return CountResult(estimate=math.exp(coef), coef=coef, std_error=se, statistic=stat, df=math.inf, p_value=p,
                       ci_low=lo, ci_high=hi, method=method, note=note,
                       _ci_fn=partial(log_ci, coef, se, math.inf, alternative), **cls_kw)


def negbin_rate_ratio(data: pd.DataFrame, *, outcome: str, treatment: str, exposure: str | None = None,
                      confidence_level: float = 0.95, alternative: str = "two-sided") -> CountResult:
    """Rate ratio from a negative binomial (NB2) regression with log exposure as offset.

    Notes
    -----
    :math:`y_i \\sim NB(\\mu_i, \\theta)`, :math:`\\log\\mu_i = \\log e_i + \\beta_0 + \\beta_1 z_i`,
    :math:`Var = \\mu + \\mu^2/\\theta`. :math:`\\theta` by maximum likelihood
    (statsmodels ``NegativeBinomial``), then the GLM at that :math:`\\theta` gives
    :math:`\\hat\\beta_1` with its Fisher-information standard error and a Wald
    z-test, as ``MASS::glm.nb(y ~ z + offset(log(e)))``. ``coef`` = log rate
    ratio, ``estimate`` = rate ratio, ``dispersion`` = :math:`\\theta`. No
    events in an arm (perfect separation) returns a result that says so.
    """
    import statsmodels.api as sm

    y, z, e, level, alternative, common, drop = _prep(data, outcome, treatment, exposure, confidence_level, alternative)
    common["estimator"] = "negbin"
    method = "negative binomial (NB2) rate ratio, log exposure offset, ML theta, Wald z (MASS::glm.nb)"
    if (gap := _zero_arm(y, z)):
        return CountResult(estimate=math.nan, method=method, note=join_notes(gap, drop), **common)
    X = np.column_stack([np.ones(len(y)), z])
    off = np.log(e)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        nb = sm.NegativeBinomial(y, X, offset=off, loglike_method="nb2").fit(disp=0, maxiter=200, method="bfgs")
        nb = sm.NegativeBinomial(y, X, offset=off, loglike_method="nb2").fit(
            start_params=nb.params, disp=0, maxiter=100, method="newton")
        alpha = float(nb.params[-1])
        if not (alpha > 1e-8):
            note = "no overdispersion (theta → ∞): the negative binomial reduces to Poisson"
            glm = sm.GLM(y, X, family=sm.families.Poisson(), offset=off).fit()
            return _finish(dict(**common, dispersion=math.inf), float(glm.params[1]), float(glm.bse[1]),
                           alternative, level, method, join_notes(note, drop))
        glm = sm.GLM(y, X, family=sm.families.NegativeBinomial(alpha=alpha), offset=off).fit(tol=1e-12)
    note = "" if nb.mle_retvals.get("converged", True) else "the likelihood did not converge: treat with care"
    return _finish(dict(**common, dispersion=1 / alpha), float(glm.params[1]), float(glm.bse[1]), alternative,
                   level, method, join_notes(note, drop))


def poisson_robust(data: pd.DataFrame, *, outcome: str, treatment: str, exposure: str | None = None,
                   confidence_level: float = 0.95, alternative: str = "two-sided") -> CountResult:
    """Rate ratio from Poisson regression with a log exposure offset and robust (HC0) errors.

    Notes
    -----
    Quasi-likelihood: consistent for the rate ratio whatever the overdispersion;
    sandwich :math:`V = A^{-1} B A^{-1}` with :math:`A = X'diag(\\mu)X`,
    :math:`B = X'diag((y-\\mu)^2)X` (as ``sandwich::vcovHC(type = "HC0")`` on
    ``glm(family = poisson)``; checked against the sandwich written out in R).
    """
    import statsmodels.api as sm

    y, z, e, level, alternative, common, drop = _prep(data, outcome, treatment, exposure, confidence_level, alternative)
    common["estimator"] = "poisson_robust"
    method = "Poisson rate ratio, log exposure offset, robust (HC0 sandwich) errors, Wald z"
    if (gap := _zero_arm(y, z)):
        return CountResult(estimate=math.nan, method=method, note=join_notes(gap, drop), **common)
    if (flat := _flat_rate(y, z, e)):
        return _no_test(common, math.log(common["treatment_rate"] / common["control_rate"]), method,
                        join_notes(flat, drop))
    X = np.column_stack([np.ones(len(y)), z])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = sm.GLM(y, X, family=sm.families.Poisson(), offset=np.log(e)).fit(cov_type="HC0", tol=1e-12)
    return _finish(common, float(fit.params[1]), float(fit.bse[1]), alternative, level, method, drop)


def ratio_of_means(data: pd.DataFrame, *, outcome: str, treatment: str, exposure: str | None = None,
                   confidence_level: float = 0.95, alternative: str = "two-sided") -> CountResult:
    """Ratio of rates (sum of counts / sum of exposure, treatment over control), delta method.

    Notes
    -----
    :math:`R_k = \\sum y / \\sum e` in arm k; linearised variance
    :math:`Var(\\log R_k) = \\sum_i (y_i - R_k e_i)^2 / (n_k(n_k-1)\\bar e_k^2 R_k^2)`;
    ``coef`` = :math:`\\log R_1 - \\log R_0` with a z-test. Without exposure this is the
    ratio of the arms' means. Equal to the Poisson estimate; its standard error
    differs from HC0 only by the factor :math:`n_k/(n_k-1)`.
    """
    y, z, e, level, alternative, common, drop = _prep(data, outcome, treatment, exposure, confidence_level, alternative)
    common["estimator"] = "ratio_of_means"
    method = "ratio of means (rates), delta-method standard error on the log scale, z-test"
    if (gap := _zero_arm(y, z)):
        return CountResult(estimate=math.nan, method=method, note=join_notes(gap, drop), **common)
    if (flat := _flat_rate(y, z, e)) and min(common["n_treatment"], common["n_control"]) > 1:
        return _no_test(common, math.log(common["treatment_rate"] / common["control_rate"]), method,
                        join_notes(flat, drop))
    var = 0.0
    for arm in (0, 1):
        ya, ea = y[z == arm], e[z == arm]
        nk = len(ya)
        if nk < 2:
            return CountResult(estimate=math.nan, method=method, note="an arm has a single citizen: no variance",
                               **common)
        R = ya.sum() / ea.sum()
        var += np.sum((ya - R * ea) ** 2) / (nk * (nk - 1) * ea.mean() ** 2 * R ** 2)
    coef = math.log(common["treatment_rate"] / common["control_rate"])
    return _finish(common, coef, math.sqrt(var), alternative, level, method, drop)
