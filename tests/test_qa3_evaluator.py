"""Acceptance review round 3 (evaluator area): defects found by using the tool.

Synthetic CPR input files are written under a ``cpr_input`` directory, which
the CPR scan of the test session exempts.
"""
from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest

from trial import intake
from trial.exceptions import IntakeError, RegisterError
from trial.register import Register

HEADER = "cpr,referral_date,municipality_code,referral_type,prior_forloeb,months_on_benefit,psych_contact_12m"
KEY = b"k" * 32


@pytest.fixture()
def indir(tmp_path):
    d = tmp_path / "cpr_input"
    d.mkdir()
    return d


def _write(d, name, lines):
    p = d / name
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return p


# --- a first data line longer than the header lost its extra fields silently -----------------
@pytest.mark.parametrize("first,second,rows", ids=["decimal-comma", "two-extra", "both-lines", "trailing-then-extra"],
                         argvalues=[
    # an unquoted decimal comma in a comma file: '3,0' splits, psych_contact_12m would read 0
    ("010180-1234,2016-10-03,101,ressourceforloeb,0,3,0,1", "020180-1234,2016-10-03,101,ressourceforloeb,0,12,0",
     {2: 8}),
    ("010180-1234,2016-10-03,101,ressourceforloeb,0,3,0,1,7", "020180-1234,2016-10-03,101,ressourceforloeb,0,12,0",
     {2: 9}),
    ("010180-1234,2016-10-03,101,ressourceforloeb,0,3,0,1", "020180-1234,2016-10-03,101,ressourceforloeb,0,1,2,0,0",
     {2: 8, 3: 9}),
    ("010180-1234,2016-10-03,101,ressourceforloeb,0,3,0,", "020180-1234,2016-10-03,101,ressourceforloeb,0,1,2,0",
     {3: 8}),
])
def test_first_line_longer_than_header_is_a_problem(indir, first, second, rows):
    p = _write(indir, "ref.csv", [HEADER, first, second])
    with pytest.raises(IntakeError) as ei:
        intake.read_referrals(p, key=KEY)
    got = {pr.row: pr.message for pr in ei.value.problems if pr.row is not None}  # (+ 'no data rows')
    assert set(got) == set(rows)
    for row, n in rows.items():
        assert got[row].startswith(f"has {n} fields where the header has 7")
    with pytest.raises(IntakeError) as ei:
        intake.read_table(p)
    assert {pr.row for pr in ei.value.problems} - {None} == set(rows)


def test_trailing_empty_separators_still_accepted(indir):
    p = _write(indir, "ref.csv", [HEADER, "010180-1234,2016-10-03,101,ressourceforloeb,0,3,1,",
                                  "020180-1234,2016-10-03,101,ressourceforloeb,1,12,0,,"])
    f = intake.read_referrals(p, key=KEY)
    assert f["psych_contact_12m"].tolist() == [1, 0]
    assert f["months_on_benefit"].tolist() == [3.0, 12.0]
    assert f["source_row"].tolist() == [2, 3]
    t = intake.read_table(p)
    assert t.shape == (2, 7)


# --- opening something that is not a register must not change it ----------------------------
def test_opening_a_foreign_database_leaves_it_unchanged(tmp_path):
    empty = tmp_path / "empty.sqlite"
    empty.write_bytes(b"")
    other = tmp_path / "other.sqlite"
    con = sqlite3.connect(other)
    con.execute("CREATE TABLE foo (x)")
    con.commit()
    con.close()
    before = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in (empty, other)}
    for p in (empty, other):
        with pytest.raises(RegisterError, match="is not a trial register"):
            Register.open(p)
        assert hashlib.sha256(p.read_bytes()).hexdigest() == before[p]
    con = sqlite3.connect(other)
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    con.close()
    assert sorted(x.name for x in tmp_path.iterdir()) == ["empty.sqlite", "other.sqlite"]


