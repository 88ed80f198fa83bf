"""Case variants (issue 6): the saved forsørgelse priced from the measured Δ helårspersoner, and psychiatry
priced per admission day, each *replacing* the lines that count the same money (never added to them).

References: the published BI25 case (``trial/data/bi25.toml``, Section 1; the driver file reproduces it,
tests/test_business_case.py), hand computations and an independent pandas count of the weekly panel.
Tolerances: 1e-9 (1.000 kr.) for sums of the same amounts in another order; rounded tables exactly.
"""
from __future__ import annotations

import json
import math
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from trial.business_case import (Case, add_benefit_years, benefit_year_shares, benefit_years_effect, compute_case,
                                 effect_fed, effect_fed_case, effects_from_analysis, load_case, loads_case)
from trial.cli import main
from trial.exceptions import BusinessCaseError

ROOT = Path(__file__).resolve().parents[1]
CASE = ROOT / "protocols" / "bi25_case.toml"
FORSORGELSE = ["ressourceforloebsydelse", "kontanthjaelp", "sygedagpenge", "foertidspension"]
LABELS = ["2016/17", "2018", "2019", "2020", "2021", "2022"]


@pytest.fixture(scope="module")
def case() -> Case:
    return load_case(CASE)


@pytest.fixture(scope="module")
def published() -> dict:
    return tomllib.loads((ROOT / "trial" / "data" / "bi25.toml").read_text(encoding="utf-8"))["published"]


# --------------------------------------------------------------------------- the helårspersoner variant
def test_variants_are_not_counted_until_chosen(case):
    assert case.available_variants == ("helaarspersoner", "indlaeggelsesdage")
    assert case.variants == () and all(d.variant is None for d in case.drivers)
    labels = [c.label for d in case.drivers for c in d.components]
    assert labels.count("sparet forsørgelse") == 2


def test_helaarspersoner_variant_at_the_assumed_effects_is_the_published_case(case, published):
    base, var = compute_case(case), compute_case(case.with_variants(["helaarspersoner"]))
    assert var.case.variants == ("helaarspersoner",)
    np.testing.assert_allclose(var.total_permanent, base.total_permanent, rtol=0, atol=1e-9)
    for a in ("Service", "EI", "EO"):
        np.testing.assert_allclose(var.by_area[a], base.by_area[a], rtol=0, atol=1e-9)
    sec = published["section1"]
    assert [round(x) for x in var.total_permanent] == sec["total_permanent"]
    assert [round(x) for x in var.total_investment] == sec["total_investment"]
    assert var.payback_whole_years_service == sec["payback_years_service"] == 16
    assert var.payback_whole_years_total == sec["payback_years_total"] == 6
    assert var.payback_years_service == pytest.approx(base.payback_years_service, abs=1e-9)
    assert var.payback_years_total == pytest.approx(base.payback_years_total, abs=1e-9)


def test_the_variant_replaces_the_saved_forsorgelse_it_does_not_add_to_it(case):
    v = case.with_variants("helaarspersoner")
    labels = [c.label for d in v.drivers for c in d.components]
    assert "sparet forsørgelse" not in labels and "fleksjobtilskud" in labels
    line = v.driver("Sparet forsørgelse, helårspersoner")
    assert line.endpoint == "benefit_years" and line.weeks == (105, 156) and list(line.benefits) == FORSORGELSE
    # hand: the EO lines from year 4 at an effect of -0.2 helårspersoner per citizen (20 of 100 fewer on benefits)
    w = v.with_effects({"Sparet forsørgelse, helårspersoner": -0.2})
    eo = compute_case(w).by_area["EO"]
    flex = 0.05 * 100 * 127.73                      # the fleksjob subsidy stays
    psych = -0.15 * 100 * 10.6667                   # psychiatry co-payment from year 1
    assert eo[3] == pytest.approx(-0.2 * 100 * 108.44 + flex + psych, abs=1e-9)
    assert eo[0] == pytest.approx(psych, abs=1e-9)  # phasing 0 in years 1-3 as the published saving


