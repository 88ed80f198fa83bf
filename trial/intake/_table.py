"""Private: :func:`read_table`, any table a Danish office exports, with typed columns."""
from __future__ import annotations

import logging
import re

import numpy as np
import pandas as pd

from ._problems import _Problems, _safe, _scrub
from ._read import _Col, _sheet
from ._validate import _DATE_FORMATS

log = logging.getLogger("trial.intake")

#: Cell texts read as missing by :func:`read_table` (besides an empty cell): R's, Excel's and SQL's spellings.
NA_TEXTS = ("NA", "N/A", "#N/A", "NaN", "nan", "NULL", "null")

_POINT_NUMBER = r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?"
_COMMA_NUMBER = r"[+-]?(\d{1,3}(\.\d{3})+|\d+)?(,\d+)?([eE][+-]?\d+)?"   # 1.234,5  12,5  ,5  1234  1,5e-07
_BOOL = {"true": 1.0, "false": 0.0}
_SCREEN = 64                       # distinct values a type is tried on before all of them


def read_table(path) -> pd.DataFrame:
    """Read a table (CSV or Excel) as Danish offices export it, with numbers and dates typed.

    The generic reader behind ``trial estimate --data`` and any other table
    a user hands over (one row per citizen, an R or Stata export, a
    spreadsheet). The four municipal exports, whose columns are fixed, are
    read and checked by :func:`read_referrals` and its siblings instead.

    Parameters
    ----------
    path : str or Path
        A CSV file (comma, semicolon or tab separated, sniffed from the header
        line; UTF-8, UTF-8 with BOM or Windows-1252; CRLF, LF or CR) or an Excel
        ``.xlsx`` workbook (first sheet, header in row 1).

    Returns
    -------
    pandas.DataFrame
        One column per header cell (names stripped of spaces, case kept), one
        row per non-blank line, in file order. Each column is typed on its
        own:

        * **numbers** when every non-missing cell is one: ``int64`` when all
          are whole and none is missing, else ``float64``. A column in which
          some cell has a comma uses the Danish notation (decimal comma,
          ``.`` only as a thousands separator: ``1.234,5`` = 1234.5); any
          other column the decimal point (``1234.5``, ``1e-3``). Spaces inside
          a number are ignored. A column mixing the two notations stays text.
        * ``TRUE``/``FALSE`` (any case, as R writes logicals): ``bool``, or
          ``float64`` 1/0 with NaN when some are missing.
        * **dates** when every non-missing cell is a date ``YYYY-MM-DD``,
          ``DD-MM-YYYY`` or ``DD.MM.YYYY`` (Excel date cells included) that
          exists: ``datetime64[ns]``.
        * otherwise **text** (``str``).

        Missing: an empty cell or one of :data:`NA_TEXTS`. Columns with an
        empty header and no values (trailing separators) are dropped.
        ``df.attrs["file_lines"]`` holds the file line (header = 1; the sheet
        row for Excel) of each row, so that messages can name rows as the
        user sees them in the file.

    Raises
    ------
    IntakeError
        Naming the file (CPR-like digits in its name masked): not found; not
        a file; empty; an old ``.xls``; UTF-16 or undecodable text; a damaged
        workbook; a name used twice in the header; a column with values but
        no name; a line with more fields than the header (each such line);
        no data rows.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> with tempfile.TemporaryDirectory() as d:
    ...     f = pathlib.Path(d) / "analyse.csv"
    ...     _ = f.write_text("z;y;gruppe;dato\\n1;2,5;a;03-10-2016\\n0;1.234,0;b;04-10-2016\\n", encoding="cp1252")
    ...     df = read_table(f)
    >>> df.dtypes.astype(str).tolist(), df["y"].tolist()
    (['int64', 'float64', 'str', 'datetime64[ns]'], [2.5, 1234.0])
    """
    probs = _Problems(_scrub(str(path)))
    sh = _sheet(path, probs, lambda h: _table_header_ok(h, probs),
                empty="the file is empty: a table needs a header row and data rows")
    probs.raise_if_any()
    names = [str(h).strip().lstrip("\ufeff").strip() for h in sh.header]
    cols = {j: _without_na_texts(_Col.of(sh.body[j])) for j in range(len(names))}
    for j, name in enumerate(names):
        if not name and (cols[j].codes >= 0).any():
            first = int(sh.lines[int(np.argmax(cols[j].codes >= 0))])
            probs.add(1, f"column {j + 1}", f"has values (the first in row {first}) but no name in the header")
    probs.raise_if_any()
    cols = {j: c for j, c in cols.items() if names[j]}     # unnamed and empty: trailing separators
    filled = np.logical_or.reduce([c.codes >= 0 for c in cols.values()]) if cols else np.zeros(len(sh.lines), bool)
    if not filled.any():
        probs.add(None, None, "has a header but no data rows")
        probs.raise_if_any()
    numeric_cells = sh.numeric_cells or set()
    out = pd.DataFrame({names[j]: _typed(c.take(filled), j in numeric_cells) for j, c in cols.items()})
    out.attrs["file_lines"] = tuple(int(v) for v in sh.lines[filled])   # a tuple: attrs are compared by ==
    log.info("read_table: %d rows, %d columns from %s", len(out), out.shape[1], _scrub(str(path)))
    return out


