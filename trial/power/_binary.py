"""Power of tests comparing two proportions: normal approximations and exact enumeration.

Arms are named by role: ``p_control``/``n_control`` (kontrolgruppe) and
``p_treatment``/``n_treatment`` (deltagergruppe). ``alternative="greater"``
means the treatment share is above the control share.

Exact power enumerates every outcome table ``(x_treatment, x_control)``
(``(n_t + 1) x (n_c + 1)`` of them), decides once whether the test rejects
(the *rejection region* depends only on the group sizes, alpha and the
alternative, and is cached) and sums the product-binomial probabilities of the
tables in the region.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy import optimize, special, stats

from ..exceptions import ParameterError
from ._common import (check_alpha, check_alternative, check_direction, check_n, check_number, check_power,
                      check_power_above_alpha,
                      check_probability, exactly_one_missing)
from ._results import MethodComparison, PowerResult

__all__ = [
    "ANALYTIC_METHODS", "EXACT_METHODS", "BINARY_METHODS",
    "power_two_proportions", "compare_methods", "rejection_region", "exact_power",
    "fisher_pvalues", "boschloo_pvalues", "hc2_pvalues", "exact_size", "exact_coverage",
]

ANALYTIC_METHODS = ("normal_unpooled", "normal_pooled", "normal_pooled_cc", "arcsine")
EXACT_METHODS = ("exact_hc2", "exact_pooled_z", "fisher", "boschloo")
BINARY_METHODS = ANALYTIC_METHODS + EXACT_METHODS
_EPS = 1e-12                       # shares kept inside (0, 1) when root-finding
_FISHER_TIES = 1 + 1e-7            # R's fisher.test relErr: tables this close in probability tie
_BOSCHLOO_TIES = 1 + 1e-13         # scipy.stats.boschloo_exact's tie tolerance


# --------------------------------------------------------------------------- analytic
def _tail(d, se0, se1, z, alternative):
    """P(reject) of a z test with null SE ``se0`` and true SE ``se1``; ``d`` = treatment - control."""
    up = stats.norm.cdf((d - z * se0) / se1)
    down = stats.norm.cdf((-d - z * se0) / se1)
    if alternative == "greater":
        return up
    if alternative == "less":
        return down
    return up + down


def _analytic_power(method, p0, p1, n0, n1, alpha, alternative):
    """Vectorised over ``p1`` (and ``n0``); see :func:`power_two_proportions` for the formulas."""
    p0, p1, n0 = np.asarray(p0, float), np.asarray(p1, float), np.asarray(n0, float)
    z = stats.norm.isf(alpha / 2 if alternative == "two-sided" else alpha)
    d = p1 - p0
    se1 = np.sqrt(p1 * (1 - p1) / n1 + p0 * (1 - p0) / n0)
    if method == "normal_unpooled":
        return _tail(d, se1, se1, z, alternative)
    if method == "arcsine":
        h = 2 * np.arcsin(np.sqrt(p1)) - 2 * np.arcsin(np.sqrt(p0))
        s = np.sqrt(1 / n1 + 1 / n0)
        return _tail(h, s, s, z, alternative)
    pbar = (n1 * p1 + n0 * p0) / (n1 + n0)
    se0 = np.sqrt(pbar * (1 - pbar) * (1 / n1 + 1 / n0))
    if method == "normal_pooled":
        return _tail(d, se0, se1, z, alternative)
    if method == "normal_pooled_cc":
        c = (1 / n1 + 1 / n0) / 2
        up = stats.norm.cdf((d - c - z * se0) / se1)
        down = stats.norm.cdf((-d - c - z * se0) / se1)
        return {"greater": up, "less": down}.get(alternative, up + down)
    raise AssertionError(method)  # pragma: no cover - methods are validated up front


# --------------------------------------------------------------------------- exact: p-values of all tables
def _grid(n1, n0):
    x1 = np.arange(n1 + 1, dtype=float)[:, None]
    x0 = np.arange(n0 + 1, dtype=float)[None, :]
    return x1, x0


def hc2_pvalues(n_treatment: int, n_control: int, alternative: str = "two-sided"):
    """Statistic, Welch df and p-value of the HC2 difference in means for every table.

    Returns three ``(n_treatment + 1, n_control + 1)`` arrays indexed by
    ``[x_treatment, x_control]``. Where the standard error is 0 (both arms all
    0 or all 1, or one arm 0 % and the other 100 %) the statistic, df and
    p-value are NaN, as in ``estimatr::difference_in_means`` (no rejection).
    """
    n1, n0 = n_treatment, n_control
    x1, x0 = _grid(n1, n0)
    m1, m0 = x1 / n1, x0 / n0
    v1 = m1 * (1 - m1) / (n1 - 1)          # s^2 / n with s^2 = n m (1 - m) / (n - 1)
    v0 = m0 * (1 - m0) / (n0 - 1)
    se = np.sqrt(v1 + v0)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(se > 0, (m1 - m0) / se, np.nan)
        df = np.where(se > 0, (v1 + v0) ** 2 / (v1 ** 2 / (n1 - 1) + v0 ** 2 / (n0 - 1)), np.nan)
    return t, df, _t_pvalue(t, df, alternative)


def _t_pvalue(t, df, alternative):
    # scipy.special.stdtr is the t CDF without scipy.stats' argument handling (NaN in -> NaN out)
    if alternative == "greater":
        return special.stdtr(df, -t)
    if alternative == "less":
        return special.stdtr(df, t)
    return 2 * special.stdtr(df, -np.abs(t))


def _hc2_region(n1, n0, alpha, alternative):
    """Tables the HC2/Welch t test rejects, computing the t distribution only where it matters.

    Welch's df lies between ``min(n_t, n_c) - 1`` and ``n_t + n_c - 2``, so the
    critical value lies between the two corresponding t quantiles; only tables
    whose statistic falls between them need their own p-value.
    """
    x1, x0 = _grid(n1, n0)
    m1, m0 = x1 / n1, x0 / n0
    v1 = m1 * (1 - m1) / (n1 - 1)
    v0 = m0 * (1 - m0) / (n0 - 1)
    se = np.sqrt(v1 + v0)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(se > 0, (m1 - m0) / se, 0.0)
    level = alpha / 2 if alternative == "two-sided" else alpha
    stat = {"two-sided": np.abs(t), "greater": t, "less": -t}[alternative]
    lo = stats.t.isf(level, n1 + n0 - 2)
    hi = stats.t.isf(level, min(n1, n0) - 1)
    region = stat > hi
    band = (stat > lo) & ~region & (se > 0)
    if band.any():
        vb1, vb0 = np.broadcast_to(v1, se.shape)[band], np.broadcast_to(v0, se.shape)[band]
        df = (vb1 + vb0) ** 2 / (vb1 ** 2 / (n1 - 1) + vb0 ** 2 / (n0 - 1))
        region[band] = special.stdtr(df, -stat[band]) * (2 if alternative == "two-sided" else 1) <= alpha
    return region & (se > 0)


def _pooled_z_pvalues(n1, n0, alternative):
    x1, x0 = _grid(n1, n0)
    pbar = (x1 + x0) / (n1 + n0)
    se = np.sqrt(pbar * (1 - pbar) * (1 / n1 + 1 / n0))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(se > 0, (x1 / n1 - x0 / n0) / se, np.nan)
    if alternative == "greater":
        return stats.norm.sf(z)
    if alternative == "less":
        return stats.norm.cdf(z)
    return 2 * stats.norm.sf(np.abs(z))


def _log_hypergeom(n1, n0):
    """log P(X_t = x1 | x1 + x0 = m) for every table (conditional on the total number of successes)."""
    x1, x0 = _grid(n1, n0)
    lc = lambda n, k: special.gammaln(n + 1) - special.gammaln(k + 1) - special.gammaln(n - k + 1)  # noqa: E731
    return lc(n1, x1) + lc(n0, x0) - lc(n1 + n0, x1 + x0)


def fisher_pvalues(n_treatment: int, n_control: int, alternative: str = "two-sided") -> np.ndarray:
    """Fisher's exact test p-value of every table, indexed ``[x_treatment, x_control]``.

    One-sided: hypergeometric tail given the total number of successes;
    two-sided: sum of the conditional probabilities not above the observed one
    (relative tolerance 1e-7, as R's ``fisher.test``). Vectorised: one sort per
    anti-diagonal (total), no per-table call.
    """
    n1, n0 = n_treatment, n_control
    prob = np.exp(_log_hypergeom(n1, n0))
    out = np.empty_like(prob)
    for m in range(n1 + n0 + 1):
        lo, hi = max(0, m - n0), min(n1, m)
        k = np.arange(lo, hi + 1)
        p = prob[k, m - k]
        if alternative == "greater":
            pv = np.cumsum(p[::-1])[::-1]
        elif alternative == "less":
            pv = np.cumsum(p)
        else:
            order = np.argsort(p, kind="stable")
            cs = np.cumsum(p[order])
            idx = np.searchsorted(p[order], p * _FISHER_TIES, side="right") - 1
            pv = cs[idx]
        out[k, m - k] = np.minimum(pv, 1.0)
    return out


def _binom_matrix(n, pis):
    """Binomial pmf, rows = values of the success probability, columns = 0..n."""
    return stats.binom.pmf(np.arange(n + 1)[None, :], n, np.asarray(pis, float)[:, None])


def _boschloo_levels(n1, n0, alternative, grid_size=201):
    """Fisher's one-sided p-values sorted into cumulative levels, with the grid supremum of each level.

    The statistic is Fisher's one-sided p-value ``T``; the p-value of a table
    with ``T = t`` is ``sup_pi P_pi(T <= t (1 + 1e-13))`` under a common
    success probability ``pi``. Tables are sorted by ``T``; the cumulative
    probability of the sorted tables is computed on a grid of ``pi`` (batched,
    no per-table call) and its maximum taken.
    """
    T = fisher_pvalues(n1, n0, alternative).ravel()
    order = np.argsort(T, kind="stable")
    Ts = T[order]
    incl = np.searchsorted(Ts, T * _BOSCHLOO_TIES, side="right")     # tables counted for each table
    levels = np.unique(incl)                                        # distinct cumulative sets
    pis = np.linspace(0.0, 1.0, grid_size)
    best = np.zeros(levels.size)
    arg = np.zeros(levels.size, dtype=int)
    ix1, ix0 = np.divmod(order, n0 + 1)
    for start in range(0, grid_size, 25):
        g = pis[start:start + 25]
        b1, b0 = _binom_matrix(n1, g), _binom_matrix(n0, g)
        cum = np.cumsum(b1[:, ix1] * b0[:, ix0], axis=1)[:, levels - 1]
        j = np.argmax(cum, axis=0)
        val = cum[j, np.arange(levels.size)]
        better = val > best
        best[better], arg[better] = val[better], start + j[better]
    return order, incl, levels, best, pis[arg], pis[1] - pis[0]


def _refine(n1, n0, order, k, best, centre, step):
    """Supremum over pi of the probability of the first ``k`` sorted tables, refined near ``centre``."""
    a1, a0 = np.divmod(order[:k], n0 + 1)
    lp1, lp0 = np.arange(n1 + 1), np.arange(n0 + 1)

    def neg(pi):
        return -np.sum(stats.binom.pmf(lp1, n1, pi)[a1] * stats.binom.pmf(lp0, n0, pi)[a0])

    r = optimize.minimize_scalar(neg, bounds=(max(0.0, centre - step), min(1.0, centre + step)),
                                 method="bounded", options={"xatol": 1e-10})
    return max(best, -r.fun)


def _boschloo_onesided(n1, n0, alternative, refine=True):
    """One-sided Boschloo p-values of all tables (grid supremum, each level refined)."""
    order, incl, levels, best, centre, step = _boschloo_levels(n1, n0, alternative)
    sup = best.copy()
    if refine:
        for i, k in enumerate(levels):
            sup[i] = _refine(n1, n0, order, k, best[i], centre[i], step)
    pv = sup[np.searchsorted(levels, incl)]
    return np.minimum(pv, 1.0).reshape(n1 + 1, n0 + 1)


def _boschloo_region_onesided(n1, n0, level, alternative):
    """Tables rejected by the one-sided Boschloo test at ``level``.

    Rejected tables are the first ``k*`` levels in Fisher order, ``k*`` the
    largest level whose supremum is at most ``level``; the supremum rises
    with the level, so ``k*`` is found by bisection: first over the grid
    suprema (201 points, a lower bound of the true supremum; levels with
    Fisher p-value at most ``level`` are admitted outright, as Fisher's test
    is valid), then, below the last level the grid admits, refining only the
    ~15 levels the bisection visits. Same region as scanning every level's
    grid supremum (:func:`_boschloo_region_scan`), which costs
    ``O(grid x tables)`` per design.

    A level is ``{T <= t}`` with ``T`` Fisher's one-sided p-value, which is
    monotone in ``x_c`` for a fixed ``x_t`` (the hypergeometric tail is
    stochastically monotone in the margin), so a level holds a run of
    ``x_c`` values in every row and its probability at ``pi`` is a sum of
    ``n_t + 1`` binomial distribution-function values: a grid supremum costs
    ``O(grid x n_t)``. Where rounding breaks a run (p-values within 1e-12 of
    1) that level is summed table by table.
    """
    T = fisher_pvalues(n1, n0, alternative)
    flat = T.ravel()
    order = np.argsort(flat, kind="stable")
    Ts = flat[order]
    incl = np.searchsorted(Ts, flat * _BOSCHLOO_TIES, side="right")
    levels = np.unique(incl)                                # level i = {T <= Ts[levels[i] - 1]}
    region = np.zeros((n1 + 1) * (n0 + 1), dtype=bool)
    pis = np.linspace(0.0, 1.0, 201)
    b1 = _binom_matrix(n1, pis)
    b0 = _binom_matrix(n0, pis)
    # a level's tables in row x_t: x_c < c ("greater") or x_c > n_c - c ("less"), then its probability at pi
    # is sum_x_t b1[x_t] F0[c(x_t)] with F0 the cumulative sums of b0 from that end
    F0 = np.zeros((pis.size, n0 + 2))
    np.cumsum(b0[:, ::-1] if alternative == "less" else b0, axis=1, out=F0[:, 1:])
    cols = np.arange(n0 + 1)

    def grid_sup(i):
        inside = T <= Ts[levels[i] - 1]
        c = inside.sum(axis=1)
        run = cols >= n0 + 1 - c[:, None] if alternative == "less" else cols < c[:, None]
        if np.array_equal(inside, run):
            cum = (b1 * F0[:, c]).sum(axis=1)
        else:                                   # not runs (rounding near p = 1): sum over every table
            cum = (np.matmul(b1, inside.astype(float)) * b0).sum(axis=1)
        j = int(np.argmax(cum))
        return float(cum[j]), float(pis[j])

    step = pis[1] - pis[0]
    # grid bisection: the last level whose grid supremum is at most ``level``
    lo = int(np.searchsorted(Ts[levels - 1], level, side="right")) - 1     # admitted: Fisher p <= level
    hi = levels.size
    sups = {}
    while hi - lo > 1:
        mid = (lo + hi) // 2
        sups[mid] = grid_sup(mid)
        if sups[mid][0] <= level:
            lo = mid
        else:
            hi = mid
    if lo < 0:
        return region.reshape(n1 + 1, n0 + 1)

    def admitted(i):
        best, centre = sups[i] if i in sups else grid_sup(i)
        return _refine(n1, n0, order, levels[i], best, centre, step) <= level

    lo = _last_admitted(lo, admitted)                       # refined bisection below the grid's last level
    if lo >= 0:
        region[order[:levels[lo]]] = True
    return region.reshape(n1 + 1, n0 + 1)


def _last_admitted(top: int, admitted) -> int:
    """The last level in ``0..top`` that ``admitted`` (monotone: true up to some level) accepts, else -1."""
    if admitted(top):
        return top
    lo, hi = -1, top
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if admitted(mid):
            lo = mid
        else:
            hi = mid
    return lo


def _boschloo_region_scan(n1, n0, level, alternative):
    """The region from the grid suprema of every level (sums over all tables): the reference for the
    bisection of :func:`_boschloo_region_onesided` (tests), ``O(grid x tables)``."""
    order, incl, levels, best, centre, step = _boschloo_levels(n1, n0, alternative)
    cand = np.nonzero(best <= level)[0]
    region = np.zeros((n1 + 1) * (n0 + 1), dtype=bool)
    if cand.size == 0:
        return region.reshape(n1 + 1, n0 + 1)
    lo = _last_admitted(int(cand[-1]),
                        lambda i: _refine(n1, n0, order, levels[i], best[i], centre[i], step) <= level)
    if lo >= 0:
        region[order[:levels[lo]]] = True
    return region.reshape(n1 + 1, n0 + 1)


def boschloo_pvalues(n_treatment: int, n_control: int, alternative: str = "two-sided") -> np.ndarray:
    """Boschloo's exact test p-value of every table, indexed ``[x_treatment, x_control]``.

    Matches ``scipy.stats.boschloo_exact`` (two-sided = twice the smaller
    one-sided p-value, capped at 1), computed for all tables at once. Every
    level is refined by a scalar optimisation, so this takes seconds for
    groups of 100; power uses the faster :func:`rejection_region`.
    """
    if alternative != "two-sided":
        return _boschloo_onesided(n_treatment, n_control, alternative)
    less = _boschloo_onesided(n_treatment, n_control, "less")
    greater = _boschloo_onesided(n_treatment, n_control, "greater")
    return np.minimum(2 * np.minimum(less, greater), 1.0)


@lru_cache(maxsize=64)
def _region_cached(method, n1, n0, alpha, alternative):
    if method == "exact_hc2":
        region = _hc2_region(n1, n0, alpha, alternative)
        region.setflags(write=False)
        return region
    elif method == "exact_pooled_z":
        p = _pooled_z_pvalues(n1, n0, alternative)
    elif method == "fisher":
        p = fisher_pvalues(n1, n0, alternative)
    elif method == "boschloo":
        if alternative == "two-sided":
            region = (_boschloo_region_onesided(n1, n0, alpha / 2, "less")
                      | _boschloo_region_onesided(n1, n0, alpha / 2, "greater"))
        else:
            region = _boschloo_region_onesided(n1, n0, alpha, alternative)
        region.setflags(write=False)
        return region
    else:  # pragma: no cover
        raise AssertionError(method)
    region = np.nan_to_num(p, nan=1.0) <= alpha
    region.setflags(write=False)
    return region


def rejection_region(method: str, n_treatment: int, n_control: int, *, alpha: float = 0.05,
                     alternative: str = "two-sided") -> np.ndarray:
    """Boolean ``(n_treatment + 1, n_control + 1)`` array: does the test reject table ``[x_t, x_c]``?

    A table rejects when its p-value is at most ``alpha`` (tables whose
    statistic is undefined never reject). Cached per design.
    """
    if method not in EXACT_METHODS:
        raise ParameterError("method", f"must be one of {', '.join(EXACT_METHODS)} for a rejection region; "
                                       f"got {method!r}")
    return _region_cached(method, int(n_treatment), int(n_control), float(alpha), alternative)


def exact_power(region: np.ndarray, p_control, p_treatment) -> np.ndarray:
    """Probability of the region under independent binomials, vectorised over ``p_treatment``."""
    n1, n0 = region.shape[0] - 1, region.shape[1] - 1
    b0 = stats.binom.pmf(np.arange(n0 + 1), n0, p_control)
    p1 = np.atleast_1d(np.asarray(p_treatment, float))
    b1 = _binom_matrix(n1, p1)
    out = b1 @ (region.astype(float) @ b0)
    return out if np.ndim(p_treatment) else float(out[0])


def exact_size(method: str, p: float, n_control: int, n_treatment: int, *, alpha: float = 0.05,
               alternative: str = "two-sided") -> float:
    """Exact rejection rate of an exact test when both arms have the share ``p`` (its size at ``p``).

    The sum of ``Binom(x_t; n_t, p) Binom(x_c; n_c, p)`` over the tables the
    test rejects. Fisher's and Boschloo's tests are exact (at most ``alpha``
    for every ``p``); the HC2/Welch and pooled z tests are not.

    Examples
    --------
    >>> round(exact_size("exact_hc2", 0.05, n_control=300, n_treatment=100), 4)
    0.065
    """
    p = check_probability("p", p)
    n0, n1 = check_n("n_control", n_control), check_n("n_treatment", n_treatment)
    region = rejection_region(method, n1, n0, alpha=check_alpha(alpha), alternative=check_alternative(alternative))
    return float(exact_power(region, p, p))


def exact_coverage(*, p_control, p_treatment, n_control, n_treatment, confidence_level=0.95) -> float:
    """Exact coverage of the HC2/Welch interval for the difference in shares, by enumeration.

    The probability, under independent binomials, that
    ``m_t - m_c +- t_{df, (1 + level)/2} se`` (HC2 standard error, Welch df:
    ``estimatr::difference_in_means``) contains ``p_treatment - p_control``.
    Tables with a zero standard error have no interval (count as not covering).

    Examples
    --------
    >>> round(exact_coverage(p_control=0.05, p_treatment=0.10, n_control=300, n_treatment=100), 4)
    0.9393
    """
    p0, p1 = check_probability("p_control", p_control), check_probability("p_treatment", p_treatment)
    n0, n1 = check_n("n_control", n_control), check_n("n_treatment", n_treatment)
    level = check_number("confidence_level", confidence_level, lo=0.0, hi=1.0)
    x1, x0 = _grid(n1, n0)
    m1, m0 = x1 / n1, x0 / n0
    v1, v0 = m1 * (1 - m1) / (n1 - 1), m0 * (1 - m0) / (n0 - 1)
    se = np.sqrt(v1 + v0)
    with np.errstate(divide="ignore", invalid="ignore"):
        df = (v1 + v0) ** 2 / (v1 ** 2 / (n1 - 1) + v0 ** 2 / (n0 - 1))
        covered = (se > 0) & (2 * special.stdtr(df, -np.abs(m1 - m0 - (p1 - p0)) / se) >= 1 - level)
    b1 = stats.binom.pmf(np.arange(n1 + 1), n1, p1)
    b0 = stats.binom.pmf(np.arange(n0 + 1), n0, p0)
    return float(b1 @ covered.astype(float) @ b0)


# --------------------------------------------------------------------------- solving
def _power_fn(method, p0, n0, n1, alpha, alternative):
    """power(p_treatment) for one design, vectorised."""
    if method in EXACT_METHODS:
        region = rejection_region(method, n1, n0, alpha=alpha, alternative=alternative)
        return lambda p1: exact_power(region, p0, p1)
    return lambda p1: _analytic_power(method, p0, p1, n0, n1, alpha, alternative)


def _solve_effect(fn, p0, target, direction, grid_step=0.0005):
    """Smallest treatment share whose power reaches ``target`` and stays at or above it on a fine grid.

    Exact power is a polynomial in the treatment share; in principle it need
    not be monotone, so the grid (step 0.0005 in the share) is scanned from the
    control share outwards and the last crossing is refined by Brent's method.
    Returns ``(p_treatment, note)``.
    """
    if direction == "increase":
        grid = np.arange(p0 + grid_step, 1.0, grid_step)
        grid = np.append(grid, 1.0 - _EPS)
    else:
        grid = np.arange(p0 - grid_step, 0.0, -grid_step)
        grid = np.append(grid, _EPS)
    pw = np.asarray(fn(grid), float)
    below = np.nonzero(pw < target)[0]
    if below.size == 0:
        lo_edge = p0
        i = 0
    else:
        i = below[-1] + 1
        if i >= grid.size:
            return np.nan, (f"not attainable: power stays below {target:g} for every "
                            f"{'higher' if direction == 'increase' else 'lower'} treatment share")
        lo_edge = grid[i - 1]
    hi_edge = grid[i]
    f = lambda p: float(np.asarray(fn(np.array([p])))[0]) - target  # noqa: E731
    if f(lo_edge) >= 0:
        return float(lo_edge), ""
    return float(optimize.brentq(f, lo_edge, hi_edge, xtol=1e-12, rtol=1e-12)), ""


def _solve_n_control(method, p0, p1, n1, alpha, alternative, target, n_control_max):
    """Smallest control size with power >= target that stays so up to the end of the scan."""
    def analytic_n(m):
        fn = lambda n: float(_analytic_power(m, p0, p1, n, n1, alpha, alternative)) - target  # noqa: E731
        if fn(n_control_max) < 0:
            return None
        if fn(2) >= 0:
            return 2.0
        return optimize.brentq(fn, 2, n_control_max, xtol=1e-9)

    if method in ANALYTIC_METHODS:
        n = analytic_n(method)
        if n is None:
            limit = float(_analytic_power(method, p0, p1, 1e12, n1, alpha, alternative))
            return None, (f"not attainable with {n1} treated and at most {n_control_max} controls "
                          f"(power with unlimited controls {limit:.3f})")
        return int(np.ceil(n - 1e-9)), ""
    guide = analytic_n("normal_unpooled")
    if guide is None:
        # the normal approximation cannot reach the target even with n_control_max controls: check the exact
        # power on every 50th size (and the largest); far below the target everywhere means not attainable,
        # without enumerating every size
        coarse = np.unique(np.r_[np.arange(50, n_control_max, 50), n_control_max])
        pw = np.array([exact_power(rejection_region(method, n1, int(n), alpha=alpha, alternative=alternative),
                                   p0, p1) for n in coarse])
        if pw.max() < target - 0.05:
            j = int(np.argmax(pw))
            return None, (f"not attainable with {n1} treated and at most {n_control_max} controls: exact power "
                          f"at most {pw[j]:.3f} (at {coarse[j]} controls; every 50th size checked), normal "
                          f"approximation with unlimited controls "
                          f"{float(_analytic_power('normal_unpooled', p0, p1, 1e12, n1, alpha, alternative)):.3f}")
        guide = n_control_max
    lo = max(2, int(0.5 * guide) - 20)
    hi = min(n_control_max, int(2 * guide) + 50)
    sizes = np.arange(lo, hi + 1)
    pw = np.array([exact_power(rejection_region(method, n1, int(n), alpha=alpha, alternative=alternative),
                               p0, p1) for n in sizes])
    below = np.nonzero(pw < target)[0]
    if below.size == 0:
        # the scan started too high: walk down
        n = lo
        while n > 2 and exact_power(rejection_region(method, n1, n - 1, alpha=alpha, alternative=alternative),
                                    p0, p1) >= target:
            n -= 1
        return n, ""
    i = below[-1] + 1
    if i >= sizes.size:
        return None, (f"not attainable with {n1} treated and at most {hi} controls (power {pw[-1]:.3f} "
                      f"at {hi})")
    return int(sizes[i]), f"power stays >= {target:g} for control sizes {sizes[i]}..{hi} (scanned)"


def power_two_proportions(*, p_control, p_treatment=None, n_control=None, n_treatment, power=None,
                          alpha=0.05, alternative="two-sided", method="exact_hc2", direction=None,
                          n_control_max=5000) -> PowerResult:
    """Power, minimum detectable effect or control-group size for two proportions.

    Leave exactly one of ``power``, ``p_treatment`` and ``n_control`` as None:
    it is solved for, given the others.

    Parameters
    ----------
    p_control : float
        Share with the outcome in the kontrolgruppe, in (0, 1).
    p_treatment : float, optional
        Share in the deltagergruppe; solved for (the MDE) when None.
    n_control : int, optional
        Control-group size; solved for when None (smallest size reaching ``power``).
    n_treatment : int
        Deltagergruppe size (fixed by capacity).
    power : float, optional
        Target power when solving for ``p_treatment`` or ``n_control``.
    alpha : float
        Test size.
    alternative : {"two-sided", "less", "greater"}
        ``"greater"``: the treatment share is above the control share.
    method : str
        ``normal_unpooled``, ``normal_pooled``, ``normal_pooled_cc`` (continuity
        corrected), ``arcsine``, or an exact method computed by enumeration:
        ``exact_hc2`` (the HC2/Welch t test of the difference in means, the
        protocol's primary analysis), ``exact_pooled_z``, ``fisher``, ``boschloo``.
    direction : {"increase", "decrease"}, optional
        Side on which the MDE is searched (default from ``alternative``; "increase" when two-sided).
    n_control_max : int
        Largest control size considered when solving for ``n_control``.

    Returns
    -------
    PowerResult

    Notes
    -----
    With ``d = p_t - p_c``, ``z = z_{1-alpha/2}`` (two-sided; ``z_{1-alpha}`` one-sided),
    ``se1 = sqrt(p_t q_t / n_t + p_c q_c / n_c)`` and the pooled null
    ``se0 = sqrt(pbar qbar (1/n_t + 1/n_c))``, ``pbar = (n_t p_t + n_c p_c)/(n_t + n_c)``:

    * ``normal_unpooled``: ``Phi((d - z se1)/se1) + Phi((-d - z se1)/se1)``
      (statsmodels ``NormalIndPower`` with effect size ``d sqrt(1/n_t + 1/n_c) / se1`` and ``ratio = n_c/n_t``);
    * ``normal_pooled``: ``Phi((d - z se0)/se1) + Phi((-d - z se0)/se1)``; for equal
      groups this is R's ``power.prop.test(strict = TRUE)``; statsmodels
      ``power_proportions_2indep(diff=d, prop2=p_c, nobs1=n_t, ratio=n_c/n_t)``;
    * ``normal_pooled_cc``: as pooled with ``|d|`` reduced by ``(1/n_t + 1/n_c)/2``
      (Fleiss' continuity correction; at equal groups it inverts to Fleiss' corrected
      sample size ``n/4 (1 + sqrt(1 + 4/(n |d|)))^2``);
    * ``arcsine``: ``h = 2 asin(sqrt(p_t)) - 2 asin(sqrt(p_c))``,
      ``Phi(h s - z) + Phi(-h s - z)`` with ``s = sqrt(n_t n_c/(n_t + n_c))``: R's
      ``pwr::pwr.2p2n.test(h = ES.h(p_t, p_c), n1 = n_t, n2 = n_c)``.

    Two-sided normal powers include both tails. Exact methods: the sum of
    ``Binom(x_t; n_t, p_t) Binom(x_c; n_c, p_c)`` over the tables the test
    rejects. The HC2 statistic is ``(m_t - m_c)/sqrt(s_t^2/n_t + s_c^2/n_c)``
    with sample variances and Welch-Satterthwaite df, as
    ``estimatr::difference_in_means``; tables with a zero standard error do not reject.

    The MDE is the smallest effect (in the ``direction``) at which power reaches
    the target and stays at or above it on a grid of step 0.0005, refined by
    Brent's method. The control size solved for exact tests is the smallest
    size with power at or above the target for every larger size scanned (exact
    power saw-tooths in n).

    Examples
    --------
    >>> r = power_two_proportions(p_control=0.05, p_treatment=0.10, n_control=300, n_treatment=100,
    ...                           method="arcsine")
    >>> round(r.power, 3)
    0.385
    """
    p0 = check_probability("p_control", p_control)
    p1 = check_probability("p_treatment", p_treatment, allow_none=True)
    n1 = check_n("n_treatment", n_treatment)
    n0 = check_n("n_control", n_control, allow_none=True)
    target = check_power(power)
    alpha = check_alpha(alpha)
    check_power_above_alpha(target, alpha)
    alternative = check_alternative(alternative)
    if method not in BINARY_METHODS:
        raise ParameterError("method", f"must be one of {', '.join(BINARY_METHODS)}; got {method!r}")
    n_control_max = check_n("n_control_max", n_control_max)
    solve = exactly_one_missing(power=target, p_treatment=p1, n_control=n0)
    common = dict(outcome="binary", method=method, control_value=p0, n_treatment=n1, alpha=alpha,
                  alternative=alternative)
    if solve == "power":
        pw = float(_power_fn(method, p0, n0, n1, alpha, alternative)(np.array([p1]))[0])
        return PowerResult(solved_for="power", power=pw, treatment_value=p1, n_control=n0, **common)
    if solve == "p_treatment":
        direction = check_direction(direction, alternative)
        fn = _power_fn(method, p0, n0, n1, alpha, alternative)
        p1, note = _solve_effect(fn, p0, target, direction)
        pw = float(fn(np.array([p1]))[0]) if np.isfinite(p1) else np.nan
        return PowerResult(solved_for="effect", power=pw, treatment_value=p1, n_control=n0,
                           target_power=target, note=note, parameters={"direction": direction}, **common)
    n0, note = _solve_n_control(method, p0, p1, n1, alpha, alternative, target, n_control_max)
    pw = (float(_power_fn(method, p0, n0, n1, alpha, alternative)(np.array([p1]))[0])
          if n0 is not None else np.nan)
    return PowerResult(solved_for="n_control", power=pw, treatment_value=p1, n_control=n0,
                       target_power=target, note=note, **common)


def compare_methods(*, p_control, p_treatment=None, n_control, n_treatment, power=None, alpha=0.05,
                    alternative="two-sided", methods=BINARY_METHODS, direction=None,
                    n_control_max=5000) -> MethodComparison:
    """Power (or the MDE, when ``p_treatment`` is None) of one design under several tests.

    With ``n_control=None`` and both ``p_treatment`` and ``power`` given, the
    smallest control size reaching ``power`` is solved for under each test (up
    to ``n_control_max``; see :func:`power_two_proportions`). Exact tests scan
    control sizes one by one: ~1 s for the HC2 test, several seconds for
    Fisher's, a minute for Boschloo's.

    Examples
    --------
    >>> c = compare_methods(p_control=0.05, p_treatment=0.10, n_control=100, n_treatment=100,
    ...                     methods=("normal_unpooled", "arcsine"))
    >>> {k: round(v, 3) for k, v in c.power.items()}
    {'normal_unpooled': 0.271, 'arcsine': 0.275}
    """
    if n_control is None:
        if p_treatment is None or power is None:
            raise ParameterError("n_control", "is needed unless both p_treatment and power are given "
                                              "(then the control size is solved for)")
        return MethodComparison(tuple(
            power_two_proportions(p_control=p_control, p_treatment=p_treatment, n_treatment=n_treatment,
                                  power=power, alpha=alpha, alternative=alternative, method=m,
                                  n_control_max=n_control_max)
            for m in methods))
    if p_treatment is None and power is None:
        raise ParameterError("power", "is needed to solve for the minimum detectable effect "
                                      "when p_treatment is not given")
    if p_treatment is not None:
        power = None
    return MethodComparison(tuple(
        power_two_proportions(p_control=p_control, p_treatment=p_treatment, n_control=n_control,
                              n_treatment=n_treatment, power=power, alpha=alpha, alternative=alternative,
                              method=m, direction=direction)
        for m in methods))
