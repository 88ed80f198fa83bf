"""Capacity-constrained allocation, break-even power, power curves and the protocol's power table."""
from __future__ import annotations

import numpy as np

from ..exceptions import ParameterError
from ._binary import (BINARY_METHODS, EXACT_METHODS, _analytic_power, _power_fn, _solve_effect, exact_coverage,
                      exact_size, power_two_proportions)
from ._common import (check_alpha, check_alternative, check_direction, check_n, check_number, check_power,
                      check_power_above_alpha,
                      check_probability)
from ._other import power_rates, power_time_to_event, power_two_means
from ._results import BreakEvenResult, CapacityResult, PowerCurve, ProtocolPower

__all__ = ["power_by_control_size", "break_even_effect", "power_curve", "protocol_power",
           "DEFAULT_UNIT_SAVING", "DEFAULT_INVESTMENT"]

#: Saving per citizen moved into ordinary employment, thousand kr. a year (2016 p/l):
#: transfers (EO) 110.8 + measures (EI) 23.4 + service 7.0 (BI25 business case, see docs/power.md).
DEFAULT_UNIT_SAVING = 110.8 + 23.4 + 7.0
#: BI25 implementation cost (investment), thousand kr. (2016 p/l).
DEFAULT_INVESTMENT = 6900.0


def _method(method):
    if method not in BINARY_METHODS:
        raise ParameterError("method", f"must be one of {', '.join(BINARY_METHODS)}; got {method!r}")
    return method


def power_by_control_size(*, p_control, p_treatment, n_treatment=100, control_sizes=range(100, 901, 100),
                          alpha=0.05, alternative="two-sided", method="exact_hc2", power=0.8,
                          direction=None) -> CapacityResult:
    """Power at ``p_treatment`` and MDE at ``power`` for each control-group size, deltagergruppe fixed.

    The deltagergruppe is capped (100 places); controls cost nothing. The
    variance of a difference in shares is ``p_t q_t/n_t + p_c q_c/n_c``: extra
    controls only shrink the second term, so power approaches a ceiling
    (``power_limit``, normal approximation with ``n_c -> infinity``) and the
    MDE a floor (``mde_limit``).

    Examples
    --------
    >>> r = power_by_control_size(p_control=0.5, p_treatment=0.35, control_sizes=[100, 300], method="arcsine")
    >>> [round(p, 3) for p in r.power]
    [0.577, 0.751]
    """
    p0 = check_probability("p_control", p_control)
    p1 = check_probability("p_treatment", p_treatment)
    n1 = check_n("n_treatment", n_treatment)
    sizes = tuple(check_n("control_sizes", n) for n in control_sizes)
    if not sizes:
        raise ParameterError("control_sizes", "must list at least one control-group size; got none")
    alpha, alternative = check_alpha(alpha), check_alternative(alternative)
    target = check_power(power, allow_none=False)
    check_power_above_alpha(target, alpha)
    method = _method(method)
    if direction is None:
        direction = "increase" if p1 > p0 else "decrease"
    direction = check_direction(direction, alternative)
    pw, mde = [], []
    for n0 in sizes:
        r = power_two_proportions(p_control=p0, p_treatment=p1, n_control=n0, n_treatment=n1, alpha=alpha,
                                  alternative=alternative, method=method)
        pw.append(r.power)
        fn = _power_fn(method, p0, n0, n1, alpha, alternative)
        pt, _ = _solve_effect(fn, p0, target, direction)
        mde.append(pt - p0)
    big = 1e12
    limit_power = float(_analytic_power("normal_unpooled", p0, p1, big, n1, alpha, alternative))
    pt, _ = _solve_effect(lambda p: _analytic_power("normal_unpooled", p0, p, big, n1, alpha, alternative), p0,
                          target, direction)
    return CapacityResult(p_control=p0, p_treatment=p1, n_treatment=n1, control_sizes=sizes, power=tuple(pw),
                          mde=tuple(mde), power_limit=limit_power, mde_limit=pt - p0, alpha=alpha,
                          alternative=alternative, method=method, target_power=target)


