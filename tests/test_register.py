"""The trial register: enrollment, idempotency, screening, modes, outcomes room, CLI.

Exact comparisons throughout: the register stores and returns what was given,
and every allocation is recomputed exactly.
"""
from __future__ import annotations

import json
import re
import sqlite3

import numpy as np
import pandas as pd
import pytest

from trial.cli import main
from trial.exceptions import RegisterError
from trial.register import Register

from ._register_helpers import key, protocol_with, referrals


@pytest.fixture
def reg(tmp_path, protocol):
    with Register.create(tmp_path / "r.sqlite", protocol, key=key(), mode="test") as r:
        yield r


def test_create_open_and_properties(tmp_path, protocol):
    path = tmp_path / "r.sqlite"
    with Register.create(path, protocol, key=key(), mode="production") as r:
        c = r.commitment
        assert r.mode == "production" and len(c) == 64
    with Register.open(path) as r:
        assert r.mode == "production" and r.commitment == c
        assert r.protocol.fingerprint == protocol.fingerprint and r.protocol.text == protocol.text
        assert "production" in repr(r)
        r.check_protocol(protocol)
        with pytest.raises(RegisterError, match="fingerprint"):
            r.check_protocol(protocol_with(seed=1))
    with pytest.raises(RegisterError, match="exists already"):
        Register.create(path, protocol, key=key(), mode="test")
    with pytest.raises(RegisterError, match="does not exist"):
        Register.open(tmp_path / "nope.sqlite")
    with pytest.raises(RegisterError, match="mode"):
        Register.create(tmp_path / "x.sqlite", protocol, key=key(), mode="prod")
    assert not (tmp_path / "x.sqlite").exists()


def test_enroll_is_idempotent_and_screens(reg):
    fr = referrals(120, 1)
    res = reg.enroll_frame(fr, key=key())
    e = reg.enrollments()
    assert len(e) == int(res.enrolled["new"].sum()) > 50
    assert list(e["seq"]) == list(range(1, len(e) + 1))
    assert set(e["arm"]) == {"deltagergruppe", "kontrolgruppe"}
    assert (e["treatment"] == (e["arm"] == "deltagergruppe")).all()
    log = reg.screening_log()
    assert len(log) == 120 and log["eligible"].sum() == len(e)
    bad_age = fr[(fr.age < 18) | (fr.age > 64)].pseudonym
    assert set(log[log.reason_code == "age"].pseudonym) == set(bad_age)
    assert set(log[log.reason_code == "municipality"].pseudonym) == set(fr[(fr.municipality_code != 101)
                                                                            & fr.age.between(18, 64)].pseudonym)
    # the same file again: nobody enrolled twice, same answers
    again = reg.enroll_frame(fr, key=key())
    assert not again.enrolled["new"].any() and len(reg.enrollments()) == len(e)
    assert again.enrolled.set_index("pseudonym")["arm"].to_dict() == e.set_index("pseudonym")["arm"].to_dict()
    assert len(reg.screening_log()) == 120
    # a new referral of an enrolled citizen (other date) is screened out, never re-randomized
    re = fr[fr.pseudonym.isin(e.pseudonym[:3])].assign(referral_date=pd.Timestamp("2018-01-01"))
    out = reg.enroll_frame(re, key=key())
    assert list(out.screened["reason_code"]) == ["already_enrolled"] * 3 and len(reg.enrollments()) == len(e)
    v = reg.verify(key())
    assert v.ok, v.summary()


def test_enroll_checks_input_and_key(reg):
    fr = referrals(5, 2)
    with pytest.raises(RegisterError, match="cpr"):
        reg.enroll_frame(fr.assign(cpr="010101-1234"), key=key())
    with pytest.raises(RegisterError, match="months_on_benefit"):
        reg.enroll_frame(fr.drop(columns="months_on_benefit"), key=key())
    with pytest.raises(RegisterError, match="does not belong"):
        reg.enroll_frame(fr, key=key(1))
    assert len(reg.enrollments()) == 0 and len(reg.audit_log()) == 1


def test_withdraw_and_exclude_keep_the_row(reg):
    reg.enroll_frame(referrals(40, 3, eligible_only=True), key=key())
    e = reg.enrollments()
    reg.withdraw(e.pseudonym[0], "flyttet", "2017-03-01")
    reg.exclude(e.pseudonym[1], "fejlagtigt henvist", "2017-03-02")
    e2 = reg.enrollments()
    assert len(e2) == len(e)
    assert list(e2.status[:3]) == ["withdrawn", "excluded", "active"]
    with pytest.raises(RegisterError, match="not enrolled"):
        reg.withdraw("ffffffffffffffff", "x", "2017-01-01")
    with pytest.raises(RegisterError, match="date"):
        reg.withdraw(e.pseudonym[2], "x", "not a date")
    assert reg.verify(key()).ok


