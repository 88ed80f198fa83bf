"""Private: constants of the rehearsal model, argument checks and the random streams.

Every draw of citizen ``i`` comes from :func:`_uniforms` for a stream number
below (``_ST_*``): row ``i`` depends only on ``(seed, stream, i)``, which is
what makes the exports common-random-number potential outcomes (see the
package docstring of :mod:`trial.simulate`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..exceptions import ParameterError

#: File names written by :func:`~trial.simulate.write_exports`, by key.
FILES = {"referrals": "referrals.csv", "status": "status.csv", "events": "events.csv", "survey": "survey.csv"}

#: Columns of each file, in order.
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


def _mask_label(x) -> str:
    """A label fit for a message: a CPR-like value shows as ``DDMMYY-XXXX``."""
    s = str(x)
    digits = s.replace("-", "")
    if len(digits) == 10 and digits.isdigit():
        return digits[:6] + "-XXXX"
    return repr(x)


@dataclass(frozen=True)
class _Cohort:
    """Per-citizen arrays shared by the outcome generators (positions = rows of the referrals frame)."""

    seed: int
    T: int                      # follow-up weeks
    cid: np.ndarray             # citizen index (the key of every random stream)
    N: int                      # rows drawn per stream (max citizen index + 1)
    arm: np.ndarray             # 1 treatment, 0 control, NaN not enrolled
    treat: np.ndarray           # arm == 1
    z_work: np.ndarray
    z_psych: np.ndarray
    ref_day: np.ndarray         # referral date, datetime64[D]
    cpr_cat: pd.CategoricalDtype
    attrited: np.ndarray        # moved away or died within follow-up
    att_kind: np.ndarray        # "moved_away" / "died"
    att_rel: np.ndarray         # day of attrition relative to referral (7 T when none)
