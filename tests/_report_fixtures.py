"""A hand-built ReportData for rendering tests (no register needed).

The numbers are invented but consistent: flow counts add up, rates equal
count / n, and the business case's cumulative net is the running sum of the
yearly totals.
"""
from __future__ import annotations

import dataclasses
import datetime as dt

from trial.report._data import (
    BalanceRow, BusinessCaseSummary, BusinessTable, Change, DetectableRow, EffectRow, EnrollmentPoint,
    FlowData, LossTable, ReportData, WeeklyShare,
)

YEARS = ("2016/17", "2018", "2019", "2020", "2021", "2022")


def _eff(endpoint, label_da, label_en, role, c_cnt, t_cnt, n_c=290, n_t=97, goal=0.05, direction="increase",
         goal_da="", etype="binary", est=None, se=None):
    cm, tm = c_cnt / n_c, t_cnt / n_t
    est = tm - cm if est is None else est
    se = se if se is not None else ((tm * (1 - tm)) / n_t + (cm * (1 - cm)) / n_c) ** 0.5
    return EffectRow(endpoint=endpoint, label_da=label_da, label_en=label_en, type=etype, role=role,
                     estimator="difference_in_means", control_mean=cm, treatment_mean=tm, estimate=est,
                     std_error=se, ci_low=est - 1.96 * se, ci_high=est + 1.96 * se, p_value=0.2,
                     adjusted_p_value=0.3 if role == "confirmatory" else float("nan"), n_treatment=n_t,
                     n_control=n_c, descriptive=True, goal=goal, goal_da=goal_da, direction=direction,
                     treatment_count=t_cnt if etype == "binary" else None,
                     control_count=c_cnt if etype == "binary" else None)


