"""The effect-fed case: trial estimates -> budget lines, with their uncertainty."""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from ..exceptions import BusinessCaseError
from ._case import DATA_DIR, UNIT_LABELS_DA, Case, load_case, npv, payback_years, require_price
from ._result import CaseResult, compute_case
from .._results import Displayable


def default_case_path(protocol) -> Path:
    """The case file a protocol names (``[business_case] case = "bi25"``):
    ``<protocol folder>/bi25_case.toml``, else the shipped ``trial/data/bi25_case.toml``."""
    link = getattr(protocol, "business_case", None)
    if link is None:
        raise BusinessCaseError("business_case", "the protocol has no [business_case] section, so no case "
                                "file and no drivers are known; add one (see protocols/ressourceforloeb.toml)")
    cands = []
    if getattr(protocol, "path", None):
        cands.append(Path(protocol.path).resolve().parent / f"{link.case}_case.toml")
    cands.append(Path(__file__).resolve().parents[2] / "protocols" / f"{link.case}_case.toml")
    cands.append(DATA_DIR / f"{link.case}_case.toml")
    for c in cands:
        if c.exists():
            return c
    raise BusinessCaseError("business_case.case", f"no case file {link.case}_case.toml found; looked in "
                            + ", ".join(str(c.parent) for c in cands))


@dataclass(frozen=True)
class EffectInput:
    """One effect as used: endpoint, its line, estimate (treatment − control), uncertainty, basis."""

    endpoint: str | None
    line: str
    estimate: float
    std_error: float | None
    ci_low: float | None
    ci_high: float | None
    basis: str  # "målt" or "antaget"


def _get(obj, name, default=None):
    if isinstance(obj, Mapping):
        return obj.get(name, default)
    return getattr(obj, name, default)


def _num_or_none(x, key):
    if x is None:
        return None
    try:
        v = float(x)
    except (TypeError, ValueError):
        raise BusinessCaseError(key, f"must be a number; got {x!r}") from None
    return v if math.isfinite(v) else None


def _draw_columns(draws) -> set:
    """Endpoint names of user-given draws (a DataFrame or a mapping)."""
    return set(getattr(draws, "columns", None) if hasattr(draws, "columns") else draws.keys())