# --- status names are accepted in any case, like source codes; the message lists them --------
def test_status_names_case_insensitive_and_listed(indir):
    from trial.protocol import load

    protocol = load()
    p = _write(indir, "status.csv", ["cpr;week;status", "010180-1234;1;rfy", "010180-1234;2;Fleksjob",
                                     "010180-1234;3;FOERTIDSPENSION"])
    f = intake.read_status(p, key=KEY, protocol=protocol)
    assert f["status"].astype(str).tolist() == ["ressourceforloebsydelse", "fleksjob", "foertidspension"]
    p = _write(indir, "status_bad.csv", ["cpr;week;status", "010180-1234;1;Fleksjobb"])
    with pytest.raises(IntakeError) as ei:
        intake.read_status(p, key=KEY, protocol=protocol)
    (pr,) = ei.value.problems
    assert (pr.row, pr.column) == (2, "status")
    assert all(s in pr.message for s in protocol.statuses)


def test_empty_events_file_message_grammar(indir):
    p = indir / "events.csv"
    p.write_bytes(b"")
    with pytest.raises(IntakeError, match="the file is empty: an events export needs"):
        intake.read("events", p, key=KEY)


# --- an unreachable combination of effects names every endpoint the chain carries -----------
def test_unreachable_effects_name_the_changed_endpoint():
    from trial.exceptions import ParameterError
    from trial.protocol import load
    from trial.simulate import chain_expectations

    with pytest.raises(ParameterError) as ei:
        chain_expectations(load(), effects={"benefit_weeks": 20})
    msg = str(ei.value)
    assert "benefit_weeks 160" in msg and "ordinary_employment 0.05" in msg and "fleksjob 0.05" in msg


# --- a workbook saved under a .csv name is named as such, not as undecodable text --------------
@pytest.mark.parametrize("magic,words", [(b"PK\x03\x04", "zip archive"),
                                         (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "old Excel .xls")])
def test_workbook_under_a_csv_name(tmp_path, magic, words):
    p = tmp_path / "referrals.csv"
    p.write_bytes(magic + bytes(range(256)) * 4)
    for read in (lambda: intake.read_referrals(p, key=KEY), lambda: intake.read_table(p)):
        with pytest.raises(IntakeError) as ei:
            read()
        (pr,) = ei.value.problems
        assert words in pr.message and pr.row is None


# --- --max-week 0 was taken and every row reported as "a whole number 1–0" -------------------
def test_max_week_must_be_at_least_one(indir):
    from trial.cli import main
    from trial.exceptions import ParameterError

    p = _write(indir, "status.csv", ["cpr;week;status", "010180-1234;1;RFY"])
    for bad in (0, -3, 2.5, True):
        with pytest.raises(ParameterError, match="max_week"):
            intake.read_status(p, key=KEY, max_week=bad)
    assert len(intake.read_status(p, key=KEY, max_week=1)) == 1
    assert main(["intake", "check", "--kind", "status", str(p), "--max-week", "0"]) == 2


