"""Private: which endpoint pins which model component, effects, and the weekly status chain.

The chain is a time-inhomogeneous Markov chain over the nine protocol
statuses; three hazard scales per arm are solved so that its *exact* state
distribution (forward recursion, no simulation) hits the protocol's control
values and control value + effect (see the package docstring).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Mapping

import numpy as np
import pandas as pd

from ..exceptions import ParameterError
from ._base import (_DEFAULT_SCALES, _FIXED, _FTP_RATE, _GRANTS, _GROUP_BETA, _N_GROUPS, _ST_CHAIN, _STATES,
                    _SURVEY_ITEMS, AND, FLX, FTP, KTH, ORD, RFY, SLV, UDD, _check_protocol, _uniforms)


@dataclass(frozen=True)
class _Plan:
    """Which endpoint pins which model component (endpoint ids or None)."""

    ord: Any = None
    flx: Any = None
    weeks: Any = None
    grants: Mapping[str, Any] = field(default_factory=dict)
    extension: Any = None
    contact: Any = None
    admission: Any = None
    survey: Mapping[str, Any] = field(default_factory=dict)   # item -> endpoint
    derived: tuple = ()


def _plan(protocol) -> _Plan:
    kw: dict[str, Any] = {"grants": {}, "survey": {}}
    derived = []
    for e in protocol.endpoints:
        used = False
        if e.rule == "status_at" and e.statuses == (_STATES[ORD],) and kw.get("ord") is None:
            kw["ord"], used = e, True
        elif e.rule == "status_at" and e.statuses == (_STATES[FLX],) and kw.get("flx") is None:
            kw["flx"], used = e, True
        elif e.rule == "weeks_in_status" and kw.get("weeks") is None:
            kw["weeks"], used = e, True
        elif e.rule == "event_any" and len(e.events) == 1:
            ev = e.events[0]
            if ev in _GRANTS and ev not in kw["grants"]:
                kw["grants"][ev], used = e, True
            elif ev == "forloeb_extension" and kw.get("extension") is None:
                kw["extension"], used = e, True
            elif ev == "psych_contact" and kw.get("contact") is None:
                kw["contact"], used = e, True
        elif (e.rule == "event_rate" and e.events == ("psych_admission",) and e.measure == "days"
              and kw.get("admission") is None):
            kw["admission"], used = e, True
        elif e.rule == "survey_change" and e.item in _SURVEY_ITEMS and e.item not in kw["survey"]:
            kw["survey"][e.item], used = e, True
        if not used:
            derived.append(e.id)
    kw["grants"] = MappingProxyType(kw["grants"])
    kw["survey"] = MappingProxyType(kw["survey"])
    return _Plan(derived=tuple(derived), **kw)


def _calibrated(plan: _Plan) -> list:
    eps = [plan.ord, plan.flx, plan.weeks, plan.extension, plan.contact, plan.admission,
           *plan.grants.values(), *plan.survey.values()]
    return [e for e in eps if e is not None]


def resolve_effects(protocol, effects: Mapping[str, float] | None = None) -> dict[str, float]:
    """The effect per endpoint the simulation will use.

    Parameters
    ----------
    protocol : trial.protocol.Protocol
    effects : mapping of endpoint id -> float, or None
        ``None``: every endpoint's pre-registered ``goal``. A mapping gives the
        effect (treatment minus control, on the endpoint's scale: a share for
        binary endpoints, weeks, days per person-year, scale points) of the
        endpoints it names; endpoints it does not name get 0 (no effect), so
        ``{}`` is the null. Endpoints the model derives rather than sets
        (``time_to_status`` and any rule it cannot calibrate) cannot be given a
        non-zero effect.

    Returns
    -------
    dict
        endpoint id -> effect, for the endpoints the model calibrates.

    Examples
    --------
    >>> from trial.protocol import load
    >>> resolve_effects(load())["ordinary_employment"]
    0.05
    >>> resolve_effects(load(), {"extension": -0.1})["ordinary_employment"]
    0.0
    """
    plan = _plan(protocol)
    cal = _calibrated(plan)
    ids = {e.id for e in protocol.endpoints}
    if effects is None:
        out = {e.id: float(e.goal) for e in cal}
    else:
        if not isinstance(effects, Mapping):
            raise ParameterError("effects", f"must be a mapping of endpoint id to a number, or None; "
                                            f"got {type(effects).__name__}")
        for k, v in effects.items():
            if k not in ids:
                raise ParameterError("effects", f"names endpoints of the protocol ({', '.join(sorted(ids))}); "
                                                f"got {k!r}")
            if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)) \
                    or not math.isfinite(v):
                raise ParameterError("effects", f"must give a finite number for {k!r}; got {v!r}")
            if k in plan.derived and v != 0:
                raise ParameterError("effects", f"cannot set {k!r}: the simulation derives it from other "
                                                f"endpoints (it follows from the employment endpoints for "
                                                f"a time-to-status rule); got {v!r}")
        out = {e.id: float(effects.get(e.id, 0.0)) for e in cal}
    for e in cal:
        t = e.control_value + out[e.id]
        if e.type == "binary" and not 0.0 <= t <= 1.0:
            raise ParameterError("effects", f"{e.id!r}: control value {e.control_value:g} + effect "
                                            f"{out[e.id]:g} must be a share between 0 and 1; got {t:g}")
        if e.type == "count" and not t >= 0:
            raise ParameterError("effects", f"{e.id!r}: control value {e.control_value:g} + effect "
                                            f"{out[e.id]:g} must not be negative; got {t:g}")
    return out


# =========================================================================== the chain
def _group_mult() -> np.ndarray:
    return np.exp(_GROUP_BETA * (np.arange(_N_GROUPS) - (_N_GROUPS - 1) / 2))


def _transitions(scales, T: int) -> np.ndarray:
    """Weekly transition matrices, shape (groups, T - 1, 9, 9): week t -> t + 1 for t = 1..T-1."""
    a_o, a_f, a_x = scales
    m = _group_mult()[:, None]                       # (G, 1)
    t = np.arange(1, T, dtype=float)[None, :]        # (1, T-1)
    r39, r78, r26 = np.minimum(1, t / 39), np.minimum(1, t / 78), np.minimum(1, t / 26)
    P = np.zeros((_N_GROUPS, T - 1, 9, 9))
    for (i, j), p in _FIXED.items():
        P[:, :, i, j] = p
    job = a_o * m * r39
    for src, mult in ((RFY, 1.0), (KTH, 1.0), (SLV, 1.0), (UDD, 2.0)):
        P[:, :, src, ORD] = mult * job
    P[:, :, RFY, FLX] = a_f * m * r78
    sq = np.sqrt(m) * np.ones_like(t)
    P[:, :, RFY, UDD] = 0.4 * a_x * sq
    P[:, :, RFY, SLV] = 0.3 * a_x * sq
    P[:, :, RFY, AND] = 0.3 * a_x * np.ones_like(m * t)
    P[:, :, RFY, FTP] = _FTP_RATE * r26 / m
    idx = np.arange(9)
    P[:, :, idx, idx] = 0.0
    P[:, :, idx, idx] = 1.0 - P.sum(axis=-1)
    return P


def _chain_moments(P: np.ndarray, H: int, weeks_set: np.ndarray | None):
    """Exact state distribution at week H and expected weeks in ``weeks_set`` over weeks 1..H."""
    G = P.shape[0]
    pi = np.zeros((G, 9))
    pi[:, RFY] = 1.0
    weeks = pi[:, weeks_set].sum(axis=1) if weeks_set is not None else np.zeros(G)
    for t in range(H - 1):
        pi = np.einsum("gi,gij->gj", pi, P[:, t])
        if weeks_set is not None:
            weeks = weeks + pi[:, weeks_set].sum(axis=1)
    return pi.mean(axis=0), float(weeks.mean())


def _ever_moments(P: np.ndarray, H: int, target: list[int]) -> float:
    """Exact probability of entering ``target`` by week H (target states made absorbing)."""
    Q = P.copy()
    for s in target:
        Q[:, :, s, :] = 0.0
        Q[:, :, s, s] = 1.0
    pi, _ = _chain_moments(Q, H, None)
    return float(pi[target].sum())


def _solve_scales(protocol, plan: _Plan, shift: Mapping[str, float]) -> tuple[float, float, float]:
    """Scales (a_o, a_f, a_x) whose exact chain moments hit the targets (cached per protocol and shift)."""
    key = (protocol.fingerprint, tuple(sorted(shift.items())))
    if key in _SCALE_CACHE:
        return _SCALE_CACHE[key]
    sc = _solve_scales_uncached(protocol, plan, shift)
    if len(_SCALE_CACHE) > 256:
        _SCALE_CACHE.clear()
    _SCALE_CACHE[key] = sc
    return sc


_SCALE_CACHE: dict = {}


def _solve_scales_uncached(protocol, plan: _Plan, shift: Mapping[str, float]) -> tuple[float, float, float]:
    from scipy.optimize import least_squares

    T = protocol.analysis.follow_up_weeks
    free, targets = [], []
    for k, e in ((0, plan.ord), (1, plan.flx), (2, plan.weeks)):
        if e is not None:
            free.append(k)
            targets.append(e.control_value + shift.get(e.id, 0.0))
    if not free:
        return _DEFAULT_SCALES
    wset = (np.array([_STATES.index(s) for s in plan.weeks.statuses]) if plan.weeks is not None else None)

    def moments(logx):
        sc = list(_DEFAULT_SCALES)
        for k, v in zip(free, logx):
            sc[k] = math.exp(v)
        out = []
        for k in free:
            e = (plan.ord, plan.flx, plan.weeks)[k]
            pi, wk = _chain_moments(_transitions(sc, T), e.horizon_weeks, wset)
            out.append(pi[ORD] if k == 0 else pi[FLX] if k == 1 else wk)
        return np.array(out), sc

    scale = np.array([1.0 if k < 2 else 10.0 for k in free])
    x0 = np.log([_DEFAULT_SCALES[k] for k in free])
    fit = least_squares(lambda x: (moments(x)[0] - targets) / scale, x0, bounds=(np.log(1e-7), np.log(0.2)),
                        xtol=1e-14, ftol=1e-14, gtol=1e-14)
    got, sc = moments(fit.x)
    bad = np.abs(got - targets) > 1e-7 * np.maximum(1.0, np.abs(targets))
    if bad.any():
        # one weekly chain carries all of them: name every target and what the chain gets, since
        # the endpoint that misses need not be the one whose effect was changed
        ids = [(plan.ord, plan.flx, plan.weeks)[k].id for k in free]
        wanted = ", ".join(f"{i} {t:g}" for i, t in zip(ids, targets))
        closest = ", ".join(f"{i} {g:.3g}" for i, g in zip(ids, got))
        raise ParameterError("effects", f"the trajectory model cannot reach the values {wanted} together "
                                        f"(control value + effect; closest it gets: {closest}); change the "
                                        f"effect of one of them")
    return tuple(sc)


def chain_expectations(protocol, effects: Mapping[str, float] | None = None) -> pd.DataFrame:
    """Exact expectations of the trajectory model per arm (no simulation).

    Returns a frame with one row per arm (``control``, ``treatment``) and the
    columns ``a_o, a_f, a_x`` (solved scales), ``ordinary_employment_h``,
    ``fleksjob_h`` (shares at the employment endpoints' horizon),
    ``benefit_weeks`` (expected weeks in the weeks-in-status endpoint's
    statuses), ``ever_work`` (share that has been in ORD or FLX by the end of
    follow-up) and ``foertidspension_h``. The test suite checks the simulated
    files against these and against the protocol.
    """
    _check_protocol(protocol)
    eff = resolve_effects(protocol, effects)
    plan = _plan(protocol)
    T = protocol.analysis.follow_up_weeks
    rows = []
    for arm, shift in (("control", {}), ("treatment", eff)):
        sc = _solve_scales(protocol, plan, shift)
        P = _transitions(sc, T)
        wset = (np.array([_STATES.index(s) for s in plan.weeks.statuses]) if plan.weeks is not None else None)
        pi, wk = _chain_moments(P, T, wset)
        rows.append({"arm": arm, "a_o": sc[0], "a_f": sc[1], "a_x": sc[2], "ordinary_employment_h": pi[ORD],
                     "fleksjob_h": pi[FLX], "benefit_weeks": wk if wset is not None else float("nan"),
                     "ever_work": _ever_moments(P, T, [ORD, FLX]), "foertidspension_h": pi[FTP]})
    return pd.DataFrame(rows).set_index("arm")


def _simulate_chain(protocol, plan, eff, seed, cid, N, group, tr, T) -> np.ndarray:
    """States (n, T) as indices into _STATES, common uniforms for both arms."""
    sc_c = _solve_scales(protocol, plan, {})
    sc_t = _solve_scales(protocol, plan, eff) if tr.any() else sc_c
    cum = np.stack([np.cumsum(_transitions(sc, T), axis=-1) for sc in (sc_c, sc_t)])  # (2, G, T-1, 9, 9)
    cum[..., -1] = 1.0 + 1e-12
    U = _uniforms(seed, _ST_CHAIN, N, T - 1)[cid]
    n = len(cid)
    states = np.empty((n, T), dtype=np.int8)
    s = np.full(n, RFY, dtype=np.int64)
    states[:, 0] = s
    for t in range(T - 1):
        rows = cum[tr, group, t, s]                                  # (n, 9)
        s = (U[:, t, None] >= rows).sum(axis=1)
        states[:, t + 1] = s
    return states
