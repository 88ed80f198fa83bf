"""Disclosure control: small counts hidden, and no hidden count recoverable from the margins.

"Recoverable" is checked exactly: for each hidden cell the range of values
consistent with every shown cell and shown total (non-negative cells) is
computed by linear programming; the transportation polytope has integral
vertices, so a width >= 1 (tolerance 1e-6 for the LP solver) means at least
two whole numbers fit.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st

from trial.exceptions import TrialError
from trial.report import cell_bounds, check_min_cell, suppress

LP_TOL = 1e-6


def _audit(s, k):
    vals = s.counts.to_numpy()
    hid = s.hidden.to_numpy()
    # primary: no shown count in 1..k-1
    assert not np.any((vals >= 1) & (vals < k) & ~hid)
    # line rule: never exactly one hidden cell in a row or column
    assert not np.any(hid.sum(axis=0) == 1) and not np.any(hid.sum(axis=1) == 1)
    b = cell_bounds(s)
    assert len(b) == s.n_hidden
    assert (b["width"] >= 1 - LP_TOL).all(), b
    # the true value lies inside the range
    for _, r in b.iterrows():
        v = s.counts.loc[r["row"], r["column"]]
        assert r["low"] - LP_TOL <= v <= r["high"] + LP_TOL


def test_small_arm_suppressed_cells_cannot_be_recovered_from_margins():
    # Losses by reason in a small treatment arm: 2 moved away, 0 died, 1 withdrew.
    t = pd.DataFrame({"deltagergruppe": [2, 0, 1], "kontrolgruppe": [6, 1, 3]},
                     index=["moved_away", "died", "withdrawn"])
    s = suppress(t, 5)
    shown = s.display()
    assert shown.loc["moved_away", "deltagergruppe"] == "x"
    assert shown.loc["withdrawn", "deltagergruppe"] == "x"
    assert shown.loc["died", "deltagergruppe"] == "0"  # zeros are shown
    assert shown.loc["died", "kontrolgruppe"] == "x"
    _audit(s, 5)
    # the row margin "moved_away" = 8 would give 8 - kontrol: so kontrol's cell is hidden too (or the margin)
    assert s.hidden.loc["moved_away"].sum() >= 2


def test_single_small_cell_gets_a_complement_in_row_and_column():
    t = pd.DataFrame({"a": [2, 40], "b": [30, 50]}, index=["r1", "r2"])
    s = suppress(t, 5)
    assert s.primary.to_numpy().sum() == 1
    assert s.n_hidden == 4
    _audit(s, 5)


def test_nothing_small_nothing_hidden():
    s = suppress(pd.DataFrame({"a": [10, 0], "b": [7, 9]}), 5)
    assert s.n_hidden == 0
    assert s.display().iloc[1, 0] == "0"


def test_small_total_is_hidden():
    s = suppress(pd.DataFrame({"n": [0, 3]}, index=["a", "b"]), 5)
    assert s.hidden.loc["I alt", "I alt"] or s.hidden.loc["I alt", "n"]
    _audit(s, 5)


@pytest.mark.parametrize("bad", [2, 0, -1, 2.5, "5", True])
def test_min_cell_below_three_or_not_whole_is_refused(bad):
    with pytest.raises(TrialError, match="min_cell"):
        check_min_cell(bad)
    with pytest.raises(TrialError, match="min_cell"):
        suppress(pd.DataFrame({"a": [1]}), bad)


@pytest.mark.parametrize("table, what", [
    (pd.DataFrame({"a": [-1, 2]}), "-1"), (pd.DataFrame({"a": [1.5, 2]}), "1.5"),
    (pd.DataFrame({"a": [np.nan, 2]}), "nan"),
])
def test_bad_counts_are_named(table, what):
    with pytest.raises(TrialError, match="whole, non-negative counts"):
        suppress(table, 5)


def test_display_never_contains_a_hidden_value():
    t = pd.DataFrame({"a": [3, 40], "b": [4, 50]}, index=["r1", "r2"])
    s = suppress(t, 5)
    d = s.to_dict()
    flat = [v for row in d["values"] for v in row]
    assert 3 not in flat and 4 not in flat and None in flat


counts = st.integers(min_value=0, max_value=30)


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 4).flatmap(lambda r: st.integers(1, 3).flatmap(
    lambda c: st.lists(st.lists(counts, min_size=c, max_size=c), min_size=r, max_size=r))),
    st.sampled_from([3, 5, 10]))
def test_property_no_hidden_cell_is_recoverable(rows, k):
    t = pd.DataFrame(rows, columns=[f"c{j}" for j in range(len(rows[0]))])
    s = suppress(t, k)
    _audit(s, k)


def test_bounds_detect_a_recoverable_pattern():
    """The audit can fail: a hand-made mask with one hidden cell in a row has width 0."""
    from trial.report._disclosure import SuppressedTable

    t = suppress(pd.DataFrame({"a": [10, 20], "b": [30, 40]}), 5)
    hidden = t.hidden.copy()
    hidden.iloc[0, 0] = True
    bad = SuppressedTable(counts=t.counts, hidden=hidden, primary=t.primary, min_cell=5)
    assert cell_bounds(bad)["width"].max() == pytest.approx(0)
