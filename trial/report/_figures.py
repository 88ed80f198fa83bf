"""The report's figures as functions ``plot_x(data, ax=None) -> Figure``.

Each takes a :class:`~trial.report.ReportData` (so a notebook draws exactly
what the report shows), draws with matplotlib (Agg backend) and returns the
Figure. :func:`figure_png_base64` embeds a figure in the self-contained HTML.
"""
from __future__ import annotations

import base64
import io
import math

from .._format import fmt_number

__all__ = ["plot_forest", "plot_self_supporting", "plot_payback", "figure_png_base64", "shown_effects"]

TREAT_COLOR = "#1f5f8b"
CONTROL_COLOR = "#b5651d"


def _fig_ax(ax, size):
    import matplotlib

    if ax is None:
        matplotlib.use("Agg", force=False)
        from matplotlib.figure import Figure

        fig = Figure(figsize=size, layout="constrained")
        ax = fig.add_subplot()
        return fig, ax
    return ax.figure, ax


def _danish_axis(ax, axis="x", decimals=0, lang="da"):
    from matplotlib.ticker import FuncFormatter

    f = (lambda v, _: fmt_number(v, decimals)) if lang == "da" else (lambda v, _: f"{v:,.{decimals}f}")
    (ax.xaxis if axis == "x" else ax.yaxis).set_major_formatter(FuncFormatter(f))


def _num(x) -> float:
    """A figure's number: None (a null read back from JSON, a hidden value) -> NaN."""
    return math.nan if x is None else float(x)


def shown_effects(data):
    """Effect rows that may be shown (binary rows with a hidden count are left out)."""
    from ._render import effect_hidden

    return [e for e in data.effects if not effect_hidden(e, data.min_cell)]


