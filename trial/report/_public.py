"""Disclosure control of a whole :class:`~trial.report.ReportData`: :func:`disclose`.

The HTML and PDF hide small counts while they are drawn (``x`` in tables,
gaps in figures). ``report_data.json``, written into the same folder, must
hide exactly the same: :func:`disclose` returns a copy of the data in which
every value the report does not show, or that would give a hidden value
back, is None (NaN for floats, ``null`` in JSON). The rules are the
renderer's own functions, so the two cannot drift apart:

* enrollment: cumulative counts of 1 to ``min_cell − 1`` per arm; when one arm
  is hidden the other is hidden too (the total would give it back);
* flow: the reason tables after :func:`~trial.report.suppress` (primary and
  complementary cells), and "followed"/"analysed" where the flow diagram hides
  them; then also the effects' group sizes for that arm (the first
  confirmatory endpoint's n is the analysed count);
* baseline shares whose count is small (as the balance table);
* binary effects with a small count in either group (:func:`effect_hidden`):
  rates, difference, interval, p-values and counts;
* weeks of the weekly figure whose count is small (share and count);
* "hidtil" rows (descriptive interim shares) with a small count in either group.

The exact figures stay in the trial register (``report_snapshots``), which is
not distributed.
"""
from __future__ import annotations

import dataclasses
import math

__all__ = ["disclose"]

_NAN = float("nan")


def _small(v, k) -> bool:
    return v is not None and not (isinstance(v, float) and math.isnan(v)) and 1 <= v < k


def _enrollment(points, k):
    out = []
    for p in points:
        if p.treatment is None or p.control is None:
            out.append(p)
            continue
        hide = _small(p.treatment, k) or _small(p.control, k)
        out.append(dataclasses.replace(p, treatment=None, control=None) if hide else p)
    return tuple(out)


def _flow(flow, k, lang):
    from ._consort import flow_hidden

    h = flow_hidden(flow, k, lang)

    def loss(t, key):
        tab = h[key]
        n = len(t.reasons)
        hid = tab.hidden.to_numpy()
        tr = tuple(None if hid[i, 0] else v for i, v in enumerate(t.treatment)) if n else t.treatment
        co = t.control
        if co is not None and n:
            co = tuple(None if hid[i, 1] else v for i, v in enumerate(co))
        return dataclasses.replace(t, treatment=tr, control=co)

    return dataclasses.replace(
        flow, excluded=loss(flow.excluded, "excluded"), lost=loss(flow.lost, "lost"),
        not_analysed=loss(flow.not_analysed, "not_analysed"),
        followed_treatment=None if h["followed_t"] else flow.followed_treatment,
        followed_control=None if h["followed_c"] else flow.followed_control,
        analysed_treatment=None if h["analysed_t"] else flow.analysed_treatment,
        analysed_control=None if h["analysed_c"] else flow.analysed_control), h


def _balance(rows, k):
    from ._render import balance_hidden

    out = []
    for b in rows:
        if balance_hidden(b, k):
            b = dataclasses.replace(b, treatment_value=_NAN, control_value=_NAN, treatment_count=None,
                                    control_count=None)
        out.append(b)
    return tuple(out)


def _effects(rows, k, hide_n_t, hide_n_c):
    from ._render import effect_hidden

    out = []
    for e in rows:
        if effect_hidden(e, k):
            e = dataclasses.replace(e, control_mean=_NAN, treatment_mean=_NAN, estimate=_NAN, std_error=_NAN,
                                    ci_low=_NAN, ci_high=_NAN, p_value=_NAN, adjusted_p_value=_NAN,
                                    treatment_count=None, control_count=None)
        if hide_n_t:
            e = dataclasses.replace(e, n_treatment=None)
        if hide_n_c:
            e = dataclasses.replace(e, n_control=None)
        out.append(e)
    return tuple(out)


def _weekly(w, k):
    if w is None:
        return None
    ht = [_small(c, k) for c in w.treatment_count]
    hc = [_small(c, k) for c in w.control_count]
    return dataclasses.replace(
        w, treatment_share=tuple(_NAN if h else s for h, s in zip(ht, w.treatment_share)),
        control_share=tuple(_NAN if h else s for h, s in zip(hc, w.control_share)),
        treatment_count=tuple(None if h else c for h, c in zip(ht, w.treatment_count)),
        control_count=tuple(None if h else c for h, c in zip(hc, w.control_count)))


def _so_far(rows, k):
    from ._render import so_far_hidden

    return tuple(dataclasses.replace(r, treatment_count=None, control_count=None, treatment_share=_NAN,
                                     control_share=_NAN) if so_far_hidden(r, k) else r for r in rows)


def disclose(data):
    """A copy of ``data`` holding only what the report shows (hidden values are None / NaN).

    Parameters
    ----------
    data : ReportData
        Report data as assembled from the register (exact counts).

    Returns
    -------
    ReportData
        ``disclosure_controlled`` is True. Idempotent: disclosed data are
        returned unchanged.

    Examples
    --------
    >>> from trial.report import EnrollmentPoint
    >>> from trial.report._public import _enrollment
    >>> _enrollment((EnrollmentPoint("2016Q4", 200, 3, 150),), 5)[0].treatment is None
    True
    """
    if getattr(data, "disclosure_controlled", False):
        return data
    k = data.min_cell
    flow, h = _flow(data.flow, k, data.lang)
    return dataclasses.replace(
        data, enrollment=_enrollment(data.enrollment, k), flow=flow, balance=_balance(data.balance, k),
        effects=_effects(data.effects, k, h["followed_t"] or h["analysed_t"], h["followed_c"] or h["analysed_c"]),
        weekly=_weekly(data.weekly, k), so_far=_so_far(getattr(data, "so_far", ()), k),
        business_case=_business_case(data), disclosure_controlled=True)


def _business_case(data):
    """The business case with the labels of lines whose endpoint's row is hidden masked (the label
    carries the measured effect)."""
    from ._render import bc_hidden_labels, mask_bc_label

    bc = data.business_case
    masked = bc_hidden_labels(data)
    if not masked:
        return bc
    tables = tuple(dataclasses.replace(t, rows=tuple((mask_bc_label(lbl) if lbl in masked else lbl, vals)
                                                      for lbl, vals in t.rows)) for t in bc.tables)
    lines = tuple((ep, mask_bc_label(lbl) if lbl in masked else lbl) for ep, lbl in bc.measured_lines)
    return dataclasses.replace(bc, tables=tables, measured_lines=lines)
