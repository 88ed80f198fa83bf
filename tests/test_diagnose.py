"""trial.diagnose: design diagnosis by vectorised simulation.

Monte Carlo checks use fixed seeds and bounds of 4 Monte Carlo standard errors
(a correct simulation fails such a check with probability < 1e-4; with a fixed
seed the outcome is deterministic anyway). The coverage check is the issue's
[94 %, 96 %] at 10,000 simulations. Enrollment closes at the 100th treated, so
the kontrolgruppe varies around 300 (about 285-315); exact enumeration is at
300, and the comparisons allow 4 Monte Carlo SE plus the stated slack.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

from trial.diagnose import adjust_rejections, allocate_permuted_blocks, apply_capacity, diagnose, draw_trials, spec_from_protocol
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
    res = diagnose(protocol, n_sims=n, rng=20161001, null_sims=100, prognostic=0.0, shared=0.0,
                   endpoints="confirmatory")
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
    # the simulated power agrees with exact enumeration (n_c varies by a few around 300: 0.02 slack)
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
    res = diagnose(protocol, n_sims=n, rng=7, effects="null", prognostic=0.0, shared=0.0, null_sims=n,
                   endpoints="confirmatory")
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
    import pandas as pd

    a = diagnose(protocol, n_sims=300, rng=11, null_sims=150)
    b = diagnose(protocol, n_sims=300, rng=11, null_sims=150, n_jobs=2)
    pd.testing.assert_frame_equal(a.to_frame(), b.to_frame(), check_exact=True)
    assert a.fwer == b.fwer and a.seed == b.seed == 11
    c = diagnose(protocol, n_sims=300, rng=12, null_sims=150)
    assert not c.to_frame()["power"].equals(a.to_frame()["power"])
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
    res = diagnose(protocol, n_sims=100, rng=1, n_control=200, null_sims=10, endpoints="confirmatory")
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
    with pytest.raises(ParameterError, match="benefit_weeks.sd"):
        diagnose(protocol, n_sims=10, assumptions={"benefit_weeks": {"sd": 1000}})
    with pytest.raises(ParameterError, match="assumptions"):
        diagnose(protocol, n_sims=10, assumptions={"extension": {"sd": 1}})
    with pytest.raises(ParameterError, match="dispersion"):
        diagnose(protocol, n_sims=10, assumptions={"psych_admission_days": {"dispersion": -1}})
    with pytest.raises(ParameterError, match="endpoints"):
        diagnose(protocol, n_sims=10, endpoints="secondary")


# --------------------------------------------------------------------------- enrollment as the register does it
def _stream_strata(rng, n):
    """A referral stream's strata (index age band * 2 + prior forløb) and their protocol labels."""
    idx = rng.integers(0, 6, size=n)
    bands, prior = ("18-29", "30-49", "50-64"), ("first", "repeat")
    return idx, [f"{bands[i // 2]}|{prior[i % 2]}" for i in idx]


def test_sampler_matches_the_real_allocator_on_the_shipped_protocol(protocol):
    # The register's Allocator (HMAC-keyed PCG64 streams), replayed with 300 different secrets on one referral
    # stream, against the simulation's sampler (allocate_permuted_blocks + apply_capacity) on the same stream:
    # the same treated share per stratum, the same arm sizes when enrollment closes, the same block pattern.
    from trial.randomize import Allocator, SchemeInfo

    info = SchemeInfo.from_protocol(protocol)
    idx, labels = _stream_strata(np.random.default_rng(4), 448)
    R = 300
    real = np.zeros((R, 448))
    for r in range(R):
        a = Allocator(info, r.to_bytes(4, "little") * 8, "test").replay(labels)
        z = [x.treatment for x in a if x.treatment is not None]
        real[r, :len(z)] = 1 + np.asarray(z)                 # 2 = treated, 1 = control, 0 = not enrolled
    S = 4000
    T = allocate_permuted_blocks(np.random.default_rng(5), np.broadcast_to(idx, (S, 448)), 6, [4, 8], 3)
    T, enrolled = apply_capacity(T, 100, "stop")
    sim = np.where(enrolled > 0, 1 + T, 0)
    for name, f in (("treated", lambda a: (a == 2).sum(1)), ("controls", lambda a: (a == 1).sum(1))):
        x, y = f(real), f(sim)
        assert (name != "treated") or (x.min() == x.max() == y.min() == y.max() == 100)
        se = math.sqrt(x.var() / R + y.var() / S)
        assert abs(x.mean() - y.mean()) < 4 * se + 1e-9, (name, x.mean(), y.mean())
        assert abs(x.std() - y.std()) < 0.25 * max(x.std(), 0.5), (name, x.std(), y.std())
    for k in range(6):
        cols = np.flatnonzero(idx[:360] == k)               # every trial enrolls at least these
        pr, ps = (real[:, cols] == 2).mean(), (sim[:, cols] == 2).mean()
        assert abs(pr - ps) < 4 * math.sqrt(0.25 * 0.75 / (R * cols.size)) + 0.01, (k, pr, ps)
        # first block of the stratum: position-wise P(treated) = 1/4 in both
        first = cols[:8]
        np.testing.assert_allclose((real[:, first] == 2).mean(0), 0.25, atol=4 * math.sqrt(0.25 * 0.75 / R))
        np.testing.assert_allclose((sim[:, first] == 2).mean(0), 0.25, atol=4 * math.sqrt(0.25 * 0.75 / S))


