"""The pre-specified analysis: every endpoint × estimator in one tidy table.

:func:`analyze` reads a register as of a date (observations uploaded by
``trial outcomes load``), derives the endpoints by the protocol's rules
(:func:`trial.outcomes.derive`), runs the protocol's estimators
(:mod:`trial.estimate`) and adjusts the confirmatory family for
multiplicity. :func:`analyze_frames` does the same on frames (notebooks,
tests). The table is what the quarterly report and the notebooks both read.

Which estimators run (from the protocol's ``[analysis]``):

================  =====================================================================
endpoint type     estimators
================  =====================================================================
binary            primary (``difference_in_means``), ``lin_hc2`` (protocol covariates),
                  ``randomization_inference`` (the register's own re-randomizer),
                  ``risk_difference``
count             primary, ``lin_hc2``, ``randomization_inference``; with exposure
                  (``event_rate``) also ``negbin`` (rate ratio, log exposure offset)
continuous        primary, ``lin_hc2``, ``randomization_inference``
time_to_event     ``logrank`` and ``cox``
================  =====================================================================

A row is ``confirmatory`` when its endpoint is in the protocol's confirmatory
family (primary, hierarchy ≥ 1) and its estimator is the primary estimator;
every other row is ``exploratory``. The confirmatory p-values are adjusted by
``analysis.multiplicity`` (fixed sequence in hierarchy order, Holm, Bonferroni
or none) at ``analysis.alpha``. Before the protocol's ``trial.analysis_date``
the analysis is *descriptive* (peeking discipline): roles stay, adjusted
p-values are shown, but ``rejected`` is empty and no confirmatory claim is made.

Missing outcomes (attrition, not yet observed) are left out of each estimate
(complete cases) and counted per row (``n_missing``); randomization inference
uses every enrolled citizen's assignment with the missing outcomes masked.
"""
from __future__ import annotations

import dataclasses
import datetime as _dt
import math
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import numpy as np
import pandas as pd

from .exceptions import ParameterError, RegisterError, TrialError
from .outcomes import Outcomes, derive, register_enrollments
from .outcomes._common import NOT_YET_OBSERVED
from ._results import Displayable

__all__ = ["AnalysisResult", "analyze", "analyze_frames", "TABLE_COLUMNS", "register_frames", "effect_covariance",
           "joint_effect_draws"]

TABLE_COLUMNS = (
    "endpoint", "label_da", "endpoint_type", "estimator", "role", "hierarchy",
    "estimate", "std_error", "statistic", "df", "p_value", "ci_low", "ci_high",
    "n_treatment", "n_control", "n_missing", "missing_reasons", "control_mean", "treatment_mean",
    "adjusted_p_value", "rejected", "scale", "method", "note",
)
_DEFAULT_RESAMPLES = 2000


