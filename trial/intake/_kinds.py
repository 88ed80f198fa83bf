"""Private: the four municipal exports (referrals, status, events, survey): rules and frames."""
from __future__ import annotations

import logging
from pathlib import Path
from types import MappingProxyType
from typing import Mapping

import numpy as np
import pandas as pd

from .. import _cpr
from ..exceptions import IntakeError, ParameterError, Problem
from ._problems import _safe, _scrub
from ._pseudonym import _check_key, _pseudonyms_for
from ._read import _load
from ._validate import (_check_weeks, _cpr_column, _date_column, _factorize, _numeric_column, _take,
                        _text_column)

log = logging.getLogger("trial.intake")

KINDS = ("referrals", "status", "events", "survey")

#: Required columns per kind (survey items come from the protocol).
COLUMNS: Mapping[str, tuple[str, ...]] = MappingProxyType({
    "referrals": ("cpr", "referral_date", "municipality_code", "referral_type", "prior_forloeb",
                  "months_on_benefit", "psych_contact_12m"),
    "status": ("cpr", "week", "status"),
    "events": ("cpr", "event", "start_date", "end_date"),
    "survey": ("cpr", "wave", "date"),
})

#: Events without a duration: ``end_date`` is empty (or equal to ``start_date``).
POINT_EVENTS = ("psych_contact", "forloeb_extension", "moved_away", "died", "withdrawn")

#: Allowed range of each known survey item: (low, high, whole numbers only).
SURVEY_RANGES: Mapping[str, tuple[float, float, bool]] = MappingProxyType({
    "self_rated_health": (1, 5, True),
    "functional_ability": (0, 100, False),
    "job_readiness": (0, 10, False),
})

#: Problems listed in an IntakeError; the rest are counted.


def _resolve_protocol(protocol):
    if protocol is None:
        from ..protocol import load
        return load()
    return protocol


def read_referrals(path, *, key: bytes, protocol=None) -> pd.DataFrame:
    """Read and validate a referrals export; CPR numbers become pseudonyms.

    Parameters
    ----------
    path : str or Path
        CSV or .xlsx file with columns ``cpr, referral_date, municipality_code,
        referral_type, prior_forloeb, months_on_benefit, psych_contact_12m``.
    key : bytes
        Pseudonymisation key (see :func:`pseudonymise`).
    protocol : Protocol, optional
        The trial protocol (default: the shipped one).

    Returns
    -------
    pandas.DataFrame
        ``pseudonym, referral_date, birth_date, age, sex, municipality_code,
        referral_type, prior_forloeb, months_on_benefit, psych_contact_12m,
        source_row`` in file order; no CPR column.

    Raises
    ------
    IntakeError
        Every defect: missing columns, invalid or duplicated CPR numbers,
        dates that do not exist, values out of range (``prior_forloeb`` and
        ``psych_contact_12m`` 0/1, ``months_on_benefit`` 0–36,
        ``municipality_code`` a whole number 1–999), a referral before birth.

    Notes
    -----
    age = whole years from the birth date (from the CPR number) to the
    referral date. Eligibility (age range, municipality, referral type) is not
    checked here: that is the register's decision, recorded per citizen.
    """
    key = _check_key(key)
    _resolve_protocol(protocol)
    t, probs = _load(path, "referrals", COLUMNS["referrals"])
    if t is None:
        probs.raise_if_any()
    cz = _cpr_column(t, probs)
    # duplicated CPR numbers (any spelling)
    valid = cz.codes >= 0
    dup = np.zeros(len(cz.codes), dtype=bool)
    dup[valid] = pd.Series(cz.codes[valid]).duplicated().to_numpy()
    if dup.any():
        first_line = pd.Series(t.lines[valid]).groupby(cz.codes[valid]).first()
        probs.add_rows(np.flatnonzero(dup), "cpr",
                       lambda i: f"duplicated CPR number {cz.masked[cz.codes[i]]}: the citizen is already "
                                 f"referred in row {first_line[cz.codes[i]]}; each citizen appears once")
    rdate = _date_column(t, "referral_date", probs, required=True)
    muni = _numeric_column(t, "municipality_code", probs, lo=1, hi=999, whole=True, required=True,
                           what="a municipality code")
    rtype = _text_column(t, "referral_type", probs)
    prior = _numeric_column(t, "prior_forloeb", probs, lo=0, hi=1, whole=True, required=True,
                            what="0 (first ressourceforløb) or 1 (had one before)")
    months = _numeric_column(t, "months_on_benefit", probs, lo=0, hi=36, whole=False, required=True,
                             what="months on public benefits in the 3 years before referral")
    psych = _numeric_column(t, "psych_contact_12m", probs, lo=0, hi=1, whole=True, required=True,
                            what="0 or 1 (contact with psychiatry in the last 12 months)")
    birth = _take(cz.birth.astype("datetime64[ns]"), cz.codes, np.datetime64("NaT"))
    before = ~np.isnat(birth) & ~np.isnat(rdate) & (rdate < birth)
    probs.add_rows(np.flatnonzero(before), "referral_date",
                   lambda i: f"referral date {pd.Timestamp(rdate[i]).date()} is before the birth date "
                             f"{pd.Timestamp(birth[i]).date()} of CPR number {cz.masked[cz.codes[i]]}")
    probs.raise_if_any()
    out = pd.DataFrame({
        "pseudonym": _pseudonyms_for(cz, key),
        "referral_date": pd.Series(rdate),
        "birth_date": pd.Series(birth),
    })
    out["age"] = _cpr.age_at(out["birth_date"], out["referral_date"]).astype("int64")
    out["sex"] = pd.Series(cz.sex[cz.codes], dtype="str")
    out["municipality_code"] = muni.astype("int64")
    out["referral_type"] = rtype.reset_index(drop=True).astype("str")
    out["prior_forloeb"] = prior.astype("int64")
    out["months_on_benefit"] = months
    out["psych_contact_12m"] = psych.astype("int64")
    out["source_row"] = t.lines.astype("int64")
    log.info("intake referrals: %d rows read from %s", len(out), _scrub(Path(path).name))
    return out


