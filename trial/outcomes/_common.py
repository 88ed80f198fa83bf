"""Constants and small helpers shared by the outcome modules (private)."""
from __future__ import annotations

import datetime as _dt
from typing import Any, Sequence

import numpy as np
import pandas as pd

from ..exceptions import IntakeError, ParameterError, Problem

LONG_COLUMNS = ("pseudonym", "endpoint", "value", "time_weeks", "event", "exposure_years", "missing_reason")
DAYS_PER_YEAR = 365.25
WEEKS_PER_YEAR = 52
NOT_YET_OBSERVED = "not yet observed"
NO_STATUS_DATA = "no status data"
NOT_ANSWERED = "not answered"
NO_BASELINE = "no baseline answer"
NO_FOLLOW_UP = "no follow-up"
_DEFAULT_ATTRITION = ("moved_away", "died", "withdrawn")
_WITHDRAWN_DATE_COLUMNS = ("withdrawn_at", "withdrawal_date", "status_date", "status_changed_at")
_BIG = np.int64(2**40)  # "no limit" in days


def _reason_text(event: str) -> str:
    return str(event).replace("_", " ")


def _as_date(value: Any, name: str) -> _dt.date | None:
    if value is None:
        return None
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError):
        ts = pd.NaT
    if ts is pd.NaT or pd.isna(ts):
        raise ParameterError(name, f"must be a date written YYYY-MM-DD; got {value!r}")
    return ts.date()


def _frame_problem(frame: str, column: str | None, message: str) -> IntakeError:
    return IntakeError([Problem(file=f"{frame} frame", row=None, column=column, message=message)])


def _require(df: pd.DataFrame | None, frame: str, columns: Sequence[str]) -> pd.DataFrame:
    if df is None:
        return None
    if not isinstance(df, pd.DataFrame):
        raise ParameterError(frame, f"must be a pandas DataFrame; got {type(df).__name__}")
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise _frame_problem(frame, missing[0], f"column is required (needed: {', '.join(columns)}; "
                                                f"the frame has {', '.join(map(str, df.columns))})")
    return df


def _days(dates: pd.Series | np.ndarray) -> np.ndarray:
    """Dates -> int64 days since 1970-01-01 (NaT -> a large sentinel is *not* applied here)."""
    return pd.to_datetime(pd.Series(dates)).to_numpy(dtype="datetime64[D]").astype("int64")
