"""Rehearsal data: synthetic referrals and municipal outcome exports.

:func:`write_exports` writes the four files a municipality would export
(``referrals.csv``, ``status.csv``, ``events.csv``, ``survey.csv``, formats as
in ``docs/contracts.md``) for a synthetic cohort, so every later stage (intake,
register, outcomes, estimation, report) can be rehearsed on data that look real
and whose true effects are known.

Files
-----
Semicolon-separated, decimal comma, UTF-8 without BOM, ``\\n`` line ends,
dates ``YYYY-MM-DD``, empty field = missing. CPR numbers are synthetic
``DDMMYY-SSSS`` with an existing birth date, the century digit (7th digit)
consistent with the birth year and the sex in the last digit; the serial is
random, so some are modulus-11 valid and most are not (as for numbers issued
since 2007). They occur **only** in these rehearsal files and in the frame
:func:`simulate_referrals` returns; never in a message, log or summary.

Cohort
------
Referral dates arrive as a Poisson process of about 1,000 a year (20 a week)
from ``protocol.trial.first_referral``; a weekend date moves to the Monday.
Age at referral 18-64 (mode in the forties), 55 % women. About 5 % of the
referrals are ineligible on purpose: 2 % outside the age limits, 1.5 % from
another municipality, 1.5 % of another referral type. Each citizen has two
latent standard-normal factors, distance from the labour market ``z_work`` and
mental-health burden ``z_psych`` (correlation 0.4); the baseline covariates
(``prior_forloeb`` ~30 %, ``months_on_benefit`` 0-36, ``psych_contact_12m``
~45 %) and every outcome load on them, so covariate adjustment has something
to gain. Eligibility does not depend on the factors.

Trajectory model (``status.csv``)
---------------------------------
A weekly, time-inhomogeneous Markov chain over the nine protocol statuses,
everyone starting in ressourceforløbsydelse (RFY) in week 1. Weekly transition
probabilities (control arm; citizen group ``g`` = quintile of ``z_work``,
``m_g = exp(-0.55 (g - 2))``, ``r_a(t) = min(1, t/a)`` a ramp in week ``t``):

* RFY -> ORD ``a_o m_g r_39(t)``; KTH, SLV -> ORD the same, UDD -> ORD twice it;
* RFY -> FLX ``a_f m_g r_78(t)`` (flex job needs a visitation late in the forløb);
* RFY -> UDD, SLV, AND ``a_x (0.4 sqrt(m_g), 0.3 sqrt(m_g), 0.3)``;
* RFY -> FTP ``0.0010 r_26(t) / m_g`` (førtidspension, absorbing), SDP -> FTP 0.002;
* RFY -> KTH 0.001, RFY -> SDP 0.006 (sickness spells, back at 0.12 a week);
* exits from work: ORD -> RFY 0.0008, ORD -> KTH 0.0004, FLX -> RFY 0.0004,
  FLX -> AND 0.0004; returns KTH 0.03, UDD 0.015, SLV 0.015, AND 0.08 a week.

Spells are therefore persistent (geometric, weeks to years) and entries into
work spread over the three years. The three scales ``(a_o, a_f, a_x)`` are
solved per arm (``scipy.optimize.least_squares``) so that the *exact* state
distribution of the chain (forward recursion ``pi_{t+1} = pi_t P_t`` averaged
over the five groups) gives the protocol's control values for the endpoints
``status_at ordinaer_beskaeftigelse`` (5 %), ``status_at fleksjob`` (5 %) and
``weeks_in_status`` on benefits (140 weeks) and, in the treatment arm, control
value + effect. Kontanthjælp is exported as ``UDH`` (uddannelseshjælp) for
citizens under 30 and ``KTH`` otherwise; both map to ``kontanthjaelp``.
``time_to_status`` (first week in work) is not a free parameter: it follows
from the chain (about 12 % in control, since some jobs end again).

Attrition: moving away (0.03 % a week, ~4.6 % in three years) and death
(0.01 % a week) are independent of everything else. Municipal data stop when a
citizen moves away or dies: the status panel ends with the week of the event,
no event starts after it, an open grant ends on its date and later survey waves
have no row. ``withdrawn`` (1 % of enrolled citizens, a point event dated in
follow-up) does not stop the municipal data; the outcomes stage treats it as
attrition. Because attrition is independent of the outcomes, every endpoint's
rate among citizens still followed at its horizon equals its calibrated value.

Events and surveys (``events.csv``, ``survey.csv``)
---------------------------------------------------
Binary event endpoints (``event_any``: §85, §107, §99 grants, the extension
``forloeb_extension``, ``psych_contact``) are Gaussian-copula thresholds: the
latent ``L = rho z + sqrt(1 - rho^2) e`` is standard normal whatever ``rho``, so
``P(Phi(L) < p) = p`` exactly, with ``p`` = control value or control value +
effect. Grants start uniformly in weeks 1..H and last a geometric number of
weeks (mean 52, 150, 40 for §85, §107, §99; an ended grant is renewed with
probability 0.2), empty ``end_date`` when still open at the end of week 156.
The extension is dated in a week from 40 on in which the citizen is on a
benefit (RFY, KTH, SDP) when there is one. Psychiatric contact comes in
windows of H weeks (1 + Poisson(2) contacts in a window with contact).
Psychiatric admissions: a Poisson number with a gamma frailty (shape 0.4,
loaded on ``z_psych``), lengths 1 + geometric (mean 12 nights), so that the
days of ``[start, end)`` per person-year (365.25 days) equal the
``event_rate days`` endpoint; an admission still running at the end of week
156 has an empty ``end_date``. Survey waves 0..3 (weeks 0, 52, 104, 156; 8 %,
20 %, 25 %, 30 % not answered, completely at random): self-rated health 1-5
(ordinal thresholds on a latent normal), functional ability 0-100 and job
readiness 0-10 (rounded latent normals); the treatment shift of the latent is
solved (``scipy.optimize.brentq``) so the *expected observed* change at the
endpoint's wave equals the effect, and the control change is 0 exactly because
the latent is stationary.

Potential outcomes and common random numbers
--------------------------------------------
Every draw for citizen ``i`` comes from a stream
``np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, stream])))``
whose row ``i`` depends only on ``(seed, stream, i)``, where ``i`` is the
citizen's index (the row label of the referrals frame). Both arms use the same
uniforms; treatment only changes the transition probabilities and thresholds,
so a citizen's control and treatment histories differ only through the effect,
and the outcome files can be re-written under *any* allocation (the register's)
for the same citizens. Citizens not enrolled get control histories: municipal
exports cover everyone referred.

When :func:`write_exports` is called without ``arms`` it allocates by complete
randomization with the protocol's ``allocation_ratio`` among eligible referrals
in referral order until ``capacity x (1 + ratio)`` are enrolled. This is only
for rehearsal exports; the demo re-writes the outcome files under the
register's allocation with :func:`write_outcome_exports`.
"""
from __future__ import annotations

