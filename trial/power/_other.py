"""Power for continuous, count and time-to-event outcomes (unequal groups)."""
from __future__ import annotations

import math

import numpy as np
from scipy import optimize, stats

from ..exceptions import ParameterError
from ._common import (check_alpha, check_alternative, check_direction, check_n, check_number, check_power,
                      check_power_above_alpha,
                      check_probability, exactly_one_missing)
from ._results import PowerResult

__all__ = ["power_two_means", "power_rates", "power_time_to_event", "events_needed", "TTE_METHODS"]


def _z_power(effect, se, z_alpha_level, alternative):
    """Wald test power with the same SE under null and alternative (both tails when two-sided)."""
    z = stats.norm.isf(z_alpha_level / 2 if alternative == "two-sided" else z_alpha_level)
    up = stats.norm.cdf(effect / se - z)
    down = stats.norm.cdf(-effect / se - z)
    return {"greater": up, "less": down}.get(alternative, up + down)


def _solve(fn, lo, hi, target, what):
    """Root of ``fn(x) = target`` on [lo, hi] (power monotone in the search direction)."""
    flo, fhi = fn(lo) - target, fn(hi) - target
    if flo >= 0:
        return lo, ""
    if fhi < 0:
        return float("nan"), f"not attainable: power stays below {target:g} for every {what}"
    return float(optimize.brentq(lambda x: fn(x) - target, lo, hi, xtol=1e-12, rtol=1e-12)), ""


def _solve_n(fn, target, n_control_max, n1):
    if fn(n_control_max) < target:
        return None, (f"not attainable with {n1} treated and at most {n_control_max} controls "
                      f"(power {fn(n_control_max):.3f} at {n_control_max})")
    if fn(2) >= target:
        return 2, ""
    n = optimize.brentq(lambda m: fn(m) - target, 2, n_control_max, xtol=1e-9)
    return int(math.ceil(n - 1e-9)), ""


# --------------------------------------------------------------------------- continuous
def _t_power(diff, sd, n0, n1, alpha, alternative):
    nu = n1 + n0 - 2
    ncp = diff / sd / math.sqrt(1 / n1 + 1 / n0)
    # lower tails as upper tails of -T' ~ t(nu, -ncp): scipy's nct.cdf is NaN far in the tail
    if alternative == "two-sided":
        q = stats.t.isf(alpha / 2, nu)
        return float(stats.nct.sf(q, nu, ncp) + stats.nct.sf(q, nu, -ncp))
    q = stats.t.isf(alpha, nu)
    if alternative == "greater":
        return float(stats.nct.sf(q, nu, ncp))
    return float(stats.nct.sf(q, nu, -ncp))


