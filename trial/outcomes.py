"""Endpoints per citizen from the weekly status panel, events and surveys.

The protocol's endpoint rules (``protocols/ressourceforloeb.toml``, section
``[[endpoints]]``) are applied to the frames after intake (see
``docs/contracts.md``), vectorised over citizens: no Python loop per citizen.

Follow-up, the one definition every rule shares
-----------------------------------------------
Week 1 is the first 7 days from the referral date (day 0 to day 6). For a
citizen with referral date ``r``, as of the date ``as_of``:

* *calendar follow-up*: ``cal_days = (as_of - r).days + 1`` days (data dated
  ``as_of`` is included); the whole weeks observed are ``cal_days // 7``;
* *attrition*: the earliest attrition event (``moved_away``, ``died``,
  ``withdrawn`` by the protocol's ``events.attrition``) dated on or before
  ``as_of``, or a withdrawal recorded in the register (enrollment ``status ==
  'withdrawn'``, dated by ``withdrawn_at``/``status_date`` when the register
  gives a date, otherwise from day 0: nothing after randomization is used).
  Follow-up ends the day before: ``att_days = (date - r).days`` days,
  ``att_days // 7`` whole weeks;
* an endpoint with horizon ``H`` weeks rests on the window
  ``min(cal, att, H)``; status rules also stop at the first week missing from
  the citizen's panel (a gap or a panel that ends early).

A value that cannot be known is NaN with a ``missing_reason``: the attrition
("moved away", "died", "withdrawn") when it came before the horizon, else "not
yet observed" when the horizon lies after ``as_of``, else "no status data" or
"not answered" / "no baseline answer" (surveys). Every enrolled citizen has a
row for every endpoint; rows of the exports for citizens not enrolled are not
part of the trial and are counted in :attr:`Outcomes.unmatched`.

Rules (``rule`` in the protocol)
--------------------------------
``status_at``        1 if the status in week ``H`` is among ``statuses``
``ever_status``      1 if any week 1..H is among ``statuses``; an observed week
                     gives 1 even when follow-up later stops
``weeks_in_status``  number of weeks 1..H among ``statuses`` (needs full follow-up)
``time_to_status``   first week among ``statuses``; censored at the last observed
                     week of the window (``event`` 0)
``event_any``        1 if an event of ``events`` starts in days ``[0, 7H)`` after
                     referral (and before attrition and ``as_of``)
``event_rate``       events (``measure = "count"``: events starting in the window;
                     ``"days"``: days of ``[start, end)`` inside the window, an
                     open spell running to the end of the window) per person-year
                     of exposure, ``exposure_years = window days / 365.25``;
                     defined for any follow-up above 0 days
``survey_change``    ``item`` at wave ``wave`` minus baseline (wave 0); answers
                     dated after ``as_of`` or on/after attrition are not used

:func:`helaarspersoner` (weeks on a benefit / 52) and :func:`share_by_week`
(share in given statuses per week and arm) feed the business case and the report.
"""
from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd

from .exceptions import IntakeError, ParameterError, Problem, TrialError
from ._results import Displayable

__all__ = [
    "Outcomes",
    "Helaarspersoner",
    "derive",
    "status_at",
    "ever_status",
    "weeks_in_status",
    "time_to_status",
    "event_any",
    "event_rate",
    "survey_change",
    "helaarspersoner",
    "share_by_week",
    "store",
    "load",
    "load_exports",
    "LoadResult",
    "register_enrollments",
    "LONG_COLUMNS",
    "DAYS_PER_YEAR",
    "WEEKS_PER_YEAR",
    "NOT_YET_OBSERVED",
    "NO_STATUS_DATA",
    "NOT_ANSWERED",
    "NO_BASELINE",
]

LONG_COLUMNS = ("pseudonym", "endpoint", "value", "time_weeks", "event", "exposure_years", "missing_reason")
DAYS_PER_YEAR = 365.25
WEEKS_PER_YEAR = 52
NOT_YET_OBSERVED = "not yet observed"
NO_STATUS_DATA = "no status data"
NOT_ANSWERED = "not answered"
NO_BASELINE = "no baseline answer"
NO_FOLLOW_UP = "no follow-up"
_DEFAULT_ATTRITION = ("moved_away", "died", "withdrawn")
_WITHDRAWN_DATE_COLUMNS = ("withdrawn_at", "withdrawal_date", "status_date", "status_changed_at")
_BIG = np.int64(2**40)  # "no limit" in days


