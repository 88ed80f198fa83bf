"""Private: the events export (grants, the extension, psychiatry, withdrawal, attrition).

Binary event endpoints are Gaussian-copula thresholds on the citizen's latent
factors, so the share with the event is exact in expectation; admissions are
a Poisson number with a gamma frailty. Nothing starts on or after the day a
citizen moves away or dies, and an open spell ends on that day.
"""
from __future__ import annotations

import math
from typing import Mapping

import numpy as np
import pandas as pd

from ._base import (_ADM_MAX, _ADM_MEAN_LENGTH, _ADM_SHAPE, _ADMISSION_DEFAULT, _CONTACT_DEFAULT,
                    _EXTENSION_DEFAULT, _GRANTS, _ST_ADM, _ST_CONTACT, _ST_EXT, _ST_GRANT, _ST_WITHDRAW,
                    _WITHDRAW_SHARE, KTH, RFY, SDP, _Cohort, _normals, _phi, _uniforms)


def _events(protocol, plan, eff: Mapping[str, float], c: _Cohort, states: np.ndarray) -> pd.DataFrame:
    """Events frame ``cpr, event, start_date, end_date`` (rows by citizen, start, protocol event order)."""
    seed, cid, N, T = c.seed, c.cid, c.N, c.T
    z_work, z_psych, treat, arm = c.z_work, c.z_psych, c.treat, c.arm
    attrited, att_kind, att_rel = c.attrited, c.att_kind, c.att_rel
    ref_day, cpr_cat = c.ref_day, c.cpr_cat
    ev_parts = []
    ev_types = set(protocol.event_types)

    def add(kind, who, start_rel, end_rel):
        """start_rel/end_rel in days from referral; end_rel < 0 = empty end_date."""
        who = np.asarray(who, dtype="int64")
        start_rel = np.asarray(start_rel, dtype="int64")
        end_rel = np.asarray(end_rel, dtype="int64")
        keep = start_rel < att_rel[who]           # nothing starts on or after moving away / death
        if kind in ("moved_away", "died"):
            keep = np.ones(len(who), bool)
        who, start_rel, end_rel = who[keep], start_rel[keep], end_rel[keep]
        # an open spell at attrition ends on the attrition day
        cut = attrited[who] & ((end_rel < 0) | (end_rel > att_rel[who]))
        end_rel = np.where(cut & (end_rel != -2), att_rel[who], end_rel)
        ev_parts.append(pd.DataFrame({"i": who, "event": kind, "s": start_rel, "e": end_rel}))

    ug = _uniforms(seed, _ST_GRANT, N, 4 * len(_GRANTS))[cid]
    for j, (ev, (p0, rho, mean_wk)) in enumerate(_GRANTS.items()):
        if ev not in ev_types:
            continue
        e = plan.grants.get(ev)
        H = e.horizon_weeks if e is not None else T
        p_c = e.control_value if e is not None else p0
        p_t = p_c + (eff.get(e.id, 0.0) if e is not None else 0.0)
        u = ug[:, 4 * j: 4 * j + 4]
        lat = _phi(rho * z_psych + math.sqrt(1 - rho * rho) * _normals(u[:, 0]))
        has = lat < np.where(treat, p_t, p_c)
        who = np.flatnonzero(has)
        sw = np.floor(u[who, 1] * H).astype("int64")                        # start week - 1
        s = 7 * sw + np.floor(u[who, 2] * 7).astype("int64")
        dur = 7 * np.ceil(np.log(u[who, 3]) / math.log1p(-1.0 / mean_wk)).astype("int64")
        end = s + dur
        open_ = end >= 7 * T
        add(ev, who, s, np.where(open_, -1, end))
        # renewal of an ended grant with probability 0.2 (same latent uniforms reused, transformed)
        ren = (~open_) & (np.modf(u[who, 1] * 97.0)[0] < 0.2)
        if ren.any():
            gap = 7 * (4 + np.floor(np.modf(u[who, 2] * 89.0)[0] * 26)).astype("int64")
            s2 = end[ren] + gap[ren]
            d2 = 7 * np.ceil(np.log(np.modf(u[who, 3] * 83.0)[0][ren] + 2.0**-54)
                             / math.log1p(-1.0 / mean_wk)).astype("int64")
            e2 = s2 + d2
            ok = s2 < 7 * T
            add(ev, who[ren][ok], s2[ok], np.where(e2[ok] >= 7 * T, -1, e2[ok]))

    if "forloeb_extension" in ev_types:
        e = plan.extension
        p_c = e.control_value if e is not None else _EXTENSION_DEFAULT
        p_t = p_c + (eff.get(e.id, 0.0) if e is not None else 0.0)
        H = e.horizon_weeks if e is not None else T
        ux = _uniforms(seed, _ST_EXT, N, 3)[cid]
        has = _phi(0.5 * z_work + math.sqrt(0.75) * _normals(ux[:, 0])) < np.where(treat, p_t, p_c)
        who = np.flatnonzero(has)
        lo = min(40, H) - 1                                   # first candidate week index (0-based)
        cand = np.isin(states[who, lo:H], [RFY, KTH, SDP])
        cnt = cand.sum(axis=1)
        k = np.floor(ux[who, 1] * np.maximum(cnt, 1)).astype("int64")
        pos = np.argmax(np.cumsum(cand, axis=1) > k[:, None], axis=1)
        fallback = np.floor(ux[who, 1] * (H - lo)).astype("int64")
        wk0 = lo + np.where(cnt > 0, pos, fallback)
        add("forloeb_extension", who, 7 * wk0 + np.floor(ux[who, 2] * 7).astype("int64"), np.full(len(who), -2))

    if "psych_contact" in ev_types:
        e = plan.contact
        p_c = e.control_value if e is not None else _CONTACT_DEFAULT[0]
        p_t = p_c + (eff.get(e.id, 0.0) if e is not None else 0.0)
        H = e.horizon_weeks if e is not None else _CONTACT_DEFAULT[1]
        n_win = int(math.ceil(T / H))
        uc = _uniforms(seed, _ST_CONTACT, N, 3 * n_win + 8)[cid]
        from scipy.stats import poisson

        pers = _normals(uc[:, -1])
        for w in range(n_win):
            lat = _phi(0.5 * z_psych + 0.6 * pers + math.sqrt(1 - 0.25 - 0.36) * _normals(uc[:, 3 * w]))
            has = lat < np.where(treat, p_t, p_c)
            who = np.flatnonzero(has)
            k = 1 + poisson.ppf(uc[who, 3 * w + 1], 2.0).astype("int64")
            wlen = min(H, T - w * H)
            rep = np.repeat(who, k)
            # contact days spread over the window: golden-ratio steps from one uniform per citizen
            j = np.concatenate([np.arange(m) for m in k]) if len(k) else np.zeros(0, "int64")
            base = np.repeat(uc[who, 3 * w + 2], k)
            frac = np.modf(base + j * 0.6180339887498949)[0]
            day = 7 * w * H + np.floor(frac * 7 * wlen).astype("int64")
            add("psych_contact", rep, day, np.full(len(rep), -2))

    if "psych_admission" in ev_types:
        e = plan.admission
        d_c = e.control_value if e is not None else _ADMISSION_DEFAULT
        d_t = d_c + (eff.get(e.id, 0.0) if e is not None else 0.0)
        who, s, end = _admissions(seed, cid, N, z_psych, np.where(treat, d_t, d_c), T)
        add("psych_admission", who, s, np.where(end >= 7 * T, -1, end))

    if "withdrawn" in ev_types:
        uw = _uniforms(seed, _ST_WITHDRAW, N, 2)[cid]
        has = ~np.isnan(arm) & (uw[:, 0] < _WITHDRAW_SHARE)
        who = np.flatnonzero(has)
        add("withdrawn", who, np.floor(uw[who, 1] * 7 * T).astype("int64"), np.full(len(who), -2))

    for kind in ("moved_away", "died"):
        if kind in ev_types:
            who = np.flatnonzero(attrited & (att_kind == kind))
            add(kind, who, att_rel[who], np.full(len(who), -2))

    ev = pd.concat(ev_parts, ignore_index=True) if ev_parts else pd.DataFrame(
        {"i": np.zeros(0, "int64"), "event": [], "s": np.zeros(0, "int64"), "e": np.zeros(0, "int64")})
    order_ev = {k: j for j, k in enumerate(protocol.event_types)}
    ev["o"] = ev["event"].map(order_ev).astype("int64")
    ev = ev.sort_values(["i", "s", "o"], kind="stable")
    i = ev["i"].to_numpy()
    start = ref_day[i] + ev["s"].to_numpy().astype("timedelta64[D]")
    e_rel = ev["e"].to_numpy()
    end = np.where(e_rel >= 0, ref_day[i] + np.maximum(e_rel, 0).astype("timedelta64[D]"), np.datetime64("NaT"))
    events = pd.DataFrame({"cpr": pd.Categorical.from_codes(i, dtype=cpr_cat),
                           "event": pd.Categorical(ev["event"].to_numpy().astype(str),
                                                   categories=pd.Index(protocol.event_types, dtype="str")),
                           "start_date": start.astype("datetime64[ns]"),
                           "end_date": end.astype("datetime64[D]").astype("datetime64[ns]")})
    return events


