"""CPR numbers (trial._cpr) and pseudonyms (trial.intake.pseudonymise).

References (independent of the code under test):

* the century rule and date validity: a scalar implementation written from
  CPR-kontoret's table with ``datetime.date`` (which rejects dates that do not
  exist), checked against the vectorised code over *every* DDMMYY for each
  7th digit 0-9 (exact enumeration, 372,000 cases);
* ages: ``dateutil.relativedelta`` (an independent calendar implementation);
* HMAC-SHA256: the RFC 2104 construction written out with ``hashlib``
  (ipad/opad), and the RFC 4231 test case 2 vector.

Exact comparisons only: there is no floating point here.
"""
from __future__ import annotations

import datetime as dt
import hashlib

import numpy as np
import pandas as pd
import pytest
from dateutil.relativedelta import relativedelta
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from trial import _cpr
from trial.exceptions import IntakeError
from trial.intake import pseudonymise


def reference_birth_date(cpr: str) -> dt.date | None:
    """Scalar reference: CPR-kontoret's century table + datetime.date."""
    dd, mm, yy, d7 = int(cpr[0:2]), int(cpr[2:4]), int(cpr[4:6]), int(cpr[6])
    if d7 in (0, 1, 2, 3):
        year = 1900 + yy
    elif d7 in (4, 9):
        year = (2000 if yy <= 36 else 1900) + yy
    else:  # 5, 6, 7, 8
        year = (2000 if yy <= 57 else 1800) + yy
    try:
        return dt.date(year, mm, dd)
    except ValueError:
        return None


def test_every_date_and_century_against_reference():
    dd, mm, yy = np.meshgrid(np.arange(1, 32), np.arange(0, 13), np.arange(0, 100), indexing="ij")
    base = np.char.add(np.char.add(np.char.zfill(dd.ravel().astype(str), 2), np.char.zfill(mm.ravel().astype(str), 2)),
                       np.char.zfill(yy.ravel().astype(str), 2))
    for d7 in range(10):
        numbers = np.char.add(base, f"{d7}123")
        got = _cpr.parse(pd.Series(numbers))
        ref = [reference_birth_date(c) for c in numbers.tolist()]
        ref_valid = np.array([r is not None for r in ref])
        assert (got.valid.to_numpy() == ref_valid).all(), d7
        got_dates = got.birth_date[ref_valid].dt.date.tolist()
        assert got_dates == [r for r in ref if r is not None], d7


@pytest.mark.parametrize("cpr, year", [
    ("010100-0000", 1900), ("010199-3999", 1999), ("010136-4000", 2036), ("010137-4000", 1937),
    ("010136-9000", 2036), ("010137-9999", 1937), ("010157-5000", 2057), ("010158-5000", 1858),
    ("010157-8999", 2057), ("010158-8000", 1858),
])
def test_century_boundaries(cpr, year):
    assert _cpr.birth_date(pd.Series([cpr])).dt.year.tolist() == [year]


def test_impossible_dates_named():
    r = _cpr.parse(pd.Series(["310299-1234", "290200-4123", "290200-1234", "290223-3456", "000180-1234"]))
    assert r.valid.tolist() == [False, True, False, False, False]  # 2000 leap, 1900 and 1923 not
    assert r.reason[0] == "CPR number 310299-XXXX has no valid birth date: 31 February 1999 does not exist"
    assert r.reason[2].endswith("29 February 1900 does not exist")
    assert r.reason[4].endswith("0 January 1980 does not exist")


def test_spellings_and_spaces():
    r = _cpr.parse(pd.Series(["010180-1235", "0101801235", " 010180 1235 ", "010180 - 1235"]))
    assert r.valid.all() and r.digits.nunique() == 1


@pytest.mark.parametrize("value", ["10180-1235", "010180--1235", "01018-01235", "0101801235x", "", "abc",
                                   "010180/1235", "01.01.80-1235", "101801235"])
def test_malformed_rejected(value):
    r = _cpr.parse(pd.Series([value]))
    assert not r.valid[0]
    assert r.reason[0] in ("CPR number is missing",) or "must be 10 digits" in r.reason[0]
    assert value.replace("-", "") not in r.reason[0] or len(value.replace("-", "")) < 7


def test_nine_digits_only_in_a_numeric_column():
    s = pd.Series(["101801235", "1502752468"])
    assert _cpr.parse(s).valid.tolist() == [False, True]
    r = _cpr.parse(s, numeric=True)
    assert r.valid.all() and r.digits.tolist() == ["0101801235", "1502752468"]
    assert not _cpr.parse(pd.Series(["12345678"]), numeric=True).valid[0]  # 8 digits never


def test_no_modulus_11_check():
    weights = np.array([4, 3, 2, 7, 6, 5, 4, 3, 2, 1])
    numbers = [f"010180{s:04d}" for s in range(0, 10000, 7)]
    mod11 = np.array([(np.array(list(map(int, n))) @ weights) % 11 == 0 for n in numbers])
    assert mod11.any() and (~mod11).any()
    assert _cpr.parse(pd.Series(numbers)).valid.all()


