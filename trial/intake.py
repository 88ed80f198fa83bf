"""Intake of municipal exports: read, validate, pseudonymise.

The only module that reads user data files. Each reader takes a CSV or Excel
file as a municipality exports it (see ``docs/contracts.md``), validates every
row and returns a pandas frame in which the CPR number has been replaced by a
keyed pseudonym. Nothing is ever written.

* CSV: comma, semicolon or tab separated (sniffed from the header line);
  UTF-8, UTF-8 with BOM or Windows-1252 (UTF-8 is tried first); numbers with
  a decimal point or a decimal comma.
* Excel ``.xlsx``: the first sheet, header in row 1. Date cells and number
  cells are accepted as such.
* Dates: ``YYYY-MM-DD``, ``DD-MM-YYYY`` or ``DD.MM.YYYY``.
* CPR numbers: ``DDMMYY-SSSS`` or ``DDMMYYSSSS`` with an existing birth date
  (no modulus-11 check, see :mod:`trial._cpr`). Nine digits are taken as a
  number that lost its leading zero only in a numeric column (an Excel number
  cell, or a CSV column whose values are all digits only).

Any defect raises :class:`~trial.exceptions.IntakeError` listing every problem
(up to :data:`MAX_PROBLEMS`, plus a count of the rest), each naming the file,
the row (the file line, header = row 1) and the column. CPR numbers in
messages are masked ``DDMMYY-XXXX``; other echoed values are scrubbed of
anything that looks like a CPR number.
"""
from __future__ import annotations

import csv
import datetime as _dt
import hashlib
import hmac
import io
import logging
import re
import secrets
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Callable, Mapping

import numpy as np
import pandas as pd

from . import _cpr
from .exceptions import IntakeError, Problem
from ._results import Displayable

__all__ = [
    "KINDS",
    "COLUMNS",
    "POINT_EVENTS",
    "SURVEY_RANGES",
    "MAX_PROBLEMS",
    "IntakeSummary",
    "read",
    "read_referrals",
    "read_status",
    "read_events",
    "read_survey",
    "pseudonymise",
    "check",
]

log = logging.getLogger(__name__)

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
MAX_PROBLEMS = 50

_MIN_ROWS = {"referrals": 1, "status": 1, "events": 0, "survey": 0}
_DATE_FORMATS = ((re.compile(r"^(19|20)\d\d-\d\d-\d\d$"), "%Y-%m-%d"),
                 (re.compile(r"^\d\d-\d\d-(19|20)\d\d$"), "%d-%m-%Y"),
                 (re.compile(r"^\d\d\.\d\d\.(19|20)\d\d$"), "%d.%m.%Y"))
_DATE_HELP = "a date written YYYY-MM-DD, DD-MM-YYYY or DD.MM.YYYY"


# --------------------------------------------------------------------------- problems
def _safe(value, width: int = 40) -> str:
    """A value fit for a message: CPR-like numbers masked, long values cut."""
    text = str(value)
    text = _scrub(text)
    text = re.sub(r"\d{9,}", lambda m: m.group(0)[:6] + "-XXXX", text)  # any long digit run
    if len(text) > width:
        text = text[:width] + "..."
    return repr(text)


_CPR_ANYWHERE = re.compile(r"(?<!\d)(0[1-9]|[12]\d|3[01])(0[1-9]|1[0-2])\d{2}-?\d{4}(?!\d)")


def _scrub(text: str) -> str:
    """``text`` with CPR-like numbers masked, also inside words (``borger_0101801235.csv``)."""
    return _CPR_ANYWHERE.sub(lambda m: m.group(0)[:6] + "-XXXX", str(text))