def _check_max_week(max_week, name: str = "max_week") -> int:
    """``max_week`` as an int: a whole number of at least 1 (else :class:`ParameterError`)."""
    ok = isinstance(max_week, (int, np.integer)) and not isinstance(max_week, bool)
    if not ok and isinstance(max_week, (float, np.floating)) and float(max_week).is_integer():
        ok, max_week = True, int(max_week)
    if not ok or max_week < 1:
        raise ParameterError(name, f"must be a whole number of weeks, at least 1; got {max_week!r}")
    return int(max_week)


def read_status(path, *, key: bytes, protocol=None, max_week: int | None = None) -> pd.DataFrame:
    """Read and validate a weekly status panel; CPR numbers become pseudonyms.

    Parameters
    ----------
    path : str or Path
        CSV or .xlsx file with columns ``cpr, week, status``.
    key : bytes
        Pseudonymisation key.
    protocol : Protocol, optional
        Gives the map from source codes to statuses (``[status_map]``).
    max_week : int, optional
        Largest week allowed, at least 1 (default: the protocol's
        ``analysis.follow_up_weeks``); anything else raises
        :class:`~trial.exceptions.ParameterError`.

    Returns
    -------
    pandas.DataFrame
        ``pseudonym, week (int64), status`` in file order; ``status`` is a
        Categorical over the protocol's statuses.

    Raises
    ------
    IntakeError
        Invalid CPR numbers; a week that is not a whole number in
        1..``max_week``; a status code that is neither a source code of the
        protocol's ``[status_map]`` (case-insensitive) nor a protocol status
        name; per citizen, a duplicated week, a missing week (gap, or not
        starting at week 1) or weeks out of order.

    Notes
    -----
    Order rule: each citizen's rows must list weeks 1, 2, ..., N in that order
    in the file. Citizens may be interleaved, so an export sorted by citizen
    then week and one sorted by week then citizen are both accepted; a
    citizen whose week 5 comes before week 4 is an error, because such an
    export has usually been re-sorted on a text column ("10" < "9").
    """
    key = _check_key(key)
    protocol = _resolve_protocol(protocol)
    hi = _check_max_week(max_week) if max_week is not None else int(protocol.analysis.follow_up_weeks)
    t, probs = _load(path, "status", COLUMNS["status"])
    if t is None:
        probs.raise_if_any()
    cz = _cpr_column(t, probs)
    week = _numeric_column(t, "week", probs, lo=1, hi=hi, whole=True, required=True,
                           what="the week since referral")
    codes, uniq = _factorize(t.cols["status"])
    statuses = list(protocol.statuses)
    smap = dict(protocol.status_map)
    upper = {k.upper(): v for k, v in smap.items()}
    names = {s.lower(): s for s in statuses}
    target = []
    for u in uniq:
        u = str(u)
        target.append(smap.get(u) or upper.get(u.upper()) or names.get(u.lower()))
    target_code = np.array([statuses.index(x) if x is not None else -1 for x in target], dtype=np.int64)
    probs.add_rows(np.flatnonzero(codes < 0), "status", lambda i: "status code is missing")
    allowed = ", ".join(smap)
    bad = np.flatnonzero((codes >= 0) & (_take(target_code, codes, -1) < 0))
    probs.add_rows(bad, "status", lambda i: f"unknown status code {_safe(uniq[codes[i]])}; allowed are the "
                                            f"protocol's source codes {allowed} or its status names "
                                            f"{', '.join(statuses)} (both case-insensitive)")
    _check_weeks(cz, week, probs)
    probs.raise_if_any()
    cat = pd.Categorical.from_codes(_take(target_code, codes, -1), categories=statuses)
    out = pd.DataFrame({"pseudonym": _pseudonyms_for(cz, key), "week": week.astype("int64"), "status": cat})
    log.info("intake status: %d rows, %d citizens", len(out), len(cz.digits))
    return out