def break_even_effect(*, unit_saving_per_citizen_per_year=DEFAULT_UNIT_SAVING,
                      investment_total=DEFAULT_INVESTMENT, horizon_years=6, p_control=0.05, n_treatment=100,
                      n_control=300, alpha=0.05, alternative="two-sided", method="exact_hc2") -> BreakEvenResult:
    """The effect at which the investment pays back within the horizon, and the power to detect it.

    Parameters
    ----------
    unit_saving_per_citizen_per_year : float
        Public saving per extra citizen with the outcome (thousand kr. a year);
        default 141.2 = 110.8 (transfers, EO) + 23.4 (measures, EI) + 7.0
        (service) for a citizen moved into ordinary employment (BI25).
    investment_total : float
        Implementation cost (same unit), default 6,900 (BI25).
    horizon_years : float
        Years over which savings are counted (BI25: six budget years).
    p_control, n_treatment, n_control, alpha, alternative, method
        The design and test for the power (see :func:`power_two_proportions`).

    Notes
    -----
    Savings are counted flat over the whole horizon from year 1 (no phasing,
    no discounting, 2016 p/l): ``c * saving * horizon = investment``, so the
    break-even is ``c = investment / (saving * horizon)`` extra citizens among
    the ``n_treatment`` treated, a difference in shares ``c / n_treatment``.
    The power is that of ``method`` at ``p_control + c / n_treatment``.

    Examples
    --------
    >>> r = break_even_effect(method="arcsine")
    >>> round(r.break_even_citizens, 2), round(r.break_even_difference, 4)
    (8.14, 0.0814)
    """
    s = check_number("unit_saving_per_citizen_per_year", unit_saving_per_citizen_per_year, lo=0)
    inv = check_number("investment_total", investment_total, lo=0, lo_open=False)
    h = check_number("horizon_years", horizon_years, lo=0)
    p0 = check_probability("p_control", p_control)
    n1 = check_n("n_treatment", n_treatment)
    n0 = check_n("n_control", n_control)
    method = _method(method)
    citizens = inv / (s * h)
    diff = citizens / n1
    note = ""
    if p0 + diff >= 1:
        pw = float("nan")
        note = (f"not attainable: break-even needs {citizens:.1f} more citizens of {n1}, "
                f"a share above 100 % from {p0:g}")
    else:
        pw = power_two_proportions(p_control=p0, p_treatment=p0 + diff, n_control=n0, n_treatment=n1, alpha=alpha,
                                   alternative=alternative, method=method).power
    return BreakEvenResult(unit_saving_per_citizen_per_year=s, investment_total=inv, horizon_years=h,
                           n_treatment=n1, n_control=n0, p_control=p0, break_even_citizens=citizens,
                           break_even_difference=diff, power=pw, alpha=check_alpha(alpha),
                           alternative=check_alternative(alternative), method=method, note=note)


def power_curve(*, p_control, n_control, n_treatment, p_treatment=None, methods=("normal_unpooled", "arcsine",
                "exact_hc2", "fisher"), alpha=0.05, alternative="two-sided") -> PowerCurve:
    """Power against the treatment share (default: 41 shares from ``p_control`` to ``p_control + 0.2``)."""
    p0 = check_probability("p_control", p_control)
    n0, n1 = check_n("n_control", n_control), check_n("n_treatment", n_treatment)
    alpha, alternative = check_alpha(alpha), check_alternative(alternative)
    if p_treatment is None:
        p_treatment = np.linspace(p0, min(p0 + 0.2, 0.999), 41)
    grid = np.array([check_probability("p_treatment", float(p)) for p in p_treatment])
    curves = {_method(m): tuple(float(x) for x in np.atleast_1d(_power_fn(m, p0, n0, n1, alpha, alternative)(grid)))
              for m in methods}
    return PowerCurve(p_control=p0, n_control=n0, n_treatment=n1, p_treatment=tuple(float(p) for p in grid),
                      power=curves, alpha=alpha, alternative=alternative)