def test_choosing_a_variant_twice_is_the_same_case(case):
    once = case.with_variants(["helaarspersoner"])
    assert once.with_variants(["helaarspersoner"]).drivers == once.drivers
    with pytest.raises(BusinessCaseError) as ei:
        case.with_variants(["nope"])
    assert ei.value.key == "variant" and "helaarspersoner" in ei.value.message


# --------------------------------------------------------------------------- measuring Δ helårspersoner
def _panel():
    # weeks 1-4; window (3, 4). a: rfy rfy job job -> 0; b: rfy rfy rfy kth -> 1; c: rfy rfy rfy rfy -> 1;
    # d: job job fleksjob rfy -> 1/2 (fleksjob is not a forsørgelse benefit); e: (no weeks in the window)
    enr = pd.DataFrame({"pseudonym": list("abcde"), "treatment": [1, 1, 0, 0, 0]})
    st = pd.DataFrame({
        "pseudonym": list("aaaabbbbccccdddde"),
        "week": [1, 2, 3, 4] * 4 + [1],
        "status": ["ressourceforloebsydelse"] * 2 + ["ordinaer_beskaeftigelse"] * 2
        + ["ressourceforloebsydelse"] * 3 + ["kontanthjaelp"]
        + ["ressourceforloebsydelse"] * 4
        + ["ordinaer_beskaeftigelse"] * 2 + ["fleksjob", "ressourceforloebsydelse"]
        + ["ressourceforloebsydelse"]})
    return enr, st


def test_benefit_years_effect_by_hand():
    enr, st = _panel()
    sh = benefit_year_shares(st, FORSORGELSE, weeks=(3, 4))
    assert sh.to_dict() == {"a": 0.0, "b": 1.0, "c": 1.0, "d": 0.5}        # e: no week seen, no value (not 0)
    e = benefit_years_effect(enr, st, FORSORGELSE, weeks=(3, 4))
    # treated (0 + 1)/2 = 0.5, control (1 + 0.5)/2 = 0.75
    assert e["estimate"] == pytest.approx(-0.25, abs=1e-15)
    se = math.sqrt(np.var([0.0, 1.0], ddof=1) / 2 + np.var([1.0, 0.5], ddof=1) / 2)
    assert e["std_error"] == pytest.approx(se, rel=1e-12)
    assert (e["n_treatment"], e["n_control"], e["weeks"], e["measured"]) == (2, 2, [3, 4], True)
    assert e["ci_low"] < e["estimate"] < e["ci_high"]
    # without a window: all four weeks; a = 2/4, b = 1, c = 1, d = 1/4, e = 1
    e_all = benefit_years_effect(enr, st, FORSORGELSE)
    assert e_all["estimate"] == pytest.approx((0.5 + 1) / 2 - (1 + 0.25 + 1) / 3, abs=1e-15)


def test_benefit_years_effect_not_measurable_yet():
    enr, st = _panel()
    assert benefit_years_effect(enr, st, FORSORGELSE, weeks=(105, 156)) is None
    with pytest.raises(BusinessCaseError):
        benefit_years_effect(enr, st, [])


def test_unmeasured_benefit_years_keep_the_assumed_effect_with_a_note(case, protocol):
    enr, st = _panel()
    v = case.with_variants("helaarspersoner")
    eff, notes = add_benefit_years({}, {"enrollments": enr, "status": st}, v)
    assert "benefit_years" not in eff and len(notes) == 1 and "105-156" in notes[0]
    r = effect_fed_case(eff, case=case, protocol=protocol, variants=["helaarspersoner"], n_draws=50, rng=1,
                        extra_notes=notes)
    by = {i.line: i for i in r.effects}
    assert by["Sparet forsørgelse, helårspersoner"].basis == "antaget"
    assert by["Sparet forsørgelse, helårspersoner"].estimate == -0.10
    assert notes[0] in r.notes


# --------------------------------------------------------------------------- effect-fed, from a register
@pytest.fixture(scope="module")
def reg(tmp_path_factory):
    from tests._report_register import build_register

    r, key, _cprs, _ex = build_register(tmp_path_factory.mktemp("variants"), n_referrals=200, seed=11)
    r.close()
    return str(r.target) if hasattr(r, "target") else str(tmp_path_factory.getbasetemp())


