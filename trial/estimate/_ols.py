"""Linear regression with heteroskedasticity-robust errors: OLS, ANCOVA, Lin (2013)."""
from __future__ import annotations

import math
import warnings
from functools import partial
from typing import Sequence

import numpy as np
import pandas as pd

from ..exceptions import ParameterError
from ._common import (check_alternative, check_column, check_frame, check_level, complete_cases,
                      constant_note, covariate_matrix, join_notes, missing_note, numeric, t_ci, t_inference,
                      treatment_vector)
from .results import OLSResult

__all__ = ["ols_robust", "ancova", "lin_adjusted"]

SE_TYPES = ("HC0", "HC1", "HC2", "HC3")


def _fit(y, X, names, se_type):
    """Coefficients, robust covariance, leverage problem text. Pure numpy (validated against lm_robust)."""
    import statsmodels.api as sm

    n, k = X.shape
    rank = np.linalg.matrix_rank(X)
    if rank < k:
        return None, f"the design is collinear (rank {rank} < {k} columns): drop a covariate"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = sm.OLS(y, X).fit(cov_type=se_type, use_t=True)
    note = ""
    if se_type in ("HC2", "HC3"):
        h = res.get_influence().hat_matrix_diag
        bad = np.flatnonzero(h > 1 - 1e-10)
        if bad.size:
            note = (f"{bad.size} citizen(s) have leverage 1 (e.g. the only one in a covariate category): "
                    f"{se_type} divides by 1 − h = 0, so its standard error is not defined "
                    "(estimatr issue #395); use HC1 or merge the category")
            return (res, None), note
    return (res, res.cov_params()), note


def ols_robust(data: pd.DataFrame, *, outcome: str, treatment: str, covariates: Sequence[str] = (),
               se_type: str = "HC2", confidence_level: float = 0.95, alternative: str = "two-sided",
               _lin: bool = False, _estimator: str | None = None) -> OLSResult:
    """OLS of the outcome on assignment (and covariates) with HC0–HC3 standard errors.

    Parameters
    ----------
    data : DataFrame
    outcome, treatment : str
    covariates : sequence of str
        Additive covariates (text columns become dummies).
    se_type : {"HC0", "HC1", "HC2", "HC3"}
    confidence_level : float
    alternative : {"two-sided", "less", "greater"}

    Returns
    -------
    OLSResult
        The treatment coefficient; ``coefficients`` holds the whole table.

    Notes
    -----
    :math:`\\hat\\beta = (X'X)^{-1}X'y`, :math:`V = (X'X)^{-1} X' \\Omega X (X'X)^{-1}` with
    :math:`\\Omega = diag(e_i^2)` (HC0), :math:`\\times n/(n-k)` (HC1),
    :math:`e_i^2/(1-h_{ii})` (HC2), :math:`e_i^2/(1-h_{ii})^2` (HC3); t-test with
    :math:`n - k` degrees of freedom. Matches ``estimatr::lm_robust(se_type = ...)``.
    When a citizen has leverage 1 (HC2/HC3) the standard error is undefined
    and the result says so (estimatr issue #395).

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({"z": [1, 1, 1, 0, 0, 0], "y": [3.0, 5.0, 4.0, 1.0, 2.0, 3.0]})
    >>> round(ols_robust(d, outcome="y", treatment="z").std_error, 6)
    0.816497
    """
    data = check_frame(data)
    level = check_level(confidence_level)
    alternative = check_alternative(alternative)
    se_type = str(se_type).upper()
    if se_type not in SE_TYPES:
        raise ParameterError("se_type", f"must be one of {', '.join(SE_TYPES)}; got {se_type!r}")
    check_column(data, outcome, "outcome")
    z_all = treatment_vector(data, treatment).astype(float)
    y_all = numeric(data, outcome, "outcome")
    if isinstance(covariates, str):
        covariates = [c.strip() for c in covariates.split(",") if c.strip()]
    covariates = tuple(covariates)
    C_all, cnames = covariate_matrix(data, covariates)
    keep = complete_cases([y_all, C_all] if C_all.shape[1] else [y_all])
    y, z, C = y_all[keep], z_all[keep], C_all[keep]
    n1, n0 = int((z == 1).sum()), int((z == 0).sum())
    if _lin and C.shape[1]:
        Cc = C - C.mean(axis=0)
        X = np.column_stack([np.ones(len(y)), z, Cc, Cc * z[:, None]])
        names = ["(Intercept)", treatment, *[f"{c}_c" for c in cnames], *[f"{treatment}:{c}_c" for c in cnames]]
    else:
        X = np.column_stack([np.ones(len(y)), z, C]) if C.shape[1] else np.column_stack([np.ones(len(y)), z])
        names = ["(Intercept)", treatment, *cnames]
    if _estimator is None:
        _estimator = ("lin_" if _lin else ("ancova_" if covariates else "ols_")) + se_type.lower()
    if _lin:
        method = f"Lin (2013) interacted regression, covariates centred, {se_type} (estimatr::lm_lin)"
    else:
        method = f"OLS{' with covariates' if covariates else ''}, {se_type} standard errors (estimatr::lm_robust)"
    inputs = dict(outcome=outcome, treatment=treatment, covariates=covariates, se_type=se_type,
                  confidence_level=level, alternative=alternative)
    common = dict(estimator=_estimator, outcome=outcome, n_treatment=n1, n_control=n0, method=method,
                  confidence_level=level, alternative=alternative, se_type=se_type, covariates=covariates,
                  inputs=inputs)
    drop = missing_note(int((~keep).sum()))
    if n1 == 0 or n0 == 0:
        return OLSResult(estimate=math.nan, note=join_notes("an arm has no citizen with all values observed", drop),
                         **common)
    fitted, note = _fit(y, X, names, se_type)
    if fitted is None:
        return OLSResult(estimate=math.nan, note=join_notes(note, drop), **common)
    res, cov = fitted
    beta = np.asarray(res.params)
    df = float(len(y) - X.shape[1])
    se_all = np.sqrt(np.diag(cov)) if cov is not None else np.full(len(beta), math.nan)
    table = pd.DataFrame({"term": names, "estimate": beta, "std_error": se_all})
    est, se = float(beta[1]), float(se_all[1])
    flat = constant_note(y, z)
    if not flat:
        resid = np.asarray(res.resid)
        spread = float(np.max(np.abs(y - y.mean())))
        if np.max(np.abs(resid)) <= 1e-9 * spread:
            flat = "the model fits every citizen exactly (no residual variation): standard error 0, no test"
    if flat:
        # no residual variation: the robust variance is rounding noise (~1e-32), not a variance to test with
        if not np.isnan(se):
            se = 0.0
        if flat.startswith("the outcome"):   # constant within each arm: y = a + tau z exactly, covariates 0
            est = float(y[z == 1][0] - y[z == 0][0])
            beta = np.zeros(len(beta))
            beta[0], beta[1] = y[z == 0][0], est
        table = pd.DataFrame({"term": names, "estimate": beta,
                              "std_error": np.where(np.isnan(se_all), np.nan, 0.0)})
        note = join_notes(note, flat)
        df_ = df if df > 0 else math.nan
        return OLSResult(estimate=est, std_error=se, df=df_, note=join_notes(note, drop), coefficients=table,
                         _ci_fn=partial(t_ci, est, math.nan, df_, alternative), **common)
    if df <= 0:
        note = join_notes(note, f"no residual degrees of freedom (n {len(y)}, {X.shape[1]} parameters)")
        se = math.nan
    stat, p, lo, hi = t_inference(est, se, df, alternative, level)
    return OLSResult(estimate=est, std_error=se, statistic=stat, df=df, p_value=p, ci_low=lo, ci_high=hi,
                     note=join_notes(note, drop), coefficients=table,
                     _ci_fn=partial(t_ci, est, se, df, alternative), **common)