def test_observations_and_outcomes_latest_upload_wins(reg):
    s1 = pd.DataFrame({"pseudonym": ["a", "b"], "week": [1, 1],
                       "status": pd.Categorical(["fleksjob", "andet"])})
    s2 = pd.DataFrame({"pseudonym": ["a", "b", "a"], "week": [1, 1, 2],
                       "status": pd.Categorical(["fleksjob", "andet", "andet"])})
    reg.store_observations("status", s1, "2017-03-31")
    reg.store_observations("status", s2, "2017-06-30")
    assert len(reg.observations("status")) == 3
    old = reg.observations("status", as_of="2017-04-30")
    pd.testing.assert_frame_equal(old, s1)
    assert old.attrs["data_date"] == "2017-03-31"
    assert reg.observations("status", as_of="2017-01-01").empty
    ev = pd.DataFrame({"pseudonym": ["a"], "event": ["par85"], "start_date": pd.to_datetime(["2017-01-05"]),
                       "end_date": pd.to_datetime([pd.NaT])})
    reg.store_observations("events", ev, "2017-03-31")
    got = reg.observations("events")
    assert got["start_date"].iloc[0] == pd.Timestamp("2017-01-05") and pd.isna(got["end_date"].iloc[0])
    oc = pd.DataFrame({"pseudonym": ["a", "b"], "endpoint": ["fleksjob"] * 2, "value": [1.0, np.nan],
                       "time_weeks": [np.nan] * 2, "event": [np.nan] * 2, "exposure_years": [1.0, 1.0],
                       "missing_reason": [None, "not yet observed"]})
    reg.store_outcomes(oc, "2017-03-31")
    got = reg.outcomes()
    assert list(got.columns[-1:]) == ["data_date"] and got["data_date"].iloc[0] == pd.Timestamp("2017-03-31")
    assert np.isnan(got["value"].iloc[1]) and got["missing_reason"].iloc[1] == "not yet observed"
    with pytest.raises(RegisterError, match="kind"):
        reg.store_observations("weather", s1, "2017-01-01")
    with pytest.raises(RegisterError, match="cpr"):
        reg.store_observations("status", s1.assign(cpr="x"), "2017-01-01")
    assert reg.verify(key()).ok


def test_migration_from_schema_1(tmp_path, protocol):
    path = tmp_path / "old.sqlite"
    Register.create(path, protocol, key=key(), schema_version=1).close()
    con = sqlite3.connect(path)
    assert not con.execute("SELECT 1 FROM sqlite_master WHERE name = 'uploads'").fetchall()
    con.close()
    with Register.open(path) as r:
        assert r.schema_version == 3
        assert list(r.audit_log().action) == ["init", "migrate"]
        r.store_observations("survey", pd.DataFrame({"pseudonym": ["a"], "wave": [0]}), "2017-01-01")
        assert r.verify(key()).ok


def test_same_inputs_same_register_content(tmp_path, protocol):
    """Timestamps, actor, register id and hashes (which cover timestamps) aside, two runs are identical."""
    fr = referrals(80, 4)
    dumps = []
    for name in ("a", "b"):
        with Register.create(tmp_path / f"{name}.sqlite", protocol, key=key(), mode="test") as r:
            r.enroll_frame(fr, key=key())
            e = r.enrollments().drop(columns=["enrolled_at"])
            s = r.screening_log().drop(columns=["seen_at"])
            a = r.audit_log()
            payloads = [json.loads(p) for p in a.payload]
            for p in payloads:
                for row in p.values():
                    if isinstance(row, dict):
                        for k in ("enrolled_at", "seen_at", "created_at", "register_id"):
                            row.pop(k, None)
                p.pop("created_at", None), p.pop("register_id", None)
            dumps.append((e, s, list(a.action), payloads, r.commitment))
    pd.testing.assert_frame_equal(dumps[0][0], dumps[1][0])
    pd.testing.assert_frame_equal(dumps[0][1], dumps[1][1])
    assert dumps[0][2:] == dumps[1][2:]


