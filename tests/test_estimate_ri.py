"""Randomization inference: exact enumeration, nominal size, interval coverage, fast ≡ general path.

Tolerances: exact p-values are compared with 1e-12 (counts of assignments
over the same finite set). Simulation checks use fixed seeds and bands of
±3 binomial standard errors around the nominal rate (so they test the
method, not luck: with the seeds fixed they are deterministic).
"""
from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st

from trial.estimate import randomization_inference, randomization_inference_many
from trial.estimate._ri import _Statistic
from trial.exceptions import ParameterError


def _brute_p(y, z, blocks=None, alternative="two-sided"):
    """Independent exact p-value: loop over every assignment with pandas-free Python."""
    n = len(y)
    groups = [list(range(n))] if blocks is None else [list(np.flatnonzero(blocks == b)) for b in np.unique(blocks)]

    def stat(zz):
        tot = 0.0
        for g in groups:
            t = [y[i] for i in g if zz[i] == 1]
            c = [y[i] for i in g if zz[i] == 0]
            tot += len(g) / n * (sum(t) / len(t) - sum(c) / len(c))
        return tot

    t_obs = stat(z)
    per = []
    for g in groups:
        k = int(sum(z[i] for i in g))
        per.append([set(c) for c in itertools.combinations(g, k)])
    hits = total = 0
    for combo in itertools.product(*per):
        treated = set().union(*combo)
        zz = [1 if i in treated else 0 for i in range(n)]
        s = stat(zz)
        total += 1
        if alternative == "two-sided":
            hits += abs(s) >= abs(t_obs) - 1e-9
        elif alternative == "greater":
            hits += s >= t_obs - 1e-9
        else:
            hits += s <= t_obs + 1e-9
    return hits / total, total


@pytest.mark.parametrize("alternative", ["two-sided", "greater", "less"])
def test_exact_enumeration_complete(alternative):
    rng = np.random.default_rng(5)
    y = np.round(rng.normal(size=8), 2)
    z = np.array([1, 0, 1, 1, 0, 0, 1, 0])
    d = pd.DataFrame({"y": y, "z": z})
    r = randomization_inference(d, outcome="y", treatment="z", n_resamples=1000, alternative=alternative, rng=1)
    p, total = _brute_p(y, z, alternative=alternative)
    assert r.exact and r.n_resamples == total == math.comb(8, 4)
    assert r.p_value == pytest.approx(p, abs=1e-12)


def test_exact_enumeration_blocked_and_textbook_value():
    y = np.array([5.0, 6, 7, 8, 1, 2, 3, 4])
    d = pd.DataFrame({"y": y, "z": [1, 1, 1, 1, 0, 0, 0, 0]})
    r = randomization_inference(d, outcome="y", treatment="z", rng=0)
    assert r.p_value == pytest.approx(2 / 70)  # only the observed split and its mirror are as extreme
    rng = np.random.default_rng(9)
    y = np.round(rng.normal(size=10), 2)
    b = np.array([0] * 4 + [1] * 6)
    z = np.array([1, 0, 0, 1, 1, 0, 1, 0, 0, 1])
    d = pd.DataFrame({"y": y, "z": z, "b": b})
    r = randomization_inference(d, outcome="y", treatment="z", scheme="blocked", blocks="b", n_resamples=500)
    p, total = _brute_p(y, z, blocks=b)
    assert r.exact and total == math.comb(4, 2) * math.comb(6, 3)
    assert r.p_value == pytest.approx(p, abs=1e-12)


def test_type_one_error_is_nominal():
    """Under the sharp null the rejection rate at 5 % is within ±3 SE of 0.05 (500 data sets)."""
    rng = np.random.default_rng(2024)
    n_sims, rej = 500, 0
    z = np.array([1] * 12 + [0] * 28)
    for _ in range(n_sims):
        d = pd.DataFrame({"y": rng.exponential(size=40), "z": rng.permutation(z)})
        r = randomization_inference(d, outcome="y", treatment="z", n_resamples=199, rng=rng)
        rej += r.p_value <= 0.05
    se = math.sqrt(0.05 * 0.95 / n_sims)
    assert abs(rej / n_sims - 0.05) <= 3 * se


def test_interval_by_inversion_covers_nominally():
    """95 % intervals under a constant effect cover the truth at 0.95 ± 3 SE (300 data sets)."""
    rng = np.random.default_rng(7)
    n_sims, cover = 300, 0
    z0 = np.array([1] * 10 + [0] * 20)
    for _ in range(n_sims):
        z = rng.permutation(z0)
        y = rng.normal(size=30) + 1.5 * z
        r = randomization_inference(pd.DataFrame({"y": y, "z": z}), outcome="y", treatment="z",
                                    n_resamples=199, rng=rng)
        cover += r.ci_low <= 1.5 <= r.ci_high
    se = math.sqrt(0.95 * 0.05 / n_sims)
    assert abs(cover / n_sims - 0.95) <= 3 * se


