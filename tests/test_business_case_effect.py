"""The effect-fed business case: reproduction at the goals, draws, P(payback), break-even,
sensitivity, CLI modes, figures and the demo step.

Tolerances
----------
* Deterministic figures (tables at the goals, break-even, sensitivity) are
  linear arithmetic of exact inputs: 1e-9 relative.
* Monte Carlo figures are compared with the closed form of the same linear
  model (normal draws -> each year's net is normal, P(payback <= N) =
  Phi((C_N - I)/sd)) within 4 Monte Carlo standard errors for n = 20,000 draws
  (a false alarm about once in 16,000 runs; the seed is fixed, so never flaky).
"""
from __future__ import annotations

import json
import math
import sys
import types
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from trial.business_case import (compute_case, effect_fed_case, effects_from_analysis, load_case,
                                 payback_quantiles, plot_cumulative_net, plot_tornado, plot_waterfall)
from trial.business_case._effect import _unit_matrix, goal_effects
from trial.exceptions import BusinessCaseError

# numpy RuntimeWarnings (inf - inf, 0/0) mean a figure was computed by accident, not by design: fail on them
pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")

ROOT = Path(__file__).resolve().parent.parent
CASE = ROOT / "protocols" / "bi25_case.toml"
EFFECTS = {
    "ordinary_employment": {"estimate": 0.04, "std_error": 0.03},
    "fleksjob": {"estimate": 0.03, "std_error": 0.028},
    "extension": {"estimate": -0.12, "std_error": 0.057, "ci_low": -0.23, "ci_high": -0.01},
    "benefit_weeks": {"estimate": -8.0, "std_error": 4.0},
}


@pytest.fixture(scope="module")
def protocol():
    from trial.protocol import load

    return load(ROOT / "protocols" / "ressourceforloeb.toml")


@pytest.fixture(scope="module")
def fed(protocol):
    return effect_fed_case(EFFECTS, protocol=protocol, n_draws=400, rng=7)


def test_at_the_goals_the_effect_fed_case_is_the_published_case(protocol):
    # the goals as a fixed scenario (SE 0, not measured: a "measured" effect needs a positive SE)
    goals = {e.id: {"estimate": e.goal, "std_error": 0.0, "measured": False} for e in protocol.endpoints}
    r = effect_fed_case(goals, protocol=protocol, n_draws=50, rng=1)
    ref = compute_case(load_case(CASE))
    for t in ("section1", "table1", "table3", "table6"):
        a, b = r.table(t, rounded=True), ref.table(t, rounded=True)
        labels = list(ref.case.year_labels)
        assert a[labels].equals(b[labels]), t
    assert r.base.payback_whole_years_total == 6 and r.base.payback_whole_years_service == 16
    assert r.p_payback == 1.0 and np.all(r.payback_draws == r.payback_draws[0])
    assert set(r.table("section1")["basis"]) == {"antaget"}


def test_marks_measured_and_assumed(fed):
    basis = {e.endpoint: e.basis for e in fed.effects}
    assert basis["ordinary_employment"] == "målt" and basis["par85"] == "antaget"
    assert fed.unused_effects == ("benefit_weeks",)
    t1 = fed.table("table1").set_index("line")
    # a measured line is labelled with the effect used (QA round 2), an assumed one keeps its published name
    assert t1.loc["Kortere ressourceforløb (målt: -12,0 procentpoint)", "basis"] == "målt"
    assert t1.loc["Botilbud SEL §107", "basis"] == "antaget"
    assert set(fed.sensitivity.to_frame()["basis"]) <= {"målt", "antaget"}


def test_reproducible_from_the_seed(protocol):
    a = effect_fed_case(EFFECTS, protocol=protocol, n_draws=200, rng=11)
    b = effect_fed_case(EFFECTS, protocol=protocol, n_draws=200, rng=11)
    c = effect_fed_case(EFFECTS, protocol=protocol, n_draws=200, rng=12)
    assert np.array_equal(a.net_gain_draws, b.net_gain_draws) and a.p_payback == b.p_payback
    assert not np.array_equal(a.net_gain_draws, c.net_gain_draws)
    assert a.seed == 11
    assert np.array_equal(effect_fed_case(EFFECTS, protocol=protocol, n_draws=200,
                                          rng=np.random.default_rng(11)).net_gain_draws, a.net_gain_draws)


