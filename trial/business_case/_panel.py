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
    share = {b: benefit_year_shares(st, [b]) for b in benefits}
    share["i alt"] = benefit_year_shares(st, benefits)
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


def benefit_years_from_register(register, *, as_of=None, citizens: int | None = None,
                                frames=None) -> pd.DataFrame:
    """:func:`benefit_years` on a register's weekly panel (its protocol's benefit statuses) at ``as_of``;
    ``frames``: :func:`trial.analysis.register_frames` already read (``as_of`` is then theirs)."""
    from ..analysis import register_frames

    f = frames if frames is not None else register_frames(register, as_of)
    proto = f["protocol"]
    if citizens is None:
        citizens = int(proto.capacity or 100)
    return benefit_years(f["enrollments"], f["status"], proto.benefit_statuses, citizens=citizens)


def benefit_year_shares(status: pd.DataFrame, benefits, *, weeks=None) -> pd.Series:
    """Each citizen's helårspersoner per year on ``benefits``: the share of the citizen's observed weeks
    (within follow-up ``weeks = (first, last)``, inclusive) spent on one of them; index ``pseudonym``.

    A citizen without an observed week in the window has no value (not 0): the
    week was not seen, which is not the same as a week off benefits.
    """
    for c in ("pseudonym", "week", "status"):
        if c not in status.columns:
            raise BusinessCaseError("status", f"must have a `{c}` column")
    st = status
    if weeks is not None:
        lo, hi = int(weeks[0]), int(weeks[1])
        w = st["week"].to_numpy()
        st = st[(w >= lo) & (w <= hi)]
    on = st["status"].astype(str).isin([str(b) for b in benefits])
    g = on.groupby(st["pseudonym"], observed=True)
    share = (g.sum() / g.size()).astype(float).rename("benefit_years")
    share.attrs["last_week"] = int(st["week"].max()) if len(st) else None    # latest week seen in the window
    return share


def benefit_years_effect(enrollments: pd.DataFrame, status: pd.DataFrame, benefits, *, weeks=None,
                         confidence_level: float = 0.95) -> dict | None:
    """The measured effect on helårspersoner: Δ (treatment − control) helårspersoner per treated citizen-year.

    The difference in means of :func:`benefit_year_shares` between the arms, with
    its Neyman standard error and Welch interval
    (:func:`trial.estimate.difference_in_means`), as an effect for
    :func:`trial.business_case.effect_fed_case` (key ``"benefit_years"``).

    Parameters
    ----------
    enrollments : DataFrame
        ``pseudonym``, ``treatment`` (1/0) of the randomized citizens.
    status : DataFrame
        The weekly panel ``pseudonym, week, status``.
    benefits : sequence of str
        The statuses priced (e.g. the forsørgelse benefits, without fleksjob,
        whose subsidy the case prices on its own line).
    weeks : (int, int), optional
        Follow-up weeks the effect is measured in (BI25: ``(105, 156)``, the
        third year, when the case counts the full effect).
    confidence_level : float

    Returns
    -------
    dict or None
        ``estimate, std_error, ci_low, ci_high, n_treatment, n_control,
        measured=True, weeks, last_week_observed`` (the latest follow-up week
        seen in the window); ``None`` when fewer than 2 citizens of an arm
        have an observed week in the window (not measurable yet).

    Examples
    --------
    >>> enr = pd.DataFrame({"pseudonym": list("abcd"), "treatment": [1, 1, 0, 0]})
    >>> st = pd.DataFrame({"pseudonym": list("aabbccdd"), "week": [1, 2] * 4,
    ...                    "status": ["job", "rfy", "job", "job", "rfy", "rfy", "rfy", "job"]})
    >>> benefit_years_effect(enr, st, ["rfy"])["estimate"]
    -0.5
    """
    for c in ("pseudonym", "treatment"):
        if c not in enrollments.columns:
            raise BusinessCaseError("enrollments", f"must have a `{c}` column")
    if not list(benefits):
        raise BusinessCaseError("benefits", "must name at least one benefit status")
    st = status[status["pseudonym"].isin(enrollments["pseudonym"])]
    return _effect_of_shares(enrollments, benefit_year_shares(st, benefits, weeks=weeks), weeks,
                             confidence_level)