import hashlib
import math
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping

import numpy as np
import pandas as pd

from .exceptions import ParameterError
from ._results import Displayable

__all__ = [
    "FILES",
    "SimulationSettings",
    "RehearsalResult",
    "simulate_referrals",
    "simulate_outcomes",
    "write_exports",
    "write_outcome_exports",
    "rehearse",
    "allocate_rehearsal",
    "resolve_effects",
    "chain_expectations",
    "observed_rates",
    "STATUS_CODES",
]

#: File names written by :func:`write_exports`, by key.
FILES = {"referrals": "referrals.csv", "status": "status.csv", "events": "events.csv", "survey": "survey.csv"}

COLUMNS = {
    "referrals": ("cpr", "referral_date", "municipality_code", "referral_type", "prior_forloeb",
                  "months_on_benefit", "psych_contact_12m"),
    "status": ("cpr", "week", "status"),
    "events": ("cpr", "event", "start_date", "end_date"),
    "survey": ("cpr", "wave", "date", "self_rated_health", "functional_ability", "job_readiness"),
}

# the chain's states (protocol status names) and their source codes
_STATES = ("ressourceforloebsydelse", "ordinaer_beskaeftigelse", "fleksjob", "kontanthjaelp",
           "sygedagpenge", "foertidspension", "uddannelse", "selvforsoergende", "andet")
RFY, ORD, FLX, KTH, SDP, FTP, UDD, SLV, AND = range(9)
#: Preferred source code per status (``UDH`` is used for kontanthjælp under 30).
STATUS_CODES = {"ressourceforloebsydelse": "RFY", "ordinaer_beskaeftigelse": "ORD", "fleksjob": "FLX",
                "kontanthjaelp": "KTH", "sygedagpenge": "SDP", "foertidspension": "FTP",
                "uddannelse": "UDD", "selvforsoergende": "SLV", "andet": "AND"}