def test_capacity_stop_closes_enrollment(tmp_path):
    p = protocol_with(capacity=5)
    with Register.create(tmp_path / "r.sqlite", p, key=key()) as r:
        r.enroll_frame(referrals(100, 5, eligible_only=True), key=key())
        e = r.enrollments()
        assert e.treatment.sum() == 5 and e.treatment.iloc[-1] == 1
        log = r.screening_log()
        assert (log.reason_code == "trial_full").sum() == 100 - len(e)
        assert r.verify(key()).ok


def test_capacity_control_only(tmp_path):
    p = protocol_with(capacity=5, when_full="control_only")
    with Register.create(tmp_path / "r.sqlite", p, key=key()) as r:
        r.enroll_frame(referrals(80, 6, eligible_only=True), key=key())
        e = r.enrollments()
        assert len(e) == 80 and e.treatment.sum() == 5 and e.forced.any()
        assert r.verify(key()).ok


@pytest.mark.parametrize("scheme", ["simple", "complete", "minimisation"])
def test_other_schemes_enroll_and_verify(tmp_path, scheme):
    p = protocol_with(scheme=scheme)
    with Register.create(tmp_path / "r.sqlite", p, key=key()) as r:
        r.enroll_frame(referrals(60, 7), key=key())
        assert len(r.enrollments()) > 30
        assert r.verify(key()).ok, r.verify(key()).summary()
        draw = r.rerandomizer()
        Z = draw(np.random.default_rng(1), 10)
        assert Z.shape == (10, len(r.enrollments()))


def test_test_and_production_sequences_differ(tmp_path, protocol):
    fr = referrals(60, 8, eligible_only=True)
    arms = []
    for mode in ("test", "production"):
        with Register.create(tmp_path / f"{mode}.sqlite", protocol, key=key(), mode=mode) as r:
            r.enroll_frame(fr, key=key())
            arms.append(list(r.enrollments().treatment))
            assert r.enrollments().attrs["mode"] == mode
    assert arms[0] != arms[1]
    # a test register's rows copied into a production register are caught by verify
    src = sqlite3.connect(tmp_path / "test.sqlite")
    dst = sqlite3.connect(tmp_path / "production.sqlite")
    rows = src.execute("SELECT * FROM enrollments").fetchall()
    dst.execute("DELETE FROM enrollments")
    dst.executemany(f"INSERT INTO enrollments VALUES ({','.join('?' * len(rows[0]))})", rows)
    dst.commit()
    dst.close()
    with Register.open(tmp_path / "production.sqlite") as r:
        v = r.verify(key())
        assert not v.ok and any(p.table == "enrollments" for p in v.problems)


def test_verify_without_key_is_not_ok(reg):
    reg.enroll_frame(referrals(20, 9), key=key())
    v = reg.verify(None)
    assert not v.problems and not v.ok and "not recomputed" in v.note


def test_no_cpr_in_register(tmp_path, protocol):
    """Through the real intake: the register file never contains a CPR number."""
    from trial._keys import create_key_file
    from trial.intake import read_referrals
    from trial.simulate import simulate_referrals

    raw = simulate_referrals(protocol, 40, seed=5)
    (tmp_path / "cpr_input").mkdir(exist_ok=True)
    csv = tmp_path / "cpr_input" / "referrals.csv"
    raw.to_csv(csv, sep=";", index=False)
    k = create_key_file(tmp_path / "k.key")
    path = tmp_path / "r.sqlite"
    with Register.create(path, protocol, key=k) as r:
        r.enroll_frame(read_referrals(csv, key=k.pseudonym_key, protocol=protocol), key=k)
        assert len(r.screening_log()) == 40
    blob = b"".join(p.read_bytes() for p in tmp_path.glob("r.sqlite*"))
    for c in raw["cpr"].astype(str):
        digits = c.replace("-", "")
        assert c.encode() not in blob and digits.encode() not in blob


# --------------------------------------------------------------------------- CLI
def test_cli_commands_have_help(capsys):
    for cmd in ("init", "enroll", "verify", "balance"):
        with pytest.raises(SystemExit) as exc:
            main([cmd, "--help"])
        assert exc.value.code == 0
        assert "--register" in capsys.readouterr().out