# --------------------------------------------------------------------------- protocol
def _endpoint_rows(e, n1, n0, alpha, alternative, target, method, assume, compare=()):
    row = {"endpoint": e.id, "label_da": e.label_da, "role": e.role, "hierarchy": e.hierarchy, "type": e.type,
           "control_value": e.control_value, "goal": e.goal, "goal_value": e.goal_value, "n_treatment": n1,
           "n_control": n0, "power": float("nan"), "mde_difference": float("nan"), "mde_value": float("nan"),
           "method": "", "note": "", "size": float("nan"), "coverage": float("nan")}
    for m in compare:
        row[f"power_{m}"] = row[f"size_{m}"] = float("nan")
    kw = dict(n_control=n0, n_treatment=n1, alpha=alpha, alternative=alternative)
    direction = e.direction if alternative == "two-sided" else None
    try:
        if e.type == "binary":
            row["method"] = method
            at_goal = power_two_proportions(p_control=e.control_value, p_treatment=e.goal_value, method=method, **kw)
            mde = power_two_proportions(p_control=e.control_value, power=target, method=method, direction=direction,
                                        **kw)
            _binary_honesty(row, e, n1, n0, alpha, alternative, method, compare)
        elif e.type == "time_to_event":
            row["method"] = "logrank_score"
            at_goal = power_time_to_event(share_control=e.control_value, share_treatment=e.goal_value,
                                          horizon_weeks=e.horizon_weeks, **kw)
            mde = power_time_to_event(share_control=e.control_value, power=target, horizon_weeks=e.horizon_weeks,
                                      direction=direction, **kw)
            row["schoenfeld_power"] = power_time_to_event(share_control=e.control_value, share_treatment=e.goal_value,
                                                          horizon_weeks=e.horizon_weeks, method="schoenfeld",
                                                          **kw).power
        elif e.type == "count" and e.rule == "event_rate":
            row["method"] = "negbin_wald"
            _assumption(row, e, "dispersion", assume)
            if "dispersion" not in assume:
                row["note"] = ("needs an assumed negative-binomial dispersion "
                               f"(assumptions={{'{e.id}': {{'dispersion': k}}}} or --assume {e.id}.dispersion=K)")
                return row
            exposure = e.horizon_weeks / 52
            at_goal = power_rates(rate_control=e.control_value, rate_treatment=e.goal_value, exposure=exposure,
                                  dispersion=assume["dispersion"], **kw)
            mde = power_rates(rate_control=e.control_value, power=target, exposure=exposure,
                              dispersion=assume["dispersion"], direction=direction, **kw)
        else:                                  # continuous, or a count of weeks treated as continuous
            row["method"] = "t"
            _assumption(row, e, "sd", assume)
            if "sd" not in assume:
                row["note"] = (f"needs an assumed standard deviation (assumptions={{'{e.id}': {{'sd': s}}}} "
                               f"or --assume {e.id}.sd=S)")
                return row
            at_goal = power_two_means(sd=assume["sd"], mean_control=e.control_value, mean_treatment=e.goal_value,
                                      **kw)
            mde = power_two_means(sd=assume["sd"], mean_control=e.control_value, power=target, direction=direction,
                                  **kw)
    except ParameterError as exc:
        row["note"] = f"not computed: {exc}"
        return row
    row["power"] = at_goal.power
    row["mde_value"] = mde.treatment_value
    row["mde_difference"] = mde.difference
    if mde.note:
        row["note"] = mde.note
    return row


def _assumption(row, e, name, assume):
    """The SD or dispersion used and where it comes from: given (argument) > protocol > none."""
    if name in assume:
        row[name], row["assumption_source"] = float(assume[name]), "given"
    elif getattr(e, name) is not None:
        assume[name] = getattr(e, name)
        row[name], row["assumption_source"] = float(assume[name]), "protocol"
    else:
        row[name], row["assumption_source"] = float("nan"), "none"


def _binary_honesty(row, e, n1, n0, alpha, alternative, method, compare):
    """Size at the null, coverage at the goal, and the exact alternatives' power and size (binary rows)."""
    p0, p1 = e.control_value, e.goal_value
    if method in EXACT_METHODS:
        row["size"] = exact_size(method, p0, n0, n1, alpha=alpha, alternative=alternative)
    else:                                    # an approximation's nominal size: its own formula at the null
        row["size"] = float(_analytic_power(method, p0, p0, n0, n1, alpha, alternative))
    # the protocol's interval is the HC2/Welch one whatever the test used for power
    row["coverage"] = exact_coverage(p_control=p0, p_treatment=p1, n_control=n0, n_treatment=n1,
                                     confidence_level=1 - alpha if alternative == "two-sided" else 1 - 2 * alpha)
    for m in compare:
        row[f"power_{m}"] = power_two_proportions(p_control=p0, p_treatment=p1, n_control=n0, n_treatment=n1,
                                                  alpha=alpha, alternative=alternative, method=m).power
        row[f"size_{m}"] = exact_size(m, p0, n0, n1, alpha=alpha, alternative=alternative)