def _reason_text(event: str) -> str:
    return str(event).replace("_", " ")


def _as_date(value: Any, name: str) -> _dt.date | None:
    if value is None:
        return None
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError):
        ts = pd.NaT
    if ts is pd.NaT or pd.isna(ts):
        raise ParameterError(name, f"must be a date written YYYY-MM-DD; got {value!r}")
    return ts.date()


def _frame_problem(frame: str, column: str | None, message: str) -> IntakeError:
    return IntakeError([Problem(file=f"{frame} frame", row=None, column=column, message=message)])


def _require(df: pd.DataFrame | None, frame: str, columns: Sequence[str]) -> pd.DataFrame:
    if df is None:
        return None
    if not isinstance(df, pd.DataFrame):
        raise ParameterError(frame, f"must be a pandas DataFrame; got {type(df).__name__}")
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise _frame_problem(frame, missing[0], f"column is required (needed: {', '.join(columns)}; "
                                                f"the frame has {', '.join(map(str, df.columns))})")
    return df


def _days(dates: pd.Series | np.ndarray) -> np.ndarray:
    """Dates -> int64 days since 1970-01-01 (NaT -> a large sentinel is *not* applied here)."""
    return pd.to_datetime(pd.Series(dates)).to_numpy(dtype="datetime64[D]").astype("int64")


# --------------------------------------------------------------------------- the shared context
@dataclass
class _Context:
    """Everything the rules share, computed once (arrays aligned with ``pseudonyms``)."""

    pseudonyms: pd.Index
    ref_day: np.ndarray          # referral date, days since epoch
    cal_days: np.ndarray         # calendar follow-up in days (as_of inclusive)
    att_days: np.ndarray         # days before attrition (_BIG when none)
    att_reason: np.ndarray       # object: reason text or None
    as_of: _dt.date
    statuses: tuple[str, ...]
    matrix: np.ndarray | None = None   # (n, W) int8 status codes, -1 = no row
    contig: np.ndarray | None = None   # weeks of panel from week 1 without a gap
    events: pd.DataFrame | None = None  # idx, event, start, end (relative days), open (no end yet)
    survey: pd.DataFrame | None = None  # idx, wave, day, items...
    unmatched: dict = field(default_factory=dict)

    @property
    def n(self) -> int:
        return len(self.pseudonyms)

    @property
    def cal_weeks(self) -> np.ndarray:
        return self.cal_days // 7

    @property
    def att_weeks(self) -> np.ndarray:
        return self.att_days // 7

    def reason_incomplete(self, horizon: int, *, status: bool = False, default: str | None = None) -> np.ndarray:
        """Why follow-up does not reach ``horizon`` weeks (object array; None where it does)."""
        h_days = 7 * horizon
        out = np.full(self.n, None, dtype=object)
        if status:
            out[self.contig < horizon] = NO_STATUS_DATA
        elif default is not None:
            out[:] = default
        out[self.cal_days < h_days] = NOT_YET_OBSERVED
        att = self.att_days < h_days
        out[att] = self.att_reason[att]
        return out


