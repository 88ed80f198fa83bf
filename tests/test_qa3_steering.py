"""QA round 3, steering-group area: disclosure audit with shown zeros, hidden effects in the
business-case labels, and the business case's notes in the report's language."""
from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pandas as pd

from trial.report import EffectRow, cell_bounds, disclose, suppress
from trial.report._data import BusinessCaseSummary, BusinessTable
from trial.report._disclosure import SuppressedTable
from trial.report._render import _bc_note, render_html

from ._report_fixtures import make_report_data

# losses by reason as in the demo's flow diagram: treatment 1 died, 6 moved, 1 withdrew (n = 8)
LOST = pd.DataFrame({"t": [1, 6, 1], "c": [2, 12, 4]}, index=["died", "moved", "withdrawn"])


def _column_completions(s: SuppressedTable, col: str) -> dict:
    """Enumerate (no LP) the whole-number values each hidden cell of ``col`` can take given the
    column's shown total and shown cells, a hidden positive count being at least 1 (zeros are shown)."""
    counts, hidden = s.counts[col], s.hidden[col]
    total = s.total_label
    assert not hidden[total]
    cells = [r for r in counts.index if r != total and hidden[r]]
    rest = counts[total] - sum(counts[r] for r in counts.index if r != total and not hidden[r])
    seen = {r: set() for r in cells}
    for vals in itertools.product(range(1, rest + 1), repeat=len(cells)):
        if sum(vals) == rest:
            for r, v in zip(cells, vals):
                seen[r].add(v)
    return seen


def test_hidden_cells_beside_shown_zeros_rule_cannot_be_read_off_the_total():
    s = suppress(LOST, 5)
    # before: "died x, moved 6, withdrawn x; total 8": every reader knows an x is not 0, so both are 1
    if not s.hidden.loc["I alt", "t"]:
        for cell, values in _column_completions(s, "t").items():
            assert len(values) >= 2, (cell, values)
    b = cell_bounds(s)
    assert (b["width"] >= 1 - 1e-6).all(), b
    for _, r in b.iterrows():
        assert r["low"] - 1e-6 <= s.counts.loc[r["row"], r["column"]] <= r["high"] + 1e-6


def test_audit_flags_two_small_cells_whose_sum_is_forced():
    """The audit can fail: the old mask (x, 6, x with the arm's total shown) has width 0."""
    s = suppress(LOST, 5)
    hidden = pd.DataFrame(False, index=s.counts.index, columns=s.counts.columns)
    for r in ("died", "withdrawn"):
        hidden.loc[r, "t"] = hidden.loc[r, "c"] = hidden.loc[r, "I alt"] = True
    bad = SuppressedTable(counts=s.counts, hidden=hidden, primary=hidden, min_cell=5)
    b = cell_bounds(bad).set_index(["row", "column"])
    assert b.loc[("died", "t"), "width"] == 0 and b.loc[("died", "t"), "low"] == 1


def _with_hidden_par107():
    d = make_report_data()
    eff = dataclasses.replace(d.effects[-2], endpoint="par107", label_da="Botilbud (SEL § 107)",
                              label_en="Residential care (§107)", treatment_count=2, control_count=19,
                              treatment_mean=2 / 97, control_mean=19 / 290, estimate=2 / 97 - 19 / 290)
    assert isinstance(eff, EffectRow)
    hidden_lab = "Botilbud SEL §107 (målt: -4,5 procentpoint)"
    shown_lab = "Støtte i egen bolig SEL §85 (målt: -4,3 procentpoint)"
    years = d.business_case.tables[0].years
    t1 = BusinessTable("Tabel 1. Varige ændringer, service", years,
                       ((hidden_lab, (-400.0,) * 6), (shown_lab, (-107.0,) * 6)), (-507.0,) * 6)
    bc = dataclasses.replace(d.business_case, tables=(t1,), measured_lines=(("par107", hidden_lab),
                                                                            ("par85", shown_lab)))
    return dataclasses.replace(d, effects=d.effects + (eff,), business_case=bc)


def test_business_case_label_does_not_show_a_hidden_effect():
    d = _with_hidden_par107()
    html = render_html(d)
    assert "Botilbud SEL §107 (målt; ikke vist af hensyn til diskretion)" in html
    assert "-4,5 procentpoint" not in html
    assert "Støtte i egen bolig SEL §85 (målt: -4,3 procentpoint)" in html     # a shown effect keeps its label
    en = render_html(dataclasses.replace(d, lang="en"))
    assert "(measured; not shown for confidentiality)" in en and "-4.5 percentage" not in en
    js = disclose(d).to_json()
    assert "-4,5" not in js and "målt; ikke vist af hensyn til diskretion" in js and "-4,3 procentpoint" in js