class _Problems:
    """Collects problems for one file: keeps the first ``limit`` per check, counts all."""

    def __init__(self, file: str, limit: int = MAX_PROBLEMS):
        self.file = file
        self.limit = limit
        self.items: list[Problem] = []
        self.total = 0

    def add(self, row, column, message) -> None:
        self.total += 1
        if len(self.items) < 10 * self.limit:
            self.items.append(Problem(self.file, None if row is None else int(row), column, message))

    def add_rows(self, rows: np.ndarray, column: str | None, message: Callable[[int], str]) -> None:
        """One problem per position in ``rows`` (row indices, ascending; ``message(i)`` per row).

        Only the first ``limit`` are kept (they are the earliest rows), all are counted.
        """
        rows = np.asarray(rows)
        self.total += len(rows)
        for i in rows[: self.limit]:
            self.items.append(Problem(self.file, int(self._lines[i]), column, message(int(i))))

    def bind(self, lines: np.ndarray) -> None:
        self._lines = lines

    def raise_if_any(self) -> None:
        if not self.total:
            return
        items = sorted(self.items, key=lambda p: (p.row is not None, p.row or 0))[: self.limit]
        raise IntakeError(items, truncated=self.total - len(items))


# --------------------------------------------------------------------------- reading files
@dataclass
class _Col:
    """A text column factorized once: all checks work on the distinct values."""

    codes: np.ndarray            # per row: index into ``uniq``; -1 where empty
    uniq: np.ndarray             # distinct values (object array of str, stripped, non-empty)

    @classmethod
    def of(cls, values: pd.Series) -> "_Col":
        codes, uniq = pd.factorize(values, use_na_sentinel=True)
        stripped = pd.Series(np.asarray(uniq, dtype=object), dtype=object).str.strip()
        stripped = stripped.where(stripped != "")
        # stripping can merge values (" RFY" and "RFY") or empty them: factorize again
        c2, u2 = pd.factorize(stripped, use_na_sentinel=True)
        remap = np.append(c2, -1).astype(np.int64)          # code -1 -> -1
        return cls(remap[codes], np.asarray(u2, dtype=object))

    def values(self) -> np.ndarray:
        """Row values (object array, NaN where empty)."""
        return np.append(self.uniq, np.nan).astype(object)[self.codes]

    def take(self, keep: np.ndarray) -> "_Col":
        return _Col(self.codes[keep], self.uniq)


@dataclass
class _Table:
    cols: dict                   # required column name -> _Col
    lines: np.ndarray            # file line of each row (header = 1)
    numeric: set                 # columns stored as numbers (Excel number cells / digits only)
    sep: str | None

    def __len__(self) -> int:
        return len(self.lines)


def _decode_check(raw: bytes) -> tuple[str, str]:
    """(encoding, first line) of CSV bytes: UTF-8 with BOM, UTF-8, else Windows-1252."""
    enc = "utf-8-sig" if raw.startswith(b"\xef\xbb\xbf") else "utf-8"
    try:
        raw.decode(enc)
    except UnicodeDecodeError:
        enc = "cp1252"
        raw.decode(enc)  # may fail too: the caller reports it
    first = raw.split(b"\n", 1)[0].decode(enc).rstrip("\r")
    return enc, first


