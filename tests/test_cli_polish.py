"""QA polish of the CLI: --plot formats, empty tables, --protocol in register mode, ignored --blocks,
`trial power --help`, the register's head hash as an anchor against rollback, file-line row numbers and
arm labels in `trial estimate`, and the one Tabel 6 warning of bi25.toml.

Every check is exact (messages, exit codes, equal estimates); no tolerance is needed.
"""
from __future__ import annotations

import dataclasses
import json
import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from trial.cli import main
from trial.protocol import DEFAULT_PROTOCOL, load
from trial.register import _MIRRORED, Register

from ._register_helpers import key, referrals

ROOT = Path(__file__).resolve().parent.parent


# --------------------------------------------------------------------------- 1. balance --plot
def test_balance_plot_extension_checked_before_anything(tmp_path, capsys):
    from trial.cli.cmd_balance import plot_formats

    assert {"png", "pdf", "svg"} <= set(plot_formats())
    # the register does not exist: the --plot message proves the check comes first
    assert main(["balance", "--register", str(tmp_path / "none.sqlite"), "--plot", str(tmp_path / "b.xyz")]) == 2
    err = capsys.readouterr().err
    assert "`--plot`" in err and ".png" in err and ".pdf" in err and "b.xyz" in err and "Traceback" not in err
    assert main(["balance", "--register", str(tmp_path / "none.sqlite"), "--plot", str(tmp_path / "b")]) == 2
    assert "extension missing" in capsys.readouterr().err
    assert main(["balance", "--register", "r.sqlite", "--plot", str(tmp_path / "no" / "b.png")]) == 2
    assert "existing folder" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


# --------------------------------------------------------------------------- 2. empty files
@pytest.mark.parametrize("name,raw,needle", [
    ("empty.csv", b"", "the file is empty"),
    ("blank.csv", b"  \r\n\n\t\n", "the file is empty"),
    ("bom.csv", b"\xef\xbb\xbf", "the file is empty"),
    ("header.csv", b"arm;y\r\n", "has a header but no data rows"),
    ("header_blank.csv", b"arm,y\n\n,\n", "has a header but no data rows"),
    ("header_cr.csv", b"arm,y\r", "has a header but no data rows"),
    ("header_cr2.csv", b"arm,y\r\r\r", "has a header but no data rows"),
])
def test_estimate_on_empty_file_exits_2(tmp_path, capsys, name, raw, needle):
    f = tmp_path / name
    f.write_bytes(raw)
    assert main(["estimate", "--data", str(f), "--treatment", "arm", "--outcome", "y",
                 "--estimator", "difference_in_means"]) == 2
    err = capsys.readouterr().err
    assert needle in err and name in err and "Traceback" not in err


def test_lone_cr_line_endings_are_read_with_file_lines(tmp_path):
    """Old Mac / 'CSV (Macintosh)' files end lines with CR alone (the QA traceback)."""
    from trial.intake import read_table

    f = tmp_path / "mac.csv"
    f.write_bytes(b"arm,y\r1,2\r0,3\r\r1,4\r0,5\r")
    df = read_table(f)
    assert df["y"].tolist() == [2, 3, 4, 5] and df.attrs["file_lines"] == (2, 3, 5, 6)
    lf = tmp_path / "lf.csv"
    lf.write_bytes(b"arm,y\n1,2\n0,3\n\n1,4\n0,5\n")
    assert read_table(lf).equals(df) and read_table(lf).attrs == df.attrs


