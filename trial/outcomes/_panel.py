"""Panel summaries: helårspersoner (weeks on a benefit / 52) and the share in given statuses per week."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .._results import Displayable
from ..exceptions import ParameterError
from ._common import WEEKS_PER_YEAR, _require


@dataclass(frozen=True, eq=False)
class Helaarspersoner(Displayable):
    """Helårspersoner (full-year persons on a benefit): weeks in ``statuses`` / 52.

    ``per_citizen``: ``pseudonym, weeks, helaarspersoner``; ``per_arm`` (when
    enrollments were given): ``arm, n_citizens, weeks, helaarspersoner,
    helaarspersoner_per_citizen``.
    """

    statuses: tuple[str, ...]
    weeks_range: tuple[int, int] | None
    per_citizen: pd.DataFrame = field(repr=False)
    per_arm: pd.DataFrame | None = field(repr=False, default=None)
    note: str | None = None

    def to_frame(self) -> pd.DataFrame:
        return (self.per_arm if self.per_arm is not None else self.per_citizen).copy()

    def summary(self) -> str:
        rng = f"weeks {self.weeks_range[0]}-{self.weeks_range[1]}" if self.weeks_range else "all weeks"
        lines = [f"Helårspersoner ({rng}; statuses {', '.join(self.statuses)})"]
        if self.per_arm is not None:
            for _, r in self.per_arm.iterrows():
                lines.append(f"  {r['arm']:<15} {r['n_citizens']:>6} citizens  {r['weeks']:>9.0f} weeks  "
                             f"{r['helaarspersoner']:>9.2f} helårspersoner  "
                             f"({r['helaarspersoner_per_citizen']:.3f} per citizen)")
        else:
            lines.append(f"  {len(self.per_citizen)} citizens, {self.per_citizen['helaarspersoner'].sum():.2f} "
                         "helårspersoner")
        if self.note:
            lines.append(f"  note: {self.note}")
        return "\n".join(lines)


def _in_statuses(col: pd.Series, statuses) -> np.ndarray:
    """Boolean mask of rows whose status is among ``statuses`` (fast path for categoricals)."""
    if isinstance(col.dtype, pd.CategoricalDtype):
        hit = np.array([str(c) in statuses for c in col.cat.categories] + [False])
        return hit[col.cat.codes.to_numpy()]
    return col.isin(list(statuses)).to_numpy()


def _check_status_frame(status) -> pd.DataFrame:
    return _require(status, "status", ("pseudonym", "week", "status"))


def _check_statuses_arg(statuses) -> tuple[str, ...]:
    statuses = (statuses,) if isinstance(statuses, str) else tuple(statuses or ())
    if not statuses or not all(isinstance(s, str) and s for s in statuses):
        raise ParameterError("statuses", f"must be a non-empty list of status names; got {statuses!r}")
    return statuses


def helaarspersoner(status, statuses, enrollments=None, *, weeks: tuple[int, int] | None = None) -> Helaarspersoner:
    """Helårspersoner per citizen (and per arm): weeks in ``statuses`` / 52.

    Parameters
    ----------
    status : DataFrame
        Weekly panel ``pseudonym, week, status``.
    statuses : sequence of str
        The statuses that count as "on a benefit" (``protocol.benefit_statuses``).
    enrollments : DataFrame, optional
        ``pseudonym, arm``: adds the per-arm totals, and citizens without a
        panel row count with 0 weeks.
    weeks : (first, last), optional
        Count only weeks ``first..last`` (e.g. ``(1, 52)`` for the first year).

    Notes
    -----
    One helårsperson = 52 weeks on a benefit, however many people share them
    (the Odense and SØM convention). Per arm the helårspersoner are summed and
    also given per citizen randomized.

    Examples
    --------
    >>> st = pd.DataFrame({"pseudonym": ["a"] * 104, "week": range(1, 105),
    ...                    "status": ["kontanthjaelp"] * 78 + ["ordinaer_beskaeftigelse"] * 26})
    >>> helaarspersoner(st, ["kontanthjaelp"]).per_citizen["helaarspersoner"].tolist()
    [1.5]
    """
    st = _check_status_frame(status)
    statuses = _check_statuses_arg(statuses)
    wk = pd.to_numeric(st["week"], errors="coerce")
    if weeks is not None:
        if (len(weeks) != 2 or not all(isinstance(w, (int, np.integer)) and not isinstance(w, bool) for w in weeks)
                or weeks[0] < 1 or weeks[1] < weeks[0]):
            raise ParameterError("weeks", f"must be (first, last) whole weeks with 1 <= first <= last; got {weeks!r}")
        inrange = ((wk >= weeks[0]) & (wk <= weeks[1])).to_numpy()
    else:
        inrange = np.ones(len(st), dtype=bool)
    on = _in_statuses(st["status"], statuses) & inrange
    codes, uniq = pd.factorize(st["pseudonym"])
    counts = pd.Series(np.bincount(codes, weights=on, minlength=len(uniq)).astype("int64"),
                       index=pd.Index(uniq).astype(str))
    note = None
    if enrollments is not None:
        enr = _require(enrollments, "enrollments", ("pseudonym", "arm"))
        ids = enr["pseudonym"].astype(str)
        counts = counts.reindex(ids.to_numpy(), fill_value=0)
        outside = int((~st["pseudonym"].astype(str).isin(ids)).sum())
        if outside:
            note = f"{outside} panel rows for citizens not enrolled were not counted"
    per = pd.DataFrame({"pseudonym": counts.index.astype(str), "weeks": counts.to_numpy().astype("int64")})
    per["helaarspersoner"] = per["weeks"] / WEEKS_PER_YEAR
    per_arm = None
    if enrollments is not None:
        per = per.assign(arm=enr["arm"].to_numpy())
        per_arm = (per.groupby("arm", sort=True, observed=True)
                   .agg(n_citizens=("pseudonym", "size"), weeks=("weeks", "sum")).reset_index())
        per_arm["helaarspersoner"] = per_arm["weeks"] / WEEKS_PER_YEAR
        per_arm["helaarspersoner_per_citizen"] = per_arm["helaarspersoner"] / per_arm["n_citizens"]
        per = per.drop(columns="arm")
    return Helaarspersoner(statuses=statuses, weeks_range=tuple(weeks) if weeks else None, per_citizen=per,
                           per_arm=per_arm, note=note)


def share_by_week(status, enrollments, statuses) -> pd.DataFrame:
    """Share of citizens in ``statuses`` per week and arm (the report's "share self-supporting by week").

    Parameters
    ----------
    status : DataFrame
        Weekly panel ``pseudonym, week, status``.
    enrollments : DataFrame
        ``pseudonym, arm``.
    statuses : sequence of str
        E.g. ``protocol.self_supporting_statuses``.

    Returns
    -------
    DataFrame
        ``week, arm, n`` (citizens with a status that week), ``n_in_status, share``.
        Rows of citizens not enrolled are not counted.

    Examples
    --------
    >>> st = pd.DataFrame({"pseudonym": ["a", "b", "a", "b"], "week": [1, 1, 2, 2],
    ...                    "status": ["andet", "uddannelse", "uddannelse", "uddannelse"]})
    >>> enr = pd.DataFrame({"pseudonym": ["a", "b"], "arm": ["kontrolgruppe"] * 2})
    >>> share_by_week(st, enr, ["uddannelse"])["share"].tolist()
    [0.5, 1.0]
    """
    st = _check_status_frame(status)
    enr = _require(enrollments, "enrollments", ("pseudonym", "arm"))
    statuses = _check_statuses_arg(statuses)
    arm = pd.Series(enr["arm"].astype(str).to_numpy(), index=enr["pseudonym"].astype(str).to_numpy())
    a = arm.reindex(st["pseudonym"].astype(str).to_numpy()).to_numpy()
    keep = pd.notna(a)
    df = pd.DataFrame({"week": pd.to_numeric(st["week"]).to_numpy()[keep].astype("int64"), "arm": a[keep],
                       "on": _in_statuses(st["status"], statuses)[keep]})
    out = (df.groupby(["week", "arm"], sort=True).agg(n=("on", "size"), n_in_status=("on", "sum"))
           .reset_index())
    out["n_in_status"] = out["n_in_status"].astype("int64")
    out["share"] = out["n_in_status"] / out["n"]
    return out