def _read_csv(path: Path, raw: bytes, probs: _Problems, required: tuple[str, ...]) -> _Table | None:
    try:
        enc, first = _decode_check(raw)
    except UnicodeDecodeError as exc:
        probs.add(None, None, f"is neither UTF-8 nor Windows-1252 text (byte 0x{raw[exc.start]:02x} at "
                              f"position {exc.start} cannot be decoded); save it as UTF-8 CSV")
        return None
    counts = {s: first.count(s) for s in (";", ",", "\t")}
    sep = max(counts, key=counts.get) if any(counts.values()) else ","
    header = next(csv.reader([first], delimiter=sep))
    if not _check_header(header, probs, required):
        return None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            df = pd.read_csv(io.BytesIO(raw), sep=sep, dtype=object, keep_default_na=False, na_values=[""],
                             skip_blank_lines=False, encoding=enc, engine="c", on_bad_lines="warn",
                             index_col=False, header=0)
        except (pd.errors.ParserError, ValueError) as exc:
            probs.add(None, None, f"cannot be read as {_sepname(sep)}-separated text: "
                                  f"{_safe(str(exc).splitlines()[0], 200)}")
            return None
    skipped = []
    for w in caught:
        for m in re.finditer(r"line (\d+): expected (\d+) fields, saw (\d+)", str(w.message)):
            line, want, saw = map(int, m.groups())
            skipped.append(line)
            probs.add(line, None, f"has {saw} fields where the header has {want} "
                                  f"(a stray '{sep}' or an unquoted decimal comma?)")
    n = len(df)
    lines = np.arange(2, n + len(skipped) + 2)
    if skipped:
        lines = np.setdiff1d(lines, np.array(skipped))[:n]
    df.columns = [_norm_name(c) for c in df.columns]
    cols = {c: _Col.of(df[c]) for c in required}
    del df
    numeric = {c for c, col in cols.items()
               if len(col.uniq) and bool(pd.Series(col.uniq, dtype=object).str.fullmatch(r"\d+").all())}
    return _Table(cols, lines, numeric, sep)


def _sepname(sep: str) -> str:
    return {";": "semicolon", ",": "comma", "\t": "tab"}[sep]


def _norm_name(name) -> str:
    return str(name).strip().lower().lstrip("\ufeff")


def _check_header(header: list, probs: _Problems, required: tuple[str, ...]) -> bool:
    names = [_norm_name(h) for h in header]
    seen = set()
    ok = True
    for h in names:
        if h in seen and h in required:
            probs.add(1, h, "column appears twice in the header")
            ok = False
        seen.add(h)
    missing = [c for c in required if c not in seen]
    for c in missing:
        probs.add(1, c, f"required column is missing; the header has {', '.join(_safe(h, 30) for h in names)}; "
                        f"required are {', '.join(required)} (names are case-insensitive)")
    return ok and not missing


def _cell_text(v):
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return np.nan
    if isinstance(v, (_dt.datetime, pd.Timestamp)):
        if (v.hour, v.minute, v.second, v.microsecond) == (0, 0, 0, 0):
            return v.strftime("%Y-%m-%d")
        return v.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(v, _dt.date):
        return v.isoformat()
    if isinstance(v, bool):
        return str(int(v))
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        return str(int(v)) if float(v).is_integer() else repr(float(v))
    s = str(v)
    return s if s.strip() else np.nan


def _read_xlsx(path: Path, probs: _Problems, required: tuple[str, ...]) -> _Table | None:
    if not zipfile.is_zipfile(path):
        probs.add(None, None, "is not a valid Excel .xlsx workbook (not a zip archive); "
                              "save it again from Excel as .xlsx or as CSV")
        return None
    try:
        raw = pd.read_excel(path, sheet_name=0, header=None, dtype=object, engine="openpyxl",
                            keep_default_na=False, na_values=[""])
    except Exception as exc:  # openpyxl raises many types for damaged workbooks
        probs.add(None, None, f"cannot be read as an Excel workbook: {type(exc).__name__}")
        return None
    if raw.empty:
        probs.add(None, None, "the workbook's first sheet is empty (no header row)")
        return None
    header = [_cell_text(v) for v in raw.iloc[0].tolist()]
    header = ["" if isinstance(h, float) else h for h in header]
    if not _check_header(header, probs, required):
        return None
    body = raw.iloc[1:]
    names = [_norm_name(h) for h in header]
    cols, numeric = {}, set()
    for c in required:
        vals = body.iloc[:, names.index(c)]
        nonnull = [v for v in vals.tolist() if v is not None and not (isinstance(v, float) and np.isnan(v))]
        if nonnull and all(isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)
                           for v in nonnull):
            numeric.add(c)
        cols[c] = _Col.of(pd.Series([_cell_text(v) for v in vals.tolist()], dtype=object))
    lines = np.arange(2, len(body) + 2)
    return _Table(cols, lines, numeric, None)


