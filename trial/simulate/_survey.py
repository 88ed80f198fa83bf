"""Private: survey answers (self-rated health, functional ability, job readiness) per wave.

Self-rated health is an ordinal threshold on a latent normal, the other items
are rounded latent normals; the treatment shift of the latent is solved so
that the *expected observed* change at the endpoint's wave equals the effect.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..exceptions import ParameterError
from ._base import (_FA_MEAN, _FA_SD, _JR_MEAN, _JR_SD, _SRH_PROBS, _ST_SURVEY, _SURVEY_ITEMS, _SURVEY_NONRESPONSE,
                    _normals, _uniforms)


def _ordinal_mean(cuts: np.ndarray, shift: float) -> float:
    from scipy.special import ndtr

    return float(1 + np.sum(1 - ndtr(cuts - shift)))


def _rounded_mean(mean: float, sd: float, lo: int, hi: int, shift: float) -> float:
    """E[clip(round(mean + sd (X + shift)), lo, hi)] for X ~ N(0, 1), exactly."""
    from scipy.special import ndtr

    k = np.arange(lo, hi + 1)
    upper = np.where(k == hi, np.inf, (k + 0.5 - mean) / sd - shift)
    lower = np.where(k == lo, -np.inf, (k - 0.5 - mean) / sd - shift)
    return float(np.sum(k * (ndtr(upper) - ndtr(lower))))


def _survey_shift(item: str, effect: float) -> float:
    """Latent shift (sd units) whose expected observed change equals ``effect``."""
    from scipy.optimize import brentq

    if effect == 0:
        return 0.0
    if item == "self_rated_health":
        cuts = _SRH_CUTS

        def f(d):
            return _ordinal_mean(cuts, d) - _ordinal_mean(cuts, 0.0) - effect
    else:
        mean, sd, hi = (_FA_MEAN, _FA_SD, 100) if item == "functional_ability" else (_JR_MEAN, _JR_SD, 10)

        def f(d):
            return _rounded_mean(mean, sd, 0, hi, d) - _rounded_mean(mean, sd, 0, hi, 0.0) - effect
    try:
        return brentq(f, -6.0, 6.0, xtol=1e-13)
    except ValueError:
        raise ParameterError("effects", f"a change of {effect:g} in {item} is beyond the scale") from None


def _srh_cuts() -> np.ndarray:
    from scipy.special import ndtri

    return ndtri(np.cumsum(_SRH_PROBS)[:-1])


_SRH_CUTS = _srh_cuts()


def _survey(protocol, plan, eff, seed, cid, N, z_work, z_psych, treat, ref_day, att_rel, cpr_cat) -> pd.DataFrame:
    waves = np.array(protocol.survey_waves, dtype="int64")
    n = len(cid)
    nw = len(waves)
    u = _uniforms(seed, _ST_SURVEY, N, 2 * nw + 3 * (nw + 1))[cid]
    day = np.where(waves[None, :] == 0, np.floor(u[:, :nw] * 14), 7 * 52 * waves[None, :] + np.floor(u[:, :nw] * 28))
    day = day.astype("int64")
    nonresp = np.array([_SURVEY_NONRESPONSE[min(w, 3)] for w in range(nw)])
    answered = u[:, nw:2 * nw] >= nonresp[None, :]
    present = day < np.where(att_rel < 7 * protocol.analysis.follow_up_weeks, att_rel, np.iinfo(np.int64).max)[:, None]
    loads = {"self_rated_health": z_psych, "functional_ability": 0.5 * (z_work + z_psych) / math.sqrt(1.4),
             "job_readiness": z_work}
    cols = {}
    base = 2 * nw
    for j, it in enumerate(_SURVEY_ITEMS):
        e = plan.survey.get(it)
        shift = _survey_shift(it, eff.get(e.id, 0.0)) if e is not None else 0.0
        target_wave = e.wave if e is not None else None
        eps = _normals(u[:, base + j * (nw + 1): base + (j + 1) * (nw + 1)])
        x0 = -0.5 * loads[it] + math.sqrt(1 - 0.25) * eps[:, 0]           # baseline latent, N(0,1)
        lat = np.empty((n, nw))
        lat[:, 0] = x0
        for w in range(1, nw):
            d = 0.0 if target_wave is None else shift * min(1.0, waves[w] / target_wave)
            lat[:, w] = 0.6 * x0 + 0.8 * eps[:, w] + np.where(treat, d, 0.0)
        if it == "self_rated_health":
            val = 1 + (lat[..., None] > _SRH_CUTS).sum(axis=-1)
        elif it == "functional_ability":
            val = np.clip(np.round(_FA_MEAN + _FA_SD * lat), 0, 100)
        else:
            val = np.clip(np.round(_JR_MEAN + _JR_SD * lat), 0, 10)
        cols[it] = val
    ci, wi = np.nonzero(present)
    out = pd.DataFrame({"cpr": pd.Categorical.from_codes(ci, dtype=cpr_cat), "wave": waves[wi],
                        "date": (ref_day[ci] + day[ci, wi].astype("timedelta64[D]")).astype("datetime64[ns]")})
    for it in protocol.survey_items:
        v = cols[it][ci, wi] if it in cols else np.full(len(ci), np.nan)
        v = np.where(answered[ci, wi], v, np.nan)
        out[it] = pd.array(v, dtype="Int64") if it in cols else v
    return out
