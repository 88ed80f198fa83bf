"""Private: a user file (CSV as municipalities export it, or .xlsx) read as a table of text.

Both the four fixed-schema exports (:func:`_load`) and the generic table
reader (:func:`trial.intake.read_table`) start here, so encoding, separator
and workbook handling, and every message about them, are written once.

* CSV: comma, semicolon or tab separated (the most frequent of the three in
  the header line); UTF-8, UTF-8 with BOM or Windows-1252 (UTF-8 is tried
  first); CRLF, LF or CR. Every cell is read as text by pandas' C parser.
* ``.xlsx``/``.xlsm``: the first sheet, header in row 1; cells are turned into
  the text a CSV export would hold (dates ``YYYY-MM-DD``, whole numbers
  without ``.0``), and the columns whose cells are all numbers are noted.
"""
from __future__ import annotations

import csv
import datetime as _dt
import io
import re
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from ._problems import _has_cpr, _Problems, _safe, _scrub

_MIN_ROWS = {"referrals": 1, "status": 1, "events": 0, "survey": 0}


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


@dataclass
class _Sheet:
    """A whole file as text: the header as written and every body cell (str, NaN = empty)."""

    header: list                 # header cells as written (str; "" for an empty cell)
    body: pd.DataFrame           # object columns, by position 0..k-1
    lines: np.ndarray            # file line of each body row (header = 1)
    numeric_cells: set | None    # .xlsx: positions of columns whose non-empty cells are all numbers
    sep: str | None              # CSV separator (None for .xlsx)


def _decode_check(raw: bytes) -> tuple[str, str]:
    """(encoding, first line) of CSV bytes: UTF-8 with BOM, UTF-8, else Windows-1252."""
    enc = "utf-8-sig" if raw.startswith(b"\xef\xbb\xbf") else "utf-8"
    try:
        raw.decode(enc)
    except UnicodeDecodeError:
        enc = "cp1252"
        raw.decode(enc)  # may fail too: the caller reports it
    # the header line ends at LF, CRLF or a lone CR (old Mac / "CSV (Macintosh)" exports)
    first = re.split(rb"\r\n|\n|\r", raw, maxsplit=1)[0].decode(enc)
    return enc, first


def _sepname(sep: str) -> str:
    return {";": "semicolon", ",": "comma", "\t": "tab"}[sep]


def _norm_name(name) -> str:
    return str(name).strip().lower().lstrip("\ufeff")


def _open(path, probs: _Problems, *, empty: str):
    """``("xlsx", Path)`` or ``("csv", bytes)``; None (with a problem) when the file cannot be a table."""
    p = Path(path)
    if not p.exists():
        probs.add(None, None, "file not found")
        return None
    if not p.is_file():
        probs.add(None, None, "is not a file")
        return None
    if p.suffix.lower() in (".xlsx", ".xlsm"):
        return "xlsx", p
    if p.suffix.lower() == ".xls":
        probs.add(None, None, "old Excel .xls files are not read; save it as .xlsx or CSV")
        return None
    raw = p.read_bytes()
    if not raw.strip(b" \t\r\n\xef\xbb\xbf"):
        probs.add(None, None, empty)
        return None
    if raw.startswith(b"PK\x03\x04"):
        probs.add(None, None, "is a zip archive, not text (an Excel .xlsx workbook under another name?); "
                              "rename it to end in .xlsx, or save it as CSV")
        return None
    if raw.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):      # OLE2: an old .xls under another name
        probs.add(None, None, "is an old Excel .xls workbook, not text; save it as .xlsx or CSV")
        return None
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        probs.add(None, None, "is UTF-16 text (Excel's 'Unicode text'); save it as 'CSV UTF-8' "
                              "or CSV (semicolon separated)")
        return None
    return "csv", raw