def test_draws_match_the_closed_form(protocol):
    n = 20_000
    r = effect_fed_case(EFFECTS, protocol=protocol, n_draws=n, rng=2024)
    case = r.case
    lines = [e.line for e in r.effects]
    se = np.array([e.std_error or 0.0 for e in r.effects])
    est = np.array([e.estimate for e in r.effects])
    U = _unit_matrix(case, lines, 10)
    sd_year = np.sqrt(((U * se[:, None]) ** 2).sum(axis=0))       # sd of each year's net
    mean_gain = r.to_frame()["estimate"].to_numpy()
    g = r.net_gain_draws
    assert np.abs(g.mean(axis=0) - mean_gain).max() <= 4 * sd_year.max() / math.sqrt(n) + 1e-9
    assert g[:, 5].std() == pytest.approx(sd_year[5], rel=4 * math.sqrt(0.5 / n) * 1.5)
    # P(payback within 10 years) = P(savings cumulated over 10 years >= investment)
    b = -U[:, :10].sum(axis=1)
    C = b @ est
    sdC = math.sqrt(((b * se) ** 2).sum())
    p = norm.sf((6900 - C) / sdC)
    assert r.p_payback == pytest.approx(p, abs=4 * math.sqrt(p * (1 - p) / n))
    ci = r.confidence_interval(0.9)
    assert ci["ci_low"].iloc[5] == pytest.approx(mean_gain[5] - norm.ppf(0.95) * sd_year[5], rel=0.03)


def test_break_even_effect_pays_back_exactly_in_n_years(fed, protocol):
    for _, row in fed.break_even.iterrows():
        if row["endpoint"] not in ("ordinary_employment", "extension"):
            continue
        eff = {e.endpoint: {"estimate": e.estimate, "std_error": 0.0, "measured": False} for e in fed.effects if e.basis == "målt"}
        eff[row["endpoint"]] = {"estimate": row["break_even_effect"], "std_error": 0.0, "measured": False}
        r = effect_fed_case(eff, protocol=protocol, n_draws=2, rng=0)
        assert r.payback_draws[0] == pytest.approx(10.0, rel=1e-9)
        assert row["break_even_citizens"] == pytest.approx(100 * row["break_even_effect"], rel=1e-12)
    # the common scale: all effects x scale -> payback exactly 10 years
    lam = fed.break_even_scale
    eff = {e.endpoint: {"estimate": lam * e.estimate, "std_error": 0.0, "measured": False} for e in fed.effects}
    r = effect_fed_case(eff, protocol=protocol, n_draws=2, rng=0)
    assert r.payback_draws[0] == pytest.approx(10.0, rel=1e-9)


def test_sensitivity_variants_by_hand(fed):
    s = fed.sensitivity.to_frame().set_index(["factor", "variant"])
    base = s.loc[("basis", "estimater")]
    gain = fed.to_frame()["estimate"].to_numpy()
    assert base["npv"] == pytest.approx(sum(x / 1.04 ** k for k, x in enumerate(gain)), rel=1e-9)
    assert s.loc[("diskonteringsrente", "0,0 %"), "npv"] == pytest.approx(gain.sum(), rel=1e-9)
    # prices +20 %: every permanent amount x 1.2, investments unchanged
    inv = np.array([2400, 2700, 1800] + [0] * 7)
    perm = -(gain + inv)
    up = -(1.2 * perm + inv)
    assert s.loc[("priser", "+20 %"), "net_result"] == pytest.approx(up.sum(), rel=1e-9)
    # extension at its CI bounds
    assert s.loc[("effekt: extension", "nedre grænse"), "value"] == -0.23
    # duration 1 year: each effect counts only in its first year
    d1 = s.loc[("effektens varighed", "1 år")]
    assert math.isinf(d1["payback_years_total"])
    # ordinary employment without a CI uses estimate +- z * se
    lo = s.loc[("effekt: ordinary_employment", "nedre grænse"), "value"]
    assert lo == pytest.approx(0.04 - norm.ppf(0.975) * 0.03, rel=1e-9)


