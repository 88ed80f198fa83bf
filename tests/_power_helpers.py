"""Helpers for the power and diagnosis tests: the R reference file."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

REFERENCE = Path(__file__).resolve().parent / "reference" / "power_r.csv"
ALT = {"two.sided": "two-sided", "greater": "greater", "less": "less"}


def r_reference(func: str, quantity: str | None = None) -> pd.DataFrame:
    """Rows of tests/reference/power_r.csv (written by tests/reference/power.R) for one R function."""
    df = pd.read_csv(REFERENCE, comment="#", dtype={"value": str})
    df["value"] = df["value"].astype(float)
    df["alternative"] = df["alternative"].map(ALT)
    out = df[df["func"] == func]
    if quantity is not None:
        out = out[out["quantity"] == quantity]
    assert len(out) > 0, f"no reference rows for {func} {quantity}"
    return out.reset_index(drop=True)


def r_header() -> str:
    return REFERENCE.read_text().splitlines()[0]
