"""trial.estimate against R (reference files written by tests/reference/estimate.R).

Tolerances (relative, unless stated):

* CLOSED = 1e-8 — closed forms (difference in means, lm_robust HC0–HC3, lm_lin,
  Newcombe, Kaplan–Meier/Greenwood, log-rank, Fisher's p-value). Both sides compute the same
  formula in double precision and R writes 15 significant digits; observed agreement is ~1e-12.
* SCORE = 1e-8 — the Miettinen–Nurminen risk-ratio limits (R: uniroot with tol 1e-14).
* ITER = 1e-6 — iterative fits (glm.nb, coxph, Poisson GLM): each side stops its Newton/IRLS
  iterations at its own tolerance (glm.nb: 1e-8 on the deviance); observed ≤ 1e-7.
* FISHER_MLE = 1e-4 — R's fisher.test finds the conditional MLE and its exact limits by uniroot
  with tol = .Machine$double.eps^0.25 ≈ 1.2e-4, so R's digits are only good to about that.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import trial.estimate as te

pytestmark = pytest.mark.r

REF = Path(__file__).resolve().parent / "reference"
CLOSED, SCORE, ITER, FISHER_MLE = 1e-8, 1e-8, 1e-6, 1e-4
COLS = ["estimate", "std_error", "statistic", "df", "p_value", "ci_low", "ci_high"]


def _ref():
    return pd.read_csv(REF / "estimate_results.csv", comment="#")


def _data(name):
    return pd.read_csv(REF / f"estimate_{name}.csv")


def test_reference_header_records_versions():
    head = (REF / "estimate_results.csv").read_text().splitlines()[:3]
    assert head[1].startswith("# R version")
    assert "estimatr" in head[2] and "survival" in head[2] and "MASS" in head[2]


def _cases(prefixes):
    ref = _ref()
    rows = ref[ref.estimator.str.startswith(prefixes)]
    return [pytest.param(r, id=f"{r.dataset}-{r.estimator}-{r.outcome}") for r in rows.itertuples()]


def _compare(res, r, cols, rtol):
    got = np.array([getattr(res, c) for c in cols], dtype=float)
    exp = np.array([getattr(r, c) for c in cols], dtype=float)
    np.testing.assert_allclose(got, exp, rtol=rtol, atol=0, equal_nan=True)


@pytest.mark.parametrize("r", _cases(("difference_in_means", "ols_", "lin_")))
def test_linear_estimators_match_estimatr(r):
    d = _data(r.dataset)
    e = r.estimator
    if e == "difference_in_means":
        res = te.difference_in_means(d, outcome=r.outcome, treatment="z")
    elif e == "difference_in_means_blocked":
        res = te.difference_in_means(d, outcome=r.outcome, treatment="z", blocks="block")
    elif e == "lin_hc2":
        res = te.lin_adjusted(d, outcome=r.outcome, treatment="z", covariates=["x1", "x2"])
    else:
        se = e.split("_")[1].upper()
        res = te.ols_robust(d, outcome=r.outcome, treatment="z", se_type=se,
                            covariates=("x1", "x2") if e.endswith("_cov") else ())
    _compare(res, r, COLS, CLOSED)
    assert res.note == ""


@pytest.mark.parametrize("r", _cases(("fisher", "risk_")))
def test_binary_estimators_match_r(r):
    d = _data(r.dataset)
    if r.estimator == "fisher":
        res = te.fisher_exact(d, outcome="yb", treatment="z")
        np.testing.assert_allclose(res.p_value, r.p_value, rtol=CLOSED)
        np.testing.assert_allclose([res.estimate, res.ci_low, res.ci_high], [r.estimate, r.ci_low, r.ci_high],
                                   rtol=FISHER_MLE)
    elif r.estimator == "risk_difference_newcombe":
        res = te.risk_difference(d, outcome="yb", treatment="z")
        _compare(res, r, ["estimate", "ci_low", "ci_high"], CLOSED)
    else:
        res = te.risk_ratio(d, outcome="yb", treatment="z")
        _compare(res, r, ["estimate", "ci_low", "ci_high"], SCORE)


@pytest.mark.parametrize("r", _cases(("negbin", "poisson_robust")))
def test_count_models_match_r(r):
    d = _data(r.dataset)
    f = te.negbin_rate_ratio if r.estimator == "negbin" else te.poisson_robust
    res = f(d, outcome="count", treatment="z", exposure="exposure")
    _compare(res, r, ["estimate", "std_error", "statistic", "p_value", "ci_low", "ci_high", "coef"], ITER)
    if r.estimator == "negbin":
        np.testing.assert_allclose(res.dispersion, r.extra, rtol=ITER)


@pytest.mark.parametrize("r", _cases(("cox", "logrank")))
def test_survival_matches_r(r):
    d = _data(r.dataset)
    if r.estimator == "cox":
        res = te.cox(d, time="time", event="event", treatment="z")
        _compare(res, r, ["estimate", "std_error", "statistic", "p_value", "ci_low", "ci_high", "coef"], ITER)
    else:
        res = te.logrank(d, time="time", event="event", treatment="z")
        _compare(res, r, ["statistic", "df", "p_value"], CLOSED)


@pytest.mark.parametrize("r", _cases(("kaplan_meier",)))
def test_kaplan_meier_matches_survfit(r):
    d = _data(r.dataset)
    km = te.kaplan_meier(d, time="time", event="event", treatment="z")
    arm = int(r.estimator[-1])
    tab = km.table[km.table.treatment == arm]
    row = tab.iloc[np.searchsorted(tab.time.to_numpy(), r.extra, side="right") - 1]
    np.testing.assert_allclose([row.survival, row.std_error, row.ci_low, row.ci_high],
                               [r.estimate, r.std_error, r.ci_low, r.ci_high], rtol=CLOSED)


def test_tiny_zero_event_cell_is_explained():
    d = _data("tiny")
    rr = te.risk_ratio(d, outcome="yb", treatment="z")
    assert "no events in kontrolgruppe" in rr.note and "Fisher" in rr.note
    ref = _ref()
    fisher_p = ref[(ref.dataset == "tiny") & (ref.estimator == "fisher")].p_value.iloc[0]
    np.testing.assert_allclose(rr.p_value, fisher_p, rtol=CLOSED)
    orr = te.odds_ratio(d, outcome="yb", treatment="z")
    assert "zero cell" in orr.note and orr.p_value == pytest.approx(fisher_p, rel=CLOSED)
