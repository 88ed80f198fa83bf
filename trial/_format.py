"""Danish number and date formatting for everything the steering group reads.

Examples
--------
>>> fmt_number(1234.5, 1)
'1.234,5'
>>> fmt_number(-1482)
'-1.482'
>>> fmt_kr(1703781)
'1.703.781 kr.'
>>> fmt_mio_kr(1_200_000, 1)
'1,2 mio. kr.'
>>> fmt_pct(0.05)
'5 pct.'
>>> fmt_pct(0.125, 1)
'12,5 pct.'
>>> fmt_pp(0.031, 1)
'3,1 procentpoint'
>>> import datetime as dt
>>> fmt_date_da(dt.date(2017, 1, 1))
'1. januar 2017'
>>> fmt_number(float('nan'))
'–'
"""
from __future__ import annotations

import datetime as _dt
import math

__all__ = ["fmt_number", "fmt_kr", "fmt_mio_kr", "fmt_pct", "fmt_pp", "fmt_date_da", "MONTHS_DA"]

MONTHS_DA = ("januar", "februar", "marts", "april", "maj", "juni", "juli", "august",
             "september", "oktober", "november", "december")
_MISSING = "–"


def fmt_number(x: float | int | None, decimals: int = 0) -> str:
    """``1234.5 -> '1.234,5'``: thousands separator '.', decimal comma; NaN/None -> '–'."""
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return _MISSING
    s = f"{float(x):,.{decimals}f}"
    s = s.replace(",", "\u0000").replace(".", ",").replace("\u0000", ".")
    if s.startswith("-") and float(s.lstrip("-").replace(".", "").replace(",", ".") or 0) == 0:
        s = s[1:]  # no "-0"
    return s


def fmt_kr(x: float | None, decimals: int = 0) -> str:
    """Amount in kroner: ``'1.234 kr.'``."""
    return _MISSING if fmt_number(x) == _MISSING else f"{fmt_number(x, decimals)} kr."


def fmt_mio_kr(x: float | None, decimals: int = 1) -> str:
    """Amount in kroner shown in millions: ``1_200_000 -> '1,2 mio. kr.'``."""
    return _MISSING if fmt_number(x) == _MISSING else f"{fmt_number(x / 1e6, decimals)} mio. kr."


def fmt_pct(share: float | None, decimals: int = 0) -> str:
    """A share as Danish percent: ``0.05 -> '5 pct.'``."""
    return _MISSING if fmt_number(share) == _MISSING else f"{fmt_number(100 * share, decimals)} pct."


def fmt_pp(diff: float | None, decimals: int = 1) -> str:
    """A difference of shares in percentage points: ``0.031 -> '3,1 procentpoint'``."""
    return _MISSING if fmt_number(diff) == _MISSING else f"{fmt_number(100 * diff, decimals)} procentpoint"


def fmt_date_da(d: _dt.date | str) -> str:
    """``2017-01-01 -> '1. januar 2017'``."""
    if isinstance(d, str):
        d = _dt.date.fromisoformat(d[:10])
    return f"{d.day}. {MONTHS_DA[d.month - 1]} {d.year}"
