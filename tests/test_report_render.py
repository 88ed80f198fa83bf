"""Rendering the quarterly report from a hand-built ReportData.

No tolerances here: the checks are on text (Danish formats, sentences,
labels) and structure; numbers come straight from ``tests/_report_fixtures.py``.
"""
from __future__ import annotations

import dataclasses
import json
import datetime as dt
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from _report_fixtures import make_report_data  # noqa: E402

from trial.report import (  # noqa: E402
    ReportData, ReportError, compare, effect_hidden, effect_sentence, render_html, write_report,
)
from trial.report._data import parse_quarter, quarter_end  # noqa: E402


@pytest.fixture(scope="module")
def data():
    return make_report_data()


@pytest.fixture(scope="module")
def html(data):
    return render_html(data)


# ------------------------------------------------------------------ plain words
@pytest.mark.parametrize("args, expected", [
    ((0.03, -0.02, 0.08, "ordinary_employment", "binary", "da"),
     "3 flere i ordinær beskæftigelse pr. 100 borgere; usikkerheden spænder fra 2 færre til 8 flere"),
    ((-0.15, -0.27, -0.031, "extension", "binary", "da"),
     "15 færre får et nyt ressourceforløb pr. 100 borgere; usikkerheden spænder fra 27 færre til 3 færre"),
    ((0.004, -0.04, 0.05, "fleksjob", "binary", "da"),
     "Lige mange i fleksjob pr. 100 borgere; usikkerheden spænder fra 4 færre til 5 flere"),
    ((0.05, 0.001, 0.1, "fleksjob", "binary", "en"),
     "5 more in a flex job per 100 citizens; the uncertainty ranges from no difference to 10 more"),
    ((-6.34, -12.4, -0.2, "benefit_weeks", "count", "da"),
     "6,3 færre uger på offentlig forsørgelse pr. borger; usikkerheden spænder fra 12,4 færre til 0,2 færre"),
    ((0.26, -0.1, 0.6, "self_rated_health_change", "continuous", "da"),
     "Forskel 0,3 point (ændring i selvvurderet helbred); usikkerheden spænder fra -0,1 til 0,6"),
])
def test_effect_sentence(args, expected):
    est, lo, hi, ep, etype, lang = args
    assert effect_sentence(est, lo, hi, endpoint=ep, etype=etype, label_da="Ændring i selvvurderet helbred",
                           lang=lang) == expected


def test_effect_sentence_without_estimate():
    assert effect_sentence(float("nan"), float("nan"), float("nan"), endpoint="x", etype="binary") \
        == "Kan ikke beregnes endnu"


# ------------------------------------------------------------------ quarters
def test_quarters():
    assert quarter_end("2017Q3") == dt.date(2017, 9, 30)
    assert quarter_end("2016Q4") == dt.date(2016, 12, 31)
    assert parse_quarter("2017q1") == (2017, 1)
    with pytest.raises(ReportError, match="2017Q3"):
        parse_quarter("2017-3")


# ------------------------------------------------------------------ HTML
def test_html_is_self_contained(html):
    assert "<script" not in html.lower()
    assert not re.search(r"(?:src|href)\s*=\s*[\"'](?!data:|#)", html)
    assert not re.search(r"url\((?!data:|#)", html)
    assert "http://" not in html.replace("http://www.w3.org/2000/svg", "") and "https://" not in html
    assert html.count("data:image/png;base64,") == 3
    assert html.count("<svg") == 1


def test_html_sections_and_danish_formats(html):
    for title in ("Sammenfatning", "Optag i forhold til planen", "Forløbsdiagram", "Er grupperne sammenlignelige",
                  "Målene", "Andel selvforsørgende", "Business case", "Hvad kan forsøget stadig påvise",
                  "Datakvalitet", "Ændringer siden sidste kvartal", "Bilag: metode"):
        assert title in html
    assert "30. september 2017" in html and "30. juni 2020" in html
    assert "1.482" in html and "6.900" in html              # thousands separator
    assert "6 år (6,5)" in html and "16 år (16,0)" in html  # whole years as printed (floor), decimal comma
    assert "41 pct." in html and "procentpoint" in html and "1.000 kr." in html
    assert "3. kvartal 2017" in html
    assert "ab" * 32 in html and "cd" * 32 in html and "20161001" in html


