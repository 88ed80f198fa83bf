"""An outcome without variation gets a result that says so and no test (QA round 2), and the
treatment column may hold the protocol's arm ids.

Mid-trial an endpoint can be constant (nobody extended yet): the robust variance of a
regression is then rounding noise (~1e-32) and a t-test on it is noise too (QA saw
lin_hc2 2.2e-16 with p 0.72 and a randomization interval of ±2.9e-11). Every estimator
must detect that (exact equality, not a variance threshold: the variance of copies of
3.7 is not 0 in floating point) and return estimate, standard error 0 and NaN statistic,
p-value and interval, with a note, as difference_in_means does.
"""
from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

import trial.estimate as te
from trial.cli import main
from trial.exceptions import ParameterError

Z = np.array([1] * 20 + [0] * 25)


def _frame(y):
    rng = np.random.default_rng(3)
    return pd.DataFrame({"z": Z, "y": y, "x": rng.normal(size=Z.size), "w": rng.normal(size=Z.size),
                         "b": np.tile(["a", "b", "c"], 15), "expo": np.ones(Z.size)})


CONTINUOUS = {
    "difference_in_means": lambda d: te.difference_in_means(d, outcome="y", treatment="z"),
    "blocked_dim": lambda d: te.difference_in_means(d, outcome="y", treatment="z", blocks="b"),
    "ols_hc2": lambda d: te.ols_robust(d, outcome="y", treatment="z"),
    "ols_hc0_cov": lambda d: te.ols_robust(d, outcome="y", treatment="z", covariates=["x"], se_type="HC0"),
    "ancova_hc2": lambda d: te.ancova(d, outcome="y", treatment="z", covariates=["x", "w"]),
    "lin_hc2": lambda d: te.lin_adjusted(d, outcome="y", treatment="z", covariates=["x", "w"]),
    "ri": lambda d: te.randomization_inference(d, outcome="y", treatment="z", n_resamples=300, rng=1),
    "ri_blocked": lambda d: te.randomization_inference(d, outcome="y", treatment="z", scheme="blocked",
                                                       blocks="b", n_resamples=300, rng=1),
}


def _no_test(r):
    return (math.isnan(r.statistic) and math.isnan(r.p_value) and math.isnan(r.ci_low)
            and math.isnan(r.ci_high) and r.std_error == 0.0 and r.note)


@pytest.mark.parametrize("value", [0.0, 1.0, 3.7])
@pytest.mark.parametrize("name", sorted(CONTINUOUS))
def test_constant_outcome_gives_no_test(name, value):
    # 3.7: the mean of 45 copies is not exactly 3.7 and the sample variance is ~1e-31, not 0
    r = CONTINUOUS[name](_frame(np.full(Z.size, value)))
    assert r.estimate == 0.0 and _no_test(r), (name, r)
    assert "same for every citizen" in r.note
    assert r.confidence_interval(0.9) == pytest.approx((math.nan, math.nan), nan_ok=True)


@pytest.mark.parametrize("name", ["difference_in_means", "ols_hc2", "ols_hc0_cov", "ancova_hc2", "lin_hc2"])
def test_no_variation_within_arms_gives_no_test(name):
    # all treated 3.7, all controls 1.2: the difference is exact, its standard error 0, nothing to test
    r = CONTINUOUS[name](_frame(np.where(Z == 1, 3.7, 1.2)))
    assert r.estimate == 3.7 - 1.2 and _no_test(r), (name, r)
    assert "does not vary within either arm" in r.note


def test_perfect_fit_on_a_covariate_gives_no_test():
    d = _frame(np.zeros(Z.size))
    d["y"] = 2.0 * d["x"] + 1.0 + 0.5 * d["z"]      # y is an exact linear function of z and x
    r = te.ancova(d, outcome="y", treatment="z", covariates=["x"])
    assert _no_test(r) and "fits every citizen exactly" in r.note and r.estimate == pytest.approx(0.5, abs=1e-12)


def test_randomization_inference_within_arm_constant_is_still_a_test():
    # re-randomization needs no within-arm variance: y = z is a valid (exact-ish) test
    r = CONTINUOUS["ri"](_frame(Z.astype(float)))
    assert r.estimate == pytest.approx(1.0, abs=1e-12) and r.p_value < 0.01 and "same for every citizen" not in r.note