# --------------------------------------------------------------------------- result
@dataclass(frozen=True, eq=False)
class AnalysisResult(Displayable):
    """The pre-specified analysis as of a date.

    Attributes
    ----------
    table : DataFrame
        One row per endpoint × estimator (columns :data:`TABLE_COLUMNS`),
        primary endpoints first in hierarchy order.
    as_of : date
        The date the data are taken as of.
    data_date : date or None
        Data date of the newest upload used (register analyses).
    descriptive : bool
        True before the protocol's analysis date: no confirmatory claims.
    protocol_fingerprint, trial_id : str
    n_by_arm : dict
        Enrolled citizens per arm.
    multiplicity : MultiplicityResult or None
        The adjustment over the confirmatory family.
    outcomes : Outcomes
        The endpoint values the table rests on.
    n_resamples, rng :
        Randomization-inference settings (the seed makes the table reproducible).
    results : Mapping
        ``(endpoint, estimator) -> `` the estimator's result object (an
        :class:`~trial.estimate.EstimateResult` labelled with the row's role),
        or ``None`` where the row could not be computed (its ``note`` says
        why); one entry per table row, in table order. Not part of
        :meth:`to_dict` (the table holds the same numbers).
    data : DataFrame or None
        The frame the estimators ran on: one row per enrolled citizen with the
        enrollment columns (``treatment``, covariates, strata), every endpoint
        value (``<id>``, ``<id>_event``, ``<id>_exposure_years``); no CPR number.

    Examples
    --------
    Forest plot of the primary estimator straight from the result (no
    recomputation): ``trial.estimate.plot_forest(result)``; one estimator's
    object: ``result.result("extension", "lin_hc2")``.
    """

    table: pd.DataFrame = field(repr=False)
    as_of: _dt.date
    data_date: _dt.date | None
    descriptive: bool
    protocol_fingerprint: str
    trial_id: str
    analysis_date: _dt.date
    n_by_arm: dict
    multiplicity: Any = field(repr=False, default=None)
    outcomes: Outcomes | None = field(repr=False, default=None)
    n_resamples: int = _DEFAULT_RESAMPLES
    rng: Any = None
    ri_scheme: str = ""
    note: str = ""
    results: Mapping[tuple[str, str], Any] = field(repr=False, default_factory=dict, compare=False)
    data: pd.DataFrame | None = field(repr=False, default=None, compare=False)
    mode: str | None = None      # the register's mode (test / production); None for frames not from a register

    def to_frame(self) -> pd.DataFrame:
        """The tidy table (a copy)."""
        return self.table.copy()

    def result(self, endpoint: str, estimator: str | None = None):
        """The result object behind one row of the table.

        Parameters
        ----------
        endpoint : str
            Endpoint id.
        estimator : str, optional
            Estimator name; default the row of the confirmatory family's
            estimator (the protocol's primary estimator) or, for endpoints
            without it (time to event), the endpoint's first row.

        Returns
        -------
        EstimateResult or None
            ``None`` when that row could not be computed (see its ``note``).
        """
        rows = [k for k in self.results if k[0] == endpoint]
        if not rows:
            known = list(dict.fromkeys(k[0] for k in self.results))
            raise ParameterError("endpoint", f"must be one of {', '.join(known)}; got {endpoint!r}")
        if estimator is None:
            primary = self.primary_estimator
            estimator = primary if (endpoint, primary) in self.results else rows[0][1]
        if (endpoint, estimator) not in self.results:
            raise ParameterError("estimator", f"must be one of {', '.join(k[1] for k in rows)} for endpoint "
                                 f"{endpoint!r}; got {estimator!r}")
        return self.results[(endpoint, estimator)]

    @property
    def primary_estimator(self) -> str | None:
        """The estimator of the confirmatory rows (the protocol's primary estimator), if any."""
        conf = self.table.loc[self.table["role"] == "confirmatory", "estimator"]
        return str(conf.iloc[0]) if len(conf) else None

    def confirmatory(self) -> pd.DataFrame:
        """The confirmatory rows only, in testing order."""
        t = self.table[self.table["role"] == "confirmatory"]
        return t.sort_values("hierarchy", kind="stable").reset_index(drop=True)

    def to_dict(self) -> dict:
        """JSON-ready: ``{"as_of", "descriptive", "estimates": [rows], ...}`` (NaN as None)."""
        rows = []
        for rec in self.table.to_dict("records"):
            rows.append({k: _plain(v) for k, v in rec.items()})
        return {
            "as_of": self.as_of.isoformat(),
            "descriptive": bool(self.descriptive),
            "estimates": rows,
            "data_date": self.data_date.isoformat() if self.data_date else None,
            "analysis_date": self.analysis_date.isoformat(),
            "protocol_fingerprint": self.protocol_fingerprint,
            "trial_id": self.trial_id,
            "n_by_arm": {str(k): int(v) for k, v in self.n_by_arm.items()},
            "multiplicity": None if self.multiplicity is None else self.multiplicity.method,
            "n_resamples": int(self.n_resamples),
            "seed": _plain(self.rng),
            "note": self.note,
            "mode": self.mode,
        }

    def summary(self) -> str:
        head = ((f"[{self.mode.upper()} register] " if self.mode else "")
                + f"Pre-specified analysis of {self.trial_id} as of {self.as_of}"
                + (f" (data date {self.data_date})" if self.data_date else ""))
        arms = ", ".join(f"{k} {v}" for k, v in self.n_by_arm.items())
        lines = [head, f"  protocol {self.protocol_fingerprint[:16]}…; enrolled: {arms}"]
        if self.descriptive:
            lines.append(f"  DESCRIPTIVE: before the analysis date {self.analysis_date}, effects are descriptive; "
                         "no confirmatory claims (rejected left empty).")
        if self.multiplicity is not None:
            lines.append(f"  confirmatory family: {self.multiplicity.method} at alpha {self.multiplicity.alpha:g}")
        lines.append(f"  {'endpoint':<26} {'estimator':<24} {'role':<12} {'estimate':>10} {'95% CI':>21} "
                     f"{'p':>8} {'adj. p':>8} {'n1/n0':>9}  rejected")
        for r in self.table.itertuples(index=False):
            ci = f"[{_f(r.ci_low)}, {_f(r.ci_high)}]"
            rej = "" if r.rejected is None or (isinstance(r.rejected, float) and math.isnan(r.rejected)) else (
                "yes" if r.rejected else "no")
            lines.append(f"  {r.endpoint:<26} {r.estimator:<24} {r.role:<12} {_f(r.estimate):>10} {ci:>21} "
                         f"{_f(r.p_value):>8} {_f(r.adjusted_p_value):>8} {f'{r.n_treatment}/{r.n_control}':>9}"
                         f"  {rej}")
        lines.extend(self._missing_lines())
        if self.note:
            lines.append(f"  note: {self.note}")
        return "\n".join(lines)

    def _missing_lines(self) -> list[str]:
        """Why rows show no estimate ("–"): each distinct reason once, with the endpoints it concerns."""
        by_note: dict[str, list[str]] = {}
        for r in self.table.itertuples(index=False):
            est = r.estimate
            if est is None or (isinstance(est, float) and math.isnan(est)):
                key = str(r.note or "not computed")
                eps = by_note.setdefault(key, [])
                if r.endpoint not in eps:
                    eps.append(r.endpoint)
        if not by_note:
            return []
        out = ["  no estimate (–):"]
        for note, eps in by_note.items():
            out.append(f"    {', '.join(eps)}: {note}")
        return out