def plot_forest(data, ax=None):
    """Forest plot: difference (treatment − control) with 95 % interval per endpoint.

    Binary endpoints are drawn per 100 citizens, so "+5" reads "5 more per 100";
    other endpoints are scaled to their goal (difference / |goal|) so all fit on
    one axis; the goal is marked with a diamond.
    """
    lang = data.lang
    rows = [e for e in shown_effects(data) if e.type == "binary" and math.isfinite(_num(e.estimate))]
    fig, ax = _fig_ax(ax, (7.0, 0.45 * max(len(rows), 1) + 1.3))
    if not rows:
        ax.text(0.5, 0.5, "Ingen forskelle kan vises endnu" if lang == "da" else "No differences to show yet",
                ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
        return fig
    ys = list(range(len(rows)))[::-1]
    for y, e in zip(ys, rows):
        color = TREAT_COLOR if e.role == "confirmatory" else "#666666"
        lo, hi = _num(e.ci_low) * 100, _num(e.ci_high) * 100
        if math.isfinite(lo) and math.isfinite(hi):
            ax.plot([lo, hi], [y, y], color=color, lw=2, solid_capstyle="butt")
        ax.plot([_num(e.estimate) * 100], [y], "o", color=color, ms=6)
        if math.isfinite(_num(e.goal)):
            ax.plot([_num(e.goal) * 100], [y], "D", mfc="white", mec="#2e7d32", ms=6)
    ax.axvline(0, color="#333333", lw=0.8)
    ax.set_yticks(ys)
    ax.set_yticklabels([e.label_da if lang == "da" else e.label_en for e in rows])
    ax.set_xlabel("Forskel pr. 100 borgere (deltagergruppe minus kontrolgruppe)" if lang == "da"
                  else "Difference per 100 citizens (treatment minus control)")
    _danish_axis(ax, "x", 0, lang)
    ax.plot([], [], "o", color=TREAT_COLOR, label="Bekræftende" if lang == "da" else "Confirmatory")
    ax.plot([], [], "o", color="#666666", label="Undersøgende" if lang == "da" else "Exploratory")
    ax.plot([], [], "D", mfc="white", mec="#2e7d32", label="Mål" if lang == "da" else "Goal")
    ax.legend(loc="lower right", fontsize=8, frameon=False, ncols=3, bbox_to_anchor=(1, 1.0))
    ax.grid(axis="x", color="#dddddd", lw=0.6)
    ax.set_axisbelow(True)
    for s in ("top", "right"):
        ax.spines[s].set_visible(False)
    return fig


def plot_self_supporting(data, ax=None):
    """Share self-supporting by week since randomization, per arm (weeks with hidden counts are gaps)."""
    import numpy as np

    lang = data.lang
    w = data.weekly
    fig, ax = _fig_ax(ax, (7.0, 3.2))
    if w is None or not w.week:
        ax.text(0.5, 0.5, "Ingen ugedata endnu" if lang == "da" else "No weekly data yet", ha="center",
                va="center", transform=ax.transAxes)
        ax.set_axis_off()
        return fig
    k = data.min_cell
    week = np.asarray(w.week)
    for share, cnt, color, label in (
        (w.treatment_share, w.treatment_count, TREAT_COLOR, data.treatment_label()),
        (w.control_share, w.control_count, CONTROL_COLOR, data.control_label()),
    ):
        s = np.array([_num(v) for v in share], dtype=float) * 100
        c = np.array([-1 if v is None else v for v in cnt])
        s = np.where((c >= 1) & (c < k), np.nan, s)
        ax.plot(week, s, color=color, lw=1.8, label=label)
    # the status panel counts weeks from the referral date (week 1 = its first 7 days), not from randomization
    ax.set_xlabel("Uger efter henvisning" if lang == "da" else "Weeks since referral")
    ax.set_ylabel("Pct. selvforsørgende" if lang == "da" else "% self-supporting")
    _danish_axis(ax, "y", 0, lang)
    ax.set_ylim(bottom=0)
    ax.set_xlim(left=0)
    ax.legend(frameon=False, fontsize=8)
    ax.grid(color="#dddddd", lw=0.6)
    for s in ("top", "right"):
        ax.spines[s].set_visible(False)
    return fig


def plot_payback(data, ax=None):
    """Cumulative net economy (1.000 kr.) by budget year with the uncertainty band and the payback point."""
    import numpy as np

    lang = data.lang
    bc = data.business_case
    fig, ax = _fig_ax(ax, (7.0, 3.2))
    if bc is None or not bc.cumulative_net:
        ax.text(0.5, 0.5, "Ingen business case" if lang == "da" else "No business case", ha="center",
                va="center", transform=ax.transAxes)
        ax.set_axis_off()
        return fig
    years = np.arange(1, len(bc.cumulative_net) + 1)
    net = np.array([_num(v) for v in bc.cumulative_net], float)
    if bc.cumulative_net_low and bc.cumulative_net_high:
        ax.fill_between(years, [_num(v) for v in bc.cumulative_net_low],
                        [_num(v) for v in bc.cumulative_net_high], color=TREAT_COLOR, alpha=0.18,
                        lw=0, label="95 pct. af simuleringerne" if lang == "da" else "95 % of simulations")
    ax.plot(years, net, "o-", color=TREAT_COLOR, lw=2,
            label="Akkumuleret nettoudgift" if lang == "da" else "Cumulative net cost")
    ax.axhline(0, color="#333333", lw=0.8)
    ax.set_xticks(years)
    ax.set_xticklabels([f"År {y}" if lang == "da" else f"Year {y}" for y in years])
    ax.set_ylabel("1.000 kr." if lang == "da" else "DKK 1,000")
    _danish_axis(ax, "y", 0, lang)
    ax.legend(frameon=False, fontsize=8)
    ax.grid(axis="y", color="#dddddd", lw=0.6)
    for s in ("top", "right"):
        ax.spines[s].set_visible(False)
    return fig


def figure_png_base64(fig, dpi: int = 150) -> str:
    """PNG bytes of a figure as base64 text (for ``<img src="data:image/png;base64,...">``)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
    return base64.b64encode(buf.getvalue()).decode("ascii")