def protocol_power(protocol, *, control_sizes=None, power=0.8, method="exact_hc2", assumptions=None,
                   endpoints="all", compare=("fisher", "boschloo")) -> ProtocolPower:
    """Per endpoint of a protocol: power at the goal and MDE at ``power``, for each control size.

    Parameters
    ----------
    protocol : trial.protocol.Protocol
    control_sizes : sequence of int, optional
        Default: 1:1 (``capacity`` controls) and the protocol's own control size.
    power : float
        Target power of the MDE.
    method : str
        Test for binary endpoints (default the protocol's primary analysis, exact HC2).
    assumptions : mapping, optional
        ``{endpoint_id: {"sd": ...}}`` for continuous endpoints and counts of weeks,
        ``{endpoint_id: {"dispersion": ...}}`` for event rates. They override the
        protocol's pre-registered ``sd`` / ``dispersion`` of the endpoint; where
        neither gives one, the row carries a note and no numbers. Rows of such
        endpoints carry ``sd`` or ``dispersion`` and ``assumption_source``
        (``given``, ``protocol`` or ``none``).
    endpoints : "all" or "primary"
    compare : sequence of str
        Exact tests shown next to ``method`` for binary endpoints (default Fisher's and Boschloo's,
        whose size is at most alpha by construction): ``power_<test>`` at the goal and ``size_<test>``.

    Notes
    -----
    Time-to-event rows use the log-rank score method of
    :func:`power_time_to_event` (``method = "logrank_score"``) and show
    Schoenfeld's formula beside it (``schoenfeld_power``): at 10 % -> 20 %
    with 100:300 Schoenfeld's 0.63 understates the log-rank test's 0.73.

    Binary rows also carry ``size``, the exact rejection rate of ``method``
    when both arms have the control share (the test's size at the null the
    protocol assumes; for an approximation, its own formula at the null), and
    ``coverage``, the exact probability that the protocol's HC2/Welch interval
    (level ``1 - alpha``) covers the goal difference. At 100:300 the HC2 test
    rejects 6.5 % of trials at 5 % vs 5 %, and its interval covers 5 → 10 %
    93.9 % of the time (docs/power.md, "What this means for the protocol").
    """
    n1 = protocol.capacity
    if n1 is None:
        raise ParameterError("protocol", "needs a treatment-arm capacity (arms[].capacity) to size the trial")
    if control_sizes is None:
        control_sizes = sorted({n1, protocol.control_size})
    sizes = tuple(check_n("control_sizes", n) for n in control_sizes)
    target = check_power(power, allow_none=False)
    method = _method(method)
    assumptions = dict(assumptions or {})
    unknown = set(assumptions) - {e.id for e in protocol.endpoints}
    if unknown:
        raise ParameterError("assumptions", f"names endpoints not in the protocol: {sorted(unknown)}; "
                                            f"endpoints are {[e.id for e in protocol.endpoints]}")
    if endpoints not in ("all", "primary"):
        raise ParameterError("endpoints", f"must be 'all' or 'primary'; got {endpoints!r}")
    compare = tuple(compare or ())
    bad = [m for m in compare if m not in EXACT_METHODS]
    if bad:
        raise ParameterError("compare", f"must list exact tests among {', '.join(EXACT_METHODS)}; got {bad}")
    eps = list(protocol.primary_endpoints)
    if endpoints == "all":
        eps += [e for e in protocol.endpoints if not e.confirmatory]
    a = protocol.analysis
    rows = tuple(_endpoint_rows(e, n1, n0, a.alpha, a.alternative, target, method, dict(assumptions.get(e.id, {})),
                                compare)
                 for e in eps for n0 in sizes)
    return ProtocolPower(trial_id=protocol.trial.id, fingerprint=protocol.fingerprint, n_treatment=n1,
                         control_sizes=sizes, alpha=a.alpha, alternative=a.alternative, target_power=target,
                         rows=rows)
