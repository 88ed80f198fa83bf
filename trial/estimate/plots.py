"""Figures: forest plot, weekly shares by arm, Kaplan–Meier curves. Each returns a matplotlib Figure."""
from __future__ import annotations

import math
from typing import Sequence

__all__ = ["plot_forest", "plot_weekly_shares", "plot_kaplan_meier"]

_COLORS = {"deltagergruppe": "#1f5fa8", "kontrolgruppe": "#9a9a9a"}


def _axes(ax, size=(7, 4)):
    import matplotlib

    if ax is None:
        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=size)
        return fig, ax
    return ax.figure, ax


def plot_forest(results: Sequence, ax=None, labels: Sequence[str] | None = None):
    """Forest plot: one row per result, estimate with its interval; ratios on a log axis."""
    results = list(results) if not hasattr(results, "estimate") else [results]
    fig, ax = _axes(ax, (7, 0.5 * len(results) + 1.5))
    ratio = all(r.ratio_scale for r in results) and results
    for i, r in enumerate(results):
        y = len(results) - 1 - i
        if math.isfinite(r.estimate):
            c = "#1f5fa8" if r.role == "confirmatory" else "#555555"
            lo, hi = r.ci_low, r.ci_high
            ax.plot([lo, hi], [y, y], color=c, lw=2)
            ax.plot([r.estimate], [y], "s", color=c)
        else:
            ax.text(0, y, "not estimable", va="center", fontsize=8, color="#a00")
    ax.axvline(1.0 if ratio else 0.0, color="black", lw=0.8, ls="--")
    if ratio:
        ax.set_xscale("log")
    names = labels or [f"{r.outcome} · {r.estimator}" + (" *" if r.role == "confirmatory" else "") for r in results]
    ax.set_yticks(range(len(results)))
    ax.set_yticklabels(list(reversed(names)))
    ax.set_xlabel("ratio (treatment / control)" if ratio else "effect (treatment − control)")
    fig.tight_layout()
    return fig


def plot_weekly_shares(result, ax=None):
    """Share in the status per week by arm, with Wilson interval bands (from :func:`panel_effects`)."""
    fig, ax = _axes(ax)
    w = result.weekly
    for arm, d in w.groupby("arm"):
        c = _COLORS.get(arm)
        ax.plot(d["week"], d["share"], label=str(arm).capitalize(), color=c)
        ax.fill_between(d["week"], d["ci_low"], d["ci_high"], color=c, alpha=0.2, lw=0)
    ax.set_xlabel("uge")
    ax.set_ylabel(f"andel: {result.outcome}")
    ax.set_ylim(0, None)
    ax.legend()
    fig.tight_layout()
    return fig


def plot_kaplan_meier(result, ax=None, cumulative: bool = True):
    """Kaplan–Meier curves by arm (as the share with the event, 1 − S, when ``cumulative``)."""
    import numpy as np

    fig, ax = _axes(ax)
    for arm, d in result.table.groupby("arm"):
        c = _COLORS.get(arm)
        t = np.concatenate([[0.0], d["time"].to_numpy(float)])
        s = np.concatenate([[1.0], d["survival"].to_numpy(float)])
        lo = np.concatenate([[1.0], d["ci_low"].to_numpy(float)])
        hi = np.concatenate([[1.0], d["ci_high"].to_numpy(float)])
        if cumulative:
            s, lo, hi = 1 - s, 1 - hi, 1 - lo
        ax.step(t, s, where="post", label=str(arm).capitalize(), color=c)
        ax.fill_between(t, lo, hi, step="post", color=c, alpha=0.2, lw=0)
    ax.set_xlabel("uger fra randomisering")
    ax.set_ylabel("andel med hændelsen" if cumulative else "andel uden hændelsen")
    ax.legend()
    fig.tight_layout()
    return fig
