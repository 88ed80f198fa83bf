"""Private: the referred cohort (dates, ages, CPR numbers, covariates) and rehearsal allocation.

The synthetic CPR numbers made here exist only in the rehearsal files and in
the frame :func:`simulate_referrals` returns; nothing here prints them.
"""
from __future__ import annotations

import math
from typing import Mapping

import numpy as np
import pandas as pd

from ..exceptions import ParameterError
from ._base import (_ELIG_SHARES, _OTHER_MUNICIPALITIES, _OTHER_TYPES, _ST_ARMS, _ST_CPR, _ST_REF, _check_n,
                    _check_protocol, _check_seed, _latent, _mask_label, _mix, _normals, _phi, _uniforms)


def simulate_referrals(protocol, n_referrals: int, *, seed: int) -> pd.DataFrame:
    """Simulate ``n_referrals`` referrals to a ressourceforløb.

    Parameters
    ----------
    protocol : trial.protocol.Protocol
    n_referrals : int
        Number of referrals (about 1,000 arrive a year).
    seed : int
        Seed of every random stream; the same seed gives the same citizens,
        and the first ``k`` citizens do not depend on ``n_referrals``.

    Returns
    -------
    pandas.DataFrame
        The columns of ``referrals.csv`` (``cpr, referral_date, municipality_code,
        referral_type, prior_forloeb, months_on_benefit, psych_contact_12m``;
        ``referral_date`` as datetime64), index ``citizen`` = 0..n-1, the key of
        every citizen's random draws. Contains synthetic CPR numbers: use it
        for rehearsal files only.

    Examples
    --------
    >>> from trial.protocol import load
    >>> ref = simulate_referrals(load(), 5, seed=1)
    >>> list(ref.columns)[:3], len(ref)
    (['cpr', 'referral_date', 'municipality_code'], 5)
    """
    _check_protocol(protocol)
    seed = _check_seed(seed)
    n = _check_n(n_referrals)
    u = _uniforms(seed, _ST_REF, n, 12)
    z_work, z_psych = _latent(seed, n)

    # referral dates: Poisson process, 1,000 a year; weekend -> Monday
    gaps = -np.log(u[:, 0]) * (365.25 / 1000.0)
    day = np.floor(np.cumsum(gaps)).astype("int64")
    start = np.datetime64(protocol.trial.first_referral, "D")
    ref_date = start + day.astype("timedelta64[D]")
    dow = (ref_date.astype("int64") - 4) % 7          # 0 = Monday (1970-01-01 was a Thursday)
    ref_date = ref_date + np.where(dow >= 5, 7 - dow, 0).astype("timedelta64[D]")

    # ineligibility on purpose (~5 %)
    kind = np.select([u[:, 1] < _ELIG_SHARES[0], u[:, 1] < sum(_ELIG_SHARES[:2]),
                      u[:, 1] < sum(_ELIG_SHARES)], [1, 2, 3], 0)
    el = protocol.eligibility
    ages = np.arange(el.min_age, el.max_age + 1)
    w = np.clip(ages - el.min_age + 2.0, 0, None) ** 1.3 * np.clip(el.max_age + 4.0 - ages, 0, None) ** 1.1
    cdf = np.cumsum(w) / w.sum()
    age = ages[np.minimum(np.searchsorted(cdf, u[:, 2], side="right"), len(ages) - 1)]
    outside = np.where(u[:, 3] < 0.3, el.min_age - 1, el.max_age + 1 + np.floor(u[:, 4] * 3).astype(int))
    age = np.where(kind == 1, np.maximum(outside, 15), age)
    muni = np.where(kind == 2, _OTHER_MUNICIPALITIES[(u[:, 5] * len(_OTHER_MUNICIPALITIES)).astype(int)],
                    el.municipality_codes[0])
    rtype = np.where(kind == 3, _OTHER_TYPES[(u[:, 6] * len(_OTHER_TYPES)).astype(int)], el.referral_types[0])

    # birth date with exactly `age` whole years at referral; sex; CPR
    ref_pd = pd.DatetimeIndex(ref_date)
    anniv = pd.to_datetime(pd.DataFrame({"year": ref_pd.year - age, "month": ref_pd.month,
                                         "day": np.where((ref_pd.month == 2) & (ref_pd.day == 29), 28,
                                                         ref_pd.day)}))
    back = np.floor(u[:, 7] * 365).astype("int64")     # 0..364 days before the age-th birthday
    birth = anniv.to_numpy().astype("datetime64[D]") - back.astype("timedelta64[D]")
    female = u[:, 8] < 0.55
    cpr = _make_cpr(seed, birth, female)

    prior = (_normals(_mix(z_work, 0.5, u[:, 9])) > 0.5244).astype("int64")     # P = 0.30
    x = _phi(0.6 * z_work + 0.8 * _normals(u[:, 10]))
    months = np.round(36.0 * x ** 0.6, 1)
    psych12 = (_phi(0.7 * z_psych + math.sqrt(1 - 0.49) * _normals(u[:, 11])) > 0.55).astype("int64")

    df = pd.DataFrame({
        "cpr": cpr,
        "referral_date": pd.DatetimeIndex(ref_date.astype("datetime64[ns]")),
        "municipality_code": muni.astype("int64"),
        "referral_type": pd.array(rtype, dtype="str"),
        "prior_forloeb": prior,
        "months_on_benefit": months,
        "psych_contact_12m": psych12,
    }, index=pd.RangeIndex(n, name="citizen"))
    return df