def test_cli_round_trip(tmp_path, protocol, capsys):
    from trial.simulate import simulate_referrals

    raw = simulate_referrals(protocol, 50, seed=9)
    (tmp_path / "cpr_input").mkdir(exist_ok=True)
    csv = tmp_path / "cpr_input" / "referrals.csv"
    raw.to_csv(csv, sep=";", index=False)
    reg = str(tmp_path / "r.sqlite")
    assert main(["init", "--protocol", str(protocol.path), "--register", reg, "--json"]) == 0
    init = json.loads(capsys.readouterr().out)
    assert init["mode"] == "test" and init["key_created"] and len(init["commitment"]) == 64
    assert (tmp_path / "r.sqlite.key").stat().st_mode & 0o777 == 0o600
    assert main(["enroll", "--register", reg, "--key-file", reg + ".key", str(csv), "--json"]) == 0
    out = capsys.readouterr()
    rows = json.loads(out.out)
    assert rows and {"pseudonym", "stratum", "arm"} <= set(rows[0]) and all(r["mode"] == "test" for r in rows)
    assert "TEST" in out.err
    assert main(["enroll", "--register", reg, str(csv)]) == 0          # default key path; idempotent
    text = capsys.readouterr().out
    assert "[TEST register] enrolled 0 new" in text
    assert main(["verify", "--register", reg]) == 0
    assert "[TEST]: OK" in capsys.readouterr().out
    assert main(["balance", "--register", reg, "--n-resamples", "200", "--json",
                 "--plot", str(tmp_path / "b.png")]) == 0
    bal = json.loads(capsys.readouterr().out)
    assert bal["mode"] == "test" and 0 < bal["p_value"] <= 1 and (tmp_path / "b.png").stat().st_size > 1000
    # tamper: flip one arm -> exit 1, the row named
    con = sqlite3.connect(reg)
    con.execute("UPDATE enrollments SET treatment = 1 - treatment WHERE seq = 3")
    con.commit()
    con.close()
    assert main(["verify", "--register", reg, "--json"]) == 1
    res = json.loads(capsys.readouterr().out)
    assert not res["ok"] and any(p["row"] == "seq 3" for p in res["problems"])
    # no key file: chain-only check is explicit
    (tmp_path / "r.sqlite.key").rename(tmp_path / "elsewhere.key")
    assert main(["verify", "--register", reg, "--skip-allocations"]) == 1   # the tampered row still fails


def test_cli_bad_input_exits_2(tmp_path, protocol, capsys):
    assert main(["verify", "--register", str(tmp_path / "missing.sqlite")]) == 2
    assert "does not exist" in capsys.readouterr().err
    reg = str(tmp_path / "r.sqlite")
    assert main(["init", "--protocol", str(protocol.path), "--register", reg]) == 0
    assert main(["init", "--protocol", str(protocol.path), "--register", reg]) == 2
    assert "exists already" in capsys.readouterr().err
    assert main(["enroll", "--register", reg, "--key-file", str(tmp_path / "nokey"), "x.csv"]) == 2
    assert main(["balance", "--register", reg, "--n-resamples", "0"]) == 2


def test_cli_verify_without_key_exits_1(tmp_path, protocol, capsys):
    reg = str(tmp_path / "r.sqlite")
    assert main(["init", "--protocol", str(protocol.path), "--register", reg, "--key-file",
                 str(tmp_path / "apart.key")]) == 0
    capsys.readouterr()
    assert main(["verify", "--register", reg]) == 1
    assert "not recomputed" in capsys.readouterr().out
    assert main(["verify", "--register", reg, "--skip-allocations"]) == 0
    assert main(["verify", "--register", reg, "--key-file", str(tmp_path / "apart.key")]) == 0


# --------------------------------------------------------------------------- QA: CPR numbers in free text
def _cpr_hits(blob: bytes) -> list[bytes]:
    """CPR-like numbers in bytes: the project's scan pattern, and the same also inside words."""
    from trial._cpr import CPR_PATTERN

    inside = rb"(?<!\d)(?:0[1-9]|[12]\d|3[01])(?:0[1-9]|1[0-2])\d{2}-?\d{4}(?!\d)"
    # glued to a word: letters with at least one that is not a hex digit (pseudonyms and hashes are hex)
    words = re.findall(rb"[A-Za-z]*[G-Zg-z][A-Za-z]*" + inside, blob)
    return re.findall(CPR_PATTERN.pattern.encode(), blob) + words