def _load(path, kind: str, required: tuple[str, ...]) -> tuple[_Table | None, _Problems]:
    file = _scrub(str(path))
    probs = _Problems(file)
    p = Path(path)
    if not p.exists():
        probs.add(None, None, "file not found")
        return None, probs
    if not p.is_file():
        probs.add(None, None, "is not a file")
        return None, probs
    if p.suffix.lower() in (".xlsx", ".xlsm"):
        table = _read_xlsx(p, probs, required)
    elif p.suffix.lower() == ".xls":
        probs.add(None, None, "old Excel .xls files are not read; save it as .xlsx or CSV")
        return None, probs
    else:
        raw = p.read_bytes()
        if not raw.strip(b" \t\r\n\xef\xbb\xbf"):
            probs.add(None, None, f"the file is empty: a {kind} export needs a header row "
                                  f"with {list(required)}")
            return None, probs
        if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
            probs.add(None, None, "is UTF-16 text (Excel's 'Unicode text'); save it as 'CSV UTF-8' "
                                  "or CSV (semicolon separated)")
            return None, probs
        table = _read_csv(p, raw, probs, required)
    if table is None:
        return None, probs
    # drop blank lines (every field empty), keeping file line numbers
    blank = np.logical_and.reduce([c.codes < 0 for c in table.cols.values()])
    if blank.any():
        keep = ~blank
        table.cols = {k: c.take(keep) for k, c in table.cols.items()}
        table.lines = table.lines[keep]
    if len(table) < _MIN_ROWS[kind]:
        probs.add(None, None, f"has a header but no data rows; a {kind} export needs at least one row")
    probs.bind(table.lines)
    return table, probs


# --------------------------------------------------------------------------- vectorised value checks
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
    probs.add_rows(r_unform, col, lambda i: f"must be {_DATE_HELP}; got {_safe(uniq[codes[i]])}")
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


def _pseudonyms_for(cz: _Citizens, key: bytes) -> pd.Series:
    hashed = np.array([_hmac16(key, d) for d in cz.digits.tolist()] or [""], dtype=object)
    return pd.Series(_take(hashed, cz.codes, ""), dtype="str")


def _hmac16(key: bytes, digits: str) -> str:
    return hmac.new(key, digits.encode("ascii"), hashlib.sha256).hexdigest()[:16]


def _check_key(key) -> bytes:
    if not isinstance(key, (bytes, bytearray)) or len(key) < 16:
        given = f"{type(key).__name__} of length {len(key)}" if hasattr(key, "__len__") else type(key).__name__
        raise IntakeError([Problem("<key>", None, None,
                                   "`key` must be bytes of at least 16 bytes (KeyFile.pseudonym_key from "
                                   f"trial._keys.load_key_file); got {given}")])
    return bytes(key)


def _text_column(t: _Table, col: str, probs: _Problems) -> pd.Series:
    col_ = t.cols[col]
    probs.add_rows(np.flatnonzero(col_.codes < 0), col, lambda i: "value is missing")
    return pd.Series(col_.values(), dtype=object)


