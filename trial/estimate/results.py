"""Result objects shared by every estimator.

Every estimator returns a frozen :class:`EstimateResult` (or a subclass for its
family) that carries its inputs, the base columns
``estimate, std_error, statistic, df, p_value, ci_low, ci_high, n_treatment,
n_control, method`` and, when something cannot be computed, a ``note`` saying
why (never a silent NaN).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Mapping

import numpy as np
import pandas as pd
from .._results import Displayable

__all__ = [
    "EstimateResult",
    "DifferenceInMeansResult",
    "OLSResult",
    "BinaryResult",
    "RandomizationResult",
    "CountResult",
    "SurvivalResult",
    "KaplanMeierResult",
    "PanelResult",
    "IVResult",
    "LeeBoundsResult",
    "SubgroupResult",
    "BASE_COLUMNS",
]

BASE_COLUMNS = ("estimator", "outcome", "estimate", "std_error", "statistic", "df", "p_value",
                "ci_low", "ci_high", "n_treatment", "n_control", "method", "coef", "role", "note")


def _fmt(x: Any, digits: int = 4) -> str:
    if x is None:
        return "–"
    if isinstance(x, (int, np.integer)):
        return str(int(x))
    try:
        xf = float(x)
    except (TypeError, ValueError):
        return str(x)
    if not math.isfinite(xf):
        return "inf" if xf == math.inf else "-inf" if xf == -math.inf else "–"
    if xf != 0 and (abs(xf) < 1e-3 or abs(xf) >= 1e6):
        return f"{xf:.{digits}g}"
    return f"{xf:.{digits}f}"


@dataclass(frozen=True)
class EstimateResult(Displayable):
    """An estimated effect of assignment (treatment − control, or treatment / control).

    Attributes
    ----------
    estimator : str
        Estimator name (the CLI's, e.g. ``"difference_in_means"``).
    outcome : str
        Outcome column.
    estimate : float
        Point estimate on the reported scale (a ratio for ratio estimators).
    std_error : float
        Standard error of ``coef`` for ratio estimators (log scale), of ``estimate`` otherwise.
    statistic, df, p_value : float
        Test statistic of no effect, its degrees of freedom (``inf``: normal
        reference; NaN when the test has none) and p-value for ``alternative``.
    ci_low, ci_high : float
        Confidence interval at ``confidence_level`` on the reported scale.
    n_treatment, n_control : int
        Citizens used in each arm.
    method : str
        One line saying how the numbers were computed.
    coef : float
        Log ratio for ratio estimators (NaN otherwise).
    role : str
        ``"confirmatory"`` or ``"exploratory"`` (see :func:`trial.estimate.label_roles`).
    note : str
        Why something could not be computed, or what was left out (empty when all is well).
    inputs : Mapping
        The arguments the estimator was called with (column names, options, seed).
    """

    estimator: str
    outcome: str
    estimate: float
    std_error: float = math.nan
    statistic: float = math.nan
    df: float = math.nan
    p_value: float = math.nan
    ci_low: float = math.nan
    ci_high: float = math.nan
    n_treatment: int = 0
    n_control: int = 0
    method: str = ""
    coef: float = math.nan
    confidence_level: float = 0.95
    alternative: str = "two-sided"
    role: str = "exploratory"
    note: str = ""
    inputs: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)
    _ci_fn: Callable[[float], tuple[float, float]] | None = field(default=None, repr=False, compare=False)

    # ------------------------------------------------------------------ API
    @property
    def ratio_scale(self) -> bool:
        """True when ``estimate`` is a ratio and ``coef`` its logarithm."""
        return not math.isnan(self.coef)

    @property
    def ok(self) -> bool:
        """True when both the estimate and the p-value could be computed."""
        return math.isfinite(self.estimate) and math.isfinite(self.p_value)

    def confidence_interval(self, confidence_level: float = 0.95) -> tuple[float, float]:
        """Confidence interval at ``confidence_level`` (same method and ``alternative``)."""
        if not (0 < confidence_level < 1):
            from ..exceptions import ParameterError

            raise ParameterError("confidence_level", f"must be in (0, 1); got {confidence_level!r}")
        if math.isclose(confidence_level, self.confidence_level):
            return (self.ci_low, self.ci_high)
        if self._ci_fn is None:
            return (math.nan, math.nan)
        return tuple(float(v) for v in self._ci_fn(confidence_level))

    def with_role(self, role: str) -> "EstimateResult":
        """A copy labelled ``"confirmatory"`` or ``"exploratory"``."""
        if role not in ("confirmatory", "exploratory"):
            from ..exceptions import ParameterError

            raise ParameterError("role", f"must be 'confirmatory' or 'exploratory'; got {role!r}")
        return replace(self, role=role)

    def to_dict(self) -> dict:
        """The base columns as a plain dict (JSON-ready apart from NaN)."""
        out = {}
        for k in BASE_COLUMNS:
            v = getattr(self, k)
            if isinstance(v, (np.floating, np.integer)):
                v = v.item()
            out[k] = v
        out["confidence_level"] = self.confidence_level
        out["alternative"] = self.alternative
        return out

    def to_frame(self) -> pd.DataFrame:
        """One row with the base columns (snake_case)."""
        return pd.DataFrame([self.to_dict()])

    def _extra_lines(self) -> list[str]:
        return []

    def summary(self) -> str:
        """A short plain-text report."""
        lvl = f"{100 * self.confidence_level:g}%"
        name = "ratio" if self.ratio_scale else "estimate"
        lines = [
            f"{self.estimator} on {self.outcome!r} ({self.role})",
            f"  method: {self.method}",
            f"  n: treatment {self.n_treatment}, control {self.n_control}",
            f"  {name}: {_fmt(self.estimate)}   {lvl} CI [{_fmt(self.ci_low)}, {_fmt(self.ci_high)}]",
        ]
        if self.ratio_scale:
            lines.append(f"  log ratio (coef): {_fmt(self.coef)}   std. error (log scale): {_fmt(self.std_error)}")
        elif not math.isnan(self.std_error):
            lines.append(f"  std. error: {_fmt(self.std_error)}")
        if not math.isnan(self.p_value):
            df = "" if math.isnan(self.df) else f", df {_fmt(self.df, 2)}"
            lines.append(f"  statistic {_fmt(self.statistic)}{df}; p-value ({self.alternative}) {_fmt(self.p_value)}")
        lines += self._extra_lines()
        if self.note:
            lines.append(f"  note: {self.note}")
        return "\n".join(lines)


@dataclass(frozen=True)
class DifferenceInMeansResult(EstimateResult):
    """Difference in means (plain or blocked); ``n_blocks`` is 0 for the plain estimator."""

    control_mean: float = math.nan
    treatment_mean: float = math.nan
    n_blocks: int = 0

    def _extra_lines(self):
        out = [f"  means: treatment {_fmt(self.treatment_mean)}, control {_fmt(self.control_mean)}"]
        if self.n_blocks:
            out.append(f"  blocks: {self.n_blocks}")
        return out


@dataclass(frozen=True)
class OLSResult(EstimateResult):
    """Treatment coefficient of a linear regression with heteroskedasticity-robust errors.

    ``coefficients`` holds the full coefficient table.
    """

    se_type: str = "HC2"
    covariates: tuple[str, ...] = ()
    coefficients: pd.DataFrame | None = field(default=None, repr=False, compare=False)

    def _extra_lines(self):
        cov = ", ".join(self.covariates) or "none"
        return [f"  covariates: {cov}; standard errors {self.se_type}"]


@dataclass(frozen=True)
class BinaryResult(EstimateResult):
    """Effect on a 0/1 outcome (risk difference, risk ratio, odds ratio, exact tests)."""

    events_treatment: int = 0
    events_control: int = 0
    control_mean: float = math.nan
    treatment_mean: float = math.nan

    def _extra_lines(self):
        return [f"  events: treatment {self.events_treatment}/{self.n_treatment}, "
                f"control {self.events_control}/{self.n_control}"]


@dataclass(frozen=True)
class RandomizationResult(EstimateResult):
    """Randomization inference: the assignment is re-drawn under the trial's own scheme."""

    scheme: str = "complete"
    n_resamples: int = 0
    exact: bool = False
    seed: Any = None
    null_distribution: np.ndarray | None = field(default=None, repr=False, compare=False)

    def _extra_lines(self):
        how = "all assignments enumerated (exact)" if self.exact else f"{self.n_resamples} re-randomizations"
        return [f"  scheme: {self.scheme}; {how}; seed {self.seed!r}"]


@dataclass(frozen=True)
class CountResult(EstimateResult):
    """Rate ratio for counts (negative binomial, Poisson with robust errors, ratio of means)."""

    dispersion: float = math.nan
    control_rate: float = math.nan
    treatment_rate: float = math.nan

    def _extra_lines(self):
        out = [f"  rates: treatment {_fmt(self.treatment_rate)}, control {_fmt(self.control_rate)}"]
        if not math.isnan(self.dispersion):
            out.append(f"  negative binomial theta (1/alpha): {_fmt(self.dispersion)}")
        return out


@dataclass(frozen=True)
class SurvivalResult(EstimateResult):
    """Cox hazard ratio or log-rank test (hazard ratio on the ratio scale)."""

    events_treatment: int = 0
    events_control: int = 0

    def _extra_lines(self):
        return [f"  events: treatment {self.events_treatment}, control {self.events_control}"]


@dataclass(frozen=True)
class KaplanMeierResult(EstimateResult):
    """Kaplan–Meier curves by arm; the estimate is the difference (treatment − control)
    in the share with the event by ``horizon``.

    ``table`` has columns ``arm, time, n_risk, n_event, survival, std_error, ci_low, ci_high``.
    """

    horizon: float = math.nan
    table: pd.DataFrame | None = field(default=None, repr=False, compare=False)

    def _extra_lines(self):
        return [f"  horizon: {_fmt(self.horizon, 1)}"]


@dataclass(frozen=True)
class PanelResult(EstimateResult):
    """Weekly panel: share in a status per week by arm and effects by period.

    ``weekly`` has ``week, arm, n, share, ci_low, ci_high``; ``periods`` has
    ``period, estimate, std_error, statistic, p_value, ci_low, ci_high``. The base
    columns give the pooled effect over all weeks (errors clustered by citizen).
    """

    weekly: pd.DataFrame | None = field(default=None, repr=False, compare=False)
    periods: pd.DataFrame | None = field(default=None, repr=False, compare=False)

    def _extra_lines(self):
        if self.periods is None or self.periods.empty:
            return []
        return ["  by period: " + "; ".join(f"{r.period}: {_fmt(r.estimate)}" for r in self.periods.itertuples())]


@dataclass(frozen=True)
class IVResult(EstimateResult):
    """Complier average causal effect by two-stage least squares."""

    first_stage_estimate: float = math.nan
    first_stage_f: float = math.nan
    itt_estimate: float = math.nan

    def _extra_lines(self):
        weak = " (weak instrument: F < 10)" if self.first_stage_f < 10 else ""
        return [f"  first stage: take-up difference {_fmt(self.first_stage_estimate)}, "
                f"F {_fmt(self.first_stage_f, 1)}{weak}; ITT {_fmt(self.itt_estimate)}"]


@dataclass(frozen=True)
class LeeBoundsResult(EstimateResult):
    """Lee (2009) bounds on the effect among always-observed citizens.

    ``estimate`` is NaN by design (the effect is only partially identified);
    ``lower_bound``/``upper_bound`` bound it and ``ci_low``/``ci_high`` is the
    Imbens–Manski interval covering the effect.
    """

    lower_bound: float = math.nan
    upper_bound: float = math.nan
    trimming_share: float = math.nan
    trimmed_arm: str = ""
    lower_bound_std_error: float = math.nan
    upper_bound_std_error: float = math.nan
    lower_bound_ci_low: float = math.nan
    lower_bound_ci_high: float = math.nan
    upper_bound_ci_low: float = math.nan
    upper_bound_ci_high: float = math.nan

    BOUND_COLUMNS = ("lower_bound", "upper_bound", "trimming_share", "trimmed_arm", "lower_bound_std_error",
                     "upper_bound_std_error", "lower_bound_ci_low", "lower_bound_ci_high", "upper_bound_ci_low",
                     "upper_bound_ci_high")

    def to_dict(self) -> dict:
        """The base columns plus the bounds, the trimming share and arm, and the bounds' SEs and intervals."""
        out = super().to_dict()
        for k in self.BOUND_COLUMNS:
            v = getattr(self, k)
            out[k] = v.item() if isinstance(v, (np.floating, np.integer)) else v
        return out

    def _extra_lines(self):
        out = [f"  bounds: [{_fmt(self.lower_bound)}, {_fmt(self.upper_bound)}]; trimmed "
               f"{_fmt(100 * self.trimming_share, 1)}% of the {self.trimmed_arm or '–'} arm"]
        if math.isfinite(self.lower_bound_std_error):
            lvl = f"{100 * self.confidence_level:g}%"
            out.append(f"  lower bound {lvl} CI [{_fmt(self.lower_bound_ci_low)}, {_fmt(self.lower_bound_ci_high)}] "
                       f"(SE {_fmt(self.lower_bound_std_error)}); upper bound [{_fmt(self.upper_bound_ci_low)}, "
                       f"{_fmt(self.upper_bound_ci_high)}] (SE {_fmt(self.upper_bound_std_error)})")
        return out


@dataclass(frozen=True)
class SubgroupResult(EstimateResult):
    """A pre-specified subgroup interaction (always exploratory).

    Base columns: the test that the effect is the same in every level (Wald,
    HC2); ``estimate`` is the difference in effects for a two-level factor.
    ``table`` gives the effect in each level.
    """

    subgroup: str = ""
    table: pd.DataFrame | None = field(default=None, repr=False, compare=False)

    def _extra_lines(self):
        if self.table is None:
            return []
        return [f"  effect in {self.subgroup}={r.level}: {_fmt(r.estimate)} (n {r.n})" for r in self.table.itertuples()]