def test_descriptive_before_analysis_date_and_not_after(data):
    before = render_html(data)
    assert "Foreløbige, beskrivende tal" in before and "beskrivende</span>" in before
    assert "justeret p" not in before
    effects = tuple(dataclasses.replace(e, descriptive=False) for e in data.effects)
    after = render_html(dataclasses.replace(data, as_of=dt.date(2020, 6, 30), quarter="2020Q2", effects=effects))
    assert "Foreløbige, beskrivende tal" not in after and "beskrivende</span>" not in after
    assert "justeret p = 0,300" in after


def test_small_binary_counts_hide_the_whole_row(data, html):
    par99 = data.effect("par99")
    assert effect_hidden(par99, 5)            # 2 of 97 in the treatment group
    assert not effect_hidden(data.effect("fleksjob"), 5)
    i = html.index("Støttekontaktperson (SEL § 99)<br>")
    row = html[i:html.index("</tr>", html.index("</tr>", i) + 1)]
    assert "Ikke vist" in row and "pct." not in row
    assert "Haft ressourceforløb før" in html   # 3 of 100 at baseline -> x
    i = html.index("Haft ressourceforløb før")
    assert "<td class=\"num\">x</td>" in html[i:html.index("</tr>", i)]


def test_english_variant(data):
    en = render_html(dataclasses.replace(data, lang="en"))
    assert '<html lang="en">' in en
    assert "Summary" in en and "Treatment group" in en and "Sammenfatning" not in en
    assert "1,482" in en and "September 30" not in en


def test_flow_diagram_hides_small_counts(html):
    svg = html[html.index("<svg"):html.index("</svg>")]
    assert "Henvist og vurderet (n = 612)" in svg
    assert "Fraflyttet: x" in svg and "Trukket sig: x" in svg
    assert "Fulgt (n = x)" in svg and "Analyseret (n = x)" in svg  # 100 - 3 lost would reveal the 3
    assert "Forsøget var fuldt: 193" in svg
    assert "Bor ikke i kommunen: x" in svg and "Ikke henvist til ressourceforløb: x" in svg


def test_json_round_trip_and_changes(data, tmp_path):
    text = data.to_json(tmp_path / "d.json")
    back = ReportData.from_json(tmp_path / "d.json")
    assert back.to_dict() == json.loads(text) == data.to_dict()
    assert back.flow == data.flow and back.as_of == data.as_of
    later = dataclasses.replace(data, quarter="2017Q4", flow=dataclasses.replace(data.flow, referred=700))
    ch = {c.key: c for c in compare(data, later)}
    assert ch["referred"].previous == 612 and ch["referred"].current == 700
    assert "randomized_treatment" not in ch
    assert compare(data, data) == ()
    with pytest.raises(ReportError, match="schema_version"):
        ReportData.from_json('{"schema_version": 99}')


def test_write_report_writes_html_pdf_json(data, tmp_path):
    files = write_report(data, tmp_path)
    assert files.html.exists() and files.data.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html", "report.pdf", "report_data.json"]
    assert files.pdf.read_bytes()[:5] == b"%PDF-"


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="pdftoppm (poppler-utils) is not installed")
def test_pdf_pages(data, tmp_path):
    files = write_report(data, tmp_path)
    subprocess.run(["pdftoppm", "-r", "30", "-png", str(files.pdf), str(tmp_path / "page")], check=True)
    pages = sorted(tmp_path.glob("page-*.png"))
    assert 4 <= len(pages) <= 9, len(pages)
    from PIL import Image

    w, h = Image.open(pages[0]).size
    assert abs(h / w - 297 / 210) < 0.01          # A4 portrait


