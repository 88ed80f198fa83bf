"""Measured helårspersoner per benefit from the weekly status panel (treatment minus control).

The published case counts transfers through its driver lines (a citizen moved
into a job saves 110,8 t.kr. a year in forsørgelse). The trial measures the
same thing directly: each week of each citizen is in one status, so the share
of a citizen's observed weeks on a benefit is that citizen's helårspersoner per
year of follow-up. The difference in means of that share between the arms,
times the number of treated citizens, is the change in helårspersoner per year
the programme brings about, benefit by benefit. It is shown beside the case,
never added to it (the driver lines count the same money).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..exceptions import BusinessCaseError

COLUMNS = ["benefit", "mean_treatment", "mean_control", "difference", "std_error", "ci_low", "ci_high",
           "n_treatment", "n_control", "per_citizens_per_year"]


def benefit_years(enrollments: pd.DataFrame, status: pd.DataFrame, benefits, *, citizens: int = 100,
                  confidence_level: float = 0.95) -> pd.DataFrame:
    """Δ helårspersoner per benefit: share of observed weeks on the benefit, treatment minus control.

    Parameters
    ----------
    enrollments : DataFrame
        One row per randomized citizen with ``pseudonym`` and ``treatment`` (1/0).
    status : DataFrame
        The weekly status panel ``pseudonym, week, status`` (protocol statuses).
    benefits : sequence of str
        The statuses that are public benefits (``protocol.benefit_statuses``).
    citizens : int, default 100
        Treated citizens the difference is scaled to (the case's ``citizens_treated``).
    confidence_level : float

    Returns
    -------
    DataFrame
        One row per benefit, then ``"i alt"`` (all benefits together):
        ``mean_treatment``, ``mean_control`` (helårspersoner per citizen-year),
        ``difference`` with its Neyman standard error and interval
        (:func:`trial.estimate.difference_in_means`), ``n_treatment``,
        ``n_control`` (citizens with at least one observed week) and
        ``per_citizens_per_year`` = ``difference × citizens``.

    Examples
    --------
    >>> enr = pd.DataFrame({"pseudonym": ["a", "b", "c", "d"], "treatment": [1, 1, 0, 0]})
    >>> st = pd.DataFrame({"pseudonym": list("aabbccdd"), "week": [1, 2] * 4,
    ...                    "status": ["job", "rfy", "job", "job", "rfy", "rfy", "rfy", "job"]})
    >>> benefit_years(enr, st, ["rfy"], citizens=100).loc[0, ["mean_treatment", "mean_control", "difference"]].tolist()
    [0.25, 0.75, -0.5]
    """
    from ..estimate import difference_in_means

    benefits = [str(b) for b in benefits]
    if not benefits:
        raise BusinessCaseError("benefits", "must name at least one benefit status (protocol [statuses] benefits)")
    for c in ("pseudonym", "treatment"):
        if c not in enrollments.columns:
            raise BusinessCaseError("enrollments", f"must have a `{c}` column")
    for c in ("pseudonym", "week", "status"):
        if c not in status.columns:
            raise BusinessCaseError("status", f"must have a `{c}` column")
    st = status[status["pseudonym"].isin(enrollments["pseudonym"])]
    s = st["status"].astype(str)
    weeks = st.groupby("pseudonym", observed=True).size()
    share = {}
    for b in benefits:
        share[b] = (s == b).groupby(st["pseudonym"], observed=True).sum().reindex(weeks.index, fill_value=0) / weeks
    share["i alt"] = s.isin(benefits).groupby(st["pseudonym"], observed=True).sum().reindex(
        weeks.index, fill_value=0) / weeks
    arm = enrollments.set_index("pseudonym")["treatment"].astype(int)
    rows = []
    for name, v in share.items():
        d = pd.DataFrame({"y": v.to_numpy(float), "t": arm.reindex(v.index).to_numpy()})
        r = difference_in_means(d, outcome="y", treatment="t", confidence_level=confidence_level)
        est = float(r.estimate)
        rows.append({"benefit": name, "mean_treatment": float(d.loc[d.t == 1, "y"].mean()),
                     "mean_control": float(d.loc[d.t == 0, "y"].mean()), "difference": est,
                     "std_error": float(r.std_error), "ci_low": float(r.ci_low), "ci_high": float(r.ci_high),
                     "n_treatment": int((d.t == 1).sum()), "n_control": int((d.t == 0).sum()),
                     "per_citizens_per_year": est * citizens if np.isfinite(est) else float("nan")})
    return pd.DataFrame(rows, columns=COLUMNS)


def benefit_years_from_register(register, *, as_of=None, citizens: int | None = None) -> pd.DataFrame:
    """:func:`benefit_years` on a register's weekly panel (its protocol's benefit statuses) at ``as_of``."""
    from ..analysis import register_frames

    f = register_frames(register, as_of)
    proto = f["protocol"]
    if citizens is None:
        citizens = int(proto.capacity or 100)
    return benefit_years(f["enrollments"], f["status"], proto.benefit_statuses, citizens=citizens)