def _plain(v):
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating, float)):
        return float(v) if math.isfinite(v) else None
    if isinstance(v, (np.bool_,)):
        return bool(v)
    if v is pd.NA or v is pd.NaT:
        return None
    return v


def _f(x) -> str:
    try:
        x = float(x)
    except (TypeError, ValueError):
        return "–"
    if not math.isfinite(x):
        return "–" if math.isnan(x) else ("inf" if x > 0 else "-inf")
    if x != 0 and abs(x) < 1e-3:
        return f"{x:.1e}"
    return f"{x:.4g}" if abs(x) >= 1000 else f"{x:.4f}"


# --------------------------------------------------------------------------- frames
def analyze_frames(protocol, enrollments: pd.DataFrame, status=None, events=None, survey=None, *, as_of=None,
                   rerandomizer: Callable | None = None, n_resamples: int = _DEFAULT_RESAMPLES, rng=None,
                   data_date=None) -> AnalysisResult:
    """The pre-specified analysis on frames (no register needed).

    Parameters
    ----------
    protocol : Protocol
    enrollments : DataFrame
        One row per randomized citizen in allocation order (``register.enrollments()``):
        ``pseudonym, referral_date, arm, treatment`` and the protocol's covariates
        (``stratum`` is used for randomization inference without a re-randomizer).
    status, events, survey : DataFrame
        The frames after intake.
    as_of : date or str, optional
        Data as of this date (default the latest date in the data).
    rerandomizer : callable, optional
        ``draw(rng, n_resamples) -> (n_resamples, len(enrollments))`` 0/1 array
        under the actual allocation scheme (``register.rerandomizer()``). Without
        it, randomization inference re-randomizes within ``stratum`` with the
        realised counts (complete randomization when there is no stratum).
    n_resamples : int
        Re-randomizations for randomization inference.
    rng : int or numpy.random.Generator, optional
        Seed of randomization inference; default the protocol's allocation seed.

    Returns
    -------
    AnalysisResult

    Notes
    -----
    Numbers equal calling the estimators of :mod:`trial.estimate` directly on
    the wide outcome frame (complete cases per endpoint). Primary estimator
    ``difference_in_means`` = ``estimatr::difference_in_means(y ~ z)`` (Neyman /
    HC2 standard error, Welch df); ``lin_hc2`` = ``estimatr::lm_lin``;
    ``negbin`` = ``MASS::glm.nb(y ~ z + offset(log(exposure)))``; ``cox`` =
    ``survival::coxph``; ``logrank`` = ``survival::survdiff``; multiplicity:
    fixed sequence ``max`` of p-values in hierarchy order, Holm = ``p.adjust``.
    """
    if protocol is None:
        raise ParameterError("protocol", "is required (a Protocol from trial.protocol.load)")
    if not isinstance(enrollments, pd.DataFrame) or not len(enrollments):
        raise ParameterError("enrollments", "must be a DataFrame with one row per randomized citizen; got "
                             + ("an empty frame" if isinstance(enrollments, pd.DataFrame)
                                else type(enrollments).__name__))
    for c in ("pseudonym", "referral_date", "treatment"):
        if c not in enrollments.columns:
            raise ParameterError("enrollments", f"must have a column {c!r}; it has {', '.join(enrollments.columns)}")
    try:
        n_resamples = int(n_resamples)
    except (TypeError, ValueError):
        n_resamples = 0
    if n_resamples < 1:
        raise ParameterError("n_resamples", f"must be a whole number of at least 1; got {n_resamples!r}")
    seed = int(protocol.allocation.seed) if rng is None else rng
    enr = enrollments.reset_index(drop=True)
    if "arm" not in enr.columns:
        enr = enr.assign(arm=np.where(enr["treatment"].astype(int) == 1, protocol.treatment_arm.id,
                                      protocol.control_arm.id))
    out = derive(protocol, enr, status, events, survey, as_of=as_of)
    as_of_date = out.as_of
    descriptive = as_of_date < protocol.trial.analysis_date
    wide = out.wide()
    data = enr.drop(columns=[c for c in wide.columns if c in enr.columns and c != "pseudonym"])
    data = data.merge(wide, on="pseudonym", how="left", validate="one_to_one")
    data["treatment"] = enr["treatment"].astype(int).to_numpy()

    if rerandomizer is not None:
        if getattr(rerandomizer, "n", len(enr)) != len(enr):
            raise ParameterError("rerandomizer", f"draws assignments for {rerandomizer.n} citizens but there are "
                                 f"{len(enr)} enrollments")
        ri_scheme, ri_blocks, ri_name = rerandomizer, None, f"register re-randomizer ({getattr(rerandomizer, 'scheme', 'actual scheme')})"
    elif "stratum" in enr.columns and _blocks_ok(enr):
        ri_scheme, ri_blocks, ri_name = "blocked", "stratum", "complete randomization within stratum"
    else:
        ri_scheme, ri_blocks, ri_name = "complete", None, "complete randomization"

    rows = _estimate_all(protocol, data, out, ri_scheme=ri_scheme, ri_blocks=ri_blocks, n_resamples=n_resamples,
                         seed=seed)
    table, mult = _finish_table(protocol, rows, descriptive)
    n_by_arm = enr["arm"].astype(str).value_counts().reindex(
        [protocol.treatment_arm.id, protocol.control_arm.id], fill_value=0).to_dict()
    note = []
    if descriptive:
        note.append(f"as of {as_of_date}, before the analysis date {protocol.trial.analysis_date}: descriptive only")
    results = {}
    for r in rows:
        res = r["_result"]
        results[(r["endpoint"], r["estimator"])] = None if res is None else res.with_role(r["role"])
    return AnalysisResult(table=table, as_of=as_of_date, data_date=_date_or_none(data_date), descriptive=descriptive,
                          protocol_fingerprint=protocol.fingerprint, trial_id=protocol.trial.id,
                          analysis_date=protocol.trial.analysis_date, n_by_arm=n_by_arm, multiplicity=mult,
                          outcomes=out, n_resamples=n_resamples, rng=seed if not isinstance(seed, np.random.Generator)
                          else repr(seed), ri_scheme=ri_name, note="; ".join(note), results=results,
                          data=data)


