"""QA round 2 of the business case: unknown effect keys, the default seed of the draws, labels of
measured lines, the published year headers and Danish warnings.

No tolerances: every check is on text, exit codes or exact equality of the same computation.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from trial.business_case import compute_case, default_seed, effect_fed_case, load_case
from trial.cli import main
from trial.exceptions import BusinessCaseError

pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")

ROOT = Path(__file__).resolve().parent.parent
PUBLISHED = ROOT / "trial" / "data" / "bi25.toml"
CASE = ROOT / "protocols" / "bi25_case.toml"
YEARS = ["2016/17", "2018", "2019", "2020", "2021", "2022"]


@pytest.fixture(scope="module")
def protocol():
    from trial.protocol import load

    return load(ROOT / "protocols" / "ressourceforloeb.toml")


# ---------------------------------------------------------------- 1. unknown endpoint keys
def test_unknown_endpoint_in_effects_is_refused(protocol):
    with pytest.raises(BusinessCaseError) as ei:
        effect_fed_case({"nope": {"estimate": 0.1, "std_error": 0.01}}, protocol=protocol, n_draws=10, rng=1)
    msg = str(ei.value)
    assert "'nope'" in msg and "ordinary_employment" in msg and "fleksjob" in msg and "benefit_weeks" in msg


def test_cli_unknown_endpoint_exits_2_naming_key_and_allowed(tmp_path, capsys):
    f = tmp_path / "eff.json"
    f.write_text(json.dumps({"nope": {"estimate": 0.05, "std_error": 0.02},
                             "fleksjob": {"estimate": 0.05, "std_error": 0.02}}))
    assert main(["business-case", "--effects", str(f), "--draws", "20"]) == 2
    cap = capsys.readouterr()
    assert cap.out == "" and "nope" in cap.err and "extension, ordinary_employment, fleksjob" in cap.err
    assert str(f) in cap.err
    # an endpoint of the protocol that drives no line is still fine (listed as unused)
    f.write_text(json.dumps({"benefit_weeks": {"estimate": -3.0, "std_error": 1.0}}))
    assert main(["business-case", "--effects", str(f), "--draws", "20", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["unused_effects"] == ["benefit_weeks"]


# ---------------------------------------------------------------- 3. one default seed
def test_default_seed_is_the_protocols_allocation_seed(protocol, tmp_path, capsys):
    assert default_seed(protocol) == protocol.allocation.seed == 20161001
    f = tmp_path / "eff.json"
    eff = {"ordinary_employment": {"estimate": 0.0, "std_error": 0.05},
           "extension": {"estimate": 0.0, "std_error": 0.1}}
    f.write_text(json.dumps(eff))
    assert main(["business-case", "--effects", str(f), "--draws", "200", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    ref = effect_fed_case(eff, protocol=protocol, n_draws=200, rng=20161001)
    assert d["seed"] == 20161001 and d["p_payback_within"] == ref.p_payback
    other = effect_fed_case(eff, protocol=protocol, n_draws=200, rng=2016)
    assert other.p_payback != ref.p_payback          # so the comparison above can fail


# ---------------------------------------------------------------- 4. labels of measured lines
def test_measured_lines_are_labelled_with_the_effect_used(protocol):
    fed = effect_fed_case({"fleksjob": {"estimate": 0.099, "std_error": 0.03},
                           "extension": {"estimate": -0.04, "std_error": 0.05}}, protocol=protocol, n_draws=20, rng=1)
    t3 = fed.table("table3", rounded=True)
    lines = t3["line"].tolist()
    assert "Beskæftigelseseffekt, fleksjob (målt: +9,9 procentpoint)" in lines
    assert "Beskæftigelseseffekt 5 pct. vil overgå til fleksjob" not in lines
    assert "Beskæftigelseseffekt 5 pct. i beskæftigelse" in lines            # still assumed: published label
    assert "Kortere ressourceforløb (målt: -4,0 procentpoint)" in fed.table("table2")["line"].tolist()
    # the plain-data views the report and notebooks print carry the same labels
    rows = [r[0] for v in fed.tables for r in v.rows]
    assert any(r.startswith("Beskæftigelseseffekt, fleksjob (målt: +9,9 procentpoint)") for r in rows)
    # the published case keeps the published labels
    pub = compute_case(load_case(CASE)).table("table3")["line"].tolist()
    assert "Beskæftigelseseffekt 5 pct. vil overgå til fleksjob" in pub and not any("målt" in x for x in pub)


def test_english_report_label_of_a_measured_line():
    from trial.report._text import bc_label_en

    assert (bc_label_en("Beskæftigelseseffekt, fleksjob (målt: +9,9 procentpoint)")
            == "Employment effect, flex job (measured: +9.9 percentage points)")
    assert bc_label_en("Kortere ressourceforløb (BIF, EI)") == "Shorter ressourceforløb (BIF, EI)"


# ---------------------------------------------------------------- 5. year headers, Danish warnings
def test_published_case_prints_the_published_year_headers(capsys):
    assert load_case(PUBLISHED).year_labels == tuple(YEARS)
    assert load_case(CASE).year_labels == tuple(YEARS)
    assert main(["business-case", str(PUBLISHED)]) == 0
    out = capsys.readouterr().out
    header = out.splitlines()[2].split()
    assert header[:6] == YEARS and "year1" not in out


def test_year_labels_of_other_positional_cases():
    from trial.business_case._case import published_year_labels

    assert published_year_labels("Et andet forslag", ["year1", "year2"], 2019) == ["2019", "2020"]
    assert published_year_labels("Et andet forslag", ["year1", "year2"], None) == ["år 1", "år 2"]
    assert published_year_labels("x", ["2019", "2020"], 2019) == ["2019", "2020"]


def test_warnings_are_danish_in_danish_output(capsys):
    res = compute_case(load_case(PUBLISHED))
    assert res.warnings and len(res.warnings_da) == len(res.warnings)
    assert main(["business-case", str(PUBLISHED)]) == 0
    adv = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("ADVARSEL:")]
    assert len(adv) == len(res.warnings)
    for ln in adv:
        # Tabel 6: the net fleksjob line cannot be split (one warning of its own, tests/test_cli_polish.py)
        assert "følger ikke af linjerne" in ln or ln.startswith("ADVARSEL: Tabel 6: filen har kun nettobeløb")
        for english in ("does not follow", "which give", "published ", "should equal", "savings and costs"):
            assert english not in ln, ln
    assert "[1.807; 1.564; 1.564; -1.182; -1.482; -1.482]" in adv[0]
    # the JSON keeps its (English) warnings unchanged
    assert main(["business-case", str(PUBLISHED), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["warnings"] == list(res.warnings)
