"""The CPR leak scan (tests/_cpr_scan_plugin.py) works, and finds nothing now.

The session-wide scan itself runs at the end of every test session when the
plugin is enabled in tests/conftest.py (``pytest_plugins``); these tests check
that the scanner can fail (a planted number is found), that it ignores what it
must ignore (input data), that it does not flag look-alikes, and scan what
this module can already see.
"""
from __future__ import annotations

import logging
import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest

from tests import _cpr_scan_plugin as plugin

ROOT = Path(__file__).resolve().parent.parent
PLANTED = "0101801235"  # synthetic; written only outside the run's basetemp


def test_scanner_finds_a_planted_number_in_any_spelling():
    with tempfile.TemporaryDirectory() as d:  # outside basetemp: must not trip the session scan
        root = Path(d)
        (root / "a.txt").write_text(f"pseudonym;x\nabc;{PLANTED}\n")
        (root / "sub").mkdir()
        (root / "sub" / "b.json").write_text('{"id": "010180-1235"}')
        (root / "c.bin").write_bytes(b"\x00\x01" + PLANTED.encode() + b"\xff")
        hits = dict(plugin.scan_tree(root))
        assert set(hits) == {str(root / "a.txt"), str(root / "sub" / "b.json"), str(root / "c.bin")}
        assert all(h == ["010180-XXXX"] for h in hits.values())  # reported masked


@pytest.mark.parametrize("text", [
    "pseudonym a1b2c3d4e5f60718",      # hex pseudonyms
    "0101801235123",                   # a longer digit run is not a CPR number
    "seed 20161001, fingerprint 6b3faffef05bcb29",
    "3213801234",                      # day 32
    "0113801234",                      # month 13
    "010180-XXXX",                     # the masked form
])
def test_scanner_ignores_look_alikes(text):
    assert plugin.scan_text(text) == []


def test_scanner_checks_file_names_too():
    with tempfile.TemporaryDirectory() as d:
        (Path(d) / f"citizen_{PLANTED}.txt").write_text("nothing inside")
        assert [h for _, h in plugin.scan_tree(Path(d))] == [["010180-XXXX"]]


def test_input_folders_are_excluded_and_output_folders_are_not(tmp_path):
    assert plugin.is_input_path(ROOT / "tests" / "data" / "bad" / "ref_duplicate_cpr.csv")
    assert plugin.is_input_path(ROOT / "bench" / "_data" / "status.csv")
    assert plugin.is_input_path(Path("reports/demo/exports/status.csv"))
    assert plugin.is_input_path(tmp_path / "cpr_input" / "x.csv")
    assert not plugin.is_input_path(tmp_path / "report.html")
    assert not plugin.is_input_path(ROOT / "reports" / "demo" / "register.sqlite")
    assert not plugin.is_input_path(ROOT / "tests" / "test_intake.py")


def test_corpus_holds_numbers_but_is_not_flagged():
    corpus = ROOT / "tests" / "data"
    raw = b"".join(p.read_bytes() for p in corpus.rglob("*.csv"))
    assert plugin.scan_bytes(raw), "the corpus should hold synthetic CPR numbers"
    assert plugin.scan_tree(corpus) == []


def test_repository_output_folders_hold_no_cpr_number():
    for d in plugin.REPO_DIRS:
        assert plugin.scan_tree(ROOT / d) == [], d


def test_basetemp_so_far_holds_no_cpr_number(tmp_path_factory):
    assert plugin.scan_tree(tmp_path_factory.getbasetemp()) == []


def test_session_scan_fails_a_run_that_leaks(tmp_path):
    """A throwaway pytest run whose test prints and writes a CPR number must fail with CPR LEAK."""
    proj = tmp_path / "proj"
    (proj / "tests").mkdir(parents=True)
    digits = "15" + "0275" + "2468"  # built at run time: this file itself stays free of the literal
    (proj / "tests" / "test_leak.py").write_text(textwrap.dedent(f"""
        import logging
        def test_leak(tmp_path):
            d = "{digits[:5]}" + "{digits[5:]}"
            (tmp_path / "out.csv").write_text("x," + d)
            print("oops", d)
            logging.getLogger("x").warning("cpr %s", d)
        """))
    base = tempfile.mkdtemp()  # the inner run's basetemp: outside ours, removed below
    try:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        res = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                              "-p", "tests._cpr_scan_plugin", f"--basetemp={base}/t", "tests"],
                             cwd=proj, capture_output=True, text=True, timeout=120, env=env)
    finally:
        import shutil
        shutil.rmtree(base, ignore_errors=True)
    out = res.stdout + res.stderr
    assert res.returncode == 1, out
    assert "CPR LEAK" in out and "150275-XXXX" in out
    assert digits not in out                    # the report itself masks
    assert "out.csv" in out and "Captured stdout call" in out and "Captured log call" in out


def test_logging_from_intake_never_carries_a_number(caplog, tmp_path):
    from trial.intake import read_status
    src = ROOT / "tests" / "data" / "good" / "status_semicolon.csv"
    with caplog.at_level(logging.DEBUG, logger="trial"):
        read_status(src, key=b"k" * 32)
    assert caplog.records, "intake should log a line per file read"
    assert plugin.scan_text(caplog.text) == []


def test_decimals_of_a_number_are_not_taken_for_a_cpr_number():
    from tests import _cpr_scan_plugin as scan

    assert scan.scan_text('{"npv": 10295.0807978224}') == []
    assert scan.scan_text("cpr 010180-1234") != [] and scan.scan_text("a;0101801234;b") != []
