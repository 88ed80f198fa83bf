"""Private: problems found in a file, collected and raised together; CPR-safe echoes of values."""
from __future__ import annotations

import re
from typing import Callable

import numpy as np

from ..exceptions import IntakeError, Problem

#: Problems listed in an IntakeError; the rest are counted.
MAX_PROBLEMS = 50


def _safe(value, width: int = 40) -> str:
    """A value fit for a message: CPR-like numbers masked, long values cut."""
    text = str(value)
    text = _scrub(text)
    text = re.sub(r"\d{9,}", lambda m: m.group(0)[:6] + "-XXXX", text)  # any long digit run
    if len(text) > width:
        text = text[:width] + "..."
    return repr(text)


_CPR_ANYWHERE = re.compile(r"(?<!\d)(?:0[1-9]|[12]\d|3[01])(?:0[1-9]|1[0-2])\d{2}-?\d{4}(?!\d)")


def _scrub(text: str) -> str:
    """``text`` with CPR-like numbers masked, also inside words (``borger_0101801235.csv``)."""
    return _CPR_ANYWHERE.sub(lambda m: m.group(0)[:6] + "-XXXX", str(text))


def _has_cpr(values) -> np.ndarray:
    """Per value (strings; NaN allowed): does it contain a CPR-like number, also inside words?"""
    import pandas as pd

    s = pd.Series(np.asarray(values, dtype=object), dtype=object)
    return s.astype("str").str.contains(_CPR_ANYWHERE).to_numpy(dtype=bool) & s.notna().to_numpy()


class _Problems:
    """Collects problems for one file: keeps the first ``limit`` per check, counts all."""

    def __init__(self, file: str, limit: int = MAX_PROBLEMS):
        self.file = file
        self.limit = limit
        self.items: list[Problem] = []
        self.total = 0
        self._skip: dict[str, np.ndarray] = {}

    def skip(self, column: str, rows: np.ndarray) -> None:
        """Report nothing more about these rows of ``column`` (their cell has a problem already)."""
        mask = self._skip.setdefault(column, np.zeros(len(self._lines), dtype=bool))
        mask[np.asarray(rows, dtype=np.int64)] = True

    def add(self, row, column, message) -> None:
        self.total += 1
        if len(self.items) < 10 * self.limit:
            self.items.append(Problem(self.file, None if row is None else int(row), column, message))

    def add_rows(self, rows: np.ndarray, column: str | None, message: Callable[[int], str]) -> None:
        """One problem per position in ``rows`` (row indices, ascending; ``message(i)`` per row).

        Only the first ``limit`` are kept (they are the earliest rows), all are counted.
        """
        rows = np.asarray(rows)
        if column in self._skip and len(rows):
            rows = rows[~self._skip[column][rows]]
        self.total += len(rows)
        for i in rows[: self.limit]:
            self.items.append(Problem(self.file, int(self._lines[i]), column, message(int(i))))

    def bind(self, lines: np.ndarray) -> None:
        self._lines = lines
        self._skip = {}

    def raise_if_any(self) -> None:
        if not self.total:
            return
        items = sorted(self.items, key=lambda p: (p.row is not None, p.row or 0))[: self.limit]
        raise IntakeError(items, truncated=self.total - len(items))

