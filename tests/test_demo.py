"""`trial demo`: the whole chain runs, is reproducible, and writes no CPR number."""
from __future__ import annotations

import hashlib

import pytest

from tests import _cpr_scan_plugin as scan

EXPECTED = ["analysis.csv", "analysis.json", "balance.csv", "business_case.json", "intake_summary.json",
            "power.json", "protocol_fingerprint.txt", "register.sqlite", "report.html", "report_data.json"]


@pytest.fixture(scope="module")
def two_demos(tmp_path_factory):
    from trial.demo import run_demo

    import contextlib
    import io
    import json

    from trial.cli import main

    out_a = tmp_path_factory.mktemp("demo_a") / "demo"
    run_demo(out_a, seed=2016, n_referrals=600, echo=lambda *_: None)
    # the second through the command line, `--json`: the log goes to stderr, stdout is one JSON document
    out_b = tmp_path_factory.mktemp("demo_b") / "demo"
    so, se = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(so), contextlib.redirect_stderr(se):
        assert main(["demo", "--out", str(out_b), "--seed", "2016", "--json"]) == 0
    doc = json.loads(so.getvalue())
    assert doc["out"] == str(out_b) and set(EXPECTED) <= set(doc["files"]) and "=== " in se.getvalue()
    return [out_a, out_b]


def _digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_demo_writes_every_stage(two_demos):
    a, _ = two_demos
    for name in EXPECTED:
        assert (a / name).is_file(), name


@pytest.mark.parametrize("name", ["analysis.csv", "business_case.json", "power.json", "report.html",
                                  "balance.csv", "intake_summary.json"])
def test_same_seed_same_outputs(two_demos, name):
    a, b = two_demos
    assert _digest(a / name) == _digest(b / name)


def test_demo_output_holds_no_cpr_number(two_demos):
    a, _ = two_demos
    assert scan.scan_tree(a) == []
    assert not (a / "exports").exists()


def test_demo_report_data_renders_again(two_demos):
    from trial.report import ReportData, render_html

    assert '<section id="summary"' in render_html(ReportData.from_json(two_demos[0] / "report_data.json"))
