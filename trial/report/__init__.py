"""The steering group's quarterly report (HTML and PDF, Danish or English).

One data object, :class:`ReportData`, is assembled from the trial register by
:func:`assemble`; :func:`render_html` and :func:`write_report` read only it.
Counts pass disclosure control (:func:`suppress`) and no person identifier
ever enters ``ReportData``.

Examples
--------
>>> from trial.report import effect_sentence
>>> effect_sentence(0.05, -0.01, 0.11, endpoint="fleksjob", etype="binary")
'5 flere i fleksjob pr. 100 borgere; usikkerheden spænder fra 1 færre til 11 flere'
"""
from __future__ import annotations

from ._data import (
    BalanceRow, BusinessCaseSummary, BusinessTable, Change, DetectableRow, EffectRow, EnrollmentPoint, FlowData,
    LossTable, ReportData, ReportError, SoFarRow, WeeklyShare, assemble, compare, parse_quarter, quarter_end,
)
from ._disclosure import SuppressedTable, cell_bounds, check_min_cell, suppress
from ._figures import plot_forest, plot_payback, plot_self_supporting
from ._public import disclose
from ._render import ReportFiles, effect_hidden, render_html, write_report
from ._text import effect_sentence

__all__ = [
    "ReportData", "EffectRow", "BalanceRow", "EnrollmentPoint", "FlowData", "LossTable", "WeeklyShare",
    "BusinessCaseSummary", "BusinessTable", "DetectableRow", "Change", "ReportError", "ReportFiles", "SoFarRow",
    "SuppressedTable", "assemble", "compare", "parse_quarter", "quarter_end", "suppress", "cell_bounds",
    "check_min_cell", "render_html", "write_report", "effect_sentence", "effect_hidden", "plot_forest",
    "plot_self_supporting", "plot_payback", "make_report", "disclose", "previous_snapshot",
]


def make_report(register, out, *, quarter: str | None = None, lang: str = "da", previous=None, pdf: bool = True,
                rng=None) -> tuple[ReportData, ReportFiles]:
    """Assemble the report data from ``register`` and write HTML, PDF and JSON to ``out``.

    The exact figures (no disclosure control) are stored in the register as
    this quarter's snapshot (``Register.store_report_snapshot``), in the same
    step as the files; ``report_data.json`` holds only what the report shows
    (:func:`disclose`). Besides ``report_data.json`` a copy
    ``report_data_<quarter>.json`` is kept.

    ``previous`` is a :class:`ReportData`, a path to a (disclosure-controlled)
    ``report_data.json``, or None: then the register's newest snapshot of an
    earlier quarter (:func:`previous_snapshot`), or failing that the latest
    ``out/report_data*.json`` from an earlier quarter. Changes are compared on
    disclosure-controlled figures either way.

    Returns the exact :class:`ReportData` (with its changes) and the files.
    """
    from pathlib import Path

    if isinstance(register, (str, Path)):
        from ..register import Register

        with Register.open(register) as reg:
            return make_report(reg, out, quarter=quarter, lang=lang, previous=previous, pdf=pdf, rng=rng)
    out = Path(out)
    prev = previous
    if isinstance(prev, (str, Path)):
        prev = ReportData.from_json(prev)
    data = assemble(register, quarter=quarter, lang=lang, rng=rng)
    if prev is not None:
        _check_previous(prev, data, previous if isinstance(previous, (str, Path)) else None)
    if prev is None:
        prev = previous_snapshot(register, data.quarter, trial_id=data.trial_id)
    if prev is None:
        prev = _find_previous(out, data)
    data = data.with_changes(prev)
    snapshot = data.to_json()
    files = write_report(data, out, pdf=pdf,
                         on_commit=lambda: register.store_report_snapshot(data.quarter, snapshot))
    (out / f"report_data_{data.quarter}.json").write_text(files.data.read_text(encoding="utf-8"), encoding="utf-8")
    return data, files


def _check_previous(prev, data, path=None) -> None:
    """Refuse a previous report that is not an earlier quarter of this very trial and register."""
    from ._data import parse_quarter as _pq

    what = f"`previous` ({path})" if path is not None else "`previous`"
    for field, label in (("trial_id", "trial id"), ("protocol_fingerprint", "protocol fingerprint"),
                         ("sequence_commitment", "sequence commitment (the register's allocation sequence)")):
        mine, theirs = getattr(data, field), getattr(prev, field)
        if mine != theirs:
            raise ReportError(f"{what} is a report of another trial or register: its {label} is {theirs!r}, this "
                              f"register's is {mine!r}; give last quarter's report_data.json of this register")
    if _pq(prev.quarter) >= _pq(data.quarter):
        raise ReportError(f"{what} is the report of {prev.quarter}, which is not before this report's quarter "
                          f"{data.quarter}; give the report_data.json of an earlier quarter")


def previous_snapshot(register, quarter: str, *, trial_id: str | None = None) -> ReportData | None:
    """The register's newest report snapshot from a quarter before ``quarter`` (None if there is none)."""
    snap = register.report_snapshot(before=quarter)
    if snap is None:
        return None
    data = ReportData.from_json(snap["json"])
    if trial_id is not None and data.trial_id != trial_id:
        return None
    return data


def _find_previous(out, data):
    """The latest report data in ``out`` from an earlier quarter of the same trial (None if none)."""
    from ._data import parse_quarter as _pq

    best = None
    for path in sorted(out.glob("report_data*.json")):
        try:
            cand = ReportData.from_json(path)
        except ReportError:
            continue
        if cand.trial_id == data.trial_id and _pq(cand.quarter) < _pq(data.quarter):
            if best is None or _pq(cand.quarter) > _pq(best.quarter):
                best = cand
    return best