def test_explicit_draws_and_unit_costs(protocol, fed):
    draws = pd.DataFrame({"ordinary_employment": [0.0, 0.05, 0.10], "extension": [-0.15, -0.15, -0.30]})
    r = effect_fed_case(EFFECTS, protocol=protocol, draws=draws)
    assert r.n_draws == 3 and r.draws_from == "givne træk"
    pb = [effect_fed_case({"ordinary_employment": {"estimate": o, "std_error": 0, "measured": False}, "fleksjob": EFFECTS["fleksjob"] | {"std_error": 0, "measured": False},
                           "extension": {"estimate": x, "std_error": 0, "measured": False}}, protocol=protocol, n_draws=2, rng=0).payback_draws[0]
          for o, x in zip(draws["ordinary_employment"], draws["extension"])]
    assert r.payback_draws.tolist() == pytest.approx(pb, rel=1e-12)
    cheap = effect_fed_case(EFFECTS, protocol=protocol, n_draws=2, rng=0,
                            unit_costs={"Beskæftigelseseffekt 5 pct. i beskæftigelse": {"EO": -50.0}})
    t3 = cheap.table("table3").set_index("line")
    assert t3.loc["Beskæftigelseseffekt, ordinær beskæftigelse (målt: +4,0 procentpoint)", "2020"] == pytest.approx(
        0.04 * 100 * -50.0, rel=1e-12)


@pytest.mark.parametrize("kwargs, key", [
    (dict(effects={"extension": {"estimate": float("nan")}}), "effects['extension'].estimate"),
    (dict(effects={"extension": {"estimate": 0.1, "std_error": -1}}), "effects['extension'].std_error"),
    (dict(effects=EFFECTS, n_draws=0), "n_draws"),
    (dict(effects=EFFECTS, confidence_level=1.5), "confidence_level"),
    (dict(effects=EFFECTS, draws={"par999": [1, 2]}), "draws"),
    (dict(effects=EFFECTS, unit_costs={"No such line": {"EO": 1}}), "unit_costs"),
])
def test_bad_arguments(protocol, kwargs, key):
    effects = kwargs.pop("effects")
    with pytest.raises(BusinessCaseError) as ei:
        effect_fed_case(effects, protocol=protocol, **kwargs)
    assert ei.value.key == key


def test_effects_from_the_analysis_table(protocol):
    tab = pd.DataFrame({"endpoint": ["extension", "extension", "fleksjob"],
                        "estimator": ["lin_hc2", "difference_in_means", "difference_in_means"],
                        "estimate": [-0.2, -0.1, 0.02], "std_error": [0.05, 0.06, 0.03],
                        "ci_low": [np.nan, -0.22, -0.04], "ci_high": [np.nan, 0.02, 0.08]})
    eff = effects_from_analysis(tab, protocol)
    assert eff["extension"]["estimate"] == -0.1 and eff["extension"]["measured"] is True
    g = goal_effects(protocol)
    assert g["extension"]["std_error"] == pytest.approx(math.sqrt(0.35 * 0.65 / 100 + 0.25 / 300), rel=1e-12)
    assert g["extension"]["measured"] is False


def test_figures(fed):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    for fig in (plot_cumulative_net(fed), plot_cumulative_net(fed.base), plot_waterfall(fed.base),
                plot_tornado(fed.sensitivity)):
        assert fig.axes and fig.axes[0].has_data()
        plt.close(fig)
    with pytest.raises(BusinessCaseError):
        plot_cumulative_net("x")


def test_summary_and_json(fed):
    text = str(fed)
    assert "Sandsynlighed for tilbagebetaling" in text and "[målt]" in text and "[antaget]" in text
    d = json.loads(json.dumps(fed.to_dict(), default=str))
    for k in ("total_permanent", "net", "by_area", "payback_years_total", "p_payback_within", "break_even",
              "sensitivity", "net_gain_distribution", "seed"):
        assert k in d
    assert "<pre>" in fed._repr_html_()
    # the plain views the quarterly report reads
    t = fed.tables
    assert [v.title.split(".")[0] for v in t] == ["Forslagets samlede økonomiske konsekvenser", "Tabel 1", "Tabel 2",
                                                  "Tabel 3"]
    assert t[0].total == tuple(float(x) for x in fed.table("section1", rounded=True).iloc[-1][list(t[0].years)])
    assert fed.prob_payback == fed.p_payback and fed.n_resamples == fed.n_draws
    assert fed.cumulative_net[-1] == pytest.approx(fed.to_frame()["cumulative_estimate"].iloc[-1], rel=1e-12)