def _make_cpr(seed: int, birth: np.ndarray, female: np.ndarray) -> np.ndarray:
    """Synthetic CPR numbers DDMMYY-SSSS, unique, century digit consistent with the birth year."""
    n = len(birth)
    b = pd.DatetimeIndex(birth)
    yy = (b.year % 100).to_numpy()
    year = b.year.to_numpy()
    g = np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, _ST_CPR])))
    u = g.random((n, 4))
    # 7th digit: 1900s -> 0-3 (or 4/9 when YY >= 37); 2000s -> 4/9 (YY <= 36) or 5-8 (YY <= 57)
    d19 = np.where((yy >= 37) & (u[:, 0] < 0.15), np.where(u[:, 1] < 0.5, 4, 9), np.floor(u[:, 1] * 4))
    d20 = np.where((yy <= 36) & (u[:, 0] < 0.5), np.where(u[:, 1] < 0.5, 4, 9), 5 + np.floor(u[:, 1] * 4))
    d7 = np.where(year < 2000, d19, d20).astype("int64")
    mid = np.floor(u[:, 2] * 100).astype("int64")                  # digits 8-9
    last = np.floor(u[:, 3] * 5).astype("int64") * 2 + np.where(female, 0, 1)
    serial = d7 * 1000 + mid * 10 + last
    date_part = np.char.mod("%02d", b.day.to_numpy()).astype(object) + \
        np.char.mod("%02d", b.month.to_numpy()).astype(object) + np.char.mod("%02d", yy).astype(object)
    cpr = date_part + "-" + np.char.mod("%04d", serial).astype(object)
    # resolve the rare duplicates (a later citizen with an earlier one's number): step digits 8-9,
    # deterministically per citizen, keeping century and sex
    for step in range(1, 100):
        dup = pd.Series(cpr).duplicated().to_numpy()
        if not dup.any():
            break
        mid2 = (mid[dup] + 37 * step) % 100
        serial[dup] = d7[dup] * 1000 + mid2 * 10 + last[dup]
        cpr[dup] = date_part[dup] + "-" + np.char.mod("%04d", serial[dup]).astype(object)
    return cpr.astype(str)


