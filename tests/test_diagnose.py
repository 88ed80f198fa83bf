"""trial.diagnose: design diagnosis by vectorised simulation.

Monte Carlo checks use fixed seeds and bounds of 4 Monte Carlo standard errors
(a correct simulation fails such a check with probability < 1e-4; with a fixed
seed the outcome is deterministic anyway). The coverage check is the issue's
[94 %, 96 %] at 10,000 simulations.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

from trial.diagnose import adjust_rejections, allocate_permuted_blocks, diagnose
from trial.exceptions import ParameterError
from trial.power import power_two_proportions


def _exact_coverage(p0, p1, n0, n1, level=0.95):
    """Coverage of the HC2/Welch interval for a difference in shares, by enumeration of all tables."""
    from scipy import stats

    x1, x0 = np.arange(n1 + 1)[:, None], np.arange(n0 + 1)[None, :]
    m1, m0 = x1 / n1, x0 / n0
    v1, v0 = m1 * (1 - m1) / (n1 - 1), m0 * (1 - m0) / (n0 - 1)
    se = np.sqrt(v1 + v0)
    with np.errstate(all="ignore"):
        q = stats.t.ppf(0.5 + level / 2, (v1 + v0) ** 2 / (v1 ** 2 / (n1 - 1) + v0 ** 2 / (n0 - 1)))
    covered = (se > 0) & (np.abs(m1 - m0 - (p1 - p0)) <= q * se)
    w = np.outer(stats.binom.pmf(np.arange(n1 + 1), n1, p1), stats.binom.pmf(np.arange(n0 + 1), n0, p0))
    return float((w * covered).sum())


def test_coverage_of_primary_estimator_at_10000_sims(protocol):
    # prognostic = 0: strata carry no information, so the simulation must reproduce exact enumeration.
    n = 10_000
    res = diagnose(protocol, n_sims=n, rng=20161001, null_sims=100, prognostic=0.0, shared=0.0)
    dim = res.to_frame().query("estimator == 'difference_in_means'")
    assert len(dim) == 3
    for row in dim.itertuples():
        exact = _exact_coverage(row.control_value, row.control_value + row.true_effect, 300, 100)
        assert abs(row.coverage - exact) < 4 * row.coverage_mc_se, (row.endpoint, row.coverage, exact)
        assert abs(row.bias) < 4 * row.bias_mc_se + 1e-12         # difference in means is unbiased
        assert row.power_mc_se == pytest.approx(math.sqrt(row.power * (1 - row.power) / n))
    ext = dim[dim.endpoint == "extension"].iloc[0]
    assert 0.94 <= ext.coverage <= 0.96
    # The issue's [94 %, 96 %] holds for the extension endpoint (exact 0.9495) but not for the rare ones:
    # the Welch interval for 5 % -> 10 % at 100:300 covers 0.939 exactly (reported in docs/power.md).
    assert _exact_coverage(0.05, 0.10, 300, 100) == pytest.approx(0.9393, abs=5e-4)
    # the simulated power agrees with exact enumeration (blocks make n_t vary by a few: 0.02 slack)
    exact = power_two_proportions(p_control=0.5, p_treatment=0.35, n_control=300, n_treatment=100).power
    assert abs(ext.power - exact) < 0.02
    # fixed sequence: later endpoints can only be rejected when earlier ones are
    adj = list(dim.sort_values("hierarchy")["power_adjusted"])
    assert adj[0] >= adj[1] >= adj[2]


def test_type_one_error_at_the_null_matches_exact_size(protocol):
    # prognostic = 0: covariates (and so strata) carry no information, and the rejection rate of each endpoint is the
    # HC2 test's exact size, by enumeration: 0.0507 at 50 %, 0.065 at 5 % (100:300; the test is liberal for rare
    # outcomes). Under the fixed sequence the FWER is the size of the first test.
    n = 4000
    res = diagnose(protocol, n_sims=n, rng=7, effects="null", prognostic=0.0, shared=0.0, null_sims=n)
    dim = res.to_frame().query("estimator == 'difference_in_means'")
    for row in dim.itertuples():
        size = power_two_proportions(p_control=row.control_value, p_treatment=row.control_value, n_control=300,
                                     n_treatment=100).power
        assert abs(row.power - size) < 4 * math.sqrt(size * (1 - size) / n), (row.endpoint, row.power, size)
    first = power_two_proportions(p_control=0.5, p_treatment=0.5, n_control=300, n_treatment=100).power
    assert abs(res.fwer - first) < 4 * math.sqrt(first * (1 - first) / n)
    assert abs(res.fwer - 0.05) < 4 * res.fwer_mc_se                 # within Monte Carlo error of alpha
    assert math.isnan(dim["type_s"].iloc[0])                          # no sign to get wrong at a zero effect


def test_reproducible_and_independent_of_n_jobs(protocol):
    a = diagnose(protocol, n_sims=300, rng=11, null_sims=150)
    b = diagnose(protocol, n_sims=300, rng=11, null_sims=150, n_jobs=2)
    assert a.rows == b.rows and a.fwer == b.fwer and a.seed == b.seed == 11
    c = diagnose(protocol, n_sims=300, rng=12, null_sims=150)
    assert c.rows != a.rows
    g = diagnose(protocol, n_sims=120, rng=np.random.default_rng(5), null_sims=20)
    assert g.n_sims == 120 and "Design diagnosis" in str(g) and g._repr_html_().startswith("<")


def test_permuted_blocks_are_balanced_within_strata():
    rng = np.random.default_rng(0)
    S, n = 200, 400
    strata = rng.integers(0, 6, size=(S, n))
    t = allocate_permuted_blocks(rng, strata, 6, [4, 8], 3)
    for s in range(S):
        for k in range(6):
            seq = t[s, strata[s] == k]
            dev = np.cumsum(seq) - np.arange(1, seq.size + 1) / 4
            # inside a block of 8 (2 treated) the running count is at most 2 ahead / 6/4 behind a quarter
            assert dev.max() <= 2 and dev.min() >= -1.5 - 1e-12
    assert abs(t.mean() - 0.25) < 0.005


def test_simple_and_complete_schemes_through_control_size(protocol):
    res = diagnose(protocol, n_sims=100, rng=1, n_control=200, null_sims=10)
    assert res.scheme == "complete" and any("complete randomization" in n for n in res.notes)
    assert res.mean_n_treatment == 100


def test_multiplicity_rules():
    p = np.array([[0.01, 0.04, 0.03], [0.2, 0.01, 0.01], [0.01, 0.02, 0.5], [0.04, np.nan, 0.001]])
    fs = adjust_rejections(p, 0.05, "fixed_sequence")
    assert fs.tolist() == [[True, True, True], [False, False, False], [True, True, False], [True, False, False]]
    holm = adjust_rejections(p, 0.05, "holm")
    # row 0: sorted 0.01 <= .05/3 but 0.03 > .05/2: only the first
    assert holm.tolist()[0] == [True, False, False]
    assert holm.tolist()[1] == [False, True, True]
    assert holm.tolist()[3] == [False, False, True]
    assert adjust_rejections(p, 0.05, "bonferroni").tolist()[2] == [True, False, False]
    with pytest.raises(ParameterError, match="multiplicity"):
        adjust_rejections(p, 0.05, "hochberg")


def test_bad_arguments(protocol):
    with pytest.raises(ParameterError, match="n_sims"):
        diagnose(protocol, n_sims=1)
    with pytest.raises(ParameterError, match="effects"):
        diagnose(protocol, n_sims=10, effects={"nope": 0.1})
    with pytest.raises(ParameterError, match="effects"):
        diagnose(protocol, n_sims=10, effects={"extension": -0.6})
    with pytest.raises(ParameterError, match="rng"):
        diagnose(protocol, n_sims=10, rng=-3)