def ancova(data: pd.DataFrame, *, outcome: str, treatment: str, covariates: Sequence[str],
           se_type: str = "HC2", confidence_level: float = 0.95, alternative: str = "two-sided") -> OLSResult:
    """Covariate-adjusted effect (ANCOVA): OLS with additive covariates, HC2 by default.

    Notes
    -----
    Same as :func:`ols_robust` with ``covariates``; matches
    ``estimatr::lm_robust(y ~ z + x1 + x2, se_type = "HC2")``.
    """
    if not covariates:
        raise ParameterError("covariates", "ANCOVA needs at least one covariate; got none")
    return ols_robust(data, outcome=outcome, treatment=treatment, covariates=covariates, se_type=se_type,
                      confidence_level=confidence_level, alternative=alternative,
                      _estimator=f"ancova_{str(se_type).lower()}")


def lin_adjusted(data: pd.DataFrame, *, outcome: str, treatment: str, covariates: Sequence[str],
                 se_type: str = "HC2", confidence_level: float = 0.95,
                 alternative: str = "two-sided") -> OLSResult:
    """Lin's (2013) interacted covariate adjustment with HC2 standard errors.

    Notes
    -----
    Covariates are centred at their sample means :math:`\\tilde x = x - \\bar x` and
    interacted with assignment: :math:`y = a + \\tau z + \\tilde x'b + z\\,\\tilde x'c + e`;
    :math:`\\hat\\tau` is the effect, with HC2 errors and :math:`n - k` df.
    Matches ``estimatr::lm_lin(y ~ z, covariates = ~ x1 + x2)``.

    References
    ----------
    Lin, W. (2013). Agnostic notes on regression adjustments to experimental
    data. *Annals of Applied Statistics* 7(1), 295–318.
    """
    if not covariates:
        raise ParameterError("covariates", "Lin's estimator needs at least one covariate; got none")
    return ols_robust(data, outcome=outcome, treatment=treatment, covariates=covariates, se_type=se_type,
                      confidence_level=confidence_level, alternative=alternative, _lin=True,
                      _estimator=f"lin_{str(se_type).lower()}")