def test_time_to_event_reads_as_a_hazard_ratio():
    s = effect_sentence(1.67, 0.62, 4.51, endpoint="time_to_work", etype="time_to_event")
    assert s == ("Hazardratio 1,67 (over 1: hurtigere i deltagergruppen); usikkerheden spænder fra 0,62 til 4,51")


# ------------------------------------------------------------------ JSON nulls (constant endpoints, hidden counts)
def _constant_effects(seed):
    """Effects with a constant binary outcome somewhere (no SE, no interval), drawn by ``seed``."""
    import numpy as np

    rng = np.random.default_rng(seed)
    nan = float("nan")
    rows = []
    for i, e in enumerate(make_report_data().effects):
        if e.type != "binary":
            rows.append(e)
            continue
        # 0: every citizen 0; 1: every citizen 1; 2: constant in one arm only; 3: all NaN (nothing observed)
        kind = int(rng.integers(0, 4))
        tc, cc = {0: (0, 0), 1: (e.n_treatment, e.n_control), 2: (0, 40), 3: (None, None)}[kind]
        if kind == 3:
            rows.append(dataclasses.replace(e, control_mean=nan, treatment_mean=nan, estimate=nan, std_error=nan,
                                            ci_low=nan, ci_high=nan, p_value=nan, treatment_count=None,
                                            control_count=None, n_treatment=0, n_control=0))
            continue
        tm, cm = tc / e.n_treatment, cc / e.n_control
        se = nan if kind < 2 else (cm * (1 - cm) / e.n_control) ** 0.5
        rows.append(dataclasses.replace(
            e, control_mean=cm, treatment_mean=tm, estimate=tm - cm, std_error=se, ci_low=tm - cm - 1.96 * se,
            ci_high=tm - cm + 1.96 * se, p_value=nan, treatment_count=tc, control_count=cc))
    return tuple(rows)


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4])
def test_from_json_restores_nan_and_renders(seed, tmp_path):
    from trial.report import disclose, plot_forest

    d = make_report_data(effects=_constant_effects(seed))
    back = ReportData.from_json(d.to_json())
    for e in back.effects:   # null -> NaN for every float field, never None
        for f in ("estimate", "std_error", "ci_low", "ci_high", "p_value", "control_mean", "treatment_mean"):
            assert isinstance(getattr(e, f), float), (e.endpoint, f)
    html = render_html(back)
    assert html == render_html(d)
    plot_forest(back)
    # a disclosure-controlled file (hidden counts are null, as in `trial demo`'s report_data.json)
    pub = ReportData.from_json(disclose(d).to_json())
    assert pub.disclosure_controlled
    text = re.sub(r"<[^>]+>", " ", render_html(pub))
    assert not re.search(r"\b(None|nan|NaN)\b", text)


# ------------------------------------------------------------------ goals column, hazard ratio without events, notes
def _text_of(html):
    from html import unescape

    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", re.sub(r"<img[^>]*>", "", html))))


def test_goals_column_in_the_estimates_unit():
    from _report_fixtures import _eff

    extra = (
        _eff("psych_admission_days", "Psykiatriske indlæggelsesdage pr. år", "Psychiatric admission days per year",
             "exploratory", 0, 0, etype="count", est=0.37, se=0.7, goal=-0.06, direction="decrease",
             goal_da="6 færre indlæggelsesdage om året"),
        _eff("time_to_work", "Tid til job eller fleksjob", "Time to ordinary employment or flex job", "exploratory",
             0, 0, etype="time_to_event", est=0.83, se=0.5, goal=0.10, goal_da="Flere kommer hurtigere i job"),
    )
    d = make_report_data()
    d = dataclasses.replace(d, effects=d.effects + extra)
    da = _text_of(render_html(d))
    assert "6 færre indlæggelsesdage om året pr. 100 borgere" in da
    assert "15 færre får et nyt ressourceforløb pr. 100 borgere" in da
    en = _text_of(render_html(dataclasses.replace(d, lang="en")))
    assert "-0.06 per citizen" in en and "-0.1 per citizen" not in en
    assert "More get into work sooner (hazard ratio above 1)" in en
    assert not re.search(r"Time to ordinary employment or flex job Exploratory descriptive 0\.1 ", en)


