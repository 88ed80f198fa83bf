"""Vectorised estimators: many trials (or many outcomes) at once, no per-trial model fit.

Shapes: ``y`` is ``(S, n)`` or ``(S, n, E)`` (S simulated trials, n citizens, E
endpoints), ``treatment`` is ``(S, n)`` of 0/1 (or ``(n,)``, shared), and
``covariates`` ``(S, n, p)`` (or ``(n, p)``). Results are arrays of shape
``(S,)`` or ``(S, E)``. Used by :mod:`trial.diagnose`; equal to statsmodels
``OLS(...).fit(cov_type="HC2")`` and to ``estimatr`` to rounding (tests/test_diagnose_fast.py).
"""
from __future__ import annotations

import threading
from typing import NamedTuple

import numpy as np
from scipy import special

__all__ = ["FastEstimates", "difference_in_means", "lin_hc2", "dim_and_lin", "pack", "logrank", "t_pvalue"]


class FastEstimates(NamedTuple):
    """Estimates of many trials: arrays of equal shape."""

    estimate: np.ndarray
    std_error: np.ndarray
    df: np.ndarray
    statistic: np.ndarray
    p_value: np.ndarray


def t_pvalue(statistic, df, alternative="two-sided"):
    """p-value of a t statistic (NaN statistic -> NaN p-value)."""
    # scipy.special.stdtr is the t CDF (without scipy.stats' per-call overhead); NaN in -> NaN out
    if alternative == "greater":
        return special.stdtr(df, -statistic)
    if alternative == "less":
        return special.stdtr(df, statistic)
    return 2 * special.stdtr(df, -np.abs(statistic))


def _prepare(y, treatment):
    y = np.asarray(y, dtype=float)
    squeeze = y.ndim == 2
    if y.ndim == 1:
        y = y[None, :, None]
        squeeze = "both"
    elif y.ndim == 2:
        y = y[:, :, None]
    t = np.asarray(treatment, dtype=float)
    if t.ndim == 1:
        t = np.broadcast_to(t, y.shape[:2])
    return y, t, squeeze


def _finish(est, se, df, squeeze, alternative):
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = np.where(se > 0, est / se, np.nan)
    df = np.where(se > 0, df, np.nan)
    p = t_pvalue(stat, df, alternative)
    out = [est, se, df, stat, p]
    if squeeze == "both":
        out = [a[0, 0] for a in out]
    elif squeeze:
        out = [a[:, 0] for a in out]
    return FastEstimates(*out)


def _enrolled(enrolled, t):
    """0/1 mask of the citizens in each trial (None: everyone); padded trials of unequal size."""
    if enrolled is None:
        return None
    e = np.asarray(enrolled, dtype=float)
    if e.ndim == 1:
        e = np.broadcast_to(e, t.shape)
    return e


def difference_in_means(y, treatment, *, alternative="two-sided", enrolled=None) -> FastEstimates:
    """Difference in means with the Neyman/HC2 standard error and Welch df, per trial and endpoint.

    ``enrolled`` (optional, ``(S, n)`` of 0/1) marks the citizens of each
    trial when trials of different sizes are padded to one array: rows with 0
    are ignored.

    Notes
    -----
    ``tau = m_t - m_c``, ``se = sqrt(s_t^2/n_t + s_c^2/n_c)`` (sample variances,
    ``n - 1``), ``df = (v_t + v_c)^2 / (v_t^2/(n_t - 1) + v_c^2/(n_c - 1))``,
    ``v = s^2/n``: ``estimatr::difference_in_means`` without blocks; the HC2
    standard error of OLS ``y ~ 1 + treatment`` equals ``se`` exactly.
    Where ``se = 0`` the statistic, df and p-value are NaN (no rejection).
    """
    y, t, squeeze = _prepare(y, treatment)
    yt = np.ascontiguousarray(y.transpose(0, 2, 1))          # (S, E, n): reductions run along n
    e = _enrolled(enrolled, t)
    c = 1.0 - t
    if e is not None:
        t, c = t * e, c * e
    n1 = t.sum(axis=1)[:, None]
    n0 = c.sum(axis=1)[:, None]
    m1 = np.matmul(yt, t[:, :, None])[:, :, 0] / n1
    m0 = np.matmul(yt, c[:, :, None])[:, :, 0] / n0
    v1 = np.matmul((yt - m1[:, :, None]) ** 2, t[:, :, None])[:, :, 0] / (n1 - 1) / n1
    v0 = np.matmul((yt - m0[:, :, None]) ** 2, c[:, :, None])[:, :, 0] / (n0 - 1) / n0
    se = np.sqrt(v1 + v0)
    with np.errstate(divide="ignore", invalid="ignore"):
        df = (v1 + v0) ** 2 / (v1 ** 2 / (n1 - 1) + v0 ** 2 / (n0 - 1))
    return _finish(m1 - m0, se, df, squeeze, alternative)


