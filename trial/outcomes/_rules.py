"""Endpoint rules (vectorised kernels and public functions) and :func:`derive` (private module).

Every rule reads the shared follow-up context (:mod:`._followup`) and returns
one row per enrolled citizen; :func:`derive` applies the protocol's rules and
returns an :class:`Outcomes`.
"""
from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from typing import Iterable, Sequence

import numpy as np
import pandas as pd

from .._results import Displayable
from ..exceptions import ParameterError, TrialError
from ._common import (_BIG, DAYS_PER_YEAR, LONG_COLUMNS, NO_BASELINE, NOT_ANSWERED,
                      NOT_YET_OBSERVED, _frame_problem)
from ._followup import _build_context, _Context


def _rows(ctx: _Context, value, *, time_weeks=None, event=None, exposure=None, reason=None) -> pd.DataFrame:
    n = ctx.n
    value = np.asarray(value, dtype="float64")
    if reason is None:
        reason = np.full(n, None, dtype=object)
    reason = np.where(np.isnan(value), reason, None)
    # a NaN value always says why
    reason = np.where(np.isnan(value) & pd.isna(reason), NOT_YET_OBSERVED, reason)
    nan = np.full(n, np.nan)
    return pd.DataFrame({
        "pseudonym": ctx.pseudonyms.to_numpy(),
        "value": value,
        "time_weeks": nan if time_weeks is None else np.asarray(time_weeks, dtype="float64"),
        "event": nan if event is None else np.asarray(event, dtype="float64"),
        "exposure_years": nan if exposure is None else np.asarray(exposure, dtype="float64"),
        "missing_reason": pd.array(reason, dtype="string"),
    })


def _status_window(ctx: _Context, horizon: int) -> np.ndarray:
    if ctx.matrix is None:
        raise TrialError("a status rule needs the weekly status panel (`status`); none was given")
    if ctx.matrix.shape[1] < horizon:
        raise TrialError(f"internal: status matrix has {ctx.matrix.shape[1]} weeks, {horizon} needed")
    return np.minimum.reduce([ctx.cal_weeks, ctx.att_weeks, ctx.contig, np.full(ctx.n, horizon)]).clip(0)


def _in_status(ctx: _Context, statuses: Iterable[str], horizon: int) -> np.ndarray:
    codes = _status_codes(ctx, statuses)
    lut = np.zeros(len(ctx.statuses) + 1, dtype=bool)  # last entry: code -1 (no row)
    lut[codes] = True
    return lut[ctx.matrix[:, :horizon]]


def _status_codes(ctx: _Context, statuses: Iterable[str]) -> list[int]:
    statuses = [statuses] if isinstance(statuses, str) else list(statuses)
    bad = [s for s in statuses if s not in ctx.statuses]
    if bad or not statuses:
        raise ParameterError("statuses", f"must be a non-empty list among {', '.join(ctx.statuses)}; got {statuses!r}")
    return [ctx.statuses.index(s) for s in statuses]


def _check_horizon(horizon) -> int:
    if isinstance(horizon, bool) or not isinstance(horizon, (int, np.integer)) or horizon < 1:
        raise ParameterError("horizon_weeks", f"must be a whole number of weeks, at least 1; got {horizon!r}")
    return int(horizon)


def _k_status_at(ctx, statuses, horizon):
    win = _status_window(ctx, horizon)
    hit = _in_status(ctx, statuses, horizon)[:, horizon - 1]
    value = np.where(win >= horizon, hit.astype(float), np.nan)
    return _rows(ctx, value, time_weeks=win, reason=ctx.reason_incomplete(horizon, status=True))


def _windowed(ctx, statuses, horizon):
    win = _status_window(ctx, horizon)
    inwin = _in_status(ctx, statuses, horizon) & (np.arange(horizon)[None, :] < win[:, None])
    return win, inwin