def power_two_means(*, sd, mean_control=0.0, mean_treatment=None, n_control=None, n_treatment, power=None,
                    alpha=0.05, alternative="two-sided", direction=None, n_control_max=100_000) -> PowerResult:
    """Two-sample t test (common SD, unequal groups): power, MDE in natural units, or control size.

    Leave exactly one of ``power``, ``mean_treatment`` and ``n_control`` as None.

    Notes
    -----
    With ``d = (mean_treatment - mean_control)/sd``, ``nu = n_t + n_c - 2`` and
    ``ncp = d / sqrt(1/n_t + 1/n_c)``, two-sided power is
    ``P(T' > t_{nu,1-alpha/2}) + P(T' < -t_{nu,1-alpha/2})`` for a noncentral
    ``T' ~ t(nu, ncp)``: R's ``pwr::pwr.t2n.test(d, n1 = n_t, n2 = n_c)`` and
    statsmodels ``TTestIndPower().power(d, nobs1=n_t, ratio=n_c/n_t)``.

    Examples
    --------
    >>> round(power_two_means(sd=10, mean_control=0, mean_treatment=5, n_control=300, n_treatment=100).power, 4)
    0.9909
    """
    sd = check_number("sd", sd, lo=0)
    m0 = check_number("mean_control", mean_control)
    m1 = check_number("mean_treatment", mean_treatment, allow_none=True)
    n1 = check_n("n_treatment", n_treatment)
    n0 = check_n("n_control", n_control, allow_none=True)
    target = check_power(power)
    alpha = check_alpha(alpha)
    check_power_above_alpha(target, alpha)
    alternative = check_alternative(alternative)
    solve = exactly_one_missing(power=target, mean_treatment=m1, n_control=n0)
    common = dict(outcome="continuous", method="t", control_value=m0, n_treatment=n1, alpha=alpha,
                  alternative=alternative)
    if solve == "power":
        return PowerResult(solved_for="power", power=_t_power(m1 - m0, sd, n0, n1, alpha, alternative),
                           treatment_value=m1, n_control=n0, parameters={"sd": sd}, **common)
    if solve == "mean_treatment":
        direction = check_direction(direction, alternative)
        sign = 1.0 if direction == "increase" else -1.0
        fn = lambda d: _t_power(sign * d, sd, n0, n1, alpha, alternative)  # noqa: E731
        hi = sd
        while fn(hi) < target and hi < 1000 * sd:       # expand the bracket (nct is NaN far out)
            hi *= 2
        diff, note = _solve(fn, 0.0, hi, target, "difference up to 1000 SD")
        m1 = m0 + sign * diff
        pw = _t_power(m1 - m0, sd, n0, n1, alpha, alternative) if math.isfinite(diff) else float("nan")
        return PowerResult(solved_for="effect", power=pw, treatment_value=m1, n_control=n0, target_power=target,
                           parameters={"sd": sd, "direction": direction}, note=note, **common)
    n0, note = _solve_n(lambda n: _t_power(m1 - m0, sd, n, n1, alpha, alternative), target,
                        check_n("n_control_max", n_control_max), n1)
    pw = _t_power(m1 - m0, sd, n0, n1, alpha, alternative) if n0 else float("nan")
    return PowerResult(solved_for="n_control", power=pw, treatment_value=m1, n_control=n0, target_power=target,
                       parameters={"sd": sd}, note=note, **common)


# --------------------------------------------------------------------------- counts
def _rate_power(r1, r0, n0, n1, exposure, dispersion, alpha, alternative):
    var = (1 / (r1 * exposure) + dispersion) / n1 + (1 / (r0 * exposure) + dispersion) / n0
    return float(_z_power(math.log(r1 / r0), math.sqrt(var), alpha, alternative))


