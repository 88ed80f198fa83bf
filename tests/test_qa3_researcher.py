"""Acceptance review (round 3) of the researcher's area: power, diagnose, estimate, outcomes, analyze.

Each test pins a defect found by using the tool as a researcher would:

* ``trial diagnose --control-size 0`` (or 1) ran, printed numpy warnings and nonsense, and exited 0;
* ``trial estimate --estimator ols_hc2 --covariates ...`` answered with ``"estimator": "ancova_hc2"``
  (and ``ols_hc1`` with ``ancova_hc1``, not a CLI name), so a tool matching its request by name failed;
* the count and survival checks named a value as ``np.float64(127.775)`` with no row;
* randomization inference with a block holding one arm stopped the whole command (exit 2, no other
  estimate), where the blocked difference in means returns a result that says why;
* ``trial analyze`` showed "–" for endpoints not yet observed without saying why (only in the JSON).
"""
from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from trial.analysis import analyze_frames
from trial.cli import main
from trial.diagnose import diagnose
from trial.estimate import randomization_inference
from trial.exceptions import ParameterError

from ._outcomes_synth import synthetic_frames


def _cli(capsys, *argv):
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.parametrize("size", [0, 1])
def test_diagnose_refuses_a_control_group_too_small_to_estimate(capsys, size):
    code, out, err = _cli(capsys, "diagnose", "--control-size", size, "--sims", 10, "--seed", 1, "--no-progress")
    assert code == 2 and out == ""
    assert "`n_control` must be a whole number of at least 2" in err and "Warning" not in err


def test_diagnose_notes_a_tiny_arm_and_counts_trials_without_a_standard_error(protocol):
    r = diagnose(protocol, n_sims=200, rng=1, n_control=5, progress=False)
    assert any("an arm of 5 citizens leaves Lin's adjustment" in n for n in r.notes)
    rows = r.to_frame()
    lin = rows[rows["estimator"] == "lin_hc2"]
    assert (lin["undefined_share"] > 0).any()           # saturated fits: no finite SE, counted as undefined
    assert not any("an arm of" in n for n in diagnose(protocol, n_sims=20, rng=1, progress=False).notes)


def test_diagnose_api_checks_arm_sizes(protocol):
    with pytest.raises(ParameterError, match="n_treatment"):
        diagnose(protocol, n_sims=10, rng=1, n_treatment=1, progress=False)
    with pytest.raises(ParameterError, match="n_control"):
        diagnose(protocol, n_sims=10, rng=1, n_control=2.5, progress=False)