def _frames(path):
    from trial.analysis import register_frames
    from trial.register import Register

    with Register.open(path) as r:
        return register_frames(r)


def test_register_variant_measures_helaarspersoner_independently_checked(reg, capsys):
    f = _frames(reg)
    # independent pandas count: share of weeks 105-156 on a forsørgelse benefit, per citizen, then the means
    st = f["status"].merge(f["enrollments"][["pseudonym", "treatment"]], on="pseudonym")
    st = st[(st.week >= 105) & (st.week <= 156)]
    per = st.assign(on=st.status.isin(FORSORGELSE)).groupby(["pseudonym", "treatment"]).on.mean().reset_index()
    m = per.groupby("treatment").on.mean()
    v = per.groupby("treatment").on.var(ddof=1)
    n = per.groupby("treatment").size()
    assert n[1] >= 20 and n[0] >= 20                    # the fixture reaches the third year of follow-up
    code = main(["business-case", "--register", reg, "--variant", "helaarspersoner", "--draws", "400", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out["variants"] == ["helaarspersoner"]
    e = next(x for x in out["effects"] if x["endpoint"] == "benefit_years")
    assert e["basis"] == "målt" and e["line"] == "Sparet forsørgelse, helårspersoner"
    assert e["estimate"] == pytest.approx(m[1] - m[0], abs=1e-12)
    assert e["std_error"] == pytest.approx(math.sqrt(v[1] / n[1] + v[0] / n[0]), rel=1e-10)
    assert "benefit_years" not in out["unused_effects"]
    # the measured helårspersoner are drawn jointly with the endpoints measured on the same citizens
    assert any("benefit_years" in x and "drawn jointly" in x for x in out["notes"])
    # the library gives the same case from the same seed
    lib = effect_fed(reg, variants=["helaarspersoner"], n_draws=400)
    assert lib.p_payback == out["p_payback_within"]
    assert lib.base.total_permanent == pytest.approx(out["total_permanent"], abs=1e-9)


def test_joint_draws_keep_the_correlation_with_employment(reg, protocol):
    from trial import analysis

    f = _frames(reg)
    res = analysis.analyze(reg)
    case = load_case(CASE).with_variants("helaarspersoner")
    eff, notes = add_benefit_years(effects_from_analysis(res, protocol), f, case)
    assert notes == [] and "benefit_years" in eff.analysis.data.columns
    d = analysis.joint_effect_draws(eff.analysis, n_draws=40_000, rng=3,
                                    endpoints=["ordinary_employment", "benefit_years"])
    cov = analysis.effect_covariance(eff.analysis, endpoints=["ordinary_employment", "benefit_years"])
    sd = d.std(ddof=1)
    assert sd["benefit_years"] == pytest.approx(eff["benefit_years"]["std_error"], rel=0.03)
    # independently: the covariance of two means over pairwise complete citizens is S_jk n_jk / (n_j n_k) per arm
    # (S_jk the sample covariance on the n_jk citizens seen on both), summed over the arms
    data = eff.analysis.data
    c = 0.0
    for arm in (1, 0):
        a = data[data["treatment"] == arm]
        both = a[["ordinary_employment", "benefit_years"]].dropna()
        s_jk = np.cov(both.to_numpy(float).T, ddof=1)[0, 1]
        c += s_jk * len(both) / (a["ordinary_employment"].notna().sum() * a["benefit_years"].notna().sum())
    assert c < 0                                         # more in a job -> fewer helårspersoner on benefits
    assert np.asarray(cov)[0, 1] == pytest.approx(c, rel=1e-10)
    assert d.cov().iloc[0, 1] == pytest.approx(c, abs=5 * math.sqrt(
        (sd.iloc[0] ** 2 * sd.iloc[1] ** 2 + c ** 2) / 40_000))


# --------------------------------------------------------------------------- the admission-days variant
def test_admission_days_variant_needs_a_price(case, protocol):
    v = case.with_variants("indlaeggelsesdage")
    with pytest.raises(BusinessCaseError) as ei:
        compute_case(v)
    assert "--unit-cost" in ei.value.message and "Psykiatriske indlæggelsesdage" in ei.value.message
    with pytest.raises(BusinessCaseError):
        effect_fed_case({}, case=case, protocol=protocol, variants=["indlaeggelsesdage"], n_draws=20, rng=1)


def test_admission_days_variant_replaces_the_contact_line(case, protocol):
    eff = {"psych_admission_days": {"estimate": -0.5, "std_error": 0.2},
           "psych_contact": {"estimate": -0.1, "std_error": 0.05}}
    r = effect_fed_case(eff, case=case, protocol=protocol, variants=["indlaeggelsesdage"], n_draws=200, rng=2,
                        unit_costs={"Psykiatriske indlæggelsesdage": {"pris pr. indlæggelsesdag": 2.5}})
    lines = {i.line: i for i in r.effects}
    assert "Kommunal medfinansiering psykiatri" not in lines
    assert lines["Psykiatriske indlæggelsesdage"].estimate == -0.5 and lines["Psykiatriske indlæggelsesdage"].basis == "målt"
    assert r.unused_effects == ("psych_contact",)
    assert any("replaced by the chosen variant" in n for n in r.notes)
    assert any("entered by the user" in n and "2,50" in n for n in r.notes)
    base = compute_case(case)
    # hand: EO without the contact line (-0.15 x 100 x 10.6667 = -160) plus -0.5 x 100 x 2.5 = -125
    assert r.base.by_area["EO"][0] == pytest.approx(base.by_area["EO"][0] + 0.15 * 100 * 10.6667 - 125, abs=1e-9)
    assert "målt: -0,500 dage pr. borger pr. år" in r.case.line_label("Psykiatriske indlæggelsesdage")


# --------------------------------------------------------------------------- command line
def test_cli_plain_case_with_variants(capsys):
    assert main(["business-case", str(CASE), "--json"]) == 0
    base = json.loads(capsys.readouterr().out)
    assert main(["business-case", str(CASE), "--variant", "helaarspersoner", "--json"]) == 0
    var = json.loads(capsys.readouterr().out)
    assert var["variants"] == ["helaarspersoner"] and base["variants"] == []
    np.testing.assert_allclose(var["net"], base["net"], atol=1e-9)
    assert var["payback_whole_years_service"] == 16 and var["payback_whole_years_total"] == 6
    assert main(["business-case", str(CASE), "--variant", "indlaeggelsesdage", "--unit-cost",
                 "Psykiatriske indlæggelsesdage=2,5", "--json"]) == 0
    adm = json.loads(capsys.readouterr().out)
    # at the assumed -0.06 days: -0.06 x 100 x 2.5 = -15 instead of the contact line's -160
    assert adm["by_area"]["EO"][0] == pytest.approx(base["by_area"]["EO"][0] + 160.0005 - 15, abs=1e-9)


@pytest.mark.parametrize("argv, needle", [
    (["--variant", "nope"], "helaarspersoner, indlaeggelsesdage"),
    (["--variant", "indlaeggelsesdage"], "--unit-cost"),
    (["--variant", "indlaeggelsesdage", "--unit-cost", "Psykiatriske indlæggelsesdage"], "LINE=AMOUNT"),
    (["--variant", "indlaeggelsesdage", "--unit-cost", "Psykiatriske indlæggelsesdage=to"], "amount must be"),
    (["--unit-cost", "Ingen linje=3"], "names no driver line"),
    (["--unit-cost", "Beskæftigelseseffekt 5 pct. i beskæftigelse=3"], "name one"),
])
def test_cli_bad_variant_or_unit_cost_exit_2(capsys, argv, needle):
    assert main(["business-case", str(CASE), *argv]) == 2
    err = capsys.readouterr().err
    assert needle in err and "Traceback" not in err


def test_cli_unit_cost_of_one_component(capsys):
    assert main(["business-case", str(CASE), "--unit-cost",
                 "Beskæftigelseseffekt 5 pct. i beskæftigelse:sparet forsørgelse=-100", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert main(["business-case", str(CASE), "--json"]) == 0
    base = json.loads(capsys.readouterr().out)
    # 5 citizens x (110.8 - 100) t.kr. less saved from year 4
    assert out["by_area"]["EO"][3] - base["by_area"]["EO"][3] == pytest.approx(5 * 10.8, abs=1e-9)


# --------------------------------------------------------------------------- case-file checks
_HEAD = """
[meta]
title = "t"
unit = "1000 kr"
years = ["y1", "y2"]
citizens_treated = 10
[[driver]]
line = "Job"
administration = "BIF"
assumed_effect = 0.1
components = [{ area = "EO", per_citizen = -100, phasing = [0, 1], label = "sparet forsørgelse" },
              { area = "Service", per_citizen = -5, phasing = [0, 1] }]
"""


@pytest.mark.parametrize("extra, key", [
    ('[[driver]]\nline = "V"\nadministration = "BIF"\nassumed_effect = -0.1\nreplaces = ["Job: sparet forsørgelse"]\n'
     'components = [{ area = "EO", per_citizen = 100, phasing = [0, 1] }]\n', "driver[1].replaces"),
    ('[[driver]]\nline = "V"\nadministration = "BIF"\nassumed_effect = -0.1\nvariant = "v"\nreplaces = ["Nope"]\n'
     'components = [{ area = "EO", per_citizen = 100, phasing = [0, 1] }]\n', "driver['V'].replaces"),
    ('[[driver]]\nline = "V"\nadministration = "BIF"\nassumed_effect = -0.1\nvariant = "v"\n'
     'replaces = ["Job: nope"]\ncomponents = [{ area = "EO", per_citizen = 100, phasing = [0, 1] }]\n',
     "driver['V'].replaces"),
    ('[[driver]]\nline = "V"\nadministration = "BIF"\nassumed_effect = -0.1\n'
     'components = [{ area = "EO", phasing = [0, 1] }]\n', "driver[1].components[0].per_citizen"),
    ('[[driver]]\nline = "V"\nadministration = "BIF"\nassumed_effect = -0.1\nvariant = "v"\n'
     'endpoint = "benefit_years"\ncomponents = [{ area = "EO", per_citizen = 1, phasing = [0, 1] }]\n',
     "driver[1].benefits"),
    ('[[driver]]\nline = "V"\nadministration = "BIF"\nassumed_effect = -0.1\nvariant = "v"\nweeks = [3, 2]\n'
     'endpoint = "benefit_years"\nbenefits = ["rfy"]\n'
     'components = [{ area = "EO", per_citizen = 1, phasing = [0, 1] }]\n', "driver[1].weeks"),
    ('[[driver]]\nline = "V"\nadministration = "BIF"\nassumed_effect = -0.1\nvariant = "v"\nbenefits = ["rfy"]\n'
     'components = [{ area = "EO", per_citizen = 1, phasing = [0, 1] }]\n', "driver[1].endpoint"),
])
def test_bad_variant_lines_name_the_key(extra, key):
    with pytest.raises(BusinessCaseError) as ei:
        loads_case(_HEAD + extra, path="c.toml")
    assert ei.value.key == key, ei.value


def test_a_variant_that_takes_a_whole_line_and_one_that_takes_a_component():
    text = _HEAD + ('[[driver]]\nline = "V"\nadministration = "BIF"\nassumed_effect = -0.1\nvariant = "v"\n'
                    'replaces = ["Job: sparet forsørgelse"]\n'
                    'components = [{ area = "EO", per_citizen = 100, phasing = [0, 1] }]\n'
                    '[[driver]]\nline = "W"\nadministration = "BIF"\nassumed_effect = 0.1\nvariant = "w"\n'
                    'replaces = ["Job"]\ncomponents = [{ area = "Service", per_citizen = -1, phasing = [1, 1] }]\n')
    c = loads_case(text)
    v = compute_case(c.with_variants("v"))
    # hand: Job keeps its service component (0.1 x 10 x -5 = -5 in y2); V: -0.1 x 10 x 100 = -100 in y2
    assert list(v.by_area["Service"]) == pytest.approx([0, -5]) and list(v.by_area["EO"]) == pytest.approx([0, -100])
    w = compute_case(c.with_variants("w"))
    assert [d.line for d in w.case.drivers] == ["W"] and list(w.by_area["Service"]) == pytest.approx([-1, -1])
    with pytest.raises(BusinessCaseError) as ei:      # w took the whole line, so v finds nothing to replace
        c.with_variants(["w", "v"])
    assert "chosen variants: w" in ei.value.message


# --------------------------------------------------------------------------- QA round (variants)
@pytest.mark.parametrize("amount, value", [("2,5", 2.5), ("2.5", 2.5), ("1.234,5", 1234.5), ("1.234.567", 1234567.0),
                                           ("-2,5", -2.5), (" 3 ", 3.0), ("0,125", None), ("1234", 1234.0)])
def test_unit_cost_amounts_read_as_a_dane_means_them(amount, value):
    from trial.cli.cmd_business_case import _parse_amount

    if value is None:          # 0,125 has three decimals after a single 0: not a thousands separator
        assert _parse_amount(amount, "x") == 0.125
    else:
        assert _parse_amount(amount, "x") == value


@pytest.mark.parametrize("amount", ["1.234", "2,500", "1,234.5", "1.23,4", "abc", "nan", "inf", "", "1,2,3"])
def test_ambiguous_or_bad_unit_cost_amounts_are_refused(amount):
    from trial.cli.cmd_business_case import _parse_amount

    with pytest.raises(BusinessCaseError) as ei:
        _parse_amount(amount, "x")
    assert ei.value.key == "--unit-cost"


def test_cli_unit_cost_twice_and_of_an_unchosen_variant(capsys):
    u = "Psykiatriske indlæggelsesdage=2,5"
    assert main(["business-case", str(CASE), "--variant", "indlaeggelsesdage", "--unit-cost", u,
                 "--unit-cost", u]) == 2
    assert "twice" in capsys.readouterr().err
    assert main(["business-case", str(CASE), "--unit-cost", u]) == 2
    assert "--variant indlaeggelsesdage" in capsys.readouterr().err
    assert main(["business-case", str(CASE), "--variant", "nope"]) == 2
    assert "`--variant`" in capsys.readouterr().err


def test_cli_plain_case_repeats_the_entered_price(capsys):
    argv = ["business-case", str(CASE), "--variant", "indlaeggelsesdage", "--unit-cost",
            "Psykiatriske indlæggelsesdage=2,5"]
    assert main(argv) == 0
    assert "Bemærk: Enhedsbeløb indtastet af brugeren (antaget): Psykiatriske indlæggelsesdage, " \
           "pris pr. indlæggelsesdag = 2,50." in capsys.readouterr().out
    assert main(argv + ["--json"]) == 0
    assert json.loads(capsys.readouterr().out)["unit_costs"] == {
        "Psykiatriske indlæggelsesdage": {"pris pr. indlæggelsesdag": 2.5}}


def test_unit_costs_must_be_a_mapping_per_line(case, protocol):
    with pytest.raises(BusinessCaseError) as ei:
        effect_fed_case({}, case=case, protocol=protocol, variants=["indlaeggelsesdage"], n_draws=20, rng=1,
                        unit_costs={"Psykiatriske indlæggelsesdage": 2.5})
    assert "mapping" in ei.value.message
    with pytest.raises(BusinessCaseError) as ei:          # a variant line priced without choosing the variant
        effect_fed_case({}, case=case, protocol=protocol, n_draws=20, rng=1,
                        unit_costs={"Psykiatriske indlæggelsesdage": {"EO": 2.5}})
    assert "variant 'indlaeggelsesdage'" in ei.value.message


def test_scaling_before_or_after_choosing_a_variant_is_the_same(case):
    a = compute_case(case.with_variants("helaarspersoner").scaled(prices=1.2, duration=1))
    b = compute_case(case.scaled(prices=1.2, duration=1).with_variants("helaarspersoner"))
    np.testing.assert_allclose(a.total_permanent, b.total_permanent, atol=1e-9)
    # year 4: the helårspersoner line at 1.2 x 108.44, lasting one year (0 in years 5 and 6)
    line = [ln for ln in a.case.driver_lines() if ln.line == "Sparet forsørgelse, helårspersoner"][0]
    assert list(line.amounts) == pytest.approx([0, 0, 0, -0.10 * 100 * 108.44 * 1.2, 0, 0], abs=1e-9)


def test_a_line_name_with_colon_space_can_be_replaced_whole():
    text = _HEAD.replace('line = "Job"', 'line = "Psykiatri: medfinansiering"') + (
        '[[driver]]\nline = "V"\nadministration = "BIF"\nassumed_effect = -0.1\nvariant = "v"\n'
        'replaces = ["Psykiatri: medfinansiering"]\n'
        'components = [{ area = "EO", per_citizen = 100, phasing = [0, 1] }]\n'
        '[[driver]]\nline = "W"\nadministration = "BIF"\nassumed_effect = -0.1\nvariant = "w"\n'
        'replaces = ["Psykiatri: medfinansiering: sparet forsørgelse"]\n'
        'components = [{ area = "EO", per_citizen = 100, phasing = [0, 1] }]\n')
    c = loads_case(text)
    assert [d.line for d in c.with_variants("v").drivers] == ["V"]
    assert c.with_variants("v").replaced_lines == {"Psykiatri: medfinansiering": "v"}
    w = c.with_variants("w")
    assert [cc.area for cc in w.driver("Psykiatri: medfinansiering").components] == ["Service"]


def test_notes_name_the_variant_that_replaced_and_the_unchosen_one(case, protocol):
    eff = {"psych_contact": {"estimate": -0.1, "std_error": 0.05},
           "benefit_years": {"estimate": -0.1, "std_error": 0.05}}
    r = effect_fed_case(eff, case=case, protocol=protocol, variants=["helaarspersoner", "indlaeggelsesdage"],
                        n_draws=20, rng=1, unit_costs={"Psykiatriske indlæggelsesdage": {"EO": 2.5}})
    assert any("replaced by the chosen variant (indlaeggelsesdage)" in n for n in r.notes)
    r2 = effect_fed_case(eff, case=case, protocol=protocol, n_draws=20, rng=1)
    assert "benefit_years" in r2.unused_effects
    assert any("used only by variant 'helaarspersoner'" in n for n in r2.notes)
    from trial.business_case._notes import note_in_language

    da = [note_in_language(n, True, fallback=None) for n in r2.notes]
    assert any("bruges kun af varianten 'helaarspersoner'" in n for n in da)


def test_partly_observed_window_is_noted(case):
    enr, st = _panel()
    st = st.assign(week=st["week"] + 104)         # weeks 105-108: the window 105-156 seen up to week 108
    eff, notes = add_benefit_years({}, {"enrollments": enr, "status": st}, case.with_variants("helaarspersoner"))
    assert eff["benefit_years"]["last_week_observed"] == 108
    assert notes == ["benefit_years: measured on follow-up weeks 105-108 of 105-156 so far (no citizen is further yet)"]
    from trial.business_case._notes import note_in_language

    assert note_in_language(notes[0], True) == ("benefit_years: målt i opfølgningsuge 105-108 af 105-156 indtil "
                                                "videre (ingen borger er nået længere endnu).")


def test_cli_withhold_benefit_years(reg, capsys):
    assert main(["business-case", "--register", reg, "--variant", "helaarspersoner", "--withhold", "benefit_years",
                 "--draws", "50", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    e = next(x for x in out["effects"] if x["endpoint"] == "benefit_years")
    assert e["basis"] == "antaget" and e["estimate"] == -0.10 and out["withheld"] == ["benefit_years"]


def test_cli_checks_unit_costs_before_the_analysis(tmp_path, capsys):
    reg = str(tmp_path / "empty.sqlite")
    assert main(["init", "--protocol", "protocols/ressourceforloeb.toml", "--register", reg]) == 0
    capsys.readouterr()
    # the register has nobody enrolled, so an analysis would fail; the bad price is named first
    assert main(["business-case", "--register", reg, "--unit-cost", "Ingen linje=3"]) == 2
    err = capsys.readouterr().err
    assert "--unit-cost" in err and "enrolled" not in err
    assert main(["business-case", "--register", reg, "--variant", "nope"]) == 2
    assert "`--variant`" in capsys.readouterr().err