def _build_context(protocol, enrollments, status=None, events=None, survey=None, *, as_of=None,
                   statuses=None, attrition_events=None, weeks_needed: int = 0) -> _Context:
    enr = _require(enrollments, "enrollments", ("pseudonym", "referral_date"))
    if enr["pseudonym"].duplicated().any():
        dup = enr.loc[enr["pseudonym"].duplicated(), "pseudonym"].iloc[0]
        raise _frame_problem("enrollments", "pseudonym", f"each citizen must appear once; {dup!r} appears twice")
    if enr["referral_date"].isna().any():
        raise _frame_problem("enrollments", "referral_date", "must be a date for every enrolled citizen")
    pseud = pd.Index(enr["pseudonym"].astype(str).to_numpy(), name="pseudonym")
    ref_day = _days(enr["referral_date"])
    n = len(pseud)
    statuses = tuple(statuses if statuses is not None else (protocol.statuses if protocol else ()))
    attrition = tuple(attrition_events if attrition_events is not None
                      else (protocol.attrition_events if protocol else _DEFAULT_ATTRITION))
    st = _require(status, "status", ("pseudonym", "week", "status"))
    ev = _require(events, "events", ("pseudonym", "event", "start_date", "end_date"))
    sv = _require(survey, "survey", ("pseudonym", "wave", "date"))

    unmatched: dict[str, int] = {}

    # --- events (relative days) ------------------------------------------------
    ev_frame = None
    if ev is not None:
        idx = pseud.get_indexer(ev["pseudonym"].astype(str))
        keep = idx >= 0
        unmatched["events"] = int((~keep).sum())
        if ev["start_date"].isna().any():
            raise _frame_problem("events", "start_date", "must be a date on every row "
                                 f"({int(ev['start_date'].isna().sum())} rows have none)")
        idx = idx[keep]
        start = _days(ev["start_date"].to_numpy()[keep]) - ref_day[idx]
        end_raw = pd.to_datetime(pd.Series(ev["end_date"].to_numpy()[keep]))
        is_open = end_raw.isna().to_numpy()
        end = np.where(is_open, 0, end_raw.to_numpy(dtype="datetime64[D]").astype("int64") - ref_day[idx])
        ev_frame = pd.DataFrame({"idx": idx, "event": ev["event"].astype(str).to_numpy()[keep],
                                 "start": start, "end": end, "open": is_open, "abs_start": start + ref_day[idx]})

    # --- as_of ----------------------------------------------------------------
    as_of_date = _as_date(as_of, "as_of")
    if as_of_date is None:
        as_of_date = _infer_data_date(ref_day, st, pseud, ev_frame, sv)
    as_of_day = np.int64((np.datetime64(as_of_date, "D")).astype("int64"))
    cal_days = np.maximum(as_of_day - ref_day + 1, 0)

    if ev_frame is not None:
        ev_frame = ev_frame[ev_frame["abs_start"] <= as_of_day].drop(columns="abs_start")
        # a spell not yet ended as of `as_of` is open; an end before its start is a data error
        closed = ~ev_frame["open"].to_numpy()
        end_ = ev_frame["end"].to_numpy()
        ended_later = closed & (end_ + ref_day[ev_frame["idx"].to_numpy()] > as_of_day)
        bad = closed & (end_ < ev_frame["start"].to_numpy())
        if bad.any():
            row = ev_frame[bad].iloc[0]
            raise _frame_problem("events", "end_date", f"must not come before start_date; citizen "
                                 f"{pseud[row['idx']]} event {row['event']!r} ends before it starts")
        if ended_later.any():
            ev_frame.loc[ended_later, "open"] = True

    # --- attrition ----------------------------------------------------------------
    att_days = np.full(n, _BIG, dtype="int64")
    att_reason = np.full(n, None, dtype=object)
    if ev_frame is not None and len(ev_frame):
        a = ev_frame[ev_frame["event"].isin(attrition)].sort_values(["idx", "start", "event"], kind="stable")
        a = a.drop_duplicates("idx")
        ai = a["idx"].to_numpy()
        att_days[ai] = np.maximum(a["start"].to_numpy(), 0)
        att_reason[ai] = [_reason_text(e) for e in a["event"]]
    if "status" in enr.columns:
        wd = (enr["status"].astype(str) == "withdrawn").to_numpy()
        if wd.any():
            wdate = None
            for col in _WITHDRAWN_DATE_COLUMNS:
                if col in enr.columns:
                    wdate = pd.to_datetime(enr[col])
                    break
            if wdate is not None:
                d = wdate.to_numpy(dtype="datetime64[D]")
                undated = pd.isna(d)
                wdays = np.where(undated, 0, d.astype("int64") - ref_day)
            else:
                undated = np.ones(n, dtype=bool)
                wdays = np.zeros(n, dtype="int64")
            # a dated withdrawal after as_of is not known yet; an undated one always counts
            wdays = np.where(~undated & (wdays + ref_day > as_of_day), _BIG, np.maximum(wdays, 0))
            earlier = wd & (wdays < att_days)
            att_days[earlier] = wdays[earlier]
            att_reason[earlier] = "withdrawn"

    ctx = _Context(pseudonyms=pseud, ref_day=ref_day, cal_days=cal_days, att_days=att_days,
                   att_reason=att_reason, as_of=as_of_date, statuses=statuses, events=ev_frame,
                   unmatched=unmatched)

    # --- status matrix ------------------------------------------------------------
    if st is not None:
        ctx.matrix, ctx.contig, unmatched["status"] = _status_matrix(st, pseud, statuses, weeks_needed)

    # --- survey ---------------------------------------------------------------------
    if sv is not None:
        idx = pseud.get_indexer(sv["pseudonym"].astype(str))
        keep = idx >= 0
        unmatched["survey"] = int((~keep).sum())
        s = sv.loc[keep].copy()
        s["idx"] = idx[keep]
        s = s[pd.to_datetime(s["date"]).notna().to_numpy()]
        s["abs_day"] = _days(s["date"]) if len(s) else np.zeros(0, "int64")
        s["day"] = s["abs_day"].to_numpy() - ref_day[s["idx"].to_numpy()]
        s = s[(s["abs_day"] <= as_of_day) & (s["day"] < att_days[s["idx"].to_numpy()])]
        dup = s.duplicated(["idx", "wave"])
        if dup.any():
            r = s[dup].iloc[0]
            raise _frame_problem("survey", "wave", f"each citizen may answer each wave once; citizen "
                                 f"{pseud[int(r['idx'])]} has wave {r['wave']} twice")
        ctx.survey = s
    ctx.unmatched = unmatched
    return ctx


