"""QA round 2 of the quarterly report: a wrong --previous file is refused, a test register says so
on page 1, the weekly figure counts weeks from the referral, attrition is not "not yet observed",
and a WeasyPrint that cannot load its system libraries skips the PDF with a note.

No numeric tolerances: text, exit codes and files.
"""
from __future__ import annotations

import builtins
import dataclasses
import json
import sys
from html import unescape
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from _report_register import build_register  # noqa: E402

from trial.cli import main  # noqa: E402
from trial.report import ReportData, render_html  # noqa: E402


@pytest.fixture(scope="module")
def rep(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("qa")
    reg, *_ = build_register(tmp, n_referrals=48, seed=3)
    reg.close()
    r = str(tmp / "reg.sqlite")
    first, last = tmp / "q1", tmp / "last"
    assert main(["report", "--register", r, "--out", str(first), "--quarter", "2017Q1", "--no-pdf"]) == 0
    assert main(["report", "--register", r, "--out", str(last), "--no-pdf"]) == 0
    from trial.register import Register

    with Register.open(r) as rg:
        q = json.loads((last / "report_data.json").read_text())["quarter"]
        exact = ReportData.from_json(rg.report_snapshot(quarter=q)["json"])
    return {"reg": r, "tmp": tmp, "first": first, "last": last, "exact": exact,
            "html": (last / "report.html").read_text()}


# ---------------------------------------------------------------- 7. --previous
def _edit(src: Path, dst: Path, **changes) -> str:
    d = json.loads(src.read_text())
    d.update(changes)
    dst.write_text(json.dumps(d))
    return str(dst)


@pytest.mark.parametrize("which, needle", [
    ("later", "not before this report's quarter"),
    ("same", "not before this report's quarter"),
    ("other_commitment", "sequence commitment"),
    ("other_protocol", "protocol fingerprint"),
])
def test_wrong_previous_file_exits_2_and_writes_nothing(rep, capsys, which, needle, tmp_path):
    later = rep["last"] / "report_data.json"
    q1 = rep["first"] / "report_data.json"
    argv_q = ["--quarter", "2017Q1"]
    if which == "later":          # a 2017Q1 report "compared" with the latest quarter
        prev = str(later)
    elif which == "same":
        prev = str(q1)
    else:                         # an earlier quarter, but of another register / protocol
        argv_q = []
        key = "sequence_commitment" if which == "other_commitment" else "protocol_fingerprint"
        prev = _edit(q1, tmp_path / "other.json", **{key: "0" * 64})
    out = tmp_path / "out"
    code = main(["report", "--register", rep["reg"], "--out", str(out), "--no-pdf", "--previous", prev, *argv_q])
    err = capsys.readouterr().err
    assert code == 2 and needle in err, err
    assert not out.exists() or not any(out.iterdir())


def test_right_previous_file_is_accepted(rep, tmp_path):
    out = tmp_path / "ok"
    assert main(["report", "--register", rep["reg"], "--out", str(out), "--no-pdf", "--previous",
                 str(rep["first"] / "report_data.json")]) == 0
    assert json.loads((out / "report_data.json").read_text())["previous_quarter"] == "2017Q1"


# ---------------------------------------------------------------- 8. test register on page 1
def test_test_register_banner_on_page_one(rep):
    html = rep["html"]
    assert rep["exact"].register_mode == "test"
    banner = "PRØVE – testregister, ikke forsøgets data"
    assert banner in unescape(html)
    # before the first section (page 1), not only in the appendix
    assert unescape(html).index(banner) < html.index('<section id="summary"')
    en = unescape(render_html(dataclasses.replace(rep["exact"], lang="en")))
    assert "REHEARSAL – test register, not the trial's data" in en and "PRØVE" not in en
    prod = unescape(render_html(dataclasses.replace(rep["exact"], register_mode="production")))
    assert banner not in prod and 'class="banner test-register"' not in prod


# ---------------------------------------------------------------- 9. weeks, attrition wording
def test_weekly_figure_counts_weeks_from_referral(rep):
    from trial.report import plot_self_supporting

    fig = plot_self_supporting(rep["exact"])
    assert fig.axes[0].get_xlabel() == "Uger efter henvisning"
    en = plot_self_supporting(dataclasses.replace(rep["exact"], lang="en"))
    assert en.axes[0].get_xlabel() == "Weeks since referral"
    text = unescape(rep["html"])
    assert "uge efter henvisningen" in text and "efter randomiseringen. Uger" not in text


def test_attrition_is_not_called_not_yet_observed(rep):
    dq = rep["exact"].data_quality
    # in this register every missing confirmatory outcome is attrition (moved away, died, withdrew)
    lost = [s for s in dq if "faldet fra" in s]
    assert len(lost) == 3, dq
    assert not any("endnu" in s for s in dq), dq
    assert rep["exact"].flow.lost.treatment or rep["exact"].flow.lost.control


# ---------------------------------------------------------------- 10. WeasyPrint without system libraries
@pytest.mark.parametrize("exc, needle", [
    (OSError("cannot load library 'libgobject-2.0-0': error 0x7e"), "system libraries"),
    (ImportError("No module named 'weasyprint'"), "not installed"),
])
def test_pdf_skipped_when_weasyprint_cannot_load(rep, monkeypatch, capsys, tmp_path, exc, needle):
    real = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name == "weasyprint" or name.startswith("weasyprint."):
            raise exc
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    out = tmp_path / "nopdf"
    assert main(["report", "--register", rep["reg"], "--out", str(out)]) == 0      # PDF asked for
    text = capsys.readouterr().out
    assert "no PDF" in text and needle in text
    assert (out / "report.html").exists() and not (out / "report.pdf").exists()
    assert main(["report", "--register", rep["reg"], "--out", str(tmp_path / "j"), "--json"]) == 0
    files = json.loads(capsys.readouterr().out)["files"]
    assert files["pdf"] is None and needle in files["note"]