def _cut_short(ctx, horizon) -> np.ndarray:
    """Follow-up cut short administratively: the data date comes before week ``horizon`` ends
    and no attrition before the horizon is known (bool per citizen).

    Such a citizen's "ever by week H" value is not yet known *whether or not* the event has
    happened: counting the early events as 1 and leaving the rest missing would keep only
    the citizens with an event among the complete cases (a share of 100 % in both arms).
    """
    h_days = 7 * horizon
    return (ctx.cal_days < h_days) & (ctx.att_days >= h_days)


def _k_ever_status(ctx, statuses, horizon):
    win, inwin = _windowed(ctx, statuses, horizon)
    hit = inwin.any(axis=1) & ~_cut_short(ctx, horizon)
    value = np.where(hit, 1.0, np.where(win >= horizon, 0.0, np.nan))
    return _rows(ctx, value, time_weeks=win, reason=ctx.reason_incomplete(horizon, status=True))


def _k_weeks_in_status(ctx, statuses, horizon):
    win, inwin = _windowed(ctx, statuses, horizon)
    weeks = inwin.sum(axis=1)
    value = np.where(win >= horizon, weeks.astype(float), np.nan)
    return _rows(ctx, value, time_weeks=win, reason=ctx.reason_incomplete(horizon, status=True))


def _k_time_to_status(ctx, statuses, horizon):
    win, inwin = _windowed(ctx, statuses, horizon)
    hit = inwin.any(axis=1)
    first = inwin.argmax(axis=1) + 1
    time = np.where(hit, first, win).astype(float)
    event = hit.astype(float)
    value = np.where(hit | (win > 0), time, np.nan)
    return _rows(ctx, value, time_weeks=np.where(np.isnan(value), np.nan, time),
                 event=np.where(np.isnan(value), np.nan, event),
                 reason=ctx.reason_incomplete(1, status=True))


def _event_window(ctx, horizon):
    """Observed days of the window [0, 7H): min(calendar, attrition, 7H)."""
    return np.minimum.reduce([ctx.cal_days, ctx.att_days, np.full(ctx.n, 7 * horizon, dtype="int64")]).clip(0)


def _check_events(ctx, events) -> list[str]:
    if ctx.events is None:
        raise TrialError("an event rule needs the events frame (`events`); none was given")
    events = [events] if isinstance(events, str) else list(events)
    if not events:
        raise ParameterError("events", "must name at least one event type; got none")
    return events


def _k_event_any(ctx, events, horizon):
    events = _check_events(ctx, events)
    win = _event_window(ctx, horizon)
    ev = ctx.events
    idx = ev["idx"].to_numpy()
    start = ev["start"].to_numpy()
    sel = ev["event"].isin(events).to_numpy() & (start >= 0) & (start < win[idx])
    hit = np.zeros(ctx.n, dtype=bool)
    hit[idx[sel]] = True
    hit &= ~_cut_short(ctx, horizon)
    unknown = ctx.no_follow_up
    complete = (ctx.cal_days >= 7 * horizon) & (ctx.att_days >= 7 * horizon) & ~unknown
    value = np.where(hit, 1.0, np.where(complete, 0.0, np.nan))
    return _rows(ctx, value, time_weeks=win / 7, reason=ctx.reason_incomplete(horizon, unknown=unknown))


def _k_event_rate(ctx, events, horizon, measure):
    events = _check_events(ctx, events)
    if measure not in ("count", "days"):
        raise ParameterError("measure", f"must be 'count' or 'days'; got {measure!r}")
    win = _event_window(ctx, horizon)
    ev = ctx.events
    ev = ev[ev["event"].isin(events).to_numpy()]
    idx = ev["idx"].to_numpy()
    start = ev["start"].to_numpy()
    w = win[idx]
    if measure == "count":
        sel = (start >= 0) & (start < w)
        total = np.bincount(idx[sel], minlength=ctx.n).astype(float)
    else:
        end = ev["end"].to_numpy()
        end = np.where(ev["open"].to_numpy(), w, end)  # open spell: runs to the end of the window
        days = (np.minimum(end, w) - np.maximum(start, 0)).clip(0)
        total = np.bincount(idx, weights=days, minlength=ctx.n).astype(float)
    unknown = ctx.no_follow_up
    exposure = np.where(unknown, np.nan, win / DAYS_PER_YEAR)
    with np.errstate(invalid="ignore", divide="ignore"):
        value = np.where((win > 0) & ~unknown, total / exposure, np.nan)
    return _rows(ctx, value, time_weeks=win / 7, exposure=exposure,
                 reason=ctx.reason_incomplete(1, unknown=unknown))


