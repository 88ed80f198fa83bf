"""Private: read a tidy analysis file (one row per citizen) for ``trial estimate``.

CSV (comma, semicolon or tab; decimal point or comma; UTF-8, UTF-8 with BOM
or Windows-1252) or Excel (.xlsx, first sheet). Column names are stripped;
lookups are case-insensitive. (``trial.intake`` reads the municipal exports
with fixed schemas; this reads any analysis table.)
"""
from __future__ import annotations

import csv
import io
from pathlib import Path

import pandas as pd

from ..exceptions import IntakeError, Problem


def read_table(path) -> pd.DataFrame:
    p = Path(path)
    if not p.exists():
        raise IntakeError([Problem(str(p), None, None, "file not found")])
    if p.suffix.lower() in (".xlsx", ".xlsm"):
        try:
            df = pd.read_excel(p, sheet_name=0)
        except Exception as exc:  # noqa: BLE001 - any unreadable workbook
            raise IntakeError([Problem(str(p), None, None, f"cannot read the Excel file ({type(exc).__name__})")])
    else:
        raw = p.read_bytes()
        for enc in ("utf-8-sig", "cp1252"):
            try:
                text = raw.decode(enc)
                break
            except UnicodeDecodeError:
                continue
        if not text.strip():
            raise IntakeError([Problem(str(p), None, None, "the file is empty")])
        head = "\n".join(text.splitlines()[:20])
        try:
            sep = csv.Sniffer().sniff(head, delimiters=",;\t").delimiter
        except csv.Error:
            sep = ","
        decimal = "," if sep in (";", "\t") and _has_decimal_comma(text, sep) else "."
        try:
            df = pd.read_csv(io.StringIO(text), sep=sep, decimal=decimal,
                             thousands="." if decimal == "," else None)
        except Exception as exc:  # noqa: BLE001
            raise IntakeError([Problem(str(p), None, None, f"cannot parse as CSV ({type(exc).__name__})")])
    df.columns = [str(c).strip() for c in df.columns]
    if len(df) == 0:
        raise IntakeError([Problem(str(p), None, None, "no data rows under the header")])
    return df


def _has_decimal_comma(text: str, sep: str) -> bool:
    import re

    body = "\n".join(text.splitlines()[1:200])
    return re.search(r"(^|" + re.escape(sep) + r")\s*-?\d+,\d+\s*(" + re.escape(sep) + r"|$)", body, re.M) is not None


def resolve_column(df: pd.DataFrame, name: str | None, option: str, file: str) -> str | None:
    """Exact or case-insensitive column match; a missing one is an IntakeError naming file and column."""
    if name is None:
        return None
    if name in df.columns:
        return name
    low = {c.lower(): c for c in df.columns}
    if name.strip().lower() in low:
        return low[name.strip().lower()]
    raise IntakeError([Problem(file, None, name, f"column given by {option} is not in the file; columns are: "
                                                  f"{', '.join(map(str, df.columns))}")])