JOINT = ("The effects of ordinary_employment, fleksjob, extension, par107 are drawn jointly (multivariate normal "
         "with the estimated covariance of the differences in means, pairwise complete cases), so their "
         "correlation on the same citizens is kept; par99 drawn independently. Fleksjob: the joint draws are "
         "recentred and rescaled to the estimate and standard error used (correlation from the differences in "
         "means). Unit amounts, phasing and investments are assumed (antaget); effects are marked per line.")
LABELS_DA = {"ordinary_employment": "Ordinær beskæftigelse", "fleksjob": "Fleksjob", "extension": "Nyt ressourceforløb",
             "par107": "Botilbud (SEL § 107)", "par99": "Støttekontaktperson (SEL § 99)"}
LABELS_EN = {"ordinary_employment": "Ordinary employment", "fleksjob": "Flex job",
             "extension": "Extension of the ressourceforløb", "par107": "Residential care (§107)",
             "par99": "Support contact person (§99)"}


def test_joint_draw_note_is_said_in_the_reports_language():
    da = _bc_note(JOINT, True, LABELS_DA)
    assert "teknisk bemærkning" not in da
    assert da.startswith("Effekterne af ordinær beskæftigelse, fleksjob, nyt ressourceforløb og botilbud "
                         "(SEL § 107) trækkes samlet")
    assert "støttekontaktperson (SEL § 99) trækkes uafhængigt" in da
    assert "Fleksjob: de samlede træk er flyttet og skaleret" in da
    en = _bc_note(JOINT, False, LABELS_EN)
    assert en.startswith("The effects of ordinary employment, flex job, extension of the ressourceforløb and "
                         "residential care (§107) are drawn jointly")
    for raw in ("ordinary_employment", "par107", "par99", "(antaget)"):
        assert raw not in en and raw not in da
    assert np.all([s in en for s in ("Flex job: the joint draws", "support contact person (§99) drawn")])


def test_business_case_summary_records_measured_line_labels():
    bc = BusinessCaseSummary(tables=(), payback_years_service=None, payback_years_total=None, prob_payback=None,
                             payback_horizon_years=10, cumulative_net=())
    assert bc.measured_lines == ()


def test_no_probability_of_payback_from_assumed_effects_alone():
    """Before any effect is measured every draw is the same case: "100 pct." would read as a certainty."""
    d = make_report_data()
    bc = dataclasses.replace(d.business_case, prob_payback=1.0, measured=())
    assumed = dataclasses.replace(d, business_case=bc)
    html = render_html(assumed)
    assert "100 pct." not in html.split("Optag i forhold til planen")[0]     # the summary states no probability
    assert "en sandsynlighed for tilbagebetaling kræver målte effekter" in html
    assert "– (ingen målte effekter endnu)" in html
    assert assumed.key_figures()["business_case.prob_payback"] is None
    measured = dataclasses.replace(d, business_case=dataclasses.replace(bc, measured=("extension",)))
    assert "er tjent hjem inden for 10 år, er 100 pct." in render_html(measured)
    assert measured.key_figures()["business_case.prob_payback"] == 1.0


def test_business_case_text_uses_danish_numbers_and_never_says_0_pct_for_a_positive_share():
    from pathlib import Path

    from trial.business_case import effect_fed_case
    from trial.protocol import load

    proto = load(Path(__file__).resolve().parents[1] / "protocols" / "ressourceforloeb.toml")
    # a wide employment effect: 8 of the 2.000 draws save nothing at the end, so they never pay back
    fc = effect_fed_case({"ordinary_employment": {"estimate": 0.05, "std_error": 0.04}}, protocol=proto,
                         n_draws=2000, rng=20161001)
    text = fc.summary()
    assert "over 2.000 træk" in text and "2000" not in text
    assert "(1.000 kr.)" in text.split("Nutidsværdi", 1)[1].splitlines()[0]
    assert 0 < fc.p_payback_never < 0.005
    line = next(ln for ln in text.splitlines() if "betaler aldrig tilbage" in ln)
    assert line.strip().startswith(f"{100 * fc.p_payback_never:.1f}".replace(".", ",") + " pct.")


