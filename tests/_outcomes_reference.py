"""A slow, obvious, per-citizen implementation of the endpoint rules.

Written independently of :mod:`trial.outcomes` from the rules as documented
(module docstring of ``trial/outcomes.py`` and ``docs/outcomes.md``), one
citizen at a time with plain Python dates and dicts. The property tests check
that the vectorised :func:`trial.outcomes.derive` gives exactly the same table,
and ``bench/outcomes.py`` times it as "the obvious alternative".
"""
from __future__ import annotations

import datetime as dt
import math

import pandas as pd

NAN = math.nan
ATTRITION_TEXT = {"moved_away": "moved away", "died": "died", "withdrawn": "withdrawn"}


def _d(x) -> dt.date | None:
    if x is None or x is pd.NaT or (not isinstance(x, (dt.date, str)) and pd.isna(x)):
        return None
    return pd.Timestamp(x).date()


def naive_derive(protocol, enrollments: pd.DataFrame, status: pd.DataFrame, events: pd.DataFrame,
                 survey: pd.DataFrame, as_of) -> pd.DataFrame:
    """Long frame ``pseudonym, endpoint, value, time_weeks, event, exposure_years, missing_reason``."""
    as_of = _d(as_of)
    panel: dict[str, dict[int, str]] = {}
    for pid, week, st in status[["pseudonym", "week", "status"]].itertuples(index=False):
        panel.setdefault(str(pid), {})[int(week)] = str(st)
    evs: dict[str, list] = {}
    for pid, name, s, e in events[["pseudonym", "event", "start_date", "end_date"]].itertuples(index=False):
        evs.setdefault(str(pid), []).append((str(name), _d(s), _d(e)))
    answers: dict[str, list] = {}
    for rec in survey.to_dict("records"):
        answers.setdefault(str(rec["pseudonym"]), []).append(rec)

    rows = []
    for rec in enrollments.to_dict("records"):
        pid = str(rec["pseudonym"])
        ref = _d(rec["referral_date"])
        cal_days = max((as_of - ref).days + 1, 0)
        my_events = [(n, s, e) for n, s, e in evs.get(pid, []) if s <= as_of]
        # attrition: earliest attrition event (ties: alphabetical), then a register withdrawal
        att_days, att_reason = math.inf, None
        for n, s, _ in sorted(my_events, key=lambda t: (t[1], t[0])):
            if n in protocol.attrition_events:
                att_days, att_reason = max((s - ref).days, 0), ATTRITION_TEXT.get(n, n.replace("_", " "))
                break
        if rec.get("status") == "withdrawn":
            wd = _d(rec.get("withdrawn_at"))
            wdays = 0 if wd is None else max((wd - ref).days, 0)
            if (wd is None or wd <= as_of) and wdays < att_days:
                att_days, att_reason = wdays, "withdrawn"
        weeks = panel.get(pid, {})
        contig = 0
        while contig + 1 in weeks:
            contig += 1

        # a citizen with no row in the status panel has no follow-up information (event rules)
        followed = pid in panel

        def why(h, kind):
            if att_days < 7 * h:
                return att_reason
            if cal_days < 7 * h:
                return "not yet observed"
            if kind == "event" and not followed:
                return "no follow-up"
            return {"status": "no status data", "survey": "not answered"}.get(kind)

        for ep in protocol.endpoints:
            h = ep.horizon_weeks
            value, time_weeks, event, exposure, reason = NAN, NAN, NAN, NAN, None
            if ep.rule in ("status_at", "ever_status", "weeks_in_status", "time_to_status"):
                win = max(min(cal_days // 7, att_days // 7 if att_days != math.inf else h, contig, h), 0)
                observed = [w for w in range(1, win + 1) if weeks.get(w) in ep.statuses]
                time_weeks = win
                if ep.rule == "status_at":
                    if win >= h:
                        value = float(weeks[h] in ep.statuses)
                    else:
                        reason = why(h, "status")
                elif ep.rule == "ever_status":
                    if cal_days < 7 * h and att_days >= 7 * h:  # data date before the horizon
                        reason = why(h, "status")
                    elif observed:
                        value = 1.0
                    elif win >= h:
                        value = 0.0
                    else:
                        reason = why(h, "status")
                elif ep.rule == "weeks_in_status":
                    if win >= h:
                        value = float(len(observed))
                    else:
                        reason = why(h, "status")
                else:
                    if observed:
                        value, event = float(observed[0]), 1.0
                    elif win > 0:
                        value, event = float(win), 0.0
                    else:
                        reason = why(1, "status")
                    time_weeks = value
            elif ep.rule in ("event_any", "event_rate"):
                win = max(min(cal_days, att_days, 7 * h), 0)
                time_weeks = win / 7
                mine = [(s, e) for n, s, e in my_events if n in ep.events]
                if ep.rule == "event_any":
                    if cal_days < 7 * h and att_days >= 7 * h:  # data date before the horizon
                        reason = why(h, "event")
                    elif any(0 <= (s - ref).days < win for s, _ in mine):
                        value = 1.0
                    elif cal_days >= 7 * h and att_days >= 7 * h and followed:
                        value = 0.0
                    else:
                        reason = why(h, "event")
                else:
                    exposure = win / 365.25 if followed else NAN
                    total = 0.0
                    for s, e in mine:
                        a = (s - ref).days
                        if ep.measure == "count":
                            total += 1.0 if 0 <= a < win else 0.0
                        else:
                            b = win if (e is None or e > as_of) else (e - ref).days
                            total += max(min(b, win) - max(a, 0), 0)
                    if win > 0 and followed:
                        value = total / exposure
                    else:
                        reason = why(1, "event")
            else:  # survey_change
                win = max(min(cal_days, att_days, 7 * h), 0)
                time_weeks = win / 7
                base = follow = NAN
                for a in answers.get(pid, []):
                    when = _d(a["date"])
                    if when is None or when > as_of or (when - ref).days >= att_days:
                        continue
                    v = a.get(ep.item)
                    v = NAN if v is None or pd.isna(v) else float(v)
                    if int(a["wave"]) == 0:
                        base = v
                    elif int(a["wave"]) == ep.wave:
                        follow = v
                value = follow - base
                if math.isnan(value):
                    reason = why(h, "survey") if math.isnan(follow) else "no baseline answer"
            rows.append((pid, ep.id, value, time_weeks, event, exposure, reason))
    return pd.DataFrame(rows, columns=["pseudonym", "endpoint", "value", "time_weeks", "event",
                                       "exposure_years", "missing_reason"])