# --------------------------------------------------------------------------- 3. business-case --protocol
def test_business_case_refuses_another_protocol_in_register_mode(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    proto = load(DEFAULT_PROTOCOL)
    Register.create("reg.sqlite", proto, key=key(), mode="test").close()
    text = Path(DEFAULT_PROTOCOL).read_text(encoding="utf-8")
    other = tmp_path / "other.toml"
    other.write_text(text.replace(f'id = "{proto.trial.id}"', 'id = "another-trial"', 1), encoding="utf-8")
    other_fp = load(other).fingerprint
    assert other_fp != proto.fingerprint
    assert main(["business-case", "--register", "reg.sqlite", "--protocol", str(other), "--json"]) == 2
    cap = capsys.readouterr()
    assert "--protocol" in cap.err and other_fp[:12] in cap.err and proto.fingerprint[:12] in cap.err
    assert json.loads(cap.out)["error"] == "BusinessCaseError"


# --------------------------------------------------------------------------- 4. ignored --blocks
@pytest.fixture(scope="module")
def tidy():
    rng = np.random.default_rng(4)
    n = 40
    return pd.DataFrame({"z": np.tile([1, 0], n // 2), "y": rng.integers(0, 2, n), "t": rng.integers(1, 100, n),
                         "e": rng.integers(0, 2, n), "x": rng.normal(size=n), "blk": np.repeat([1, 2], n // 2),
                         "c": rng.poisson(3.0, n)})


def test_every_estimator_that_ignores_blocks_says_so(tidy):
    from trial.estimate import BLOCKS_IGNORED_NOTE, ESTIMATORS, USES_BLOCKS, estimate

    for name in ESTIMATORS:
        kw = dict(outcome="c" if name in ("negbin", "poisson_robust") else "y", treatment="z", covariates=["x"],
                  time="t", event="e", n_resamples=200, rng=1)
        with_blocks = estimate(tidy, name, blocks="blk", **kw)
        without = estimate(tidy, name, **kw)
        assert BLOCKS_IGNORED_NOTE not in without.note, name
        if name in USES_BLOCKS:
            assert BLOCKS_IGNORED_NOTE not in with_blocks.note, name
        else:
            assert with_blocks.note.endswith(BLOCKS_IGNORED_NOTE), name
            assert with_blocks.estimate == without.estimate or (np.isnan(with_blocks.estimate)
                                                                and np.isnan(without.estimate)), name


def test_cli_prints_the_blocks_note(tmp_path, tidy, capsys):
    f = tmp_path / "d.csv"
    tidy.to_csv(f, index=False)
    argv = ["estimate", "--data", str(f), "--treatment", "z", "--outcome", "y", "--blocks", "blk",
            "--covariates", "x", "--estimator", "lin_hc2", "--estimator", "difference_in_means"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert out.count("note: blocks are used only by difference_in_means (blocked) and randomization_inference; "
                     "ignored here") == 1
    assert main(argv + ["--json"]) == 0
    notes = [e["note"] for e in json.loads(capsys.readouterr().out)["estimates"]]
    assert "ignored here" in notes[0] and "ignored here" not in notes[1]


# --------------------------------------------------------------------------- 5. power --help
def test_power_help_has_no_doubled_defaults(capsys):
    with pytest.raises(SystemExit):
        main(["power", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "%%" not in out and "80 % power" in out
    assert "(default: None)" not in out and "(default: [])" not in out and "(default: False)" not in out
    assert ") (default:" not in out
    for text in ("test size (default: 0.05)", "(default: 5000)", "(default: all)", "(default: two-sided)"):
        assert text in out, text


# --------------------------------------------------------------------------- 6. verify: head hash, rollback
def _rollback(path: str, keep: int, head_hash: str) -> None:
    """Delete every audit entry after ``keep`` and the rows they wrote, and reset the head consistently."""
    con = sqlite3.connect(path)
    for table in _MIRRORED:
        if con.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (table,)).fetchone():
            con.execute(f"DELETE FROM {table} WHERE audit_id > ?", (keep,))
    con.execute("DELETE FROM audit WHERE id > ?", (keep,))
    con.execute("UPDATE meta SET value = ? WHERE key = 'head_id'", (str(keep),))
    con.execute("UPDATE meta SET value = ? WHERE key = 'head_hash'", (head_hash,))
    con.commit()
    con.close()


def test_verify_prints_head_and_detects_a_rollback_with_expect_head(tmp_path, capsys):
    path = str(tmp_path / "r.sqlite")
    k = key()
    with Register.create(path, load(DEFAULT_PROTOCOL), key=k, mode="test") as reg:
        reg.enroll_frame(referrals(6, 1, eligible_only=True), key=k)
        first = reg.verify(k)
        reg.enroll_frame(referrals(6, 2, eligible_only=True, prefix="b"), key=k)
        second = reg.verify(k)
    assert first.ok and second.ok and second.n_audit > first.n_audit
    audit = pd.read_sql("SELECT id, hash FROM audit", sqlite3.connect(path))
    assert second.head_hash == audit["hash"].iloc[-1] and first.head_hash == audit["hash"].iloc[first.n_audit - 1]
    base = ["verify", "--register", path, "--skip-allocations"]
    assert main(base) == 0
    out = capsys.readouterr().out
    assert f"head hash {second.head_hash}" in out and f"{second.n_audit} audit entries" in out
    assert main(base + ["--json", "--expect-head", first.head_hash[:12].upper()]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["head_hash"] == second.head_hash and d["n_audit"] == second.n_audit
    assert f"is entry {first.n_audit} of {second.n_audit}" in " ".join(d["checks"])

    _rollback(path, first.n_audit, first.head_hash)
    assert main(base) == 0                        # consistent rollback: the chain alone cannot see it
    capsys.readouterr()
    assert main(base + ["--expect-head", second.head_hash]) == 1
    out = capsys.readouterr().out
    assert second.head_hash in out and "rolled back" in out
    assert main(base + ["--expect-head", first.head_hash]) == 0
    capsys.readouterr()
    for bad in ("xyz", "abc123", "g" * 64, "a" * 65):
        assert main(base + ["--expect-head", bad]) == 2
        assert "`--expect-head`" in capsys.readouterr().err


# --------------------------------------------------------------------------- 7. estimate: rows, labels
def test_estimate_rows_are_file_lines(tmp_path, capsys):
    f = tmp_path / "d.csv"
    f.write_text("arm;y\n1;2\n\n0;1\n1;x\n0;3\n", encoding="utf-8")        # 'x' on file line 5
    assert main(["estimate", "--data", str(f), "--treatment", "arm", "--outcome", "y",
                 "--estimator", "difference_in_means"]) == 2
    err = capsys.readouterr().err
    assert "row 5 holds 'x'" in err and "data row" not in err and "d.csv" in err
    f.write_text("arm;y\n1;2\n\n0;1\n1;3\n0;2\n", encoding="utf-8")        # 2 on file line 2: not 0/1
    assert main(["estimate", "--data", str(f), "--treatment", "arm", "--outcome", "y", "--estimator", "fisher"]) == 2
    assert "row 2 holds 2" in capsys.readouterr().err
    f.write_text("arm;y\n1;2\n\n0;1\n\n2;3\n0;2\nx;1\n", encoding="utf-8")  # bad arms on lines 6 and 8
    assert main(["estimate", "--data", str(f), "--treatment", "arm", "--outcome", "y",
                 "--estimator", "difference_in_means", "--json"]) == 2
    probs = json.loads(capsys.readouterr().out)["problems"]
    assert [(p["row"], p["column"]) for p in probs] == [(6, "arm"), (8, "arm")]
    assert "holds '2'" in probs[0]["message"] and "control/treatment" in probs[0]["message"]


@pytest.mark.parametrize("labels", [("treatment", "control"), ("Behandling", " KONTROL "),
                                    ("deltagergruppe", "kontrolgruppe"), ("TRUE", "false")])
def test_estimate_accepts_arm_labels(tmp_path, capsys, labels):
    rng = np.random.default_rng(3)
    z = np.tile([1, 0], 15)
    y = rng.normal(size=z.size).round(3)
    ref = tmp_path / "ref.csv"
    pd.DataFrame({"arm": z, "y": y}).to_csv(ref, index=False)
    lab = tmp_path / "lab.csv"
    pd.DataFrame({"arm": np.where(z == 1, *labels), "y": y}).to_csv(lab, index=False)
    out = []
    for f in (ref, lab):
        assert main(["estimate", "--data", str(f), "--treatment", "arm", "--outcome", "y",
                     "--estimator", "difference_in_means", "--json"]) == 0
        out.append(json.loads(capsys.readouterr().out)["estimates"][0])
    assert out[1]["estimate"] == out[0]["estimate"] and out[1]["n_treatment"] == 15
    assert out[1]["std_error"] == out[0]["std_error"]


# --------------------------------------------------------------------------- 8. Tabel 6 of bi25.toml
def test_bi25_net_flex_job_line_gives_one_table6_warning(capsys):
    from trial.business_case import compute_case, load_case

    res = compute_case(load_case(ROOT / "trial" / "data" / "bi25.toml"))
    t6 = [w for w in res.warnings_da if "Tabel 6" in w or "table6" in w]
    assert len(t6) == 1 and "kan ikke genskabes" in t6[0] and "følger ikke af linjerne" not in t6[0]
    assert "fleksjob" in t6[0] and "Beskæftigelses- og Integrationsudvalget" in t6[0]
    assert len(res.warnings) == len(res.warnings_da) == 4
    # the genuine inconsistencies keep their wording
    assert sum("følger ikke af linjerne" in w for w in res.warnings_da) == 3
    assert any("total_impact_as_printed" in w for w in res.warnings_da)
    assert sum("key_as_printed" in w for w in res.warnings_da) == 2
    assert main(["business-case", str(ROOT / "trial" / "data" / "bi25.toml")]) == 0
    assert capsys.readouterr().out.count("ADVARSEL") == 4


def test_table6_split_whose_net_differs_stays_a_warning_per_figure():
    from trial.business_case import compute_case, load_case

    case = load_case(ROOT / "trial" / "data" / "bi25.toml")
    pub = dict(case.published)
    t6 = dict(pub["table6_transfers_by_committee"])
    t6["Beskaeftigelses_og_Integrationsudvalget_cost"] = [0, 0, 0, 700, 700, 700]   # net now off by 61
    pub["table6_transfers_by_committee"] = t6
    res = compute_case(dataclasses.replace(case, published=pub))
    w = [x for x in res.warnings if "table6" in x]
    assert len(w) == 4 and all("does not follow from the lines" in x for x in w)
