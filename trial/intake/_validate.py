"""Private: vectorised value checks on factorized columns (numbers, dates, CPR numbers, week panels).

Every check runs on the *distinct* values of a column and is broadcast back
to the rows through the codes, so a panel of millions of rows costs one check
per distinct CPR number, week and code. Problems name the file line.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .. import _cpr
from ._problems import _Problems, _safe
from ._read import _Col, _Table

_DATE_FORMATS = ((re.compile(r"^(19|20)\d\d-\d\d-\d\d$"), "%Y-%m-%d"),
                 (re.compile(r"^\d\d-\d\d-(19|20)\d\d$"), "%d-%m-%Y"),
                 (re.compile(r"^\d\d\.\d\d\.(19|20)\d\d$"), "%d.%m.%Y"))
_DATE_HELP = "a date written YYYY-MM-DD, DD-MM-YYYY or DD.MM.YYYY"
_DATE_TIME = re.compile(r"^((19|20)\d\d-\d\d-\d\d|\d\d[-.]\d\d[-.](19|20)\d\d)[ T]\d\d?:\d\d")


def _date_problem(value) -> str:
    """The message for a cell that is not a date in one of the accepted forms."""
    if _DATE_TIME.match(str(value)):
        return (f"holds a date with a time of day; must be {_DATE_HELP} (format the column as a date without "
                f"time in Excel, or export the date only); got {_safe(value)}")
    return f"must be {_DATE_HELP}; got {_safe(value)}"


def _take(per_unique: np.ndarray, codes: np.ndarray, fill) -> np.ndarray:
    """Per-row values from per-unique ones; ``fill`` where the code is -1 (empty)."""
    per_unique = np.asarray(per_unique)
    return np.append(per_unique, np.array([fill], dtype=per_unique.dtype))[codes]


def _factorize(col: _Col) -> tuple[np.ndarray, np.ndarray]:
    return col.codes, col.uniq


def _number(uniq: pd.Index) -> np.ndarray:
    text = pd.Series(uniq, dtype="str").str.replace(" ", "", regex=False)
    text = text.where(~text.str.contains(",", regex=False) | text.str.contains(".", regex=False),
                      text.str.replace(",", ".", regex=False))
    ok_syntax = text.str.fullmatch(r"[+-]?(\d+\.?\d*|\.\d+)").fillna(False)
    val = pd.to_numeric(text.where(ok_syntax), errors="coerce")
    return val.to_numpy(dtype=float)


def _numeric_column(t: _Table, col: str, probs: _Problems, *, lo, hi, whole: bool, required: bool,
                    what: str) -> np.ndarray:
    """Parse a numeric column; problems for missing/non-numeric/out-of-range values. NaN where bad."""
    codes, uniq = _factorize(t.cols[col])
    uval = _number(uniq)
    bad_u = np.isnan(uval) | (uval < lo) | (uval > hi)
    if whole:
        bad_u |= ~np.isnan(uval) & (uval != np.round(uval))
    rng = f"{lo:g}–{hi:g}" if hi != np.inf else f"{lo:g} or more"
    kind = "a whole number" if whole else "a number"
    allowed = f"{what}: {kind} {rng}"
    rows_missing = np.flatnonzero(codes < 0)
    if required and len(rows_missing):
        probs.add_rows(rows_missing, col, lambda i: f"value is missing; must be {allowed}")
    bad_rows = np.flatnonzero(_take(bad_u, codes, False))
    probs.add_rows(bad_rows, col, lambda i: f"must be {allowed}; got {_safe(uniq[codes[i]])}")
    out = _take(uval, codes, np.nan)
    out[bad_rows] = np.nan
    return out


def _date_column(t: _Table, col: str, probs: _Problems, *, required: bool) -> np.ndarray:
    codes, uniq = _factorize(t.cols[col])
    text = pd.Series(uniq, dtype="str")
    parsed = pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns]")
    matched = pd.Series(False, index=text.index)
    for rx, fmt in _DATE_FORMATS:
        hit = text.str.match(rx).fillna(False) & ~matched
        if hit.any():
            parsed[hit] = pd.to_datetime(text[hit], format=fmt, errors="coerce")
            matched |= hit
    uval = parsed.to_numpy()
    nonexist = (matched & parsed.isna()).to_numpy()
    unform = (~matched).to_numpy()
    rows_missing = np.flatnonzero(codes < 0)
    if required and len(rows_missing):
        probs.add_rows(rows_missing, col, lambda i: f"value is missing; must be {_DATE_HELP}")
    r_unform = np.flatnonzero(_take(unform, codes, False))
    probs.add_rows(r_unform, col, lambda i: _date_problem(uniq[codes[i]]))
    r_nonex = np.flatnonzero(_take(nonexist, codes, False))
    probs.add_rows(r_nonex, col, lambda i: f"date {_safe(uniq[codes[i]])} does not exist")
    out = _take(uval.astype("datetime64[ns]"), codes, np.datetime64("NaT"))
    return out.astype("datetime64[ns]")


@dataclass
class _Citizens:
    codes: np.ndarray            # per row: index into uniq (-1 where invalid)
    digits: pd.Series            # unique valid 10-digit numbers
    birth: np.ndarray            # per unique
    sex: np.ndarray              # per unique
    masked: np.ndarray           # per unique


def _cpr_column(t: _Table, probs: _Problems) -> _Citizens:
    raw_codes, uniq = _factorize(t.cols["cpr"])
    res = _cpr.parse(pd.Series(uniq, dtype="str"), numeric="cpr" in t.numeric)
    rows_missing = np.flatnonzero(raw_codes < 0)
    probs.add_rows(rows_missing, "cpr", lambda i: "CPR number is missing")
    reason = res.reason.to_numpy()
    invalid_u = res.reason.notna().to_numpy()
    bad_rows = np.flatnonzero(_take(invalid_u, raw_codes, False))
    probs.add_rows(bad_rows, "cpr", lambda i: reason[raw_codes[i]])
    # several spellings of one number (0101801234 / 010180-1234) are one citizen
    dig_codes, dig_uniq = pd.factorize(res.digits, use_na_sentinel=True)
    codes = _take(dig_codes.astype(np.int64), raw_codes, -1)
    first = pd.Series(np.arange(len(dig_codes))).groupby(dig_codes).first()
    first = first[first.index >= 0]
    return _Citizens(codes=codes, digits=pd.Series(dig_uniq, dtype="str"),
                     birth=res.birth_date.to_numpy()[first.to_numpy()],
                     sex=res.sex.to_numpy()[first.to_numpy()],
                     masked=np.char.add(np.asarray(dig_uniq, dtype=str).astype("<U10").astype("<U6"), "-XXXX")
                     if len(dig_uniq) else np.array([], dtype=str))



def _text_column(t: _Table, col: str, probs: _Problems) -> pd.Series:
    col_ = t.cols[col]
    probs.add_rows(np.flatnonzero(col_.codes < 0), col, lambda i: "value is missing")
    return pd.Series(col_.values(), dtype=object)



def _check_weeks(cz: _Citizens, week: np.ndarray, probs: _Problems) -> None:
    """Per citizen: weeks 1..N, each once, in file order. One problem per citizen."""
    ok = (cz.codes >= 0) & ~np.isnan(week)
    # a citizen with an invalid week is judged on that problem alone (no follow-on gap)
    spoilt = np.unique(cz.codes[(cz.codes >= 0) & np.isnan(week)])
    ok &= ~np.isin(cz.codes, spoilt)
    pos = np.flatnonzero(ok)
    if not len(pos):
        return
    c = cz.codes[pos]
    w = week[pos].astype(np.int64)
    if len(c) < 2 or bool((c[1:] >= c[:-1]).all()):   # file grouped by citizen: no sort needed
        order = np.arange(len(c))
    else:
        order = np.argsort(c, kind="stable")           # keeps file order within citizen
    cs, ws, ps = c[order], w[order], pos[order]
    start = np.r_[0, np.flatnonzero(np.diff(cs)) + 1]
    counts = np.diff(np.r_[start, len(cs)])
    rank = np.arange(len(cs)) - np.repeat(start, counts)
    bad = ws != rank + 1
    if not bad.any():
        return
    bad_cit = np.unique(cs[bad])
    # duplicates and gaps are judged on the citizen's weeks sorted (same group bounds: cs is sorted)
    srt = np.lexsort((ws, cs))
    ws2, ps2 = ws[srt], ps[srt]
    dup = np.r_[False, (cs[1:] == cs[:-1]) & (ws2[1:] == ws2[:-1])]
    gap = ws2 != rank + 1
    found: dict[int, str] = {}
    group = np.searchsorted(cs[start], bad_cit)
    for k, gi in zip(bad_cit, group):
        lo, hi = start[gi], start[gi] + counts[gi]
        m = cz.masked[k]
        if dup[lo:hi].any():
            j = lo + np.flatnonzero(dup[lo:hi])[0]
            found[int(ps2[j])] = f"week {ws2[j]} appears twice for citizen {m} (each week once per citizen)"
        elif gap[lo:hi].any():
            j = lo + np.flatnonzero(gap[lo:hi])[0]
            found[int(ps2[j])] = (f"week {rank[j] + 1} is missing for citizen {m}: weeks must run 1, 2, 3, ... "
                                  f"without gaps (the next week given is {ws2[j]})")
        else:
            j = lo + np.flatnonzero(bad[lo:hi])[0]
            after = f"after week {ws[j - 1]}" if j > lo else "first"
            found[int(ps[j])] = (f"weeks out of order for citizen {m}: week {ws[j]} comes {after}; "
                                 f"each citizen's weeks must appear in increasing order")
    rows = np.array(sorted(found), dtype=np.int64)
    probs.add_rows(rows, "week", lambda i: found[i])

