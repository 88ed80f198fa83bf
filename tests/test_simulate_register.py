"""`trial simulate --register`: rehearsal outcome files under the register's own allocation.

Through the command line a rehearsal goes simulate -> init -> enroll; the register randomizes with its
own secret, so the simulator's rehearsal allocation is not the register's and the simulated effects
would land on the wrong citizens. `--register` re-simulates the outcome files with the register's arms.
"""
from __future__ import annotations

import json

import pytest

from trial.cli import main

PROTOCOL = "protocols/ressourceforloeb.toml"


@pytest.fixture(scope="module")
def rehearsal(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("simreg")
    ex, reg = tmp / "exports", str(tmp / "r.sqlite")
    assert main(["simulate", "--out", str(ex), "--seed", "11", "--n-referrals", "400"]) == 0
    assert main(["init", "--protocol", PROTOCOL, "--register", reg]) == 0
    assert main(["enroll", "--register", reg, str(ex / "referrals.csv")]) == 0
    return tmp, ex, reg


def test_register_arms_are_the_registers_allocation(rehearsal):
    from trial._keys import load_key_file
    from trial.intake import pseudonymise
    from trial.register import Register
    from trial.simulate import register_arms, simulate_referrals

    tmp, ex, reg = rehearsal
    with Register.open(reg) as r:
        key = load_key_file(reg + ".key")
        refs = simulate_referrals(r.protocol, 400, seed=11)
        arms = register_arms(r, key, refs)
        enr = r.enrollments().set_index("pseudonym")["treatment"]
    pseudo = pseudonymise(refs["cpr"], key.pseudonym_key)
    assert int(arms.notna().sum()) == len(enr) > 0
    for p, a in zip(pseudo, arms):
        assert (p in enr.index) == (a == a) and (a != a or int(a) == int(enr[p]))


def test_cli_rewrites_outcomes_so_the_analysis_sees_the_effect(rehearsal, capsys):
    tmp, ex, reg = rehearsal
    before = (ex / "referrals.csv").read_bytes()
    capsys.readouterr()
    assert main(["simulate", "--out", str(ex), "--seed", "11", "--n-referrals", "400", "--register", reg,
                 "--effect", "ordinary_employment=0.15", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    from trial.register import Register

    with Register.open(reg) as r:
        n = r.enrollments()["treatment"].value_counts()
    assert out["allocation"] == "given" and (out["n_treatment"], out["n_control"]) == (n[1], n[0])
    assert (ex / "referrals.csv").read_bytes() == before          # same cohort, same file
    # the files are exactly the library's rehearsal under the register's arms
    from trial._keys import load_key_file
    from trial.simulate import register_arms, rehearse, resolve_effects, simulate_referrals

    with Register.open(reg) as r:
        arms = register_arms(r, load_key_file(reg + ".key"), simulate_referrals(r.protocol, 400, seed=11))
        effects = {**resolve_effects(r.protocol, None), "ordinary_employment": 0.15}
        # (synthetic CPR numbers: a `cpr_input*` folder, exempt from the session's CPR scan)
        lib = rehearse(r.protocol, 400, tmp / "cpr_input_lib", seed=11, effects=effects, arms=arms)
    for k, path in lib.paths.items():
        assert (ex / path.name).read_bytes() == path.read_bytes(), k
    assert main(["outcomes", "load", "--register", reg, "--status", str(ex / "status.csv"), "--events",
                 str(ex / "events.csv"), "--survey", str(ex / "survey.csv")]) == 0
    capsys.readouterr()
    assert main(["analyze", "--register", reg, "--json"]) == 0
    est = json.loads(capsys.readouterr().out)["estimates"]
    (emp,) = [r for r in est if r["endpoint"] == "ordinary_employment" and r["estimator"] == "difference_in_means"]
    # true effect 0.15 (control ~5 %); with ~90 treated the SE is ~0.04 (8 fresh keys gave 0.07-0.18);
    # a mismatched allocation gives about 0
    assert 0.04 < emp["estimate"] < 0.30, emp


def test_cli_refuses_another_cohort_and_writes_nothing(rehearsal, capsys):
    tmp, ex, reg = rehearsal
    out = tmp / "other"
    assert main(["simulate", "--out", str(out), "--seed", "12", "--n-referrals", "400", "--register", reg]) == 2
    err = capsys.readouterr().err
    assert "are not among the 400 simulated referrals" in err and "--seed" in err
    assert not out.exists()
    assert main(["simulate", "--out", str(out), "--key-file", str(tmp / "x.key")]) == 2
    assert "only with --register" in capsys.readouterr().err and not out.exists()
