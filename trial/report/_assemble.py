"""Assemble :class:`~trial.report.ReportData` from a trial register.

Reads the register (protocol, screening log, enrollments, withdrawals,
uploads), derives the endpoints as of the quarter's last day
(:func:`trial.outcomes.derive`), runs the pre-specified analysis
(:func:`trial.analysis.analyze`), feeds the business case with the estimates
(:mod:`trial.business_case`) and asks :mod:`trial.power` what the trial can
still detect. Only aggregates leave this module: no pseudonym is copied into
the ReportData.
"""
from __future__ import annotations

import dataclasses
import datetime as _dt
import math

import numpy as np
import pandas as pd

from .. import __version__
from ._data import (
    BalanceRow, BusinessCaseSummary, BusinessTable, DetectableRow, EffectRow, EnrollmentPoint, FlowData,
    LossTable, ReportData, ReportError, SoFarRow, WeeklyShare, parse_quarter, quarter_end, quarter_of,
    quarter_start,
)

__all__ = ["assemble_from_register"]

_ROLE = {"primary": "confirmatory"}


def _quarters(first: str, last: str) -> list[str]:
    y, q = parse_quarter(first)
    ly, lq = parse_quarter(last)
    out = []
    while (y, q) <= (ly, lq):
        out.append(f"{y}Q{q}")
        y, q = (y + 1, 1) if q == 4 else (y, q + 1)
    return out


def _default_quarter(register, scr: pd.DataFrame) -> str:
    dates = []
    for kind in ("status", "events", "survey"):
        try:
            d = register.observations(kind).attrs.get("data_date")
        except Exception:  # noqa: BLE001 - a register without uploads
            d = None
        if d:
            dates.append(_dt.date.fromisoformat(str(d)[:10]))
    if dates:
        return quarter_of(max(dates))
    if len(scr):
        return quarter_of(scr["referral_date"].max().date())
    return register.protocol.report.first_quarter


def _loss_table(key, reasons_t: pd.Series, reasons_c: pd.Series | None) -> LossTable:
    codes = sorted(set(reasons_t.index) | (set(reasons_c.index) if reasons_c is not None else set()))
    t = tuple(int(reasons_t.get(c, 0)) for c in codes)
    c = tuple(int(reasons_c.get(c, 0)) for c in codes) if reasons_c is not None else None
    return LossTable(key, tuple(str(x) for x in codes), t, c)


def _planned(proto) -> tuple[int, int]:
    cap = proto.capacity or 0
    return cap, proto.control_size or 0


def _enrollment_points(proto, enr: pd.DataFrame, quarter: str) -> tuple[EnrollmentPoint, ...]:
    qs = _quarters(proto.report.first_quarter, quarter)
    pt, pc = _planned(proto)
    total = pt + pc
    out = []
    for i, q in enumerate(qs):
        end = pd.Timestamp(quarter_end(q))
        sub = enr[enr["referral_date"] <= end]
        # the plan: about 1,000 referrals a year, so the trial fills in two quarters (protocol comment)
        planned = min(total, int(round(total * (i + 1) / 2)))
        out.append(EnrollmentPoint(q, planned, int(sub["treatment"].sum()), int((sub["treatment"] == 0).sum())))
    return tuple(out)


def _balance(enr: pd.DataFrame, proto) -> tuple[BalanceRow, ...]:
    from .._balance import balance

    covs = [c for c in proto.baseline_covariates if c in enr.columns]
    if enr["treatment"].nunique() < 2 or len(enr) < 4:
        return ()
    res = balance(enr, covs, draw=None, n_resamples=0)
    nt, nc = int(enr["treatment"].sum()), int((enr["treatment"] == 0).sum())
    rows = []
    for r in res.table.itertuples():
        binary = r.kind == "share"
        cov = "sex" if r.covariate == "sex_female" else r.covariate
        rows.append(BalanceRow(
            variable=cov, kind="binary" if binary else "continuous", treatment_value=float(r.mean_treatment),
            control_value=float(r.mean_control), std_diff=float(r.smd),
            treatment_count=int(round(r.mean_treatment * nt)) if binary else None,
            control_count=int(round(r.mean_control * nc)) if binary else None, n_treatment=nt, n_control=nc))
    return tuple(rows)