def _inv(a):
    try:
        return np.linalg.inv(a)
    except np.linalg.LinAlgError:
        return np.linalg.pinv(a)


def _lin_arm(x, y, w, xbar):
    """Intercept at ``xbar`` and its HC2 variance of ``y ~ 1 + (x - xbar)`` on the rows with ``w = 1``.

    ``x`` is ``(S, p, n)`` and ``y`` ``(S, E, n)``: every elementwise step runs along the long axis.
    """
    na = w.sum(axis=1)                                        # (S,)
    wc = w[:, :, None]
    xa = np.matmul(x, wc)[:, :, 0] / na[:, None]              # (S, p)
    xc = (x - xa[:, :, None]) * w[:, None, :]                 # zero outside the arm
    Si = _inv(np.matmul(xc, xc.transpose(0, 2, 1)))
    g = np.matmul(Si, xc)                                     # S_a^{-1} Xc_i, (S, p, n)
    ya = np.matmul(y, wc)[:, :, 0] / na[:, None]              # (S, E)
    b = np.matmul(g, y.transpose(0, 2, 1))                    # slopes (S, p, E); xc is 0 outside the arm
    d = xbar - xa
    alpha = ya + np.matmul(d[:, None, :], b)[:, 0, :]
    h = 1.0 / na[:, None] + np.einsum("spn,spn->sn", g, xc)
    c = 1.0 / na[:, None] + np.matmul(d[:, None, :], g)[:, 0, :]
    r = (y - ya[:, :, None] - np.matmul(b.transpose(0, 2, 1), xc)) * w[:, None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        k = np.where(w > 0, c ** 2 / (1.0 - h), 0.0)
        return alpha, np.matmul(r * r, k[:, :, None])[:, :, 0]      # leverage 1: NaN, no test


def lin_hc2(y, treatment, covariates, *, alternative="two-sided", enrolled=None) -> FastEstimates:
    """Lin's (2013) covariate-adjusted estimator with HC2 standard errors, per trial and endpoint.

    The OLS fit ``y ~ 1 + T + Xc + T:Xc`` (``Xc`` = covariates centred at the
    full-sample mean) computed without forming the design: the interacted
    model is a reparametrisation of separate regressions ``y ~ 1 + (x - xbar)``
    in each arm, so the coefficient of ``T`` is ``alpha_t - alpha_c`` (the
    intercepts) and, since each citizen belongs to one arm, its HC2 variance
    is the sum of the two intercepts' HC2 variances.

    Notes
    -----
    In arm ``a`` with design rows ``d_i = (x_i - xbar, 1)`` and ``M_a = sum d d'``:
    coefficients ``b_a = M_a^{-1} sum d_i y_i`` (intercept ``alpha_a``), leverage
    ``h_i = d_i' M_a^{-1} d_i``, weight of citizen ``i`` in the intercept
    ``c_i = e' M_a^{-1} d_i`` and ``Var_HC2(alpha_a) = sum_i c_i^2 r_i^2 / (1 - h_i)``.
    df = ``n - 2 (p + 1)`` (``estimatr::lm_lin`` with ``se_type = "HC2"``;
    statsmodels ``OLS(y, X).fit(cov_type="HC2")`` gives the same estimate and
    standard error). Computed by :func:`dim_and_lin` (two passes over the data
    per arm: one Gram matrix, then leverages and residuals of all endpoints in
    one matrix product); an arm whose covariates are collinear falls back to a
    pseudo-inverse, as statsmodels does. ``enrolled`` as in :func:`difference_in_means`.
    """
    return dim_and_lin(y, treatment, covariates, alternative=alternative, enrolled=enrolled)[1]


def dim_and_lin(y, treatment, covariates, *, alternative="two-sided", enrolled=None):
    """The HC2 difference in means and Lin's estimator of every trial and endpoint, sharing one pass.

    Returns ``(difference_in_means, lin_hc2)``, two :class:`FastEstimates`
    equal to :func:`difference_in_means` and :func:`lin_hc2` (to rounding).
    Lin's leverages and intercept weights depend only on the covariates and
    the allocation, so they are computed once per trial and arm for all
    endpoints; the difference in means comes from the same Gram matrix.
    """
    y, t, squeeze = _prepare(y, treatment)
    x = np.asarray(covariates, dtype=float)
    if x.ndim == 2:
        x = np.broadcast_to(x, (y.shape[0],) + x.shape)
    Z, n1, n_in = pack(y, t, x, _enrolled(enrolled, t))
    return _dim_lin(Z, n1, n_in, x.shape[2] + 1, squeeze, alternative,
                    fallback=lambda: (difference_in_means(y, t, alternative=alternative, enrolled=enrolled),
                                      _lin_hc2_general(y, t, x, alternative=alternative, enrolled=enrolled)))


def pack(y, t, x, enrolled=None):
    """Trials in the packed layout of :func:`dim_and_lin`: ``(Z, n1, n_in)``.

    ``Z`` is ``(S, 1 + p + E, m)``: row 0 is 1 for an enrolled citizen (the
    intercept), rows ``1..p`` the covariates, then the ``E`` outcomes; each
    trial's citizens in the order deltagergruppe (``n1`` of them),
    kontrolgruppe, then the columns beyond its ``n_in`` enrolled, which are 0
    in every row. ``y`` is ``(S, n, E)``, ``t`` ``(S, n)``, ``x`` ``(S, n, p)``.
    """
    S, n, E = y.shape
    p = x.shape[2]
    xs, ys = x.transpose(0, 2, 1), y.transpose(0, 2, 1)
    if enrolled is None:
        n_in = np.full(S, n)
        key = t < 0.5
    else:
        t = t * enrolled
        n_in = enrolled.sum(axis=1).astype(int)
        key = (1.0 - t) + 2.0 * (1.0 - enrolled)                # treated, enrolled controls, the rest
    if not (key[:, :-1] <= key[:, 1:]).all():
        order = np.argsort(key, axis=1, kind="stable")[:, None, :]
        xs = np.take_along_axis(xs, order, axis=2)
        ys = np.take_along_axis(ys, order, axis=2)
    n1 = t.sum(axis=1).astype(int)
    m = int(n_in.max())
    Z = np.empty((S, 1 + p + E, m))
    Z[:, 0] = np.arange(m) < n_in[:, None]
    np.multiply(xs[:, :, :m], Z[:, :1], out=Z[:, 1:1 + p])
    np.multiply(ys[:, :, :m], Z[:, :1], out=Z[:, 1 + p:])
    return Z, n1, n_in


def _tri_inv(L):
    """Inverses of lower-triangular matrices ``(..., k, k)`` by forward substitution."""
    k = L.shape[-1]
    W = np.zeros_like(L)
    d = 1.0 / np.diagonal(L, axis1=-2, axis2=-1)
    W[..., 0, 0] = d[..., 0]
    for i in range(1, k):
        W[..., i, :i] = -np.matmul(L[..., i:i + 1, :i], W[..., :i, :i])[..., 0, :] * d[..., i:i + 1]
        W[..., i, i] = d[..., i]
    return W


_SCRATCH = threading.local()


def _scratch(shape):
    """A reused work array of ``shape`` (per thread; never returned to the caller).

    The per-citizen products are megabytes per chunk of trials; a fresh array
    each time costs page faults (the allocator hands such blocks back to the
    system when they are freed), more than the arithmetic.
    """
    size = int(np.prod(shape))
    buf = getattr(_SCRATCH, "buf", None)
    if buf is None or buf.size < size:
        buf = _SCRATCH.buf = np.empty(size + size // 4)
    return buf[:size].reshape(shape)


#: Largest ``mean^2 / variance`` of a covariate or outcome for which the one-pass sums keep 1e-10 accuracy
#: (they lose about ``eps * mean^2 / variance`` relative); beyond it the two-pass fallback is used.
_ONE_PASS_LIMIT = 1e6


def _dim_lin_moments(Z, n1, k, binary=False):
    """Both estimators of packed trials (see :func:`pack`) as raw arrays, or None where the fast path
    does not apply (collinear covariates in an arm, or data too far from 0 for one-pass sums).
    ``binary=True`` says every outcome is 0/1 (then ``sum y^2 = sum y`` needs no pass of its own).

    Returns ``(dim_estimate, var_t, var_c, n_t, n_c, lin_estimate, lin_variance)``: the arm variances
    ``s_a^2 / n_a`` of the difference in means, the arm sizes and Lin's estimate and HC2 variance.
    """
    S, K, m = Z.shape
    p = k - 1
    lo, hi = int(n1.min()), int(n1.max())
    if lo == hi:                                               # every trial has n1 treated: two views
        arms = (Z[:, :, :hi], Z[:, :, lo:])
    else:
        cols = np.arange(m)
        arms = (Z[:, :, :hi] * (cols[:hi] < n1[:, None])[:, None, :],
                Z[:, :, lo:] * (cols[lo:] >= n1[:, None])[:, None, :])
    # pass 1: sums of squares and cross-products D'[D Y] per arm (D = [1, x]) and sum y^2
    G = np.empty((2, S, k, K))
    syy = np.empty((2, S, K - k))
    for i, a in enumerate(arms):
        np.matmul(a[:, :k], a.transpose(0, 2, 1), out=G[i])
        if not binary:
            np.einsum("sen,sen->se", a[:, k:], a[:, k:], out=syy[i])
    n_a = G[:, :, 0, 0]
    sy = G[:, :, 0, k:]
    if binary:
        syy = sy
    with np.errstate(divide="ignore", invalid="ignore"):
        my = sy / n_a[..., None]
        ss = syy - sy * my                                     # sum (y - mean)^2 per arm
        mu = G[:, :, 0, 1:k].sum(axis=0) / n_a.sum(axis=0)[:, None]                # overall covariate means
        sxx = np.diagonal(G[:, :, 1:k, 1:k], axis1=2, axis2=3).sum(axis=0) - mu * G[:, :, 0, 1:k].sum(axis=0)
        if not ((my * my * n_a[..., None] <= _ONE_PASS_LIMIT * ss).all()
                and (mu * mu * n_a.sum(axis=0)[:, None] <= _ONE_PASS_LIMIT * sxx).all()):
            return None
    # centre at the overall means, intercept last: d~ = A d = (x - mu, 1)
    A = np.zeros((S, k, k))
    A[:, :p, 0] = -mu
    A[:, :p, 1:] = np.eye(p)
    A[:, p, 0] = 1.0
    GA = np.matmul(A, G)
    try:
        Lc = np.linalg.cholesky(np.matmul(GA[..., :k], A.transpose(0, 2, 1)))
    except np.linalg.LinAlgError:
        return None
    W = _tri_inv(Lc)                                           # M^{-1} = W'W
    beta = np.matmul(W.transpose(0, 1, 3, 2), np.matmul(W, GA[..., k:]))          # (2, S, k, E), centred
    if not np.isfinite(beta).all():
        return None
    # pass 2: one product gives u = W d~ (so h = |u|^2, and c = W_pp u_p as the intercept is last)
    # and the residuals y - b'd~ of every endpoint
    Mx = np.empty((2, S, K, K))
    Mx[..., :k, :k] = np.matmul(W, A)
    Mx[..., :k, k:] = 0.0
    Mx[..., k:, :k] = -np.matmul(beta.transpose(0, 1, 3, 2), A)
    Mx[..., k:, k:] = np.eye(K - k)
    var = []
    for i, a in ((1, arms[1]), (0, arms[0])):                  # the kontrolgruppe first: its data are warm
        O = np.matmul(Mx[i], a, out=_scratch(a.shape))
        one_minus_h = np.einsum("skn,skn->sn", O[:, :k], O[:, :k])
        np.subtract(1.0, one_minus_h, out=one_minus_h)
        c2 = O[:, p] * W[i, :, p, p][:, None]
        c2 *= c2
        with np.errstate(divide="ignore", invalid="ignore"):
            c2 /= one_minus_h                                  # c^2 / (1 - h); 0 in padding
        var.append(np.einsum("sen,sen,sn->se", O[:, k:], O[:, k:], c2))
    ss = np.maximum(ss, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        v = ss / ((n_a - 1) * n_a)[..., None]
    return my[0] - my[1], v[0], v[1], n_a[0], n_a[1], beta[0, :, p] - beta[1, :, p], var[0] + var[1]


def _dim_lin(Z, n1, n_in, k, squeeze, alternative, fallback):
    r = _dim_lin_moments(Z, n1, k)
    if r is None:
        dim, lin = fallback()
        if squeeze == "both":
            return (FastEstimates(*(a[0, 0] for a in dim)), FastEstimates(*(a[0, 0] for a in lin)))
        if squeeze:
            return (FastEstimates(*(a[:, 0] for a in dim)), FastEstimates(*(a[:, 0] for a in lin)))
        return dim, lin
    d, vt, vc, nt, nc, lin_est, lin_var = r
    nt, nc = nt[:, None], nc[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        dim_df = (vt + vc) ** 2 / (vt ** 2 / (nt - 1) + vc ** 2 / (nc - 1))
    lin_df = np.broadcast_to((n_in - 2 * k).astype(float)[:, None], lin_est.shape).copy()
    return (_finish(d, np.sqrt(vt + vc), dim_df, squeeze, alternative),
            _finish(lin_est, np.sqrt(lin_var), lin_df, squeeze, alternative))


def _lin_hc2_general(y, treatment, covariates, *, alternative="two-sided", enrolled=None) -> FastEstimates:
    """Lin's estimator arm by arm with a (pseudo-)inverse: the fallback of :func:`lin_hc2` (singular arms).

    Same model and decomposition as :func:`lin_hc2` (separate regressions on
    covariates centred at the full-sample mean in each arm; HC2 variance the
    sum of the two intercepts' variances), computed by the slower route below.

    Notes
    -----
    In arm ``a`` with ``n_a`` citizens, arm mean ``xbar_a``, ``Xc_i = x_i - xbar_a``,
    ``S_a = sum Xc Xc'``, ``d_a = xbar - xbar_a`` and slopes ``b_a = S_a^{-1} sum Xc_i y_i``:
    ``alpha_a = ybar_a + d_a' b_a``, leverage ``h_i = 1/n_a + Xc_i' S_a^{-1} Xc_i``,
    weight ``c_i = 1/n_a + d_a' S_a^{-1} Xc_i`` and
    ``Var_HC2(alpha_a) = sum_i c_i^2 r_i^2 / (1 - h_i)``. df = ``n - 2 (p + 1)``
    (``estimatr::lm_lin`` with ``se_type = "HC2"``; statsmodels
    ``OLS(y, X).fit(cov_type="HC2")`` gives the same estimate and standard error).
    Cost per trial is ``O(n p^2)``. ``enrolled`` as in :func:`difference_in_means`.
    """
    y, t, squeeze = _prepare(y, treatment)
    x = np.asarray(covariates, dtype=float)
    if x.ndim == 2:
        x = np.broadcast_to(x, (y.shape[0],) + x.shape)
    p = x.shape[2]
    S, n = t.shape
    e = _enrolled(enrolled, t)
    if e is None:
        xbar = x.mean(axis=1)                                 # (S, p)
        n_in = np.full(S, n)
        key = t < 0.5
    else:
        t = t * e
        n_in = e.sum(axis=1).astype(int)
        xbar = np.matmul(x.transpose(0, 2, 1), e[:, :, None])[:, :, 0] / n_in[:, None]
        key = (1.0 - t) + 2.0 * (1.0 - e)                     # treated, then enrolled controls, then the rest
    # Long axis last (S, p, n), and each trial's treated citizens first (stable), so each arm is a
    # compact slice of columns (padded by the few where trials' arm sizes differ, masked out).
    xs, ys = x.transpose(0, 2, 1), y.transpose(0, 2, 1)
    if not (key[:, :-1] <= key[:, 1:]).all():                 # not already in that order
        order = np.argsort(key, axis=1, kind="stable")[:, None, :]
        xs = np.take_along_axis(xs, order, axis=2)
        ys = np.take_along_axis(ys, order, axis=2)
    n1 = t.sum(axis=1).astype(int)
    lo, hi = int(n1.min()), int(n1.max())
    end = int(n_in.max())
    cols = np.arange(n)
    alpha_t, var_t = _lin_arm(xs[:, :, :hi], ys[:, :, :hi], (cols[:hi] < n1[:, None]).astype(float), xbar)
    wc = ((cols[lo:end] >= n1[:, None]) & (cols[lo:end] < n_in[:, None])).astype(float)
    alpha_c, var_c = _lin_arm(xs[:, :, lo:end], ys[:, :, lo:end], wc, xbar)
    est = alpha_t - alpha_c
    with np.errstate(invalid="ignore"):
        se = np.sqrt(var_t + var_c)                         # NaN where an arm's fit is saturated
    df = np.broadcast_to((n_in - 2 * (p + 1)).astype(float)[:, None], est.shape).copy()
    return _finish(est, se, df, squeeze, alternative)


def logrank(time, event, treatment, *, enrolled=None, alternative="two-sided"):
    """Log-rank test and Peto's O/E hazard ratio of many trials at once (as ``trial.estimate.logrank``).

    Parameters
    ----------
    time, event : (S, n) arrays
        Follow-up time and 1 = event, 0 = censored.
    treatment : (S, n) array of 0/1
    enrolled : (S, n) array of 0/1, optional
        Citizens of each trial (padding ignored).

    Returns
    -------
    FastEstimates
        ``estimate`` = log of the O/E hazard ratio ``log((O_1/E_1)/(O_0/E_0))``, ``std_error``
        ``sqrt(1/E_1 + 1/E_0)``, ``statistic`` ``(O_1 - E_1)/sqrt(V)``, ``df`` inf, ``p_value``
        of the log-rank test (two-sided: chi-square on 1 df, ``survival::survdiff``).

    Notes
    -----
    At each event time ``E_1 = n_1/n`` and ``V = (n_1/n)(1 - n_1/n)``, the
    at-risk counts read off one sort of each trial's times. Written for
    continuous times: tied event times (probability ~0 for continuous draws)
    are taken one at a time, which changes ``V`` by the tie correction
    ``(n - d)/(n - 1)`` only where ties occur.
    """
    time = np.asarray(time, float)
    d = np.asarray(event, float)
    z = np.asarray(treatment, float)
    e = np.ones_like(z) if enrolled is None else np.asarray(enrolled, float)
    order = np.argsort(np.where(e > 0, time, np.inf), axis=1, kind="stable")
    d, z, e = (np.take_along_axis(a, order, axis=1) for a in (d, z, e))
    d = d * e
    n_risk = np.cumsum(e[:, ::-1], axis=1)[:, ::-1]           # enrolled with time >= this one
    n1_risk = np.cumsum((z * e)[:, ::-1], axis=1)[:, ::-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(n_risk > 0, n1_risk / n_risk, 0.0)
    o1 = (d * z).sum(axis=1)
    e1 = (d * share).sum(axis=1)
    v = (d * share * (1 - share)).sum(axis=1)
    dd = d.sum(axis=1)
    o0, e0 = dd - o1, dd - e1
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = np.where(v > 0, (o1 - e1) / np.sqrt(v), np.nan)
        est = np.where((o1 > 0) & (o0 > 0), np.log((o1 / e1) / (o0 / e0)), np.nan)
        se = np.where((o1 > 0) & (o0 > 0), np.sqrt(1 / e1 + 1 / e0), np.nan)
    p = t_pvalue(stat, np.inf, alternative)
    return FastEstimates(est, se, np.full_like(est, np.inf), stat, p)
