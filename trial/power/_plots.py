"""Figures of :mod:`trial.power`: functions ``plot_x(result, ax=None) -> Figure``."""
from __future__ import annotations

from .._plotting import figure_axes

__all__ = ["plot_power_by_control_size", "plot_power_curve"]


def plot_power_by_control_size(result, ax=None):
    """Power at the assumed effect against the control-group size (a CapacityResult).

    The dashed line is the ceiling with unlimited controls (normal approximation).
    """
    fig, ax = figure_axes(ax, figsize=(6.4, 4.0))
    sizes = list(result.control_sizes)
    ax.plot(sizes, result.power, marker="o", label=f"{result.method}")
    ax.axhline(result.power_limit, ls="--", color="grey", lw=1, label="unlimited controls (normal approx.)")
    ax.axhline(result.target_power, ls=":", color="black", lw=1)
    ax.set_xlabel(f"control-group size (deltagergruppe fixed at {result.n_treatment})")
    ax.set_ylabel("power")
    ax.set_ylim(0, 1)
    ax.set_title(f"{result.p_control:g} → {result.p_treatment:g}, alpha {result.alpha:g} ({result.alternative})")
    ax.legend(loc="lower right", fontsize="small")
    ax.grid(alpha=0.3)
    return fig


def plot_power_curve(result, ax=None):
    """Power against the treatment share, one line per method (a PowerCurve)."""
    fig, ax = figure_axes(ax, figsize=(6.4, 4.0))
    for method, values in result.power.items():
        ax.plot(result.p_treatment, values, label=method)
    ax.axvline(result.p_control, ls=":", color="grey", lw=1)
    ax.set_xlabel("share in the deltagergruppe")
    ax.set_ylabel("power")
    ax.set_ylim(0, 1)
    ax.set_title(f"control {result.p_control:g}, {result.n_treatment}:{result.n_control}, alpha {result.alpha:g}")
    ax.legend(loc="lower right", fontsize="small")
    ax.grid(alpha=0.3)
    return fig
