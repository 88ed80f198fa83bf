"""Disclosure control for count tables (primary and complementary suppression).

The steering group's report never shows a count of 1 to ``min_cell - 1``
citizens, and never lets a hidden count be worked out from the totals that are
shown. The rules follow Statistics Denmark's practice for tables of persons:

* **Primary suppression.** A cell (or a margin) holding 1 to ``min_cell - 1``
  citizens is hidden. A **zero is shown**: an empty cell is a structural fact
  about the table, not a small group of people, and hiding zeros would force
  far more complementary suppression without protecting anyone.
* **Complementary suppression.** Every row and every column (margins included)
  that has a hidden cell must have at least two, so the hidden cell cannot be
  found by subtracting the shown cells from the shown total. The second cell
  is the smallest positive shown cell of the line (a zero only when no positive
  cell is left, the total only when nothing else is left).
* **Audit.** After suppression, each hidden cell's feasible range is computed by
  linear programming (:func:`scipy.optimize.linprog`) over all tables with the
  shown cells and shown totals, against a reader who knows the rules: zeros are
  shown, so a hidden positive cell is at least 1 (a hidden zero, possible only as
  a last-resort complement, at least 0). Without that bound a line "x, 6, x;
  total 8" passes (each x in 0..2) although every reader sees that both x are 1.
  (No upper bound: a reader cannot tell a small cell from its complement, and a
  table hidden whole would otherwise fail.) The constraint matrix is totally
  unimodular and the bounds whole numbers, so the polytope is integral and a range of width > 0
  means at least two whole-number values fit. If some range has width 0 (a
  pattern that the row/column rule misses), another cell is hidden and the
  audit repeated.

``min_cell`` comes from the protocol (``report.min_cell``, default 5) and is
never below 3.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..exceptions import TrialError

__all__ = ["SuppressedTable", "suppress", "cell_bounds", "check_min_cell", "MIN_CELL_FLOOR", "HIDDEN"]

MIN_CELL_FLOOR = 3
HIDDEN = "x"
TOTAL = "I alt"


class DisclosureError(TrialError):
    """Bad input to disclosure control (kept local; a TrialError, so the CLI exits 2)."""


def check_min_cell(min_cell) -> int:
    """Validate ``min_cell``: a whole number of at least 3."""
    if isinstance(min_cell, bool) or not isinstance(min_cell, (int, np.integer)) or min_cell < MIN_CELL_FLOOR:
        raise DisclosureError(
            f"`min_cell` must be a whole number of at least {MIN_CELL_FLOOR} (counts below it are hidden); "
            f"got {min_cell!r}")
    return int(min_cell)


@dataclass(frozen=True)
class SuppressedTable:
    """A count table with margins and a mask of hidden cells.

    Attributes
    ----------
    counts : DataFrame
        The full table including the margin row and column (labelled ``total_label``).
        Holds the true counts: never print it, print :meth:`display` instead.
    hidden : DataFrame of bool
        Same shape: True where a cell is suppressed.
    primary : DataFrame of bool
        True where a cell was hidden because it is small (the rest of ``hidden``
        is complementary).
    min_cell : int
    """

    counts: pd.DataFrame = field(repr=False)
    hidden: pd.DataFrame
    primary: pd.DataFrame
    min_cell: int
    total_label: str = TOTAL
    row_totals: bool = True

    @property
    def n_hidden(self) -> int:
        return int(self.hidden.to_numpy().sum())

    def display(self, mark: str = HIDDEN, fmt=None) -> pd.DataFrame:
        """The table as strings with hidden cells replaced by ``mark``."""
        fmt = fmt or (lambda v: f"{int(v):,}".replace(",", "."))
        out = self.counts.map(fmt).astype(object)
        out = out.mask(self.hidden.to_numpy(), mark)
        return out

    def shown(self) -> pd.DataFrame:
        """The counts with hidden cells as ``pd.NA`` (nullable integers)."""
        return self.counts.astype("Int64").mask(self.hidden.to_numpy())

    def bounds(self) -> pd.DataFrame:
        """Feasible (low, high) range of every hidden cell given what is shown."""
        return cell_bounds(self)

    def to_dict(self) -> dict:
        """JSON-ready form without the hidden values."""
        return {"index": [str(i) for i in self.counts.index], "columns": [str(c) for c in self.counts.columns],
                "values": [[None if h else int(v) for v, h in zip(rv, rh)]
                           for rv, rh in zip(self.counts.to_numpy().tolist(), self.hidden.to_numpy().tolist())],
                "min_cell": self.min_cell}


def _validate_table(table) -> pd.DataFrame:
    if not isinstance(table, pd.DataFrame):
        raise DisclosureError(f"`table` must be a pandas DataFrame of counts; got {type(table).__name__}")
    if table.shape[0] == 0 or table.shape[1] == 0:
        raise DisclosureError(f"`table` must have at least one row and one column; got shape {table.shape}")
    vals = table.to_numpy(dtype=float, na_value=np.nan)
    if not np.all(np.isfinite(vals)) or np.any(vals < 0) or np.any(vals != np.round(vals)):
        bad = np.argwhere(~np.isfinite(vals) | (vals < 0) | (vals != np.round(vals)))[0]
        raise DisclosureError(
            f"`table` must hold whole, non-negative counts; got {table.iat[bad[0], bad[1]]!r} "
            f"in row {table.index[bad[0]]!r}, column {table.columns[bad[1]]!r}")
    return table.astype("int64")


def suppress(table: pd.DataFrame, min_cell: int = 5, *, total_label: str = TOTAL,
             row_totals: bool = True) -> SuppressedTable:
    """Suppress small counts in a two-way table and protect them from the margins.

    Parameters
    ----------
    table : DataFrame
        Inner cells only (whole, non-negative counts); row and column totals
        are added here and are treated as published unless they are small.
    min_cell : int, default 5
        Counts from 1 to ``min_cell - 1`` are hidden. At least 3.
    total_label : str
        Label of the margin row and column.
    row_totals : bool, default True
        Whether the row totals (and the grand total) are published. False for
        a table whose rows are shown only column by column, such as the flow
        diagram's reasons for loss per arm: the reader then knows each column's
        cells and its total, and nothing ties the columns together, so only the
        columns are protected and audited (the margin column is still computed,
        never shown).

    Returns
    -------
    SuppressedTable

    Notes
    -----
    Line rule: in every line (row or column of the table with margins) the
    number of hidden cells is 0 or at least 2. The audit then computes, for
    every hidden cell :math:`x_k`, :math:`\\min x_k` and :math:`\\max x_k`
    subject to every shown row, column and grand total, shown cells fixed,
    :math:`x \\ge 1` for a hidden positive cell (zeros are shown, so a reader
    knows it) and :math:`x \\ge 0` for a hidden zero; any range of width 0 triggers one more suppression.
    This is the usual "cell suppression problem" heuristic (cf. R package
    ``sdcTable``, method ``"SIMPLEHEURISTIC"``), audited exactly.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"A": [2, 40], "B": [30, 50]}, index=["r1", "r2"])
    >>> s = suppress(t, 5)
    >>> s.display().loc["r1", "A"], s.n_hidden
    ('x', 4)
    """
    min_cell = check_min_cell(min_cell)
    inner = _validate_table(table)
    full = inner.copy()
    full[total_label] = inner.sum(axis=1)
    full.loc[total_label] = full.sum(axis=0)
    vals = full.to_numpy()
    primary = (vals >= 1) & (vals < min_cell)
    hidden = primary.copy()
    nr, nc = vals.shape
    lines = _lines(*vals.shape, row_totals)
    for _ in range(vals.size + 1):
        changed = _line_rule(vals, hidden, lines)
        if not changed:
            weak = _weak_cells(vals, hidden, lines)
            if not weak:
                break
            _hide_more(vals, hidden, weak[0], lines)
    res = SuppressedTable(counts=full, hidden=pd.DataFrame(hidden, index=full.index, columns=full.columns),
                          primary=pd.DataFrame(primary, index=full.index, columns=full.columns),
                          min_cell=min_cell, total_label=total_label, row_totals=row_totals)
    return res


def _pick(vals, hidden, cells):
    """Best complementary cell among candidate (i, j): smallest positive, then zero; inner before margins."""
    nr, nc = vals.shape
    cand = [(i, j) for i, j in cells if not hidden[i, j]]
    if not cand:
        return None

    def key(c):
        i, j = c
        is_margin = (i == nr - 1) or (j == nc - 1)
        v = vals[i, j]
        return (is_margin, v == 0, v)

    return min(cand, key=key)


def _lines(nr: int, nc: int, row_totals: bool = True) -> list[list[tuple[int, int]]]:
    """The published additive lines of a table with margins: cells first, the line's total last.

    Rows 0..nr-1 and columns 0..nc-1 of the full table (margins last). Without
    published row totals only the inner columns remain (cells and column total).
    """
    cols = [[(i, j) for i in range(nr - 1)] + [(nr - 1, j)] for j in range(nc if row_totals else nc - 1)]
    if not row_totals:
        return cols
    return [[(i, j) for j in range(nc - 1)] + [(i, nc - 1)] for i in range(nr)] + cols


def _line_rule(vals, hidden, lines) -> bool:
    changed = False
    for line in lines:
        if sum(hidden[c] for c in line) == 1:
            c = _pick(vals, hidden, line)
            if c:
                hidden[c] = True
                changed = True
    return changed


def _hide_more(vals, hidden, cell, lines):
    cand = [c for line in lines if cell in line for c in line]
    c = _pick(vals, hidden, cand)
    if c is None:  # pragma: no cover - a full line is hidden already
        c = _pick(vals, hidden, [c for line in lines for c in line])
    if c is not None:
        hidden[c] = True


def _bounds_array(vals, hidden, lines=None):
    """(low, high) of every hidden cell by LP, as a reader who knows the rules can bound it.

    A hidden cell with a positive count is at least 1 (zeros are shown), a hidden zero
    at least 0: the true table is always feasible, and hiding a whole table always
    leaves every range open above.
    """
    from scipy.optimize import linprog

    nr, nc = vals.shape
    if lines is None:
        lines = _lines(nr, nc)
    # only cells on a published line are cells a reader sees (or sees hidden)
    on_line = {c for line in lines for c in line}
    idx = {c: k for k, c in enumerate(c for c in zip(*np.nonzero(hidden)) if c in on_line)}
    n = len(idx)
    if n == 0:
        return {}
    a_eq, b_eq = [], []
    # Each inner row: sum of inner cells = row total; each inner column likewise; the
    # margin row/column: sum of margins = grand total (see _lines).
    for line in lines:
        row = np.zeros(n)
        rhs = 0.0
        *parts, tot = line
        for c in parts:
            if hidden[c]:
                row[idx[c]] += 1
            else:
                rhs -= vals[c]
        if hidden[tot]:
            row[idx[tot]] -= 1
        else:
            rhs += vals[tot]
        if np.any(row):
            a_eq.append(row)
            b_eq.append(rhs)
    a_eq = np.array(a_eq) if a_eq else None
    b_eq = np.array(b_eq) if b_eq else None
    bounds = [(1 if vals[c] > 0 else 0, None) for c in idx]     # idx's order is 0..n-1
    out = {}
    for c, k in idx.items():
        obj = np.zeros(n)
        obj[k] = 1
        lo = linprog(obj, A_eq=a_eq, b_eq=b_eq, bounds=bounds, method="highs")
        hi = linprog(-obj, A_eq=a_eq, b_eq=b_eq, bounds=bounds, method="highs")
        low = lo.fun if lo.status == 0 else 0.0
        high = -hi.fun if hi.status == 0 else np.inf  # unbounded: nothing pins it down
        out[c] = (low, high)
    return out


def _weak_cells(vals, hidden, lines=None):
    b = _bounds_array(vals, hidden, lines)
    return [c for c, (lo, hi) in b.items() if hi - lo < 0.5]


def cell_bounds(table: SuppressedTable) -> pd.DataFrame:
    """Feasible range of each hidden cell (LP over the completions a reader who knows the rules allows).

    A hidden positive cell is at least 1 (zeros are shown), a hidden zero at least 0.

    Returns a frame with columns ``row, column, low, high, width``.
    """
    vals = table.counts.to_numpy()
    hidden = table.hidden.to_numpy()
    b = _bounds_array(vals, hidden, _lines(*vals.shape, table.row_totals))
    rows = [{"row": table.counts.index[i], "column": table.counts.columns[j], "low": lo, "high": hi,
             "width": hi - lo} for (i, j), (lo, hi) in b.items()]
    return pd.DataFrame(rows, columns=["row", "column", "low", "high", "width"])
