"""Values as the register stores them: dates, masked free text, JSON scalars and frames."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd

from ..exceptions import RegisterError


def _iso_date(value, name: str) -> str:
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError):
        ts = None
    if ts is None or pd.isna(ts):
        raise RegisterError(f"`{name}` must be a date (YYYY-MM-DD); got {value!r}")
    return ts.date().isoformat()


def _mask_text(text) -> str:
    """Free text as the register stores it: CPR-like numbers masked ``DDMMYY-XXXX``, also inside words.

    Defence in depth: intake already rejects a CPR-like number outside the
    ``cpr`` column, but texts reach the register from Python too
    (``withdraw(reason=...)``, frames built by hand).
    """
    from ..intake._problems import _scrub

    return _scrub(str(text))


def _clean(v):
    if v is None:
        return None
    if isinstance(v, float) and np.isnan(v):
        return None
    if v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, np.generic):
        return v.item()
    return v


def _int_or_none(v):
    v = _clean(v)
    if v is None:
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return int(f) if f.is_integer() else None


def _frame_to_json(frame: pd.DataFrame) -> str:
    cols, data = [], {}
    for c in frame.columns:
        s = frame[c]
        kind = "other"
        if pd.api.types.is_datetime64_any_dtype(s):
            kind = "datetime"
            vals = [None if pd.isna(v) else pd.Timestamp(v).isoformat() for v in s]
        elif isinstance(s.dtype, pd.CategoricalDtype):
            kind = "category"
            vals = [None if pd.isna(v) else _clean(v) for v in s.astype(object)]
        elif pd.api.types.is_bool_dtype(s):
            kind = "bool"
            vals = [bool(v) for v in s]
        elif pd.api.types.is_integer_dtype(s):
            kind = "int"
            vals = [None if pd.isna(v) else int(v) for v in s]
        elif pd.api.types.is_float_dtype(s):
            kind = "float"
            vals = [None if pd.isna(v) else float(v) for v in s]
        else:
            vals = [None if (v is None or (not isinstance(v, str) and pd.isna(v))) else _clean(v)
                    for v in s.astype(object)]
        cols.append([str(c), kind, list(s.cat.categories.astype(object)) if kind == "category" else None])
        data[str(c)] = vals
    return json.dumps({"columns": cols, "data": data}, ensure_ascii=False, default=str, allow_nan=False)


def _frame_from_json(text: str) -> pd.DataFrame:
    doc = json.loads(text)
    out = {}
    for name, kind, cats in doc["columns"]:
        v = doc["data"][name]
        if kind == "datetime":
            out[name] = pd.to_datetime(pd.Series(v, dtype=object))
        elif kind == "category":
            out[name] = pd.Categorical(v, categories=cats)
        elif kind == "int":
            s = pd.Series(v, dtype=object)
            out[name] = s.astype("int64") if s.notna().all() else s.astype("Int64")
        elif kind == "float":
            out[name] = pd.Series([np.nan if x is None else x for x in v], dtype=float)
        elif kind == "bool":
            out[name] = pd.Series(v, dtype=bool)
        else:
            out[name] = pd.Series(v) if len(v) else pd.Series(v, dtype=object)
    return pd.DataFrame(out)