def test_enroll_refuses_cpr_in_free_text_and_writes_nothing(tmp_path, protocol, capsys):
    """QA P0: a CPR number typed into referral_type reached the register's referrals and audit tables."""
    from trial.simulate import simulate_referrals

    raw = simulate_referrals(protocol, 12, seed=3)
    (tmp_path / "cpr_input").mkdir()
    reg = str(tmp_path / "r.sqlite")
    assert main(["init", "--protocol", str(protocol.path), "--register", reg]) == 0
    capsys.readouterr()
    before = (tmp_path / "r.sqlite").read_bytes()
    for value in ("2303891234", "note 070961-1234", "ressourceforloeb0709611234"):
        bad = raw.copy()
        bad["referral_type"] = bad["referral_type"].astype(object)
        bad.loc[4, "referral_type"] = value
        csv = tmp_path / "cpr_input" / "referrals.csv"
        bad.to_csv(csv, sep=";", index=False)
        code = main(["enroll", "--register", reg, str(csv), "--json"])
        out = capsys.readouterr()
        assert code == 2, out.err
        problem = json.loads(out.out)["problems"][0]
        assert (problem["row"], problem["column"]) == (6, "referral_type")
        assert "CPR-like number" in problem["message"] and "-XXXX" in problem["message"]
        assert not _cpr_hits((out.out + out.err).encode())
    with Register.open(reg) as r:
        assert len(r.screening_log()) == 0 and len(r.audit_log()) == 1
    assert not _cpr_hits(b"".join(p.read_bytes() for p in tmp_path.glob("r.sqlite*")))
    assert len(before) > 0


def test_register_masks_cpr_like_runs_in_free_text(tmp_path, protocol):
    """Defence in depth: text that reaches the register without intake is stored masked."""
    fr = referrals(6, 21, eligible_only=True)
    fr["referral_type"] = fr["referral_type"].astype(object)
    fr.loc[1, "referral_type"] = "2303891234"
    fr.loc[2, "referral_type"] = "note 070961-1234"
    fr.loc[3, "referral_type"] = "ressourceforloeb0709611234"
    path = tmp_path / "r.sqlite"
    with Register.create(path, protocol, key=key(), mode="test") as r:
        res = r.enroll_frame(fr, key=key())
        assert len(res.screened) == 3 and set(res.screened["reason_code"]) == {"referral_type"}
        assert all("-XXXX" in t for t in res.screened["reason"])
        enrolled = r.enrollments()["pseudonym"].iloc[0]
        r.withdraw(enrolled, "borgeren ringede, CPR 0101801235, flytter", "2017-01-05")
        log = r.screening_log()
        assert sorted(log.loc[~log.eligible, "reason"]) == sorted([
            "referral type '230389-XXXX' not among ['ressourceforloeb']",
            "referral type 'note 070961-XXXX' not among ['ressourceforloeb']",
            "referral type 'ressourceforloeb070961-XXXX' not among ['ressourceforloeb']"])
        assert r.status_events()["reason"].tolist() == ["borgeren ringede, CPR 010180-XXXX, flytter"]
        assert r.verify(key()).ok                                  # masked texts still verify
    blob = b"".join(p.read_bytes() for p in tmp_path.glob("r.sqlite*"))
    assert not _cpr_hits(blob)
    for digits in (b"2303891234", b"070961-1234", b"0709611234", b"0101801235"):
        assert digits not in blob


# --------------------------------------------------------------------------- QA: which file is missing
def test_enroll_on_a_missing_register_names_the_register(tmp_path, capsys):
    """QA P3: `trial enroll` on a missing register said "key file nope.sqlite.key not found"."""
    nope = str(tmp_path / "nope.sqlite")
    assert main(["enroll", "--register", nope, str(tmp_path / "x.csv")]) == 2
    err = capsys.readouterr().err
    assert f"register {nope} does not exist" in err and "key file" not in err
    assert main(["verify", "--register", nope, "--key-file", str(tmp_path / "no.key")]) == 2
    err = capsys.readouterr().err
    assert "does not exist" in err and "key file" not in err
    assert list(tmp_path.iterdir()) == []


def test_enroll_refuses_another_registers_key_before_reading(tmp_path, protocol, capsys):
    reg = str(tmp_path / "r.sqlite")
    assert main(["init", "--protocol", str(protocol.path), "--register", reg]) == 0
    assert main(["init", "--protocol", str(protocol.path), "--register", str(tmp_path / "o.sqlite")]) == 0
    capsys.readouterr()
    code = main(["enroll", "--register", reg, "--key-file", str(tmp_path / "o.sqlite.key"),
                 str(tmp_path / "missing.csv")])
    assert code == 2 and "does not belong to register" in capsys.readouterr().err
