"""The CONSORT 2025 flow diagram, computed from the register, as inline SVG.

Stages: enrollment (referred and assessed, not randomized with reasons),
allocation (per arm), follow-up (lost with reasons, followed) and analysis
(not analysed with reasons, analysed). Every count by reason passes through
:func:`~trial.report._disclosure.suppress` first, so a hidden count is shown
as ``x`` and cannot be recomputed from the totals in the boxes.
"""
from __future__ import annotations

from html import escape

import pandas as pd

from .._format import fmt_number
from ._disclosure import HIDDEN, SuppressedTable, suppress

__all__ = ["flow_tables", "flow_hidden", "consort_svg", "REASONS"]

REASONS = {
    "age": ("Alder uden for målgruppen", "Age outside the target group"),
    "too_young": ("Under minimumsalderen", "Below the minimum age"),
    "too_old": ("Over maksimumsalderen", "Above the maximum age"),
    "municipality": ("Bor ikke i kommunen", "Not resident in the municipality"),
    "referral_type": ("Ikke henvist til ressourceforløb", "Not referred to a ressourceforløb"),
    "duplicate": ("Dobbelt henvisning", "Duplicate referral"),
    "already_enrolled": ("Allerede i forsøget", "Already in the trial"),
    "capacity": ("Deltagergruppen var fuld", "Treatment group was full"),
    "trial_full": ("Forsøget var fuldt", "Trial was full"),
    "declined": ("Ønskede ikke at deltage", "Declined"),
    "other": ("Andre årsager", "Other reasons"),
    "moved_away": ("Fraflyttet", "Moved away"),
    "died": ("Død", "Died"),
    "withdrawn": ("Trukket sig", "Withdrew"),
    "excluded": ("Udelukket efter randomisering", "Excluded after randomization"),
    "not_yet_observed": ("Udfald endnu ikke observeret", "Outcome not yet observed"),
    "missing_outcome": ("Udfald mangler", "Outcome missing"),
}


def reason_label(code: str, lang: str) -> str:
    lab = REASONS.get(code)
    if lab is None:
        return code.replace("_", " ").capitalize()
    return lab[0] if lang == "da" else lab[1]


def _table(loss, lang):
    cols = ["t", "c"] if loss.control is not None else ["n"]
    nan = float("nan")
    cells = lambda v: [nan if x is None else x for x in v]  # noqa: E731 - None: hidden by disclosure control
    data = {"t": cells(loss.treatment)} if loss.control is not None else {"n": cells(loss.treatment)}
    if loss.control is not None:
        data["c"] = cells(loss.control)
    idx = [reason_label(r, lang) for r in loss.reasons]
    if not idx:
        idx = ["–"]
        data = {k: [0] for k in cols}
    return pd.DataFrame(data, index=idx, columns=cols)


def flow_tables(flow, min_cell: int, lang: str = "da") -> dict:
    """The suppressed count tables behind the flow diagram: excluded, lost, not_analysed.

    The diagram shows each arm's reasons and the arm's total, never a reason's
    total over both arms, so only the columns are published lines
    (``row_totals=False``).

    Flow data that already passed disclosure control (read back from a
    ``report_data.json``: hidden counts are None) keep those cells hidden, and
    a margin of a line with a hidden cell is hidden too.
    """
    out = {}
    for name in ("excluded", "lost", "not_analysed"):
        t = _table(getattr(flow, name), lang)
        out[name] = _already_suppressed(t, min_cell) if t.isna().any().any() else \
            suppress(t, min_cell, total_label="total", row_totals=False)
    return out


def _already_suppressed(t: pd.DataFrame, min_cell: int) -> SuppressedTable:
    hid = t.isna()
    full = t.fillna(0).astype("int64")
    full["total"] = full.sum(axis=1)
    full.loc["total"] = full.sum(axis=0)
    hidden = pd.DataFrame(False, index=full.index, columns=full.columns)
    hidden.loc[t.index, t.columns] = hid.to_numpy()
    hidden.loc[t.index, "total"] = hid.any(axis=1).to_numpy()
    hidden.loc["total", t.columns] = hid.any(axis=0).to_numpy()
    hidden.loc["total", "total"] = bool(hid.to_numpy().any())
    return SuppressedTable(counts=full, hidden=hidden, primary=hidden.copy(), min_cell=min_cell,
                           total_label="total", row_totals=False)


def flow_hidden(flow, min_cell: int, lang: str = "da") -> dict:
    """The suppressed reason tables plus which "followed"/"analysed" boxes the diagram hides.

    Keys: ``excluded``, ``lost``, ``not_analysed`` (:class:`SuppressedTable`) and
    ``followed_t``, ``followed_c``, ``analysed_t``, ``analysed_c`` (bool). A hidden
    loss total would follow from "allocated − followed", so "followed" is hidden
    with it; "analysed" likewise with the not-analysed total.
    """
    tabs: dict = flow_tables(flow, min_cell, lang)
    for col in ("t", "c"):
        fol = bool(tabs["lost"].hidden.loc["total", col])
        tabs[f"followed_{col}"] = fol
        tabs[f"analysed_{col}"] = fol or bool(tabs["not_analysed"].hidden.loc["total", col])
    return tabs


def _n(v, hidden=False, lang="da"):
    if hidden:
        return HIDDEN
    return fmt_number(v) if lang == "da" else f"{int(v):,}"