def test_capacity_rules_match_the_register():
    # "stop": enrolled up to and including the capacity-th treated; "control_only": as randomize.rerandomize
    T = np.array([[1, 0, 0, 1, 1, 0, 1, 0], [0, 0, 0, 0, 1, 0, 0, 0]], float)
    t, e = apply_capacity(T, 2, "stop")
    assert e.tolist() == [[1, 1, 1, 1, 0, 0, 0, 0], [1] * 8]
    assert t.sum(1).tolist() == [2, 1]
    t, e = apply_capacity(T, 2, "control_only")
    assert (e == 1).all() and t.tolist()[0] == [1, 0, 0, 1, 0, 0, 0, 0]
    over = np.cumsum(T, axis=1) > 2                          # trial.randomize.rerandomize's rule
    assert np.array_equal(t, np.where(over, 0, T))


def test_simulated_trials_close_at_capacity(protocol):
    spec = spec_from_protocol(protocol, endpoints="confirmatory")
    Y, T, X, enrolled, _, _ = draw_trials(spec, np.random.SeedSequence(3), 200)
    assert (T.sum(1) == 100).all()                           # the deltagergruppe holds exactly its capacity
    n_in = enrolled.sum(1)
    assert 270 < (n_in - 100).min() and (n_in - 100).max() < 330 and abs((n_in - 100).mean() - 300) < 5
    res = diagnose(protocol, n_sims=200, rng=3, null_sims=20, endpoints="confirmatory")
    assert res.mean_n_treatment == 100 and res.min_n_control < 300 < res.max_n_control
    assert any("enrollment closes" in n for n in res.notes)


# --------------------------------------------------------------------------- every endpoint type
def test_all_endpoints_are_diagnosed(protocol):
    res = diagnose(protocol, n_sims=300, rng=8, null_sims=50)
    df = res.to_frame()
    assert set(df.endpoint) == {e.id for e in protocol.endpoints}
    assert set(df.estimator) == {"difference_in_means", "lin_hc2", "logrank"}
    assert set(df[df.estimator == "logrank"].endpoint) == {"time_to_work"}
    conf = df[df.role == "confirmatory"]
    assert conf.power_adjusted.notna().all() and df[df.role != "confirmatory"].power_adjusted.isna().all()
    for col in ("power", "bias", "rmse", "coverage"):
        assert df[col].notna().all() and df[f"{col}_mc_se"].notna().all()
    # the protocol's pre-registered assumptions are used and stated; given ones override them
    assert res.assumptions["benefit_weeks"] == {"sd": 30.0, "beta_precision": pytest.approx(res.assumptions[
        "benefit_weeks"]["beta_precision"]), "source": "protocol"}
    assert res.assumptions["psych_admission_days"]["dispersion"] == 1.0
    assert {v["source"] for v in res.assumptions.values()} == {"protocol"}
    assert any(n.startswith("assumed in the protocol") and "functional_ability_change sd=15" in n for n in res.notes)
    g = diagnose(protocol, n_sims=100, rng=8, null_sims=10, assumptions={"benefit_weeks": {"sd": 20}})
    assert g.assumptions["benefit_weeks"]["source"] == "given" and g.assumptions["benefit_weeks"]["sd"] == 20
    # the confirmatory family's numbers do not depend on which other endpoints are simulated alongside? They
    # share the random streams' layout, so only the family-wise error rate (its own run) is comparable:
    c = diagnose(protocol, n_sims=300, rng=8, null_sims=50, endpoints="confirmatory")
    assert c.fwer == res.fwer


def _trials(protocol, endpoint, n_sims, seed, **kw):
    spec = spec_from_protocol(protocol, endpoints=[endpoint], **kw)
    return spec, draw_trials(spec, np.random.SeedSequence(seed), n_sims)