def test_hazard_ratio_without_events_in_an_arm_shows_no_estimate():
    from _report_fixtures import _eff

    e = dataclasses.replace(
        _eff("time_to_work", "Tid til job eller fleksjob", "Time to work", "exploratory", 0, 0,
             etype="time_to_event", est=0.0, se=float("nan"), goal=0.10, goal_da="Flere kommer hurtigere i job"),
        ci_low=float("nan"), ci_high=float("nan"),
        note="no events in the deltagergruppe: the Cox likelihood is monotone (the hazard ratio is 0)")
    d = make_report_data(effects=(e,))
    da = _text_of(render_html(d))
    assert "Hazardratio 0,00" not in da and "0,00 (" not in da
    assert "Tid til job eller fleksjob: Kan ikke beregnes endnu" in da or "Kan ikke beregnes endnu (ingen hændelser" in da
    assert "no events" not in da and "Cox" not in da
    en = _text_of(render_html(dataclasses.replace(d, lang="en")))
    assert "Hazard ratio 0.00" not in en and "Cannot be computed yet" in en


@pytest.mark.parametrize("note, want", [
    ("no observed value in one arm (or both): nothing to compare yet",
     "ingen observerede værdier i en af grupperne endnu"),
    ("the outcome is the same for every citizen (1): nothing varies, so there is no test (standard error 0, no "
     "p-value or interval)", "udfaldet er det samme for alle borgere, så der er intet at teste"),
    ("no events in the deltagergruppe: the Cox likelihood is monotone",
     "ingen hændelser i en af grupperne, så forholdet mellem grupperne kan ikke beregnes"),
    ("a brand-new kind of note nobody mapped", "beregningen har en teknisk bemærkning (se analysetabellen i bilaget)"),
])
def test_estimator_notes_are_danish_in_danish(note, want):
    from trial.report._text import estimator_note

    assert estimator_note(note, "da") == want
    assert estimator_note(note, "en") == note


def test_detectable_section_after_the_analysis_date_drops_stadig():
    d = make_report_data()
    assert d.descriptive_only
    assert "Hvad kan forsøget stadig påvise?" in _text_of(render_html(d))
    final = _text_of(render_html(dataclasses.replace(d, as_of=d.analysis_date)))
    assert "Hvad kunne forsøget påvise?" in final and "stadig" not in final


def test_business_case_notes_are_sentences():
    from trial.report._render import _bc_note

    note = ("Unit amounts, phasing and investments are assumed (antaget); effects are marked per line. "
            "Extension: the estimate has no positive standard error, so it is not used as a measured effect; "
            "the line keeps the assumed effect (antaget).")
    en = _bc_note(note, False, {"extension": "Extension of the ressourceforløb"})
    assert en == ("Unit amounts, phasing and investments are assumed; effects are marked per line. Extension of "
                  "the ressourceforløb: the estimate has no positive standard error, so it is not used as a measured "
                  "effect; the line keeps the assumed effect.")
    da = _bc_note(note, True, {"extension": "Nyt ressourceforløb"})
    assert da.startswith("Enhedsbeløb, indfasning og investeringer er antagne;")
    assert "Nyt ressourceforløb: skønnet har ingen positiv standardfejl" in da
    assert _bc_note("something unmapped in English.", True) == \
        "Business casen har en teknisk bemærkning (se business-case-kørslen)."
