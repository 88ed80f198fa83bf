"""Tampering: random single edits made directly in the database are all detected.

Each of 60 edits (seeded, so the set is fixed) is applied to a fresh copy of
one register; `verify` must fail and name the edited row. Exact: no tolerance.
"""
from __future__ import annotations

import shutil
import sqlite3

import numpy as np
import pytest

from trial.register import Register

from ._register_helpers import key, referrals

N_EDITS = 60


@pytest.fixture(scope="module")
def base(tmp_path_factory, protocol):
    d = tmp_path_factory.mktemp("tamper")
    path = d / "base.sqlite"
    with Register.create(path, protocol, key=key(), mode="production") as r:
        r.enroll_frame(referrals(90, 21), key=key())
        e = r.enrollments()
        r.withdraw(e.pseudonym[4], "flyttet", "2017-05-01")
        import pandas as pd

        r.store_observations("status", pd.DataFrame({"pseudonym": list(e.pseudonym[:3]), "week": [1, 1, 1],
                                                     "status": ["andet"] * 3}), "2017-03-31")
        assert r.verify(key()).ok
    con = sqlite3.connect(path)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    return path


def _edits(con, rng):
    """Pick one edit; apply it; return the (table, row) verify must name."""
    n_enr = con.execute("SELECT MAX(seq) FROM enrollments").fetchone()[0]
    n_aud = con.execute("SELECT MAX(id) FROM audit").fetchone()[0]
    n_ref = con.execute("SELECT MAX(id) FROM referrals").fetchone()[0]
    kind = rng.choice(["flip_arm", "flip_label", "delete_enrollment", "swap_pseudonyms", "swap_seq",
                       "edit_audit_payload", "delete_audit", "swap_audit", "edit_protocol", "edit_mode",
                       "flip_eligible", "edit_covariate", "edit_audit_time", "edit_stratum_index",
                       "edit_upload", "edit_withdrawal"])
    k = int(rng.integers(1, n_enr + 1))
    if kind == "flip_arm":
        con.execute("UPDATE enrollments SET treatment = 1 - treatment, arm = CASE arm WHEN 'deltagergruppe' "
                    "THEN 'kontrolgruppe' ELSE 'deltagergruppe' END WHERE seq = ?", (k,))
        return kind, "enrollments", f"seq {k}"
    if kind == "flip_label":
        con.execute("UPDATE enrollments SET arm = CASE arm WHEN 'deltagergruppe' THEN 'kontrolgruppe' "
                    "ELSE 'deltagergruppe' END WHERE seq = ?", (k,))
        return kind, "enrollments", f"seq {k}"
    if kind == "delete_enrollment":
        con.execute("DELETE FROM enrollments WHERE seq = ?", (k,))
        return kind, "enrollments", f"seq {k}"
    if kind == "swap_pseudonyms":
        j = k % n_enr + 1
        a, b = (con.execute("SELECT pseudonym FROM enrollments WHERE seq = ?", (x,)).fetchone()[0] for x in (k, j))
        con.execute("UPDATE enrollments SET pseudonym = 'tmp' WHERE seq = ?", (k,))
        con.execute("UPDATE enrollments SET pseudonym = ? WHERE seq = ?", (a, j))
        con.execute("UPDATE enrollments SET pseudonym = ? WHERE seq = ?", (b, k))
        return kind, "enrollments", f"seq {k}"
    if kind == "swap_seq":
        j = k % n_enr + 1
        con.execute("UPDATE enrollments SET seq = -1 WHERE seq = ?", (k,))
        con.execute("UPDATE enrollments SET seq = ? WHERE seq = ?", (k, j))
        con.execute("UPDATE enrollments SET seq = ? WHERE seq = -1", (j,))
        return kind, "enrollments", f"seq {k}"
    if kind == "edit_stratum_index":
        con.execute("UPDATE enrollments SET stratum_index = stratum_index + 1 WHERE seq = ?", (k,))
        return kind, "enrollments", f"seq {k}"
    if kind == "edit_covariate":
        col = str(rng.choice(["age", "months_on_benefit", "psych_contact_12m", "sex", "referral_date"]))
        expr = {"age": "age + 1", "months_on_benefit": "months_on_benefit + 0.1",
                "psych_contact_12m": "1 - psych_contact_12m", "sex": "CASE sex WHEN 'M' THEN 'F' ELSE 'M' END",
                "referral_date": "'2016-01-01'"}[col]
        con.execute(f"UPDATE enrollments SET {col} = {expr} WHERE seq = ?", (k,))
        return kind, "enrollments", f"seq {k}"
    a = int(rng.integers(2, n_aud + 1))
    if kind == "edit_audit_payload":
        p = con.execute("SELECT payload FROM audit WHERE id = ?", (a,)).fetchone()[0]
        i = int(rng.integers(0, len(p)))
        ch = "x" if p[i] != "x" else "y"
        con.execute("UPDATE audit SET payload = ? WHERE id = ?", (p[:i] + ch + p[i + 1:], a))
        return kind, "audit", f"id {a}"
    if kind == "edit_audit_time":
        con.execute("UPDATE audit SET at = '2016-01-01T00:00:00+00:00' WHERE id = ?", (a,))
        return kind, "audit", f"id {a}"
    if kind == "delete_audit":
        con.execute("DELETE FROM audit WHERE id = ?", (a,))
        if a == n_aud:
            return kind, "meta", "key head_id"
        return kind, "audit", f"id {a + 1}"
    if kind == "swap_audit":
        b = a - 1 if a > 2 else a + 1
        ra = con.execute("SELECT at, actor, action, payload, prev_hash, hash FROM audit WHERE id = ?", (a,)).fetchone()
        rb = con.execute("SELECT at, actor, action, payload, prev_hash, hash FROM audit WHERE id = ?", (b,)).fetchone()
        for target, row in ((a, rb), (b, ra)):
            con.execute("UPDATE audit SET at = ?, actor = ?, action = ?, payload = ?, prev_hash = ?, hash = ? "
                        "WHERE id = ?", (*row, target))
        return kind, "audit", f"id {min(a, b)}"
    if kind == "edit_protocol":
        t = con.execute("SELECT text FROM protocol").fetchone()[0]
        new = str(rng.choice([t + "\n# edited\n", t.replace("seed = 20161001", "seed = 20161002"),
                              t.replace("min_age = 18", "min_age = 17")]))
        con.execute("UPDATE protocol SET text = ?", (new,))
        return kind, "protocol", "id 1"
    if kind == "edit_mode":
        con.execute("UPDATE meta SET value = 'test' WHERE key = 'mode'")
        return kind, "meta", "key mode"
    if kind == "flip_eligible":
        r = int(rng.integers(1, n_ref + 1))
        con.execute("UPDATE referrals SET eligible = 1 - eligible WHERE id = ?", (r,))
        return kind, "referrals", f"id {r}"
    if kind == "edit_upload":
        con.execute("UPDATE uploads SET payload = replace(payload, 'andet', 'fleksjob') WHERE id = 1")
        return kind, "uploads", "id 1"
    if kind == "edit_withdrawal":
        con.execute("UPDATE status_events SET kind = 'excluded' WHERE id = 1")
        return kind, "status_events", "id 1"
    raise AssertionError(kind)


def test_every_single_edit_is_detected_and_named(base, tmp_path):
    rng = np.random.default_rng(20161001)
    kinds = set()
    for i in range(N_EDITS):
        path = tmp_path / f"t{i}.sqlite"
        shutil.copy(base, path)
        con = sqlite3.connect(path)
        kind, table, row = _edits(con, rng)
        con.commit()
        con.close()
        kinds.add(kind)
        with Register.open(path, migrate=False) as r:
            v = r.verify(key())
        assert not v.ok, f"edit {i} ({kind}) not detected"
        named = {(p.table, p.row) for p in v.problems}
        assert (table, row) in named, f"edit {i} ({kind}): expected {table} {row}; got {sorted(named)[:6]}"
        path.unlink()
    assert len(kinds) >= 12, kinds