def _weekly(register, enr, proto, as_of) -> WeeklyShare | None:
    from ..outcomes import share_by_week

    st = register.observations("status", as_of=as_of)
    if st is None or not len(st) or not len(enr):
        return None
    tab = share_by_week(st, enr[["pseudonym", "arm"]], proto.self_supporting_statuses)
    t_id, c_id = proto.treatment_arm.id, proto.control_arm.id
    wide = tab.pivot(index="week", columns="arm", values=["n", "n_in_status", "share"]).sort_index()
    if t_id not in wide["n"].columns or c_id not in wide["n"].columns:
        return None
    wide = wide.dropna()
    return WeeklyShare(
        week=tuple(int(w) for w in wide.index),
        treatment_share=tuple(float(x) for x in wide["share"][t_id]),
        control_share=tuple(float(x) for x in wide["share"][c_id]),
        treatment_n=tuple(int(x) for x in wide["n"][t_id]), control_n=tuple(int(x) for x in wide["n"][c_id]),
        treatment_count=tuple(int(x) for x in wide["n_in_status"][t_id]),
        control_count=tuple(int(x) for x in wide["n_in_status"][c_id]))


def _analysis(register, as_of, n_resamples, rng):
    """:func:`trial.analysis.analyze` as of ``as_of`` (None when nothing is uploaded by then)."""
    from ..analysis import analyze
    from ..exceptions import RegisterError

    try:
        return analyze(register, as_of=as_of, n_resamples=n_resamples, rng=rng)
    except RegisterError:  # nothing uploaded by as_of: no outcomes to analyse yet
        return None


def _effects(table: pd.DataFrame | None, proto, descriptive_default: bool) -> tuple[EffectRow, ...]:
    if table is None or not len(table):
        return ()
    rows = []
    primary_est = proto.analysis.primary_estimator
    for ep in proto.endpoints:
        sub = table[table["endpoint"] == ep.id]
        if not len(sub):
            continue
        pick = sub[sub["estimator"] == ("cox" if ep.type == "time_to_event" else primary_est)]
        r = (pick if len(pick) else sub).iloc[0]
        g = lambda k, default=float("nan"): (float(r[k]) if k in r.index and pd.notna(r[k]) else default)  # noqa: E731
        nt, nc = int(g("n_treatment", 0)), int(g("n_control", 0))
        tm, cm = g("treatment_mean"), g("control_mean")
        desc = bool(r["descriptive"]) if "descriptive" in r.index and pd.notna(r["descriptive"]) else descriptive_default
        rows.append(EffectRow(
            endpoint=ep.id, label_da=ep.label_da, label_en=ep.label_en, type=ep.type,
            role=str(r["role"]) if "role" in r.index else _ROLE.get(ep.role, "exploratory"),
            estimator=str(r["estimator"]), control_mean=cm, treatment_mean=tm, estimate=g("estimate"),
            std_error=g("std_error"), ci_low=g("ci_low"), ci_high=g("ci_high"), p_value=g("p_value"),
            adjusted_p_value=g("adjusted_p_value"), n_treatment=nt, n_control=nc, descriptive=desc, goal=ep.goal,
            goal_da=ep.goal_da, direction=ep.direction,
            treatment_count=int(round(tm * nt)) if ep.type == "binary" and math.isfinite(tm) else None,
            control_count=int(round(cm * nc)) if ep.type == "binary" and math.isfinite(cm) else None,
            note=str(r["note"]) if "note" in r.index and isinstance(r["note"], str) else "",
            rejected=_bool_or_none(r["rejected"]) if "rejected" in r.index else None,
            hierarchy=int(r["hierarchy"]) if "hierarchy" in r.index and pd.notna(r["hierarchy"]) else 0))
    return tuple(rows)


def _so_far(register, proto, effects: tuple[EffectRow, ...], as_of) -> tuple[SoFarRow, ...]:
    """Descriptive "hidtil" rows for the "ever by week H" endpoints the analysis cannot estimate yet."""
    from ..analysis import register_frames
    from ..outcomes import so_far
    from ..outcomes._rules import EVER_RULES

    rules = {e.id: e for e in proto.endpoints if e.rule in EVER_RULES}
    wanted = [e.endpoint for e in effects if e.endpoint in rules and not math.isfinite(e.estimate)]
    if not wanted:
        return ()
    f = register_frames(register, as_of)
    data_as_of = min(as_of, f["data_date"])
    sf = so_far(proto, f["enrollments"], f["status"], f["events"], as_of=data_as_of, endpoints=wanted)
    out = []
    for ep_id in wanted:
        ep = rules[ep_id]
        sub = sf[(sf["endpoint"] == ep_id) & ~sf["lost"] & sf["event_so_far"].notna()]
        z = sub["treatment"].to_numpy()
        ev = sub["event_so_far"].to_numpy()
        nt, nc = int((z == 1).sum()), int((z == 0).sum())
        ct, cc = int(ev[z == 1].sum()), int(ev[z == 0].sum())
        out.append(SoFarRow(
            endpoint=ep_id, label_da=ep.label_da, label_en=ep.label_en, horizon_weeks=int(ep.horizon_weeks),
            treatment_n=nt, control_n=nc, treatment_count=ct, control_count=cc,
            treatment_share=ct / nt if nt else float("nan"), control_share=cc / nc if nc else float("nan"),
            median_followup_weeks=float(np.floor(sub["followup_weeks"].median())) if len(sub) else float("nan"),
            complete_treatment=int((sub["complete"] & (z == 1)).sum()),
            complete_control=int((sub["complete"] & (z == 0)).sum())))
    return tuple(out)


