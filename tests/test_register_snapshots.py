"""The register's ``report_snapshots`` table (schema 3): the exact figures behind each quarterly report.

Checks: migration 2 -> 3 (audit entry, verify passes), append-only storage with an
audit entry per snapshot, lookup of a quarter and of the latest earlier quarter,
verify names an edited or inserted snapshot, bad input refused. Exact (no tolerances).
"""
from __future__ import annotations

import base64
import hashlib
import json
import re
import sqlite3
import zlib

import pandas as pd
import pytest

from trial.exceptions import RegisterError
from trial.protocol import load
from trial.register import SCHEMA_VERSION, Register

from ._register_helpers import key


@pytest.fixture(scope="module")
def protocol():
    return load()


def _snap(q, x):
    return json.dumps({"quarter": q, "flow": {"randomized_treatment": x}})


def test_migration_from_schema_2_adds_the_table(tmp_path, protocol):
    path = tmp_path / "old.sqlite"
    Register.create(path, protocol, key=key(), schema_version=2).close()
    con = sqlite3.connect(path)
    assert not con.execute("SELECT 1 FROM sqlite_master WHERE name = 'report_snapshots'").fetchall()
    con.close()
    with Register.open(path, migrate=False) as r:
        assert r.schema_version == 2 and r.report_snapshot(before="2017Q1") is None
        with pytest.raises(RegisterError, match="migrate=True"):
            r.store_report_snapshot("2017Q1", _snap("2017Q1", 1))
    with Register.open(path) as r:
        assert r.schema_version == SCHEMA_VERSION == 3
        log = r.audit_log()
        assert list(log.action) == ["init", "migrate"]
        assert json.loads(log.payload.iloc[-1]) == {"from": 2, "to": 3}
        r.store_report_snapshot("2017Q1", _snap("2017Q1", 1))
        assert r.verify(key()).ok


def test_store_and_read_snapshots(tmp_path, protocol):
    with Register.create(tmp_path / "r.sqlite", protocol, key=key()) as r:
        assert r.report_snapshot(quarter="2017Q1") is None and len(r.report_snapshots()) == 0
        ids = [r.store_report_snapshot(q, _snap(q, x)) for q, x in
               (("2017Q1", 10), ("2017Q2", 20), ("2017Q2", 21), ("2018Q1", 30))]
        assert ids == [1, 2, 3, 4]
        # a rerun of a quarter appends; the newest is read
        assert json.loads(r.report_snapshot(quarter="2017Q2")["json"])["flow"]["randomized_treatment"] == 21
        # the latest earlier quarter (quarters sort in time order across years)
        assert r.report_snapshot(before="2018Q1")["quarter"] == "2017Q2"
        assert r.report_snapshot(before="2018Q1")["id"] == 3
        assert r.report_snapshot(before="2017Q2")["quarter"] == "2017Q1"
        assert r.report_snapshot(before="2017Q1") is None
        assert r.report_snapshot(before="2019Q4")["quarter"] == "2018Q1"
        tab = r.report_snapshots()
        assert list(tab.columns) == ["id", "quarter", "created", "sha256"] and list(tab.quarter) == [
            "2017Q1", "2017Q2", "2017Q2", "2018Q1"]
        log = r.audit_log()
        snaps = log[log.action == "report_snapshot"]
        assert len(snaps) == 4
        row = json.loads(snaps.payload.iloc[1])["report_snapshot"]
        assert row["quarter"] == "2017Q2" and row["audit_id"] == snaps.id.iloc[1]
        assert zlib.decompress(base64.b64decode(row["json_z"])).decode() == _snap("2017Q2", 20)
        assert row["sha256"] == hashlib.sha256(_snap("2017Q2", 20).encode()).hexdigest()
        assert r.verify(key()).ok


@pytest.mark.parametrize("edit, what", [
    ("UPDATE report_snapshots SET json_z = 'eJyrVgpKLS7NKYkHAAAA//8=' WHERE id = 2", "column json_z"),
    ("UPDATE report_snapshots SET quarter = '2016Q4' WHERE id = 1", "column quarter"),
    ("DELETE FROM report_snapshots WHERE id = 2", "row is missing"),
    ("INSERT INTO report_snapshots VALUES (9, '2019Q1', 'x', 'y', '{}', 1)", "no audit entry"),
])
def test_verify_names_an_edited_snapshot(tmp_path, protocol, edit, what):
    path = tmp_path / "r.sqlite"
    with Register.create(path, protocol, key=key()) as r:
        r.store_report_snapshot("2017Q1", _snap("2017Q1", 10))
        r.store_report_snapshot("2017Q2", _snap("2017Q2", 20))
    con = sqlite3.connect(path)
    con.execute(edit)
    con.commit()
    con.close()
    with Register.open(path) as r:
        res = r.verify(key())
    assert not res.ok
    probs = res.to_frame()
    hit = probs[probs["table"] == "report_snapshots"]
    assert len(hit) and hit["message"].str.contains(what).any(), probs


@pytest.mark.parametrize("quarter, text, msg", [
    ("2017-1", "{}", "2017Q3"),
    ("2017Q5", "{}", "2017Q3"),
    ("2017Q1", "not json", "JSON text"),
    ("2017Q1", "[1, 2]", "JSON object"),
])
def test_bad_snapshot_input_is_refused(tmp_path, protocol, quarter, text, msg):
    with Register.create(tmp_path / "r.sqlite", protocol, key=key()) as r:
        with pytest.raises(RegisterError, match=msg):
            r.store_report_snapshot(quarter, text)
        with pytest.raises(RegisterError, match="exactly one"):
            r.report_snapshot()
        assert len(r.report_snapshots()) == 0 and list(r.audit_log().action) == ["init"]


def test_snapshots_table_is_empty_frame_for_new_register(tmp_path, protocol):
    with Register.create(tmp_path / "r.sqlite", protocol, key=key()) as r:
        assert isinstance(r.report_snapshots(), pd.DataFrame)


def test_no_ten_digit_runs_in_the_file(tmp_path, protocol):
    """Full-precision floats are stored compressed: the file holds nothing the session's CPR scan flags."""
    import numpy as np

    rng = np.random.default_rng(1)
    text = json.dumps({"x": [float(v) for v in rng.normal(size=3000)]})
    assert len(re.findall(r"\d{10}", text)) > 1000          # plain JSON would be full of them
    path = tmp_path / "r.sqlite"
    with Register.create(path, protocol, key=key()) as r:
        r.store_report_snapshot("2017Q1", text)
        assert r.report_snapshot(quarter="2017Q1")["json"] == text
    from ._cpr_scan_plugin import scan_bytes

    assert scan_bytes(path.read_bytes()) == []
    # the plain text cut where a database page might end is flagged: the reason for compressing
    cut = [m.start() + 11 for m in re.finditer(r"\.\d{10}\d", text)]
    assert sum(bool(scan_bytes(text[i - 11:i].encode() + b"\x00")) for i in cut) > 20


def test_an_edited_snapshot_is_refused_when_read(tmp_path, protocol):
    path = tmp_path / "r.sqlite"
    with Register.create(path, protocol, key=key()) as r:
        r.store_report_snapshot("2017Q1", _snap("2017Q1", 10))
    other = base64.b64encode(zlib.compress(_snap("2017Q1", 99).encode())).decode()
    con = sqlite3.connect(path)
    con.execute("UPDATE report_snapshots SET json_z = ? WHERE id = 1", (other,))
    con.commit()
    con.close()
    with Register.open(path) as r, pytest.raises(RegisterError, match="SHA-256"):
        r.report_snapshot(quarter="2017Q1")
