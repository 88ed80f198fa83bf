"""trial._fast: vectorised estimators equal statsmodels OLS with HC2 and a direct difference in means.

Tolerance 1e-10 (absolute, on estimates and standard errors of order 0.01-1):
both sides solve the same least-squares problem in double precision, ours by
closed forms per arm, statsmodels by a pseudo-inverse; differences are
rounding (observed ~1e-16).
"""
from __future__ import annotations

import numpy as np
import pytest
import statsmodels.api as sm
from hypothesis import given, settings
from hypothesis import strategies as st

from trial._fast import difference_in_means, lin_hc2

TOL = 1e-10


def _data(seed, S=4, n=60, p=3, E=2, share=0.3):
    rng = np.random.default_rng(seed)
    t = (rng.random((S, n)) < share).astype(float)
    t[:, :3], t[:, 3:6] = 1, 0                     # both arms non-empty
    x = rng.normal(size=(S, n, p))
    y = (rng.random((S, n, E)) < 0.3).astype(float) + 0.3 * x[..., :1]
    return y, t, x


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 10_000), share=st.floats(0.2, 0.7))
def test_lin_hc2_equals_statsmodels_interacted_ols(seed, share):
    y, t, x = _data(seed, share=share)
    fast = lin_hc2(y, t, x)
    for s in range(y.shape[0]):
        xc = x[s] - x[s].mean(axis=0)
        X = np.column_stack([np.ones(len(t[s])), t[s], xc, t[s][:, None] * xc])
        for e in range(y.shape[2]):
            fit = sm.OLS(y[s, :, e], X).fit(cov_type="HC2")
            assert fast.estimate[s, e] == pytest.approx(fit.params[1], abs=TOL)
            assert fast.std_error[s, e] == pytest.approx(fit.bse[1], abs=TOL)
            assert fast.df[s, e] == len(t[s]) - X.shape[1]


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_difference_in_means_equals_ols_hc2_and_direct_formula(seed):
    y, t, _ = _data(seed)
    fast = difference_in_means(y, t)
    for s in range(y.shape[0]):
        X = np.column_stack([np.ones(len(t[s])), t[s]])
        for e in range(y.shape[2]):
            fit = sm.OLS(y[s, :, e], X).fit(cov_type="HC2")
            a, b = y[s, t[s] == 1, e], y[s, t[s] == 0, e]
            v1, v0 = a.var(ddof=1) / a.size, b.var(ddof=1) / b.size
            assert fast.estimate[s, e] == pytest.approx(a.mean() - b.mean(), abs=TOL)
            assert fast.estimate[s, e] == pytest.approx(fit.params[1], abs=TOL)
            assert fast.std_error[s, e] == pytest.approx(fit.bse[1], abs=TOL)
            assert fast.df[s, e] == pytest.approx((v1 + v0) ** 2 / (v1 ** 2 / (a.size - 1) + v0 ** 2 / (b.size - 1)),
                                                  rel=1e-12)


def test_shapes_and_shared_treatment():
    y, t, x = _data(1, E=1)
    one = difference_in_means(y[0, :, 0], t[0])
    assert np.ndim(one.estimate) == 0
    two = difference_in_means(y[:, :, 0], t)
    assert two.estimate.shape == (y.shape[0],)
    assert two.estimate[0] == pytest.approx(float(one.estimate), abs=0)
    shared = lin_hc2(y[:, :, 0], t[0], x[0])
    assert shared.estimate.shape == (y.shape[0],)
    # one-sided p-values are halves of the two-sided one on the right side
    g = difference_in_means(y[:, :, 0], t, alternative="greater")
    side = np.where(two.statistic > 0, g.p_value, 1 - g.p_value)
    np.testing.assert_allclose(side, two.p_value / 2, rtol=1e-12)


def test_zero_standard_error_gives_nan_not_a_rejection():
    y = np.zeros((1, 10))
    t = np.r_[np.ones(5), np.zeros(5)]
    r = difference_in_means(y, t)
    assert r.std_error[0] == 0 and np.isnan(r.statistic[0]) and np.isnan(r.p_value[0])


def test_treated_first_fast_path_equals_general_path():
    # trial.diagnose hands over trials with the deltagergruppe first (no sorting needed); any order gives
    # the same numbers
    y, t, x = _data(5, S=6, n=80, E=3)
    order = np.argsort(t < 0.5, axis=1, kind="stable")
    ys = np.take_along_axis(y, order[:, :, None], axis=1)
    xs = np.take_along_axis(x, order[:, :, None], axis=1)
    ts = np.take_along_axis(t, order, axis=1)
    a, b = lin_hc2(y, t, x), lin_hc2(ys, ts, xs)
    np.testing.assert_allclose(a.estimate, b.estimate, atol=TOL)
    np.testing.assert_allclose(a.std_error, b.std_error, atol=TOL)