# --- balance: --seed -1 and a huge --n-resamples ended in tracebacks ------------------------
def _balance_frame(n=30):
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(3)
    return pd.DataFrame({"treatment": np.r_[np.ones(n // 3, int), np.zeros(n - n // 3, int)],
                         "age": rng.integers(18, 65, n), "months_on_benefit": rng.uniform(0, 36, n)})


def test_balance_draws_in_chunks_and_checks_its_parameters(monkeypatch):
    import numpy as np

    import trial._balance as b
    from trial.exceptions import ParameterError

    d = _balance_frame()
    sizes = []

    def draw(rng, R):
        sizes.append(R)
        return np.stack([rng.permutation(d["treatment"].to_numpy()) for _ in range(R)])

    one = b.balance(d, ["age", "months_on_benefit"], draw=draw, n_resamples=2000, rng=5)
    monkeypatch.setattr(b, "_CHUNK_CELLS", 1)                 # chunks of 2,000 resamples
    sizes.clear()
    res = b.balance(d, ["age", "months_on_benefit"], draw=draw, n_resamples=4500, rng=5)
    assert sizes == [2000, 2000, 500]
    null = res.null_statistics
    assert len(null) == 4500
    np.testing.assert_array_equal(null[:2000], one.null_statistics)    # first chunk = the unchunked draw
    assert res.p_value == (1 + np.sum(null >= res.statistic * (1 - b._TIE))) / 4501
    for kw, name in (({"n_resamples": 0}, "n_resamples"), ({"n_resamples": b.MAX_RESAMPLES + 1}, "n_resamples"),
                     ({"rng": -1}, "rng")):
        args = {"n_resamples": 10, "rng": 1, **kw}
        with pytest.raises(ParameterError, match=name):
            b.balance(d, ["age"], draw=draw, **args)


def test_balance_cli_refuses_negative_seed_and_too_many_resamples(tmp_path, capsys):
    from trial.cli import main

    reg = tmp_path / "r.sqlite"
    protocol = Path(__file__).parents[1] / "protocols" / "ressourceforloeb.toml"
    assert main(["init", "--protocol", str(protocol), "--register", str(reg)]) == 0
    assert main(["balance", "--register", str(reg), "--seed", "-1"]) == 2
    assert main(["balance", "--register", str(reg), "--n-resamples", "100000000"]) == 2
    err = capsys.readouterr().err
    assert "`--seed`" in err and "`--n-resamples`" in err and "Traceback" not in err


def test_love_plot_of_an_empty_register_warns_nothing():
    import warnings

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from trial.randomize import balance, plot_balance

    d = _balance_frame().iloc[:0]
    res = balance(d, ["age", "months_on_benefit"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fig = plot_balance(res)
    assert fig.axes[0].get_xlim() == (-0.25, 0.25)
    plt.close(fig)


def test_a_date_with_a_time_of_day_is_named_as_such(indir, tmp_path):
    """An Excel date cell with a time (14:30) was refused with the generic date message."""
    import pandas as pd

    p = _write(indir, "ref.csv", [HEADER.replace(",", ";"), "010180-1234;2016-10-03 14:30:00;101;ressourceforloeb;0;3;1",
                                  "020180-1234;32.10.2016;101;ressourceforloeb;0;3;1"])
    with pytest.raises(IntakeError) as ei:
        intake.read_referrals(p, key=KEY)
    got = {pr.row: pr.message for pr in ei.value.problems}
    assert got[2].startswith("holds a date with a time of day; must be a date written YYYY-MM-DD")
    assert "got '2016-10-03 14:30:00'" in got[2]
    assert "time of day" not in got[3]                  # a date that does not exist keeps its own message
    # the same from a workbook cell holding a date and a time
    x = indir / "ref.xlsx"
    cols = HEADER.split(",")
    pd.DataFrame([["010180-1234", pd.Timestamp("2016-10-03 14:30"), 101, "ressourceforloeb", 0, 3, 1]],
                 columns=cols).to_excel(x, index=False)
    with pytest.raises(IntakeError) as ei:
        intake.read_referrals(x, key=KEY)
    assert any(pr.message.startswith("holds a date with a time of day") for pr in ei.value.problems)


def test_balance_of_an_empty_register_labels_the_contract_covariates_by_their_kind():
    import numpy as np

    from trial.randomize import balance

    d = _balance_frame()
    rng = np.random.default_rng(5)
    d["prior_forloeb"], d["psych_contact_12m"] = rng.integers(0, 2, len(d)), rng.integers(0, 2, len(d))
    empty = balance(d.iloc[:0], ["age", "prior_forloeb", "months_on_benefit", "psych_contact_12m"]).table
    full = balance(d, ["age", "prior_forloeb", "months_on_benefit", "psych_contact_12m"]).table
    assert dict(zip(empty["covariate"], empty["kind"])) == {
        "age": "mean", "prior_forloeb": "share", "months_on_benefit": "mean", "psych_contact_12m": "share"}
    assert list(empty["kind"]) == list(full["kind"])      # what the data say once there are citizens


def test_enroll_json_counts_line_matches_the_text_output(tmp_path, capsys):
    """A second `trial enroll --json` said "0 enrolled, N not enrolled" on stderr, leaving out those already in."""
    from trial.cli import main

    ex, reg = tmp_path / "exports", str(tmp_path / "r.sqlite")
    assert main(["simulate", "--out", str(ex), "--seed", "3", "--n-referrals", "40"]) == 0
    assert main(["init", "--protocol", "protocols/ressourceforloeb.toml", "--register", reg]) == 0
    assert main(["enroll", "--register", reg, str(ex / "referrals.csv")]) == 0
    capsys.readouterr()
    assert main(["enroll", "--register", reg, str(ex / "referrals.csv"), "--json"]) == 0
    err = capsys.readouterr().err
    assert "enrolled 0 new, " in err and " already enrolled, " in err
    assert main(["enroll", "--register", reg, str(ex / "referrals.csv")]) == 0
    assert capsys.readouterr().out.splitlines()[0] == err.strip().splitlines()[-1]