def _csv_sheet(raw: bytes, probs: _Problems, header_ok: Callable[[list], bool]) -> _Sheet | None:
    """Parse CSV bytes as text. ``header_ok(header)`` is asked before the body is parsed.

    Rows with a value beyond the header's columns are problems (their file
    lines are skipped, see :func:`_csv_wide`); the sheet is still returned so
    that later checks can run.
    """
    try:
        enc, first = _decode_check(raw)
    except UnicodeDecodeError as exc:
        probs.add(None, None, f"is neither UTF-8 nor Windows-1252 text (byte 0x{raw[exc.start]:02x} at "
                              f"position {exc.start} cannot be decoded); save it as UTF-8 CSV")
        return None
    counts = {s: first.count(s) for s in (";", ",", "\t")}
    sep = max(counts, key=counts.get) if any(counts.values()) else ","
    header = next(csv.reader([first], delimiter=sep))
    if not header_ok(header):
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
    if any("does not match length of data" in str(w.message) or "fields, saw" in str(w.message)
           for w in caught):
        # some line is longer than the header. pandas either skipped it or, when the first data
        # line was, sized the table by it and (index_col=False) cut the extra fields of every
        # line without a word: read again as wide as the widest line and judge each line
        return _csv_wide(raw, enc, sep, header, probs)
    lines = np.arange(2, len(df) + 2)
    if len(header) != df.shape[1]:            # a header the csv module splits otherwise (quoted line break)
        header = [str(c) for c in df.columns]
    df.columns = range(df.shape[1])
    return _Sheet(header, df, lines, None, sep)


def _csv_wide(raw: bytes, enc: str, sep: str, header: list, probs: _Problems) -> _Sheet:
    """Read CSV bytes in which some line has more fields than the header.

    pandas, sized by the header, would skip such a line; sized by a longer
    first data line (``index_col=False``), it would cut the extra fields of
    every line without a word. Here every line is read as wide as the widest
    one (one more field than its count of separators, an upper bound), so no
    field is lost: a line with a value beyond the header's columns is a
    problem and is skipped; empty trailing fields (separators at the end of a
    line, as some exports write) are not a problem.
    """
    sepb = sep.encode("ascii")
    width = 1 + max(line.count(sepb) for line in re.split(rb"\r\n|\n|\r", raw))
    want = len(header)
    df = pd.read_csv(io.BytesIO(raw), sep=sep, dtype=object, keep_default_na=False, na_values=[""],
                     skip_blank_lines=False, encoding=enc, engine="c", header=None, skiprows=1,
                     names=range(max(width, want)), index_col=False)
    filled = df.iloc[:, want:].notna().to_numpy()
    bad = filled.any(axis=1)
    lines = np.arange(2, len(df) + 2)
    for i in np.flatnonzero(bad):
        saw = want + 1 + int(np.flatnonzero(filled[i])[-1])
        probs.add(int(lines[i]), None, f"has {saw} fields where the header has {want} "
                                       f"(a stray '{sep}' or an unquoted decimal comma?)")
    body = df.iloc[~bad, :want].reset_index(drop=True)
    body.columns = range(want)
    return _Sheet(list(header), body, lines[~bad], None, sep)


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


def _is_number_cell(v) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)


def _xlsx_sheet(path: Path, probs: _Problems, header_ok: Callable[[list], bool]) -> _Sheet | None:
    """The first sheet of a workbook as text (see the module docstring)."""
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
    if not header_ok(header):
        return None
    body = raw.iloc[1:]
    cols, numeric = {}, set()
    for j in range(body.shape[1]):
        vals = body.iloc[:, j].tolist()
        nonnull = [v for v in vals if v is not None and not (isinstance(v, float) and np.isnan(v))]
        if nonnull and all(_is_number_cell(v) for v in nonnull):
            numeric.add(j)
        cols[j] = pd.Series([_cell_text(v) for v in vals], dtype=object)
    text = pd.DataFrame(cols, index=pd.RangeIndex(len(body)), columns=range(body.shape[1]))
    return _Sheet(header, text, np.arange(2, len(body) + 2), numeric, None)