def _infer_data_date(ref_day, st, pseud, ev_frame, sv) -> _dt.date:
    """The latest date the data cover (used when ``as_of`` is not given)."""
    cands = []
    if st is not None and len(st):
        idx = pseud.get_indexer(st["pseudonym"].astype(str))
        keep = idx >= 0
        if keep.any():
            wk = pd.to_numeric(st["week"], errors="coerce").to_numpy()[keep]
            cands.append(np.nanmax(ref_day[idx[keep]] + 7 * wk - 1))
    if ev_frame is not None and len(ev_frame):
        cands.append(ev_frame["abs_start"].max())
        closed = ~ev_frame["open"].to_numpy()
        if closed.any():
            cands.append((ev_frame["end"].to_numpy() + ref_day[ev_frame["idx"].to_numpy()])[closed].max())
    if sv is not None and len(sv) and sv["date"].notna().any():
        cands.append(pd.to_datetime(sv["date"]).max().to_datetime64().astype("datetime64[D]").astype("int64"))
    if not cands:
        if len(ref_day):
            cands.append(ref_day.max())
        else:
            raise ParameterError("as_of", "must be given when there is no data to date it by")
    day = int(max(cands))
    return (np.datetime64(day, "D")).astype(_dt.date)


def _status_matrix(st: pd.DataFrame, pseud: pd.Index, statuses: tuple[str, ...], weeks_needed: int):
    n = len(pseud)
    if not statuses:
        raise ParameterError("statuses", "must list the protocol's status codes; got none")
    if len(statuses) > 127:
        raise TrialError(f"at most 127 status codes are supported; got {len(statuses)}")
    col = st["status"]
    if isinstance(col.dtype, pd.CategoricalDtype):
        cats = [str(c) for c in col.cat.categories]
        lut = np.array([statuses.index(c) if c in statuses else -2 for c in cats] + [-1], dtype="int16")
        codes = lut[col.cat.codes.to_numpy()]  # code -1 (NaN) -> last entry -1
    else:
        codes = pd.Index(list(statuses)).get_indexer(col.astype(object)).astype("int16")
        codes[(codes < 0) & col.notna().to_numpy()] = -2
    if (codes == -2).any():
        bad = pd.Series(col.astype(str).to_numpy()[codes == -2]).unique()[:5]
        raise _frame_problem("status", "status", f"must be one of the protocol's statuses "
                             f"({', '.join(statuses)}); got {', '.join(map(repr, bad))}")
    week = pd.to_numeric(st["week"], errors="coerce")
    if week.isna().any() or (week % 1 != 0).any():
        raise _frame_problem("status", "week", "must be a whole number on every row")
    week = week.to_numpy().astype("int64")
    if len(week) and week.min() < 1:
        raise _frame_problem("status", "week", f"must be at least 1 (week 1 = the first 7 days from referral); "
                             f"got {int(week.min())}")
    idx = pseud.get_indexer(st["pseudonym"].astype(str))
    matched = idx >= 0
    width = max(int(weeks_needed), 1)
    sel = matched & (week <= width) & (codes >= 0)
    ii, ww = idx[sel], week[sel] - 1
    key = ii.astype("int64") * width + ww
    counts = np.bincount(key, minlength=n * width) if len(key) else np.zeros(n * width, "int64")
    if (counts > 1).any():
        k = int(np.argmax(counts > 1))
        raise _frame_problem("status", "week", f"each citizen may have one status per week; citizen "
                             f"{pseud[k // width]} has week {k % width + 1} more than once")
    mat = np.full((n, width), -1, dtype="int8")
    mat[ii, ww] = codes[sel].astype("int8")
    gap = mat < 0
    contig = np.where(gap.any(axis=1), gap.argmax(axis=1), width).astype("int64")
    return mat, contig, int((~matched).sum())