def power_rates(*, rate_control, rate_treatment=None, n_control=None, n_treatment, power=None, exposure=1.0,
                dispersion=0.0, alpha=0.05, alternative="two-sided", direction=None,
                n_control_max=100_000) -> PowerResult:
    """Wald test of the rate ratio of counts (Poisson, or negative binomial with ``dispersion`` > 0).

    Rates are events per person-year; ``exposure`` is the follow-up in years
    per citizen; ``dispersion`` is ``k`` in ``Var(Y) = mu + k mu^2``.

    Notes
    -----
    ``log(r_t / r_c)`` is tested with variance under the alternative
    ``(1/(r_t t) + k)/n_t + (1/(r_c t) + k)/n_c`` (Zhu & Lakkis 2014, their
    variance under the alternative); power
    ``Phi(|log RR|/sd - z_{1-alpha/2}) + Phi(-|log RR|/sd - z_{1-alpha/2})``.
    Matches statsmodels ``power_negbin_ratio_2indep(..., method_var="alt")``
    and, with ``k = 0``, ``power_poisson_ratio_2indep(..., method_var="alt")``
    for one-sided tests.

    Examples
    --------
    >>> round(power_rates(rate_control=2.0, rate_treatment=1.5, n_control=300, n_treatment=100,
    ...                   exposure=3, dispersion=1.0).power, 4)
    0.6204
    """
    r0 = check_number("rate_control", rate_control, lo=0)
    r1 = check_number("rate_treatment", rate_treatment, lo=0, allow_none=True)
    n1 = check_n("n_treatment", n_treatment)
    n0 = check_n("n_control", n_control, allow_none=True)
    target = check_power(power)
    t = check_number("exposure", exposure, lo=0)
    k = check_number("dispersion", dispersion, lo=0, lo_open=False)
    alpha = check_alpha(alpha)
    check_power_above_alpha(target, alpha)
    alternative = check_alternative(alternative)
    solve = exactly_one_missing(power=target, rate_treatment=r1, n_control=n0)
    method = "negbin_wald" if k > 0 else "poisson_wald"
    params = {"exposure": t, "dispersion": k}
    common = dict(outcome="count", method=method, control_value=r0, n_treatment=n1, alpha=alpha,
                  alternative=alternative)
    if solve == "power":
        return PowerResult(solved_for="power", power=_rate_power(r1, r0, n0, n1, t, k, alpha, alternative),
                           treatment_value=r1, n_control=n0, parameters=params, **common)
    if solve == "rate_treatment":
        direction = check_direction(direction, alternative)
        if direction == "increase":
            lr, note = _solve(lambda x: _rate_power(r0 * math.exp(x), r0, n0, n1, t, k, alpha, alternative),
                              0.0, math.log(1000.0), target, "rate ratio up to 1000")
        else:
            lr, note = _solve(lambda x: _rate_power(r0 * math.exp(-x), r0, n0, n1, t, k, alpha, alternative),
                              0.0, math.log(1000.0), target, "rate ratio down to 1/1000")
            lr = -lr
        r1 = r0 * math.exp(lr) if math.isfinite(lr) else float("nan")
        pw = _rate_power(r1, r0, n0, n1, t, k, alpha, alternative) if math.isfinite(lr) else float("nan")
        return PowerResult(solved_for="effect", power=pw, treatment_value=r1, n_control=n0, target_power=target,
                           parameters={**params, "rate_ratio": r1 / r0, "direction": direction}, note=note,
                           **common)
    n0, note = _solve_n(lambda n: _rate_power(r1, r0, n, n1, t, k, alpha, alternative), target,
                        check_n("n_control_max", n_control_max), n1)
    pw = _rate_power(r1, r0, n0, n1, t, k, alpha, alternative) if n0 else float("nan")
    return PowerResult(solved_for="n_control", power=pw, treatment_value=r1, n_control=n0, target_power=target,
                       parameters=params, note=note, **common)


# --------------------------------------------------------------------------- time to event
def _hazard_ratio(s1, s0):
    """Exponential (proportional hazards) model: share with an event by the horizon -> hazard ratio."""
    return math.log1p(-s1) / math.log1p(-s0)


TTE_METHODS = ("logrank_score", "schoenfeld")
_GL_X, _GL_W = np.polynomial.legendre.leggauss(48)
_GAUSS_LEGENDRE = ((_GL_X + 1) / 2, _GL_W / 2)             # nodes and weights on [0, 1]


def _tte_power_score(s1, s0, n0, n1, alpha, alternative):
    """Log-rank power from the expected score and its variance under the alternative (see power_time_to_event)."""
    u, w = _GAUSS_LEGENDRE
    L0, L1 = -math.log1p(-s0), -math.log1p(-s1)             # cumulative hazards at the horizon (time in horizons)
    a1, a0 = n1 * np.exp(-L1 * u), n0 * np.exp(-L0 * u)     # expected numbers at risk
    i1, i0 = a1 * L1, a0 * L0                               # expected event intensities
    lam = i1 + i0
    p, q = a1 / (a1 + a0), i1 / lam                         # share treated at risk; among the events
    score = float(w @ ((q - p) * lam))                      # E[O_t - E_t]
    v0 = float(w @ (p * (1 - p) * lam))                     # the test's variance (its expectation)
    v1 = float(w @ (q * (1 - q) * lam))                     # variance of the score given the event times
    z = stats.norm.isf(alpha / 2 if alternative == "two-sided" else alpha)
    up = stats.norm.cdf((score - z * math.sqrt(v0)) / math.sqrt(v1))
    down = stats.norm.cdf((-score - z * math.sqrt(v0)) / math.sqrt(v1))
    return float({"greater": up, "less": down}.get(alternative, up + down))


