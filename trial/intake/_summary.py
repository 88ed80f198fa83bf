"""Private: :func:`check` (validate an export, keep nothing) and its :class:`IntakeSummary`."""
from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping

import numpy as np
import pandas as pd

from .._results import Displayable
from ._kinds import _resolve_protocol, read, read_status
from ._problems import _scrub


@dataclass(frozen=True)
class IntakeSummary(Displayable):
    """What a valid export holds (from :func:`check`).

    Attributes
    ----------
    kind, file : str
        The export kind and the file checked.
    rows, citizens : int
        Data rows and distinct citizens.
    period : tuple of str or None
        First and last date (referrals, events, survey) or week (status).
    period_unit : str
        ``"date"`` or ``"week"``.
    counted : str
        What ``counts`` counts: ``referral_type``, ``status``, ``event`` or ``wave``.
    counts : Mapping[str, int]
        Rows per code (status and event: every protocol code, zeros included).
    protocol_fingerprint : str
        Fingerprint of the protocol the file was checked against.
    """

    kind: str
    file: str
    rows: int
    citizens: int
    period: tuple[str, str] | None
    period_unit: str
    counted: str
    counts: Mapping[str, int] = field(default_factory=dict)
    protocol_fingerprint: str = ""

    def to_dict(self) -> dict:
        return {
            "valid": True, "kind": self.kind, "file": self.file, "rows": self.rows,
            "citizens": self.citizens,
            "period": None if self.period is None else
            {"start": self.period[0], "end": self.period[1], "unit": self.period_unit},
            "counted": self.counted, "counts": dict(self.counts),
            "protocol_fingerprint": self.protocol_fingerprint,
        }

    def to_frame(self) -> pd.DataFrame:
        """One row per code: ``code, count, share``."""
        n = sum(self.counts.values())
        return pd.DataFrame({"code": list(self.counts), "count": list(self.counts.values()),
                             "share": [v / n if n else np.nan for v in self.counts.values()]})

    def summary(self) -> str:
        if self.period is None:
            per = "no dates"
        elif self.period_unit == "week":
            per = f"weeks {self.period[0]}–{self.period[1]}"
        else:
            per = f"{self.period[0]} to {self.period[1]}"
        lines = [f"{self.kind} export {self.file}: valid",
                 f"  rows {self.rows:,}, citizens {self.citizens:,}, period {per}",
                 f"  rows per {self.counted}:"]
        n = sum(self.counts.values())
        width = max((len(k) for k in self.counts), default=0)
        for k, v in self.counts.items():
            share = f"{100 * v / n:5.1f} %" if n else ""
            lines.append(f"    {k:<{width}}  {v:>10,}  {share}")
        return "\n".join(lines)


def _iso(x) -> str:
    return pd.Timestamp(x).date().isoformat()


def check(kind: str, path, *, protocol=None, max_week: int | None = None) -> IntakeSummary:
    """Validate an export without keeping anything: summary if valid, IntakeError if not.

    A throwaway random key pseudonymises the numbers (so the citizen count is
    exact); the key is never stored and the frame is discarded.

    Examples
    --------
    >>> from pathlib import Path
    >>> import trial
    >>> f = Path(trial.__file__).parents[1] / "tests" / "data" / "good" / "status_semicolon.csv"
    >>> s = check("status", f)
    >>> s.rows, s.citizens, s.period
    (12, 3, ('1', '4'))
    """
    protocol = _resolve_protocol(protocol)
    throwaway = secrets.token_bytes(32)
    if kind == "status":
        df = read_status(path, key=throwaway, protocol=protocol, max_week=max_week)
    else:
        df = read(kind, path, key=throwaway, protocol=protocol)
    citizens = int(df["pseudonym"].nunique())
    if kind == "referrals":
        dates = df["referral_date"]
        counted, counts = "referral_type", df["referral_type"].value_counts(sort=False)
        counts = {str(k): int(v) for k, v in sorted(counts.items())}
        period = (_iso(dates.min()), _iso(dates.max())) if len(df) else None
        unit = "date"
    elif kind == "status":
        counted = "status"
        counts = {str(k): int(v) for k, v in df["status"].value_counts(sort=False).items()}
        period = (str(int(df["week"].min())), str(int(df["week"].max()))) if len(df) else None
        unit = "week"
    elif kind == "events":
        counted = "event"
        vc = df["event"].value_counts()
        counts = {e: int(vc.get(e, 0)) for e in protocol.event_types}
        alld = pd.concat([df["start_date"], df["end_date"]]).dropna()
        period = (_iso(alld.min()), _iso(alld.max())) if len(alld) else None
        unit = "date"
    else:
        counted = "wave"
        vc = df["wave"].value_counts()
        counts = {str(w): int(vc.get(w, 0)) for w in protocol.survey_waves}
        d = df["date"].dropna()
        period = (_iso(d.min()), _iso(d.max())) if len(d) else None
        unit = "date"
    return IntakeSummary(kind=kind, file=_scrub(str(path)), rows=len(df), citizens=citizens, period=period,
                         period_unit=unit, counted=counted, counts=MappingProxyType(counts),
                         protocol_fingerprint=protocol.fingerprint)