def _k_survey_change(ctx, item, wave, horizon):
    if ctx.survey is None:
        raise TrialError("a survey rule needs the survey frame (`survey`); none was given")
    s = ctx.survey
    if item not in s.columns:
        raise _frame_problem("survey", item, f"column is required for item {item!r}")
    vals = pd.to_numeric(s[item], errors="coerce").to_numpy(dtype="float64")
    waves = pd.to_numeric(s["wave"], errors="coerce").to_numpy()
    idx = s["idx"].to_numpy()
    base = np.full(ctx.n, np.nan)
    follow = np.full(ctx.n, np.nan)
    m0 = waves == 0
    base[idx[m0]] = vals[m0]
    mw = waves == wave
    follow[idx[mw]] = vals[mw]
    value = follow - base
    reason = ctx.reason_incomplete(horizon, default=NOT_ANSWERED)
    reason = np.where(np.isnan(follow), reason, NO_BASELINE)
    win = np.minimum.reduce([ctx.cal_days, ctx.att_days, np.full(ctx.n, 7 * horizon, dtype="int64")]).clip(0)
    return _rows(ctx, value, time_weeks=win / 7, reason=reason)


# --------------------------------------------------------------------------- public rule functions
def _ctx_for(enrollments, *, status=None, events=None, survey=None, as_of=None, statuses=None,
             attrition_events=None, weeks_needed=0):
    if statuses is None and status is not None:
        col = status["status"] if isinstance(status, pd.DataFrame) and "status" in status.columns else None
        if col is not None and isinstance(col.dtype, pd.CategoricalDtype):
            statuses = tuple(str(c) for c in col.cat.categories)
        elif col is not None:
            statuses = tuple(sorted(col.dropna().astype(str).unique()))
    return _build_context(None, enrollments, status, events, survey, as_of=as_of, statuses=statuses,
                          attrition_events=attrition_events, weeks_needed=weeks_needed)


_RULE_DOC = """
    Parameters
    ----------
    enrollments : DataFrame
        One row per randomized citizen: ``pseudonym``, ``referral_date`` (and
        ``status``, ``withdrawn_at`` when the register records a withdrawal).
    {data}
    as_of : date or str, optional
        The date the data are taken as of; default the latest date in the data.
    attrition_events : sequence of str, optional
        Event types that end follow-up; default ``("moved_away", "died", "withdrawn")``.

    Returns
    -------
    DataFrame
        One row per enrolled citizen: ``pseudonym, value, time_weeks, event,
        exposure_years, missing_reason``.
"""


def status_at(enrollments, status, *, statuses, horizon_weeks, events=None, as_of=None,
              attrition_events=None, status_codes=None) -> pd.DataFrame:
    """1 if the citizen's status in week ``horizon_weeks`` is among ``statuses``, else 0.

    Missing (NaN) when week ``horizon_weeks`` is not observed: attrition, not yet
    reached as of ``as_of``, or absent from the panel.
    """
    h = _check_horizon(horizon_weeks)
    ctx = _ctx_for(enrollments, status=status, events=events, as_of=as_of, statuses=status_codes,
                   attrition_events=attrition_events, weeks_needed=h)
    return _k_status_at(ctx, statuses, h)


