"""Private: what a rehearsal returns (settings and the files written)."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

import pandas as pd

from .._results import Displayable


@dataclass(frozen=True)
class SimulationSettings:
    """What a rehearsal was simulated from (everything needed to repeat it).

    Attributes
    ----------
    seed : int
        The seed of every random stream.
    n_referrals : int
        Number of referrals simulated.
    effects : Mapping[str, float]
        Effect per endpoint actually simulated (treatment minus control, on
        the endpoint's scale); endpoints the model derives are absent.
    allocation : str
        ``"rehearsal complete randomization"`` or ``"given"``.
    protocol_fingerprint : str
    """

    seed: int
    n_referrals: int
    effects: Mapping[str, float]
    allocation: str
    protocol_fingerprint: str


@dataclass(frozen=True)
class RehearsalResult(Displayable):
    """Files written by :func:`rehearse`, with their SHA-256 checksums.

    Attributes
    ----------
    settings : SimulationSettings
    paths : Mapping[str, Path]
        ``referrals``, ``status``, ``events``, ``survey`` -> file written.
    checksums : Mapping[str, str]
        SHA-256 (hex) of each file.
    rows : Mapping[str, int]
        Data rows per file (header excluded).
    n_treatment, n_control, n_not_enrolled : int
    rates : pandas.DataFrame
        Realised control and treatment values of the endpoints the model
        calibrates (see :func:`observed_rates`).
    """

    settings: SimulationSettings
    paths: Mapping[str, Path]
    checksums: Mapping[str, str]
    rows: Mapping[str, int]
    n_treatment: int
    n_control: int
    n_not_enrolled: int
    rates: pd.DataFrame = field(repr=False)

    def to_frame(self) -> pd.DataFrame:
        """One row per file: ``file, path, rows, sha256``."""
        return pd.DataFrame({
            "file": list(self.paths),
            "path": [str(p) for p in self.paths.values()],
            "rows": [self.rows[k] for k in self.paths],
            "sha256": [self.checksums[k] for k in self.paths],
        })

    def summary(self) -> str:
        s = self.settings
        lines = [f"Rehearsal exports (seed {s.seed}, {s.n_referrals} referrals, allocation: {s.allocation})",
                 f"  enrolled: {self.n_treatment} treatment, {self.n_control} control; "
                 f"{self.n_not_enrolled} referrals not enrolled"]
        for k, p in self.paths.items():
            lines.append(f"  {k:<10} {self.rows[k]:>9} rows  {p}  sha256 {self.checksums[k][:16]}")
        if len(self.rates):
            lines.append("  endpoint                     untreated (n)       treatment (n)       target c / t")
            for r in self.rates.itertuples():
                lines.append(f"  {r.endpoint:<28} {_fmt(r.control_value):>8} ({r.n_control:>5})   "
                             f"{_fmt(r.treatment_value):>8} ({r.n_treatment:>5})   "
                             f"{_fmt(r.target_control)} / {_fmt(r.target_treatment)}")
        return "\n".join(lines)


def _fmt(x: float) -> str:
    if x is None or not math.isfinite(x):
        return "–"
    return f"{x:.3f}" if abs(x) < 10 else f"{x:.1f}"
