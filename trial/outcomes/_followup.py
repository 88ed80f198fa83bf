"""Follow-up and attrition: the context every rule shares (private).

As of a date, per citizen: calendar follow-up in days, days before the first
attrition event or register withdrawal (and its reason), the weekly status
panel as an ``(n, W)`` int8 matrix with the length of its gap-free start,
events as day offsets from referral, and the survey answers that count. See
the package docstring of :mod:`trial.outcomes` for the definitions.
"""
from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..exceptions import ParameterError, TrialError
from ._common import (_BIG, _DEFAULT_ATTRITION, _WITHDRAWN_DATE_COLUMNS, NO_FOLLOW_UP, NO_STATUS_DATA,
                      NOT_YET_OBSERVED, _as_date, _days, _frame_problem, _reason_text, _require)


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
    in_panel: np.ndarray | None = None  # bool: the citizen has a row in the status panel (None: no panel given)
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

    @property
    def no_follow_up(self) -> np.ndarray:
        """Citizens absent from a given status panel: nothing shows they were followed (bool array).

        All False when no panel was given (an events-only call cannot tell).
        """
        if self.in_panel is None:
            return np.zeros(self.n, dtype=bool)
        return ~self.in_panel

    def reason_incomplete(self, horizon: int, *, status: bool = False, default: str | None = None,
                          unknown: np.ndarray | None = None) -> np.ndarray:
        """Why follow-up does not reach ``horizon`` weeks (object array; None where it does).

        ``unknown`` (bool per citizen) marks citizens without follow-up information ("no follow-up").
        """
        h_days = 7 * horizon
        out = np.full(self.n, None, dtype=object)
        if status:
            out[self.contig < horizon] = NO_STATUS_DATA
        elif default is not None:
            out[:] = default
        if unknown is not None:
            out[unknown] = NO_FOLLOW_UP
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
        ctx.matrix, ctx.contig, unmatched["status"], ctx.in_panel = _status_matrix(st, pseud, statuses,
                                                                                    weeks_needed)

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
    in_panel = np.zeros(n, dtype=bool)
    in_panel[idx[matched]] = True
    return mat, contig, int((~matched).sum()), in_panel