class MeasuredEffects(dict):
    """Effects from :func:`effects_from_analysis` (a plain ``dict`` endpoint -> effect) that remember the analysis.

    ``analysis`` is the :class:`trial.analysis.AnalysisResult` they were taken
    from (``None`` when only a table was given). :func:`effect_fed_case` then
    draws the measured effects jointly (:func:`trial.analysis.joint_effect_draws`),
    keeping the correlation between endpoints estimated on the same citizens;
    ``dict(effects)`` or effects read from JSON are drawn independently.
    """

    def __init__(self, *args, analysis=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.analysis = analysis


def effects_from_analysis(table, protocol=None) -> dict:
    """Effects for :func:`effect_fed_case` from the tidy analysis table (``trial analyze``).

    Takes, per endpoint, the row of the protocol's primary estimator (else the
    first row): ``estimate, std_error, ci_low, ci_high``; all marked measured.
    ``table`` is a DataFrame or an object with ``to_frame()``.

    An endpoint whose row has no finite estimate or standard error (early in a
    trial: not yet observed in both arms) is left out, so its driver line keeps
    the case's assumed effect (*antaget*), as notebook 03 and the quarterly
    report show it. A row with a standard error of 0 (an outcome that is the
    same for every citizen) is passed on as measured; :func:`effect_fed_case`
    treats it as not measured (assumed effect) and says so in its notes.

    Returns a :class:`MeasuredEffects` (a ``dict``); given an
    :class:`~trial.analysis.AnalysisResult` (not only its table) it remembers
    it, so :func:`effect_fed_case` draws the measured effects jointly.
    """
    import pandas as pd

    analysis = table if getattr(table, "data", None) is not None and hasattr(table, "table") else None
    if hasattr(table, "to_frame") and not isinstance(table, pd.DataFrame):
        table = table.to_frame()
    if not isinstance(table, pd.DataFrame) or not {"endpoint", "estimate"} <= set(table.columns):
        raise BusinessCaseError("analysis", "must be a table with columns endpoint, estimate, std_error "
                                "(the tidy table of `trial analyze`)")
    prim = getattr(getattr(protocol, "analysis", None), "primary_estimator", None)
    out = {}
    for ep, g in table.groupby("endpoint", sort=False):
        if prim is not None and "estimator" in g.columns and (g["estimator"] == prim).any():
            g = g[g["estimator"] == prim]
        r = g.iloc[0]
        eff = {k: (float(r[k]) if k in r and pd.notna(r[k]) else None)
               for k in ("estimate", "std_error", "ci_low", "ci_high")}
        if eff["estimate"] is None or not math.isfinite(eff["estimate"]):
            continue        # not estimable yet: the line keeps the case's assumed effect
        if "std_error" in table.columns and eff["std_error"] is None:
            continue        # an estimate without a standard error is not a measurement: assumed effect
        # a standard error of 0 (e.g. the same outcome for every citizen) reaches effect_fed_case, which
        # keeps the assumed effect for the line and says why in its notes
        eff["measured"] = True
        out[str(ep)] = eff
    return MeasuredEffects(out, analysis=analysis)


def withhold_effects(effects, endpoints) -> dict:
    """The effects without those of ``endpoints``: their driver lines keep the case's assumed effect.

    The quarterly report uses it for an endpoint whose result disclosure
    control hides (a group of fewer than ``min_cell`` citizens): a line fed
    with the measured effect would give the hidden difference back through its
    amounts (effect x citizens x price). ``trial business-case --withhold``
    gives the same case. Effects from :func:`effects_from_analysis` keep their
    analysis, so the remaining measured effects are still drawn jointly.

    Parameters
    ----------
    effects : mapping endpoint id -> effect
    endpoints : iterable of str

    Returns
    -------
    dict (a :class:`MeasuredEffects` when ``effects`` is one)
    """
    drop = {str(e) for e in endpoints}
    kept = {k: v for k, v in effects.items() if k not in drop}
    if isinstance(effects, MeasuredEffects):
        return MeasuredEffects(kept, analysis=effects.analysis)
    return kept


def goal_effects(protocol, *, n_treatment: int | None = None, n_control: int | None = None) -> dict:
    """The protocol's goals as effects, with the standard error a binary endpoint would have
    (``sqrt(p1(1-p1)/n_t + p0(1-p0)/n_c)``) at the planned group sizes; all marked assumed."""
    n_t = n_treatment or protocol.capacity or 100
    n_c = n_control or protocol.control_size or n_t
    out = {}
    for e in protocol.endpoints:
        se = None
        if e.type == "binary":
            p0, p1 = e.control_value, e.goal_value
            se = math.sqrt(p1 * (1 - p1) / n_t + p0 * (1 - p0) / n_c)
        out[e.id] = {"estimate": e.goal, "std_error": se, "measured": False}
    return out


def default_seed(protocol) -> int:
    """The one default seed of the effect draws: the protocol's allocation seed (``[allocation] seed``).

    The quarterly report, ``trial business-case --effects/--register`` without
    ``--seed``, :func:`effect_fed` without ``rng`` and the demo all draw with it,
    so the report's P(payback) equals the command's on the same register
    (20161001 for BI25).
    """
    seed = getattr(getattr(protocol, "allocation", None), "seed", None)
    if seed is None:
        raise BusinessCaseError("allocation.seed", "the protocol has no allocation seed to default the draws to; "
                                "give a seed (rng=...)")
    return int(seed)


@dataclass(frozen=True)
class TableView:
    """A published-layout table as plain data: title, year labels, (row name, amounts) rows, total."""

    title: str
    years: tuple[str, ...]
    rows: tuple[tuple[str, tuple[float, ...]], ...]
    total: tuple[float, ...]


def effect_fed(register, *, as_of=None, rng=None, protocol=None, variants: Sequence[str] = (),
               **kwargs) -> "EffectFedCase":
    """The effect-fed case straight from a trial register: ``trial.analysis.analyze``
    -> :func:`effects_from_analysis` -> :func:`effect_fed_case`; ``rng`` defaults to
    :func:`default_seed` (the protocol's allocation seed), as the quarterly report.

    With a variant whose line prices the measured helårspersoner (BI25's
    ``"helaarspersoner"``) the effect ``"benefit_years"`` is measured on the
    register's weekly panel (:func:`add_benefit_years`) and drawn jointly with
    the other measured effects.
    """
    from .. import analysis
    from ..register import Register

    def run(reg):
        res = analysis.analyze(reg, as_of=as_of)
        proto = protocol or reg.protocol
        effects = effects_from_analysis(res, proto)
        notes = []
        if variants:
            from ._panel import add_benefit_years

            case = kwargs.get("case")
            if case is None:
                case = load_case(default_case_path(proto))
            elif not isinstance(case, Case):
                case = load_case(case)
            effects, notes = add_benefit_years(effects, analysis.register_frames(reg, as_of),
                                               case.with_variants(variants))
        return proto, effects, notes

    if not variants:
        res = analysis.analyze(register, as_of=as_of)
        if protocol is None:
            protocol = getattr(register, "protocol", None)
        if protocol is None:
            from ..protocol import load

            protocol = load()
        effects, notes = effects_from_analysis(res, protocol), []
    elif isinstance(register, Register):
        protocol, effects, notes = run(register)
    else:
        with Register.open(register) as reg:
            protocol, effects, notes = run(reg)
    if rng is None:
        rng = default_seed(protocol)
    return effect_fed_case(effects, protocol=protocol, rng=rng, variants=variants, extra_notes=notes, **kwargs)


@dataclass(frozen=True, eq=False)
class Sensitivity(Displayable):
    """Sensitivity of the effect-fed case: one row per variant (see :meth:`to_frame`).

    ``metric`` (default ``npv``) is what the tornado ranks: the present value
    of the net gain over ``horizon_years`` at the case's discount rate.
    """

    rows: tuple[dict, ...]
    base_npv: float
    horizon_years: int
    discount_rate: float
    unit: str

    def to_frame(self):
        """Columns: factor, variant, value, npv, net_result, payback_years_total, basis."""
        import pandas as pd

        return pd.DataFrame(list(self.rows))

    def summary(self) -> str:
        from .._format import fmt_number

        lines = [f"Følsomhed (nutidsværdi over {self.horizon_years} år, {UNIT_LABELS_DA.get(self.unit, self.unit)}):"]
        for r in self.rows:
            pb = "aldrig" if not math.isfinite(r["payback_years_total"]) else fmt_number(r["payback_years_total"], 1) + " år"
            lines.append(f"  {r['factor']:<34} {r['variant']:<14} NPV {fmt_number(r['npv'], 0):>9}  "
                         f"tilbagebetaling {pb:>9}  [{r['basis']}]")
        return "\n".join(lines)


@dataclass(frozen=True, eq=False)
class EffectFedCase(Displayable):
    """A business case fed by the trial's effects, with uncertainty.

    Attributes
    ----------
    effects : tuple of EffectInput
        Every driver line's effect (endpoint, estimate, std_error, CI, målt/antaget).
    base : CaseResult
        The case at the estimates, with the published-layout tables (:meth:`table`).
    net_gain_draws : ndarray (n_draws, horizon)
        Net gain per year (savings − costs, positive = gain) in each draw.
    payback_draws : ndarray (n_draws,)
        Payback on the total economy in each draw (``inf`` = never).
    p_payback : float
        P(payback on the total economy ≤ ``payback_within`` years) over the draws.
    break_even : pandas.DataFrame
        Per endpoint, the effect at which the case pays back within
        ``payback_within`` years (the others at their estimates).
    break_even_scale : float
        The common factor on all effects at which it pays back within ``payback_within`` years.
    sensitivity : Sensitivity
    """

    effects: tuple[EffectInput, ...]
    base: CaseResult
    net_gain_draws: np.ndarray = field(repr=False)
    payback_draws: np.ndarray = field(repr=False)
    p_payback: float
    payback_within: int
    horizon_years: int
    confidence_level: float
    n_draws: int
    draws_from: str
    break_even: Any = field(repr=False)
    break_even_scale: float
    sensitivity: Sensitivity = field(repr=False)
    seed: int | None = None
    unused_effects: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def case(self) -> Case:
        return self.base.case

    # -- names the quarterly report reads (trial.report) --------------------------
    @property
    def payback_years_service(self) -> float:
        return self.base.payback_years_service

    @property
    def payback_years_total(self) -> float:
        return self.base.payback_years_total

    @property
    def prob_payback(self) -> float:
        return self.p_payback

    @property
    def payback_horizon_years(self) -> int:
        return self.payback_within

    @property
    def n_resamples(self) -> int:
        return self.n_draws

    @property
    def cumulative_net(self) -> np.ndarray:
        """Cumulated net gain at the estimates over the horizon (positive = gain)."""
        return np.cumsum(self._estimate_gain())

    @property
    def tables(self) -> tuple["TableView", ...]:
        """Section 1 and Tables 1–3 as plain (title, years, rows, total) views, rounded as printed."""
        from ._result import TABLE_TITLES_DA

        out = []
        labels = list(self.case.year_labels)
        for name in ("section1", "table1", "table2", "table3"):
            t = self.table(name, rounded=True)
            body = t[~t["kind"].str.startswith("total") & (t["kind"] != "net")]
            tot = t[t["kind"].isin(["net", "total"])]
            rows = tuple((f"{r['line']} ({r['administration']}, {r['area']}) [{r['basis']}]",
                          tuple(float(r[lab]) for lab in labels)) for _, r in body.iterrows())
            out.append(TableView(TABLE_TITLES_DA[name], tuple(labels), rows,
                                 tuple(float(x) for x in tot[labels].iloc[-1])))
        return tuple(out)

    def table(self, name: str, *, rounded: bool = False):
        """A published-layout table at the estimates (see :meth:`CaseResult.table`)."""
        return self.base.table(name, rounded=rounded)

    def p_payback_within(self, years: float) -> float:
        """P(payback on the total economy ≤ ``years``) over the draws."""
        return float(np.mean(self.payback_draws <= years + 1e-9))

    @property
    def p_payback_never(self) -> float:
        """Share of the draws that never pay back (savings per year at the end of the case ≤ 0: ``inf``)."""
        return float(np.mean(np.isinf(self.payback_draws)))

    def payback_quantiles(self, probs: Sequence[float] = (0.025, 0.5, 0.975)) -> dict:
        """Quantiles of the payback time on the total economy over the draws; ``inf`` = never.

        Linear interpolation between order statistics (numpy's default
        ``method="linear"``, R's type 7), with the draws that never pay back
        (``inf``) as the largest values: a quantile whose interpolation reaches
        one of them is ``inf`` ("never", ``None`` in JSON) rather than numpy's
        ``inf − inf`` = NaN with a RuntimeWarning. :attr:`p_payback_never` is
        the share of such draws: quantiles above ``1 − p_payback_never`` are
        ``inf``.
        """
        return payback_quantiles(self.payback_draws, probs)

    def _year_labels(self):
        labels = list(self.case.year_labels)
        return labels + [f"år {k}" for k in range(len(labels) + 1, self.horizon_years + 1)]

    def confidence_interval(self, confidence_level: float = 0.95):
        """Percentile intervals over the draws of the net gain per year and cumulated (DataFrame)."""
        import pandas as pd

        if not 0 < confidence_level < 1:
            raise BusinessCaseError("confidence_level", f"must be between 0 and 1; got {confidence_level!r}")
        a = (1 - confidence_level) / 2
        g = self.net_gain_draws
        cum = np.cumsum(g, axis=1)
        return pd.DataFrame({
            "year": np.arange(1, g.shape[1] + 1), "year_label": self._year_labels(),
            "ci_low": np.quantile(g, a, axis=0), "ci_high": np.quantile(g, 1 - a, axis=0),
            "cumulative_ci_low": np.quantile(cum, a, axis=0), "cumulative_ci_high": np.quantile(cum, 1 - a, axis=0),
        })

    def to_frame(self):
        """Distribution of the net gain per year (and cumulated) over the draws.

        Columns: year, year_label, estimate (at the point estimates), mean,
        median, ci_low, ci_high (``confidence_level``), cumulative_estimate,
        cumulative_median, cumulative_ci_low, cumulative_ci_high.
        """
        ci = self.confidence_interval(self.confidence_level)
        g = self.net_gain_draws
        est = self._estimate_gain()
        ci.insert(2, "estimate", est)
        ci.insert(3, "mean", g.mean(axis=0))
        ci.insert(4, "median", np.median(g, axis=0))
        ci["cumulative_estimate"] = np.cumsum(est)
        ci["cumulative_median"] = np.median(np.cumsum(g, axis=1), axis=0)
        return ci

    def _estimate_gain(self) -> np.ndarray:
        from ._case import extend_years

        perm = extend_years(np.asarray(self.base.total_permanent), self.horizon_years)
        inv = np.zeros(self.horizon_years)
        k = min(self.horizon_years, self.case.n_years)
        inv[:k] = np.asarray(self.base.total_investment)[:k]
        return -(perm + inv)

    def effects_frame(self):
        import pandas as pd

        return pd.DataFrame([dataclasses.asdict(e) for e in self.effects])

    def to_dict(self) -> dict:
        d = self.base.to_dict()
        fin = lambda x: float(x) if x is not None and math.isfinite(x) else None  # noqa: E731
        dist = self.to_frame()
        d.update({
            "effects": [dataclasses.asdict(e) for e in self.effects],
            "n_draws": self.n_draws, "draws_from": self.draws_from, "seed": self.seed,
            "horizon_years": self.horizon_years, "confidence_level": self.confidence_level,
            "payback_within": self.payback_within,
            "p_payback_within": self.p_payback,
            "payback_years_total_quantiles": {q: fin(v) for q, v in self.payback_quantiles().items()},
            "p_payback_never": self.p_payback_never,
            "net_gain_distribution": dist.to_dict(orient="list"),
            "break_even": self.break_even.to_dict(orient="records"),
            "break_even_scale": fin(self.break_even_scale),
            "sensitivity": self.sensitivity.to_frame().to_dict(orient="records"),
            "unused_effects": list(self.unused_effects),
            "notes": list(self.notes),
        })
        return d

    def summary(self) -> str:
        from .._format import fmt_number, fmt_pct

        unit = UNIT_LABELS_DA.get(self.case.unit, self.case.unit)
        out = ["Effektbaseret business case (effekter: "
               + ", ".join(f"{e.endpoint or e.line} {fmt_number(e.estimate, 3)} [{e.basis}]" for e in self.effects) + ")",
               self.base.summary(), ""]
        cl = fmt_number(100 * self.confidence_level, 0)
        dist = self.to_frame()
        out.append(f"Nettogevinst pr. år ({unit}; median og {cl} %-interval over {fmt_number(self.n_draws, 0)} træk, {self.draws_from}):")
        for _, r in dist.iterrows():
            out.append(f"  {r['year_label']:>8}: {fmt_number(r['median'], 0):>8}  "
                       f"[{fmt_number(r['ci_low'], 0)}; {fmt_number(r['ci_high'], 0)}]  "
                       f"akkumuleret {fmt_number(r['cumulative_median'], 0)}")
        out.append(f"Sandsynlighed for tilbagebetaling (totaløkonomi) inden for {self.payback_within} år: "
                   f"{fmt_pct(self.p_payback, 0)}")
        if self.p_payback_never > 0:
            # a positive share is never printed as "0 pct." (one decimal below 1 %, e.g. 6 of 2.000 = 0,3 pct.)
            never = self.p_payback_never
            never_txt = ("under 0,1 pct." if never < 0.0005 else fmt_pct(never, 0 if never >= 0.01 else 1))
            out.append(f"  {never_txt} af trækkene betaler aldrig tilbage "
                       "(besparelsen pr. år ved sagens slutning er ikke positiv)")
        if math.isfinite(self.break_even_scale):
            out.append(f"Break-even: effekterne skal være {fmt_number(self.break_even_scale, 2)} gange de anvendte "
                       f"for tilbagebetaling inden for {self.payback_within} år")
        for _, r in self.break_even.iterrows():
            be = "–" if r["break_even_effect"] is None or not math.isfinite(r["break_even_effect"]) \
                else fmt_number(r["break_even_effect"], 3)
            out.append(f"  break-even-effekt {r['endpoint'] or r['line']}: {be} (anvendt {fmt_number(r['estimate'], 3)}, "
                       f"{r['basis']})")
        from ._notes import note_in_language

        for n in self.notes:      # the summary is Danish; a note the mapping does not know stays as written
            out.append(f"Bemærk: {note_in_language(str(n), True, fallback=None)}")
        return "\n".join(out)


# --------------------------------------------------------------------------- engine
def _unit_matrix(case: Case, lines: Sequence[str], H: int, *, area: str | None = None, prices: float = 1.0,
                 duration: int | None = None) -> np.ndarray:
    """(n_lines × H): permanent amount per year for an effect of 1 on each driver line."""
    n = case.n_years
    U = np.zeros((len(lines), H))
    for i, ln in enumerate(lines):
        d = case.driver(ln)
        for c in d.components:
            if c.payer != "kommune" or (area is not None and c.area != area):
                continue
            ph = np.asarray(c.phasing, dtype=float)
            ph = np.concatenate([ph, np.repeat(ph[-1:], max(0, H - n))])[:H]
            if duration is not None:
                nz = np.flatnonzero(ph)
                if nz.size:
                    ph = np.where(np.arange(H) < nz[0] + duration, ph, 0.0)
            U[i] += case.citizens_treated * require_price(d, c, file=case.path) * prices * ph
    return U


def _fixed(case: Case, H: int, area: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Explicit (non-driver) permanent amounts extended to H, and investments padded with zeros."""
    from ._case import extend_years

    n = case.n_years
    perm = np.zeros(H)
    inv = np.zeros(H)
    for ln in case.lines:
        if ln.payer != "kommune" or (area is not None and ln.area != area):
            continue
        if ln.kind == "permanent":
            perm += extend_years(np.asarray(ln.amounts), H)
        else:
            inv[: min(n, H)] += np.asarray(ln.amounts)[:H]
    return perm, inv


def _apply_unit_costs(case: Case, unit_costs) -> Case:
    if unit_costs is None:
        return case
    if not isinstance(unit_costs, Mapping):
        raise BusinessCaseError("unit_costs", "must be a mapping line -> {area or component label: amount per citizen}")
    drivers = []
    known = {d.line for d in case.drivers}
    for ln, over in unit_costs.items():
        if ln not in known:
            var = next((d.variant for d in case.variant_drivers if d.line == ln), None)
            if var is not None:
                raise BusinessCaseError("unit_costs", f"names line {ln!r}, which belongs to variant {var!r}: "
                                        f"choose it (variants=[{var!r}], --variant {var}) to price it")
            raise BusinessCaseError("unit_costs", f"names no driver line: {ln!r}; lines are {sorted(known)}")
        if not isinstance(over, Mapping):
            raise BusinessCaseError(f"unit_costs[{ln!r}]", f"must be a mapping {{component label or area: "
                                    f"amount}}, e.g. {{{ln!r}: {{'EO': 2.5}}}}; got {over!r}")
    for d in case.drivers:
        over = unit_costs.get(d.line)
        if not over:
            drivers.append(d)
            continue
        comps = list(d.components)
        for key, val in over.items():
            idx = [i for i, c in enumerate(comps) if c.label == key] or [i for i, c in enumerate(comps) if c.area == key]
            if len(idx) != 1:
                raise BusinessCaseError(f"unit_costs[{d.line!r}][{key!r}]",
                                        "must name exactly one component of the line by its label or area; "
                                        f"components are {[(c.area, c.label) for c in comps]}")
            v = _num_or_none(val, f"unit_costs[{d.line!r}][{key!r}]")
            if v is None:
                raise BusinessCaseError(f"unit_costs[{d.line!r}][{key!r}]", f"must be a finite number; got {val!r}")
            comps[idx[0]] = dataclasses.replace(comps[idx[0]], per_citizen=v)
        drivers.append(dataclasses.replace(d, components=tuple(comps)))
    return dataclasses.replace(case, drivers=tuple(drivers))


def effect_fed_case(effects: Mapping[str, Any], *, case: Case | str | Path | None = None, protocol=None,
                    unit_costs: Mapping | None = None, draws=None, joint: bool | None = None,
                    n_draws: int = 2000, rng=None, variants: Sequence[str] = (),
                    horizon_years: int = 10, payback_within: int = 10, confidence_level: float = 0.95,
                    durations: Sequence[int] = (1, 3, 5), price_change: float = 0.20,
                    discount_rates: Sequence[float] = (0.0, 0.035, 0.04),
                    extra_notes: Sequence[str] = ()) -> EffectFedCase:
    """A business case fed by the trial's estimated effects, with their uncertainty.

    Parameters
    ----------
    effects : mapping
        endpoint id -> dict or object with ``estimate`` (difference in shares
        or means, treatment − control, per treated citizen), ``std_error``,
        optional ``ci_low``, ``ci_high`` and ``measured`` (default True).
        Endpoints map to case lines through ``protocol.business_case.drivers``;
        other endpoints are listed in ``unused_effects``; a driver line without
        an effect keeps the case's assumed effect (marked "antaget").
    case : Case or path, optional
        Default: the protocol's case file (:func:`default_case_path`).
    protocol : Protocol, optional
        Default: the shipped protocol.
    unit_costs : mapping, optional
        Overrides: line -> {component label or area: amount per citizen-year}.
    draws : mapping or DataFrame, optional
        Explicit draws per endpoint (e.g. the randomization distribution);
        joint rows keep the correlation between endpoints. Default: normal
        draws, joint or independent (``joint``).
    joint : bool, optional
        Draw the measured effects jointly from the multivariate normal with the
        estimated covariance of the differences in means across endpoints
        (:func:`trial.analysis.joint_effect_draws`). Needs ``effects`` from
        :func:`effects_from_analysis` given an ``AnalysisResult`` (a
        :class:`MeasuredEffects` that remembers it). Default (``None``): joint
        when the effects carry their analysis and at least two measured
        effects have a difference-in-means row, else independent normal draws
        from (estimate, std_error) per endpoint (effects read from JSON).
        ``False`` forces independent draws.
    n_draws : int
        Number of normal draws when ``draws`` is not given.
    variants : sequence of str
        Variants of the case to count (:meth:`Case.with_variants`): BI25 has
        ``"helaarspersoner"`` (the saved forsørgelse priced from the measured
        Δ helårspersoner, effect ``"benefit_years"``, instead of per citizen
        moved into a job) and ``"indlaeggelsesdage"`` (psychiatry priced per
        admission day from ``psych_admission_days``, a price the user enters in
        ``unit_costs``, instead of per citizen in contact). An effect whose line
        a variant replaced is listed in ``unused_effects``.
    rng : int or numpy.random.Generator, keyword-only
        Seed or generator of the draws.
    horizon_years : int
        Years of the net-gain distribution and NPV (the case years continued
        with their last year).
    payback_within : int
        N in P(payback ≤ N years) and the break-even effect.
    confidence_level : float
        Width of the percentile intervals.
    durations, price_change, discount_rates
        Sensitivity: effect duration in years, relative change of all unit
        amounts (±), discount-rate variants.
    extra_notes : sequence of str
        Notes of the caller to keep with the result (e.g. why an effect could not be measured).

    Returns
    -------
    EffectFedCase

    Notes
    -----
    Every permanent line is linear in the effects: amount in year
    :math:`y` = effect × citizens_treated × per_citizen × phasing[y]
    (SØM's target group × net effect × consequence × price). Joint draws: the
    effects drawn by :func:`trial.analysis.joint_effect_draws` (mean = the
    difference-in-means estimates, covariance = their estimated covariance,
    pairwise complete); when an effect used is not that row (another primary
    estimator, or an edited estimate) the draw is recentred and rescaled to
    it, :math:`e + s\\,(d - \\hat\\tau_{DiM})/\\widehat{SE}_{DiM}`, which
    keeps the correlation. Measured effects without such a row are drawn
    independently. So for draws
    :math:`E` (n_draws × lines) the yearly permanent changes are :math:`E U`
    with :math:`U` the unit matrix; payback per draw by :func:`payback_years`
    on the total economy. The break-even effect of endpoint :math:`\\ell`
    solves :math:`C_N(e) = I` for :math:`e_\\ell` with the others fixed, where
    :math:`C_N` is the savings cumulated over N years (linear in :math:`e`)
    and :math:`I` the implementation costs; the break-even scale :math:`\\lambda`
    solves :math:`C_N(\\lambda e) = I`. No R package links trial estimates to a
    municipal budget; the arithmetic is checked against the published BI25
    case (at the goals the result reproduces it) and hand computations.
    """
    from ..protocol import load as load_protocol

    if protocol is None:
        protocol = load_protocol()
    link = protocol.business_case
    if link is None:
        raise BusinessCaseError("protocol.business_case", "the protocol has no [business_case] section")
    if case is None:
        case = load_case(default_case_path(protocol))
    elif not isinstance(case, Case):
        case = load_case(case)
    if isinstance(variants, str):
        variants = [variants]
    if variants:
        case = case.with_variants(variants)
    case = _apply_unit_costs(case, unit_costs)
    for d in case.drivers:              # a variant line's price the user must enter: say so before drawing
        for c in d.components:
            require_price(d, c, file=case.path)
    if not case.drivers:
        raise BusinessCaseError("case", "has no [[driver]] lines, so no effect can feed it", file=case.path)
    for name, val, lo in (("n_draws", n_draws, 2), ("horizon_years", horizon_years, 1),
                          ("payback_within", payback_within, 1)):
        if isinstance(val, bool) or not isinstance(val, (int, np.integer)) or val < lo:
            raise BusinessCaseError(name, f"must be a whole number of at least {lo}; got {val!r}")
    if not 0 < confidence_level < 1:
        raise BusinessCaseError("confidence_level", f"must be between 0 and 1; got {confidence_level!r}")
    if not 0 <= price_change < 1:
        raise BusinessCaseError("price_change", f"must be a share from 0 to below 1 (0.2 = ±20 %); got {price_change!r}")
    if not isinstance(effects, Mapping):
        raise BusinessCaseError("effects", "must be a mapping endpoint id -> {estimate, std_error, ...}")
    if joint not in (None, True, False):
        raise BusinessCaseError("joint", f"must be True, False or None (joint when the effects carry their "
                                f"analysis); got {joint!r}")
    analysis = getattr(effects, "analysis", None)
    if joint and analysis is None:
        raise BusinessCaseError("joint", "joint draws need the effects of effects_from_analysis(result) given an "
                                "AnalysisResult (which carries the per-citizen data); these effects have none")
    if joint and draws is not None:
        raise BusinessCaseError("joint", "give either draws or joint=True, not both")
    seed = int(rng) if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool) else None
    gen = np.random.default_rng(rng)

    # ---- effects per driver line
    case_lines = {d.line for d in case.drivers}
    replaced = dict(case.replaced_lines)        # whole lines a chosen variant took out of the case
    by_line = {}
    for ep, ln in link.drivers.items():
        if ln not in case_lines:
            if ln in replaced:
                continue                        # its variant line counts this money another way
            raise BusinessCaseError(f"business_case.drivers[{ep}]", f"names line {ln!r}, which the case "
                                    f"{case.path or case.title} does not have; its driver lines are {sorted(case_lines)}")
        by_line[ln] = ep
    for d in case.drivers:                      # a line that names its own effect (variant lines)
        if d.endpoint is not None and d.line not in by_line:
            by_line[d.line] = d.endpoint
    line_eps = {d.endpoint for d in tuple(case.drivers) + tuple(case.variant_drivers) if d.endpoint}
    known_eps = [e.id for e in getattr(protocol, "endpoints", ())] or sorted(link.drivers)
    unknown = [k for k in effects if k not in known_eps and k not in link.drivers and k not in line_eps]
    if unknown:
        pid = getattr(getattr(protocol, "trial", None), "id", None)
        raise BusinessCaseError(f"effects[{unknown[0]!r}]", "names no endpoint of the protocol"
                                + (f" {pid}" if pid else "") + f"; endpoint ids are {', '.join(known_eps)} "
                                f"(those driving a line: {', '.join(sorted(link.drivers))}); got {unknown[0]!r}")
    notes: list[str] = [str(n) for n in extra_notes]
    used_eps = set(by_line.values())
    unused = tuple(sorted(k for k in effects if k not in used_eps))
    for ep, ln in link.drivers.items():
        if ln in replaced and ep in effects:
            notes.append(f"{ep}: its line {ln!r} is replaced by the chosen variant "
                         f"({replaced[ln]}), so this effect is not used")
    for d in case.variant_drivers:              # an effect only a variant that was not chosen uses
        if d.endpoint in unused and d.variant not in case.variants:
            notes.append(f"{d.endpoint}: is used only by variant {d.variant!r}, which was not chosen "
                         f"(--variant {d.variant})")
    inputs: list[EffectInput] = []
    for d in case.drivers:
        ep = by_line.get(d.line)
        e = effects.get(ep) if ep is not None else None
        if e is None:
            inputs.append(EffectInput(ep, d.line, d.assumed_effect, None, None, None, "antaget"))
            continue
        est = _num_or_none(_get(e, "estimate"), f"effects[{ep!r}].estimate")
        if est is None:
            raise BusinessCaseError(f"effects[{ep!r}].estimate", f"must be a finite number; got {_get(e, 'estimate')!r}")
        se = _num_or_none(_get(e, "std_error"), f"effects[{ep!r}].std_error")
        if se is not None and se < 0:
            raise BusinessCaseError(f"effects[{ep!r}].std_error", f"must be 0 or more; got {se!r}")
        measured = _get(e, "measured", True)
        if measured and (se is None or se <= 0) and not (draws is not None and ep in _draw_columns(draws)):
            # a "measurement" without a positive standard error (not estimable, or the same outcome for every
            # citizen) would be held fixed in the draws as if certain: keep the case's assumed effect instead
            inputs.append(EffectInput(ep, d.line, d.assumed_effect, None, None, None, "antaget"))
            notes.append(f"{ep}: the estimate has no positive standard error, so it is not used as a measured "
                         f"effect; the line keeps the assumed effect (antaget)")
            continue
        inputs.append(EffectInput(ep, d.line, est, se, _num_or_none(_get(e, "ci_low"), f"effects[{ep!r}].ci_low"),
                                  _num_or_none(_get(e, "ci_high"), f"effects[{ep!r}].ci_high"),
                                  "målt" if measured else "antaget"))
    lines = [i.line for i in inputs]
    est = np.array([i.estimate for i in inputs])
    fed = case.with_effects({i.line: i.estimate for i in inputs}, {i.line: i.basis for i in inputs})
    base = compute_case(fed)

    # ---- draws (n_draws × lines)
    if draws is not None:
        import pandas as pd

        df = draws if isinstance(draws, pd.DataFrame) else pd.DataFrame({k: np.asarray(v, float) for k, v in draws.items()})
        bad = [c for c in df.columns if c not in set(by_line.values())]
        if bad:
            raise BusinessCaseError("draws", f"has endpoint {bad[0]!r}, which drives no line; drivers are "
                                    f"{sorted(set(by_line.values()))}")
        if len(df) < 2 or not np.isfinite(df.to_numpy(dtype=float)).all():
            raise BusinessCaseError("draws", "must hold at least 2 finite draws per endpoint")
        D = len(df)
        E = np.tile(est, (D, 1))
        for j, i in enumerate(inputs):
            if i.endpoint in df.columns:
                E[:, j] = df[i.endpoint].to_numpy(dtype=float)
        draws_from = "givne træk"
    else:
        D = int(n_draws)
        sd = np.array([i.std_error or 0.0 for i in inputs])
        cols = _joint_columns(analysis, inputs) if (joint is not False and analysis is not None) else {}
        if joint and len(cols) < 2:
            raise BusinessCaseError("joint", "joint draws need at least two measured effects with a "
                                    f"difference-in-means estimate and a positive standard error; got "
                                    f"{', '.join(cols) or 'none'}")
        if len(cols) >= 2:
            from ..analysis import joint_effect_draws

            jd = joint_effect_draws(analysis, n_draws=D, rng=gen, endpoints=list(cols))
            E = np.tile(est, (D, 1))
            rescaled = []
            for ep, j in cols.items():
                m, s = jd.attrs["estimate"][ep], math.sqrt(jd.attrs["covariance"][ep][ep])
                if math.isclose(est[j], m, rel_tol=1e-12, abs_tol=1e-15) and math.isclose(sd[j], s, rel_tol=1e-9):
                    E[:, j] = jd[ep].to_numpy()
                else:       # another estimate than the difference in means: same correlation, its own scale
                    E[:, j] = est[j] + (jd[ep].to_numpy() - m) * (sd[j] / s)
                    rescaled.append(ep)
            rest = [j for j in range(len(inputs)) if j not in cols.values() and sd[j] > 0]
            if rest:
                E[:, rest] += gen.standard_normal((D, len(rest))) * sd[rest]
            draws_from = "normalfordelte træk med estimeret kovarians mellem endepunkterne"
            notes.append(f"the effects of {', '.join(cols)} are drawn jointly (multivariate normal with the "
                         "estimated covariance of the differences in means, pairwise complete cases), so their "
                         "correlation on the same citizens is kept"
                         + (f"; {', '.join(inputs[j].endpoint or inputs[j].line for j in rest)} drawn independently"
                            if rest else ""))
            if rescaled:
                notes.append(f"{', '.join(rescaled)}: the joint draws are recentred and rescaled to the estimate and "
                             "standard error used (correlation from the differences in means)")
            if jd.attrs["note"]:
                notes.append(jd.attrs["note"])
        else:
            E = est + gen.standard_normal((D, len(inputs))) * sd
            draws_from = "normalfordelte træk (estimat, standardfejl)"

    H = max(horizon_years, payback_within, case.n_years)
    rate = case.discount_rate
    fixed_perm, inv = _fixed(case, H)
    I_total = float(inv.sum())

    def evaluate(Eff, *, prices=1.0, duration=None):
        U = _unit_matrix(case, lines, H, prices=prices, duration=duration)
        perm = Eff @ U + fixed_perm
        gain = -(perm + inv)
        pb = payback_years(-perm, I_total)
        return gain, pb

    gain_draws, pb_draws = evaluate(E)
    p_pay = float(np.mean(pb_draws <= payback_within + 1e-9))

    # ---- break-even
    import pandas as pd

    U = _unit_matrix(case, lines, H)
    N = payback_within
    b = -U[:, :N].sum(axis=1)              # cumulated savings over N years per unit effect
    c0 = -fixed_perm[:N].sum()
    C = c0 + float(b @ est)
    rows = []
    for j, i in enumerate(inputs):
        be = est[j] + (I_total - C) / b[j] if b[j] != 0 else float("nan")
        rows.append({"endpoint": i.endpoint, "line": i.line, "estimate": i.estimate, "break_even_effect": float(be),
                     "break_even_citizens": float(be * case.citizens_treated), "basis": i.basis})
    break_even = pd.DataFrame(rows)
    denom = float(b @ est)
    scale = (I_total - c0) / denom if denom > 0 else float("inf")

    # ---- sensitivity (deterministic, at the estimates)
    from .._format import fmt_number

    z = _z(confidence_level)
    srows = []

    def add(factor, variant, value, Eff, basis, *, prices=1.0, duration=None, r=rate):
        g, pb = evaluate(Eff[None, :], prices=prices, duration=duration)
        srows.append({"factor": factor, "variant": variant, "value": value,
                      "npv": float(npv(g[0, :horizon_years], r)), "net_result": float(g[0, :horizon_years].sum()),
                      "payback_years_total": float(pb[0]), "basis": basis})

    add("basis", "estimater", None, est, "målt" if any(i.basis == "målt" for i in inputs) else "antaget")
    for j, i in enumerate(inputs):
        lo, hi = i.ci_low, i.ci_high
        if (lo is None or hi is None) and i.std_error:
            lo, hi = i.estimate - z * i.std_error, i.estimate + z * i.std_error
        if lo is None or hi is None:
            continue
        for nm, v in (("nedre grænse", lo), ("øvre grænse", hi)):
            e2 = est.copy()
            e2[j] = v
            add(f"effekt: {i.endpoint or i.line}", nm, float(v), e2, i.basis)
    add("alle effekter halveret", "halveret", 0.5, est * 0.5, "antaget")
    for dur in durations:
        add("effektens varighed", f"{dur} år", float(dur), est, "antaget", duration=int(dur))
    add("priser", f"-{fmt_number(100 * price_change, 0)} %", 1 - price_change, est, "antaget", prices=1 - price_change)
    add("priser", f"+{fmt_number(100 * price_change, 0)} %", 1 + price_change, est, "antaget", prices=1 + price_change)
    for r in discount_rates:
        add("diskonteringsrente", f"{fmt_number(100 * r, 1)} %", float(r), est, "antaget", r=float(r))
    sens = Sensitivity(rows=tuple(srows), base_npv=srows[0]["npv"], horizon_years=horizon_years,
                       discount_rate=rate, unit=case.unit)
    if unit_costs:
        from .._format import fmt_number as _fmt

        notes.append("unit amounts entered by the user (antaget): " + "; ".join(
            f"{ln}, {comp} = {_fmt(float(v), 2)}" for ln, over in unit_costs.items() for comp, v in over.items()))
    notes.append("unit amounts, phasing and investments are assumed (antaget); effects are marked per line")
    return EffectFedCase(
        effects=tuple(inputs), base=base, net_gain_draws=gain_draws[:, :horizon_years], payback_draws=pb_draws,
        p_payback=p_pay, payback_within=payback_within, horizon_years=horizon_years,
        confidence_level=confidence_level, n_draws=D, draws_from=draws_from, break_even=break_even,
        break_even_scale=float(scale), sensitivity=sens, seed=seed, unused_effects=unused, notes=tuple(notes))


def _joint_columns(analysis, inputs) -> dict:
    """Measured effects (endpoint -> input column) that have a difference-in-means row to draw jointly."""
    t = analysis.table
    t = t[t["estimator"] == "difference_in_means"]
    ok = np.isfinite(t["estimate"].to_numpy(dtype=float)) & (t["std_error"].to_numpy(dtype=float) > 0)
    avail = set(t.loc[ok, "endpoint"].astype(str)) & set(getattr(analysis.data, "columns", ()))
    return {i.endpoint: j for j, i in enumerate(inputs)
            if i.basis == "målt" and i.std_error and i.std_error > 0 and i.endpoint in avail}


def payback_quantiles(draws, probs: Sequence[float] = (0.025, 0.5, 0.975)) -> dict:
    """Quantiles of payback times that may be ``inf`` (never), without ``inf − inf`` warnings.

    Parameters
    ----------
    draws : array_like
        Payback times (years); ``inf`` = never pays back.
    probs : sequence of float
        Probabilities in [0, 1].

    Returns
    -------
    dict
        ``{p: years}``; ``inf`` where the quantile reaches the never-paying draws.

    Notes
    -----
    Same as ``numpy.quantile(draws, p)`` (linear interpolation, R's type 7)
    whenever that is finite: with sorted draws :math:`x_{(0)} \\le … \\le
    x_{(n-1)}` and :math:`h = (n-1)p`, the quantile is :math:`x_{(\\lfloor h
    \\rfloor)} + (h - \\lfloor h\\rfloor)(x_{(\\lceil h\\rceil)} - x_{(\\lfloor
    h\\rfloor)})`; it is ``inf`` when :math:`x_{(\\lceil h\\rceil)}` is and
    :math:`h` is not a whole number, or when :math:`x_{(h)}` is.

    Examples
    --------
    >>> payback_quantiles([4.0, 6.0, float("inf"), float("inf")], (0.0, 0.25, 0.5, 1.0))
    {0.0: 4.0, 0.25: 5.5, 0.5: inf, 1.0: inf}
    """
    x = np.sort(np.asarray(draws, dtype=float).ravel())
    if x.size == 0 or np.isnan(x).any():
        raise BusinessCaseError("draws", "must be a non-empty array of payback times (inf = never), without NaN")
    p = np.asarray(probs, dtype=float)
    if p.ndim != 1 or ((p < 0) | (p > 1)).any():
        raise BusinessCaseError("probs", f"must be probabilities from 0 to 1; got {list(probs)!r}")
    h = (x.size - 1) * p
    lo = np.floor(h).astype(int)
    hi = np.ceil(h).astype(int)
    frac = h - lo
    xl, xh = x[lo], x[hi]
    finite = np.isfinite(xl) & (np.isfinite(xh) | (frac == 0))
    out = np.full(p.shape, np.inf)
    xl, xh, frac = xl[finite], xh[finite], frac[finite]
    out[finite] = xl + frac * (np.where(np.isfinite(xh), xh, xl) - xl)
    return {float(q): float(v) for q, v in zip(p, out)}


def _z(confidence_level: float) -> float:
    from scipy.stats import norm

    return float(norm.ppf(0.5 + confidence_level / 2))