# --------------------------------------------------------------------------- rule kernels
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


def _k_ever_status(ctx, statuses, horizon):
    win, inwin = _windowed(ctx, statuses, horizon)
    hit = inwin.any(axis=1)
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
    complete = (ctx.cal_days >= 7 * horizon) & (ctx.att_days >= 7 * horizon)
    value = np.where(hit, 1.0, np.where(complete, 0.0, np.nan))
    return _rows(ctx, value, time_weeks=win / 7, reason=ctx.reason_incomplete(horizon))


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
    exposure = win / DAYS_PER_YEAR
    with np.errstate(invalid="ignore", divide="ignore"):
        value = np.where(win > 0, total / exposure, np.nan)
    return _rows(ctx, value, time_weeks=win / 7, exposure=exposure, reason=ctx.reason_incomplete(1))


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
    """1 if any observed week 1..``horizon_weeks`` is among ``statuses``; 0 if none and fully observed."""
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
              attrition_events=None) -> pd.DataFrame:
    """1 if an event of ``event_types`` starts within ``horizon_weeks`` weeks of referral, else 0.

    An event observed before attrition gives 1; no event with incomplete follow-up is missing.
    """
    h = _check_horizon(horizon_weeks)
    ctx = _ctx_for(enrollments, events=events, as_of=as_of, attrition_events=attrition_events)
    return _k_event_any(ctx, event_types, h)


