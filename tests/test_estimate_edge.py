"""Edge cases say why; panel/IV/Lee/subgroups/multiplicity checked against closed forms; CLI contract.

Tolerances: 1e-10 relative where two closed forms of the same quantity are
compared (panel vs HC0 on citizen means, IV vs the Wald ratio, multiplicity
vs hand-computed adjustments).
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


@pytest.fixture
def small():
    rng = np.random.default_rng(1)
    z = np.array([1] * 20 + [0] * 40)
    return pd.DataFrame({"z": z, "y": rng.normal(size=60) + z, "yb": rng.integers(0, 2, 60),
                         "g": np.tile(["a", "b", "c"], 20), "x": rng.normal(size=60),
                         "t": rng.integers(1, 50, 60), "e": rng.integers(0, 2, 60),
                         "cnt": rng.poisson(2, 60), "expo": rng.uniform(0.5, 2, 60)})


def test_leverage_one_under_hc2_says_why(small):
    d = small.copy()
    d["single"] = ["only"] + ["many"] * 59  # a covariate category with one citizen: h = 1
    r = te.ols_robust(d, outcome="y", treatment="z", covariates=["single"], se_type="HC2")
    assert math.isfinite(r.estimate) and math.isnan(r.std_error) and "leverage 1" in r.note and "#395" in r.note
    assert math.isfinite(te.ols_robust(d, outcome="y", treatment="z", covariates=["single"], se_type="HC1").std_error)


def test_stratum_with_one_arm_and_singletons(small):
    d = small.copy()
    d["b"] = np.where(np.arange(60) < 10, "s1", "s2")  # s1 holds treated only
    r = te.difference_in_means(d, outcome="y", treatment="z", blocks="b")
    assert math.isnan(r.estimate) and "only one arm" in r.note and "s1" in r.note
    one = pd.DataFrame({"z": [1, 0, 0, 0], "y": [1.0, 2, 3, 4]})
    r = te.difference_in_means(one, outcome="y", treatment="z")
    assert math.isfinite(r.estimate) and "single citizen" in r.note


def test_no_events_and_everyone_censored(small):
    d = small.copy()
    d["cnt"] = np.where(d.z == 0, 0, d.cnt)
    for f in (te.negbin_rate_ratio, te.poisson_robust, te.ratio_of_means):
        r = f(d, outcome="cnt", treatment="z", exposure="expo")
        assert "no events in the kontrolgruppe" in r.note and math.isnan(r.estimate)
    d["e"] = 0
    for f in (te.cox, te.logrank, te.kaplan_meier):
        r = f(d, time="t", event="e", treatment="z")
        assert "censored" in r.note
    d["e"] = np.where(d.z == 1, 1, 0)
    r = te.cox(d, time="t", event="e", treatment="z")
    assert "monotone" in r.note and r.p_value < 0.05


def test_bad_input_names_parameter(small):
    with pytest.raises(ParameterError, match="outcome.*'nope'"):
        te.difference_in_means(small, outcome="nope", treatment="z")
    d = small.copy()
    d.loc[3, "z"] = 2
    with pytest.raises(ParameterError, match="data row 4"):
        te.difference_in_means(d, outcome="y", treatment="z")
    with pytest.raises(ParameterError, match="confidence_level"):
        te.difference_in_means(small, outcome="y", treatment="z", confidence_level=1.5)
    with pytest.raises(ParameterError, match="estimator"):
        te.estimate(small, "magic", outcome="y", treatment="z")


def test_cpr_never_echoed():
    d = pd.DataFrame({"z": ["010190-1234", "0"], "y": [1.0, 2.0]})
    with pytest.raises(ParameterError) as exc:
        te.difference_in_means(d, outcome="y", treatment="z")
    assert "1234" not in str(exc.value) and "010190-XXXX" in str(exc.value)


def test_result_api(small):
    r = te.difference_in_means(small, outcome="y", treatment="z")
    f = r.to_frame()
    for c in ("estimate", "std_error", "statistic", "df", "p_value", "ci_low", "ci_high", "n_treatment",
              "n_control", "method"):
        assert c in f.columns
    assert "difference_in_means" in str(r) and r._repr_html_().startswith("<")
    lo, hi = r.confidence_interval(0.99)
    assert lo < r.ci_low < r.ci_high < hi
    with pytest.raises(Exception):
        r.estimate = 0  # frozen
    g = te.difference_in_means(small, outcome="y", treatment="z", alternative="greater")
    assert g.ci_high == math.inf and g.p_value == pytest.approx(r.p_value / 2)


def test_panel_pooled_equals_hc0_on_citizen_means():
    rng = np.random.default_rng(4)
    n, weeks = 40, 26
    z = np.repeat(rng.permutation([1] * 15 + [0] * 25), weeks)
    unit = np.repeat(np.arange(n), weeks)
    week = np.tile(np.arange(1, weeks + 1), n)
    y = (rng.random(n * weeks) < 0.2 + 0.15 * z).astype(int)
    panel = pd.DataFrame({"pseudonym": unit.astype(str), "week": week, "z": z, "ss": y})
    r = te.panel_effects(panel, outcome="ss", treatment="z", period_weeks=13)
    means = panel.groupby("pseudonym").agg(y=("ss", "mean"), z=("z", "first")).reset_index()
    hc0 = te.ols_robust(means, outcome="y", treatment="z", se_type="HC0")
    assert r.estimate == pytest.approx(hc0.estimate, rel=1e-10)
    # linearmodels' clustered covariance is CR0 times N/(N - k) (N citizen-weeks, k = 2 regressors)
    N = len(panel)
    assert r.std_error == pytest.approx(hc0.std_error * math.sqrt(N / (N - 2)), rel=1e-10)
    assert list(r.periods.period) == [1, 2]
    p1 = panel[panel.week <= 13].groupby("z").ss.mean()
    assert r.periods.estimate.iloc[0] == pytest.approx(p1[1] - p1[0], rel=1e-10)
    assert set(r.weekly.arm) == {"deltagergruppe", "kontrolgruppe"}
    fig = te.plot_weekly_shares(r)
    assert fig.axes


def test_iv_equals_wald_ratio(small):
    rng = np.random.default_rng(2)
    d = small.copy()
    d["takeup"] = np.where(d.z == 1, (rng.random(60) < 0.8).astype(int), 0)
    r = te.complier_average_effect(d, outcome="y", treatment="z", takeup="takeup")
    itt_y = d[d.z == 1].y.mean() - d[d.z == 0].y.mean()
    itt_d = d[d.z == 1].takeup.mean() - d[d.z == 0].takeup.mean()
    assert r.estimate == pytest.approx(itt_y / itt_d, rel=1e-10)
    assert r.first_stage_estimate == pytest.approx(itt_d, rel=1e-10) and r.first_stage_f > 10


def test_lee_bounds_hand_example():
    # treated: 4 of 5 observed (q1 = .8); control: 2 of 5 observed... use q1 .8, q0 .4 -> trim p = .5
    d = pd.DataFrame({"z": [1] * 5 + [0] * 5,
                      "y": [1.0, 2.0, 3.0, 4.0, np.nan, 2.0, 4.0, np.nan, np.nan, np.nan]})
    r = te.lee_bounds(d, outcome="y", treatment="z", n_resamples=50, rng=1)
    assert r.trimming_share == pytest.approx(0.5)
    assert r.lower_bound == pytest.approx(1.5 - 3.0) and r.upper_bound == pytest.approx(3.5 - 3.0)
    assert r.ci_low <= r.lower_bound <= r.upper_bound <= r.ci_high and "partially identified" in r.note


def test_lee_bounds_to_frame_carries_the_bounds_and_their_intervals():
    from scipy import stats

    rng = np.random.default_rng(3)
    n = 200
    z = np.repeat([1, 0], n // 2)
    y = rng.normal(0.3 * z, 1.0)
    observed = rng.random(n) < np.where(z == 1, 0.9, 0.7)       # differential attrition: trim the treated
    d = pd.DataFrame({"z": z, "y": np.where(observed, y, np.nan)})
    r = te.lee_bounds(d, outcome="y", treatment="z", n_resamples=200, rng=5, confidence_level=0.9)
    row = r.to_frame().iloc[0]
    for col in ("lower_bound", "upper_bound", "trimming_share", "trimmed_arm", "lower_bound_std_error",
                "upper_bound_std_error", "lower_bound_ci_low", "lower_bound_ci_high", "upper_bound_ci_low",
                "upper_bound_ci_high", "ci_low", "ci_high"):
        assert row[col] == getattr(r, col), col
    # trimming share by hand: p = (q1 - q0) / q1 from the observation rates
    q1, q0 = observed[z == 1].mean(), observed[z == 0].mean()
    assert r.trimmed_arm == "deltagergruppe" and r.trimming_share == pytest.approx((q1 - q0) / q1, rel=1e-12)
    # each bound's own interval: bound -/+ z_(0.95) x its bootstrap SE (1e-12: one multiplication)
    zq = stats.norm.ppf(0.95)
    assert r.lower_bound_std_error > 0 and r.upper_bound_std_error > 0
    assert (row["lower_bound_ci_low"], row["lower_bound_ci_high"]) == pytest.approx(
        (r.lower_bound - zq * r.lower_bound_std_error, r.lower_bound + zq * r.lower_bound_std_error), rel=1e-12)
    assert (row["upper_bound_ci_low"], row["upper_bound_ci_high"]) == pytest.approx(
        (r.upper_bound - zq * r.upper_bound_std_error, r.upper_bound + zq * r.upper_bound_std_error), rel=1e-12)
    # Imbens-Manski: the critical value lies between the one-sided and the two-sided normal quantile
    c = (r.lower_bound - r.ci_low) / r.lower_bound_std_error
    assert stats.norm.ppf(0.9) - 1e-9 <= c <= stats.norm.ppf(0.95) + 1e-9
    assert (r.ci_high - r.upper_bound) / r.upper_bound_std_error == pytest.approx(c, rel=1e-9)
    # without an observed outcome in one arm: no bounds, but the columns are still there (NaN)
    none = te.lee_bounds(d.assign(y=np.where(z == 1, np.nan, d["y"])), outcome="y", treatment="z", n_resamples=10)
    f = none.to_frame()
    assert "lower_bound" in f.columns and np.isnan(f.loc[0, "lower_bound"]) and "no bounds" in none.note


def test_subgroup_interaction(small, protocol):
    r = te.subgroup_interaction(small, outcome="y", treatment="z", subgroup="g")
    assert r.role == "exploratory" and len(r.table) == 3 and 0 <= r.p_value <= 1 and r.df == 60 - 6
    with pytest.raises(ParameterError, match="not a pre-specified"):
        te.subgroup_interaction(small, outcome="y", treatment="z", subgroup="g", prespecified=protocol)
    two = small[small.g != "c"]
    r2 = te.subgroup_interaction(two, outcome="y", treatment="z", subgroup="g")
    ta = te.difference_in_means(two[two.g == "a"], outcome="y", treatment="z").estimate
    tb = te.difference_in_means(two[two.g == "b"], outcome="y", treatment="z").estimate
    assert r2.estimate == pytest.approx(tb - ta, rel=1e-10)


def test_multiplicity_and_roles(small, protocol):
    fs = te.adjust([0.01, 0.2, 0.001], "fixed_sequence", order=[0, 1, 2])
    assert fs.adjusted_p_values == pytest.approx((0.01, 0.2, 0.2)) and fs.rejected == (True, False, False)
    holm = te.adjust([0.01, 0.2, 0.001], "holm")
    assert holm.adjusted_p_values == pytest.approx((0.02, 0.2, 0.003))
    assert te.adjust([0.01, 0.2], "bonferroni").adjusted_p_values == pytest.approx((0.02, 0.4))
    r = te.difference_in_means(small.rename(columns={"yb": "extension"}), outcome="extension", treatment="z")
    s = te.lin_adjusted(small.rename(columns={"yb": "extension"}), outcome="extension", treatment="z",
                        covariates=["x"])
    labelled = te.label_roles([r, s], protocol)
    assert [x.role for x in labelled] == ["confirmatory", "exploratory"]
    fig = te.plot_forest(labelled)
    assert fig.axes


def test_kaplan_meier_plot(small):
    km = te.kaplan_meier(small, time="t", event="e", treatment="z")
    assert te.plot_kaplan_meier(km).axes


def _csv(tmp_path, df, name="d.csv", sep=",", decimal="."):
    p = tmp_path / name
    df.to_csv(p, index=False, sep=sep, decimal=decimal)
    return str(p)


def test_cli_contract(tmp_path, small, capsys):
    f = _csv(tmp_path, small, sep=";", decimal=",")
    code = main(["estimate", "--data", f, "--treatment", "z", "--outcome", "y", "--estimator", "difference_in_means",
                 "--estimator", "randomization_inference", "--seed", "1", "--n-resamples", "200", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and [e["estimator"] for e in out["estimates"]] == ["difference_in_means",
                                                                        "randomization_inference"]
    # semicolons and decimal commas were read as numbers
    assert out["estimates"][0]["estimate"] == pytest.approx(
        te.difference_in_means(small, outcome="y", treatment="z").estimate, rel=1e-12)
    code = main(["estimate", "--data", f, "--treatment", "z", "--outcome", "yb", "--estimator", "difference_in_means",
                 "--estimator", "risk_ratio", "--estimator", "fisher", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    keys = {"estimator", "outcome", "estimate", "std_error", "statistic", "df", "p_value", "ci_low", "ci_high",
            "n_treatment", "n_control"}
    assert all(keys <= set(e) for e in out["estimates"])
    rr = next(e for e in out["estimates"] if e["estimator"] == "risk_ratio")
    assert "coef" in rr and rr["estimate"] == pytest.approx(math.exp(rr["coef"]))
    dim = te.difference_in_means(small, outcome="yb", treatment="z")
    assert out["estimates"][0]["estimate"] == pytest.approx(dim.estimate, rel=1e-12)


@pytest.mark.parametrize("argv,needle", [
    (["--outcome", "nope", "--estimator", "fisher"], "nope"),
    (["--outcome", "y", "--estimator", "wizard"], "wizard"),
    (["--outcome", "y", "--estimator", "cox"], "--event"),
])
def test_cli_bad_input_exits_2(tmp_path, small, capsys, argv, needle):
    f = _csv(tmp_path, small)
    code = main(["estimate", "--data", f, "--treatment", "z", *argv])
    assert code == 2 and needle in capsys.readouterr().err


def test_cli_non_binary_treatment_exits_2(tmp_path, small, capsys):
    d = small.copy()
    d["z"] = d["z"] + 1
    code = main(["estimate", "--data", _csv(tmp_path, d), "--treatment", "z", "--outcome", "y",
                 "--estimator", "difference_in_means"])
    err = capsys.readouterr().err
    assert code == 2 and "0 (kontrolgruppe) or 1" in err and "d.csv" in err


def test_cli_blocks_make_blocked_estimator(tmp_path, small, capsys):
    d = small.copy()
    d["blk"] = np.tile([1, 2], 30)
    code = main(["estimate", "--data", _csv(tmp_path, d), "--treatment", "z", "--outcome", "y", "--blocks", "blk",
                 "--estimator", "difference_in_means", "--json"])
    out = json.loads(capsys.readouterr().out)["estimates"][0]
    ref = te.difference_in_means(d, outcome="y", treatment="z", blocks="blk")
    assert code == 0 and out["df"] == ref.df == 60 - 4 and out["estimate"] == pytest.approx(ref.estimate)


def test_docstring_examples_run():
    import doctest
    import importlib

    for name in ("_means", "_ols", "_binary", "_ri", "multiplicity", "__init__"):
        mod = importlib.import_module("trial.estimate" + ("" if name == "__init__" else f".{name}"))
        res = doctest.testmod(mod, optionflags=doctest.ELLIPSIS)
        assert res.failed == 0, name


def test_boschloo_is_at_least_as_powerful_as_fisher():
    # Boschloo's test uses Fisher's p as statistic and is uniformly more powerful: p_B <= p_F
    for x1, x0 in ((3, 0), (34, 26), (7, 2)):
        n = 40 if x1 < 30 else 100
        d = pd.DataFrame({"z": [1] * n + [0] * n, "y": [1] * x1 + [0] * (n - x1) + [1] * x0 + [0] * (n - x0)})
        b = te.boschloo_exact(d, outcome="y", treatment="z")
        f = te.fisher_exact(d, outcome="y", treatment="z")
        assert b.p_value <= f.p_value + 1e-12 and b.estimate == pytest.approx((x1 - x0) / n)


def test_negbin_on_a_binary_outcome_does_not_overflow():
    """A degenerate negative-binomial fit (0/1 outcome) has a huge SE: the interval saturates, no crash."""
    import math

    import numpy as np
    import pandas as pd

    from trial.estimate import estimate

    rng = np.random.default_rng(3)
    z = np.repeat([0, 1], 20)
    d = pd.DataFrame({"z": z, "y": (rng.random(40) < 0.5).astype(float)})  # overflowed exp() before
    r = estimate(d, estimator="negbin", outcome="y", treatment="z")
    assert r.ci_low >= 0 and (math.isinf(r.ci_high) or r.ci_high > r.estimate or math.isnan(r.estimate))