def _admissions(seed, cid, N, z_psych, days_target, T):
    """Psychiatric admissions: (citizen position, start day, end day) relative to referral."""
    from scipy.special import gammaincinv
    from scipy.stats import poisson

    u = _uniforms(seed, _ST_ADM, N, 2 + 2 * _ADM_MAX)[cid]
    lat = _phi(0.6 * z_psych + 0.8 * _normals(u[:, 0]))
    frailty = gammaincinv(_ADM_SHAPE, lat) / _ADM_SHAPE                 # gamma, mean 1
    W = 7 * T
    q = 1.0 / _ADM_MEAN_LENGTH                                           # length 1 + geometric, mean 12
    # expected nights inside the window of one stay starting uniformly in it: E[min(L, W - S)]
    m = np.arange(1, W + 1)
    inside = float(np.mean((1.0 - (1.0 - q) ** m) / q))
    lam = frailty * np.asarray(days_target, float) * (W / 365.25) / inside   # expected admissions
    k = np.minimum(poisson.ppf(u[:, 1], lam), _ADM_MAX).astype("int64")
    K = int(k.max()) if len(k) else 0
    if K == 0:
        z = np.zeros(0, "int64")
        return z, z, z
    st = np.floor(u[:, 2:2 + K] * 7 * T).astype("int64")
    ln = 1 + np.floor(np.log(u[:, 2 + _ADM_MAX:2 + _ADM_MAX + K]) / math.log1p(-q)).astype("int64")
    used = np.arange(K)[None, :] < k[:, None]
    st = np.where(used, st, np.iinfo(np.int64).max)
    order = np.argsort(st, axis=1, kind="stable")
    st = np.take_along_axis(st, order, axis=1)
    ln = np.take_along_axis(ln, order, axis=1)
    # no overlapping stays: a stay starts at the earliest the day after the previous discharge
    prev_end = np.full(len(cid), -1, dtype=np.int64)
    for j in range(K):
        ok = used[:, j]
        s = np.where(ok, np.maximum(st[:, j], prev_end + 1), st[:, j])
        st[:, j] = s
        prev_end = np.where(ok, s + ln[:, j], prev_end)
    keep = used & (st < 7 * T)
    who = np.nonzero(keep)[0]
    return who, st[keep], st[keep] + ln[keep]