def event_rate(enrollments, events, *, event_types, horizon_weeks, measure="count", as_of=None,
               attrition_events=None) -> pd.DataFrame:
    """Events (``measure='count'``) or days in a spell (``'days'``) per person-year of follow-up.

    ``exposure_years`` = observed days of the window ``[0, 7 * horizon_weeks)`` / 365.25;
    ``value`` = total / exposure_years, defined for any follow-up above 0 days.
    """
    h = _check_horizon(horizon_weeks)
    ctx = _ctx_for(enrollments, events=events, as_of=as_of, attrition_events=attrition_events)
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
                "    event_types : list of str\n    horizon_weeks : int"),
    (event_rate, "events : DataFrame\n        ``pseudonym, event, start_date, end_date``.\n"
                 "    event_types : list of str\n    horizon_weeks : int\n    measure : {'count', 'days'}"),
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
    ctx = _build_context(protocol, enrollments, status if needs_status else None, events,
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


# --------------------------------------------------------------------------- helårspersoner and shares
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


# --------------------------------------------------------------------------- register I/O
def store(register, outcomes: Outcomes, data_date=None):
    """Store the derived outcomes in the register, dated by ``data_date`` (default ``outcomes.as_of``)."""
    if not isinstance(outcomes, Outcomes):
        raise ParameterError("outcomes", f"must be an Outcomes result from derive(); got {type(outcomes).__name__}")
    d = _as_date(data_date, "data_date") or outcomes.as_of
    return register.store_outcomes(outcomes.long[list(LONG_COLUMNS)].copy(), d)


def load(register, as_of=None) -> pd.DataFrame:
    """The outcomes stored in the register as of ``as_of`` (long frame with ``data_date``)."""
    return register.outcomes(as_of=_as_date(as_of, "as_of"))


def register_enrollments(reg) -> pd.DataFrame:
    """``reg.enrollments()`` with ``withdrawn_at``: the date of each citizen's first recorded withdrawal."""
    enr = reg.enrollments()
    se = reg.status_events()
    enr["withdrawn_at"] = pd.NaT
    if len(se):
        wd = se[se["kind"] == "withdrawn"]
        if len(wd):
            first = pd.to_datetime(wd["date"]).groupby(wd["pseudonym"].to_numpy()).min()
            enr["withdrawn_at"] = pd.to_datetime(enr["pseudonym"].map(first))
    return enr


@dataclass(frozen=True, eq=False)
class LoadResult(Displayable):
    """What :func:`load_exports` stored: one upload per kind plus the derived outcomes."""

    register: str
    data_date: _dt.date
    upload_ids: dict
    rows: dict
    not_enrolled: dict
    outcomes: Outcomes = field(repr=False)

    def to_dict(self) -> dict:
        return {"register": self.register, "data_date": self.data_date.isoformat(),
                "uploads": {k: int(v) for k, v in self.upload_ids.items()},
                "rows": {k: int(v) for k, v in self.rows.items()},
                "not_enrolled": {k: int(v) for k, v in self.not_enrolled.items()},
                "citizens": int(len(self.outcomes.followup)), "endpoints": list(self.outcomes.endpoints)}

    def to_frame(self) -> pd.DataFrame:
        return self.outcomes.describe()

    def summary(self) -> str:
        lines = [f"Stored in {self.register} with data date {self.data_date}:"]
        for k in ("status", "events", "survey"):
            extra = f" ({self.not_enrolled[k]} rows of citizens not enrolled were not stored)" \
                if self.not_enrolled.get(k) else ""
            lines.append(f"  {k:<8} {self.rows[k]:>9} rows  upload #{self.upload_ids[k]}{extra}")
        lines.append(f"  outcomes {self.rows['outcomes']:>9} rows  upload #{self.upload_ids['outcomes']} "
                     f"({len(self.outcomes.followup)} citizens x {len(self.outcomes.endpoints)} endpoints)")
        return "\n".join(lines)


def load_exports(register, key, *, status, events, survey, data_date=None) -> "LoadResult":
    """Read the outcome exports, pseudonymise them, store them and the derived outcomes in the register.

    Parameters
    ----------
    register : Register or str or Path
        An open register or its path/URL.
    key : KeyFile or str or Path
        The key file (its pseudonymisation key turns CPR numbers into pseudonyms).
    status, events, survey : str or Path
        The municipal exports (``docs/contracts.md``), read by :mod:`trial.intake`.
    data_date : date or str, optional
        The date the exports were drawn; default the latest date the data cover.

    Returns
    -------
    LoadResult

    Notes
    -----
    All three files are read and validated, and the outcomes derived, before
    anything is written: a bad file raises :class:`~trial.exceptions.IntakeError`
    and the register is untouched. Only rows of enrolled citizens are stored.
    """
    from ._keys import KeyFile, load_key_file
    from .register import Register

    kf = key if isinstance(key, KeyFile) else load_key_file(key)
    if isinstance(register, Register):
        return _load_into(register, kf, status, events, survey, data_date)
    with Register.open(register) as reg:
        return _load_into(reg, kf, status, events, survey, data_date)


def _load_into(reg, kf, status_path, events_path, survey_path, data_date) -> LoadResult:
    from .intake import read_events, read_status, read_survey

    proto = reg.protocol
    frames = {
        "status": read_status(status_path, key=kf.pseudonym_key, protocol=proto),
        "events": read_events(events_path, key=kf.pseudonym_key, protocol=proto),
        "survey": read_survey(survey_path, key=kf.pseudonym_key, protocol=proto),
    }
    enr = register_enrollments(reg)
    if not len(enr):
        from .exceptions import RegisterError

        raise RegisterError(f"register {reg.target} has no enrolled citizens: enroll before loading outcomes")
    enrolled = set(enr["pseudonym"].astype(str))
    not_enrolled = {}
    for k, df in frames.items():
        keep = df["pseudonym"].astype(str).isin(enrolled).to_numpy()
        not_enrolled[k] = int((~keep).sum())
        frames[k] = df.loc[keep].reset_index(drop=True)
    d = _as_date(data_date, "data_date")
    out = derive(proto, enr, frames["status"], frames["events"], frames["survey"], as_of=d)
    d = d or out.as_of
    ids = {k: reg.store_observations(k, frames[k], d) for k in ("status", "events", "survey")}
    ids["outcomes"] = store(reg, out, d)
    rows = {k: len(frames[k]) for k in frames}
    rows["outcomes"] = len(out.long)
    return LoadResult(register=str(reg.target), data_date=d, upload_ids=ids, rows=rows,
                      not_enrolled=not_enrolled, outcomes=out)