def _date_or_none(d):
    if d is None:
        return None
    return pd.Timestamp(d).date()


def _blocks_ok(enr) -> bool:
    g = enr.groupby(enr["stratum"].astype(str))["treatment"].agg(["min", "max"])
    return bool((g["min"] != g["max"]).all())


def _estimators_for(protocol, ep, has_exposure: bool) -> list[str]:
    if ep.type == "time_to_event":
        return ["logrank", "cox"]
    names = [protocol.analysis.primary_estimator]
    for s in protocol.analysis.sensitivity_estimators:
        if s == "risk_difference" and ep.type != "binary":
            continue
        if s in ("logrank", "cox", "kaplan_meier"):
            continue
        if s in ("negbin", "poisson_robust") and not has_exposure:
            continue
        if s not in names:
            names.append(s)
    if has_exposure and "negbin" not in names:
        names.append("negbin")
    return names


def _estimate_all(protocol, data, out: Outcomes, *, ri_scheme, ri_blocks, n_resamples, seed) -> list[dict]:
    from . import estimate as E

    a = protocol.analysis
    level = 1 - a.alpha
    kw = dict(treatment="treatment", confidence_level=level, alternative=a.alternative)
    covs = list(a.covariates)
    missing_cov = [c for c in covs if c not in data.columns]
    z = data["treatment"].to_numpy()
    order = list(protocol.primary_endpoints) + [e for e in protocol.endpoints if not e.confirmatory]
    # randomization inference for every non-survival endpoint on the same re-randomizations
    ri_eps = [e for e in order if e.type != "time_to_event" and "randomization_inference" in
              _estimators_for(protocol, e, False)]
    ri_results = {}
    if ri_eps:
        ok = [e for e in ri_eps if _computable(data, out, e)]
        if ok:
            res = E.randomization_inference_many(data, outcomes=[e.id for e in ok], scheme=ri_scheme,
                                                 blocks=ri_blocks, n_resamples=n_resamples, rng=seed, **kw)
            ri_results = dict(zip([e.id for e in ok], res))
    rows = []
    for ep in order:
        exposure_col = f"{ep.id}_exposure_years"
        has_exposure = exposure_col in data.columns
        y = data[ep.id].to_numpy(dtype=float)
        obs = ~np.isnan(y)
        n_missing = int((~obs).sum())
        reasons = out.long.loc[(out.long["endpoint"] == ep.id) & out.long["missing_reason"].notna(), "missing_reason"]
        missing_reasons = "; ".join(f"{k} {v}" for k, v in reasons.value_counts().items())
        cc = data.loc[obs].reset_index(drop=True)
        computable = _computable(data, out, ep)
        if not computable:  # the few complete cases (e.g. only events before attrition) would mislead
            ctrl = trt = math.nan
        elif ep.type == "time_to_event":
            ctrl, trt = _km_shares(E, cc, ep, kw)
        else:
            ctrl = float(np.nanmean(y[z == 0])) if (obs & (z == 0)).any() else math.nan
            trt = float(np.nanmean(y[z == 1])) if (obs & (z == 1)).any() else math.nan
        for name in _estimators_for(protocol, ep, has_exposure):
            base = dict(endpoint=ep.id, label_da=ep.label_da, endpoint_type=ep.type, estimator=name,
                        hierarchy=ep.hierarchy, n_missing=n_missing, missing_reasons=missing_reasons, control_mean=ctrl, treatment_mean=trt,
                        confirmatory_endpoint=ep.confirmatory)
            res, note = None, ""
            if not computable:
                note = _not_computable_note(data, out, ep)
            elif name == "randomization_inference":
                res = ri_results.get(ep.id)
            elif name == "lin_hc2" and missing_cov:
                note = f"not computed: the enrollments lack covariate(s) {', '.join(missing_cov)}"
            elif name == "lin_hc2" and not covs:
                note = "not computed: the protocol lists no covariates (analysis.covariates)"
            else:
                res, note = _run(E, name, cc, ep, kw, covs, exposure_col)
            rows.append(_row(base, res, note))
    return rows