def make_report_data(**overrides) -> ReportData:
    flow = FlowData(
        referred=612,
        excluded=LossTable("excluded", ("age", "municipality", "referral_type", "trial_full"), (14, 3, 2, 193)),
        randomized_treatment=100, randomized_control=300,
        lost=LossTable("lost", ("moved_away", "died", "withdrawn"), (2, 0, 1), (6, 1, 3)),
        followed_treatment=97, followed_control=290,
        not_analysed=LossTable("not_analysed", ("not_yet_observed",), (0,), (0,)),
        analysed_treatment=97, analysed_control=290,
    )
    effects = (
        _eff("extension", "Nyt ressourceforløb", "Extension of the ressourceforløb", "confirmatory", 145, 38,
             goal=-0.15, direction="decrease", goal_da="15 færre får et nyt ressourceforløb"),
        _eff("ordinary_employment", "Ordinær beskæftigelse", "Ordinary employment", "confirmatory", 15, 9,
             goal_da="5 flere i ordinær beskæftigelse"),
        _eff("fleksjob", "Fleksjob", "Flex job", "confirmatory", 14, 8, goal_da="5 flere i fleksjob"),
        _eff("par85", "Støtte i egen bolig (SEL § 85)", "Support in own home (§85)", "exploratory", 41, 10,
             goal=-0.05, direction="decrease"),
        _eff("par99", "Støttekontaktperson (SEL § 99)", "Support contact person (§99)", "exploratory", 6, 2,
             goal=-0.01, direction="decrease"),
        _eff("benefit_weeks", "Uger på offentlig forsørgelse", "Weeks on public benefits", "exploratory",
             0, 0, etype="count", est=-6.3, se=3.1, goal=-10.0, direction="decrease"),
    )
    weeks = tuple(range(1, 157))
    weekly = WeeklyShare(
        week=weeks,
        treatment_share=tuple(min(0.002 * w, 0.25) for w in weeks),
        control_share=tuple(min(0.0012 * w, 0.15) for w in weeks),
        treatment_n=(97,) * 156, control_n=(290,) * 156,
        treatment_count=tuple(round(97 * min(0.002 * w, 0.25)) for w in weeks),
        control_count=tuple(round(290 * min(0.0012 * w, 0.15)) for w in weeks),
    )
    inv = (2400.0, 2700.0, 1800.0, 0.0, 0.0, 0.0)
    perm = (-493.0, -536.0, -636.0, -1482.0, -1482.0, -1482.0)
    net = tuple(a + b for a, b in zip(inv, perm))
    cum = []
    s = 0.0
    for v in net:
        s += v
        cum.append(s)
    bc = BusinessCaseSummary(
        tables=(
            BusinessTable("Varige ændringer, service (Tabel 1)", YEARS,
                          (("Beskæftigelseseffekt 5 pct. i beskæftigelse", (0, 0, 0, -35, -35, -35)),
                           ("Kortere ressourceforløb", (0, -5, -28, -47, -47, -47)),
                           ("Botilbud SEL §107", (-178,) * 6)),
                          (-178, -183, -206, -260, -260, -260)),
            BusinessTable("Samlet økonomi", YEARS, (("Implementeringsomkostninger", inv), ("Varige ændringer", perm)),
                          net),
        ),
        payback_years_service=16.04, payback_years_total=6.53, prob_payback=0.41, payback_horizon_years=10,
        cumulative_net=tuple(cum), cumulative_net_low=tuple(c - 900 * (i + 1) for i, c in enumerate(cum)),
        cumulative_net_high=tuple(c + 900 * (i + 1) for i, c in enumerate(cum)), n_resamples=2000, seed=20161001,
    )
    data = ReportData(
        trial_id="BI25-RF-2016",
        title_da="Sundhed, social mobilitet og beskæftigelse for borgere i ressourceforløb",
        title_en="Health, social mobility and employment for citizens in a ressourceforløb",
        sponsor="Københavns Kommune (BIF, SOF, SUF)", evaluator="SFI / VIVE",
        quarter="2017Q3", as_of=dt.date(2017, 9, 30), analysis_date=dt.date(2020, 6, 30),
        first_referral=dt.date(2016, 10, 1), lang="da", min_cell=5,
        treatment_label_da="Deltagergruppe", control_label_da="Kontrolgruppe",
        treatment_label_en="Treatment group", control_label_en="Control group",
        planned_treatment=100, planned_control=300,
        enrollment=(EnrollmentPoint("2016Q4", 200, 48, 146), EnrollmentPoint("2017Q1", 400, 100, 254),
                    EnrollmentPoint("2017Q2", 400, 100, 300)),
        flow=flow,
        balance=(
            BalanceRow("age", "continuous", 41.2, 40.6, 0.05, n_treatment=100, n_control=300),
            BalanceRow("sex", "binary", 0.47, 0.51, -0.08, 47, 153, 100, 300),
            BalanceRow("prior_forloeb", "binary", 0.03, 0.06, -0.14, 3, 18, 100, 300),
            BalanceRow("months_on_benefit", "continuous", 22.3, 21.8, 0.06, n_treatment=100, n_control=300),
            BalanceRow("psych_contact_12m", "binary", 0.38, 0.35, 0.06, 38, 105, 100, 300),
        ),
        effects=effects, weekly=weekly, business_case=bc,
        detectable=(DetectableRow("extension", "Nyt ressourceforløb", "Extension", 97, 290, -0.16, -0.15, 0.74),
                    DetectableRow("ordinary_employment", "Ordinær beskæftigelse", "Ordinary employment", 97, 290,
                                  0.085, 0.05, 0.33)),
        data_quality=("3 borgere mangler status i mindst én uge.",),
        changes=(Change("randomized_control", "Randomiseret til kontrolgruppen", "Randomized to the control group",
                        254, 300),),
        previous_quarter="2017Q2",
        protocol_fingerprint="ab" * 32, sequence_commitment="cd" * 32, software_version="0.1.0",
        seeds=(("allocation", 20161001), ("business_case", 20161001)), register_mode="sqlite",
    )
    return dataclasses.replace(data, **overrides) if overrides else data