def ever_status(enrollments, status, *, statuses, horizon_weeks, events=None, as_of=None,
                attrition_events=None, status_codes=None) -> pd.DataFrame:
    """1 if any observed week 1..``horizon_weeks`` is among ``statuses``; 0 if none and fully observed.

    Missing ("not yet observed") while the data date comes before week ``horizon_weeks``,
    whether or not such a week has been seen yet; a week seen before attrition (moved
    away, died, withdrawn) or a panel gap still gives 1.
    """
    h = _check_horizon(horizon_weeks)
    ctx = _ctx_for(enrollments, status=status, events=events, as_of=as_of, statuses=status_codes,
                   attrition_events=attrition_events, weeks_needed=h)
    return _k_ever_status(ctx, statuses, h)


def weeks_in_status(enrollments, status, *, statuses, horizon_weeks, events=None, as_of=None,
                    attrition_events=None, status_codes=None) -> pd.DataFrame:
    """Number of weeks 1..``horizon_weeks`` among ``statuses`` (missing unless fully observed)."""
    h = _check_horizon(horizon_weeks)
    ctx = _ctx_for(enrollments, status=status, events=events, as_of=as_of, statuses=status_codes,
                   attrition_events=attrition_events, weeks_needed=h)
    return _k_weeks_in_status(ctx, statuses, h)


def time_to_status(enrollments, status, *, statuses, horizon_weeks, events=None, as_of=None,
                   attrition_events=None, status_codes=None) -> pd.DataFrame:
    """First week among ``statuses`` (``event`` 1), else censored at the last observed week (``event`` 0).

    ``value`` and ``time_weeks`` hold the week; missing only with no observed week at all.
    """
    h = _check_horizon(horizon_weeks)
    ctx = _ctx_for(enrollments, status=status, events=events, as_of=as_of, statuses=status_codes,
                   attrition_events=attrition_events, weeks_needed=h)
    return _k_time_to_status(ctx, statuses, h)


def event_any(enrollments, events, *, event_types, horizon_weeks, as_of=None,
              attrition_events=None, status=None) -> pd.DataFrame:
    """1 if an event of ``event_types`` starts within ``horizon_weeks`` weeks of referral, else 0.

    An event observed before attrition gives 1; no event with incomplete follow-up is missing.
    While the data date comes before the horizon the value is missing ("not yet observed")
    whether or not an event has happened: otherwise only citizens with an event would be
    complete cases.
    With ``status`` (the weekly panel), a citizen absent from the panel has no
    follow-up information: no event is then missing ("no follow-up"), not 0.
    """
    h = _check_horizon(horizon_weeks)
    ctx = _ctx_for(enrollments, status=status, events=events, as_of=as_of, attrition_events=attrition_events)
    return _k_event_any(ctx, event_types, h)


def event_rate(enrollments, events, *, event_types, horizon_weeks, measure="count", as_of=None,
               attrition_events=None, status=None) -> pd.DataFrame:
    """Events (``measure='count'``) or days in a spell (``'days'``) per person-year of follow-up.

    ``exposure_years`` = observed days of the window ``[0, 7 * horizon_weeks)`` / 365.25;
    ``value`` = total / exposure_years, defined for any follow-up above 0 days. With
    ``status`` (the weekly panel), a citizen absent from the panel has no
    follow-up information: value and exposure are missing ("no follow-up").
    """
    h = _check_horizon(horizon_weeks)
    ctx = _ctx_for(enrollments, status=status, events=events, as_of=as_of, attrition_events=attrition_events)
    return _k_event_rate(ctx, event_types, h, measure)


def survey_change(enrollments, survey, *, item, wave, horizon_weeks, events=None, as_of=None,
                  attrition_events=None) -> pd.DataFrame:
    """``item`` at wave ``wave`` minus its baseline (wave 0) value."""
    h = _check_horizon(horizon_weeks)
    ctx = _ctx_for(enrollments, events=events, survey=survey, as_of=as_of, attrition_events=attrition_events)
    return _k_survey_change(ctx, item, wave, h)