_EVER_RULES = ("event_any", "ever_status")


def _reached_horizon(data, out: Outcomes, ep) -> bool:
    """An "ever by week H" endpoint: each arm has a complete case followed to week H (not lost before it).

    Until then the only complete cases are citizens with an event before attrition (value 1), so a
    comparison would be all 1s against all 1s.
    """
    if getattr(ep, "rule", None) not in _EVER_RULES:
        return True
    fu = out.followup
    lost_before = fu["attrition_week"].to_numpy(dtype=float) <= ep.horizon_weeks
    reached = (fu["followup_weeks"].to_numpy() >= ep.horizon_weeks) & ~lost_before
    ok = pd.Series(reached, index=fu["pseudonym"].astype(str).to_numpy())
    y = data[ep.id].to_numpy(dtype=float)
    r = ok.reindex(data["pseudonym"].astype(str).to_numpy(), fill_value=False).to_numpy() & ~np.isnan(y)
    z = data["treatment"].to_numpy()
    return bool((r & (z == 1)).any() and (r & (z == 0)).any())


def _computable(data, out: Outcomes, ep) -> bool:
    return _arms_observed(data, ep.id) and _reached_horizon(data, out, ep)


def _not_computable_note(data, out: Outcomes, ep) -> str:
    """Why an endpoint with no complete case in an arm cannot be estimated (the note's text)."""
    lg = out.long
    miss = lg.loc[(lg["endpoint"] == ep.id) & lg["missing_reason"].notna(), "missing_reason"]
    if not _reached_horizon(data, out, ep) or (len(miss) and (miss == NOT_YET_OBSERVED).mean() > 0.5):
        return (f"not computable yet: no citizen in one arm (or both) has been followed to week "
                f"{ep.horizon_weeks} (the endpoint's horizon); nothing to compare yet")
    return "no observed value in one arm (or both): nothing to compare yet"


def _arms_observed(data, col) -> bool:
    y = data[col].to_numpy(dtype=float)
    z = data["treatment"].to_numpy()
    ok = ~np.isnan(y)
    return bool((ok & (z == 1)).any() and (ok & (z == 0)).any())


def _run(E, name, cc, ep, kw, covs, exposure_col):
    try:
        if name == "negbin":
            d = cc.assign(_count=np.round(cc[ep.id] * cc[exposure_col]))
            d = d[d[exposure_col] > 0]
            return E.negbin_rate_ratio(d, outcome="_count", exposure=exposure_col, **kw), ""
        if name in ("logrank", "cox"):
            return E.estimate(cc, name, outcome=ep.id, time=ep.id, event=f"{ep.id}_event", **kw), ""
        if name in ("lin_hc2", "ancova_hc2") or name.startswith("ols_"):
            return E.estimate(cc, name, outcome=ep.id, covariates=covs, **kw), ""
        return E.estimate(cc, name, outcome=ep.id, **kw), ""
    except TrialError as exc:  # an estimator that cannot run on these data says why
        return None, f"not computed: {exc}"


def _km_shares(E, cc, ep, kw):
    """Share with the event by the horizon per arm (1 − Kaplan–Meier), control and treatment."""
    ev = f"{ep.id}_event"
    z = cc["treatment"].to_numpy()
    if not ((z == 1).any() and (z == 0).any()):
        return math.nan, math.nan
    km = E.kaplan_meier(cc, time=ep.id, event=ev, treatment="treatment", horizon=ep.horizon_weeks,
                        confidence_level=kw["confidence_level"])
    out = {}
    for arm in (0, 1):
        t = km.table[km.table["treatment"] == arm]
        t = t[t["time"] <= ep.horizon_weeks]
        out[arm] = 1.0 - (float(t["survival"].iloc[-1]) if len(t) else 1.0)
    return out[0], out[1]


def _row(base: dict, res, note: str) -> dict:
    r = dict(base)
    if res is not None:
        for k in ("estimate", "std_error", "statistic", "df", "p_value", "ci_low", "ci_high"):
            r[k] = float(getattr(res, k))
        r["n_treatment"], r["n_control"] = int(res.n_treatment), int(res.n_control)
        r["method"] = res.method
        r["scale"] = "ratio" if res.ratio_scale else "difference"
        r["note"] = "; ".join(x for x in (note, res.note) if x)
        r["_result"] = res
    else:
        for k in ("estimate", "std_error", "statistic", "df", "p_value", "ci_low", "ci_high"):
            r[k] = math.nan
        r["n_treatment"] = r["n_control"] = 0
        r["method"] = ""
        r["scale"] = "ratio" if base["estimator"] in ("negbin", "cox", "logrank", "risk_ratio") else "difference"
        r["note"] = note or "not computed"
        r["_result"] = None
    return r


