"""Synthetic frames after intake (enrollments, status, events, survey), vectorised.

Used by the analysis tests and ``bench/outcomes.py``. Not a model of the
trial (that is ``trial.simulate``): just data with every feature the rules
meet (jobs, attrition, open spells, part-year follow-up, unanswered surveys).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

RF, ORD, FLX, KTH = "ressourceforloebsydelse", "ordinaer_beskaeftigelse", "fleksjob", "kontanthjaelp"


def synthetic_frames(protocol, n: int, *, weeks: int = 156, seed: int = 1, start="2016-10-01",
                     enrol_days: int = 180, n_treated: int | None = None, effect: float = 0.0):
    """Return ``(enrollments, status, events, survey)`` for ``n`` citizens.

    ``effect`` raises the treated citizens' chance of a job and lowers their
    chance of an extension (0: no effect).
    """
    rng = np.random.default_rng(seed)
    ids = np.array([f"{i:016x}" for i in rng.choice(2**60, size=n, replace=False)])
    ref = pd.Timestamp(start) + pd.to_timedelta(rng.integers(0, enrol_days, n), unit="D")
    n_treated = n // 4 if n_treated is None else n_treated
    z = np.zeros(n, dtype=int)
    z[rng.choice(n, n_treated, replace=False)] = 1
    age = rng.integers(18, 65, n)
    prior = rng.integers(0, 2, n)
    band = np.where(age < 30, "18-29", np.where(age < 50, "30-49", "50-64"))
    enr = pd.DataFrame({
        "seq": np.arange(1, n + 1), "pseudonym": ids, "referral_date": ref,
        "stratum": [f"{b}|{'repeat' if p else 'first'}" for b, p in zip(band, prior)],
        "arm": np.where(z == 1, "deltagergruppe", "kontrolgruppe"), "treatment": z, "age": age,
        "sex": rng.choice(["M", "F"], n), "prior_forloeb": prior,
        "months_on_benefit": np.round(rng.uniform(0, 36, n), 1), "psych_contact_12m": rng.integers(0, 2, n),
        "age_band": band, "status": "active",
    })
    # --- status panel: ressourceforløb, then perhaps a job from week J on; some kontanthjælp spells
    job_week = rng.geometric(np.where(z == 1, 0.0012 * (1 + effect), 0.0012) * 2, n)
    job_kind = np.where(rng.random(n) < 0.5, ORD, FLX)
    w = np.tile(np.arange(1, weeks + 1), n)
    who = np.repeat(np.arange(n), weeks)
    st = np.where(w >= job_week[who], job_kind[who], RF).astype(object)
    kth = rng.random(n * weeks) < 0.02
    st[kth & (st == RF)] = KTH
    status = pd.DataFrame({"pseudonym": ids[who], "week": w,
                           "status": pd.Categorical(st, categories=list(protocol.statuses))})
    # --- events
    ev = []

    def add(mask, name, day_lo, day_hi, length=None):
        k = int(mask.sum())
        s = ref[mask] + pd.to_timedelta(rng.integers(day_lo, day_hi, k), unit="D")
        e = s + pd.to_timedelta(length(k), unit="D") if length is not None else pd.NaT
        ev.append(pd.DataFrame({"pseudonym": ids[mask], "event": name, "start_date": s, "end_date": e}))

    add(rng.random(n) < np.where(z == 1, 0.5 - 0.15 * effect, 0.5), "forloeb_extension", 30, 7 * weeks)
    add(rng.random(n) < 0.14, "par85", -60, 7 * weeks, lambda k: rng.integers(30, 400, k))
    add(rng.random(n) < 0.05, "par107", 0, 7 * weeks, lambda k: rng.integers(30, 400, k))
    add(rng.random(n) < 0.02, "par99", 0, 7 * weeks)
    for _ in range(2):
        add(rng.random(n) < 0.2, "psych_admission", -10, 7 * weeks, lambda k: rng.integers(0, 30, k))
        add(rng.random(n) < 0.3, "psych_contact", 0, 7 * weeks)
    add(rng.random(n) < 0.04, "moved_away", 0, 7 * weeks)
    add(rng.random(n) < 0.01, "died", 0, 7 * weeks)
    events = pd.concat(ev, ignore_index=True)
    events["end_date"] = pd.to_datetime(events["end_date"])
    # --- survey: waves 0..3, 80 % answer each
    waves = np.tile(np.arange(4), n)
    who = np.repeat(np.arange(n), 4)
    keep = rng.random(4 * n) < 0.8
    waves, who = waves[keep], who[keep]
    survey = pd.DataFrame({
        "pseudonym": ids[who], "wave": waves,
        "date": ref[who] + pd.to_timedelta(waves * 364 + rng.integers(0, 20, len(who)), unit="D"),
        "self_rated_health": rng.integers(1, 6, len(who)).astype(float),
        "functional_ability": rng.integers(0, 101, len(who)).astype(float),
        "job_readiness": rng.integers(0, 11, len(who)).astype(float),
    })
    return enr, status, events, survey
