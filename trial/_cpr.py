"""Danish CPR numbers, vectorised over pandas Series: format, birth date, sex, mask.

A CPR number is ``DDMMYY-SSSS``: the birth date, then a four-digit serial
number whose first digit (the 7th digit of the number) fixes the century and
whose last digit gives the sex (odd: man, even: woman).

Rules implemented here (CPR-kontoret, "Personnummeret i CPR-systemet", 2008):

* accepted spellings: ``DDMMYY-SSSS`` and ``DDMMYYSSSS``; spaces anywhere are
  removed first. A number that Excel stored as a *number* has lost its leading
  zero (``0101801234`` becomes ``101801234``): 9 digits are left-padded with a
  zero **only** when the caller says the column is numeric (``numeric=True``:
  an Excel number cell, or a CSV column in which every value is digits only).
  Elsewhere 9 digits are a typing error and are rejected.
* century from the 7th digit: 0-3 → 1900; 4 and 9 → 2000 if YY ≤ 36 else 1900;
  5-8 → 2000 if YY ≤ 57 else 1800.
* the birth date must exist (310299 does not: February 1999 has 28 days).
* **no modulus-11 check**: since 2007 numbers that fail it are issued
  (the serial numbers ran out for some birth dates), so it must not reject.

Nothing here logs or formats a CPR number except :func:`mask`, which keeps only
the birth date: ``DDMMYY-XXXX``.
"""
from __future__ import annotations

import re

import numpy as np
import pandas as pd

__all__ = ["CPR_PATTERN", "CprParse", "parse", "mask", "birth_date", "sex", "age_at", "century"]

#: A CPR-like number in free text (used to scan outputs for leaks).
CPR_PATTERN = re.compile(r"\b(0[1-9]|[12][0-9]|3[01])(0[1-9]|1[0-2])[0-9]{2}-?[0-9]{4}\b")

_FORM = r"^(\d{6})-?(\d{4})$"
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
           "October", "November", "December")


class CprParse:
    """Result of :func:`parse` (aligned with the input Series).

    Attributes
    ----------
    digits : pandas.Series
        The 10 digits (str) where valid, missing otherwise.
    birth_date : pandas.Series
        datetime64 birth date where valid, NaT otherwise.
    sex : pandas.Series
        ``'M'`` (odd last digit) or ``'F'`` (even), missing where invalid.
    reason : pandas.Series
        ``None`` where valid; otherwise why, in words, with the number masked.
    """

    __slots__ = ("digits", "birth_date", "sex", "reason")

    def __init__(self, digits, birth_date, sex, reason):
        self.digits = digits
        self.birth_date = birth_date
        self.sex = sex
        self.reason = reason

    @property
    def valid(self) -> pd.Series:
        return self.reason.isna()


def century(yy, digit7) -> np.ndarray:
    """Century (1800, 1900 or 2000) of a CPR number from its year and 7th digit.

    Examples
    --------
    >>> century([99, 10, 10, 40, 58, 57], [0, 4, 5, 9, 5, 8]).tolist()
    [1900, 2000, 2000, 1900, 1800, 2000]
    """
    yy = np.asarray(yy, dtype=np.int64)
    d7 = np.asarray(digit7, dtype=np.int64)
    return np.select(
        [d7 <= 3, (d7 == 4) | (d7 == 9)],
        [np.full_like(yy, 1900), np.where(yy <= 36, 2000, 1900)],
        default=np.where(yy <= 57, 2000, 1800),
    )


def _days_in_month(year: np.ndarray, month: np.ndarray) -> np.ndarray:
    leap = ((year % 4 == 0) & (year % 100 != 0)) | (year % 400 == 0)
    dim = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])[np.clip(month, 1, 12) - 1]
    return np.where((month == 2) & leap, 29, dim)


def mask(cpr):
    """Mask a CPR number as ``DDMMYY-XXXX`` (scalar or Series).

    Only the birth date is kept; the serial number never appears. A value with
    fewer than six digits is masked completely.

    Examples
    --------
    >>> mask("010180-1234"), mask("0101801234"), mask("12"), mask(None)
    ('010180-XXXX', '010180-XXXX', 'XXXXXX-XXXX', 'XXXXXX-XXXX')
    """
    if isinstance(cpr, pd.Series):
        d = cpr.astype("str").str.replace(r"\D", "", regex=True)
        head = d.str.slice(0, 6)
        return head.where(d.str.len() >= 6, "XXXXXX").fillna("XXXXXX") + "-XXXX"
    if cpr is None or (isinstance(cpr, float) and np.isnan(cpr)):
        return "XXXXXX-XXXX"
    d = re.sub(r"\D", "", str(cpr))
    return (d[:6] if len(d) >= 6 else "XXXXXX") + "-XXXX"