def test_ci_and_p_value_are_dual():
    """0 lies in the interval at level L exactly when p(0) > 1 - L (test inversion)."""
    rng = np.random.default_rng(3)
    z = rng.permutation([1] * 15 + [0] * 25)
    d = pd.DataFrame({"y": rng.normal(size=40) + 0.3 * z, "z": z})
    r = randomization_inference(d, outcome="y", treatment="z", n_resamples=999, rng=11)
    p = r.p_value
    assert 0.03 < p < 0.97
    lo, hi = r.confidence_interval(1 - p + 0.01)
    assert lo <= 0 <= hi
    lo, hi = r.confidence_interval(1 - p - 0.01)
    assert not (lo <= 0 <= hi)
    assert r.ci_low < r.confidence_interval(0.90)[0] < r.estimate < r.confidence_interval(0.90)[1] < r.ci_high


def test_same_seed_same_result_and_callable_scheme():
    rng = np.random.default_rng(1)
    z = rng.permutation([1] * 20 + [0] * 40)
    d = pd.DataFrame({"y": rng.normal(size=60), "z": z, "b": np.repeat([0, 1, 2], 20)})
    r1 = randomization_inference(d, outcome="y", treatment="z", n_resamples=500, rng=42)
    r2 = randomization_inference(d, outcome="y", treatment="z", n_resamples=500, rng=42)
    assert r1.p_value == r2.p_value and r1.ci_low == r2.ci_low and r1.seed == 42

    def draw(g, b):  # complete randomization supplied by "the register"
        return np.array([g.permutation(z) for _ in range(b)])

    r3 = randomization_inference(d, outcome="y", treatment="z", scheme=draw, n_resamples=2000, rng=5)
    r4 = randomization_inference(d, outcome="y", treatment="z", scheme="complete", n_resamples=2000, rng=5)
    assert r3.scheme == "callable"
    assert abs(r3.p_value - r4.p_value) < 0.05  # same scheme, independent draws
    with pytest.raises(ParameterError, match="shape"):
        randomization_inference(d, outcome="y", treatment="z", scheme=lambda g, b: np.zeros((b, 3)), n_resamples=5)


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000), st.booleans())
def test_fast_path_equals_general_path(seed, blocked):
    rng = np.random.default_rng(seed)
    n = 24
    codes = [np.arange(0, 12), np.arange(12, 24)] if blocked else [np.arange(n)]
    z = np.concatenate([rng.permutation([1] * 4 + [0] * 8) for _ in codes]) if blocked else \
        rng.permutation([1] * 8 + [0] * 16)
    Y = rng.normal(size=(n, 2))
    obs = np.ones_like(Y, dtype=bool)
    Z = np.array([np.concatenate([rng.permutation(z[c]) for c in codes]) for _ in range(30)], dtype=float)
    fast = _Statistic(Y, obs, codes, True, z.astype(float))
    slow = _Statistic(Y, obs, codes, False, z.astype(float))
    assert fast.fast and not slow.fast
    np.testing.assert_allclose(fast(Z), slow(Z), rtol=1e-10, atol=1e-12)


def test_many_outcomes_share_draws_and_blocks_with_one_arm_say_why():
    rng = np.random.default_rng(0)
    z = np.concatenate([rng.permutation([1] * 5 + [0] * 15) for _ in range(4)])
    d = pd.DataFrame({"y": rng.normal(size=80), "yb": rng.integers(0, 2, 80), "z": z, "b": np.repeat(range(4), 20)})
    many = randomization_inference_many(d, outcomes=["y", "yb"], treatment="z", scheme="blocked", blocks="b",
                                        n_resamples=300, rng=3)
    single = randomization_inference(d, outcome="y", treatment="z", scheme="blocked", blocks="b",
                                     n_resamples=300, rng=3)
    assert many[0].p_value == single.p_value
    assert "binary outcome" in many[1].note
    d.loc[d.b == 0, "z"] = 1
    # a block with one arm: no test, a result that says why (as the blocked difference in means), not an error
    r = randomization_inference(d, outcome="y", treatment="z", scheme="blocked", blocks="b", n_resamples=10)
    assert math.isnan(r.estimate) and math.isnan(r.p_value) and r.n_resamples == 0
    assert "only one arm" in r.note and "block(s) 0 " in r.note
    assert (r.n_treatment, r.n_control) == (int(d.z.sum()), int((1 - d.z).sum()))