def _effect_of_shares(enrollments, share: pd.Series, weeks, confidence_level: float = 0.95) -> dict | None:
    """:func:`benefit_years_effect` from the per-citizen shares (difference in means, Neyman SE)."""
    from ..estimate import difference_in_means

    arm = enrollments.set_index("pseudonym")["treatment"].astype(int)
    d = pd.DataFrame({"y": share.to_numpy(float), "t": arm.reindex(share.index).to_numpy()})
    n_t, n_c = int((d.t == 1).sum()), int((d.t == 0).sum())
    if n_t < 2 or n_c < 2:
        return None
    r = difference_in_means(d, outcome="y", treatment="t", confidence_level=confidence_level)
    if not (np.isfinite(r.estimate) and np.isfinite(r.std_error) and r.std_error > 0):
        return None
    return {"estimate": float(r.estimate), "std_error": float(r.std_error), "ci_low": float(r.ci_low),
            "ci_high": float(r.ci_high), "n_treatment": n_t, "n_control": n_c, "measured": True,
            "weeks": None if weeks is None else [int(weeks[0]), int(weeks[1])],
            "last_week_observed": int(share.attrs["last_week"])}


def add_benefit_years(effects, frames, case):
    """``effects`` with the measured ``"benefit_years"`` effects the chosen lines of ``case`` ask for.

    Parameters
    ----------
    effects : mapping
        Effects as from :func:`trial.business_case.effects_from_analysis`.
    frames : mapping
        :func:`trial.analysis.register_frames` output (``enrollments``, ``status``).
    case : Case
        With its variants chosen (:meth:`Case.with_variants`); each line with
        ``endpoint = "benefit_years"`` (or ``"benefit_years:<name>"``) gives
        its ``benefits`` and ``weeks``.

    Returns
    -------
    (effects, notes)
        A new mapping (a :class:`MeasuredEffects` keeps its analysis, with the
        per-citizen shares added as a column and a difference-in-means row,
        so the effect is drawn jointly with the endpoints measured on the same
        citizens) and notes on effects that could not be measured yet (their
        lines keep the assumed effect).
    """
    import dataclasses

    from ._effect import MeasuredEffects

    lines = [d for d in case.drivers if (d.endpoint or "").startswith("benefit_years")]
    analysis = getattr(effects, "analysis", None)
    out = dict(effects)
    notes = []
    data = table = None
    if analysis is not None and getattr(analysis, "data", None) is not None \
            and "pseudonym" in analysis.data.columns:
        data, table = analysis.data.copy(), analysis.table
    st = frames["status"]
    st = st[st["pseudonym"].isin(frames["enrollments"]["pseudonym"])]
    for d in lines:
        share = benefit_year_shares(st, d.benefits, weeks=d.weeks)
        eff = _effect_of_shares(frames["enrollments"], share, d.weeks)
        if eff is None:
            w = f" in follow-up weeks {d.weeks[0]}-{d.weeks[1]}" if d.weeks else ""
            notes.append(f"{d.endpoint}: fewer than 2 citizens of an arm are observed{w} yet, so the line "
                         f"{d.line!r} keeps the assumed effect (antaget)")
            continue
        out[d.endpoint] = eff
        if d.weeks and eff["last_week_observed"] < d.weeks[1]:
            notes.append(f"{d.endpoint}: measured on follow-up weeks {d.weeks[0]}-{eff['last_week_observed']} of "
                         f"{d.weeks[0]}-{d.weeks[1]} so far (no citizen is further yet)")
        if data is None:
            continue
        data[d.endpoint] = data["pseudonym"].map(share).astype(float)
        row = {c: np.nan for c in table.columns}
        row.update({"endpoint": d.endpoint, "estimator": "difference_in_means", "estimate": eff["estimate"],
                    "std_error": eff["std_error"]})
        for k in ("ci_low", "ci_high"):
            if k in row:
                row[k] = eff[k]
        table = pd.concat([table, pd.DataFrame([row])], ignore_index=True)
    if data is not None:
        analysis = dataclasses.replace(analysis, data=data, table=table)
    return MeasuredEffects(out, analysis=analysis), notes
