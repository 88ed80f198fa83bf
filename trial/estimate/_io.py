"""Private: the analysis table behind ``trial estimate --data`` (one row per citizen).

Read by :func:`trial.intake.read_table`, the one reader of user tables (CSV
comma/semicolon/tab, decimal comma or point, UTF-8/BOM/Windows-1252, .xlsx;
numeric and date columns typed; errors are ``IntakeError`` naming the file).
Column names are stripped; lookups here are case-insensitive. Rows in
messages are file lines (header = row 1), as everywhere in the toolkit.
"""
from __future__ import annotations

import re

import numpy as np
import pandas as pd

from ..exceptions import IntakeError, ParameterError, Problem
from ..intake import read_table
from ..intake._problems import _safe

__all__ = ["read_table", "resolve_column", "TREATMENT_LABELS", "treatment_codes", "with_file_rows"]

#: Texts accepted in the treatment column of ``trial estimate --data`` (case and surrounding spaces
#: ignored): the protocol's arm ids, the English and Danish words, and the usual spellings of 1/0.
TREATMENT_LABELS = {
    "deltagergruppe": 1, "treatment": 1, "behandling": 1, "1": 1, "1.0": 1, "true": 1,
    "kontrolgruppe": 0, "control": 0, "kontrol": 0, "0": 0, "0.0": 0, "false": 0,
}
_ALLOWED = ("0 (kontrolgruppe) or 1 (deltagergruppe), False/True, control/treatment, kontrol/behandling or the "
            "arm ids kontrolgruppe/deltagergruppe")
_MAX_PROBLEMS = 20


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


def _file_lines(df: pd.DataFrame) -> np.ndarray:
    """File line of each row (``read_table`` records them); row position + 2 when it did not."""
    lines = df.attrs.get("file_lines")
    if lines is None or len(lines) != len(df):
        return np.arange(2, len(df) + 2)
    return np.asarray(lines, dtype=np.int64)


def treatment_codes(df: pd.DataFrame, column: str, file: str) -> pd.DataFrame:
    """``df`` with ``column`` as int 0/1 (1 = deltagergruppe); a cell with any other value is a problem.

    Accepted (case and surrounding spaces ignored): see :data:`TREATMENT_LABELS`, and the numbers 1/0
    and booleans. Raises :class:`IntakeError` with one problem per bad cell (file line, column, value).
    """
    col = df[column]
    if pd.api.types.is_bool_dtype(col) or pd.api.types.is_numeric_dtype(col):
        z = pd.to_numeric(col).to_numpy(dtype=float, na_value=np.nan)
    else:
        z = col.astype("string").str.strip().str.lower().map(TREATMENT_LABELS).to_numpy(dtype=float,
                                                                                      na_value=np.nan)
    bad = np.flatnonzero(~np.isin(z, (0.0, 1.0)))
    if bad.size:
        lines = _file_lines(df)
        probs = [Problem(file, int(lines[i]), column,
                         ("is empty" if pd.isna(col.iloc[i]) else f"holds {_safe(col.iloc[i])}")
                         + f"; the treatment column must hold {_ALLOWED}") for i in bad[:_MAX_PROBLEMS]]
        raise IntakeError(probs, truncated=max(0, bad.size - _MAX_PROBLEMS))
    out = df.copy()
    out[column] = z.astype(np.int64)
    return out


_DATA_ROW = re.compile(r"\bdata row (\d+)\b")


def with_file_rows(exc: ParameterError, df: pd.DataFrame, file: str) -> ParameterError:
    """The estimator's error with its ``data row k`` (k-th row of the frame) as the file line, and the file."""
    lines = _file_lines(df)

    def line(m: re.Match) -> str:
        k = int(m.group(1))
        return f"row {lines[k - 1]}" if 1 <= k <= len(lines) else m.group(0)

    if not _DATA_ROW.search(exc.message):           # no row to translate: name the file, nothing about rows
        return ParameterError(exc.parameter, f"{exc.message} (file {file})")
    return ParameterError(exc.parameter, f"{_DATA_ROW.sub(line, exc.message)} (file {file}; rows are file lines, "
                                         f"header = row 1)")