def _without_na_texts(col: _Col) -> _Col:
    na = np.isin(col.uniq.astype(str), NA_TEXTS) if len(col.uniq) else np.zeros(0, bool)
    if not na.any():
        return col
    keep = np.flatnonzero(~na)
    remap = np.full(len(col.uniq) + 1, -1, dtype=np.int64)
    remap[keep] = np.arange(len(keep))
    return _Col(remap[col.codes], col.uniq[keep])


def _table_header_ok(header: list, probs: _Problems) -> bool:
    seen: set = set()
    ok = True
    for h in header:
        name = str(h).strip().lstrip("\ufeff").strip()
        if name and name in seen:
            probs.add(1, name, f"column {_safe(name, 30)} appears twice in the header; each name once")
            ok = False
        seen.add(name)
    return ok


def _typed(col: _Col, number_cells: bool) -> pd.Series:
    """A factorized text column as numbers, booleans, dates or text; see :func:`read_table`.

    Each type is first tried on the first :data:`_SCREEN` distinct values, so
    a text column with many distinct values (names, pseudonyms) costs one
    pass, not one per candidate type.
    """
    codes, missing = col.codes, col.codes < 0
    if not len(col.uniq):
        return pd.Series(np.full(len(codes), np.nan))
    u = pd.Series(col.uniq, dtype=object).astype(str)
    comma = not number_cells and "," in "\n".join(u.tolist())
    if not np.isnan(_numbers(u[:_SCREEN], decimal_comma=comma)).any():
        val = _numbers(u, decimal_comma=comma)
        if not np.isnan(val).any():
            if not missing.any() and np.all(val == np.round(val)) and np.all(np.abs(val) < 2.0**53):
                return pd.Series(val.astype(np.int64)[codes])
            return pd.Series(np.append(val, np.nan)[codes])
    if len(u) <= len(_BOOL) * 2:
        low = u.str.lower()
        if low.isin(list(_BOOL)).all():
            v = np.append(low.map(_BOOL).to_numpy(dtype=float), np.nan)[codes]
            return pd.Series(v.astype(bool)) if not missing.any() else pd.Series(v)
    if not _dates(u[:_SCREEN]).isna().any():
        dates = _dates(u)
        if not dates.isna().any():
            return pd.Series(np.append(dates.to_numpy(), np.datetime64("NaT"))[codes].astype("datetime64[ns]"))
    return pd.Series(np.append(u.to_numpy(dtype=object), np.nan)[codes], dtype="str")


def _numbers(u: pd.Series, *, decimal_comma: bool) -> np.ndarray:
    """Distinct texts -> float (NaN where a text is not a number in the column's notation)."""
    t = u.str.replace(r"[ \u00a0]", "", regex=True) if re.search("[ \u00a0]", "".join(u.tolist())) else u
    if decimal_comma:
        ok = t.str.fullmatch(_COMMA_NUMBER) & t.str.contains(r"\d", regex=True)
        t = t.str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
    else:
        ok = t.str.fullmatch(_POINT_NUMBER)
    return pd.to_numeric(t.where(ok.fillna(False).astype(bool)), errors="coerce").to_numpy(dtype=float)


def _dates(u: pd.Series) -> pd.Series:
    """Distinct texts -> dates (NaT where a text is not an existing date in one of the formats)."""
    out = pd.Series(pd.NaT, index=u.index, dtype="datetime64[ns]")
    for rx, fmt in _DATE_FORMATS:
        hit = u.str.match(rx).fillna(False).astype(bool) & out.isna()
        if hit.any():
            out[hit] = pd.to_datetime(u[hit], format=fmt, errors="coerce")
    return out
