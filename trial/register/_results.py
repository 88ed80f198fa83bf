"""Result objects of the register: :class:`VerifyResult` (with :class:`VerifyProblem`) and :class:`EnrollResult`."""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from .._results import Displayable


@dataclass(frozen=True)
class VerifyProblem:
    """One defect found by :meth:`Register.verify` (``row`` names the row)."""

    table: str
    row: str
    message: str

    def __str__(self) -> str:
        return f"{self.table} {self.row}: {self.message}"

    def to_dict(self) -> dict:
        return {"table": self.table, "row": self.row, "message": self.message}


@dataclass(frozen=True)
class VerifyResult(Displayable):
    """Outcome of :meth:`Register.verify`: ``ok`` only when every check passed.

    ``head_hash`` is the hash of the last audit entry and ``n_audit`` the
    number of entries: published or recorded outside the register, they are
    the anchor against a rollback of its tail (see ``docs/register.md``).
    """

    register: str
    mode: str
    commitment: str
    problems: tuple[VerifyProblem, ...]
    checks: tuple[str, ...]
    allocations_recomputed: bool
    n_enrollments: int
    n_audit: int
    note: str = ""
    head_hash: str = ""

    @property
    def ok(self) -> bool:
        return not self.problems and self.allocations_recomputed

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([p.to_dict() for p in self.problems], columns=["table", "row", "message"])

    def to_dict(self) -> dict:
        return {"ok": self.ok, "register": self.register, "mode": self.mode, "commitment": self.commitment,
                "n_enrollments": self.n_enrollments, "n_audit_entries": self.n_audit, "n_audit": self.n_audit,
                "head_hash": self.head_hash,
                "allocations_recomputed": self.allocations_recomputed, "checks": list(self.checks),
                "problems": [p.to_dict() for p in self.problems], "note": self.note}

    def summary(self) -> str:
        head = f"Register {self.register} [{self.mode.upper()}]: " + ("OK" if self.ok else "FAILED")
        lines = [head, f"  commitment {self.commitment}",
                 f"  {self.n_enrollments} enrollments, {self.n_audit} audit entries",
                 f"  head hash {self.head_hash} (entry {self.n_audit}; record it outside the register)"]
        lines += [f"  checked: {c}" for c in self.checks]
        if self.note:
            lines.append(f"  note: {self.note}")
        if self.problems:
            lines.append(f"  {len(self.problems)} problem(s):")
            lines += [f"    {p}" for p in self.problems[:200]]
            if len(self.problems) > 200:
                lines.append(f"    ... and {len(self.problems) - 200} more")
        return "\n".join(lines)


@dataclass(frozen=True, eq=False)
class EnrollResult(Displayable):
    """What one call of :meth:`Register.enroll_frame` did.

    ``enrolled`` has one row per eligible referral of the input (``new`` False
    when it was enrolled before); ``screened`` one row per referral not
    enrolled, with the reason.
    """

    mode: str
    enrolled: pd.DataFrame
    screened: pd.DataFrame

    def to_frame(self) -> pd.DataFrame:
        return self.enrolled.copy()

    def records(self) -> list[dict]:
        """The CLI's JSON: pseudonym, stratum, arm (plus seq, new, mode)."""
        return [{"pseudonym": r.pseudonym, "stratum": r.stratum, "arm": r.arm, "seq": int(r.seq),
                 "new": bool(r.new), "mode": self.mode} for r in self.enrolled.itertuples()]

    def summary(self) -> str:
        e = self.enrolled
        lines = [f"[{self.mode.upper()} register] enrolled {int(e['new'].sum()) if len(e) else 0} new, "
                 f"{int((~e['new']).sum()) if len(e) else 0} already enrolled, {len(self.screened)} not enrolled"]
        for r in e.itertuples():
            lines.append(f"  {r.seq:>5}  {r.pseudonym}  {r.stratum:<14} {r.arm}" + ("" if r.new else "  (before)"))
        if len(self.screened):
            lines.append("  not enrolled:")
            for code, n in self.screened["reason_code"].value_counts().sort_index().items():
                lines.append(f"    {code:<18} {n}")
        return "\n".join(lines)

