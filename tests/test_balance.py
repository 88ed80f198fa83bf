"""Balance statistics against R (tests/reference/balance.R) and exact enumeration.

Tolerances
----------
* Means, SMDs and the Mahalanobis distance are closed forms: relative 1e-10
  (R writes 17 significant digits; the two sides differ only by rounding in
  the order of floating-point sums, ~1e-14).
* The re-randomization p-value is Monte Carlo: with R = 20,000 resamples its
  standard error is sqrt(p(1-p)/R) <= 0.0036; it must lie within 4.5 SE of R's
  exact p-value (complete enumeration of all 252 allocations), plus 1/(R+1)
  for the (1 + #)/(1 + R) convention. The seed is fixed, so the test is
  deterministic.
"""
from __future__ import annotations

import math
from itertools import combinations
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from trial.randomize import SchemeInfo, balance, plot_balance, rerandomize

REF = Path(__file__).parent / "reference"
RTOL = 1e-10


@pytest.fixture(scope="module")
def ref():
    res = pd.read_csv(REF / "balance_results.csv", comment="#", keep_default_na=False)
    res["value"] = res["value"].astype(float)
    return res


def _val(ref, ds, cov, q):
    return float(ref[(ref.dataset == ds) & (ref.covariate == cov) & (ref.quantity == q)].value.iloc[0])


@pytest.mark.r
def test_means_smd_and_mahalanobis_match_r(ref):
    d = pd.read_csv(REF / "balance_data.csv")
    covs = ["age", "sex", "prior_forloeb", "months_on_benefit", "psych_contact_12m"]
    res = balance(d, covs)
    tab = res.to_frame().set_index("covariate")
    assert list(tab.index) == ["age", "sex_female", "prior_forloeb", "months_on_benefit", "psych_contact_12m"]
    for cov in tab.index:
        for q in ("mean_treatment", "mean_control", "smd"):
            assert tab.loc[cov, q] == pytest.approx(_val(ref, "data", cov, q), rel=RTOL, abs=1e-14), (cov, q)
    assert res.statistic == pytest.approx(_val(ref, "data", "", "mahalanobis"), rel=RTOL)
    assert (res.n_treatment, res.n_control) == (15, 45)
    assert math.isnan(res.p_value) and "not computed" in res.note


def _complete_draw(n, n_t):
    info = SchemeInfo(scheme="complete", ratio=(n - n_t) / n_t, capacity=n_t, factors=(("all",),))
    return lambda rng, R: rerandomize(info, ["all"] * n, rng=rng, n_resamples=R)


@pytest.mark.r
def test_rerandomization_p_value_matches_exact_enumeration(ref):
    d = pd.read_csv(REF / "balance_tiny.csv")
    p_exact = _val(ref, "tiny", "", "p_exact")
    R = 20000
    res = balance(d, ["age", "months_on_benefit"], draw=_complete_draw(10, 5), n_resamples=R, rng=7)
    assert res.statistic == pytest.approx(_val(ref, "tiny", "", "mahalanobis"), rel=RTOL)
    se = math.sqrt(p_exact * (1 - p_exact) / R)
    assert abs(res.p_value - p_exact) <= 4.5 * se + 1 / (R + 1)
    # and the same exact value by enumeration in Python (independent of the Monte Carlo)
    X = d[["age", "months_on_benefit"]].to_numpy(float)
    S_inv = np.linalg.inv(np.cov(X, rowvar=False))
    Z = np.zeros((252, 10))
    for i, idx in enumerate(combinations(range(10), 5)):
        Z[i, list(idx)] = 1
    from trial._balance import _mahalanobis

    m = _mahalanobis(X, Z, S_inv)
    assert np.mean(m >= res.statistic * (1 - 1e-10)) == pytest.approx(p_exact, abs=1e-12)


def test_balance_result_api_and_plot():
    d = pd.read_csv(REF / "balance_data.csv")
    res = balance(d, ["age", "sex"], draw=_complete_draw(60, 15), n_resamples=200, rng=1, mode="test")
    assert 0 < res.p_value <= 1 and res.null_statistics.shape == (200,)
    assert "[TEST register]" in str(res) and "<pre>" in res._repr_html_()
    assert set(res.to_dict()) >= {"mode", "statistic", "p_value", "covariates"}
    again = balance(d, ["age", "sex"], draw=_complete_draw(60, 15), n_resamples=200, rng=1, mode="test")
    assert again.p_value == res.p_value
    fig = plot_balance(res)
    assert fig.axes and len(fig.axes[0].get_yticklabels()) == 2
    with pytest.raises(ValueError, match="covariate"):
        balance(d, ["height"])
    tiny = balance(d.head(3).assign(treatment=[1, 0, 0]), ["age"])
    assert math.isnan(tiny.p_value) and "too few" in tiny.note