def test_cli_effects_mode(tmp_path, capsys):
    from trial.cli import main

    f = tmp_path / "eff.json"
    f.write_text(json.dumps(EFFECTS))
    assert main(["business-case", "--effects", str(f), "--draws", "300", "--seed", "5", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["seed"] == 5 and d["n_draws"] == 300 and d["payback_within"] == 10
    assert main(["business-case", "--effects", str(f), "--draws", "300", "--seed", "5", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["p_payback_within"] == d["p_payback_within"]
    f.write_text("[1, 2]")
    assert main(["business-case", "--effects", str(f)]) == 2
    assert "must be a JSON object" in capsys.readouterr().err


def test_cli_register_mode(monkeypatch, capsys, tmp_path):
    from tests._register_helpers import key
    from trial.cli import main
    from trial.protocol import load
    from trial.register import Register

    monkeypatch.chdir(tmp_path)
    Register.create("reg.sqlite", load(ROOT / "protocols" / "ressourceforloeb.toml"), key=key(),
                    mode="test").close()
    monkeypatch.setitem(sys.modules, "trial.analysis", None)      # no trial.analysis installed
    assert main(["business-case", "--register", "reg.sqlite"]) == 2
    assert "trial analyze" in capsys.readouterr().err
    fake = types.ModuleType("trial.analysis")
    calls = []

    def analyze(register, as_of=None):
        calls.append((register.target, as_of))
        return pd.DataFrame({"endpoint": ["extension"], "estimator": ["difference_in_means"],
                             "estimate": [-0.1], "std_error": [0.05]})

    fake.analyze = analyze
    monkeypatch.setitem(sys.modules, "trial.analysis", fake)
    proto = str(ROOT / "protocols" / "ressourceforloeb.toml")
    assert main(["business-case", "--register", "reg.sqlite", "--protocol", proto, "--draws", "50", "--seed", "1",
                 "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert calls == [("reg.sqlite", None)]
    ext = next(e for e in d["effects"] if e["endpoint"] == "extension")
    assert ext["estimate"] == -0.1 and ext["basis"] == "målt"
    # --as-of is passed to the analysis
    assert main(["business-case", "--register", "reg.sqlite", "--protocol", proto, "--as-of", "2018-06-30",
                 "--draws", "50", "--seed", "1", "--json"]) == 0
    capsys.readouterr()
    assert calls[-1] == ("reg.sqlite", "2018-06-30")
    # ... and is refused without --register, or when it is not a date
    assert main(["business-case", "--effects", "eff.json", "--as-of", "2018-06-30"]) == 2
    assert "needs --register" in capsys.readouterr().err
    assert main(["business-case", "--register", "reg.sqlite", "--as-of", "30-06-2018"]) == 2
    assert "YYYY-MM-DD" in capsys.readouterr().err and len(calls) == 2


def test_effects_not_yet_estimable_keep_the_assumed_effect(protocol):
    """Mid-trial an endpoint may have no estimate: it is left out, and its line stays antaget."""
    tab = pd.DataFrame({"endpoint": ["extension", "fleksjob", "ordinary_employment"],
                        "estimator": ["difference_in_means"] * 3,
                        "estimate": [-0.1, np.nan, 0.02], "std_error": [0.06, np.nan, np.nan]})
    eff = effects_from_analysis(tab, protocol)
    assert set(eff) == {"extension"}
    r = effect_fed_case(eff, protocol=protocol, n_draws=50, rng=1)
    basis = {e.endpoint: e.basis for e in r.effects if e.endpoint}
    assert basis["extension"] == "målt" and basis["fleksjob"] == basis["ordinary_employment"] == "antaget"


def test_zero_standard_error_is_not_a_measured_effect(protocol):
    """An interim 'estimate' with SE 0 (e.g. every complete case is 1: 100 % vs 100 %) is not held fixed
    as if certain: the line keeps its assumed effect, a note says why, and P(payback) equals the case
    fed with the assumed effect for that line (same seed)."""
    tab = pd.DataFrame({"endpoint": ["extension", "ordinary_employment"], "estimator": ["difference_in_means"] * 2,
                        "estimate": [0.0, 0.04], "std_error": [0.0, 0.03]})
    eff = effects_from_analysis(tab, protocol)
    assert set(eff) == {"extension", "ordinary_employment"}
    r = effect_fed_case(eff, protocol=protocol, n_draws=400, rng=3)
    by_ep = {e.endpoint: e for e in r.effects if e.endpoint}
    assumed = {d.line: d.assumed_effect for d in r.case.drivers}
    ext = by_ep["extension"]
    assert ext.basis == "antaget" and ext.estimate == assumed[ext.line] != 0.0 and ext.std_error is None
    assert by_ep["ordinary_employment"].basis == "målt"
    assert any("extension" in n and "no positive standard error" in n for n in r.notes)
    assert not any("held fixed" in n for n in r.notes)
    # the same as leaving extension out (its line keeps the assumed effect), draw for draw
    ref = effect_fed_case({"ordinary_employment": eff["ordinary_employment"]}, protocol=protocol, n_draws=400, rng=3)
    assert r.p_payback == ref.p_payback and 0 < r.p_payback < 1
    np.testing.assert_array_equal(r.payback_draws, ref.payback_draws)
    # a fixed scenario is still possible, by saying it is not measured
    fixed = effect_fed_case({"extension": {"estimate": -0.1, "std_error": 0.0, "measured": False}},
                            protocol=protocol, n_draws=10, rng=1)
    assert {e.endpoint: e for e in fixed.effects if e.endpoint}["extension"].estimate == -0.1


def test_draws_that_never_pay_back_are_reported_not_nan(protocol):
    """Zero effects with wide errors: many draws never pay back (inf); quantiles say so without warnings."""
    eff = {"ordinary_employment": {"estimate": 0.0, "std_error": 0.05},
           "fleksjob": {"estimate": 0.0, "std_error": 0.05}, "extension": {"estimate": 0.0, "std_error": 0.08}}
    r = effect_fed_case(eff, protocol=protocol, n_draws=400, rng=7)
    never = np.isinf(r.payback_draws)
    assert 0.1 < never.mean() < 0.9 and r.p_payback_never == never.mean()
    d = r.to_dict()                                   # RuntimeWarning -> error (pytestmark)
    q = d["payback_years_total_quantiles"]
    assert q[0.975] is None                           # reaches the never-paying draws: "never", not NaN
    finite = np.sort(r.payback_draws[~never])
    assert q[0.025] == pytest.approx(np.quantile(r.payback_draws, 0.025), rel=1e-12)   # all-finite region
    assert finite[0] <= q[0.5] <= np.inf
    assert d["p_payback_never"] == r.p_payback_never
    assert json.loads(json.dumps(d, default=str))["p_payback_never"] == r.p_payback_never
    assert "aldrig tilbage" in r.summary()


def test_payback_quantiles_equal_numpy_where_finite():
    """Against numpy.quantile (linear, R type 7) with a huge sentinel for inf: equal when finite, inf otherwise."""
    rng = np.random.default_rng(11)
    for _ in range(300):
        n = int(rng.integers(1, 25))
        x = rng.exponential(5.0, n)
        x[: int(rng.integers(0, n + 1))] = np.inf
        probs = np.r_[0.0, 1.0, 0.5, rng.random(4)]
        got = payback_quantiles(rng.permutation(x), probs)
        ref = np.quantile(np.where(np.isinf(x), 1e300, x), probs)
        for p_, r_ in zip(probs, ref):
            if r_ > 1e200:
                assert got[float(p_)] == np.inf
            else:
                assert got[float(p_)] == pytest.approx(r_, rel=1e-12, abs=1e-12)
    assert payback_quantiles([4.0, 6.0, np.inf, np.inf], (0.0, 0.25, 0.5, 1.0)) == {
        0.0: 4.0, 0.25: 5.5, 0.5: np.inf, 1.0: np.inf}
    with pytest.raises(BusinessCaseError):
        payback_quantiles([], (0.5,))
    with pytest.raises(BusinessCaseError):
        payback_quantiles([1.0], (1.5,))


def test_demo_step(tmp_path, protocol):
    from types import SimpleNamespace

    from trial._demo import step_60_business_case as step

    out = []
    ctx = SimpleNamespace(out=tmp_path, protocol=protocol, protocol_path=ROOT / "protocols" / "ressourceforloeb.toml",
                          seed=2016, n_referrals=600, echo=out.append)
    step.run(ctx)
    text = "\n".join(out)
    assert "Tilbagebetalingstid" in text and "inden for 10 år" in text
    d = json.loads((tmp_path / "business_case.json").read_text())
    assert d["payback_within"] == 10 and 0 <= d["p_payback_within"] <= 1
    assert (tmp_path / "business_case_cumulative.png").exists()
    assert ctx.business_case.seed == 20161001      # the documented default (protocol's allocation seed), not ctx.seed


# --------------------------------------------------------------------------- joint draws (register path)
# Employment, fleksjob and extension are measured on the same citizens: a citizen in a job rarely starts a
# new forløb. Tolerances as at the top: Monte Carlo within 4 standard errors at 20,000 draws; the standard
# deviation of n normal draws has relative standard error 1/sqrt(2n).
def _correlated_analysis(seed=3, n_t=100, n_c=300):
    """An AnalysisResult on per-citizen data where the three employment endpoints are correlated."""
    import datetime as dt

    from trial import estimate as E
    from trial.analysis import AnalysisResult

    rng = np.random.default_rng(seed)
    z = np.r_[np.ones(n_t, int), np.zeros(n_c, int)]
    p = np.where(z[:, None] == 1, [0.12, 0.09, 0.79], [0.05, 0.05, 0.90])     # job, fleksjob, neither
    state = (rng.random(len(z))[:, None] > np.cumsum(p, axis=1)).sum(axis=1)
    data = pd.DataFrame({"treatment": z, "ordinary_employment": (state == 0).astype(float),
                         "fleksjob": (state == 1).astype(float),
                         "extension": (rng.random(len(z)) < np.where(state == 2, 0.8, 0.0)).astype(float)})
    data.loc[rng.choice(len(z), 12, replace=False), "extension"] = np.nan    # not yet observed: pairwise deletion
    rows = []
    for ep in ("ordinary_employment", "fleksjob", "extension"):
        r = E.difference_in_means(data, outcome=ep, treatment="treatment")
        rows.append({"endpoint": ep, "estimator": "difference_in_means", "estimate": r.estimate,
                     "std_error": r.std_error, "ci_low": r.ci_low, "ci_high": r.ci_high})
    day = dt.date(2019, 12, 31)
    return AnalysisResult(table=pd.DataFrame(rows), as_of=day, data_date=None, descriptive=False,
                          protocol_fingerprint="x", trial_id="x", analysis_date=day, n_by_arm={}, data=data)


def _closed_form(r, V):
    """Mean and sd of the net gain cumulated over 10 years, and P(payback <= 10), for effect covariance V
    (lines × lines) -- the linear model: savings over 10 years C = c0 + b'e, payback <= 10 iff C >= I."""
    from trial.business_case._effect import _fixed

    lines = [e.line for e in r.effects]
    est = np.array([e.estimate for e in r.effects])
    U = _unit_matrix(r.case, lines, 10)
    fixed_perm, inv = _fixed(r.case, 10)
    b = -U.sum(axis=1)
    C, I = -fixed_perm.sum() + b @ est, inv.sum()
    sd = math.sqrt(b @ V @ b)
    return C - I, sd, norm.sf((I - C) / sd)


def _line_cov(r, res):
    from trial.analysis import effect_covariance

    eps = [e.endpoint for e in r.effects if e.basis == "målt"]
    V = effect_covariance(res, endpoints=eps)
    idx = {e.endpoint: j for j, e in enumerate(r.effects)}
    out = np.zeros((len(r.effects), len(r.effects)))
    for a in eps:
        for b in eps:
            out[idx[a], idx[b]] = V.loc[a, b]
    return out


def test_joint_draws_keep_the_correlation_and_the_means(protocol):
    res = _correlated_analysis()
    eff = effects_from_analysis(res, protocol)
    assert eff.analysis is res and set(eff) == {"ordinary_employment", "fleksjob", "extension"}
    n = 20_000
    rj = effect_fed_case(eff, protocol=protocol, n_draws=n, rng=2024)
    ri = effect_fed_case(eff, protocol=protocol, n_draws=n, rng=2024, joint=False)
    assert "kovarians" in rj.draws_from and "kovarians" not in ri.draws_from
    assert any("drawn jointly" in x for x in rj.notes) and not any("jointly" in x for x in ri.notes)
    # effects as plain data (e.g. --effects FILE.json) are drawn independently, exactly as joint=False
    assert np.array_equal(effect_fed_case(dict(eff), protocol=protocol, n_draws=n, rng=2024).net_gain_draws,
                          ri.net_gain_draws)
    V = _line_cov(rj, res)
    mean, sd_joint, p_joint = _closed_form(rj, V)
    _, sd_indep, p_indep = _closed_form(ri, np.diag(np.diag(V)))
    tol_sd = 4 / math.sqrt(2 * n)
    assert sd_joint / sd_indep - 1 > 3 * tol_sd      # the correlation matters here, so the checks below can fail
    cj, ci = rj.net_gain_draws[:, :10].sum(axis=1), ri.net_gain_draws[:, :10].sum(axis=1)
    assert cj.std() == pytest.approx(sd_joint, rel=tol_sd) and ci.std() == pytest.approx(sd_indep, rel=tol_sd)
    # independent and joint draws have the same mean: the net gain at the estimates
    assert abs(cj.mean() - mean) <= 4 * sd_joint / math.sqrt(n) and abs(ci.mean() - mean) <= 4 * sd_indep / math.sqrt(n)
    assert abs(cj.mean() - ci.mean()) <= 4 * math.sqrt((sd_joint ** 2 + sd_indep ** 2) / n)
    assert rj.to_frame()["cumulative_estimate"].iloc[9] == pytest.approx(mean, rel=1e-9)
    # P(payback within 10 years) = P(C >= I) under the joint normal
    assert 0.05 < p_joint < 0.95 and abs(p_joint - p_indep) > 8 * math.sqrt(p_joint * (1 - p_joint) / n)
    assert rj.p_payback == pytest.approx(p_joint, abs=4 * math.sqrt(p_joint * (1 - p_joint) / n))
    assert ri.p_payback == pytest.approx(p_indep, abs=4 * math.sqrt(p_indep * (1 - p_indep) / n))
    # reproducible from the seed
    assert np.array_equal(effect_fed_case(eff, protocol=protocol, n_draws=n, rng=2024).net_gain_draws,
                          rj.net_gain_draws)


def test_joint_draws_follow_an_edited_estimate(protocol):
    """An effect used that is not the difference-in-means row is recentred (same correlation, its own SE)."""
    from trial.business_case._effect import MeasuredEffects

    res = _correlated_analysis()
    eff = effects_from_analysis(res, protocol)
    edited = MeasuredEffects({**eff, "extension": {**eff["extension"], "estimate": -0.15}}, analysis=res)
    n = 20_000
    r = effect_fed_case(edited, protocol=protocol, n_draws=n, rng=5)
    assert any("recentred" in x for x in r.notes)
    mean, sd, _ = _closed_form(r, _line_cov(r, res))
    c = r.net_gain_draws[:, :10].sum(axis=1)
    assert abs(c.mean() - mean) <= 4 * sd / math.sqrt(n) and c.std() == pytest.approx(sd, rel=4 / math.sqrt(2 * n))


def test_effect_fed_from_a_register_draws_jointly(protocol, monkeypatch):
    import trial.analysis
    from trial.business_case import effect_fed

    res = _correlated_analysis()
    monkeypatch.setattr(trial.analysis, "analyze", lambda register, as_of=None: res)
    r = effect_fed(object(), protocol=protocol, n_draws=200)
    assert "kovarians" in r.draws_from and r.seed == 20161001
    same = effect_fed_case(effects_from_analysis(res, protocol), protocol=protocol, n_draws=200, rng=20161001)
    assert np.array_equal(r.net_gain_draws, same.net_gain_draws)


def test_joint_argument_checked(protocol):
    res = _correlated_analysis()
    with pytest.raises(BusinessCaseError) as ei:
        effect_fed_case(EFFECTS, protocol=protocol, n_draws=50, rng=1, joint=True)
    assert ei.value.key == "joint" and "AnalysisResult" in str(ei.value)
    with pytest.raises(BusinessCaseError) as ei:
        effect_fed_case(effects_from_analysis(res, protocol), protocol=protocol, n_draws=50, rng=1, joint="yes")
    assert ei.value.key == "joint" and "'yes'" in str(ei.value)
    one = effects_from_analysis(res.table[res.table.endpoint == "extension"], protocol)
    assert one.analysis is None                  # a table alone carries no per-citizen data