def _finish_table(protocol, rows: list[dict], descriptive: bool):
    from .estimate import adjust, label_roles

    primary = protocol.analysis.primary_estimator
    # roles from the estimation module's rule (endpoint in the confirmatory family × primary estimator)
    for r in rows:
        res = r["_result"]
        if res is not None:
            r["role"] = label_roles([res], protocol, endpoint_of=lambda _res, _e=r["endpoint"]: _e)[0].role
        else:
            r["role"] = "confirmatory" if (r["confirmatory_endpoint"] and r["estimator"] == primary) else "exploratory"
    conf = [r for r in rows if r["role"] == "confirmatory"]
    mult = None
    for r in rows:
        r["adjusted_p_value"] = math.nan
        r["rejected"] = None
    if conf:
        p = [r["p_value"] if math.isfinite(r["p_value"]) else 1.0 for r in conf]
        order = sorted(range(len(conf)), key=lambda i: conf[i]["hierarchy"])
        mult = adjust(p, protocol.analysis.multiplicity, order, alpha=protocol.analysis.alpha,
                      names=[r["endpoint"] for r in conf])
        for r, ap, rej, praw in zip(conf, mult.adjusted_p_values, mult.rejected, p):
            r["adjusted_p_value"] = ap
            r["rejected"] = None if descriptive else bool(rej)
            if not math.isfinite(r["p_value"]):
                r["note"] = "; ".join(x for x in (r["note"], "no p-value: counted as p = 1 in the multiplicity "
                                                  "adjustment (the sequence stops here)") if x)
    table = pd.DataFrame([{k: r.get(k) for k in TABLE_COLUMNS} for r in rows], columns=list(TABLE_COLUMNS))
    for c in ("n_treatment", "n_control", "n_missing", "hierarchy"):
        table[c] = table[c].astype("int64")
    table["rejected"] = table["rejected"].astype(object)
    return table, mult


# --------------------------------------------------------------------------- register
def register_frames(reg, as_of=None) -> dict:
    """Frames for the analysis from an open register as of ``as_of``.

    Returns a dict with ``protocol, enrollments`` (with ``withdrawn_at`` from
    the register's withdrawals), ``status, events, survey`` (the latest upload
    of each with data date ≤ ``as_of``) and ``data_date`` (the newest of them).

    Raises
    ------
    RegisterError
        When nothing was uploaded by ``as_of`` or no citizen is enrolled.
    """
    proto = reg.protocol
    enr = register_enrollments(reg)
    if not len(enr):
        raise RegisterError(f"register {reg.target} has no enrolled citizens: nothing to analyse")
    frames, dates = {}, []
    for kind in ("status", "events", "survey"):
        df = reg.observations(kind, as_of=as_of)
        if not len(df.columns):
            when = f" with a data date on or before {as_of}" if as_of is not None else ""
            raise RegisterError(f"register {reg.target} has no {kind} observations{when}; upload the exports with "
                                "`trial outcomes load --register R --key-file K --status F --events F --survey F`")
        frames[kind] = df
        dates.append(pd.Timestamp(df.attrs["data_date"]).date())
    return {"protocol": proto, "enrollments": enr, **frames, "data_date": max(dates)}


def analyze(register_or_path, *, as_of=None, n_resamples: int = _DEFAULT_RESAMPLES, rng=None) -> AnalysisResult:
    """Run the full pre-specified analysis on a register as of a date.

    Parameters
    ----------
    register_or_path : Register or str or Path
        An open :class:`trial.register.Register`, a SQLite path or a PostgreSQL URL.
    as_of : date or str, optional
        Use the uploads with a data date on or before ``as_of`` and follow-up up
        to ``as_of`` (capped at the newest data date). Default: the newest upload.
    n_resamples : int
        Re-randomizations for randomization inference (the register's own scheme).
    rng : int or numpy.random.Generator, optional
        Seed of randomization inference; default the protocol's allocation seed.

    Returns
    -------
    AnalysisResult
        ``descriptive`` is True when ``as_of`` is before the protocol's analysis date.

    Raises
    ------
    RegisterError
        No register at the path, nothing uploaded by ``as_of``, nobody enrolled.
    """
    from .register import Register

    as_of_date = None
    if as_of is not None:
        try:
            as_of_date = pd.Timestamp(as_of).date()
        except (ValueError, TypeError):
            raise ParameterError("as_of", f"must be a date written YYYY-MM-DD; got {as_of!r}") from None
    if isinstance(register_or_path, Register):
        return _analyze_open(register_or_path, as_of_date, n_resamples, rng)
    with Register.open(register_or_path) as reg:
        return _analyze_open(reg, as_of_date, n_resamples, rng)


