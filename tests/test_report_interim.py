"""The quarterly report at an interim quarter (QA repro: `trial simulate --seed 7`, data date 2018-06-30).

Mid-trial the "ever by week 156" endpoints (extension, §85, §107, §99) have no citizen followed to the
horizon. Before the fix, citizens with an early event counted as 1 and the rest as missing, so the
complete cases were all 1s ("Lige mange får et nyt ressourceforløb", 100 % vs 100 %) and the business
case held a zero-SE "measured" 0 fixed. Now: not computable, a descriptive "hidtil" table, assumed
effects in the business case, no English in the Danish report.
"""
from __future__ import annotations

import json
import math
import re
from html import unescape

import pytest

from trial.cli import main

EVER = ("extension", "par85", "par107", "par99")


@pytest.fixture(scope="module")
def interim(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("interim")
    ex, reg = tmp / "exports", str(tmp / "test.sqlite")
    # a seeded rehearsal key: the same pseudonyms and allocations on every run (a fresh random key
    # gives between ~285 and 300 controls, and exact power is a sawtooth in the group sizes)
    from trial._keys import create_key_file
    create_key_file(tmp / "test.sqlite.key", seed=7)
    assert main(["simulate", "--out", str(ex), "--seed", "7"]) == 0
    assert main(["init", "--protocol", "protocols/ressourceforloeb.toml", "--register", reg]) == 0
    assert main(["enroll", "--register", reg, str(ex / "referrals.csv")]) == 0
    # before the first outcome upload
    o0 = tmp / "r_before"
    assert main(["report", "--register", reg, "--quarter", "2017Q1", "--out", str(o0), "--no-pdf"]) == 0
    before = _text((o0 / "report.html").read_text())
    assert main(["outcomes", "load", "--register", reg, "--status", str(ex / "status.csv"), "--events",
                 str(ex / "events.csv"), "--survey", str(ex / "survey.csv"), "--data-date", "2018-06-30"]) == 0
    out = {}
    for lang in ("da", "en"):
        o = tmp / f"r_{lang}"
        assert main(["report", "--register", reg, "--quarter", "2018Q2", "--out", str(o), "--no-pdf",
                     "--lang", lang]) == 0
        out[lang] = {"text": _text((o / "report.html").read_text()),
                     "data": json.loads((o / "report_data.json").read_text())}
    o3 = tmp / "r_2018Q3"   # the newest upload (2018-06-30) is older than the quarter's end
    assert main(["report", "--register", reg, "--quarter", "2018Q3", "--out", str(o3), "--no-pdf"]) == 0
    out.update(reg=reg, tmp=tmp, before=before, stale=_text((o3 / "report.html").read_text()))
    return out


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", re.sub(r"<img[^>]*>", "", html))))


def test_ever_endpoints_are_not_computable_yet(interim):
    d, text = interim["da"]["data"], interim["da"]["text"]
    eff = {e["endpoint"]: e for e in d["effects"]}
    for ep in EVER:
        # no estimate; the group sizes are 0 (or hidden with the flow diagram's "analysed" boxes)
        assert eff[ep]["estimate"] is None and eff[ep]["n_treatment"] in (0, None), ep
    assert "Nyt ressourceforløb: Kan ikke beregnes endnu (ingen borgere er fulgt i 156 uger)" in text
    assert "Lige mange får et nyt ressourceforløb" not in text and "100,0 pct." not in text


def test_hidtil_comparison_is_descriptive_and_adds_up(interim):
    from trial.analysis import register_frames
    from trial.register import Register

    d, text = interim["da"]["data"], interim["da"]["text"]
    rows = {r["endpoint"]: r for r in d["so_far"]}
    assert set(rows) == set(EVER)
    assert "Hidtil (beskrivende)" in text and "indgår hverken i de bekræftende mål eller i business casen" in text
    # independent recount from the raw frames: an extension event in [0, min(data date, attrition, 156 w))
    # per citizen not lost to attrition by the data date
    with Register.open(interim["reg"]) as reg:
        f = register_frames(reg, "2018-06-30")
    enr, ev, proto = f["enrollments"], f["events"], f["protocol"]
    ev = ev[ev["start_date"] <= "2018-06-30"]
    att = ev[ev["event"].isin(proto.attrition_events)].groupby("pseudonym")["start_date"].min()
    wd = enr.loc[(enr["status"] == "withdrawn"), "pseudonym"]
    (types,) = [e.events for e in proto.endpoints if e.id == "extension"]
    ext = ev[ev["event"].isin(types)]
    got = {1: [0, 0], 0: [0, 0]}
    for p, ref, z in enr[["pseudonym", "referral_date"]].assign(z=enr["treatment"]).itertuples(index=False):
        if p in att.index or p in set(wd):
            continue                      # lost to attrition before the data date
        mine = ext[(ext["pseudonym"] == p) & (ext["start_date"] >= ref)]
        got[z][0] += 1
        got[z][1] += int(len(mine) > 0)
    r = rows["extension"]
    assert (r["treatment_n"], r["treatment_count"]) == tuple(got[1])
    assert (r["control_n"], r["control_count"]) == tuple(got[0])
    assert r["treatment_share"] == pytest.approx(got[1][1] / got[1][0], rel=1e-12)
    assert r["complete_treatment"] == r["complete_control"] == 0 and 0 < r["median_followup_weeks"] < 156
    # report_data.json hides the rows the report hides (a count of 1 to min_cell - 1 in a group)
    k = d["min_cell"]
    for row in d["so_far"]:
        shown = row["treatment_count"] is not None
        small = any(c is not None and (1 <= c < k or 1 <= n - c < k) for c, n in (
            (row["treatment_count"], row["treatment_n"]), (row["control_count"], row["control_n"])))
        assert not small
        if not shown:
            assert row["treatment_share"] is None and row["control_share"] is None
    assert any(r["treatment_count"] is None for r in d["so_far"])      # §107 / §99: few events, hidden


def test_business_case_keeps_the_assumed_effects(interim):
    from trial.analysis import analyze
    from trial.business_case import effect_fed_case
    from trial.protocol import load

    bc = interim["da"]["data"]["business_case"]
    assert not set(bc["measured"]) & set(EVER + ("ordinary_employment", "fleksjob"))
    labels = [lbl for t in bc["tables"] for lbl, _ in t["rows"]]
    assert not any("målt: 0,0" in lbl for lbl in labels)
    # P(payback) = the case fed only with the estimates that have a positive SE (same seed), built here by hand
    proto = load("protocols/ressourceforloeb.toml")
    tab = analyze(interim["reg"], as_of="2018-06-30", n_resamples=20).table
    tab = tab[tab["estimator"] == "difference_in_means"]
    ok = tab[tab["estimate"].map(math.isfinite) & (tab["std_error"] > 0)]
    eff = {r.endpoint: {"estimate": r.estimate, "std_error": r.std_error} for r in ok.itertuples()}
    assert not set(eff) & set(EVER)
    ref = effect_fed_case(eff, protocol=proto, rng=int(proto.allocation.seed))
    assert bc["prob_payback"] == pytest.approx(ref.p_payback, abs=1e-12)
    assert "Med forsøgets skøn, hvor de findes, og ellers de antagne effekter" in interim["da"]["text"]


def test_no_english_estimator_notes_in_the_danish_report(interim):
    text = interim["da"]["text"]
    for en in ("no observed value", "nothing to compare", "the outcome is the same", "no events in",
               "not computable", "counted as p = 1", "standard error"):
        assert en not in text, en
    assert "Cannot be computed yet (no citizen has been followed for 156 weeks)" in interim["en"]["text"]
    assert "So far (descriptive)" in interim["en"]["text"]


def test_before_the_first_upload_the_case_shows_assumed_effects(interim):
    text = interim["before"]
    assert "Ingen business case er knyttet til protokollen" not in text
    assert "Ingen effekter er målt i forsøget endnu" in text and "Med de antagne effekter (ingen er målt endnu)" in text
    assert "Tilbagebetalingstid, samlet økonomi" in text


def test_data_date_is_shown_and_a_stale_upload_is_flagged(interim, capsys):
    assert "Opgjort pr. 30. juni 2018 · Data trukket 30. juni 2018" in interim["da"]["text"]
    assert "Data drawn 30 June 2018" in interim["en"]["text"]
    assert interim["da"]["data"]["data_date"] == "2018-06-30"
    assert ("De nyeste data er trukket 30. juni 2018, før kvartalets slutning 30. september 2018"
            in interim["stale"])
    assert "De nyeste data er trukket" not in interim["da"]["text"]
    out = interim["tmp"] / "future"
    assert main(["report", "--register", interim["reg"], "--quarter", "2099Q1", "--out", str(out), "--no-pdf"]) == 2
    assert "lies in the future" in capsys.readouterr().err and not out.exists()


def test_detectable_uses_the_exact_power_of_the_primary_test(interim):
    from trial.power import power_two_proportions
    from trial.protocol import load

    proto = load("protocols/ressourceforloeb.toml")
    d = interim["da"]["data"]
    assert d["detectable"] and "Hvad kan forsøget stadig påvise?" in interim["da"]["text"]
    for r in d["detectable"]:
        (ep,) = [e for e in proto.endpoints if e.id == r["endpoint"]]
        ref = power_two_proportions(p_control=ep.control_value, p_treatment=ep.control_value + ep.goal,
                                    n_control=r["n_control"], n_treatment=r["n_treatment"], method="exact_hc2")
        assert r["power_at_goal"] == pytest.approx(ref.power, abs=1e-12)
    # README / power.json: exact HC2 power of ordinary employment at 100/300 is 0.292. Exact power is a
    # sawtooth in n_control (lattice of attainable p-values): 0.278 at 100/296, 0.294 at 100/299, so the
    # check against an independent figure is the enumeration above; here only that the register's real
    # group sizes were used (100 treated at capacity, about 3 controls per treated citizen).
    emp = [r for r in d["detectable"] if r["endpoint"] == "ordinary_employment"][0]
    assert emp["n_treatment"] == 100 and 270 <= emp["n_control"] <= 310
    assert 0.25 < emp["power_at_goal"] < 0.32


def test_english_business_case_note_is_proper_sentences(interim):
    text = interim["en"]["text"]
    assert "Unit amounts, phasing and investments are assumed; effects are marked per line." in text
    assert not re.search(r"pays for itself\. [a-z]", text) and "draws unit amounts" not in text
