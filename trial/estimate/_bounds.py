"""Attrition: Lee (2009) bounds; pre-specified subgroup interactions."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import optimize, stats

from ..exceptions import ParameterError
from ._common import (check_column, check_frame, check_level, join_notes, numeric,
                      treatment_vector)
from .results import LeeBoundsResult, SubgroupResult

__all__ = ["lee_bounds", "subgroup_interaction"]


def _trimmed_mean(sorted_y: np.ndarray, keep: float, lower: bool) -> float:
    """Mean of the lowest (``lower``) or highest share ``keep`` of sorted values, splitting the boundary unit."""
    n = len(sorted_y)
    m = keep * n
    k = int(math.floor(m + 1e-12))
    ys = sorted_y if lower else sorted_y[::-1]
    total = ys[:k].sum() + (m - k) * (ys[k] if k < n else 0.0)
    return float(total / m)


def _lee(y, z, obs):
    q1, q0 = obs[z == 1].mean(), obs[z == 0].mean()
    y1 = np.sort(y[(z == 1) & obs])
    y0 = np.sort(y[(z == 0) & obs])
    if len(y1) == 0 or len(y0) == 0:
        return math.nan, math.nan, math.nan, ""
    if q1 >= q0:
        p = (q1 - q0) / q1
        lo = _trimmed_mean(y1, 1 - p, lower=True) - y0.mean()
        hi = _trimmed_mean(y1, 1 - p, lower=False) - y0.mean()
        return lo, hi, p, "deltagergruppe"
    p = (q0 - q1) / q0
    lo = y1.mean() - _trimmed_mean(y0, 1 - p, lower=False)
    hi = y1.mean() - _trimmed_mean(y0, 1 - p, lower=True)
    return lo, hi, p, "kontrolgruppe"


def lee_bounds(data: pd.DataFrame, *, outcome: str, treatment: str, observed: str | None = None,
               confidence_level: float = 0.95, n_resamples: int = 500, rng=None) -> LeeBoundsResult:
    """Lee (2009) bounds on the effect for citizens whose outcome is observed whatever their arm.

    Parameters
    ----------
    observed : str, optional
        0/1 column, 1 when the outcome is observed; default: the outcome is not missing.
    n_resamples : int
        Bootstrap resamples (stratified by arm) for the bounds' standard errors.
    rng : int or numpy.random.Generator, optional

    Notes
    -----
    With observation rates :math:`q_1 \\ge q_0`, trim the share
    :math:`p = (q_1 - q_0)/q_1` of observed treated outcomes from the top
    (lower bound) or bottom (upper bound) and compare with the control mean
    (and symmetrically when :math:`q_0 > q_1`); the boundary unit is split so
    the trimmed share is exact. Interval: Imbens & Manski (2004) with
    :math:`\\Phi(c + \\Delta/\\max(SE_L, SE_U)) - \\Phi(-c) = \\text{level}`.
    Assumes monotone attrition (assignment moves observation one way only).

    Each bound also gets its own bootstrap standard error and normal interval
    at ``confidence_level`` (``lower_bound_ci_low`` … ``upper_bound_ci_high``,
    as Lee (2009, Table V) reports them); :meth:`~LeeBoundsResult.to_frame`
    carries the bounds, the trimming share and arm, and these.

    References
    ----------
    Lee, D. S. (2009). Training, wages, and sample selection: estimating sharp
    bounds on treatment effects. *Review of Economic Studies* 76(3), 1071–1102.
    Imbens, G. W. & Manski, C. F. (2004). Confidence intervals for partially
    identified parameters. *Econometrica* 72(6), 1845–1857.
    """
    data = check_frame(data)
    level = check_level(confidence_level)
    check_column(data, outcome, "outcome")
    z = treatment_vector(data, treatment)
    y = numeric(data, outcome, "outcome")
    if observed is not None:
        check_column(data, observed, "observed")
        obs = numeric(data, observed, "observed") == 1
        obs &= ~np.isnan(y)
    else:
        obs = ~np.isnan(y)
    seed = rng if isinstance(rng, (int, np.integer)) or rng is None else repr(rng)
    gen = np.random.default_rng(rng)
    lo, hi, p, arm = _lee(y, z, obs)
    n1, n0 = int(((z == 1) & obs).sum()), int(((z == 0) & obs).sum())
    inputs = dict(outcome=outcome, treatment=treatment, observed=observed, confidence_level=level,
                  n_resamples=int(n_resamples), rng=seed)
    common = dict(estimator="lee_bounds", outcome=outcome, n_treatment=n1, n_control=n0, confidence_level=level,
                  inputs=inputs, method="Lee (2009) trimming bounds; Imbens–Manski interval, bootstrap SEs")
    if not math.isfinite(lo):
        return LeeBoundsResult(estimate=math.nan, note="an arm has no observed outcome: no bounds", **common)
    idx1, idx0 = np.flatnonzero(z == 1), np.flatnonzero(z == 0)
    boot = np.empty((int(n_resamples), 2))
    for b in range(int(n_resamples)):
        s = np.concatenate([gen.choice(idx1, len(idx1)), gen.choice(idx0, len(idx0))])
        boot[b, :2] = _lee(y[s], z[s], obs[s])[:2]
    se_l, se_u = np.nanstd(boot[:, 0], ddof=1), np.nanstd(boot[:, 1], ddof=1)
    delta = hi - lo
    smax = max(se_l, se_u)
    if smax > 0:
        c = optimize.brentq(lambda c: stats.norm.cdf(c + delta / smax) - stats.norm.cdf(-c) - level, 0, 10)
    else:
        c = 0.0
    note = "" if p > 0 else "no differential attrition: the bounds coincide with the difference in means"
    z_b = float(stats.norm.ppf(0.5 + level / 2))
    return LeeBoundsResult(estimate=math.nan, std_error=math.nan, ci_low=lo - c * se_l, ci_high=hi + c * se_u,
                           lower_bound=lo, upper_bound=hi, trimming_share=p, trimmed_arm=arm,
                           lower_bound_std_error=float(se_l), upper_bound_std_error=float(se_u),
                           lower_bound_ci_low=lo - z_b * se_l, lower_bound_ci_high=lo + z_b * se_l,
                           upper_bound_ci_low=hi - z_b * se_u, upper_bound_ci_high=hi + z_b * se_u,
                           note=join_notes("partially identified: the effect lies between lower_bound and "
                                           "upper_bound (no single estimate)", note), **common)


def subgroup_interaction(data: pd.DataFrame, *, outcome: str, treatment: str, subgroup: str,
                         prespecified=None, confidence_level: float = 0.95) -> SubgroupResult:
    """Test whether the effect differs between the levels of a pre-specified subgroup (exploratory).

    Parameters
    ----------
    subgroup : str
        Factor column (e.g. ``age_band``, ``prior_forloeb``).
    prespecified : Protocol or sequence of str, optional
        The protocol (its ``subgroups``) or the list of pre-specified factors;
        a factor not in it is refused, so only pre-specified subgroups are tested.

    Notes
    -----
    :math:`y = a + \\tau z + \\sum_g b_g G_g + \\sum_g c_g z G_g + e` with HC2
    errors (``estimatr::lm_robust(y ~ z * g)``); Wald test of all
    :math:`c_g = 0`: :math:`F = \\hat c' V_c^{-1}\\hat c/q` on :math:`(q, n-k)` df.
    For two levels ``estimate`` is :math:`c` (effect in the second level minus
    the first). The effect in each level (difference in means, Neyman SE) is in
    ``table``. Always labelled exploratory.
    """
    from ._means import difference_in_means
    from ._ols import _fit

    data = check_frame(data)
    level = check_level(confidence_level)
    check_column(data, outcome, "outcome")
    check_column(data, subgroup, "subgroup")
    if prespecified is not None:
        allowed = tuple(getattr(prespecified, "subgroups", prespecified))
        if subgroup not in allowed:
            raise ParameterError("subgroup", f"{subgroup!r} is not a pre-specified subgroup; the protocol "
                                 f"names: {', '.join(allowed) or 'none'}")
    z = treatment_vector(data, treatment).astype(float)
    y = numeric(data, outcome, "outcome")
    g = data[subgroup].astype("string")
    keep = ~np.isnan(y) & g.notna().to_numpy()
    y, z, g = y[keep], z[keep], g[keep].to_numpy(dtype=object)
    levels = sorted(pd.unique(g))
    inputs = dict(outcome=outcome, treatment=treatment, subgroup=subgroup, confidence_level=level)
    common = dict(estimator="subgroup_interaction", outcome=outcome, n_treatment=int((z == 1).sum()),
                  n_control=int((z == 0).sum()), confidence_level=level, inputs=inputs, subgroup=subgroup,
                  role="exploratory",
                  method=f"pre-specified subgroup interaction z × {subgroup}, HC2 Wald test (exploratory)")
    rows = []
    for lv in levels:
        m = g == lv
        sub = pd.DataFrame({"y": y[m], "z": z[m]})
        if sub["z"].nunique() < 2:
            rows.append(dict(level=lv, n=int(m.sum()), estimate=math.nan, std_error=math.nan, ci_low=math.nan,
                             ci_high=math.nan, note="one arm only"))
            continue
        r = difference_in_means(sub, outcome="y", treatment="z", confidence_level=level)
        rows.append(dict(level=lv, n=int(m.sum()), estimate=r.estimate, std_error=r.std_error, ci_low=r.ci_low,
                         ci_high=r.ci_high, note=r.note))
    table = pd.DataFrame(rows)
    if len(levels) < 2:
        return SubgroupResult(estimate=math.nan, table=table, note=f"{subgroup!r} has a single level: no interaction",
                              **common)
    G = np.column_stack([(g == lv).astype(float) for lv in levels[1:]])
    X = np.column_stack([np.ones(len(y)), z, G, G * z[:, None]])
    fitted, note = _fit(y, X, None, "HC2")
    if fitted is None or fitted[1] is None:
        return SubgroupResult(estimate=math.nan, table=table, note=note or "the interaction model cannot be fitted",
                              **common)
    res, cov = fitted
    q = len(levels) - 1
    ix = np.arange(2 + q, 2 + 2 * q)
    c = np.asarray(res.params)[ix]
    V = np.asarray(cov)[np.ix_(ix, ix)]
    F = float(c @ np.linalg.solve(V, c) / q)
    df2 = len(y) - X.shape[1]
    p = float(stats.f.sf(F, q, df2))
    if q == 1:
        se = math.sqrt(V[0, 0])
        tq = stats.t.ppf(1 - (1 - level) / 2, df2)
        return SubgroupResult(estimate=float(c[0]), std_error=se, statistic=F, df=float(df2), p_value=p,
                              ci_low=float(c[0] - tq * se), ci_high=float(c[0] + tq * se), table=table,
                              note=note, **common)
    return SubgroupResult(estimate=math.nan, statistic=F, df=float(df2), p_value=p, table=table, note=join_notes(
        f"joint test over {len(levels)} levels (F on {q} and {df2} df): no single interaction estimate; "
        "see the effect in each level", note), **common)