def read_events(path, *, key: bytes, protocol=None) -> pd.DataFrame:
    """Read and validate an events export (grants, admissions, contacts, attrition).

    Parameters
    ----------
    path : str or Path
        CSV or .xlsx with columns ``cpr, event, start_date, end_date``.
    key : bytes
        Pseudonymisation key.
    protocol : Protocol, optional
        Gives the allowed event types (``events.types``).

    Returns
    -------
    pandas.DataFrame
        ``pseudonym, event, start_date, end_date`` (``end_date`` NaT for an
        open grant and for point events).

    Raises
    ------
    IntakeError
        Invalid CPR numbers; an event type not in the protocol; a missing or
        non-existent start date; an end date before the start date; a point
        event (:data:`POINT_EVENTS`) with an end date other than its start
        date; the same row twice.
    """
    key = _check_key(key)
    protocol = _resolve_protocol(protocol)
    t, probs = _load(path, "events", COLUMNS["events"])
    if t is None:
        probs.raise_if_any()
    cz = _cpr_column(t, probs)
    ev = _text_column(t, "event", probs)
    types = list(protocol.event_types)
    unknown = np.flatnonzero(ev.notna().to_numpy() & ~ev.isin(types).to_numpy())
    evv = ev.to_numpy()
    probs.add_rows(unknown, "event", lambda i: f"unknown event {_safe(evv[i])}; allowed are "
                                               f"{', '.join(types)} (the protocol's events.types)")
    start = _date_column(t, "start_date", probs, required=True)
    end = _date_column(t, "end_date", probs, required=False)
    neg = ~np.isnat(start) & ~np.isnat(end) & (end < start)
    probs.add_rows(np.flatnonzero(neg), "end_date",
                   lambda i: f"end date {pd.Timestamp(end[i]).date()} is before the start date "
                             f"{pd.Timestamp(start[i]).date()}")
    point = ev.isin([e for e in POINT_EVENTS if e in types]).to_numpy()
    pt_end = point & ~np.isnat(end) & ~np.isnat(start) & (end != start)
    probs.add_rows(np.flatnonzero(pt_end), "end_date",
                   lambda i: f"{evv[i]} is a point event: end_date must be empty (or the start date); "
                             f"got {pd.Timestamp(end[i]).date()}")
    key_frame = pd.DataFrame({"c": cz.codes, "e": evv, "s": start, "x": end})
    dup = key_frame.duplicated().to_numpy() & (cz.codes >= 0)
    probs.add_rows(np.flatnonzero(dup), None,
                   lambda i: f"the same event is listed twice for citizen {cz.masked[cz.codes[i]]} "
                             f"({evv[i]} from {pd.Timestamp(start[i]).date()})")
    probs.raise_if_any()
    end = np.where(point, np.datetime64("NaT"), end).astype("datetime64[ns]")
    out = pd.DataFrame({"pseudonym": _pseudonyms_for(cz, key), "event": pd.Series(evv, dtype="str"),
                        "start_date": pd.Series(start), "end_date": pd.Series(end)})
    log.info("intake events: %d rows", len(out))
    return out