def _sheet(path, probs: _Problems, header_ok: Callable[[list], bool], *, empty: str) -> _Sheet | None:
    """Open and read ``path`` as a :class:`_Sheet` (None, with problems, when it cannot be read)."""
    src = _open(path, probs, empty=empty)
    if src is None:
        return None
    fmt, obj = src
    if fmt == "xlsx":
        return _xlsx_sheet(obj, probs, header_ok)
    return _csv_sheet(obj, probs, header_ok)


# --------------------------------------------------------------------------- the four exports
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


def _load(path, kind: str, required: tuple[str, ...]) -> tuple[_Table | None, _Problems]:
    """Read an export of ``kind``: its required columns factorized, blank lines dropped, line numbers kept."""
    probs = _Problems(_scrub(str(path)))
    sh = _sheet(path, probs, lambda h: _check_header(h, probs, required),
                empty=f"the file is empty: {'an' if kind[0] in 'aeiou' else 'a'} {kind} export needs a header "
                      f"row with {list(required)}")
    if sh is None:
        return None, probs
    names = [_norm_name(h) for h in sh.header]
    pos = {c: names.index(c) for c in required}
    cols = {c: _Col.of(sh.body[pos[c]]) for c in required}
    if sh.numeric_cells is not None:               # Excel: number cells
        numeric = {c for c in required if pos[c] in sh.numeric_cells}
    else:                                          # CSV: digits only
        numeric = {c for c, col in cols.items()
                   if len(col.uniq) and bool(pd.Series(col.uniq, dtype=object).str.fullmatch(r"\d+").all())}
    table = _Table(cols, sh.lines, numeric, sh.sep)
    del sh
    # drop blank lines (every field empty), keeping file line numbers
    blank = np.logical_and.reduce([c.codes < 0 for c in table.cols.values()])
    if blank.any():
        keep = ~blank
        table.cols = {k: c.take(keep) for k, c in table.cols.items()}
        table.lines = table.lines[keep]
    if len(table) < _MIN_ROWS[kind]:
        probs.add(None, None, f"has a header but no data rows; a {kind} export needs at least one row")
    probs.bind(table.lines)
    _check_no_cpr_outside(table, probs)
    return table, probs


def _check_no_cpr_outside(table: _Table, probs: _Problems) -> None:
    """A CPR-like number in any column read other than ``cpr`` is a problem (one per cell).

    Free text (``referral_type``, a status code) would otherwise carry the
    number into the register and its messages. A cell of exactly nine
    digits is checked with a leading zero restored (Excel drops it from a
    number cell; no column but ``cpr`` has a valid nine-digit value). The
    check runs on the distinct values of each column; a cell reported here
    gets no further problem (its value is not echoed again, even masked).
    """
    for name, col in table.cols.items():
        if name == "cpr" or not len(col.uniq):
            continue
        hit = _has_cpr(col.uniq)
        # a cell of exactly 9 digits may be a CPR number that lost its leading zero (an Excel number cell);
        # no column other than cpr has a valid 9-digit value, so it is checked with the zero restored
        u = pd.Series(col.uniq, dtype=object).astype(str)
        nine = u.str.fullmatch(r"\d{9}").to_numpy(dtype=bool)
        if nine.any():
            hit |= nine & _has_cpr(("0" + u).to_numpy(dtype=object))
        if not hit.any():
            continue
        rows = np.flatnonzero(np.append(hit, False)[col.codes])
        uniq = np.where(nine, ("0" + u).to_numpy(dtype=object), col.uniq)   # shown masked as DDMMYY-XXXX
        codes = col.codes
        probs.add_rows(rows, name, lambda i: f"contains a CPR-like number ({_safe(uniq[codes[i]])}); only the "
                                             f"'cpr' column may hold CPR numbers: remove it from this column "
                                             f"and export the file again")
        probs.skip(name, rows)