def parse(values: pd.Series, *, numeric: bool = False) -> CprParse:
    """Validate CPR numbers and derive birth date and sex (vectorised).

    Parameters
    ----------
    values : pandas.Series
        CPR numbers as text (missing values allowed: they are reported).
    numeric : bool
        The column was stored as numbers (Excel): 9 digits are left-padded
        with a zero. Otherwise 9 digits are rejected.

    Returns
    -------
    CprParse
        Digits, birth date, sex and a reason per value (``None`` when valid).

    Notes
    -----
    No modulus-11 check (see the module docstring). Callers with many repeated
    numbers (a weekly panel) should pass the unique values only.

    Examples
    --------
    >>> r = parse(pd.Series(["010180-1235", "3102991234", "0101801234"]))
    >>> r.digits.tolist()[0], r.sex.tolist()[0], str(r.birth_date[0].date())
    ('0101801235', 'M', '1980-01-01')
    >>> r.reason[1]
    'CPR number 310299-XXXX has no valid birth date: 31 February 1999 does not exist'
    """
    s = pd.Series(values, copy=False)
    index = s.index
    missing = s.isna().to_numpy()
    text = s.astype("str").str.replace(r"\s+", "", regex=True)
    text = text.where(~missing, "")
    if numeric:
        nine = text.str.fullmatch(r"\d{9}").fillna(False).to_numpy(dtype=bool)
        text = text.where(~nine, "0" + text)
    parts = text.str.extract(_FORM)
    formed = parts[0].notna().to_numpy() & ~missing
    n = len(s)
    digits = np.full(n, None, dtype=object)
    reason = np.full(n, None, dtype=object)
    reason[missing] = "CPR number is missing"
    bad_form = ~formed & ~missing
    if bad_form.any():
        lengths = text.str.len().to_numpy()
        for i in np.flatnonzero(bad_form):
            reason[i] = ("CPR number must be 10 digits written DDMMYY-SSSS or DDMMYYSSSS; "
                         f"got a value of {lengths[i]} characters ({mask(text.iat[i])})")
    bdate = np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")
    sexes = np.full(n, None, dtype=object)
    if formed.any():
        d6 = parts[0].to_numpy()[formed].astype(str)
        s4 = parts[1].to_numpy()[formed].astype(str)
        num6 = d6.astype(np.int64)
        dd, mm, yy = num6 // 10000, (num6 // 100) % 100, num6 % 100
        num4 = s4.astype(np.int64)
        year = century(yy, num4 // 1000) + yy
        ok_month = (mm >= 1) & (mm <= 12)
        ok_day = (dd >= 1) & (dd <= _days_in_month(year, np.clip(mm, 1, 12)))
        ok = ok_month & ok_day
        pos = np.flatnonzero(formed)
        for j in np.flatnonzero(~ok):
            m = f"{d6[j]}-XXXX"
            if not ok_month[j]:
                why = f"month {mm[j]:02d} does not exist"
            else:
                why = f"{dd[j]} {_MONTHS[mm[j] - 1]} {year[j]} does not exist"
            reason[pos[j]] = f"CPR number {m} has no valid birth date: {why}"
        good = pos[ok]
        digits[good] = np.char.add(d6[ok], s4[ok])
        bdate[good] = pd.to_datetime(
            pd.DataFrame({"year": year[ok], "month": mm[ok], "day": dd[ok]})).to_numpy()
        sexes[good] = np.where(num4[ok] % 2 == 1, "M", "F")
    return CprParse(
        digits=pd.Series(digits, index=index, dtype="str"),
        birth_date=pd.Series(bdate, index=index),
        sex=pd.Series(sexes, index=index, dtype="str"),
        reason=pd.Series(reason, index=index, dtype="object"),
    )


def birth_date(cpr: pd.Series, *, numeric: bool = False) -> pd.Series:
    """Birth date (datetime64) of each CPR number; NaT where invalid.

    Examples
    --------
    >>> birth_date(pd.Series(["010140-4321", "010140-1234"])).dt.year.tolist()
    [1940, 1940]
    >>> birth_date(pd.Series(["010110-4321"])).dt.year.tolist()
    [2010]
    """
    return parse(cpr, numeric=numeric).birth_date


def sex(cpr: pd.Series, *, numeric: bool = False) -> pd.Series:
    """``'M'`` when the last digit is odd, ``'F'`` when even; missing where invalid.

    Examples
    --------
    >>> sex(pd.Series(["010180-1235", "010180-1234"])).tolist()
    ['M', 'F']
    """
    return parse(cpr, numeric=numeric).sex


def age_at(birth: pd.Series, date: pd.Series) -> pd.Series:
    """Age in whole years on ``date`` (birthday counted on the day itself).

    A person born 29 February is a year older on 1 March in a non-leap year.

    Examples
    --------
    >>> b = pd.to_datetime(pd.Series(["1980-03-01", "2000-02-29"]))
    >>> d = pd.to_datetime(pd.Series(["2016-02-29", "2017-03-01"]))
    >>> age_at(b, d).tolist()
    [35, 17]
    """
    b = pd.to_datetime(pd.Series(birth, copy=False))
    d = pd.to_datetime(pd.Series(date, copy=False))
    years = d.dt.year - b.dt.year
    before = (d.dt.month < b.dt.month) | ((d.dt.month == b.dt.month) & (d.dt.day < b.dt.day))
    return (years - before.astype("int64")).astype("Int64")