# random streams (second element of the SeedSequence entropy)
_ST_REF, _ST_LATENT, _ST_CHAIN, _ST_ATTR, _ST_GRANT, _ST_EXT, _ST_CONTACT, _ST_ADM, _ST_SURVEY, \
    _ST_ARMS, _ST_CPR, _ST_WITHDRAW = range(1, 13)

_N_GROUPS = 5
_GROUP_BETA = -0.55
_ELIG_SHARES = (0.02, 0.015, 0.015)  # age outside, other municipality, other referral type
_OTHER_MUNICIPALITIES = np.array([147, 151, 153, 157, 159, 161, 163, 165, 167, 169, 173, 175, 183, 185])
_OTHER_TYPES = np.array(["jobafklaringsforloeb", "revalidering", "fleksjobvisitation", "sygedagpengeopfoelgning"])
_MOVE_HAZARD = 0.0003
_DEATH_HAZARD = 0.0001
_WITHDRAW_SHARE = 0.01

# defaults when the protocol has no endpoint for a component (domain.md figures)
_GRANTS = {  # event: (default control share, loading on z_psych, mean duration weeks)
    "par85": (0.14, 0.5, 52.0),
    "par107": (0.05, 0.6, 150.0),
    "par99": (0.02, 0.5, 40.0),
}
_EXTENSION_DEFAULT = 0.50
_CONTACT_DEFAULT = (0.40, 52)
_ADMISSION_DEFAULT = 2.0          # days per person-year
_ADM_MEAN_LENGTH = 12.0           # nights, 1 + geometric
_ADM_SHAPE = 0.4                  # gamma frailty shape
_ADM_MAX = 40                     # admissions simulated per citizen at most
_SURVEY_NONRESPONSE = (0.08, 0.20, 0.25, 0.30)
_SRH_PROBS = np.array([0.10, 0.25, 0.35, 0.22, 0.08])   # self-rated health 1..5 at baseline
_FA_MEAN, _FA_SD = 50.0, 18.0                            # functional ability 0..100
_JR_MEAN, _JR_SD = 4.0, 2.2                              # job readiness 0..10
_SURVEY_ITEMS = ("self_rated_health", "functional_ability", "job_readiness")

# fixed weekly transition probabilities (from, to) -> p; see the module docstring
_FIXED = {
    (RFY, KTH): 0.0010, (RFY, SDP): 0.0060,
    (ORD, RFY): 0.0008, (ORD, KTH): 0.0004,
    (FLX, RFY): 0.0004, (FLX, AND): 0.0004,
    (KTH, RFY): 0.0300,
    (SDP, RFY): 0.1200, (SDP, FTP): 0.0020,
    (UDD, RFY): 0.0150, (UDD, KTH): 0.0050,
    (SLV, RFY): 0.0150,
    (AND, RFY): 0.0800,
}
_FTP_RATE = 0.0010
_DEFAULT_SCALES = (0.0006, 0.0006, 0.004)   # a_o, a_f, a_x when no endpoint pins them


# =========================================================================== results
@dataclass(frozen=True)
class SimulationSettings:
    """What a rehearsal was simulated from (everything needed to repeat it).

    Attributes
    ----------
    seed : int
        The seed of every random stream.
    n_referrals : int
        Number of referrals simulated.
    effects : Mapping[str, float]
        Effect per endpoint actually simulated (treatment minus control, on
        the endpoint's scale); endpoints the model derives are absent.
    allocation : str
        ``"rehearsal complete randomization"`` or ``"given"``.
    protocol_fingerprint : str
    """

    seed: int
    n_referrals: int
    effects: Mapping[str, float]
    allocation: str
    protocol_fingerprint: str


