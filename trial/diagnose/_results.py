"""The result of a design diagnosis (:class:`DiagnosisResult`)."""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Mapping

from .._results import Displayable


@dataclass(frozen=True, repr=False)
class DiagnosisResult(Displayable):
    """Operating characteristics of the pre-specified analysis, from simulated trials.

    ``rows`` has one mapping per endpoint and estimator with ``power``
    (unadjusted), ``power_adjusted`` (after the multiplicity rule; NaN outside
    the confirmatory family), ``bias``, ``rmse``, ``coverage``, ``type_s``,
    each with ``<name>_mc_se``, ``mean_std_error``, ``undefined_share``
    (trials without an estimate or a finite standard error), ``type`` (endpoint type) and ``scale``
    (``difference``, or ``log_hazard_ratio`` for the log-rank rows).
    ``fwer`` is the share of trials under the global null (all effects 0) in
    which any confirmatory endpoint is rejected after the multiplicity rule,
    for the primary estimator. ``mean_n_control`` (and its range) is the
    kontrolgruppe's size when enrollment closes at capacity; ``assumptions``
    the SDs and dispersions used (``source``: given, protocol or default).
    """

    trial_id: str
    fingerprint: str
    n_sims: int
    seed: int
    n_treatment: int
    n_control: int
    effects: Mapping[str, float]
    alpha: float
    alternative: str
    multiplicity: str
    confidence_level: float
    prognostic: float
    shared: float
    scheme: str
    rows: tuple[Mapping[str, Any], ...]
    fwer: float
    fwer_mc_se: float
    fwer_by_estimator: Mapping[str, float] = field(default_factory=dict)
    mean_n_treatment: float = float("nan")
    notes: tuple[str, ...] = ()
    mean_n_control: float = float("nan")
    min_n_control: int = 0
    max_n_control: int = 0
    when_full: str = "stop"
    assumptions: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def to_frame(self):
        import pandas as pd

        return pd.DataFrame([dict(r) for r in self.rows])

    def to_dict(self) -> dict:
        d = asdict(self)
        d["effects"] = dict(self.effects)
        d["fwer_by_estimator"] = dict(self.fwer_by_estimator)
        d["rows"] = [dict(r) for r in self.rows]
        d["assumptions"] = {k: dict(v) for k, v in self.assumptions.items()}
        return d

    def summary(self) -> str:
        f = lambda x, k=3: "–" if x is None or not math.isfinite(x) else f"{x:.{k}f}"  # noqa: E731
        lines = [f"Design diagnosis of {self.trial_id}: {self.n_sims} simulated trials (seed {self.seed}), "
                 f"{self.n_treatment}:{self.n_control} {self.scheme} (when full: {self.when_full}), alpha {self.alpha:g} {self.alternative}, "
                 f"{self.multiplicity}",
                 f"  {'endpoint':<26} {'estimator':<20} {'effect':>8} {'power':>13} {'adj.':>6} {'bias':>17} "
                 f"{'rmse':>7} {'coverage':>14} {'type_s':>6}"]
        for r in self.rows:
            lines.append(
                f"  {r['endpoint']:<26} {r['estimator']:<20} {r['true_effect']:>+8.3f} "
                f"{f(r['power'])} ± {f(r['power_mc_se'])} {f(r['power_adjusted']):>6} "
                f"{f(r['bias'], 4):>8} ± {f(r['bias_mc_se'], 4):<6} {f(r['rmse'], 4):>7} "
                f"{f(r['coverage'])} ± {f(r['coverage_mc_se'])} {f(r['type_s']):>6}")
        if any(r["estimator"] == "logrank" for r in self.rows):
            lines.append("  logrank rows: effect, bias and rmse on the log hazard ratio (Peto's O/E estimate)")
        lines.append(f"  family-wise error rate under the global null: {f(self.fwer, 4)} ± {f(self.fwer_mc_se, 4)} "
                     f"(primary estimator, {self.multiplicity})")
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)