def test_sex_from_last_digit():
    s = pd.Series([f"010180-123{d}" for d in range(10)])
    assert _cpr.sex(s).tolist() == ["F", "M"] * 5


def test_mask_keeps_only_the_birth_date():
    s = pd.Series(["010180-1235", "0101801235", None, "12", "abcdefghij"])
    assert _cpr.mask(s).tolist() == ["010180-XXXX", "010180-XXXX", "XXXXXX-XXXX", "XXXXXX-XXXX", "XXXXXX-XXXX"]
    assert _cpr.mask("150275-2468") == "150275-XXXX"


@settings(max_examples=200, deadline=None)
@given(birth=st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2030, 12, 31)),
       on=st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2040, 12, 31)))
def test_age_matches_relativedelta(birth, on):
    assume(on >= birth)
    got = _cpr.age_at(pd.Series([pd.Timestamp(birth)]), pd.Series([pd.Timestamp(on)]))[0]
    assert got == relativedelta(on, birth).years


@settings(max_examples=200, deadline=None)
@given(birth=st.dates(min_value=dt.date(1858, 1, 1), max_value=dt.date(2036, 12, 31)),
       serial=st.integers(0, 999), odd=st.booleans())
def test_valid_numbers_round_trip(birth, serial, odd):
    """Any existing date with a 7th digit of the right century parses back to that date."""
    yy = birth.year % 100
    if birth.year < 1900:
        d7 = 5 + serial % 4                               # 5-8 with YY > 57
    elif birth.year < 2000:
        d7 = 9 if (yy > 36 and serial % 2) else serial % 4  # 0-3 always; 4/9 only when YY > 36
    else:
        d7 = (4, 9)[serial % 2] if yy <= 36 else 5 + serial % 4
    last = (serial % 5) * 2 + int(odd)
    cpr = f"{birth:%d%m}{yy:02d}-{d7}{serial % 100:02d}{last}"
    r = _cpr.parse(pd.Series([cpr]))
    assert r.valid[0] and r.birth_date[0].date() == birth
    assert r.sex[0] == ("M" if odd else "F")
    assert _cpr.mask(cpr) == cpr[:6] + "-XXXX"


# --------------------------------------------------------------------------- pseudonyms
def hmac_sha256_by_definition(key: bytes, msg: bytes) -> str:
    """RFC 2104: H((K ^ opad) || H((K ^ ipad) || m)), block size 64."""
    if len(key) > 64:
        key = hashlib.sha256(key).digest()
    key = key.ljust(64, b"\0")
    inner = hashlib.sha256(bytes(k ^ 0x36 for k in key) + msg).digest()
    return hashlib.sha256(bytes(k ^ 0x5C for k in key) + inner).hexdigest()


def test_hmac_reference_matches_rfc4231_case_2():
    assert hmac_sha256_by_definition(b"Jefe", b"what do ya want for nothing?") == \
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"


def test_pseudonym_is_truncated_hmac_of_the_ten_digits():
    key = bytes(range(32))
    p = pseudonymise(pd.Series(["010180-1235", "150275-2468", "0101801235", " 010180 1235"]), key)
    want = [hmac_sha256_by_definition(key, d.encode())[:16] for d in ["0101801235", "1502752468"]]
    assert p.tolist() == [want[0], want[1], want[0], want[0]]
    assert p.name == "pseudonym"


def test_pseudonym_depends_on_the_key():
    s = pd.Series(["010180-1235"])
    assert pseudonymise(s, b"a" * 32)[0] != pseudonymise(s, b"b" * 32)[0]


def test_pseudonymise_rejects_invalid_numbers_masked():
    with pytest.raises(IntakeError) as info:
        pseudonymise(pd.Series(["010180-1235", "310299-1234", None]), b"k" * 32)
    text = str(info.value)
    assert "310299-XXXX" in text and "3102991234" not in text and "310299-1234" not in text
    assert len(info.value.problems) == 2


@pytest.mark.parametrize("key", [b"short", "a string key of some length", None])
def test_pseudonymise_rejects_unfit_keys(key):
    with pytest.raises(IntakeError, match="`key` must be bytes of at least 16 bytes"):
        pseudonymise(pd.Series(["010180-1235"]), key)


def test_pseudonymise_many_rows_hashes_each_number_once(monkeypatch):
    import trial.intake._pseudonym as impl

    calls = []
    real = impl._hmac16
    monkeypatch.setattr(impl, "_hmac16", lambda k, d: calls.append(d) or real(k, d))
    s = pd.Series(["010180-1235", "150275-2468"] * 5000)
    p = pseudonymise(s, b"k" * 32)
    assert len(calls) == 2 and p.nunique() == 2 and len(p) == 10000