@dataclass(frozen=True)
class RehearsalResult(Displayable):
    """Files written by :func:`rehearse`, with their SHA-256 checksums.

    Attributes
    ----------
    settings : SimulationSettings
    paths : Mapping[str, Path]
        ``referrals``, ``status``, ``events``, ``survey`` -> file written.
    checksums : Mapping[str, str]
        SHA-256 (hex) of each file.
    rows : Mapping[str, int]
        Data rows per file (header excluded).
    n_treatment, n_control, n_not_enrolled : int
    rates : pandas.DataFrame
        Realised control and treatment values of the endpoints the model
        calibrates (see :func:`observed_rates`).
    """

    settings: SimulationSettings
    paths: Mapping[str, Path]
    checksums: Mapping[str, str]
    rows: Mapping[str, int]
    n_treatment: int
    n_control: int
    n_not_enrolled: int
    rates: pd.DataFrame = field(repr=False)

    def to_frame(self) -> pd.DataFrame:
        """One row per file: ``file, path, rows, sha256``."""
        return pd.DataFrame({
            "file": list(self.paths),
            "path": [str(p) for p in self.paths.values()],
            "rows": [self.rows[k] for k in self.paths],
            "sha256": [self.checksums[k] for k in self.paths],
        })

    def summary(self) -> str:
        s = self.settings
        lines = [f"Rehearsal exports (seed {s.seed}, {s.n_referrals} referrals, allocation: {s.allocation})",
                 f"  enrolled: {self.n_treatment} treatment, {self.n_control} control; "
                 f"{self.n_not_enrolled} referrals not enrolled"]
        for k, p in self.paths.items():
            lines.append(f"  {k:<10} {self.rows[k]:>9} rows  {p}  sha256 {self.checksums[k][:16]}")
        if len(self.rates):
            lines.append("  endpoint                     untreated (n)       treatment (n)       target c / t")
            for r in self.rates.itertuples():
                lines.append(f"  {r.endpoint:<28} {_fmt(r.control_value):>8} ({r.n_control:>5})   "
                             f"{_fmt(r.treatment_value):>8} ({r.n_treatment:>5})   "
                             f"{_fmt(r.target_control)} / {_fmt(r.target_treatment)}")
        return "\n".join(lines)


def _fmt(x: float) -> str:
    if x is None or not math.isfinite(x):
        return "–"
    return f"{x:.3f}" if abs(x) < 10 else f"{x:.1f}"


# =========================================================================== validation
def _check_seed(seed: Any) -> int:
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)) or not 0 <= seed < 2**63:
        raise ParameterError("seed", f"must be a whole number between 0 and 2**63 - 1; got {seed!r}")
    return int(seed)


def _check_n(n: Any) -> int:
    if isinstance(n, (bool, np.bool_)) or not isinstance(n, (int, np.integer)) or not 1 <= n <= 5_000_000:
        raise ParameterError("n_referrals", f"must be a whole number from 1 to 5,000,000; got {n!r}")
    return int(n)


def _check_protocol(protocol) -> None:
    missing = [s for s in _STATES if s not in protocol.statuses]
    if missing:
        raise ParameterError("protocol", f"must define the statuses the trajectory model uses "
                                         f"({', '.join(_STATES)}); missing {', '.join(missing)}")
    codes = _source_codes(protocol)
    lost = [s for s in _STATES if s not in codes]
    if lost:
        raise ParameterError("protocol", f"status_map must give a source code for every status the model "
                                         f"uses; none maps to {', '.join(lost)}")


def _source_codes(protocol) -> dict[str, str]:
    """Status name -> source code written in status.csv (preferring the usual codes)."""
    out: dict[str, str] = {}
    for code, status in protocol.status_map.items():
        if STATUS_CODES.get(status) == code:
            out[status] = code
    for code, status in protocol.status_map.items():
        out.setdefault(status, code)
    return out


# =========================================================================== random streams
def _uniforms(seed: int, stream: int, n_rows: int, k: int) -> np.ndarray:
    """Uniforms in (0, 1), shape (n_rows, k); row i depends only on (seed, stream, i)."""
    g = np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, stream])))
    u = g.random((n_rows, k))
    return u + 2.0**-54  # never exactly 0, so quantile functions stay finite


def _normals(u: np.ndarray) -> np.ndarray:
    from scipy.special import ndtri

    return ndtri(u)


# =========================================================================== referrals
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


def _phi(x):
    from scipy.special import ndtr

    return ndtr(x)


def _mix(z: np.ndarray, rho: float, u: np.ndarray) -> np.ndarray:
    """Uniform of ``rho z + sqrt(1 - rho^2) e`` (a Gaussian-copula draw correlated with z)."""
    return _phi(rho * z + math.sqrt(1 - rho * rho) * _normals(u))