def _bool_or_none(v):
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return None
    return bool(v)


def _count_words(k: int, min_cell: int, da: bool) -> str:
    """A count of citizens for a sentence, or "færre end <min_cell>" when it is 1 to min_cell - 1."""
    if 1 <= k < min_cell:
        return f"færre end {min_cell}" if da else f"fewer than {min_cell}"
    return str(k)


def _detectable(proto, effects: tuple[EffectRow, ...], flow: FlowData) -> tuple[DetectableRow, ...]:
    from ..power import power_two_proportions

    out = []
    # the trial's current size: everyone randomized (intention to treat)
    nt, nc = flow.randomized_treatment, flow.randomized_control
    if nt < 2 or nc < 2:
        return ()
    for ep in proto.primary_endpoints:
        if ep.type != "binary":
            continue
        p0 = ep.control_value
        direction = "increase" if ep.goal > 0 else "decrease"
        mde = power_two_proportions(p_control=p0, n_control=nc, n_treatment=nt, power=0.8,
                                    alpha=proto.analysis.alpha, alternative=proto.analysis.alternative,
                                    method="exact_hc2", direction=direction)
        pw = power_two_proportions(p_control=p0, p_treatment=p0 + ep.goal, n_control=nc, n_treatment=nt,
                                   alpha=proto.analysis.alpha, alternative=proto.analysis.alternative,
                                   method="exact_hc2")
        out.append(DetectableRow(ep.id, ep.label_da, ep.label_en, nt, nc,
                                 float(mde.treatment_value - mde.control_value), ep.goal, float(pw.power)))
    return tuple(out)


_BC_TABLES = ("section1", "table1", "table2", "table3")


def _business_case(proto, analysis, rng, withhold=()) -> tuple[BusinessCaseSummary | None, str]:
    """The business case fed with the analysis' estimates (None and a note when it cannot be).

    ``withhold``: endpoints whose results disclosure control hides; a measured effect among them is
    left out (its line keeps the assumed effect), since the line's amounts would give it back.
    """
    if proto.business_case is None:
        return None, "no_case"
    from ..business_case import effect_fed_case, effects_from_analysis, withhold_effects

    # before the first outcome upload nothing is measured: the case with its assumed effects (antaget)
    effects = effects_from_analysis(analysis, proto) if analysis is not None else {}
    withheld = tuple(sorted(set(withhold) & set(effects)))
    fc = effect_fed_case(withhold_effects(effects, withheld), protocol=proto, rng=rng)
    summary = dataclasses.replace(_bc_summary(fc), withheld=withheld)
    return summary, ("" if analysis is not None else "no_analysis")


def _bc_summary(fc) -> BusinessCaseSummary:
    from ..business_case._result import TABLE_TITLES_DA

    tables = []
    for name in _BC_TABLES:
        t = fc.table(name, rounded=True)
        years = [c for c in t.columns if c not in ("line", "administration", "area", "kind", "basis")]

        def label(r):
            if name == "section1" and r.get("area") and not str(r.get("kind", "")).startswith(("total", "net")):
                return f"{r['line']} ({r['administration']}, {r['area']})"
            return str(r["line"])

        recs = t.to_dict("records")
        body, last = recs[:-1], recs[-1]
        tables.append(BusinessTable(
            TABLE_TITLES_DA.get(name, name), tuple(str(y) for y in years),
            tuple((label(r), tuple(float(r[y]) for y in years)) for r in body),
            tuple(float(last[y]) for y in years), total_label=str(last["line"])))
    fr = fc.to_frame()
    base = fc.base
    return BusinessCaseSummary(
        tables=tuple(tables), payback_years_service=_finite(base.payback_years_service),
        payback_years_total=_finite(base.payback_years_total), prob_payback=float(fc.p_payback),
        payback_horizon_years=int(fc.payback_within),
        cumulative_net=tuple(float(-v) for v in fr["cumulative_estimate"]),
        cumulative_net_low=tuple(float(-v) for v in fr["cumulative_ci_high"]),
        cumulative_net_high=tuple(float(-v) for v in fr["cumulative_ci_low"]),
        price_level=int(getattr(base.case, "price_level", 2016) or 2016), n_resamples=int(fc.n_draws),
        seed=fc.seed if isinstance(fc.seed, (int, np.integer)) else None,
        note=" ".join(_sentence(n) for n in fc.notes),
        measured=tuple(sorted({e.endpoint for e in fc.effects if e.endpoint and e.basis == "målt"})),
        measured_lines=tuple((e.endpoint, base.case.line_label(e.line)) for e in fc.effects
                             if e.endpoint and e.basis == "målt"))


