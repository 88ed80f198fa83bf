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


class ParameterError(TrialError, ValueError):
    """A function or command argument is out of range or inconsistent.

    Parameters
    ----------
    parameter : str
        The argument's name as the user wrote it (``n_control``, ``--alpha``).
    message : str
        What is allowed and what was given, e.g. "must be a number in (0, 1); got 1.5".
    """

    def __init__(self, parameter: str, message: str):
        self.parameter = parameter
        self.message = message
        super().__init__(f"`{parameter}` {message}")


__all__ += ["ParameterError"]


class BusinessCaseError(TrialError):
    """A business-case file or argument is invalid.

    Parameters
    ----------
    key : str
        Dotted path of the offending key (``investment[2].amounts``) or the
        name of the offending parameter.
    message : str
        What is wrong: the allowed values and the value given.
    """

    def __init__(self, key: str, message: str, *, file: str | None = None):
        self.key = key
        self.message = message
        self.file = file
        where = f"{file}: " if file else ""
        super().__init__(f"{where}`{key}`: {message}")


__all__.append("BusinessCaseError")


class TrialWarning(UserWarning):
    """Something works but should be put right (e.g. a key file other users can read).

    The command line prints it as ``trial: warning: …`` on standard error.
    """


__all__ += ["TrialWarning"]