def _tte_power(s1, s0, n0, n1, alpha, alternative, method="schoenfeld"):
    if method == "logrank_score":
        return _tte_power_score(s1, s0, n0, n1, alpha, alternative)
    events = n1 * s1 + n0 * s0
    pi1 = n1 / (n1 + n0)
    # log HR of treatment vs control; "greater" = more/faster events in the deltagergruppe
    return float(_z_power(math.log(_hazard_ratio(s1, s0)), 1 / math.sqrt(events * pi1 * (1 - pi1)), alpha,
                          alternative))


def events_needed(*, hazard_ratio, power=0.8, alpha=0.05, alternative="two-sided", allocation_ratio=1.0) -> float:
    """Schoenfeld's number of events for a log-rank / Cox test of ``hazard_ratio``.

    ``D = (z_{1-alpha/2} + z_{power})^2 / (pi_t pi_c log(HR)^2)`` with
    ``pi_t = 1/(1 + allocation_ratio)`` the share treated (controls per treated = allocation_ratio).

    Examples
    --------
    >>> round(events_needed(hazard_ratio=0.75), 1)    # Schoenfeld (1983): 380 events
    379.4
    """
    hr = check_number("hazard_ratio", hazard_ratio, lo=0)
    if hr == 1:
        raise ParameterError("hazard_ratio", "must differ from 1; got 1")
    pw = check_power(power, allow_none=False)
    alpha = check_alpha(alpha)
    check_power_above_alpha(pw, alpha)
    alternative = check_alternative(alternative)
    ratio = check_number("allocation_ratio", allocation_ratio, lo=0)
    z = stats.norm.isf(alpha / 2 if alternative == "two-sided" else alpha)
    pi1 = 1 / (1 + ratio)
    return float((z + stats.norm.ppf(pw)) ** 2 / (pi1 * (1 - pi1) * math.log(hr) ** 2))