def test_enrolled_mask_equals_fitting_the_enrolled_citizens_only():
    # trials of unequal size padded to one array: citizens with enrolled = 0 are ignored by both estimators
    y, t, x = _data(7, S=5, n=70, E=2)
    rng = np.random.default_rng(7)
    enrolled = (rng.random(t.shape) < 0.85).astype(float)
    enrolled[:, :6] = 1
    dim = difference_in_means(y, t, enrolled=enrolled)
    lin = lin_hc2(y, t, x, enrolled=enrolled)
    for s in range(y.shape[0]):
        k = enrolled[s] > 0
        xc = x[s, k] - x[s, k].mean(axis=0)
        X = np.column_stack([np.ones(k.sum()), t[s, k], xc, t[s, k][:, None] * xc])
        for e in range(y.shape[2]):
            d = sm.OLS(y[s, k, e], X[:, :2]).fit(cov_type="HC2")
            f = sm.OLS(y[s, k, e], X).fit(cov_type="HC2")
            assert dim.estimate[s, e] == pytest.approx(d.params[1], abs=TOL)
            assert dim.std_error[s, e] == pytest.approx(d.bse[1], abs=TOL)
            assert lin.estimate[s, e] == pytest.approx(f.params[1], abs=TOL)
            assert lin.std_error[s, e] == pytest.approx(f.bse[1], abs=TOL)
            assert lin.df[s, e] == k.sum() - X.shape[1]


def test_shared_pass_equals_the_separate_estimators_and_falls_back_where_it_must():
    # dim_and_lin (one Gram matrix per arm, leverages shared by the endpoints) = difference_in_means (two-pass)
    # and the arm-by-arm Lin fit; data far from 0 (one-pass sums would lose digits) and an arm whose
    # covariate is constant (collinear: pseudo-inverse, as statsmodels) take the exact fallback
    from trial._fast import _dim_lin_moments, _lin_hc2_general, dim_and_lin, pack

    y, t, x = _data(11, S=5, n=90, E=3)
    for shift in (0.0, 1e5):
        yy, xx = y + shift, x + shift
        dim, lin = dim_and_lin(yy, t, xx)
        ref_d, ref_l = difference_in_means(yy, t), _lin_hc2_general(yy, t, xx)
        for a, b in ((dim, ref_d), (lin, ref_l)):
            for f in ("estimate", "std_error", "df", "p_value"):
                np.testing.assert_allclose(getattr(a, f), getattr(b, f), rtol=1e-9, atol=TOL)
        Z, n1, _ = pack(yy, t, xx)
        assert (_dim_lin_moments(Z, n1, xx.shape[2] + 1) is None) == (shift > 0)
    xc = x.copy()
    xc[:, :, 1] = np.where(t > 0, 2.0, xc[:, :, 1])            # constant among the treated
    Z, n1, _ = pack(y, t, xc)
    assert _dim_lin_moments(Z, n1, xc.shape[2] + 1) is None
    lin = lin_hc2(y, t, xc)                     # not identified: the treated arm's intercept at xbar is arbitrary;
    ref = _lin_hc2_general(y, t, xc)           # the per-arm pseudo-inverse answer, as before the shared pass
    np.testing.assert_allclose(lin.estimate, ref.estimate, atol=TOL)
    np.testing.assert_allclose(lin.std_error, ref.std_error, atol=TOL)


def test_analysis_of_plain_arrays_equals_the_packed_simulation(protocol):
    # trial.diagnose analyses its own draws in the packed layout; analyse_trials packs plain arrays (any order)
    from trial.diagnose import _analyse, analyse_trials, draw_trials, spec_from_protocol

    # (the confirmatory family is all binary: its drawn trials skip the pass for sum y^2 = sum y)
    for endpoints in (["extension", "benefit_weeks", "time_to_work"], "confirmatory"):
        spec = spec_from_protocol(protocol, endpoints=endpoints)
        sim = draw_trials(spec, np.random.SeedSequence(4), 30)
        fast = _analyse(sim, spec, drawn=True)
        Y, T, X, e, time, event = sim
        rev = np.arange(Y.shape[1])[::-1]                      # reversed citizens: the packing sorts them back
        plain = analyse_trials(Y[:, rev].copy(), T[:, rev].copy(), X[:, rev].copy(), spec, enrolled=e[:, rev].copy(),
                               time=None if time is None else time[..., rev].copy(),
                               event=None if event is None else event[..., rev].copy())
        for est in ("difference_in_means", "lin_hc2", "logrank")[:3 if time is not None else 2]:
            for f in ("estimate", "std_error", "p_value"):
                np.testing.assert_allclose(plain[est][f], fast[est][f], rtol=1e-9, atol=1e-12)
            assert np.array_equal(plain[est]["covered"], fast[est]["covered"])
