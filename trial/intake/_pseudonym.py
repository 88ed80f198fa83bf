"""Private: CPR number -> keyed pseudonym (HMAC-SHA256, RFC 2104), one hash per distinct number."""
from __future__ import annotations

import hashlib
import hmac

import numpy as np
import pandas as pd

from .. import _cpr
from ..exceptions import IntakeError, Problem
from ._problems import _Problems
from ._validate import _Citizens, _take


def _pseudonyms_for(cz: _Citizens, key: bytes) -> pd.Series:
    hashed = np.array([_hmac16(key, d) for d in cz.digits.tolist()] or [""], dtype=object)
    return pd.Series(_take(hashed, cz.codes, ""), dtype="str")


def _hmac16(key: bytes, digits: str) -> str:
    return hmac.new(key, digits.encode("ascii"), hashlib.sha256).hexdigest()[:16]


def _check_key(key) -> bytes:
    if not isinstance(key, (bytes, bytearray)) or len(key) < 16:
        given = f"{type(key).__name__} of length {len(key)}" if hasattr(key, "__len__") else type(key).__name__
        raise IntakeError([Problem("<key>", None, None,
                                   "`key` must be bytes of at least 16 bytes (KeyFile.pseudonym_key from "
                                   f"trial._keys.load_key_file); got {given}")])
    return bytes(key)



def pseudonymise(cpr_series: pd.Series, key: bytes) -> pd.Series:
    """Replace CPR numbers by keyed pseudonyms.

    Parameters
    ----------
    cpr_series : pandas.Series
        CPR numbers (``DDMMYY-SSSS`` or ``DDMMYYSSSS``; spaces ignored).
    key : bytes
        The secret pseudonymisation key (``KeyFile.pseudonym_key``), at least 16 bytes.

    Returns
    -------
    pandas.Series
        16 hexadecimal characters per number, same index. Two spellings of
        one number give the same pseudonym.

    Raises
    ------
    IntakeError
        A value is not a valid CPR number (masked in the message), or the key is unfit.

    Notes
    -----
    pseudonym = first 16 hex digits of HMAC-SHA256(key, the 10 digits as ASCII)
    (:rfc:`2104`). Only distinct numbers are hashed, then mapped back, so a
    weekly panel of millions of rows costs one hash per citizen. Without the
    key a pseudonym cannot be linked back to a person (64 bits of an HMAC).

    Examples
    --------
    >>> p = pseudonymise(pd.Series(["010180-1234", "0101801234"]), b"k" * 32)
    >>> p.iloc[0] == p.iloc[1], len(p.iloc[0])
    (True, 16)
    """
    key = _check_key(key)
    s = pd.Series(cpr_series, copy=False)
    codes, uniq = pd.factorize(s, use_na_sentinel=True)
    res = _cpr.parse(pd.Series(uniq, dtype="str"))
    name = str(s.name) if s.name is not None else "cpr"
    bad_u = res.reason.notna().to_numpy()
    if (codes < 0).any() or bad_u.any():
        probs = _Problems("<cpr_series>")
        for pos in np.flatnonzero((codes < 0) | _take(bad_u, codes, False)):
            why = "CPR number is missing" if codes[pos] < 0 else res.reason.iat[codes[pos]]
            probs.add(pos + 1, name, f"{why} (position {pos} in the series)")
        probs.raise_if_any()
    hashed = np.array([_hmac16(key, d) for d in res.digits.tolist()] or [""], dtype=object)
    return pd.Series(hashed[codes], index=s.index, dtype="str", name="pseudonym")