def test_flow_losses_protect_each_arm_without_hiding_what_no_total_reveals():
    """The flow diagram shows each arm's reasons and the arm's total, never a reason's total over both
    arms: with ``row_totals=False`` the treatment arm (x, 6, x of 8) hides the 6 too, while the
    control arm (x, 12, x of 18) keeps its 12, and no hidden cell is pinned (checked by enumeration)."""
    s = suppress(LOST, 5, row_totals=False)
    assert s.hidden.loc[["died", "moved", "withdrawn"], "t"].all()
    assert s.hidden.loc[["died", "withdrawn"], "c"].all() and not s.hidden.loc["moved", "c"]
    assert not s.hidden.loc["I alt", "t"] and not s.hidden.loc["I alt", "c"]
    for col in ("t", "c"):
        for cell, values in _column_completions(s, col).items():
            assert len(values) >= 2 and LOST.loc[cell, col] in values, (col, cell, values)
    b = cell_bounds(s)
    assert set(b["column"]) <= {"t", "c"} and (b["width"] >= 1 - 1e-6).all(), b
    # with the reasons' totals published the same table needs more hidden (the 12 goes too)
    assert suppress(LOST, 5).hidden.loc["moved", "c"]


def test_flow_tables_use_column_lines_only():
    from types import SimpleNamespace

    from trial.report._consort import flow_tables

    loss = SimpleNamespace(reasons=("died", "moved_away", "withdrawn"), treatment=(1, 6, 1), control=(2, 12, 4))
    empty = SimpleNamespace(reasons=(), treatment=(), control=())
    flow = SimpleNamespace(excluded=SimpleNamespace(reasons=("age",), treatment=(3,), control=None),
                           lost=loss, not_analysed=empty)
    tabs = flow_tables(flow, 5)
    lost = tabs["lost"]
    assert lost.row_totals is False
    assert lost.hidden["t"].iloc[:3].all() and lost.hidden["c"].iloc[:3].tolist() == [True, False, True]


def test_cli_summary_says_the_business_case_notes_in_danish_and_keeps_unknown_ones():
    from trial.business_case._notes import note_in_language

    joint = ("the effects of extension, par107 are drawn jointly (multivariate normal with the estimated "
             "covariance of the differences in means, pairwise complete cases), so their correlation on the same "
             "citizens is kept")
    assert note_in_language(joint, True, fallback=None).startswith("Effekterne af extension og par107 trækkes samlet")
    # the report replaces unknown English by one Danish sentence; the command line keeps it for the analyst
    odd = "a new note nobody has translated yet"
    assert note_in_language(odd, True) == "Business casen har en teknisk bemærkning (se business-case-kørslen)."
    assert note_in_language(odd, True, fallback=None) == odd


def test_effect_fed_summary_has_no_english_note_lines():
    from trial.business_case import effect_fed_case
    from trial.business_case._effect import goal_effects
    from trial.protocol import load

    p = load("protocols/ressourceforloeb.toml")
    text = effect_fed_case(goal_effects(p), protocol=p, n_draws=200, rng=1).summary()
    notes = [ln for ln in text.splitlines() if ln.startswith(("Note:", "Bemærk:"))]
    assert notes and all(ln.startswith("Bemærk: ") for ln in notes)
    assert "are assumed" not in text and "Enhedsbeløb, indfasning og investeringer er antagne" in text


def test_a_report_without_pdf_removes_an_earlier_runs_pdf(tmp_path):
    """`trial report --no-pdf` into a folder that holds last quarter's report.pdf left that PDF beside the new
    HTML (a Danish 2017Q3 PDF next to an English 2018Q1 report)."""
    from trial.report import write_report

    (tmp_path / "report.pdf").write_bytes(b"%PDF-1.7 an earlier quarter")
    files = write_report(make_report_data(), tmp_path, pdf=False)
    assert files.pdf is None and not (tmp_path / "report.pdf").exists()
    assert (tmp_path / "report.html").exists() and (tmp_path / "report_data.json").exists()


def test_as_of_without_a_register_names_as_of(capsys):
    from trial.cli import main

    assert main(["business-case", "--as-of", "2018-06-30"]) == 2
    assert "`--as-of`: dates the effects estimated from a register, so it needs --register R" in capsys.readouterr().err
