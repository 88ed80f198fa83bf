"""Domain errors of the toolkit.

Every error a user can cause is one of these, so the CLI can turn it into a
clear message and exit code 2 without a traceback.
"""
from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "TrialError",
    "ProtocolError",
    "IntakeError",
    "Problem",
    "RegisterError",
    "ConcurrencyError",
]


class TrialError(Exception):
    """Base class of all errors the toolkit raises on bad input."""

    exit_code = 2


class ProtocolError(TrialError):
    """A protocol file is invalid.

    Parameters
    ----------
    key : str
        Dotted path of the offending key, e.g. ``endpoints[2].type``.
    message : str
        What is wrong and how to fix it: allowed values and the value given.
    """

    def __init__(self, key: str, message: str, *, file: str | None = None):
        self.key = key
        self.message = message
        self.file = file
        where = f"{file}: " if file else ""
        super().__init__(f"{where}`{key}`: {message}")


@dataclass(frozen=True)
class Problem:
    """One defect found in a user file (row numbers are 1-based file lines)."""

    file: str
    row: int | None
    column: str | None
    message: str

    def __str__(self) -> str:
        parts = [self.file]
        if self.row is not None:
            parts.append(f"row {self.row}")
        if self.column is not None:
            parts.append(f"column '{self.column}'")
        return ", ".join(parts) + f": {self.message}"


class IntakeError(TrialError):
    """A municipal export failed validation; nothing was written.

    ``problems`` lists every defect found (up to a limit), each naming the
    file, row and column. Messages never contain a CPR number: rows are
    named by number and CPR numbers are masked as ``DDMMYY-XXXX``.
    """

    def __init__(self, problems: list[Problem], *, truncated: int = 0):
        self.problems = list(problems)
        self.truncated = truncated
        lines = [str(p) for p in self.problems]
        if truncated:
            lines.append(f"... and {truncated} more problems")
        head = f"{len(self.problems) + truncated} problem(s) found"
        super().__init__(head + ":\n  " + "\n  ".join(lines))


class RegisterError(TrialError):
    """The trial register cannot do what was asked (wrong mode, missing key, ...)."""


class ConcurrencyError(RegisterError):
    """A concurrent writer held the register too long; retry."""