# =========================================================================== arms
def _normalise_arms(arms, referrals: pd.DataFrame) -> np.ndarray:
    """-> float array aligned with referrals: 1 treatment, 0 control, NaN not enrolled."""
    n = len(referrals)
    if arms is None:
        return np.full(n, np.nan)
    if isinstance(arms, pd.Series):
        if not arms.index.is_unique:
            raise ParameterError("arms", "must have a unique index (one value per citizen)")
        unknown = arms.index.difference(referrals.index)
        if len(unknown):
            raise ParameterError("arms", f"must be indexed like `referrals` (citizen index); "
                                         f"{len(unknown)} labels are not among its rows, e.g. "
                                         f"{_mask_label(unknown[0])}")
        vals = arms.reindex(referrals.index)
    elif isinstance(arms, Mapping):
        if "cpr" not in referrals.columns:
            raise ParameterError("arms", "as a mapping cpr -> 0/1 needs a `cpr` column in referrals")
        key = pd.Series(referrals.index, index=referrals["cpr"].astype(str).to_numpy())
        given = pd.Series(dict(arms), dtype="object")
        given.index = given.index.astype(str)
        unknown = given.index.difference(key.index)
        if len(unknown):
            raise ParameterError("arms", f"maps CPR numbers that are not among the referrals: {len(unknown)} "
                                         f"of them, e.g. {_mask_label(unknown[0])}")
        vals = pd.Series(given.to_numpy(), index=key.loc[given.index].to_numpy()).reindex(referrals.index)
    else:
        raise ParameterError("arms", f"must be a pandas Series (index = citizen), a mapping cpr -> 0/1 or "
                                     f"None; got {type(arms).__name__}")
    num = pd.to_numeric(vals.astype("object"), errors="coerce").astype(float).to_numpy()
    raw_missing = pd.isna(vals.astype("object")).to_numpy()
    bad = (~raw_missing & ~np.isin(num, (0.0, 1.0)))
    if bad.any():
        i = int(np.argmax(bad))
        raise ParameterError("arms", f"values must be 0 (control), 1 (treatment) or missing (not enrolled); "
                                     f"got {vals.iloc[i]!r} for citizen {referrals.index[i]}")
    return np.where(raw_missing, np.nan, num)


def _eligible(protocol, referrals: pd.DataFrame) -> np.ndarray:
    el = protocol.eligibility
    age = _age_at(referrals)
    return ((age >= el.min_age) & (age <= el.max_age)
            & referrals["municipality_code"].isin(el.municipality_codes).to_numpy()
            & referrals["referral_type"].astype(str).isin(el.referral_types).to_numpy())


def _birth(referrals: pd.DataFrame) -> pd.DatetimeIndex:
    c = referrals["cpr"].astype(str).str.replace("-", "", regex=False)
    dd, mm, yy = (c.str[0:2].astype(int), c.str[2:4].astype(int), c.str[4:6].astype(int))
    d7 = c.str[6].astype(int)
    century = np.select([d7 <= 3, d7.isin([4, 9])], [1900, np.where(yy <= 36, 2000, 1900)],
                        np.where(yy <= 57, 2000, 1800))
    return pd.DatetimeIndex(pd.to_datetime(pd.DataFrame({"year": century + yy, "month": mm, "day": dd})))


def _age_at(referrals: pd.DataFrame) -> np.ndarray:
    b = _birth(referrals)
    r = pd.DatetimeIndex(referrals["referral_date"])
    before = (r.month < b.month) | ((r.month == b.month) & (r.day < b.day))
    return (r.year - b.year - before.astype(int)).to_numpy()


def allocate_rehearsal(protocol, referrals: pd.DataFrame, *, seed: int) -> pd.Series:
    """Rehearsal allocation: complete randomization among eligible referrals.

    The first ``capacity x (1 + allocation_ratio)`` eligible referrals in
    referral order are enrolled (all eligible ones when there are fewer or the
    capacity is unlimited); exactly ``round(n_enrolled / (1 + ratio))`` of them,
    chosen at random, get treatment. Only for rehearsal exports: the trial's
    real allocation comes from the register.

    Returns
    -------
    pandas.Series
        float, indexed like ``referrals``: 1 treatment, 0 control, NaN not enrolled.
    """
    seed = _check_seed(seed)
    ratio = float(protocol.allocation.ratio)
    elig = np.flatnonzero(_eligible(protocol, referrals))
    order = np.argsort(referrals["referral_date"].to_numpy()[elig], kind="stable")
    elig = elig[order]
    if protocol.capacity is not None:
        elig = elig[: int(round(protocol.capacity * (1 + ratio)))]
    n_t = int(round(len(elig) / (1 + ratio)))
    g = np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, _ST_ARMS])))
    treated = g.permutation(len(elig))[:n_t]
    out = np.full(len(referrals), np.nan)
    out[elig] = 0.0
    out[elig[treated]] = 1.0
    return pd.Series(out, index=referrals.index, name="treatment")
