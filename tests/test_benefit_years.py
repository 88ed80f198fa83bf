"""Measured Δ helårspersoner per benefit from the weekly panel (issue 6: "Δ helårspersoner on each benefit
from the weekly panel"), shown beside the business case by `trial business-case --register`."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from trial.business_case._panel import benefit_years
from trial.cli import main


def test_hand_counted_panel():
    # a: 1 of 4 weeks on rfy, b: 0 of 2, c: 3 of 3, d: 1 of 2 (+ 1 week kontanthjælp)
    enr = pd.DataFrame({"pseudonym": list("abcd"), "treatment": [1, 1, 0, 0]})
    st = pd.DataFrame({"pseudonym": list("aaaabbcccdd") + ["x"],          # x: not randomized, ignored
                       "week": [1, 2, 3, 4, 1, 2, 1, 2, 3, 1, 2, 1],
                       "status": ["rfy", "job", "job", "job", "job", "job", "rfy", "rfy", "rfy", "rfy", "kth",
                                  "rfy"]})
    t = benefit_years(enr, st, ["rfy", "kth"], citizens=100).set_index("benefit")
    # rfy: treated (1/4 + 0)/2 = 0.125, control (1 + 1/2)/2 = 0.75
    assert t.loc["rfy", "mean_treatment"] == pytest.approx(0.125) and t.loc["rfy", "mean_control"] == 0.75
    assert t.loc["rfy", "difference"] == pytest.approx(-0.625)
    assert t.loc["rfy", "per_citizens_per_year"] == pytest.approx(-62.5)
    # Neyman SE: sqrt(var_t/2 + var_c/2) with sample variances
    se = np.sqrt(np.var([0.25, 0.0], ddof=1) / 2 + np.var([1.0, 0.5], ddof=1) / 2)
    assert t.loc["rfy", "std_error"] == pytest.approx(se, rel=1e-12)
    # all benefits: control d is on a benefit both weeks
    assert t.loc["i alt", "mean_control"] == pytest.approx(1.0) and t.loc["kth", "mean_control"] == 0.25
    assert list(t["n_treatment"]) == [2, 2, 2] and list(t["n_control"]) == [2, 2, 2]


def test_cli_shows_the_measured_table_equal_to_an_independent_count(tmp_path, capsys):
    ex, reg = tmp_path / "exports", str(tmp_path / "r.sqlite")
    assert main(["simulate", "--out", str(ex), "--seed", "9", "--n-referrals", "200"]) == 0
    assert main(["init", "--protocol", "protocols/ressourceforloeb.toml", "--register", reg]) == 0
    assert main(["enroll", "--register", reg, str(ex / "referrals.csv")]) == 0
    assert main(["simulate", "--out", str(ex), "--seed", "9", "--n-referrals", "200", "--register", reg]) == 0
    assert main(["outcomes", "load", "--register", reg, "--status", str(ex / "status.csv"), "--events",
                 str(ex / "events.csv"), "--survey", str(ex / "survey.csv")]) == 0
    capsys.readouterr()
    assert main(["business-case", "--register", reg, "--draws", "50", "--json"]) == 0
    rows = {r["benefit"]: r for r in json.loads(capsys.readouterr().out)["benefit_years"]}
    # independent count from the register's own tables
    from trial.analysis import register_frames
    from trial.register import Register

    with Register.open(reg) as r:
        f = register_frames(r, None)
    st, enr, benefits = f["status"], f["enrollments"], f["protocol"].benefit_statuses
    on = st.assign(on=st["status"].astype(str).isin(benefits)).groupby("pseudonym", observed=True)["on"].mean()
    arm = enr.set_index("pseudonym")["treatment"].reindex(on.index)
    assert rows["i alt"]["mean_treatment"] == pytest.approx(on[arm == 1].mean(), rel=1e-12)
    assert rows["i alt"]["mean_control"] == pytest.approx(on[arm == 0].mean(), rel=1e-12)
    assert set(rows) == set(benefits) | {"i alt"}
    assert sum(rows[b]["difference"] for b in benefits) == pytest.approx(rows["i alt"]["difference"], abs=1e-12)
    assert main(["business-case", "--register", reg, "--draws", "50"]) == 0
    assert "Helårspersoner pr. ydelse fra ugepanelet (målt over hele opfølgningen; vises ved siden af casen, indgår ikke i den)" in \
        capsys.readouterr().out
