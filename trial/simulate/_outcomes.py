"""Private: outcome histories per citizen (status panel, events, survey) and their realised rates."""
from __future__ import annotations

import math
from typing import Mapping

import numpy as np
import pandas as pd

from ..exceptions import ParameterError
from ._base import (_DEATH_HAZARD, _MOVE_HAZARD, _N_GROUPS, _ST_ATTR, _STATES, KTH, _check_protocol, _check_seed,
                    _Cohort, _latent, _phi, _source_codes, _uniforms)
from ._chain import _calibrated, _plan, _simulate_chain, resolve_effects
from ._cohort import _age_at, _normalise_arms
from ._events import _events
from ._survey import _survey


def simulate_outcomes(protocol, referrals: pd.DataFrame, arms=None, *, seed: int,
                      effects: Mapping[str, float] | None = None) -> dict[str, pd.DataFrame]:
    """Status panel, events and survey answers for the referred citizens.

    Parameters
    ----------
    protocol : trial.protocol.Protocol
    referrals : pandas.DataFrame
        As returned by :func:`simulate_referrals` (index = citizen, the key of
        each citizen's random draws; columns ``cpr`` and ``referral_date`` are
        used). A subset or reordering keeps each citizen's histories.
    arms : pandas.Series, mapping cpr -> 0/1, or None
        1 treatment, 0 control, NaN/absent not enrolled (simulated as control:
        municipal exports cover everyone referred). None: nobody enrolled.
    seed : int
        The seed :func:`simulate_referrals` was called with.
    effects : mapping endpoint id -> float, or None
        See :func:`resolve_effects` (None: the protocol's goals).

    Returns
    -------
    dict
        ``status`` (cpr, week, status source code), ``events`` (cpr, event,
        start_date, end_date; datetime64, NaT when empty) and ``survey`` (cpr,
        wave, date, self_rated_health, functional_ability, job_readiness;
        nullable integers), rows in referral-frame order.

    Notes
    -----
    The model is described in the docstring of :mod:`trial.simulate`. Control rates are exact
    in expectation (forward recursion of the chain; Gaussian-copula
    thresholds), so their sampling error is binomial: at 10,000 citizens per
    arm a share of 0.5 has a standard error of 0.5 percentage points.
    """
    _check_protocol(protocol)
    seed = _check_seed(seed)
    if not isinstance(referrals, pd.DataFrame) or not {"cpr", "referral_date"} <= set(referrals.columns):
        raise ParameterError("referrals", "must be the frame simulate_referrals returns (columns cpr, "
                                          "referral_date, ...)")
    idx = referrals.index
    if not (pd.api.types.is_integer_dtype(idx) and idx.is_unique and (len(idx) == 0 or idx.min() >= 0)):
        raise ParameterError("referrals", "must keep the citizen index of simulate_referrals (unique whole "
                                          "numbers >= 0): it keys each citizen's random draws")
    if referrals["cpr"].astype(str).duplicated().any():
        raise ParameterError("referrals", "must have one row per citizen: the column cpr has duplicates")
    arm = _normalise_arms(arms, referrals)
    eff = resolve_effects(protocol, effects)
    plan = _plan(protocol)
    T = protocol.analysis.follow_up_weeks
    n = len(referrals)
    cid = idx.to_numpy().astype("int64")
    N = int(cid.max()) + 1 if n else 0
    treat = arm == 1.0
    tr = treat.astype(int)
    ref_day = referrals["referral_date"].to_numpy().astype("datetime64[D]")
    z_work, z_psych = (z[cid] for z in _latent(seed, N))
    group = np.minimum((_phi(z_work) * _N_GROUPS).astype(int), _N_GROUPS - 1)

    # --- attrition (independent of everything else) ------------------------------------
    ua = _uniforms(seed, _ST_ATTR, N, 4)[cid]
    wk_move = np.ceil(np.log(ua[:, 0]) / math.log1p(-_MOVE_HAZARD))
    wk_die = np.ceil(np.log(ua[:, 1]) / math.log1p(-_DEATH_HAZARD))
    att_kind = np.where(wk_move <= wk_die, "moved_away", "died")
    att_week = np.minimum(wk_move, wk_die)
    attrited = att_week <= T
    att_week = np.where(attrited, att_week, T + 1).astype("int64")
    att_dayoff = np.floor(ua[:, 2] * 7).astype("int64")
    att_rel = np.where(attrited, 7 * (att_week - 1) + att_dayoff, 7 * T)   # day relative to referral
    last_week = np.minimum(att_week, T)                                     # last status row

    # --- status chain ---------------------------------------------------------------
    states = _simulate_chain(protocol, plan, eff, seed, cid, N, group, tr, T)
    age = _age_at(referrals)
    rows_cit = np.repeat(np.arange(n), last_week)
    first_row = np.repeat(np.cumsum(last_week) - last_week, last_week)
    rows_week = np.arange(len(rows_cit), dtype="int64") - first_row + 1
    st = states[rows_cit, rows_week - 1].astype("int64")
    code = _source_codes(protocol)
    vocab = [code[s_] for s_ in _STATES]
    if protocol.status_map.get("UDH") == _STATES[KTH] and code[_STATES[KTH]] != "UDH":
        # kontanthjælp is exported as uddannelseshjælp (UDH) for citizens under 30
        vocab.append("UDH")
        young = (age[rows_cit] + (rows_week - 1) / 52.18) < 30
        st = np.where((st == KTH) & young, len(_STATES), st)
    cpr = referrals["cpr"].astype(str).to_numpy()
    cpr_cat = pd.CategoricalDtype(pd.Index(cpr, dtype="str"))
    status = pd.DataFrame({"cpr": pd.Categorical.from_codes(rows_cit, dtype=cpr_cat),
                           "week": rows_week.astype("int64"),
                           "status": pd.Categorical.from_codes(st, categories=pd.Index(vocab, dtype="str"))})

    c = _Cohort(seed=seed, T=T, cid=cid, N=N, arm=arm, treat=treat, z_work=z_work, z_psych=z_psych,
                ref_day=ref_day, cpr_cat=cpr_cat, attrited=attrited, att_kind=att_kind, att_rel=att_rel)
    events = _events(protocol, plan, eff, c, states)
    survey = _survey(protocol, plan, eff, seed, cid, N, z_work, z_psych, treat, ref_day, att_rel, cpr_cat)
    return {"status": status.reset_index(drop=True), "events": events.reset_index(drop=True), "survey": survey}


