"""Private: the analysis table behind ``trial estimate --data`` (one row per citizen).

Read by :func:`trial.intake.read_table`, the one reader of user tables (CSV
comma/semicolon/tab, decimal comma or point, UTF-8/BOM/Windows-1252, .xlsx;
numeric and date columns typed; errors are ``IntakeError`` naming the file).
Column names are stripped; lookups here are case-insensitive.
"""
from __future__ import annotations

import pandas as pd

from ..exceptions import IntakeError, Problem
from ..intake import read_table

__all__ = ["read_table", "resolve_column"]


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