# --------------------------------------------------------------------------- public API
def pseudonymise(cpr_series: pd.Series, key: bytes) -> pd.Series:
    """Replace CPR numbers by keyed pseudonyms.

    Parameters
    ----------
    cpr_series : pandas.Series
        CPR numbers (``DDMMYY-SSSS`` or ``DDMMYYSSSS``; spaces ignored).
    key : bytes
        The secret pseudonymisation key (``KeyFile.pseudonym_key``), at least 16 bytes.

    Returns
    -------
    pandas.Series
        16 hexadecimal characters per number, same index. Two spellings of
        one number give the same pseudonym.

    Raises
    ------
    IntakeError
        A value is not a valid CPR number (masked in the message), or the key is unfit.

    Notes
    -----
    pseudonym = first 16 hex digits of HMAC-SHA256(key, the 10 digits as ASCII)
    (:rfc:`2104`). Only distinct numbers are hashed, then mapped back, so a
    weekly panel of millions of rows costs one hash per citizen. Without the
    key a pseudonym cannot be linked back to a person (64 bits of an HMAC).

    Examples
    --------
    >>> p = pseudonymise(pd.Series(["010180-1234", "0101801234"]), b"k" * 32)
    >>> p.iloc[0] == p.iloc[1], len(p.iloc[0])
    (True, 16)
    """
    key = _check_key(key)
    s = pd.Series(cpr_series, copy=False)
    codes, uniq = pd.factorize(s, use_na_sentinel=True)
    res = _cpr.parse(pd.Series(uniq, dtype="str"))
    name = str(s.name) if s.name is not None else "cpr"
    bad_u = res.reason.notna().to_numpy()
    if (codes < 0).any() or bad_u.any():
        probs = _Problems("<cpr_series>")
        for pos in np.flatnonzero((codes < 0) | _take(bad_u, codes, False)):
            why = "CPR number is missing" if codes[pos] < 0 else res.reason.iat[codes[pos]]
            probs.add(pos + 1, name, f"{why} (position {pos} in the series)")
        probs.raise_if_any()
    hashed = np.array([_hmac16(key, d) for d in res.digits.tolist()] or [""], dtype=object)
    return pd.Series(hashed[codes], index=s.index, dtype="str", name="pseudonym")