def _box(x, y, w, lines, *, bold_first=True, fill="#ffffff"):
    lh = 15
    h = 10 + lh * len(lines)
    parts = [f'<rect x="{x}" y="{y}" width="{w}" height="{h}" rx="3" fill="{fill}" stroke="#1f3b57" '
             f'stroke-width="1"/>']
    for i, line in enumerate(lines):
        weight = ' font-weight="bold"' if (i == 0 and bold_first) else ""
        size = 11.5 if i == 0 else 10.5
        parts.append(f'<text x="{x + 8}" y="{y + 17 + i * lh}" font-size="{size}"{weight}>{escape(line)}</text>')
    return "\n".join(parts), h


def _arrow(x1, y1, x2, y2):
    return (f'<line x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}" stroke="#1f3b57" stroke-width="1.2" '
            f'marker-end="url(#arrow)"/>')


def consort_svg(data) -> str:
    """The flow diagram of a :class:`ReportData` as a self-contained ``<svg>`` element."""
    lang = data.lang
    f = data.flow
    k = data.min_cell
    tabs = flow_hidden(f, k, lang)
    da = lang == "da"
    n = lambda v: _n(v, lang=lang)  # noqa: E731

    def reason_lines(tab, col):
        d = tab.display(fmt=lambda v: n(v))
        rows = [r for r in d.index if r != "total"]
        out = []
        for r in rows:
            if tab.counts.loc[r, col] == 0 and not tab.hidden.loc[r, col]:
                continue
            out.append(f"• {r}: {d.loc[r, col]}")
        return out

    def total(tab, col):
        return _n(tab.counts.loc["total", col], bool(tab.hidden.loc["total", col]), lang)

    W = 700
    svg = []
    y = 10
    # Enrollment
    b, h1 = _box(200, y, 300, [f"{'Henvist og vurderet' if da else 'Referred and assessed'} (n = {n(f.referred)})"])
    svg.append(b)
    ex = tabs["excluded"]
    ex_lines = [f"{'Ikke randomiseret' if da else 'Not randomized'} (n = {total(ex, 'n')})"] + reason_lines(ex, "n")
    b, hx = _box(440, y + h1 + 12, 250, ex_lines)
    svg.append(b)
    mid = 350
    y_r = y + h1 + 12 + hx + 14
    svg.append(_arrow(mid, y + h1, mid, y_r))
    svg.append(f'<line x1="{mid}" y1="{y + h1 + 12 + hx / 2}" x2="440" y2="{y + h1 + 12 + hx / 2}" '
               f'stroke="#1f3b57" stroke-width="1.2" marker-end="url(#arrow)"/>')
    b, hr = _box(250, y_r, 200, [f"{'Randomiseret' if da else 'Randomized'} (n = {n(f.randomized)})"])
    svg.append(b)
    # Allocation
    y_a = y_r + hr + 26
    xs = (30, 380)
    wbox = 290
    arms = ((data.treatment_label(), f.randomized_treatment, "t", f.followed_treatment, f.analysed_treatment),
            (data.control_label(), f.randomized_control, "c", f.followed_control, f.analysed_control))
    stage = ["Tildeling" if da else "Allocation", "Opfølgning" if da else "Follow-up",
             "Analyse" if da else "Analysis"]
    svg.append(f'<line x1="{xs[0] + wbox / 2}" y1="{y_a - 12}" x2="{xs[1] + wbox / 2}" y2="{y_a - 12}" '
               f'stroke="#1f3b57" stroke-width="1.2"/>')
    svg.append(f'<line x1="{mid}" y1="{y_r + hr}" x2="{mid}" y2="{y_a - 12}" stroke="#1f3b57" stroke-width="1.2"/>')
    lo, na = tabs["lost"], tabs["not_analysed"]
    heights = []
    boxes = []
    for (label, rand, col, fol, ana), x in zip(arms, xs):
        # a hidden loss total would follow from "allocated - followed": hide the later box too
        hide_fol, hide_ana = tabs[f"followed_{col}"], tabs[f"analysed_{col}"]
        l1 = [f"{label}: {'tildelt' if da else 'allocated'} (n = {n(rand)})"]
        l2 = ([f"{'Mistet til opfølgning' if da else 'Lost to follow-up'} (n = {total(lo, col)})"]
              + reason_lines(lo, col) + [f"{'Fulgt' if da else 'Followed'} (n = {_n(fol, hide_fol, lang)})"])
        l3 = ([f"{'Analyseret' if da else 'Analysed'} (n = {_n(ana, hide_ana, lang)})",
               f"{'Ikke i analysen' if da else 'Not analysed'} (n = {total(na, col)})"] + reason_lines(na, col))
        boxes.append((x, l1, l2, l3))
    yy = y_a
    for stage_i, key in enumerate((1, 2, 3)):
        hs = []
        for x, *ls in boxes:
            svg.append(_arrow(x + wbox / 2, yy - 12, x + wbox / 2, yy) if stage_i == 0 else
                       _arrow(x + wbox / 2, yy - 16, x + wbox / 2, yy))
            b, h = _box(x, yy, wbox, ls[stage_i], fill="#f3f7fb" if stage_i == 0 else "#ffffff")
            svg.append(b)
            hs.append(h)
        svg.append(f'<text x="{W / 2}" y="{yy - 2}" font-size="10" fill="#5a6b7b" text-anchor="middle" '
                   f'font-style="italic">{escape(stage[stage_i])}</text>' if stage_i else "")
        yy += max(hs) + 16
        heights.append(max(hs))
    H = yy
    defs = ('<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="6" markerHeight="6" '
            'orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#1f3b57"/></marker></defs>')
    title = "Forløbsdiagram" if da else "Flow diagram"
    return (f'<svg class="consort" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" width="{W}" '
            f'height="{H}" role="img" aria-label="{title}" font-family="DejaVu Sans, Arial, sans-serif">'
            f'<title>{title}</title>{defs}' + "\n".join(svg) + "</svg>")
