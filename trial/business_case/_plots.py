"""Figures: cumulated net result with payback point and band, waterfall by line, tornado."""
from __future__ import annotations

import math

import numpy as np

from .._plotting import figure_axes
from ..exceptions import BusinessCaseError


def _da(x, d=0):
    from .._format import fmt_number

    return fmt_number(x, d)


def plot_cumulative_net(result, ax=None):
    """Cumulated net gain by year with the payback point (and, for an
    :class:`EffectFedCase`, the median and percentile band over the draws).

    Parameters
    ----------
    result : CaseResult or EffectFedCase
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    from ._effect import EffectFedCase
    from ._result import CaseResult

    fig, ax = figure_axes(ax)
    if isinstance(result, EffectFedCase):
        fr = result.to_frame()
        x = fr["year"].to_numpy()
        ax.fill_between(x, fr["cumulative_ci_low"], fr["cumulative_ci_high"], alpha=0.25, color="C0",
                        label=f"{_da(100 * result.confidence_level)} %-interval (træk)")
        ax.plot(x, fr["cumulative_median"], "--", color="C0", label="median (træk)")
        ax.plot(x, fr["cumulative_estimate"], "-o", color="C1", label="ved estimaterne")
        base, unit = result.base, result.case.unit
    elif isinstance(result, CaseResult):
        cum = result.cumulative_net()
        x = np.arange(1, len(cum) + 1)
        ax.plot(x, cum, "-o", color="C1", label="akkumuleret nettogevinst")
        base, unit = result, result.case.unit
    else:
        raise BusinessCaseError("result", f"must be a CaseResult or EffectFedCase; got {type(result).__name__}")
    t = base.payback_years_total
    ax.axhline(0, color="grey", lw=0.8)
    if math.isfinite(t) and t <= x[-1]:
        ax.axvline(t, color="C3", ls=":", lw=1)
        ax.annotate(f"tilbagebetalt efter {_da(t, 1)} år", (t, 0), textcoords="offset points", xytext=(5, 8),
                    color="C3", fontsize=8)
    ax.set_xlabel("år")
    ax.set_ylabel(f"akkumuleret nettogevinst ({'1.000 kr.' if unit == '1000 kr' else unit})")
    ax.set_title("Akkumuleret nettoresultat")
    ax.legend(fontsize=8, loc="upper left")
    return fig


def plot_waterfall(case_result, ax=None, *, years: int | None = None):
    """Waterfall of the net result over the case years by section-1 line (savings down… costs up).

    Parameters
    ----------
    case_result : CaseResult (or EffectFedCase: its case at the estimates)
    ax : matplotlib Axes, optional
    years : int, optional
        Sum over the first ``years`` years (default all case years).
    """
    from ._effect import EffectFedCase

    if isinstance(case_result, EffectFedCase):
        case_result = case_result.base
    t = case_result.table("section1")
    t = t[t["kind"].isin(["permanent", "investment"])]
    labels = list(case_result.case.year_labels)[: years or None]
    vals = t[labels].sum(axis=1).to_numpy()
    names = [f"{r['line']} ({r['area']})" for _, r in t.iterrows()]
    fig, ax = figure_axes(ax, figsize=(8, 4.5))
    cum = np.concatenate([[0.0], np.cumsum(vals)])
    colors = ["C2" if v < 0 else "C3" for v in vals]
    ax.bar(range(len(vals)), vals, bottom=cum[:-1], color=colors)
    ax.bar(len(vals), cum[-1], color="C0")
    ax.set_xticks(range(len(vals) + 1), names + ["Samlet"], rotation=60, ha="right", fontsize=7)
    ax.axhline(0, color="grey", lw=0.8)
    ax.set_ylabel("1.000 kr." if case_result.case.unit == "1000 kr" else case_result.case.unit)
    ax.set_title(f"Samlet økonomisk påvirkning {labels[0]}–{labels[-1]} pr. linje (besparelse negativ)")
    fig.tight_layout()
    return fig


def plot_tornado(sensitivity, ax=None):
    """Tornado of the NPV's range per sensitivity factor, around the base NPV.

    Parameters
    ----------
    sensitivity : Sensitivity (or EffectFedCase: its sensitivity)
    """
    from ._effect import EffectFedCase

    if isinstance(sensitivity, EffectFedCase):
        sensitivity = sensitivity.sensitivity
    df = sensitivity.to_frame()
    base = sensitivity.base_npv
    df = df[df["factor"] != "basis"]
    g = df.groupby("factor", sort=False)["npv"].agg(["min", "max"])
    g["min"] = np.minimum(g["min"], base)
    g["max"] = np.maximum(g["max"], base)
    g["span"] = g["max"] - g["min"]
    g = g.sort_values("span")
    fig, ax = figure_axes(ax, figsize=(7, 0.45 * len(g) + 1.5))
    y = np.arange(len(g))
    ax.barh(y, g["max"] - base, left=base, color="C2", label="over basis")
    ax.barh(y, g["min"] - base, left=base, color="C3", label="under basis")
    ax.axvline(base, color="black", lw=1)
    ax.set_yticks(y, list(g.index), fontsize=8)
    ax.set_xlabel(f"nutidsværdi over {sensitivity.horizon_years} år (1.000 kr.)")
    ax.set_title("Følsomhed")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