def _sentence(note) -> str:
    """A business-case note as a sentence: capital first letter, full stop at the end."""
    n = str(note).strip()
    if not n:
        return n
    n = n[0].upper() + n[1:]
    return n if n.endswith((".", "!", "?")) else n + "."


def _finite(x):
    return float(x) if x is not None and math.isfinite(x) else None


def assemble_from_register(register, *, quarter: str | None, lang: str, rng=None,
                           n_resamples: int = 500) -> ReportData:
    proto = register.protocol
    min_cell = proto.report.min_cell
    scr_all = register.screening_log()
    if quarter is None:
        quarter = _default_quarter(register, scr_all)
    as_of = quarter_end(quarter)
    today = _dt.date.today()
    if quarter_start(quarter) > today:
        raise ReportError(f"`quarter` {quarter} lies in the future (it starts after today, {today}); choose "
                          f"{quarter_of(today)} or earlier")
    if as_of < proto.trial.first_referral:
        raise ReportError(f"`quarter` {quarter} ends before the trial's first referral "
                          f"({proto.trial.first_referral}); choose {quarter_of(proto.trial.first_referral)} or later")
    cut = pd.Timestamp(as_of)
    scr = scr_all[scr_all["referral_date"] <= cut]
    enr_all = register.enrollments()
    enr = enr_all[enr_all["referral_date"] <= cut].copy()

    # --- flow -----------------------------------------------------------------
    not_rand = scr[~scr["enrolled"]]
    excl = not_rand["reason_code"].replace("", "other").value_counts()
    excluded = _loss_table("excluded", excl, None)
    quality: list[str] = []
    da = lang == "da"
    seed = int(proto.allocation.seed) if rng is None else rng
    analysis = _analysis(register, as_of, n_resamples, seed)
    outcomes = analysis.outcomes if analysis is not None else None
    if analysis is None:
        quality.append("Der er ingen udfaldsdata med en dato til og med kvartalets slutning; forskelle kan "
                       "ikke beregnes endnu." if da else "No outcome data are dated on or before the quarter's "
                       "end; differences cannot be computed yet.")
    # CONSORT on the first confirmatory endpoint: a randomized citizen whose outcome is missing because of
    # attrition (moved away, died, withdrew) is "lost to follow-up"; missing for another reason (not yet
    # observed, no status data) is "not analysed"; everyone else is analysed (the analysis' complete cases).
    arm_of = enr.set_index("pseudonym")["treatment"]
    attrition = {a.replace("_", " ") for a in proto.attrition_events} | {"excluded"}
    if outcomes is not None and proto.primary_endpoints:
        first = proto.primary_endpoints[0].id
        lg = outcomes.long[outcomes.long["endpoint"] == first].set_index("pseudonym")
        miss = lg.loc[lg["value"].isna(), "missing_reason"].fillna("missing outcome").astype(str)
        lost_reason = miss[miss.isin(attrition)]
        other = miss[~miss.isin(attrition)]
    else:  # no outcome data as of this date: nobody can be analysed yet
        se = register.status_events()
        lost_reason = pd.Series(dtype=object)
        if len(se):
            se = se[pd.to_datetime(se["date"]) <= cut]
            lost_reason = se.drop_duplicates("pseudonym").set_index("pseudonym")["kind"].astype(str)
        lost_reason = lost_reason[lost_reason.index.isin(arm_of.index)]
        rest = arm_of.index[~arm_of.index.isin(lost_reason.index)]
        other = pd.Series("not yet observed", index=rest)

    def split(reasons):
        reasons = reasons.str.replace(" ", "_")
        z = arm_of.reindex(reasons.index)
        return reasons[z == 1].value_counts(), reasons[z == 0].value_counts()

    lost = _loss_table("lost", *split(lost_reason))
    rt, rc = int(enr["treatment"].sum()), int((enr["treatment"] == 0).sum())
    ft, fc = rt - sum(lost.treatment), rc - sum(lost.control or ())
    not_analysed = _loss_table("not_analysed", *split(other))
    flow = FlowData(referred=len(scr), excluded=excluded, randomized_treatment=rt, randomized_control=rc, lost=lost,
                    followed_treatment=ft, followed_control=fc, not_analysed=not_analysed,
                    analysed_treatment=ft - sum(not_analysed.treatment),
                    analysed_control=fc - sum(not_analysed.control or ()))

    # --- effects, business case, power -------------------------------------------
    table = analysis.table if analysis is not None else None
    descriptive = as_of < proto.trial.analysis_date
    effects = _effects(table, proto, descriptive)
    so_far_rows = _so_far(register, proto, effects, as_of) if analysis is not None else ()
    # the AnalysisResult (not only its table): the measured effects are drawn jointly, as the CLI draws them
    from ._render import effect_hidden

    hidden_effects = tuple(e.endpoint for e in effects if effect_hidden(e, min_cell))
    bc, _ = _business_case(proto, analysis, seed, withhold=hidden_effects)
    detect = _detectable(proto, effects, flow)

    # --- data quality ---------------------------------------------------------------
    if outcomes is not None:
        # attrition (moved away, died, withdrew, excluded: the outcome will not come) apart from outcomes
        # not yet observed (they may still come)
        lg_all = outcomes.long[outcomes.long["value"].isna()]
        why = lg_all["missing_reason"].fillna("missing outcome").astype(str)
        is_lost = why.isin(attrition)
        n_lost = lg_all[is_lost.to_numpy()].groupby("endpoint").size()
        n_wait = lg_all[~is_lost.to_numpy()].groupby("endpoint").size()
        for ep in proto.primary_endpoints:
            kl, kw = int(n_lost.get(ep.id, 0)), int(n_wait.get(ep.id, 0))
            if kw:
                kk = _count_words(kw, min_cell, da)
                quality.append(f"{ep.label_da}: udfaldet er endnu ikke observeret for {kk} borgere."
                               if da else f"{ep.label_en}: outcome not yet observed for {kk} citizens.")
            if kl:
                kk = _count_words(kl, min_cell, da)
                quality.append(f"{ep.label_da}: udfaldet mangler for {kk} borgere, der er faldet fra (flyttet, "
                               f"døde, trak sig eller blev udelukket); det kommer ikke."
                               if da else f"{ep.label_en}: outcome missing for {kk} citizens lost to follow-up "
                               f"(moved away, died, withdrew or were excluded); it will not come.")
        unmatched = sum(int(v) for v in (outcomes.unmatched or {}).values())
        if unmatched:
            quality.append(f"{unmatched} rækker i dataudtrækkene vedrører borgere uden for forsøget og er ikke brugt."
                           if da else f"{unmatched} rows in the exports belong to citizens outside the trial "
                           f"and are not used.")
    forced = int(enr["forced"].sum()) if "forced" in enr.columns else 0
    if forced:
        kk = _count_words(forced, min_cell, da)
        quality.append(f"{kk} tildelinger blev tvunget af kapacitetsreglen." if da
                       else f"{kk} allocations were forced by the capacity rule.")

    pt, pc = _planned(proto)
    return ReportData(
        trial_id=proto.trial.id, title_da=proto.trial.title_da, title_en=proto.trial.title_en,
        sponsor=proto.trial.sponsor, evaluator=proto.trial.evaluator, quarter=quarter, as_of=as_of,
        analysis_date=proto.trial.analysis_date, first_referral=proto.trial.first_referral, lang=lang,
        min_cell=min_cell, treatment_label_da=proto.treatment_arm.label_da,
        control_label_da=proto.control_arm.label_da, treatment_label_en=proto.treatment_arm.label_en,
        control_label_en=proto.control_arm.label_en, planned_treatment=pt, planned_control=pc,
        enrollment=_enrollment_points(proto, enr, quarter), flow=flow, balance=_balance(enr, proto),
        effects=effects, weekly=_weekly(register, enr, proto, as_of), business_case=bc, detectable=detect,
        data_quality=tuple(quality), changes=None, previous_quarter=None,
        protocol_fingerprint=proto.fingerprint, sequence_commitment=register.commitment,
        software_version=__version__,
        seeds=(("allocation", int(proto.allocation.seed)),) + ((("business_case", int(seed)),)
                                                                if isinstance(seed, (int, np.integer)) else ()),
        register_mode=register.mode, alpha=proto.analysis.alpha, multiplicity=proto.analysis.multiplicity,
        primary_estimator=proto.analysis.primary_estimator, so_far=so_far_rows,
        data_date=getattr(analysis, "data_date", None) if analysis is not None else None)
