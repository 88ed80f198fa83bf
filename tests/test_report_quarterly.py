"""Second pass on the steering group's report: what it says and what its files hold.

* enrollment: quarters after enrollment ended are one line, numbers unchanged;
* the summary says, from the analysis date, per confirmatory goal whether the trial
  shows the effect (the fixed-sequence test's ``rejected``), never "no effect";
* English output has no Danish-only words;
* disclosure: ``report_data.json`` of a register with a small treatment arm holds no
  count of 1..min_cell-1 that the report hides (and the exact figures are in the
  register's ``report_snapshots``), "what changed" reads the register's snapshot.

Exact checks (text and integers); no tolerances.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
import sys
from html import unescape
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from _report_fixtures import make_report_data  # noqa: E402
from _report_register import build_register  # noqa: E402

from trial.cli import main  # noqa: E402
from trial.report import EnrollmentPoint, ReportData, disclose, effect_hidden, render_html  # noqa: E402


def _text(html: str) -> str:
    """Visible text of the HTML (tags, style and embedded images removed)."""
    html = re.sub(r"<style>.*?</style>", " ", html, flags=re.S)
    html = re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "", html)
    return unescape(re.sub(r"<[^>]+>", " ", html))


def _after(data, **rejected):
    """The fixture moved past the analysis date, confirmatory rows with ``rejected`` and raw p-values."""
    eff = []
    for e in data.effects:
        if e.endpoint in rejected:
            rej, p = rejected[e.endpoint]
            e = dataclasses.replace(e, rejected=rej, p_value=p, descriptive=False,
                                    hierarchy=["extension", "ordinary_employment", "fleksjob"].index(e.endpoint) + 1)
        eff.append(e)
    return dataclasses.replace(data, as_of=dt.date(2020, 6, 30), quarter="2020Q2", effects=tuple(eff))


# ------------------------------------------------------------------ enrollment
def test_enrollment_after_the_last_change_is_one_line():
    qs = [f"{y}Q{q}" for y in (2016, 2017, 2018, 2019, 2020) for q in (1, 2, 3, 4)][3:]   # 2016Q4 .. 2020Q4
    pts = [EnrollmentPoint(qs[0], 200, 56, 163), EnrollmentPoint(qs[1], 400, 100, 302)]
    pts += [EnrollmentPoint(q, 400, 100, 302) for q in qs[2:15]]
    d = make_report_data(enrollment=tuple(pts), flow=dataclasses.replace(make_report_data().flow,
                                                                         randomized_control=302))
    html = render_html(d)
    sec = html[html.index('<section id="enrollment">'):html.index('<section id="flow">')]
    rows = [r for r in re.findall(r"<tr>(.*?)</tr>", sec) if "<td" in r]
    assert [re.findall(r"<td[^>]*>(.*?)</td>", r) for r in rows] == [
        ["4. kvartal 2016", "200", "56", "163", "219"], ["1. kvartal 2017", "400", "100", "302", "402"]]
    assert "Siden 1. kvartal 2017: ingen nye randomiseringer. I alt 402 randomiseret pr. 2. kvartal 2020." in sec
    assert d.flow.randomized == 402 == pts[-1].treatment + pts[-1].control    # the line's total is the flow's
    # still enrolling: every quarter is a row, no "since" line
    d2 = make_report_data()
    sec2 = render_html(d2).split('<section id="enrollment">')[1].split("</section>")[0]
    assert sec2.count("<tr>") == 1 + len(d2.enrollment) and "Siden" not in sec2   # header + one per quarter


def test_enrollment_hides_both_arms_when_one_is_small():
    d = make_report_data(enrollment=(EnrollmentPoint("2016Q4", 200, 3, 150), EnrollmentPoint("2017Q1", 400, 100, 300)))
    sec = render_html(d).split('<section id="enrollment">')[1].split("</section>")[0]
    first = re.findall(r"<td[^>]*>(.*?)</td>", [r for r in re.findall(r"<tr>(.*?)</tr>", sec) if "<td" in r][0])
    assert first == ["4. kvartal 2016", "200", "x", "x", "153"]   # 150 shown with 153 would give back the 3
    pub = disclose(d)
    assert (pub.enrollment[0].treatment, pub.enrollment[0].control) == (None, None)
    assert pub.enrollment[1] == d.enrollment[1]


# ------------------------------------------------------------------ summary in plain words
FORBIDDEN = ("ingen effekt", "virker ikke", "har ingen virkning", "no effect", "does not work", "has no effect")


def _summary(html):
    return _text(html.split('<section id="summary">')[1].split("</section>")[0])


def test_summary_says_which_confirmatory_goals_the_trial_shows():
    d = _after(make_report_data(), extension=(True, 0.001), ordinary_employment=(False, 0.03),
               fleksjob=(False, 0.03))
    s = " ".join(_summary(render_html(d)).split())
    assert "De tre bekræftende mål er afprøvet i den aftalte, faste rækkefølge:" in s
    assert ("Nyt ressourceforløb: Forsøget viser, at indsatsen virker (11 færre får et nyt ressourceforløb pr. 100 "
            "borgere; usikkerheden spænder fra") in s
    # p < alpha but after a goal that was not shown: the fixed sequence stops
    s2 = " ".join(_summary(render_html(_after(make_report_data(), extension=(False, 0.4),
                                               ordinary_employment=(False, 0.03), fleksjob=(False, 0.5)))).split())
    assert ("Ordinær beskæftigelse: Forsøget kan ikke vise en effekt efter de aftalte regler, fordi et mål før det i "
            "rækkefølgen ikke blev påvist; tallene alene peger på") in s2
    assert "Nyt ressourceforløb: Forsøget kan ikke vise en effekt; forskellen kan skyldes tilfældigheder" in s2
    assert "betyder det ikke, at indsatsen er uden virkning" in s2
    for text in (s, s2):
        assert not any(w in text.lower() for w in FORBIDDEN)
    # the order is the fixed sequence, and a goal against its direction is said so
    assert s2.index("Nyt ressourceforløb:") < s2.index("Ordinær beskæftigelse:") < s2.index("Fleksjob:")
    d3 = _after(make_report_data(), extension=(True, 0.001), ordinary_employment=(True, 0.001),
                fleksjob=(True, 0.001))
    d3 = dataclasses.replace(d3, effects=tuple(dataclasses.replace(e, estimate=-0.05) if e.endpoint == "fleksjob"
                                               else e for e in d3.effects))
    s3 = " ".join(_summary(render_html(d3)).split())
    assert "Fleksjob: Forsøget viser en forskel i den modsatte retning af målet" in s3
    assert "uden virkning" not in s3          # the caveat only when a goal was not shown


def test_summary_before_the_analysis_date_stays_descriptive():
    s = " ".join(_summary(render_html(make_report_data())).split())
    assert "Forskellene er foreløbige og beskrivende indtil analysedatoen 30. juni 2020." in s
    assert "Forsøget viser" not in s and "Forsøget kan ikke vise" not in s
    assert "Ordinær beskæftigelse: 4 flere i ordinær beskæftigelse pr. 100 borgere" in s


def test_summary_in_english():
    d = _after(make_report_data(lang="en"), extension=(True, 0.001), ordinary_employment=(False, 0.2),
               fleksjob=(False, 0.5))
    s = " ".join(_summary(render_html(d)).split())
    assert "Extension of the ressourceforløb: The trial shows that the programme works (11 fewer" in s
    assert "Ordinary employment: The trial cannot show an effect; the difference may be due to chance" in s
    assert not any(w in s.lower() for w in FORBIDDEN)


# ------------------------------------------------------------------ English
# Danish words that have no place in the English report (names such as ressourceforløb, BIF, SOF, SUF,
# Københavns Kommune and the §-numbers are allowed)
DANISH_ONLY = ("og", "til", "ikke", "med", "borgere", "borger", "kvartal", "pct.", "procentpoint", "forskel",
               "deltagergruppe", "deltagergruppen", "kontrolgruppe", "kontrolgruppen", "mål", "år", "uger", "side",
               "figur", "tabel", "samlet", "samlede", "varige", "ændringer", "beskæftigelse", "fleksjob",
               "tilbagebetalingstid", "sandsynlighed", "usikkerheden", "spænder", "flere", "færre", "henvist",
               "randomiseret", "antaget", "bilag", "metode", "alder", "kvinder", "sammenfatning", "forsøget",
               "indsatsen", "beløb", "virksomhedskonsulent", "sundhedsvejledning", "botilbud")


def test_english_report_has_no_danish_only_words():
    d = _after(make_report_data(lang="en"), extension=(True, 0.001), ordinary_employment=(False, 0.03),
               fleksjob=(False, 0.5))
    bc = d.business_case
    # the published tables' Danish names, as the register's report carries them
    tables = (dataclasses.replace(bc.tables[0], title="Tabel 1. Varige ændringer, service",
                                  total_label="Varige ændringer totalt, service"),
              dataclasses.replace(bc.tables[1], title="Forslagets samlede økonomiske konsekvenser",
                                  rows=(("Virksomhedskonsulent (BIF, Service)", bc.tables[1].rows[0][1]),
                                        ("Samlede implementeringsomkostninger", bc.tables[1].rows[1][1])),
                                  total_label="Samlet økonomisk påvirkning"))
    d = dataclasses.replace(d, business_case=dataclasses.replace(
        bc, tables=tables, note="unit amounts, phasing and investments are assumed (antaget); effects are "
                                "marked per line"), data_quality=(), changes=None)
    text = _text(render_html(d))
    words = set(re.findall(r"[a-zæøå.]+", text.lower()))
    found = sorted(w for w in DANISH_ONLY if w in words)
    assert found == [], found
    assert "Company consultant (BIF, Service)" in text and "Table 1. Permanent changes, service" in text
    # the check can fail: the Danish report has them
    da_words = set(re.findall(r"[a-zæøå.]+", _text(render_html(dataclasses.replace(d, lang="da"))).lower()))
    assert len([w for w in DANISH_ONLY if w in da_words]) > 20


# ------------------------------------------------------------------ disclosure of report_data.json
@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """A register whose treatment arm is small (about 10 citizens), reported for two quarters by the CLI."""
    tmp = tmp_path_factory.mktemp("small")
    reg, *_ = build_register(tmp, n_referrals=48, seed=3)
    reg.close()
    out = tmp / "report"
    r = str(tmp / "reg.sqlite")
    assert main(["report", "--register", r, "--out", str(out), "--quarter", "2017Q1", "--no-pdf"]) == 0
    first = json.loads((out / "report_data.json").read_text())
    assert main(["report", "--register", r, "--out", str(out), "--no-pdf"]) == 0
    from trial.register import Register

    with Register.open(r) as rg:
        snaps = rg.report_snapshots()
        exact = json.loads(rg.report_snapshot(quarter=json.loads((out / "report_data.json").read_text())["quarter"])
                           ["json"])
        audit = list(rg.audit_log().action)
    return {"out": out, "reg": r, "first": first, "public": json.loads((out / "report_data.json").read_text()),
            "exact": exact, "snaps": snaps, "audit": audit, "html": (out / "report.html").read_text()}


def _protected(d):
    """(path, value) of every count of citizens that disclosure control covers."""
    out = []
    for i, p in enumerate(d["enrollment"]):
        out += [((f"enrollment[{i}]", a), p[a]) for a in ("treatment", "control")]
    fl = d["flow"]
    for t in ("excluded", "lost", "not_analysed"):
        for arm in ("treatment", "control"):
            for j, v in enumerate(fl[t][arm] or ()):
                out.append(((f"flow.{t}.{arm}", j), v))
    out += [(("flow", a), fl[a]) for a in ("followed_treatment", "followed_control", "analysed_treatment",
                                           "analysed_control")]
    for i, b in enumerate(d["balance"]):
        out += [((f"balance[{i}]", a), b[a]) for a in ("treatment_count", "control_count")]
        if b["kind"] == "binary" and b["treatment_value"] is not None:
            out += [((f"balance[{i}]", "t_rate*n"), round(b["treatment_value"] * b["n_treatment"])),
                    ((f"balance[{i}]", "c_rate*n"), round(b["control_value"] * b["n_control"]))]
    for i, e in enumerate(d["effects"]):
        out += [((f"effects[{i}]", a), e[a]) for a in ("treatment_count", "control_count")]
        for arm in ("treatment", "control"):
            m, n = e[f"{arm}_mean"], e[f"n_{arm}"]
            if e["type"] == "binary" and m is not None and n is not None:
                out += [((f"effects[{i}]", f"{arm}_rate*n"), round(m * n)),
                        ((f"effects[{i}]", f"{arm}_without"), n - round(m * n))]
    w = d["weekly"] or {}
    for arm in ("treatment", "control"):
        for j, (s, n, c) in enumerate(zip(w.get(f"{arm}_share", ()), w.get(f"{arm}_n", ()),
                                          w.get(f"{arm}_count", ()))):
            out.append(((f"weekly.{arm}_count", j), c))
            if s is not None:
                out.append(((f"weekly.{arm}_share*n", j), round(s * n)))
    return out


def test_small_arm_report_data_json_has_no_small_count(small):
    k = small["public"]["min_cell"]
    assert small["public"]["disclosure_controlled"] is True
    # the register's exact figures do have small counts, so this test can fail
    exact_small = [(p, v) for p, v in _protected(small["exact"]) if v is not None and 1 <= v < k]
    assert len(exact_small) >= 5, exact_small
    for name in ("public", "first"):
        leaks = [(p, v) for p, v in _protected(small[name]) if v is not None and 1 <= v < k]
        assert leaks == [], (name, leaks)
    # counts in the data-quality sentences
    for s in small["public"]["data_quality"]:
        assert not re.search(rf"(?<![\d.,])(?:{'|'.join(map(str, range(1, k)))}) borgere", s), s
    # the per-quarter copy is the disclosed file too
    assert json.loads((small["out"] / f"report_data_{small['public']['quarter']}.json").read_text()) == small["public"]


def test_json_hides_exactly_what_the_report_hides(small):
    """Each binary effect the HTML hides is null in the JSON; each one it shows is there, unchanged."""
    pub, exact, html = small["public"], small["exact"], small["html"]
    k = pub["min_cell"]
    data = ReportData.from_dict(exact)
    hidden = {e.endpoint for e in data.effects if effect_hidden(e, k)}
    assert hidden, "the small register should hide some effect"
    assert html.count("Ikke vist: færre end") == len(hidden)
    for e, x in zip(pub["effects"], exact["effects"]):
        if e["endpoint"] in hidden:
            assert all(e[a] is None for a in ("estimate", "ci_low", "ci_high", "control_mean", "treatment_mean",
                                              "p_value", "treatment_count", "control_count")), e
        else:
            assert (e["estimate"], e["ci_low"], e["ci_high"]) == (x["estimate"], x["ci_low"], x["ci_high"])
    # a flow count hidden in the diagram is null in the JSON
    svg = html[html.index("<svg"):html.index("</svg>")]
    fol = re.findall(r"Fulgt \(n = (\w+)\)", svg)     # boxes in order: treatment, control
    ana = re.findall(r"Analyseret \(n = (\w+)\)", svg)
    assert len(fol) == len(ana) == 2
    for i, arm in enumerate(("treatment", "control")):
        assert (pub["flow"][f"followed_{arm}"] is None) == (fol[i] == "x")
        assert (pub["flow"][f"analysed_{arm}"] is None) == (ana[i] == "x")


def test_changes_read_the_registers_snapshot(small, tmp_path):
    assert list(small["snaps"].quarter)[:1] == ["2017Q1"] and small["audit"].count("report_snapshot") == 2
    pub = small["public"]
    assert pub["previous_quarter"] == "2017Q1"
    # the first quarter's exact counts came from the register, not from a file: with the folder emptied the
    # comparison is the same
    out = tmp_path / "fresh"
    assert main(["report", "--register", small["reg"], "--out", str(out), "--no-pdf"]) == 0
    again = json.loads((out / "report_data.json").read_text())
    assert again["previous_quarter"] == "2017Q1" and again["changes"] == pub["changes"]
    # no change row shows a figure either quarter's report hides
    for c in pub["changes"]:
        if c["key"].startswith("effect."):
            ep = c["key"].split(".")[1]
            assert next(e for e in pub["effects"] if e["endpoint"] == ep)["estimate"] is not None
    # --previous FILE: a (disclosure-controlled) report_data.json still works
    assert main(["report", "--register", small["reg"], "--out", str(tmp_path / "p"), "--no-pdf",
                 "--previous", str(small["out"] / "report_data_2017Q1.json")]) == 0
    viafile = json.loads((tmp_path / "p" / "report_data.json").read_text())
    assert viafile["previous_quarter"] == "2017Q1"
    assert viafile["changes"] == pub["changes"]
