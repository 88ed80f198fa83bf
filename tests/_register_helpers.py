"""Helpers for the register tests: synthetic referral frames (after intake) and protocols."""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd

from trial._keys import KeyFile
from trial.protocol import DEFAULT_PROTOCOL, loads


def referrals(n: int, seed: int, *, start: str = "2016-10-01", prefix: str = "", eligible_only: bool = False,
              ) -> pd.DataFrame:
    """A referrals frame as trial.intake.read_referrals returns it (pseudonyms, no CPR)."""
    rng = np.random.default_rng(seed)
    age = rng.integers(18, 65, n) if eligible_only else rng.integers(16, 68, n)
    muni = np.full(n, 101) if eligible_only else rng.choice([101, 101, 101, 101, 147], n)
    return pd.DataFrame({
        "pseudonym": [hashlib.sha256(f"{prefix}{seed}-{i}".encode()).hexdigest()[:16] for i in range(n)],
        "referral_date": pd.Timestamp(start) + pd.to_timedelta(np.sort(rng.integers(0, 365, n)), unit="D"),
        "age": age, "sex": rng.choice(["M", "F"], n), "municipality_code": muni,
        "referral_type": "ressourceforloeb", "prior_forloeb": rng.integers(0, 2, n),
        "months_on_benefit": rng.uniform(0, 36, n).round(1), "psych_contact_12m": rng.integers(0, 2, n),
        "source_row": np.arange(2, n + 2),
    })


def key(i: int = 0, path: str = "test.key") -> KeyFile:
    h = hashlib.sha256(f"register-test-key-{i}".encode()).digest()
    return KeyFile(path, hashlib.sha256(h + b"p").digest(), hashlib.sha256(h + b"a").digest())


def protocol_with(**allocation) -> "object":
    """The shipped protocol with some [allocation]/[[arms]] values replaced (capacity=None removes it)."""
    text = Path(DEFAULT_PROTOCOL).read_text(encoding="utf-8")
    for k, v in allocation.items():
        if k == "capacity":
            text = text.replace("capacity = 100\n", "" if v is None else f"capacity = {v}\n")
            continue
        lines = text.splitlines()
        for i, line in enumerate(lines):
            if line.split("=")[0].strip() == k and not line.startswith("#"):
                lines[i] = f"{k} = {v!r}".replace("'", '"')
                break
        else:
            raise KeyError(k)
        text = "\n".join(lines) + "\n"
    return loads(text, path="test-protocol.toml")