def test_continuous_power_matches_statsmodels_t(protocol):
    # normal draws with SD 1, goal +0.3, 100 treated vs ~300 controls; uncorrelated with the strata
    # (prognostic 0) so the Welch test's power is the two-sample t power (statsmodels TTestIndPower).
    from statsmodels.stats.power import TTestIndPower

    n = 4000
    res = diagnose(protocol, n_sims=n, rng=2, endpoints=["self_rated_health_change"], prognostic=0.0, shared=0.0)
    r = res.to_frame().query("estimator == 'difference_in_means'").iloc[0]
    want = TTestIndPower().power(effect_size=0.3, nobs1=100, ratio=3.0, alpha=0.05)
    assert abs(r.power - want) < 4 * r.power_mc_se + 0.01, (r.power, want)   # 0.01: n_c varies, Welch vs pooled
    assert abs(r.coverage - 0.95) < 4 * r.coverage_mc_se
    assert abs(r.bias) < 4 * r.bias_mc_se
    # the margins are the stated normal ones
    spec, (Y, T, X, e, _, _) = _trials(protocol, "self_rated_health_change", 50, 1)
    ctrl = Y[..., 0][(T == 0) & (e > 0)]
    assert abs(ctrl.mean()) < 4 / math.sqrt(ctrl.size) and abs(ctrl.std() - 1) < 0.03


def test_count_draws_are_negative_binomial_by_statsmodels(protocol):
    # psych_admission_days: 2 days per person-year over 3 years, dispersion k = 1 (Var = mu + k mu^2);
    # statsmodels' NB2 maximum likelihood on the simulated counts recovers mu and alpha = k.
    import statsmodels.api as sm

    spec, (Y, T, X, e, _, _) = _trials(protocol, "psych_admission_days", 40, 6)
    exposure = 156 / 52
    counts = np.rint(Y[..., 0][(T == 0) & (e > 0)] * exposure)
    fit = sm.NegativeBinomial(counts, np.ones_like(counts)).fit(disp=0)
    mu, alpha = math.exp(fit.params[0]), fit.params[1]
    assert abs(mu - 2.0 * exposure) < 4 * mu * fit.bse[0]
    assert abs(alpha - 1.0) < 4 * fit.bse[1]
    spec2, (Y2, T2, _, e2, _, _) = _trials(protocol, "psych_admission_days", 40, 6,
                                           assumptions={"psych_admission_days": {"dispersion": 0.0}})
    c2 = Y2[..., 0][(T2 == 0) & (e2 > 0)] * exposure                           # Poisson at k = 0
    assert abs(c2.var() / c2.mean() - 1) < 0.1


def test_weeks_in_status_are_bounded_with_the_stated_mean_and_sd(protocol):
    spec, (Y, T, X, e, _, _) = _trials(protocol, "benefit_weeks", 60, 9)
    ctrl, trt = Y[..., 0][(T == 0) & (e > 0)], Y[..., 0][(T == 1) & (e > 0)]
    assert ctrl.min() >= 0 and ctrl.max() <= 156 and (ctrl == np.rint(ctrl)).all()
    assert abs(ctrl.mean() - 140) < 4 * 30 / math.sqrt(ctrl.size)
    assert abs(ctrl.std() - 30) < 1.0
    assert abs(trt.mean() - 130) < 4 * 32 / math.sqrt(trt.size)


def test_vectorised_analysis_equals_a_loop_with_statsmodels_and_trial_estimate(protocol):
    # count/continuous: HC2 difference in means = statsmodels OLS HC2 on the enrolled citizens;
    # time to event: the vectorised log-rank = statsmodels survdiff and trial.estimate.logrank (Peto O/E HR)
    import pandas as pd
    import statsmodels.api as sm
    from statsmodels.duration.survfunc import survdiff

    from trial._fast import difference_in_means, logrank
    from trial.estimate import logrank as logrank_one

    spec = spec_from_protocol(protocol, endpoints=["benefit_weeks", "psych_admission_days", "time_to_work",
                                                   "functional_ability_change"])
    Y, T, X, e, time, event = draw_trials(spec, np.random.SeedSequence(12), 8)
    dim = difference_in_means(Y, T, enrolled=e)
    lr = logrank(time[:, 0], event[:, 0], T, enrolled=e)
    for s in range(8):
        keep = e[s] > 0
        for j in range(Y.shape[2]):
            fit = sm.OLS(Y[s, keep, j], sm.add_constant(T[s, keep])).fit(cov_type="HC2")
            assert dim.estimate[s, j] == pytest.approx(fit.params[1], abs=1e-10)
            assert dim.std_error[s, j] == pytest.approx(fit.bse[1], abs=1e-10)
        chi2, p = survdiff(time[s, 0, keep], event[s, 0, keep], T[s, keep])
        assert lr.statistic[s] ** 2 == pytest.approx(chi2, rel=1e-8)
        assert lr.p_value[s] == pytest.approx(p, rel=1e-8)
        one = logrank_one(pd.DataFrame({"t": time[s, 0, keep], "d": event[s, 0, keep], "z": T[s, keep]}),
                          time="t", event="d", treatment="z")
        assert lr.estimate[s] == pytest.approx(one.coef, abs=1e-10)
        assert lr.std_error[s] == pytest.approx(one.std_error, abs=1e-10)
    # the event-by-horizon indicator in Y is the event; referrals not enrolled carry zeros
    assert np.array_equal(Y[..., 2][e > 0], event[:, 0][e > 0])
    assert (Y[e == 0] == 0).all() and (X[e == 0] == 0).all() and (e == 0).any()


