"""Multiplicity over the confirmatory family: fixed sequence, Holm, Bonferroni; role labels."""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Sequence

import numpy as np
import pandas as pd

from ..exceptions import ParameterError
from .._results import Displayable

__all__ = ["adjust", "MultiplicityResult", "label_roles", "METHODS"]

METHODS = ("fixed_sequence", "holm", "bonferroni", "none")


@dataclass(frozen=True)
class MultiplicityResult(Displayable):
    """Adjusted p-values and rejections, in the order the hypotheses were given."""

    names: tuple[str, ...]
    p_values: tuple[float, ...]
    adjusted_p_values: tuple[float, ...]
    rejected: tuple[bool, ...]
    method: str
    alpha: float
    order: tuple[int, ...]

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame({"name": self.names, "p_value": self.p_values, "adjusted_p_value": self.adjusted_p_values,
                             "rejected": self.rejected, "testing_order": [self.order.index(i) + 1 for i in
                                                                           range(len(self.names))]})

    def summary(self) -> str:
        lines = [f"multiplicity: {self.method}, alpha {self.alpha:g}"]
        for r in self.to_frame().itertuples():
            lines.append(f"  {r.testing_order}. {r.name}: p {r.p_value:.4g}, adjusted {r.adjusted_p_value:.4g}"
                         f" -> {'rejected' if r.rejected else 'not rejected'}")
        return "\n".join(lines)


def adjust(p_values: Sequence[float], method: str = "fixed_sequence", order: Sequence[int] | None = None, *,
           alpha: float = 0.05, names: Sequence[str] | None = None) -> MultiplicityResult:
    """Adjust p-values of the confirmatory family and decide rejections.

    Parameters
    ----------
    p_values : sequence of float
    method : {"fixed_sequence", "holm", "bonferroni", "none"}
    order : sequence of int, optional
        Testing order for ``fixed_sequence`` as positions into ``p_values``
        (default: as given). Ignored by the other methods.
    alpha : float
        Family-wise error rate.

    Notes
    -----
    Fixed sequence (hierarchical gatekeeping): :math:`\\tilde p_{(k)} = \\max_{j \\le k} p_{(j)}`
    in testing order; hypothesis k is rejected only when all before it are.
    Holm: :math:`\\tilde p_{(k)} = \\max_{j\\le k} \\min(1, (m-j+1)p_{(j)})` over
    sorted p (``stats::p.adjust(method = "holm")``). Bonferroni: :math:`\\min(1, m p)`.
    All control the family-wise error rate at ``alpha``.

    Examples
    --------
    >>> adjust([0.01, 0.04, 0.03], "fixed_sequence").rejected
    (True, True, True)
    >>> adjust([0.01, 0.06, 0.03], "fixed_sequence").rejected
    (True, False, False)
    >>> [round(p, 4) for p in adjust([0.01, 0.04, 0.03], "holm").adjusted_p_values]
    [0.03, 0.06, 0.06]
    """
    p = np.asarray(p_values, dtype=float)
    m = len(p)
    if m == 0:
        raise ParameterError("p_values", "need at least one p-value")
    if np.isnan(p).any() or (p < 0).any() or (p > 1).any():
        raise ParameterError("p_values", f"must be numbers in [0, 1]; got {list(p_values)!r}")
    if method not in METHODS:
        raise ParameterError("method", f"must be one of {', '.join(METHODS)}; got {method!r}")
    if not (0 < alpha < 1):
        raise ParameterError("alpha", f"must be in (0, 1); got {alpha!r}")
    order_t = tuple(range(m)) if order is None else tuple(int(i) for i in order)
    if sorted(order_t) != list(range(m)):
        raise ParameterError("order", f"must be a permutation of 0..{m - 1}; got {order!r}")
    adj = np.empty(m)
    if method == "fixed_sequence":
        adj[list(order_t)] = np.maximum.accumulate(p[list(order_t)])
    elif method == "holm":
        s = np.argsort(p, kind="stable")
        adj[s] = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * p[s]))
    elif method == "bonferroni":
        adj = np.minimum(1.0, m * p)
    else:
        adj = p.copy()
    names_t = tuple(names) if names is not None else tuple(f"H{i + 1}" for i in range(m))
    return MultiplicityResult(names=names_t, p_values=tuple(map(float, p)), adjusted_p_values=tuple(map(float, adj)),
                              rejected=tuple(bool(a <= alpha) for a in adj), method=method, alpha=float(alpha),
                              order=order_t)


def label_roles(results: Sequence, protocol, endpoint_of=None) -> list:
    """Label each result confirmatory or exploratory from the protocol.

    A result is confirmatory only when its endpoint is in the protocol's
    confirmatory family **and** its estimator is the protocol's primary
    estimator; everything else (sensitivity estimators, secondary endpoints,
    subgroups) is exploratory. ``endpoint_of(result)`` gives the endpoint id
    (default: ``result.outcome``).
    """
    confirm = {e.id for e in protocol.primary_endpoints}
    primary = protocol.analysis.primary_estimator
    out = []
    for r in results:
        ep = endpoint_of(r) if endpoint_of else r.outcome
        role = "confirmatory" if (ep in confirm and r.estimator == primary) else "exploratory"
        out.append(replace(r, role=role))
    return out
