"""The one place figures get their axes: ``plot_x(result, ax=None) -> Figure`` helpers share it."""
from __future__ import annotations

__all__ = ["figure_axes"]


def figure_axes(ax=None, figsize=(7, 4)):
    """``(figure, axes)``: ``ax`` and its figure when given, else a new pyplot figure (Agg backend
    unless one is already chosen, so it works headless and in notebooks alike)."""
    if ax is not None:
        return ax.figure, ax
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=figsize)