def _analyze_open(reg, as_of, n_resamples, rng) -> AnalysisResult:
    f = register_frames(reg, as_of)
    eff = f["data_date"] if as_of is None else min(as_of, f["data_date"])
    res = analyze_frames(f["protocol"], f["enrollments"], f["status"], f["events"], f["survey"], as_of=eff,
                         rerandomizer=reg.rerandomizer(), n_resamples=n_resamples, rng=rng,
                         data_date=f["data_date"])
    return dataclasses.replace(res, mode=reg.mode)


# --------------------------------------------------------------------------- joint draws
_JOINT_ESTIMATOR = "difference_in_means"


def _joint_inputs(result, endpoints, *, caller: str):
    """Validated (endpoint ids, estimates, table standard errors, arm matrices) for the joint functions."""
    if not isinstance(result, AnalysisResult):
        raise ParameterError("result", f"must be an AnalysisResult (from trial.analysis.analyze); got "
                             f"{type(result).__name__}")
    data = result.data
    if data is None or "treatment" not in getattr(data, "columns", ()):
        raise ParameterError("result", f"{caller} needs the frame the estimators ran on (AnalysisResult.data); "
                             "this result has none: run trial.analysis.analyze or analyze_frames again")
    t = result.table
    t = t[t["estimator"] == _JOINT_ESTIMATOR]
    ok = np.isfinite(t["estimate"].to_numpy(dtype=float)) & (t["std_error"].to_numpy(dtype=float) > 0)
    rows = t[ok].drop_duplicates("endpoint").set_index("endpoint")
    allowed = [str(e) for e in rows.index if e in data.columns]
    if endpoints is None:
        eps = allowed
    else:
        if isinstance(endpoints, str) or not all(isinstance(e, str) for e in endpoints):
            raise ParameterError("endpoints", f"must be a list of endpoint ids; got {endpoints!r}")
        eps = list(dict.fromkeys(endpoints))
        bad = [e for e in eps if e not in allowed]
        if bad:
            raise ParameterError("endpoints", f"must be endpoints with a difference-in-means estimate and a positive "
                                 f"standard error in the analysis table ({', '.join(allowed) or 'none'}); got "
                                 f"{bad[0]!r}")
    if not eps:
        raise ParameterError("endpoints", "no endpoint has a difference-in-means estimate with a positive standard "
                             "error yet (nothing observed in both arms): there is nothing to draw")
    est = rows.loc[eps, "estimate"].to_numpy(dtype=float)
    se = rows.loc[eps, "std_error"].to_numpy(dtype=float)
    z = data["treatment"].to_numpy(dtype=int)
    Y = data[eps].to_numpy(dtype=float)
    return eps, est, se, Y, z


def _pairwise_mean_covariance(Y: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, int]:
    """Covariance of the differences in means (treatment − control) of the columns of ``Y``, pairwise complete.

    Returns the matrix and the number of endpoint pairs whose overlap in an arm was too small
    (fewer than 2 citizens observed on both) to estimate a covariance (taken as 0 there).
    """
    k = Y.shape[1]
    V = np.zeros((k, k))
    n_undefined = 0
    for arm in (1, 0):
        Ya = Y[z == arm]
        obs = ~np.isnan(Ya)
        n_jk = obs.T.astype(float) @ obs.astype(float)           # citizens observed on both j and k
        n_j = np.diag(n_jk)
        cov = pd.DataFrame(Ya).cov(min_periods=2, ddof=1).to_numpy()   # pairwise complete, ddof = 1
        undefined = np.isnan(cov) & (n_jk > 0)
        n_undefined += int(np.triu(undefined, 1).sum())
        with np.errstate(divide="ignore", invalid="ignore"):
            factor = np.where(n_jk > 0, n_jk / np.outer(n_j, n_j), 0.0)
        V += np.where(np.isnan(cov), 0.0, cov) * factor
    return V, n_undefined