def test_time_to_event_logrank_power_against_a_survdiff_loop(protocol):
    # a small independent loop: numpy exponential times (10 % -> 20 % events by week 156), administrative
    # censoring, statsmodels survdiff per trial, 100 vs 300; the vectorised diagnosis agrees within MC error.
    # Schoenfeld's formula (power_time_to_event(method="schoenfeld"), 0.63) understates this power: a finding
    # recorded in docs/power.md, asserted here so that it is noticed if it changes.
    from statsmodels.duration.survfunc import survdiff

    from trial.power import power_time_to_event

    res = diagnose(protocol, n_sims=2000, rng=13, endpoints=["time_to_work"], prognostic=0.0, shared=0.0)
    lr = res.to_frame().query("estimator == 'logrank'").iloc[0]
    assert lr.true_effect == pytest.approx(math.log(math.log(0.8) / math.log(0.9)))
    rng, h, L = np.random.default_rng(14), 156.0, 400
    lam0, lam1 = -math.log(0.9) / h, -math.log(0.8) / h
    z = np.r_[np.ones(100), np.zeros(300)]
    rej = 0
    for _ in range(L):
        t = np.r_[rng.exponential(1 / lam1, 100), rng.exponential(1 / lam0, 300)]
        rej += survdiff(np.minimum(t, h), (t <= h).astype(float), z)[1] <= 0.05
    loop = rej / L
    se = math.sqrt(loop * (1 - loop) / L + lr.power_mc_se ** 2)
    assert abs(lr.power - loop) < 4 * se + 0.01, (lr.power, loop)       # 0.01: n_c varies around 300
    kw = dict(share_control=0.1, share_treatment=0.2, horizon_weeks=156, n_control=300, n_treatment=100)
    schoenfeld = power_time_to_event(method="schoenfeld", **kw).power
    assert lr.power - schoenfeld > 4 * lr.power_mc_se
    # trial power's default for time to event (the log-rank score formula) agrees with the simulation
    assert abs(power_time_to_event(**kw).power - lr.power) < 4 * lr.power_mc_se + 0.01
    ind = res.to_frame().query("estimator == 'difference_in_means'").iloc[0]
    assert abs(ind.bias) < 4 * ind.bias_mc_se and abs(ind.coverage - 0.95) < 4 * ind.coverage_mc_se + 0.005


def test_module_defaults_where_the_protocol_states_no_assumption(tmp_path):
    # a protocol without `sd` / `dispersion` lines: diagnose falls back to the documented defaults (source
    # "default"), trial.power's protocol table says which rows need one
    import re

    from trial.diagnose import DEFAULT_DISPERSION, DEFAULT_SD, DEFAULT_WEEKS_SD
    from trial.power import protocol_power
    from trial.protocol import load

    from tests.conftest import PROTOCOL

    text = re.sub(r"(?m)^(sd|dispersion) = .*$", "", open(PROTOCOL, encoding="utf-8").read())
    path = tmp_path / "no_assumptions.toml"
    path.write_text(text, encoding="utf-8")
    bare = load(path)
    res = diagnose(bare, n_sims=20, rng=1, null_sims=2,
                   endpoints=["benefit_weeks", "psych_admission_days", "self_rated_health_change"])
    assert res.assumptions["benefit_weeks"]["sd"] == DEFAULT_WEEKS_SD
    assert res.assumptions["psych_admission_days"]["dispersion"] == DEFAULT_DISPERSION
    assert res.assumptions["self_rated_health_change"]["sd"] == DEFAULT_SD["self_rated_health"]
    assert {v["source"] for v in res.assumptions.values()} == {"default"}
    rows = {r["endpoint"]: r for r in protocol_power(bare, control_sizes=[300], compare=()).rows}
    assert math.isnan(rows["benefit_weeks"]["power"]) and "needs an assumed" in rows["benefit_weeks"]["note"]
    assert rows["benefit_weeks"]["assumption_source"] == "none"
    shipped = {r["endpoint"]: r for r in protocol_power(load(PROTOCOL), control_sizes=[300], compare=()).rows}
    assert shipped["benefit_weeks"]["assumption_source"] == "protocol" and shipped["benefit_weeks"]["sd"] == 30
    assert 0 < shipped["psych_admission_days"]["power"] < 1