def test_varying_outcomes_keep_their_test():
    rng = np.random.default_rng(5)
    d = _frame(rng.normal(size=Z.size) + Z)
    for name, f in CONTINUOUS.items():
        r = f(d)
        assert math.isfinite(r.p_value) and r.std_error > 0 and "same for every" not in r.note, name


@pytest.mark.parametrize("value", [0, 1])
def test_binary_estimators_on_a_constant_outcome(value):
    d = _frame(np.full(Z.size, value))
    for f in (te.risk_difference, te.risk_ratio, te.fisher_exact, te.boschloo_exact, te.odds_ratio):
        r = f(d, outcome="y", treatment="z")
        assert math.isnan(r.p_value) and math.isnan(r.statistic) and "same for every citizen" in r.note, f.__name__
    # the Newcombe interval for 0/20 vs 0/25 still bounds the difference (Wilson limits, as before)
    rd = te.risk_difference(d, outcome="y", treatment="z")
    assert rd.estimate == 0.0 and rd.ci_low < 0 < rd.ci_high


def test_counts_with_a_rate_that_does_not_vary_give_no_test():
    d = _frame(np.full(Z.size, 2.0))
    d["expo"] = np.where(Z == 1, 0.5, 1.0)
    d["y"] = np.where(Z == 1, 1.0, 2.0)                    # every citizen's rate is exactly 2
    for f in (te.poisson_robust, te.ratio_of_means):
        r = f(d, outcome="y", treatment="z", exposure="expo")
        assert r.estimate == pytest.approx(1.0, abs=1e-15) and _no_test(r) and "does not vary" in r.note


def test_analysis_table_row_shows_the_note():
    d = _frame(np.zeros(Z.size))
    r = te.lin_adjusted(d, outcome="y", treatment="z", covariates=["x"])
    row = r.to_frame().iloc[0]
    assert math.isnan(row["p_value"]) and "no test" in row["note"]
    assert "no test" in r.summary()


# --------------------------------------------------------------------------- treatment column
@pytest.mark.parametrize("codes", [
    ("deltagergruppe", "kontrolgruppe"), (" Deltagergruppe", "KONTROLGRUPPE "), (True, False), ("1", "0"),
    ("True", "false"),
])
def test_treatment_column_accepts_arm_ids_and_booleans(codes):
    rng = np.random.default_rng(2)
    y = rng.normal(size=Z.size)
    d = pd.DataFrame({"arm": np.where(Z == 1, codes[0], codes[1]).astype(object), "y": y})
    if isinstance(codes[0], bool):
        d["arm"] = Z.astype(bool)
    ref = te.difference_in_means(pd.DataFrame({"z": Z, "y": y}), outcome="y", treatment="z")
    r = te.difference_in_means(d, outcome="y", treatment="arm")
    assert r.estimate == ref.estimate and r.n_treatment == 20 and r.std_error == ref.std_error


@pytest.mark.parametrize("values,needle", [
    (["deltagergruppe", "gruppe A"], "data row 21 holds 'gruppe A'"),
    (["deltagergruppe", None], "data row 21 is empty"),
    (["kontrolgruppe", "kontrolgruppe"], "holds only kontrolgruppe"),
])
def test_treatment_column_refuses_other_values(values, needle):
    d = pd.DataFrame({"arm": np.where(Z == 1, values[0], values[1] or "x").astype(object), "y": 1.0})
    if values[1] is None:
        d.loc[Z == 0, "arm"] = None
    with pytest.raises(ParameterError) as ei:
        te.difference_in_means(d, outcome="y", treatment="arm")
    assert needle in str(ei.value) and "deltagergruppe" in str(ei.value)


def test_cli_accepts_arm_labels_and_writes_singular_row(tmp_path, capsys):
    y = np.r_[np.linspace(0, 1, 20), np.linspace(0, 2, 25)]
    d = pd.DataFrame({"arm": np.where(Z == 1, "deltagergruppe", "kontrolgruppe"), "y": y})
    d.loc[3, "y"] = np.nan
    f = tmp_path / "d.csv"
    d.to_csv(f, index=False)
    code = main(["estimate", "--data", str(f), "--treatment", "arm", "--outcome", "y",
                 "--estimator", "difference_in_means", "--json"])
    out = json.loads(capsys.readouterr().out)["estimates"][0]
    assert code == 0 and out["n_treatment"] == 19 and out["n_control"] == 25
    assert out["note"] == "1 row with a missing value was left out"
    d.loc[4, "y"] = np.nan
    assert te.difference_in_means(d, outcome="y", treatment="arm").note == "2 rows with a missing value were left out"
