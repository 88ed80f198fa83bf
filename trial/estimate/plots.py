"""Figures: forest plot, weekly shares by arm, Kaplan–Meier curves. Each returns a matplotlib Figure."""
from __future__ import annotations

import math
from typing import Sequence

from .._plotting import figure_axes

__all__ = ["plot_forest", "plot_weekly_shares", "plot_kaplan_meier"]

_COLORS = {"deltagergruppe": "#1f5fa8", "kontrolgruppe": "#9a9a9a"}


_TABLE_LABEL_COLUMNS = ("label", "endpoint", "outcome")


def _forest_rows(results, estimator, endpoints):
    """Normalise what plot_forest accepts to rows: label, estimate, ci_low, ci_high, confirmatory, ratio."""
    import pandas as pd

    from ..exceptions import ParameterError

    table = None
    if hasattr(results, "table") and isinstance(getattr(results, "table"), pd.DataFrame) \
            and "estimator" in results.table.columns and hasattr(results, "confirmatory"):
        table = results.table          # an AnalysisResult: its tidy table
        if estimator is None:
            conf = table.loc[table["role"] == "confirmatory", "estimator"]
            estimator = str(conf.iloc[0]) if len(conf) else None
    elif isinstance(results, pd.DataFrame):
        table = results
    if table is not None:
        need = [c for c in ("estimate", "ci_low", "ci_high") if c not in table.columns]
        name_col = next((c for c in _TABLE_LABEL_COLUMNS if c in table.columns), None)
        if need or name_col is None:
            raise ParameterError("results", "a table must have the columns estimate, ci_low, ci_high and one of "
                                 f"{', '.join(_TABLE_LABEL_COLUMNS)}; it has {', '.join(map(str, table.columns))}")
        t = table
        if estimator is not None:
            if "estimator" not in t.columns:
                raise ParameterError("estimator", "needs a table with an `estimator` column")
            wanted = [estimator] if isinstance(estimator, str) else list(estimator)
            unknown = [e for e in wanted if e not in set(t["estimator"])]
            if unknown:
                raise ParameterError("estimator", f"must be among {', '.join(pd.unique(t['estimator']))}; "
                                     f"got {unknown[0]!r}")
            t = t[t["estimator"].isin(wanted)]
        if endpoints is not None:
            wanted = [endpoints] if isinstance(endpoints, str) else list(endpoints)
            unknown = [e for e in wanted if e not in set(t[name_col])]
            if unknown:
                raise ParameterError("endpoints", f"must be among {', '.join(map(str, pd.unique(t[name_col])))}; "
                                     f"got {unknown[0]!r}")
            order = {e: i for i, e in enumerate(wanted)}
            t = t[t[name_col].isin(wanted)].sort_values(name_col, key=lambda s: s.map(order), kind="stable")
        several = "estimator" in t.columns and t["estimator"].nunique() > 1
        labels = [f"{n} · {e}" if several else str(n)
                  for n, e in zip(t[name_col], t["estimator"] if "estimator" in t.columns else t[name_col])]
        role = t["role"] if "role" in t.columns else pd.Series("exploratory", index=t.index)
        ratio = (t["scale"] == "ratio") if "scale" in t.columns else pd.Series(False, index=t.index)
        return [dict(label=lab, estimate=float(r.estimate), ci_low=float(r.ci_low), ci_high=float(r.ci_high),
                     confirmatory=rl == "confirmatory", ratio=bool(ra))
                for lab, r, rl, ra in zip(labels, t.itertuples(index=False), role, ratio)]
    if estimator is not None or endpoints is not None:
        raise ParameterError("estimator" if estimator is not None else "endpoints",
                             "filters a table or an AnalysisResult; with result objects pass only the ones to plot")
    results = [results] if hasattr(results, "estimate") else list(results)
    return [dict(label=f"{r.outcome} · {r.estimator}", estimate=r.estimate, ci_low=r.ci_low, ci_high=r.ci_high,
                 confirmatory=r.role == "confirmatory", ratio=r.ratio_scale) for r in results]


def plot_forest(results, ax=None, labels: Sequence[str] | None = None, *, estimator=None, endpoints=None):
    """Forest plot: one row per effect, the estimate with its interval; ratios on a log axis.

    Parameters
    ----------
    results : EstimateResult, sequence of EstimateResult, AnalysisResult or DataFrame
        Result objects; an :class:`~trial.analysis.AnalysisResult` (its tidy
        table, no recomputation); or a tidy table with columns ``estimate,
        ci_low, ci_high`` and ``label``, ``endpoint`` or ``outcome`` (optional
        ``estimator``, ``role``, ``scale``).
    ax : matplotlib Axes, optional
    labels : sequence of str, optional
        Row labels (default: endpoint, and the estimator when several are shown;
        confirmatory rows are marked ``*``).
    estimator : str or sequence of str, optional
        Tables only: the estimator(s) to show. Default for an AnalysisResult:
        the confirmatory family's (the protocol's primary) estimator; for a
        table: every row.
    endpoints : sequence of str, optional
        Tables only: the endpoints to show, in this order.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ParameterError
        A table without the needed columns, an unknown estimator or endpoint,
        or rows on both the difference and the ratio scale (one axis cannot
        show both: choose with ``estimator``/``endpoints``).
    """
    from ..exceptions import ParameterError

    rows = _forest_rows(results, estimator, endpoints)
    if not rows:
        raise ParameterError("results", "must hold at least one effect to plot; got none")
    scales = {r["ratio"] for r in rows}
    if len(scales) > 1:
        raise ParameterError("results", "mixes effects on the ratio and the difference scale, which one axis "
                             "cannot show; choose rows with `estimator=` / `endpoints=` or plot them apart")
    ratio = scales == {True}
    if labels is not None and len(labels) != len(rows):
        raise ParameterError("labels", f"must give one label per row ({len(rows)}); got {len(labels)}")
    fig, ax = figure_axes(ax, figsize=(7, 0.5 * len(rows) + 1.5))
    for i, r in enumerate(rows):
        y = len(rows) - 1 - i
        if math.isfinite(r["estimate"]):
            c = "#1f5fa8" if r["confirmatory"] else "#555555"
            ax.plot([r["ci_low"], r["ci_high"]], [y, y], color=c, lw=2)
            ax.plot([r["estimate"]], [y], "s", color=c)
        else:
            ax.text(1.0 if ratio else 0.0, y, "not estimable", va="center", fontsize=8, color="#a00")
    ax.axvline(1.0 if ratio else 0.0, color="black", lw=0.8, ls="--")
    if ratio:
        ax.set_xscale("log")
    names = list(labels) if labels is not None else [r["label"] + (" *" if r["confirmatory"] else "") for r in rows]
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels(list(reversed(names)))
    ax.set_xlabel("ratio (treatment / control)" if ratio else "effect (treatment − control)")
    fig.tight_layout()
    return fig


def plot_weekly_shares(result, ax=None):
    """Share in the status per week by arm, with Wilson interval bands (from :func:`panel_effects`)."""
    fig, ax = figure_axes(ax)
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

    fig, ax = figure_axes(ax)
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
