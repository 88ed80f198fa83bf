"""The `trial power` and `trial diagnose` commands: contracts quoted in issue 4 (flags, JSON keys, exit codes)."""
from __future__ import annotations

import json

import pytest

from trial.cli import build_parser, main

CONTRACT = {"normal_unpooled", "normal_pooled", "arcsine", "exact_hc2", "fisher", "boschloo"}


def _json(capsys, argv, code=0):
    assert main(argv) == code
    return json.loads(capsys.readouterr().out)


def test_power_of_two_proportions_json(capsys):
    out = _json(capsys, ["power", "--p-control", "0.05", "--p-treatment", "0.10", "--n-treatment", "100",
                         "--n-control", "100", "--alpha", "0.05", "--json"])
    assert CONTRACT <= set(out["power"])
    assert out["power"]["exact_hc2"] == pytest.approx(0.2701291639662475, rel=1e-12)
    assert all(0 < v < 1 for v in out["power"].values())


def test_mde_json(capsys):
    out = _json(capsys, ["power", "--p-control", "0.05", "--n-treatment", "100", "--n-control", "300",
                         "--power", "0.8", "--json"])
    assert set(out["mde"]) >= {"p_treatment", "difference"} and out["mde"]["method"] == "exact_hc2"
    assert out["mde"]["difference"] == pytest.approx(out["mde"]["p_treatment"] - 0.05)
    assert out["mde"]["power"] == pytest.approx(0.8, abs=1e-8)
    assert "arcsine" in out["approximations"]


def test_protocol_table(capsys):
    out = _json(capsys, ["power", "--protocol", "protocols/ressourceforloeb.toml", "--endpoints", "primary",
                         "--json"])
    rows = out["endpoints"]
    assert {(r["endpoint"], r["n_control"]) for r in rows} == {
        (e, n) for e in ("extension", "ordinary_employment", "fleksjob") for n in (100, 300)}
    for r in rows:
        assert {"control_value", "goal", "power", "mde_difference"} <= set(r)
    assert main(["power", "--protocol", "protocols/ressourceforloeb.toml", "--control-size", "100", "200",
                 "--endpoints", "primary"]) == 0
    assert "extension" in capsys.readouterr().out


def test_diagnose_json(capsys):
    out = _json(capsys, ["diagnose", "--protocol", "protocols/ressourceforloeb.toml", "--sims", "200", "--seed", "3",
                         "--json"])
    assert out["seed"] == 3 and out["n_sims"] == 200
    for r in out["endpoints"]:
        for k in ("power", "bias", "rmse", "coverage"):
            assert k in r and f"{k}_mc_se" in r
    assert 0 <= out["fwer"] <= 1