def _latent(seed: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    e = _normals(_uniforms(seed, _ST_LATENT, n, 2))
    z_work = e[:, 0]
    z_psych = 0.4 * z_work + math.sqrt(1 - 0.16) * e[:, 1]
    return z_work, z_psych


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


# =========================================================================== effects
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
        k = free[int(np.argmax(bad))]
        e = (plan.ord, plan.flx, plan.weeks)[k]
        raise ParameterError("effects", f"{e.id!r}: the trajectory model cannot reach {targets[free.index(k)]:g} "
                                        f"together with the other employment targets (closest {got[free.index(k)]:g})")
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


def _mask_label(x) -> str:
    s = str(x)
    digits = s.replace("-", "")
    if len(digits) == 10 and digits.isdigit():
        return digits[:6] + "-XXXX"
    return repr(x)


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


# =========================================================================== outcomes
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
    The model is described in the module docstring. Control rates are exact
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

    # --- events ---------------------------------------------------------------------
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

    survey = _survey(protocol, plan, eff, seed, cid, N, z_work, z_psych, treat, ref_day, att_rel, cpr_cat)
    return {"status": status.reset_index(drop=True), "events": events.reset_index(drop=True), "survey": survey}


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


# =========================================================================== observed rates
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


# =========================================================================== writing
def _text_values(s: pd.Series) -> tuple[np.ndarray, list[str]]:
    """Column -> (codes, texts): the distinct values formatted as they are written."""
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    u = pd.Series(uniques)
    if pd.api.types.is_datetime64_any_dtype(u):
        texts = list(np.datetime_as_string(u.to_numpy().astype("datetime64[D]"), unit="D"))
    elif pd.api.types.is_float_dtype(u):
        texts = [f"{x:.1f}".replace(".", ",") for x in u]            # decimal comma
    elif pd.api.types.is_integer_dtype(u):
        texts = [str(int(x)) for x in u]
    else:
        texts = [str(x) for x in u]
    codes = np.where(codes < 0, len(texts), codes)                      # missing -> empty field
    return codes, texts + [""]


def _csv_bytes(kind: str, df: pd.DataFrame) -> bytes:
    """Municipal-Excel CSV: ';', decimal comma, ISO dates, empty = missing, UTF-8, '\\n'.

    Vectorised: every column is factorised and the distinct texts are
    scattered byte by byte into one buffer (a 3-million-row status panel is
    written in well under a second); equal to ``DataFrame.to_csv`` with the
    same formats (tested).
    """
    cols = COLUMNS[kind]
    header = (";".join(cols) + "\n").encode("utf-8")
    n = len(df)
    if n == 0:
        return header
    parts = []
    for c in cols:
        codes, texts = _text_values(df[c])
        if any(";" in t or '"' in t or "\n" in t for t in texts):
            raise ParameterError(c, "values must not contain ';', '\"' or line breaks")
        raw = [t.encode("utf-8") for t in texts]
        lens = np.array([len(b) for b in raw], dtype="int64")
        mat = np.zeros((len(raw), max(int(lens.max()), 1)), dtype=np.uint8)
        for j, b in enumerate(raw):
            mat[j, :len(b)] = np.frombuffer(b, dtype=np.uint8)
        parts.append((codes, lens, mat))
    row_len = sum(lens[codes] for codes, lens, _ in parts) + len(cols)   # separators + newline
    ends = np.cumsum(row_len)
    buf = np.full(int(ends[-1]), ord(";"), dtype=np.uint8)
    buf[ends - 1] = ord("\n")
    pos = ends - row_len
    for codes, lens, mat in parts:
        ln = lens[codes]
        for j in range(mat.shape[1]):
            m = ln > j
            buf[pos[m] + j] = mat[codes[m], j]
        pos = pos + ln + 1
    return header + buf.tobytes()


def _write_atomic(out_dir: Path, blobs: Mapping[str, bytes]) -> dict[str, Path]:
    """Write every file to a temporary name first; rename only when all are written."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ParameterError("out_dir", f"must be a folder that can be created; {out_dir}: {exc.strerror}") from None
    tmp: dict[str, str] = {}
    try:
        for k, data in blobs.items():
            fd, name = tempfile.mkstemp(prefix=f".{FILES[k]}.", dir=out_dir)
            tmp[k] = name
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
        paths = {}
        for k, name in tmp.items():
            dest = out_dir / FILES[k]
            os.replace(name, dest)
            os.chmod(dest, 0o644)
            paths[k] = dest
        return paths
    except OSError as exc:
        for name in tmp.values():
            try:
                os.unlink(name)
            except OSError:
                pass
        raise ParameterError("out_dir", f"could not write the exports to {out_dir}: {exc.strerror}") from None


def _outcome_blobs(frames: Mapping[str, pd.DataFrame]) -> dict[str, bytes]:
    return {k: _csv_bytes(k, frames[k]) for k in ("status", "events", "survey")}


def write_outcome_exports(protocol, referrals: pd.DataFrame, arms, out_dir, *, seed: int,
                          effects: Mapping[str, float] | None = None) -> dict[str, Path]:
    """Write ``status.csv``, ``events.csv`` and ``survey.csv`` under a given allocation.

    For the demo: after the register has randomized, the outcome files are
    re-written so that the treated citizens' histories carry the effect. Same
    parameters as :func:`simulate_outcomes`; ``out_dir`` is created if needed.
    Files are replaced only when all three are written.
    """
    frames = simulate_outcomes(protocol, referrals, arms, seed=seed, effects=effects)
    return _write_atomic(Path(out_dir), _outcome_blobs(frames))


def rehearse(protocol, n_referrals: int, out_dir, *, seed: int, effects: Mapping[str, float] | None = None,
             arms=None) -> RehearsalResult:
    """Simulate a cohort and write the four municipal exports; return what was written.

    Parameters
    ----------
    protocol : trial.protocol.Protocol
    n_referrals : int
    out_dir : path
        Folder for ``referrals.csv``, ``status.csv``, ``events.csv``, ``survey.csv``.
    seed : int
    effects : mapping endpoint id -> float, or None
        See :func:`resolve_effects`.
    arms : pandas.Series, mapping cpr -> 0/1, or None
        None: :func:`allocate_rehearsal` (complete randomization among eligible
        referrals, capped at capacity; rehearsal only).

    Returns
    -------
    RehearsalResult

    Examples
    --------
    >>> import tempfile
    >>> from trial.protocol import load
    >>> with tempfile.TemporaryDirectory() as d:
    ...     r = rehearse(load(), 50, d, seed=7)
    ...     sorted(r.paths), r.rows["referrals"]
    (['events', 'referrals', 'status', 'survey'], 50)
    """
    seed = _check_seed(seed)
    n = _check_n(n_referrals)
    eff = resolve_effects(protocol, effects)
    referrals = simulate_referrals(protocol, n, seed=seed)
    if arms is None:
        arm_s = allocate_rehearsal(protocol, referrals, seed=seed)
        how = "rehearsal complete randomization"
    else:
        arm_s = pd.Series(_normalise_arms(arms, referrals), index=referrals.index)
        how = "given"
    frames = simulate_outcomes(protocol, referrals, arm_s, seed=seed, effects=effects)
    blobs = {"referrals": _csv_bytes("referrals", referrals), **_outcome_blobs(frames)}
    paths = _write_atomic(Path(out_dir), blobs)
    a = arm_s.to_numpy()
    rates = observed_rates(protocol, referrals, frames, arm_s, effects)
    rates = rates[rates["endpoint"].isin([e.id for e in protocol.primary_endpoints])].reset_index(drop=True)
    return RehearsalResult(
        settings=SimulationSettings(seed=seed, n_referrals=n, effects=MappingProxyType(dict(eff)), allocation=how,
                                    protocol_fingerprint=protocol.fingerprint),
        paths=MappingProxyType({k: paths[k] for k in FILES}),
        checksums=MappingProxyType({k: hashlib.sha256(blobs[k]).hexdigest() for k in FILES}),
        rows=MappingProxyType({k: blobs[k].count(b"\n") - 1 for k in FILES}),
        n_treatment=int(np.sum(a == 1)), n_control=int(np.sum(a == 0)), n_not_enrolled=int(np.isnan(a).sum()),
        rates=rates,
    )


def write_exports(protocol, n_referrals: int, out_dir, *, seed: int, effects: Mapping[str, float] | None = None,
                  arms=None) -> dict[str, Path]:
    """Write the four rehearsal exports; returns ``{"referrals": Path, "status": ..., "events": ..., "survey": ...}``.

    See :func:`rehearse` (which also returns checksums and realised rates).
    The same seed writes byte-identical files.
    """
    return dict(rehearse(protocol, n_referrals, out_dir, seed=seed, effects=effects, arms=arms).paths)