def read_survey(path, *, key: bytes, protocol=None) -> pd.DataFrame:
    """Read and validate a survey export (baseline and follow-up waves).

    Parameters
    ----------
    path : str or Path
        CSV or .xlsx with columns ``cpr, wave, date`` and one column per
        protocol survey item (``survey.items``).
    key : bytes
        Pseudonymisation key.
    protocol : Protocol, optional
        Gives the waves and items.

    Returns
    -------
    pandas.DataFrame
        ``pseudonym, wave (int64), date, <items> (float, NaN = not answered)``.

    Raises
    ------
    IntakeError
        Invalid CPR numbers; a wave not in ``survey.waves``; a date that does
        not exist; an item out of range (:data:`SURVEY_RANGES`:
        self_rated_health whole 1–5, functional_ability 0–100, job_readiness
        0–10; other items any number); the same citizen twice in one wave.
    """
    key = _check_key(key)
    protocol = _resolve_protocol(protocol)
    items = tuple(protocol.survey_items)
    required = COLUMNS["survey"] + items
    t, probs = _load(path, "survey", required)
    if t is None:
        probs.raise_if_any()
    cz = _cpr_column(t, probs)
    waves = list(protocol.survey_waves)
    wave = _numeric_column(t, "wave", probs, lo=min(waves), hi=max(waves), whole=True, required=True,
                           what=f"a survey wave among {waves}")
    not_listed = ~np.isnan(wave) & ~np.isin(wave, waves)
    probs.add_rows(np.flatnonzero(not_listed), "wave", lambda i: f"must be a survey wave among {waves}; "
                                                                 f"got {wave[i]:g}")
    date = _date_column(t, "date", probs, required=False)
    values = {}
    for it in items:
        lo, hi, whole = SURVEY_RANGES.get(it, (-np.inf, np.inf, False))
        values[it] = _numeric_column(t, it, probs, lo=lo, hi=hi, whole=whole, required=False,
                                     what=f"{it} (empty when not answered)")
    both = (cz.codes >= 0) & ~np.isnan(wave)
    dup = np.zeros(len(wave), dtype=bool)
    dup[both] = pd.DataFrame({"c": cz.codes[both], "w": wave[both]}).duplicated().to_numpy()
    probs.add_rows(np.flatnonzero(dup), "wave",
                   lambda i: f"citizen {cz.masked[cz.codes[i]]} answers wave {wave[i]:g} twice")
    probs.raise_if_any()
    out = pd.DataFrame({"pseudonym": _pseudonyms_for(cz, key), "wave": wave.astype("int64"),
                        "date": pd.Series(date)})
    for it in items:
        out[it] = values[it]
    log.info("intake survey: %d rows", len(out))
    return out


_READERS = {"referrals": read_referrals, "status": read_status, "events": read_events, "survey": read_survey}


def read(kind: str, path, *, key: bytes, protocol=None) -> pd.DataFrame:
    """Read one export of ``kind`` (``referrals``, ``status``, ``events``, ``survey``).

    Dispatches to :func:`read_referrals`, :func:`read_status`,
    :func:`read_events` or :func:`read_survey`.
    """
    if kind not in _READERS:
        raise IntakeError([Problem(str(path), None, None,
                                   f"`kind` must be one of {', '.join(KINDS)}; got {_safe(kind)}")])
    return _READERS[kind](path, key=key, protocol=protocol)