@pytest.mark.parametrize("argv", [
    ["power", "--p-control", "1.5", "--n-treatment", "100", "--n-control", "300", "--power", "0.8"],
    ["power", "--p-control", "0.05", "--n-treatment", "100", "--n-control", "300"],
    ["power", "--n-treatment", "100", "--n-control", "300", "--power", "0.8"],
    ["power", "--p-control", "0.05", "--p-treatment", "0.1", "--n-treatment", "100", "--n-control", "300",
     "--method", "wald"],
    ["power", "--protocol", "protocols/ressourceforloeb.toml", "--assume", "benefit_weeks.mean=3"],
    ["diagnose", "--sims", "1"],
    ["diagnose", "--sims", "10", "--effect", "nope=0.1"],
])
def test_bad_input_exits_2(argv, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("trial: error:") and "`" in err


def test_commands_have_help():
    parser = build_parser()
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    for name in ("power", "diagnose"):
        assert sub.choices[name].description and any(c.dest == name for c in sub._choices_actions)


def test_size_and_coverage_keys(capsys):
    out = _json(capsys, ["power", "--p-control", "0.05", "--p-treatment", "0.10", "--n-treatment", "100",
                         "--n-control", "300", "--json"])
    assert out["size"]["exact_hc2"] == pytest.approx(0.064988738149971928, rel=1e-9)   # R enumeration
    assert out["coverage"]["exact_hc2"] == pytest.approx(0.9392778830779428, rel=1e-9)
    assert out["size"]["fisher"] <= 0.05 and out["size"]["boschloo"] <= 0.05
    rows = _json(capsys, ["power", "--protocol", "protocols/ressourceforloeb.toml", "--endpoints", "primary",
                          "--json"])["endpoints"]
    for r in rows:
        assert {"size", "coverage", "power_fisher", "size_fisher", "power_boschloo", "size_boschloo"} <= set(r)
    rows = _json(capsys, ["power", "--protocol", "protocols/ressourceforloeb.toml", "--endpoints", "primary",
                          "--no-compare", "--json"])["endpoints"]
    assert "power_fisher" not in rows[0] and "size" in rows[0]


def test_solves_for_the_control_size(capsys):
    # issue: `--n-control` left out with --p-treatment and --power solves for it (the library's 524)
    out = _json(capsys, ["power", "--p-control", "0.5", "--p-treatment", "0.35", "--n-treatment", "100",
                         "--power", "0.8", "--method", "exact_hc2", "--method", "arcsine", "--json"])
    assert out["n_control"] == {"exact_hc2": 524, "arcsine": 547}
    assert out["power"]["exact_hc2"] >= 0.8 and out["design"]["target_power"] == 0.8
    from trial.power import power_two_proportions

    assert power_two_proportions(p_control=0.5, p_treatment=0.35, n_control=523, n_treatment=100).power < 0.8
    # the rare endpoints: no control size reaches 80 % with 100 treated -> null and a note, exit 0
    out = _json(capsys, ["power", "--p-control", "0.05", "--p-treatment", "0.10", "--n-treatment", "100",
                         "--power", "0.8", "--method", "exact_hc2", "--method", "normal_unpooled",
                         "--n-control-max", "1000", "--json"])
    assert out["n_control"] == {"exact_hc2": None, "normal_unpooled": None}
    assert "not attainable" in out["notes"]["exact_hc2"] and "0.385" in out["notes"]["normal_unpooled"]
    # MDE contract unchanged; --n-control still required when only one of --p-treatment/--power is given
    assert main(["power", "--p-control", "0.05", "--n-treatment", "100", "--power", "0.8"]) == 2
    assert "--n-control" in capsys.readouterr().err


def test_a_percentage_given_for_a_share_gets_a_hint(capsys):
    from trial.cli import main

    assert main(["power", "--p-control", "5", "--p-treatment", "0.1", "--n-treatment", "100",
                 "--n-control", "300"]) == 2
    assert "`p_control` must be a number in (0, 1); got 5.0 (a share: 0.05 for 5 %)" in capsys.readouterr().err
    assert main(["power", "--p-control", "0.05", "--p-treatment", "150", "--n-treatment", "100",
                 "--n-control", "300"]) == 2
    assert "(a share" not in capsys.readouterr().err               # 150 cannot be a percentage of a share


def test_a_target_power_at_or_below_alpha_is_refused(capsys):
    from trial.cli import main
    from trial.exceptions import ParameterError
    from trial.power import power_two_means, power_two_proportions

    # before: MDE 0 ("p_treatment 0.05, difference 0") without a word on why
    assert main(["power", "--p-control", "0.05", "--n-treatment", "100", "--n-control", "300", "--power",
                 "0.01"]) == 2
    assert "`power` must be above alpha (0.05)" in capsys.readouterr().err
    with pytest.raises(ParameterError, match="above alpha"):
        power_two_means(sd=1.0, n_control=100, n_treatment=100, power=0.05)
    # just above alpha is a question with an answer
    r = power_two_proportions(p_control=0.3, n_control=100, n_treatment=100, power=0.06, method="normal_unpooled")
    assert r.treatment_value > 0.3