def _resolve_protocol(protocol):
    if protocol is None:
        from .protocol import load
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
        Largest week allowed (default: the protocol's ``analysis.follow_up_weeks``).

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
    hi = int(max_week) if max_week is not None else int(protocol.analysis.follow_up_weeks)
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
    target = []
    for u in uniq:
        u = str(u)
        target.append(smap.get(u) or upper.get(u.upper()) or (u if u in statuses else None))
    target_code = np.array([statuses.index(x) if x is not None else -1 for x in target], dtype=np.int64)
    probs.add_rows(np.flatnonzero(codes < 0), "status", lambda i: "status code is missing")
    allowed = ", ".join(smap)
    bad = np.flatnonzero((codes >= 0) & (_take(target_code, codes, -1) < 0))
    probs.add_rows(bad, "status", lambda i: f"unknown status code {_safe(uniq[codes[i]])}; allowed are the "
                                            f"protocol's source codes {allowed} or its status names")
    _check_weeks(cz, week, probs)
    probs.raise_if_any()
    cat = pd.Categorical.from_codes(_take(target_code, codes, -1), categories=statuses)
    out = pd.DataFrame({"pseudonym": _pseudonyms_for(cz, key), "week": week.astype("int64"), "status": cat})
    log.info("intake status: %d rows, %d citizens", len(out), len(cz.digits))
    return out


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


# --------------------------------------------------------------------------- check
@dataclass(frozen=True)
class IntakeSummary(Displayable):
    """What a valid export holds (from :func:`check`).

    Attributes
    ----------
    kind, file : str
        The export kind and the file checked.
    rows, citizens : int
        Data rows and distinct citizens.
    period : tuple of str or None
        First and last date (referrals, events, survey) or week (status).
    period_unit : str
        ``"date"`` or ``"week"``.
    counted : str
        What ``counts`` counts: ``referral_type``, ``status``, ``event`` or ``wave``.
    counts : Mapping[str, int]
        Rows per code (status and event: every protocol code, zeros included).
    protocol_fingerprint : str
        Fingerprint of the protocol the file was checked against.
    """

    kind: str
    file: str
    rows: int
    citizens: int
    period: tuple[str, str] | None
    period_unit: str
    counted: str
    counts: Mapping[str, int] = field(default_factory=dict)
    protocol_fingerprint: str = ""

    def to_dict(self) -> dict:
        return {
            "valid": True, "kind": self.kind, "file": self.file, "rows": self.rows,
            "citizens": self.citizens,
            "period": None if self.period is None else
            {"start": self.period[0], "end": self.period[1], "unit": self.period_unit},
            "counted": self.counted, "counts": dict(self.counts),
            "protocol_fingerprint": self.protocol_fingerprint,
        }

    def to_frame(self) -> pd.DataFrame:
        """One row per code: ``code, count, share``."""
        n = sum(self.counts.values())
        return pd.DataFrame({"code": list(self.counts), "count": list(self.counts.values()),
                             "share": [v / n if n else np.nan for v in self.counts.values()]})

    def summary(self) -> str:
        if self.period is None:
            per = "no dates"
        elif self.period_unit == "week":
            per = f"weeks {self.period[0]}–{self.period[1]}"
        else:
            per = f"{self.period[0]} to {self.period[1]}"
        lines = [f"{self.kind} export {self.file}: valid",
                 f"  rows {self.rows:,}, citizens {self.citizens:,}, period {per}",
                 f"  rows per {self.counted}:"]
        n = sum(self.counts.values())
        width = max((len(k) for k in self.counts), default=0)
        for k, v in self.counts.items():
            share = f"{100 * v / n:5.1f} %" if n else ""
            lines.append(f"    {k:<{width}}  {v:>10,}  {share}")
        return "\n".join(lines)


def _iso(x) -> str:
    return pd.Timestamp(x).date().isoformat()


def check(kind: str, path, *, protocol=None, max_week: int | None = None) -> IntakeSummary:
    """Validate an export without keeping anything: summary if valid, IntakeError if not.

    A throwaway random key pseudonymises the numbers (so the citizen count is
    exact); the key is never stored and the frame is discarded.

    Examples
    --------
    >>> from pathlib import Path
    >>> import trial
    >>> f = Path(trial.__file__).parents[1] / "tests" / "data" / "good" / "status_semicolon.csv"
    >>> s = check("status", f)
    >>> s.rows, s.citizens, s.period
    (12, 3, ('1', '4'))
    """
    protocol = _resolve_protocol(protocol)
    throwaway = secrets.token_bytes(32)
    if kind == "status":
        df = read_status(path, key=throwaway, protocol=protocol, max_week=max_week)
    else:
        df = read(kind, path, key=throwaway, protocol=protocol)
    citizens = int(df["pseudonym"].nunique())
    if kind == "referrals":
        dates = df["referral_date"]
        counted, counts = "referral_type", df["referral_type"].value_counts(sort=False)
        counts = {str(k): int(v) for k, v in sorted(counts.items())}
        period = (_iso(dates.min()), _iso(dates.max())) if len(df) else None
        unit = "date"
    elif kind == "status":
        counted = "status"
        counts = {str(k): int(v) for k, v in df["status"].value_counts(sort=False).items()}
        period = (str(int(df["week"].min())), str(int(df["week"].max()))) if len(df) else None
        unit = "week"
    elif kind == "events":
        counted = "event"
        vc = df["event"].value_counts()
        counts = {e: int(vc.get(e, 0)) for e in protocol.event_types}
        alld = pd.concat([df["start_date"], df["end_date"]]).dropna()
        period = (_iso(alld.min()), _iso(alld.max())) if len(alld) else None
        unit = "date"
    else:
        counted = "wave"
        vc = df["wave"].value_counts()
        counts = {str(w): int(vc.get(w, 0)) for w in protocol.survey_waves}
        d = df["date"].dropna()
        period = (_iso(d.min()), _iso(d.max())) if len(d) else None
        unit = "date"
    return IntakeSummary(kind=kind, file=_scrub(str(path)), rows=len(df), citizens=citizens, period=period,
                         period_unit=unit, counted=counted, counts=MappingProxyType(counts),
                         protocol_fingerprint=protocol.fingerprint)