@pytest.fixture()
def tidy(tmp_path):
    rng = np.random.default_rng(4)
    n = 60
    z = np.r_[np.ones(20, int), np.zeros(40, int)]
    d = pd.DataFrame({"arm": z, "blk": np.tile(["a", "b"], n // 2), "x": rng.normal(size=n),
                      "y": rng.normal(size=n) + 0.5 * z, "count": rng.poisson(2, n),
                      "time": rng.integers(1, 50, n), "event": rng.integers(0, 2, n)})
    return d


def test_estimate_reports_the_estimator_asked_for(tmp_path, capsys, tidy):
    f = tmp_path / "tidy.csv"
    tidy.to_csv(f, index=False)
    names = ["ols_hc0", "ols_hc1", "ols_hc2", "ols_hc3", "ancova_hc2", "lin_hc2"]
    code, out, err = _cli(capsys, "estimate", "--data", f, "--treatment", "arm", "--outcome", "y",
                          "--covariates", "x", *[a for nm in names for a in ("--estimator", nm)], "--json")
    assert code == 0, err
    est = json.loads(out)["estimates"]
    assert [e["estimator"] for e in est] == names
    # same model, same HC2 standard error: only the label follows the request
    assert est[2]["std_error"] == est[4]["std_error"]
    assert est[0]["std_error"] < est[1]["std_error"]          # HC0 < HC1 (n/(n-k) > 1)


@pytest.mark.parametrize("column, value, estimator, message", [
    ("count", 2.5, "poisson_robust", "column 'count' must hold counts (whole numbers ≥ 0); row 5 holds 2.5"),
    ("count", -1, "negbin", "column 'count' must hold counts (whole numbers ≥ 0); row 5 holds -1"),
    ("event", 2, "cox", "column 'event' must be 0 (censored) or 1 (event); row 5 holds 2"),
    ("time", -3, "logrank", "column 'time' must be ≥ 0; row 5 holds -3"),
])
def test_count_and_survival_errors_name_the_file_line(tmp_path, capsys, tidy, column, value, estimator, message):
    d = tidy.astype({column: float})
    d.loc[1, "y"] = np.nan                  # a missing row before the bad one: the line must not shift
    d.loc[3, column] = value                # data row 4 = file line 5
    f = tmp_path / "bad.csv"
    d.to_csv(f, index=False)
    code, out, err = _cli(capsys, "estimate", "--data", f, "--treatment", "arm", "--outcome", "count",
                          "--time", "time", "--event", "event", "--estimator", estimator)
    assert code == 2 and out == ""
    assert message in err and "np.float64" not in err and "bad.csv" in err


def test_randomization_inference_with_a_one_arm_block_says_why(tmp_path, capsys, tidy):
    d = tidy.copy()
    d.loc[d.blk == "b", "arm"] = 0          # block b: kontrolgruppe only
    r = randomization_inference(d, outcome="y", treatment="arm", scheme="blocked", blocks="blk",
                                n_resamples=50, rng=1)
    assert math.isnan(r.estimate) and math.isnan(r.p_value) and math.isnan(r.ci_low)
    assert "block(s) b hold only one arm" in r.note
    f = tmp_path / "tidy.csv"
    d.to_csv(f, index=False)
    code, out, err = _cli(capsys, "estimate", "--data", f, "--treatment", "arm", "--outcome", "y", "--blocks", "blk",
                          "--estimator", "difference_in_means", "--estimator", "randomization_inference",
                          "--estimator", "ols_hc2", "--seed", 1, "--json")
    assert code == 0, err
    est = {e["estimator"]: e for e in json.loads(out)["estimates"]}
    assert est["randomization_inference"]["estimate"] is None and "only one arm" in est["randomization_inference"]["note"]
    assert est["difference_in_means"]["estimate"] is None and "only one arm" in est["difference_in_means"]["note"]
    assert est["ols_hc2"]["estimate"] is not None


def test_analyze_text_says_why_rows_have_no_estimate(protocol):
    enr, st, ev, sv = synthetic_frames(protocol, 120, seed=5, effect=1.0)
    res = analyze_frames(protocol, enr, st, ev, sv, as_of="2018-01-15", n_resamples=20, rng=1)
    text = res.summary()
    assert "no estimate (–):" in text
    missing = res.table[res.table.estimate.isna()]
    assert len(missing) > 0
    for note in missing.note.unique():
        assert note in text
    reasons = text.split("no estimate (–):", 1)[1]
    assert "ordinary_employment" in reasons and "followed to week 156" in reasons


def test_randomization_inference_without_a_seed_records_one_that_reproduces_it(tmp_path, capsys, tidy):
    r = randomization_inference(tidy, outcome="y", treatment="arm", n_resamples=200)
    assert isinstance(r.seed, int) and 0 <= r.seed < 2 ** 63
    again = randomization_inference(tidy, outcome="y", treatment="arm", n_resamples=200, rng=r.seed)
    assert again.p_value == r.p_value and again.ci_low == r.ci_low
    f = tmp_path / "tidy.csv"
    tidy.to_csv(f, index=False)
    argv = ["estimate", "--data", f, "--treatment", "arm", "--outcome", "y", "--estimator", "randomization_inference",
            "--n-resamples", 200, "--json"]
    code, out, err = _cli(capsys, *argv)
    first = json.loads(out)["estimates"][0]
    assert code == 0 and isinstance(first["seed"], int) and first["n_resamples"] == 200 and first["exact"] is False
    code, out, err = _cli(capsys, *argv, "--seed", first["seed"])
    assert json.loads(out)["estimates"][0]["p_value"] == first["p_value"]


def test_estimate_negative_seed_is_a_usage_error_not_a_traceback(tmp_path, capsys, tidy):
    f = tmp_path / "tidy.csv"
    tidy.to_csv(f, index=False)
    code, out, err = _cli(capsys, "estimate", "--data", f, "--treatment", "arm", "--outcome", "y",
                          "--estimator", "randomization_inference", "--seed", -1)
    assert code == 2 and out == "" and "`--seed` must be a whole number >= 0; got -1" in err
    assert "Traceback" not in err
    with pytest.raises(ParameterError, match="rng"):
        randomization_inference(tidy, outcome="y", treatment="arm", rng=-1)


def test_errors_without_a_row_do_not_talk_about_rows(tmp_path, capsys, tidy):
    f = tmp_path / "tidy.csv"
    tidy.to_csv(f, index=False)
    code, out, err = _cli(capsys, "estimate", "--data", f, "--treatment", "arm", "--outcome", "y",
                          "--estimator", "ols_hc2", "--confidence-level", 95)
    assert code == 2 and "`confidence_level` must be a number in (0, 1)" in err
    assert "tidy.csv" in err and "rows are file lines" not in err