for _f, _data in [
    (status_at, "status : DataFrame\n        Weekly panel ``pseudonym, week, status``.\n    statuses : list of str\n"
                "        The statuses that count.\n    horizon_weeks : int\n        The week the status is read."),
    (ever_status, "status : DataFrame\n        Weekly panel.\n    statuses : list of str\n    horizon_weeks : int"),
    (weeks_in_status, "status : DataFrame\n        Weekly panel.\n    statuses : list of str\n    horizon_weeks : int"),
    (time_to_status, "status : DataFrame\n        Weekly panel.\n    statuses : list of str\n    horizon_weeks : int"),
    (event_any, "events : DataFrame\n        ``pseudonym, event, start_date, end_date``.\n"
                "    event_types : list of str\n    horizon_weeks : int\n"
                "    status : DataFrame, optional\n        Weekly panel: who was followed at all."),
    (event_rate, "events : DataFrame\n        ``pseudonym, event, start_date, end_date``.\n"
                 "    event_types : list of str\n    horizon_weeks : int\n    measure : {'count', 'days'}\n"
                 "    status : DataFrame, optional\n        Weekly panel: who was followed at all."),
    (survey_change, "survey : DataFrame\n        ``pseudonym, wave, date`` and the item columns.\n"
                    "    item : str\n    wave : int\n    horizon_weeks : int\n        Weeks of the wave "
                    "(decides 'not yet observed')."),
]:
    _f.__doc__ = (_f.__doc__ or "") + _RULE_DOC.format(data=_data)


# --------------------------------------------------------------------------- derive
@dataclass(frozen=True, eq=False)
class Outcomes(Displayable):
    """Endpoints per citizen, derived by the protocol's rules as of a date.

    Attributes
    ----------
    long : DataFrame
        ``pseudonym, endpoint, value, time_weeks, event, exposure_years,
        missing_reason``: one row per enrolled citizen per endpoint.
    followup : DataFrame
        One row per citizen: ``pseudonym, arm, treatment, referral_date,
        followup_weeks`` (calendar, whole weeks), ``attrition`` (reason or
        missing), ``attrition_week``.
    as_of : date
        The date the data are taken as of.
    protocol_fingerprint : str
    endpoints : tuple of str
        Endpoint ids in protocol order.
    endpoint_types : dict
        Endpoint id -> type.
    unmatched : dict
        Rows in each input frame for pseudonyms that are not enrolled (not used).
    """

    long: pd.DataFrame = field(repr=False)
    followup: pd.DataFrame = field(repr=False)
    as_of: _dt.date
    protocol_fingerprint: str | None
    endpoints: tuple[str, ...]
    endpoint_types: dict = field(repr=False)
    unmatched: dict = field(default_factory=dict)
    note: str | None = None

    def wide(self) -> pd.DataFrame:
        """One row per citizen, one column per endpoint value (plus ``<id>_event`` for
        time-to-event and ``<id>_exposure_years`` for rates), with ``arm`` and ``treatment``.
        """
        lg = self.long
        vals = lg.pivot(index="pseudonym", columns="endpoint", values="value")
        cols = {}
        for e in self.endpoints:
            cols[e] = vals[e] if e in vals.columns else np.nan
            t = self.endpoint_types.get(e)
            if t == "time_to_event":
                cols[f"{e}_event"] = lg[lg["endpoint"] == e].set_index("pseudonym")["event"]
            elif t == "count" and lg.loc[lg["endpoint"] == e, "exposure_years"].notna().any():
                cols[f"{e}_exposure_years"] = lg[lg["endpoint"] == e].set_index("pseudonym")["exposure_years"]
        out = pd.DataFrame(cols)
        base = self.followup.set_index("pseudonym")
        keep = [c for c in ("arm", "treatment") if c in base.columns]
        out = base[keep].join(out)
        out.columns.name = None
        return out.reset_index()

    def to_frame(self) -> pd.DataFrame:
        """The long frame (a copy)."""
        return self.long.copy()

    def describe(self) -> pd.DataFrame:
        """Per endpoint and arm: citizens, values observed, mean, and missing by reason."""
        lg = self.long.merge(self.followup[["pseudonym", "arm"]], on="pseudonym", how="left")
        g = lg.groupby(["endpoint", "arm"], sort=False, observed=True)
        d = g.agg(n=("pseudonym", "size"), n_observed=("value", "count"), mean=("value", "mean"))
        miss = (lg[lg["missing_reason"].notna()]
                .groupby(["endpoint", "arm", "missing_reason"], observed=True).size()
                .unstack("missing_reason", fill_value=0))
        d = d.join(miss, how="left").fillna({c: 0 for c in miss.columns})
        for c in miss.columns:
            d[c] = d[c].astype("int64")
        order = {e: i for i, e in enumerate(self.endpoints)}
        d = d.reset_index()
        d = d.sort_values(["endpoint", "arm"], key=lambda s: s.map(order) if s.name == "endpoint" else s)
        return d.reset_index(drop=True)

    def summary(self) -> str:
        d = self.describe()
        lines = [f"Outcomes as of {self.as_of}: {self.followup.shape[0]} citizens, {len(self.endpoints)} endpoints"]
        reasons = [c for c in d.columns if c not in ("endpoint", "arm", "n", "n_observed", "mean")]
        for _, r in d.iterrows():
            miss = ", ".join(f"{c} {r[c]}" for c in reasons if r[c])
            lines.append(f"  {r['endpoint']:<28} {str(r['arm']):<15} n {r['n']:>5}  observed {r['n_observed']:>5}"
                         f"  mean {r['mean']:>9.4g}" + (f"  missing: {miss}" if miss else ""))
        if any(self.unmatched.values()):
            lines.append("  rows for citizens not enrolled (not used): "
                         + ", ".join(f"{k} {v}" for k, v in self.unmatched.items() if v))
        if self.note:
            lines.append(f"  note: {self.note}")
        return "\n".join(lines)