def observed_rates(protocol, referrals: pd.DataFrame, frames: Mapping[str, pd.DataFrame], arms,
                   effects: Mapping[str, float] | None = None) -> pd.DataFrame:
    """Realised values of the calibrated endpoints per arm, among citizens followed to the horizon.

    A quick check of a simulation (not the trial's outcome derivation, which is
    :mod:`trial.outcomes`): binary endpoints as shares, ``weeks_in_status`` as
    mean weeks, ``event_rate`` days per person-year (365.25 days),
    ``survey_change`` as the mean change among those who answered both waves.
    Citizens who moved away or died before the horizon are left out. The
    control columns cover every citizen not treated (controls and referrals not
    enrolled: all follow the control histories).

    Returns
    -------
    pandas.DataFrame
        ``endpoint, type, control_value, n_control, treatment_value,
        n_treatment, target_control, target_treatment``.
    """
    eff = resolve_effects(protocol, effects)
    plan = _plan(protocol)
    arm = pd.Series(_normalise_arms(arms, referrals), index=referrals["cpr"].astype(str).to_numpy())
    cpr = referrals["cpr"].astype(str).to_numpy()
    ref = pd.Series(referrals["referral_date"].to_numpy().astype("datetime64[ns]"), index=cpr)
    st, ev, sv = frames["status"], frames["events"], frames["survey"]
    att = ev[ev["event"].isin(["moved_away", "died"])].groupby("cpr")["start_date"].min()
    att_day = ((att - ref.reindex(att.index)).dt.days).reindex(cpr).to_numpy()
    inv = {c: s for c, s in protocol.status_map.items()}
    rows = []
    for e in _calibrated(plan):
        H = e.horizon_weeks
        followed = pd.Series(~(att_day < 7 * H), index=cpr)
        if e.rule in ("status_at", "weeks_in_status"):
            sub = st[st["week"] <= H]
            hit = sub["status"].map(inv).isin(e.statuses)
            if e.rule == "status_at":
                v = (hit & (sub["week"] == H)).groupby(sub["cpr"]).sum()
            else:
                v = hit.groupby(sub["cpr"]).sum()
        elif e.rule == "event_any":
            sub = ev[ev["event"].isin(e.events)]
            rel = (sub["start_date"].to_numpy() - ref.reindex(sub["cpr"]).to_numpy()) / np.timedelta64(1, "D")
            v = (pd.Series(rel < 7 * H, index=sub.index).groupby(sub["cpr"]).any()).astype(float)
        elif e.rule == "event_rate":
            sub = ev[ev["event"].isin(e.events)]
            r0 = ref.reindex(sub["cpr"]).to_numpy()
            s = (sub["start_date"].to_numpy() - r0) / np.timedelta64(1, "D")
            en = (sub["end_date"].to_numpy() - r0) / np.timedelta64(1, "D")
            en = np.where(np.isnan(en), 7 * H, en)
            days = np.clip(np.minimum(en, 7 * H) - np.clip(s, 0, None), 0, None)
            v = pd.Series(days, index=sub.index).groupby(sub["cpr"]).sum() / (7 * H / 365.25)
        else:  # survey_change
            a = sv[sv["wave"] == 0].set_index("cpr")[e.item]
            b = sv[sv["wave"] == e.wave].set_index("cpr")[e.item]
            v = (b - a.reindex(b.index)).astype(float).dropna()
        v = v.reindex(cpr)
        if e.rule not in ("survey_change",):
            v = v.fillna(0.0) if e.rule != "weeks_in_status" else v
        v = v[followed.to_numpy()]
        a = arm.reindex(v.index)
        vc, vt = v[(a != 1).to_numpy()].dropna(), v[(a == 1).to_numpy()].dropna()
        rows.append({"endpoint": e.id, "type": e.type,
                     "control_value": float(vc.mean()) if len(vc) else float("nan"), "n_control": len(vc),
                     "treatment_value": float(vt.mean()) if len(vt) else float("nan"), "n_treatment": len(vt),
                     "target_control": e.control_value, "target_treatment": e.control_value + eff[e.id]})
    return pd.DataFrame(rows)