def power_time_to_event(*, share_control, share_treatment=None, n_control=None, n_treatment, horizon_weeks=156,
                        power=None, alpha=0.05, alternative="two-sided", direction=None,
                        n_control_max=100_000, method="logrank_score") -> PowerResult:
    """Log-rank test power, effects as shares with an event by the horizon.

    Parameters
    ----------
    method : {"logrank_score", "schoenfeld"}
        ``logrank_score`` (default): the log-rank score's expectation and
        variance under the alternative, integrated over the follow-up;
        ``schoenfeld``: Schoenfeld's (1983) formula. See Notes.

    Notes
    -----
    Exponential times (proportional hazards) with administrative censoring at
    the horizon: ``HR = log(1 - s_t)/log(1 - s_c)``.

    ``schoenfeld``: expected events ``D = n_t s_t + n_c s_c``, power
    ``Phi(|log HR| sqrt(D pi_t pi_c) - z_{1-alpha/2})`` plus the other tail,
    ``pi_t = n_t/(n_t + n_c)``. It linearises the score in ``log HR`` around
    ``HR = 1`` with the allocation share held fixed; far from ``HR = 1`` with
    unequal groups it is off: at 10 % -> 20 % events (HR 2.1), 100 treated
    and 300 controls it gives 0.63 where the log-rank test has power 0.73
    (simulation, tests/test_power_exact.py), and at 10 % -> 5 % it gives 0.45
    against 0.31.

    ``logrank_score``: with ``a_t(u), a_c(u)`` the expected numbers at risk
    and ``i_t = a_t H_t``, ``i_c = a_c H_c`` the event intensities
    (``H = -log(1 - s)`` the cumulative hazard at the horizon, time ``u`` in
    horizons), ``p = a_t/(a_t + a_c)`` the share treated at risk and
    ``q = i_t/(i_t + i_c)`` the chance that an event is in the deltagergruppe,
    the score ``O_t - E_t`` has mean ``S = int (q - p)(i_t + i_c) du``, the
    test's variance is ``V_0 = int p (1 - p)(i_t + i_c) du`` and the score's
    variance given the event times ``V_1 = int q (1 - q)(i_t + i_c) du``;
    power ``Phi((S - z V_0^0.5)/V_1^0.5) + Phi((-S - z V_0^0.5)/V_1^0.5)``
    (48-point Gauss-Legendre quadrature). At the null it gives alpha exactly;
    against simulations of the log-rank test it is within 0.01 where
    Schoenfeld's is off by up to 0.16 (tests/test_power_exact.py).

    ``parameters`` gives the hazard ratio and the median time to event in
    weeks of both groups (``horizon log 2 / -log(1 - s)``), the MDE in weeks.
    """
    if method not in TTE_METHODS:
        raise ParameterError("method", f"must be one of {', '.join(TTE_METHODS)}; got {method!r}")
    s0 = check_probability("share_control", share_control)
    s1 = check_probability("share_treatment", share_treatment, allow_none=True)
    n1 = check_n("n_treatment", n_treatment)
    n0 = check_n("n_control", n_control, allow_none=True)
    target = check_power(power)
    h = check_number("horizon_weeks", horizon_weeks, lo=0)
    alpha = check_alpha(alpha)
    check_power_above_alpha(target, alpha)
    alternative = check_alternative(alternative)
    solve = exactly_one_missing(power=target, share_treatment=s1, n_control=n0)
    common = dict(outcome="time_to_event", method=method, control_value=s0, n_treatment=n1, alpha=alpha,
                  alternative=alternative)

    def params(s1_):
        if not math.isfinite(s1_):
            return {"horizon_weeks": h}
        med = lambda s: h * math.log(2) / -math.log1p(-s)  # noqa: E731
        return {"horizon_weeks": h, "hazard_ratio": _hazard_ratio(s1_, s0), "median_weeks_control": med(s0),
                "median_weeks_treatment": med(s1_)}

    if solve == "power":
        return PowerResult(solved_for="power", power=_tte_power(s1, s0, n0, n1, alpha, alternative, method),
                           treatment_value=s1, n_control=n0, parameters=params(s1), **common)
    if solve == "share_treatment":
        direction = check_direction(direction, alternative)
        lo, hi = (s0, 1 - 1e-9) if direction == "increase" else (s0, 1e-9)
        fn = lambda s: _tte_power(s, s0, n0, n1, alpha, alternative, method)  # noqa: E731
        if fn(hi) < target:
            s1, note = float("nan"), f"not attainable: power stays below {target:g}"
        else:
            s1 = float(optimize.brentq(lambda s: fn(s) - target, lo + (1e-12 if direction == "increase" else -1e-12),
                                       hi, xtol=1e-12))
            note = ""
        pw = fn(s1) if math.isfinite(s1) else float("nan")
        return PowerResult(solved_for="effect", power=pw, treatment_value=s1, n_control=n0, target_power=target,
                           parameters={**params(s1), "direction": direction}, note=note, **common)
    n0, note = _solve_n(lambda n: _tte_power(s1, s0, n, n1, alpha, alternative, method), target,
                        check_n("n_control_max", n_control_max), n1)
    pw = _tte_power(s1, s0, n0, n1, alpha, alternative, method) if n0 else float("nan")
    return PowerResult(solved_for="n_control", power=pw, treatment_value=s1, n_control=n0, target_power=target,
                       parameters=params(s1), note=note, **common)