def derive(protocol, enrollments, status=None, events=None, survey=None, *, as_of=None,
           endpoints: Sequence[str] | None = None) -> Outcomes:
    """Derive every endpoint of ``protocol`` for every enrolled citizen.

    Parameters
    ----------
    protocol : Protocol
        The pre-registered protocol (endpoint rules, statuses, attrition events).
    enrollments : DataFrame
        From ``register.enrollments()``: ``pseudonym, referral_date, arm,
        treatment`` (and ``status``).
    status, events, survey : DataFrame, optional
        The frames after intake; a frame a rule needs must be given.
    as_of : date or str, optional
        Data as of this date (later rows are ignored); default the latest date in the data.
    endpoints : sequence of str, optional
        Derive only these endpoint ids (default all, in protocol order).

    Returns
    -------
    Outcomes

    Notes
    -----
    Vectorised: the status panel becomes one ``(citizens, weeks)`` int8
    matrix, events become day offsets from referral, and every rule is a
    handful of array operations (see the module docstring for the rules and
    the follow-up definition).

    Examples
    --------
    >>> import pandas as pd
    >>> from trial.protocol import load
    >>> p = load()
    >>> enr = pd.DataFrame({"pseudonym": ["a"], "referral_date": [pd.Timestamp("2017-01-02")],
    ...                     "arm": ["kontrolgruppe"], "treatment": [0]})
    >>> st = pd.DataFrame({"pseudonym": "a", "week": range(1, 157), "status": "fleksjob"})
    >>> ev = pd.DataFrame(columns=["pseudonym", "event", "start_date", "end_date"])
    >>> out = derive(p, enr, st, ev, as_of="2020-01-01", endpoints=["fleksjob", "time_to_work"])
    >>> out.wide()[["fleksjob", "time_to_work", "time_to_work_event"]].to_numpy().tolist()
    [[1.0, 1.0, 1.0]]
    """
    if protocol is None:
        raise ParameterError("protocol", "is required (a Protocol from trial.protocol.load)")
    eps = protocol.endpoints
    if endpoints is not None:
        wanted = [endpoints] if isinstance(endpoints, str) else list(endpoints)
        ids = [e.id for e in eps]
        bad = [e for e in wanted if e not in ids]
        if bad:
            raise ParameterError("endpoints", f"must be among {', '.join(ids)}; got {bad[0]!r}")
        eps = tuple(e for e in eps if e.id in wanted)
    needs_status = [e for e in eps if e.rule in ("status_at", "ever_status", "weeks_in_status", "time_to_status")]
    needs_events = [e for e in eps if e.rule in ("event_any", "event_rate")]
    needs_survey = [e for e in eps if e.rule == "survey_change"]
    for need, frame, name in ((needs_status, status, "status"), (needs_events, events, "events"),
                              (needs_survey, survey, "survey")):
        if need and frame is None:
            raise ParameterError(name, f"is required: endpoint {need[0].id!r} (rule {need[0].rule!r}) is derived "
                             f"from it")
    width = max([e.horizon_weeks for e in needs_status], default=0)
    # the panel also tells event rules who was followed at all (a citizen absent from it: "no follow-up")
    ctx = _build_context(protocol, enrollments, status if (needs_status or needs_events) else None, events,
                         survey if needs_survey else None, as_of=as_of, weeks_needed=width)
    parts = []
    for e in eps:
        if e.rule == "status_at":
            df = _k_status_at(ctx, e.statuses, e.horizon_weeks)
        elif e.rule == "ever_status":
            df = _k_ever_status(ctx, e.statuses, e.horizon_weeks)
        elif e.rule == "weeks_in_status":
            df = _k_weeks_in_status(ctx, e.statuses, e.horizon_weeks)
        elif e.rule == "time_to_status":
            df = _k_time_to_status(ctx, e.statuses, e.horizon_weeks)
        elif e.rule == "event_any":
            df = _k_event_any(ctx, e.events, e.horizon_weeks)
        elif e.rule == "event_rate":
            df = _k_event_rate(ctx, e.events, e.horizon_weeks, e.measure)
        elif e.rule == "survey_change":
            df = _k_survey_change(ctx, e.item, e.wave, e.horizon_weeks)
        else:  # pragma: no cover - the protocol validates rules
            raise TrialError(f"unknown rule {e.rule!r}")
        df.insert(1, "endpoint", e.id)
        parts.append(df)
    long = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=list(LONG_COLUMNS))
    long["endpoint"] = long["endpoint"].astype("string")
    long["pseudonym"] = long["pseudonym"].astype("string")
    enr = enrollments
    has_att = ctx.att_days < _BIG
    followup = pd.DataFrame({
        "pseudonym": ctx.pseudonyms.to_numpy(),
        "arm": enr["arm"].to_numpy() if "arm" in enr.columns else None,
        "treatment": enr["treatment"].to_numpy() if "treatment" in enr.columns else None,
        "referral_date": pd.to_datetime(enr["referral_date"]).to_numpy(),
        "followup_weeks": ctx.cal_weeks,
        "attrition": pd.array(np.where(has_att, ctx.att_reason, None), dtype="string"),
        "attrition_week": np.where(has_att, ctx.att_days // 7 + 1, np.nan),
    })
    return Outcomes(long=long, followup=followup, as_of=ctx.as_of, protocol_fingerprint=protocol.fingerprint,
                    endpoints=tuple(e.id for e in eps), endpoint_types={e.id: e.type for e in eps},
                    unmatched=dict(ctx.unmatched))


# --------------------------------------------------------------------------- so far (descriptive)
EVER_RULES = ("event_any", "ever_status")


def so_far(protocol, enrollments, status=None, events=None, *, as_of=None,
           endpoints: Sequence[str] | None = None) -> pd.DataFrame:
    """Per citizen, whether an "ever by week H" event has happened *so far* (descriptive only).

    Until citizens reach the horizon H, :func:`event_any` and :func:`ever_status`
    are missing ("not yet observed") whether or not the event has happened, so
    they cannot be estimated mid-trial. This gives the honest interim view
    instead: for each endpoint with rule ``event_any`` or ``ever_status``, did
    the event occur in ``[0, min(data date, attrition, 7H))``? It is *not* an
    estimate of the share by week H (follow-up differs between citizens) and
    must not feed the business case or the confirmatory analysis.

    Parameters
    ----------
    protocol : Protocol
    enrollments : DataFrame
        ``pseudonym, referral_date`` (``arm``, ``treatment``, withdrawal columns).
    status, events : DataFrame, optional
        The weekly panel and the events (each needed by the rules that read it).
    as_of : date or str, optional
        The data date; default the latest date in the data.
    endpoints : sequence of str, optional
        Only these endpoint ids (default every ``event_any`` / ``ever_status`` endpoint).

    Returns
    -------
    DataFrame
        ``pseudonym, endpoint, event_so_far`` (0/1; NaN when not followed at all),
        ``followup_weeks`` (calendar follow-up, capped at the horizon),
        ``lost`` (attrition before the data date and the horizon), ``complete``
        (followed to the horizon), plus ``arm`` and ``treatment`` when given.
    """
    if protocol is None:
        raise ParameterError("protocol", "is required (a Protocol from trial.protocol.load)")
    eps = [e for e in protocol.endpoints if e.rule in EVER_RULES]
    if endpoints is not None:
        wanted = [endpoints] if isinstance(endpoints, str) else list(endpoints)
        ok = [e.id for e in eps]
        bad = [w for w in wanted if w not in ok]
        if bad:
            raise ParameterError("endpoints", f"must be among the event_any/ever_status endpoints "
                                 f"{', '.join(ok)}; got {bad[0]!r}")
        eps = [e for e in eps if e.id in wanted]
    if any(e.rule == "ever_status" for e in eps) and status is None:
        raise ParameterError("status", "is required: an ever_status endpoint is derived from it")
    if any(e.rule == "event_any" for e in eps) and events is None:
        raise ParameterError("events", "is required: an event_any endpoint is derived from it")
    width = max([e.horizon_weeks for e in eps if e.rule == "ever_status"], default=0)
    ctx = _build_context(protocol, enrollments, status, events, None, as_of=as_of, weeks_needed=width)
    parts = []
    for e in eps:
        h_days = 7 * e.horizon_weeks
        if e.rule == "ever_status":
            _, inwin = _windowed(ctx, e.statuses, e.horizon_weeks)
            hit = inwin.any(axis=1)
            followed = ctx.contig > 0
        else:
            win = _event_window(ctx, e.horizon_weeks)
            ev = ctx.events
            idx = ev["idx"].to_numpy()
            start = ev["start"].to_numpy()
            sel = ev["event"].isin(e.events).to_numpy() & (start >= 0) & (start < win[idx])
            hit = np.zeros(ctx.n, dtype=bool)
            hit[idx[sel]] = True
            followed = ~ctx.no_follow_up
        lost = ctx.att_days < np.minimum(ctx.cal_days, h_days)
        parts.append(pd.DataFrame({
            "pseudonym": ctx.pseudonyms.to_numpy(), "endpoint": e.id,
            "event_so_far": np.where(followed | hit, hit.astype(float), np.nan),
            "followup_weeks": np.minimum(ctx.cal_days, h_days) / 7,
            "lost": lost, "complete": (ctx.cal_days >= h_days) & ~lost}))
    cols = ["pseudonym", "endpoint", "event_so_far", "followup_weeks", "lost", "complete"]
    out = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=cols)
    keep = [c for c in ("arm", "treatment") if c in enrollments.columns]
    if keep:
        base = enrollments[["pseudonym", *keep]].assign(pseudonym=lambda d: d["pseudonym"].astype(str))
        out = out.merge(base, on="pseudonym", how="left")
    return out