def effect_covariance(result: AnalysisResult, *, endpoints=None) -> pd.DataFrame:
    """Estimated covariance matrix of the differences in means across endpoints.

    Parameters
    ----------
    result : AnalysisResult
        From :func:`analyze` or :func:`analyze_frames`; its ``data`` (the frame
        the estimators ran on) is used.
    endpoints : list of str, optional
        Endpoint ids; default every endpoint whose ``difference_in_means`` row
        has a finite estimate and a positive standard error, in table order.

    Returns
    -------
    DataFrame
        Endpoints × endpoints. The diagonal is the squared Neyman (HC2)
        standard error of the table's ``difference_in_means`` row. Not made
        positive semi-definite (see :func:`joint_effect_draws`); ``attrs``
        holds ``estimate`` (the differences in means, a dict) and ``note``.

    Notes
    -----
    With :math:`O_j^a` the citizens of arm :math:`a` with endpoint :math:`j`
    observed (:math:`n_j^a` of them) and :math:`n_{jk}^a = |O_j^a \\cap O_k^a|`,

    .. math::

        \\widehat{\\mathrm{Cov}}(\\hat\\tau_j, \\hat\\tau_k)
        = \\sum_{a \\in \\{1, 0\\}} \\frac{n_{jk}^a}{n_j^a n_k^a}\\, s_{jk}^a ,

    where :math:`s_{jk}^a` is the sample covariance (divisor
    :math:`n_{jk}^a - 1`) of :math:`y_j, y_k` over the citizens of arm
    :math:`a` observed on both (pairwise complete cases). It is the covariance
    of the two complete-case means when missingness is unrelated to the
    outcomes: :math:`\\mathrm{Cov}(\\bar y_j, \\bar y_k) = n_{jk}\\sigma_{jk}/(n_j n_k)`.
    Without missing values it is :math:`\\sum_a s_{jk}^a / n^a`, and on the
    diagonal :math:`s_j^{a\\,2}/n_j^a` summed over the arms: the Neyman/HC2
    variance of ``estimatr::difference_in_means`` (no blocks). A pair with
    fewer than two citizens observed on both in an arm contributes 0 for that
    arm (noted in ``attrs["note"]``).

    Examples
    --------
    >>> # cov = effect_covariance(analyze("reg.sqlite"), endpoints=["ordinary_employment", "extension"])
    """
    eps, est, _se, Y, z = _joint_inputs(result, endpoints, caller="effect_covariance")
    V, n_undef = _pairwise_mean_covariance(Y, z)
    out = pd.DataFrame(V, index=eps, columns=eps)
    out.attrs["estimate"] = dict(zip(eps, est.tolist()))
    out.attrs["note"] = (f"{n_undef} endpoint pair(s) have fewer than 2 citizens observed on both in an arm: "
                         "their covariance there is taken as 0") if n_undef else ""
    return out


def joint_effect_draws(result: AnalysisResult, *, n_draws: int, rng, endpoints=None) -> pd.DataFrame:
    """Joint normal draws of the effects (differences in means) of several endpoints.

    The endpoints are measured on the same citizens, so their estimated
    effects are correlated (a citizen in ordinary employment rarely starts a
    new ressourceforløb); drawing them independently misstates anything that
    adds them up, such as the business case's P(payback).

    Parameters
    ----------
    result : AnalysisResult
        From :func:`analyze` or :func:`analyze_frames` (its ``data`` is used).
    n_draws : int
        Number of draws (rows), at least 2.
    rng : int or numpy.random.Generator, keyword-only
        Seed or generator.
    endpoints : list of str, optional
        Endpoint ids (columns); default every endpoint whose
        ``difference_in_means`` row has a finite estimate and a positive
        standard error, in table order.

    Returns
    -------
    DataFrame
        ``n_draws`` × endpoints: draws from the multivariate normal with mean
        the table's ``difference_in_means`` estimates and covariance
        :func:`effect_covariance`. ``attrs``: ``estimate`` (dict),
        ``covariance`` (the matrix drawn from, after any clipping, as nested
        dict), ``note`` (why the matrix was changed, else empty).

    Notes
    -----
    Pairwise deletion of missing outcomes can give a covariance matrix that is
    not positive semi-definite. It is then made so by eigenvalue clipping:
    with :math:`V = Q \\Lambda Q^\\top`, negative eigenvalues are set to 0
    (the note says by how much); otherwise :math:`V` is used as estimated, so
    the draws' marginal standard deviations are the table's standard errors.
    Draws are :math:`\\hat\\tau + Z \\Lambda_+^{1/2} Q^\\top` with :math:`Z`
    standard normal (``n_draws`` × endpoints) from ``rng``.

    Examples
    --------
    >>> # draws = joint_effect_draws(analyze("reg.sqlite"), n_draws=2000, rng=20161001)
    >>> # draws.cov() is close to effect_covariance(...) for many draws
    """
    if isinstance(n_draws, bool) or not isinstance(n_draws, (int, np.integer)) or n_draws < 2:
        raise ParameterError("n_draws", f"must be a whole number of at least 2; got {n_draws!r}")
    eps, est, _se, Y, z = _joint_inputs(result, endpoints, caller="joint_effect_draws")
    gen = np.random.default_rng(rng)
    V, n_undef = _pairwise_mean_covariance(Y, z)
    V = (V + V.T) / 2
    lam, Q = np.linalg.eigh(V)
    notes = []
    if n_undef:
        notes.append(f"{n_undef} endpoint pair(s) have fewer than 2 citizens observed on both in an arm: "
                     "their covariance there is taken as 0")
    tol = 1e-12 * max(float(np.abs(lam).max()), np.finfo(float).tiny)
    if lam.min() < -tol:
        notes.append(f"the pairwise-complete covariance matrix is not positive semi-definite (smallest eigenvalue "
                     f"{lam.min():.3g}); negative eigenvalues were set to 0 before drawing")
        V = (Q * np.clip(lam, 0, None)) @ Q.T
    A = Q * np.sqrt(np.clip(lam, 0, None))          # V = A Aᵀ
    E = est + gen.standard_normal((int(n_draws), len(eps))) @ A.T
    out = pd.DataFrame(E, columns=eps)
    out.attrs["estimate"] = dict(zip(eps, est.tolist()))
    out.attrs["covariance"] = pd.DataFrame(V, index=eps, columns=eps).to_dict()
    out.attrs["note"] = "; ".join(notes)
    return out
