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

    outs = []
    for name in ("demo_a", "demo_b"):
        out = tmp_path_factory.mktemp(name) / "demo"
        run_demo(out, seed=2016, n_referrals=600, echo=lambda *_: None)
        outs.append(out)
    return outs


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
