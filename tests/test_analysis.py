"""The pre-specified analysis (trial.analysis) and its CLI.

References: the table's numbers must equal calling the estimators of
:mod:`trial.estimate` directly on the wide outcome frame (those estimators
are themselves checked against R in the estimation tests), the arm means
equal pandas group means, and the multiplicity columns equal the fixed
sequence / Holm adjustments computed here by hand.

Tolerances: the same computations on the same numbers, so 1e-12 relative
(only summation order may differ); randomization inference is compared
exactly, because the same seed gives the same re-randomizations.
"""
from __future__ import annotations

import json
import math
import re

import numpy as np
import pandas as pd
import pytest

from trial import estimate as E
from trial.analysis import TABLE_COLUMNS, AnalysisResult, analyze, analyze_frames
from trial.cli import main
from trial.exceptions import ParameterError
from trial.outcomes import derive
from trial.protocol import loads

from ._outcomes_synth import synthetic_frames

RTOL = 1e-12
AS_OF = "2020-06-30"
CPR_RE = re.compile(r"\b\d{6}-?\d{4}\b")


@pytest.fixture(scope="module")
def frames(protocol):
    return synthetic_frames(protocol, 240, seed=11, effect=1.5)


@pytest.fixture(scope="module")
def result(protocol, frames):
    enr, st, ev, sv = frames
    return analyze_frames(protocol, enr, st, ev, sv, as_of=AS_OF, n_resamples=300, rng=7)


def _wide(protocol, frames):
    enr, st, ev, sv = frames
    w = derive(protocol, enr, st, ev, sv, as_of=AS_OF).wide()
    return enr.drop(columns=["arm", "treatment"]).merge(w, on="pseudonym")


def _row(table, endpoint, estimator):
    r = table[(table.endpoint == endpoint) & (table.estimator == estimator)]
    assert len(r) == 1, (endpoint, estimator)
    return r.iloc[0]


def _same(row, res):
    for k in ("estimate", "std_error", "statistic", "df", "p_value", "ci_low", "ci_high"):
        a, b = float(row[k]), float(getattr(res, k))
        assert (math.isnan(a) and math.isnan(b)) or a == pytest.approx(b, rel=RTOL, abs=1e-15), k
    assert (row["n_treatment"], row["n_control"]) == (res.n_treatment, res.n_control)


def test_table_shape_and_order(protocol, result):
    t = result.table
    assert list(t.columns) == list(TABLE_COLUMNS)
    # primary endpoints first, in hierarchy order
    first = list(dict.fromkeys(t["endpoint"]))[:3]
    assert first == [e.id for e in protocol.primary_endpoints]
    assert set(t["endpoint"]) == {e.id for e in protocol.endpoints}
    assert t.groupby("endpoint")["estimator"].apply(list)["time_to_work"] == ["logrank", "cox"]
    assert t.groupby("endpoint")["estimator"].apply(list)["psych_admission_days"] == [
        "difference_in_means", "lin_hc2", "randomization_inference", "negbin"]
    assert "risk_difference" not in set(t[t.endpoint == "benefit_weeks"]["estimator"])
    assert not result.descriptive and result.n_by_arm == {"deltagergruppe": 60, "kontrolgruppe": 180}


def test_numbers_equal_the_estimators_called_directly(protocol, frames, result):
    d = _wide(protocol, frames)
    t = result.table
    kw = dict(treatment="treatment", confidence_level=0.95, alternative="two-sided")
    covs = list(protocol.analysis.covariates)
    for ep in ("extension", "benefit_weeks", "self_rated_health_change"):
        cc = d[d[ep].notna()]
        _same(_row(t, ep, "difference_in_means"), E.difference_in_means(cc, outcome=ep, **kw))
        _same(_row(t, ep, "lin_hc2"), E.lin_adjusted(cc, outcome=ep, covariates=covs, **kw))
    cc = d[d["fleksjob"].notna()]
    _same(_row(t, "fleksjob", "risk_difference"), E.risk_difference(cc, outcome="fleksjob", **kw))
    cc = d[d["time_to_work"].notna()]
    for name, fn in (("logrank", E.logrank), ("cox", E.cox)):
        _same(_row(t, "time_to_work", name), fn(cc, time="time_to_work", event="time_to_work_event",
                                               treatment="treatment", confidence_level=0.95))
    ep = "psych_admission_days"
    cc = d[d[ep].notna()].assign(n_days=lambda x: np.round(x[ep] * x[f"{ep}_exposure_years"]))
    _same(_row(t, ep, "negbin"), E.negbin_rate_ratio(cc, outcome="n_days", exposure=f"{ep}_exposure_years", **kw))
    # randomization inference: every non-survival endpoint on the same re-randomizations, within stratum
    ri_eps = [e.id for e in list(protocol.primary_endpoints) + [e for e in protocol.endpoints if not e.confirmatory]
              if e.type != "time_to_event"]
    ri = E.randomization_inference_many(d, outcomes=ri_eps, scheme="blocked", blocks="stratum", n_resamples=300,
                                        rng=7, **kw)
    for name, res in zip(ri_eps, ri):
        _same(_row(t, name, "randomization_inference"), res)


def test_result_objects_are_kept_behind_every_row(protocol, frames, result):
    """results[(endpoint, estimator)] is the object each row was read from (same numbers, the row's role)."""
    t = result.table
    assert list(result.results) == list(zip(t["endpoint"], t["estimator"]))
    for row in t.itertuples(index=False):
        res = result.results[(row.endpoint, row.estimator)]
        if res is None:
            assert math.isnan(row.estimate) and row.note
            continue
        _same(t[(t.endpoint == row.endpoint) & (t.estimator == row.estimator)].iloc[0], res)
        assert res.role == row.role and res.estimator == row.estimator
    # an independent call of the estimator gives the same object's numbers
    d = _wide(protocol, frames)
    direct = E.difference_in_means(d[d["extension"].notna()], outcome="extension", treatment="treatment")
    kept = result.result("extension")
    assert kept.estimator == result.primary_estimator == protocol.analysis.primary_estimator
    assert kept.role == "confirmatory" and kept.estimate == pytest.approx(direct.estimate, rel=RTOL)
    assert result.result("time_to_work").estimator == "logrank"          # no primary estimator there: first row
    assert result.result("extension", "lin_hc2") is result.results[("extension", "lin_hc2")]
    with pytest.raises(ParameterError, match="endpoint"):
        result.result("no_such_endpoint")
    with pytest.raises(ParameterError, match="estimator.*lin_hc2"):
        result.result("extension", "negbin")
    # the frame the estimators ran on: one row per enrolled citizen, every endpoint, no CPR column
    assert len(result.data) == len(frames[0]) and "cpr" not in result.data.columns
    pd.testing.assert_series_equal(result.data["extension"].reset_index(drop=True),
                                   d["extension"].reset_index(drop=True), check_names=False)
    # not part of the JSON (the table holds the same numbers)
    assert "results" not in result.to_dict() and "data" not in result.to_dict()


def test_forest_plot_straight_from_the_result(result):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = E.plot_forest(result, endpoints=["extension", "ordinary_employment", "fleksjob"])
    labels = [x.get_text() for x in fig.axes[0].get_yticklabels()]
    assert labels == ["fleksjob *", "ordinary_employment *", "extension *"]         # top to bottom = given order
    # the drawn intervals are the table's (primary estimator), in order
    lines = [ln for ln in fig.axes[0].get_lines() if len(ln.get_xdata()) == 2 and ln.get_ydata()[0] == 2]
    row = _row(result.table, "extension", "difference_in_means")
    assert list(lines[0].get_xdata()) == [row["ci_low"], row["ci_high"]]
    plt.close(fig)
    # the tidy table works the same; ratio estimators get a log axis
    fig = E.plot_forest(result.to_frame(), estimator="cox")
    assert fig.axes[0].get_xscale() == "log" and len(fig.axes[0].get_yticklabels()) == 1
    plt.close(fig)
    fig = E.plot_forest(list(result.results.values())[:2])                # result objects as before
    assert [x.get_text() for x in fig.axes[0].get_yticklabels()][-1] == "extension · difference_in_means *"
    plt.close(fig)
    with pytest.raises(ParameterError, match="ratio and the difference scale"):
        E.plot_forest(result.to_frame()[result.table.endpoint == "psych_admission_days"])
    with pytest.raises(ParameterError, match="endpoints"):
        E.plot_forest(result, endpoints=["nope"])
    with pytest.raises(ParameterError, match="estimate, ci_low, ci_high"):
        E.plot_forest(pd.DataFrame({"endpoint": ["a"], "estimate": [1.0]}))


def test_arm_means_and_missing(protocol, frames, result):
    d = _wide(protocol, frames)
    for ep in ("extension", "benefit_weeks", "psych_admission_days", "functional_ability_change"):
        m = d.groupby("treatment")[ep].mean()
        r = _row(result.table, ep, "difference_in_means")
        assert r["control_mean"] == pytest.approx(m[0], rel=RTOL) and r["treatment_mean"] == pytest.approx(m[1], rel=RTOL)
        assert r["n_missing"] == d[ep].isna().sum()
        assert r["n_treatment"] + r["n_control"] + r["n_missing"] == len(d)
    # a missing value always says why
    r = _row(result.table, "functional_ability_change", "difference_in_means")
    assert r["n_missing"] > 0 and "not answered" in r["missing_reasons"]
    # time to event: share with the event by the horizon = 1 - Kaplan-Meier
    r = _row(result.table, "time_to_work", "logrank")
    cc = d[d["time_to_work"].notna()]
    km = E.kaplan_meier(cc, time="time_to_work", event="time_to_work_event", treatment="treatment", horizon=156)
    assert r["treatment_mean"] - r["control_mean"] == pytest.approx(km.estimate, rel=1e-9)


def test_roles_and_fixed_sequence(protocol, result):
    t = result.table
    conf = t[t.role == "confirmatory"]
    assert list(conf["endpoint"]) == ["extension", "ordinary_employment", "fleksjob"]
    assert set(conf["estimator"]) == {"difference_in_means"}
    assert (t[t.role == "exploratory"]["adjusted_p_value"].isna()).all()
    assert t[t.role == "exploratory"]["rejected"].isna().all()
    p = conf["p_value"].to_numpy()
    np.testing.assert_allclose(conf["adjusted_p_value"], np.maximum.accumulate(p), rtol=RTOL)
    expect = list(np.maximum.accumulate(p) <= 0.05)
    assert list(conf["rejected"]) == expect
    assert set(t["role"]) == {"confirmatory", "exploratory"}


def _variant(protocol, **subs):
    text = protocol.text
    for old, new in subs.items():
        text = re.sub(old, new, text, count=1, flags=re.M)
    return loads(text)


def test_holm_and_an_unusable_p_value(protocol, frames):
    enr, st, ev, sv = frames
    holm = _variant(protocol, **{r'^multiplicity = "fixed_sequence"': 'multiplicity = "holm"'})
    res = analyze_frames(holm, enr, st, ev, sv, as_of=AS_OF, n_resamples=50, rng=1)
    conf = res.confirmatory()
    p = conf["p_value"].to_numpy()
    s = np.argsort(p)
    adj = np.empty(3)
    adj[s] = np.minimum(1, np.maximum.accumulate((3 - np.arange(3)) * p[s]))
    np.testing.assert_allclose(conf["adjusted_p_value"], adj, rtol=RTOL)
    assert res.multiplicity.method == "holm"
    # an endpoint nobody can be measured on: p counted as 1, the fixed sequence stops there
    enr2 = enr.copy()
    ev2 = ev[ev.event != "forloeb_extension"]
    ev2 = pd.concat([ev2, pd.DataFrame({"pseudonym": enr2["pseudonym"], "event": "forloeb_extension",
                                        "start_date": enr2["referral_date"] + pd.Timedelta(days=3),
                                        "end_date": pd.NaT})])
    res = analyze_frames(protocol, enr2, st, ev2, sv, as_of=AS_OF, n_resamples=50, rng=1)
    first = res.confirmatory().iloc[0]
    assert first["endpoint"] == "extension" and math.isnan(first["p_value"])
    assert first["adjusted_p_value"] == 1.0 and "counted as p = 1" in first["note"]
    assert not res.confirmatory()["rejected"].any()


def test_descriptive_before_the_analysis_date(protocol, frames):
    enr, st, ev, sv = frames
    res = analyze_frames(protocol, enr, st, ev, sv, as_of="2018-01-15", n_resamples=50, rng=1)
    assert res.descriptive and "DESCRIPTIVE" in res.summary()
    assert res.table["rejected"].isna().all()
    conf = res.confirmatory()
    assert list(conf["role"]) == ["confirmatory"] * 3
    # week-156 endpoints are not yet observed for anyone: said, not silently dropped
    r = _row(res.table, "ordinary_employment", "difference_in_means")
    assert r["n_missing"] == len(enr) and "not yet observed" in r["missing_reasons"]
    assert "nothing to compare" in r["note"]
    # "ever by week 156": an event already seen does not make a complete case before the horizon
    # (else the complete cases would be all 1s: 100 % vs 100 %)
    for ep in ("extension", "par85"):
        r = _row(res.table, ep, "difference_in_means")
        assert np.isnan(r["estimate"]) and np.isnan(r["std_error"]), ep
        assert "not computable yet" in r["note"] and "week 156" in r["note"], ep
        assert r["n_treatment"] == 0 and r["n_control"] == 0


def test_same_seed_same_table_and_dict(protocol, frames, result):
    enr, st, ev, sv = frames
    again = analyze_frames(protocol, enr, st, ev, sv, as_of=AS_OF, n_resamples=300, rng=7)
    pd.testing.assert_frame_equal(result.table, again.table)
    d = result.to_dict()
    assert list(d)[:3] == ["as_of", "descriptive", "estimates"]
    assert d["as_of"] == AS_OF and d["descriptive"] is False and len(d["estimates"]) == len(result.table)
    json.dumps(d, allow_nan=False)
    assert isinstance(result, AnalysisResult) and "<pre>" in result._repr_html_()


def test_bad_input(protocol, frames):
    enr, st, ev, sv = frames
    with pytest.raises(ParameterError, match="n_resamples"):
        analyze_frames(protocol, enr, st, ev, sv, as_of=AS_OF, n_resamples=0)
    with pytest.raises(ParameterError, match="treatment"):
        analyze_frames(protocol, enr.drop(columns="treatment"), st, ev, sv, as_of=AS_OF)
    with pytest.raises(ParameterError, match="rerandomizer"):
        draw = lambda rng, n: None  # noqa: E731
        draw.n = 3
        analyze_frames(protocol, enr, st, ev, sv, as_of=AS_OF, rerandomizer=draw)
    with pytest.raises(ParameterError, match="as_of"):
        analyze("nowhere.sqlite", as_of="31/02/2020")


# --------------------------------------------------------------------------- register + CLI, end to end
@pytest.fixture(scope="module")
def reg_dir(protocol, tmp_path_factory):
    from trial._keys import create_key_file
    from trial.intake import read_referrals
    from trial.register import Register
    from trial.simulate import rehearse

    d = tmp_path_factory.mktemp("analysis_register")
    r = rehearse(protocol, 120, d / "exports", seed=5)
    key = create_key_file(d / "r.key")
    with Register.create(d / "r.sqlite", protocol, key=key, mode="test") as reg:
        reg.enroll_frame(read_referrals(r.paths["referrals"], key=key.pseudonym_key, protocol=protocol), key=key)
    return d


def _cli(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_outcomes_load_and_analyze_cli(reg_dir, capsys, protocol):
    from trial.register import Register

    ex = reg_dir / "exports"
    reg = str(reg_dir / "r.sqlite")
    code, out, err = _cli(capsys, "analyze", "--register", reg)
    assert code == 2 and "trial outcomes load" in err          # nothing uploaded yet
    code, out, err = _cli(capsys, "outcomes", "load", "--register", reg, "--key-file", str(reg_dir / "r.key"),
                          "--status", str(ex / "status.csv"), "--events", str(ex / "events.csv"),
                          "--survey", str(ex / "survey.csv"), "--data-date", AS_OF, "--json")
    assert code == 0, err
    info = json.loads(out)
    assert info["data_date"] == AS_OF and set(info["uploads"]) == {"status", "events", "survey", "outcomes"}
    assert not CPR_RE.search(out)
    with Register.open(reg) as r:
        stored = r.outcomes()
        n = len(r.enrollments())
    assert len(stored) == n * len(protocol.endpoints) and str(stored["data_date"].iloc[0])[:10] == AS_OF

    code, out, err = _cli(capsys, "analyze", "--register", reg, "--json", "--n-resamples", "200")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["as_of"] == AS_OF and doc["descriptive"] is False
    assert len(doc["estimates"]) > 30 and set(TABLE_COLUMNS) <= set(doc["estimates"][0])
    assert not CPR_RE.search(out)
    # the same numbers from the library, with the register's own re-randomizer
    res = analyze(reg, n_resamples=200)
    assert res.ri_scheme.startswith("register re-randomizer")
    got = pd.DataFrame(doc["estimates"])
    np.testing.assert_allclose(got["estimate"].astype(float), res.table["estimate"].astype(float), rtol=RTOL)
    # mid-trial: descriptive, uses only what was known then (the upload is dated AS_OF, so nothing)
    code, out, err = _cli(capsys, "analyze", "--register", reg, "--as-of", "2018-06-30")
    assert code == 2 and "no status observations" in err
    code, out, err = _cli(capsys, "analyze", "--register", reg)
    assert code == 0 and "extension" in out and "confirmatory" in out


def test_outcomes_load_bad_file_writes_nothing(reg_dir, capsys, tmp_path):
    from trial.register import Register

    ex = reg_dir / "exports"
    (tmp_path / "cpr_input").mkdir()
    bad = tmp_path / "cpr_input" / "status.csv"  # synthetic CPR input: exempt from the leak scan
    lines = (ex / "status.csv").read_text().splitlines()
    lines[3] = re.sub(r"[^,;]+$", "XYZ", lines[3])
    bad.write_text("\n".join(lines) + "\n")
    with Register.open(str(reg_dir / "r.sqlite")) as r:
        before = len(r.audit_log())
    code, out, err = _cli(capsys, "outcomes", "load", "--register", str(reg_dir / "r.sqlite"),
                          "--key-file", str(reg_dir / "r.key"), "--status", str(bad),
                          "--events", str(ex / "events.csv"), "--survey", str(ex / "survey.csv"))
    assert code == 2 and "status" in err and not CPR_RE.search(err + out)
    with Register.open(str(reg_dir / "r.sqlite")) as r:
        assert len(r.audit_log()) == before
    code, out, err = _cli(capsys, "outcomes", "load", "--register", str(tmp_path / "none.sqlite"),
                          "--key-file", str(reg_dir / "r.key"), "--status", str(bad),
                          "--events", str(ex / "events.csv"), "--survey", str(ex / "survey.csv"))
    assert code == 2


def test_commands_have_help(capsys):
    for argv in (["analyze", "--help"], ["outcomes", "load", "--help"]):
        with pytest.raises(SystemExit) as e:
            main(argv)
        assert e.value.code == 0
        assert "usage" in capsys.readouterr().out


# --------------------------------------------------------------------------- QA: outcomes load refuses what would be a false result
def _load_argv(reg, key, ex, *extra, status=None):
    return ["outcomes", "load", "--register", str(reg), "--key-file", str(key), "--status",
            str(status or ex / "status.csv"), "--events", str(ex / "events.csv"), "--survey",
            str(ex / "survey.csv"), *extra]


def _n_audit(reg) -> int:
    from trial.register import Register

    with Register.open(str(reg)) as r:
        return len(r.audit_log())


def test_outcomes_load_refuses_another_registers_key(reg_dir, tmp_path, capsys, protocol):
    """QA P0: another register's key gave an empty upload, and `analyze` then reported extension 0 for all."""
    assert main(["init", "--protocol", str(protocol.path), "--register", str(tmp_path / "other.sqlite")]) == 0
    capsys.readouterr()
    before = _n_audit(reg_dir / "r.sqlite")
    code, out, err = _cli(capsys, *_load_argv(reg_dir / "r.sqlite", tmp_path / "other.sqlite.key",
                                              reg_dir / "exports", "--data-date", AS_OF))
    assert code == 2 and "does not belong to register" in err
    assert _n_audit(reg_dir / "r.sqlite") == before
    # the register is checked before the key: a missing register is named as such
    code, out, err = _cli(capsys, *_load_argv(tmp_path / "nope.sqlite", tmp_path / "nope.key", reg_dir / "exports"))
    assert code == 2 and "register" in err and "does not exist" in err and "key file" not in err


def test_outcomes_load_refuses_an_export_of_nobody_enrolled(reg_dir, tmp_path, protocol):
    from trial._keys import create_key_file
    from trial.exceptions import IntakeError
    from trial.outcomes import load_exports
    from trial.register import Register

    from ._register_helpers import referrals

    key = create_key_file(tmp_path / "k.key")
    ex = reg_dir / "exports"
    with Register.create(tmp_path / "r.sqlite", protocol, key=key, mode="test") as reg:
        reg.enroll_frame(referrals(30, 4, start="2016-10-01", eligible_only=True), key=key)
        n = len(reg.audit_log())
        with pytest.raises(IntakeError) as info:
            load_exports(reg, key, status=ex / "status.csv", events=ex / "events.csv", survey=ex / "survey.csv",
                         data_date=AS_OF)
        files = {p.file for p in info.value.problems}
        assert files == {str(ex / "status.csv"), str(ex / "events.csv"), str(ex / "survey.csv")}
        assert all("none of its" in p.message and "nothing was stored" in p.message for p in info.value.problems)
        assert len(reg.audit_log()) == n and reg.observations("status").empty


def test_outcomes_load_warns_on_many_unmatched_and_missing_panels(reg_dir, tmp_path, protocol):
    from trial._keys import create_key_file
    from trial.intake import pseudonymise, read_referrals
    from trial.outcomes import load_exports
    from trial.register import Register

    ex = reg_dir / "exports"
    key = create_key_file(tmp_path / "k.key")
    refs = read_referrals(ex / "referrals.csv", key=key.pseudonym_key, protocol=protocol)
    # status export without the rows of a quarter of the citizens (synthetic CPR input)
    st = pd.read_csv(ex / "status.csv", sep=None, engine="python", dtype=str)
    ids = st["cpr"].drop_duplicates()
    dropped = set(ids.iloc[::4])
    (tmp_path / "cpr_input").mkdir()
    st[~st["cpr"].isin(dropped)].to_csv(tmp_path / "cpr_input" / "status.csv", index=False)
    with Register.create(tmp_path / "r.sqlite", protocol, key=key, mode="test") as reg:
        reg.enroll_frame(refs.iloc[:30], key=key)                       # a quarter of the exports' citizens
        res = load_exports(reg, key, status=tmp_path / "cpr_input" / "status.csv", events=ex / "events.csv",
                           survey=ex / "survey.csv", data_date=AS_OF)
        enrolled = set(reg.enrollments()["pseudonym"])
    gone = enrolled & set(pseudonymise(pd.Series(sorted(dropped)), key.pseudonym_key))
    assert gone, "the test needs enrolled citizens without panel"
    text = " | ".join(res.warnings)
    assert "status: " in text and "are not enrolled" in text and "events: " in text
    assert f"{len(gone)} of the {len(enrolled)} enrolled citizens followed a week or more have no row" in text
    assert "warning: " in res.summary() and res.to_dict()["warnings"] == list(res.warnings)
    # their event endpoints are missing, not 0 (no follow-up information); an extension on record still counts
    lg = res.outcomes.long
    ext = lg[(lg["endpoint"] == "extension") & lg["pseudonym"].isin(gone)]
    assert (ext["value"].dropna() == 1).all() and ext["value"].isna().any()
    assert set(ext.loc[ext["value"].isna(), "missing_reason"]) == {"no follow-up"}


@pytest.mark.parametrize("date, text", [
    ("2016-09-30", "first enrolled citizen's referral date 2016-10-03"),
    ("2999-01-01", "must not be after today"),
])
def test_outcomes_load_checks_the_data_date(reg_dir, capsys, date, text):
    """QA P2: --data-date before every referral, in the future, or older than the data was accepted."""
    before = _n_audit(reg_dir / "r.sqlite")
    code, out, err = _cli(capsys, *_load_argv(reg_dir / "r.sqlite", reg_dir / "r.key", reg_dir / "exports",
                                              "--data-date", date))
    assert code == 2 and text in err, err
    assert _n_audit(reg_dir / "r.sqlite") == before
    assert not CPR_RE.search(out + err)


def test_data_newer_than_the_data_date(reg_dir, tmp_path, capsys, protocol):
    """Production: an export with rows dated after --data-date is refused. Test: those rows are not stored
    (rehearsals cut simulated exports at interim dates), with a warning, and the endpoints do not change."""
    from trial._keys import load_key_file
    from trial.intake import read_events, read_referrals, read_status, read_survey
    from trial.register import Register

    ex, interim = reg_dir / "exports", "2018-06-30"
    for mode in ("production", "test"):
        reg = tmp_path / f"{mode}.sqlite"
        assert main(["init", "--protocol", str(protocol.path), "--register", str(reg), "--mode", mode]) == 0
        key = load_key_file(f"{reg}.key")
        with Register.open(reg) as r:
            r.enroll_frame(read_referrals(ex / "referrals.csv", key=key.pseudonym_key, protocol=protocol), key=key)
        capsys.readouterr()
        before = _n_audit(reg)
        code, out, err = _cli(capsys, *_load_argv(reg, f"{reg}.key", ex, "--data-date", interim, "--json"))
        if mode == "production":
            assert code == 2 and _n_audit(reg) == before
            problems = json.loads(out)["problems"]
            assert [(p["file"], p["column"]) for p in problems] == [
                (str(ex / "status.csv"), "week"), (str(ex / "events.csv"), "start_date"),
                (str(ex / "survey.csv"), "date")]
            assert all(f"dated after the data date {interim}" in p["message"] for p in problems)
            continue
        assert code == 0, err
        warnings = json.loads(out)["warnings"]
        assert [w.split(":")[0] for w in warnings] == ["status", "events", "survey"]
        assert all("were not stored" in w for w in warnings) and "trial: warning: status" in err
        with Register.open(reg) as r:
            enr = r.enrollments()
            st, ev, sv = (r.observations(k) for k in ("status", "events", "survey"))
            stored = r.outcomes()
        start = enr.set_index("pseudonym")["referral_date"].reindex(st["pseudonym"]).to_numpy() \
            + pd.to_timedelta(7 * (st["week"].to_numpy() - 1), unit="D")
        assert (start <= pd.Timestamp(interim)).all() and (ev["start_date"] <= pd.Timestamp(interim)).all()
        assert (sv["date"].dropna() <= pd.Timestamp(interim)).all()
        # the endpoints are those of the full exports as of the data date (derive ignores later rows anyway)
        k = key.pseudonym_key
        full = derive(protocol, enr, read_status(ex / "status.csv", key=k, protocol=protocol),
                      read_events(ex / "events.csv", key=k, protocol=protocol),
                      read_survey(ex / "survey.csv", key=k, protocol=protocol), as_of=interim).long
        got = stored.drop(columns="data_date").sort_values(["pseudonym", "endpoint"]).reset_index(drop=True)
        want = full.sort_values(["pseudonym", "endpoint"]).reset_index(drop=True)
        np.testing.assert_array_equal(got["value"].to_numpy(float), want["value"].to_numpy(float))
        assert got["missing_reason"].fillna("").tolist() == want["missing_reason"].fillna("").tolist()


# --------------------------------------------------------------------------- joint draws of the effects
# Tolerances: the covariance's diagonal is the same Neyman variance as the table's standard error computed
# another way (pandas pairwise covariance vs numpy variance): 1e-12 relative. The hand example is exact
# fractions: 1e-14. The stacked HC2 sandwich is a different algebraic route: 1e-10 relative. Monte Carlo:
# a sample covariance of n normal draws has standard error sqrt((V_jk^2 + V_jj V_kk)/n); allowed 5 of those
# per element (fixed seed, so never flaky; a false alarm would be about 1 in 10^6 per element).
from trial.analysis import effect_covariance, joint_effect_draws  # noqa: E402


def _hand_result(treated, control, names=("a", "b", "c")):
    """An AnalysisResult whose table holds difference_in_means rows computed by trial.estimate on the data."""
    import datetime as dt

    Y = np.vstack([np.asarray(treated, float), np.asarray(control, float)])
    data = pd.DataFrame(Y, columns=list(names))
    data.insert(0, "treatment", np.r_[np.ones(len(treated), int), np.zeros(len(control), int)])
    rows = []
    for nm in names:
        r = E.difference_in_means(data, outcome=nm, treatment="treatment")
        rows.append({"endpoint": nm, "estimator": "difference_in_means", "estimate": r.estimate,
                     "std_error": r.std_error})
    day = dt.date(2020, 1, 1)
    return AnalysisResult(table=pd.DataFrame(rows), as_of=day, data_date=None, descriptive=False,
                          protocol_fingerprint="hand", trial_id="hand", analysis_date=day, n_by_arm={}, data=data)


NA = np.nan
HAND_T = [[NA, NA, 2], [2, NA, 2], [NA, 2, 2], [NA, 2, NA], [1, 0, 0], [0, 2, NA]]


def test_effect_covariance_diagonal_is_the_tables_squared_standard_error(result):
    V = effect_covariance(result)
    t = result.table[result.table.estimator == "difference_in_means"].set_index("endpoint")
    assert list(V.index) == [e for e in t.index if np.isfinite(t.loc[e, "std_error"])]   # the default endpoints
    assert np.allclose(np.diag(V), t.loc[V.index, "std_error"] ** 2, rtol=1e-12, atol=0)
    assert (t.loc[V.index, "n_missing"] > 0).any()       # pairwise deletion is exercised
    assert np.allclose(V, V.T, rtol=0, atol=1e-15)
    sub = effect_covariance(result, endpoints=["fleksjob", "extension"])
    assert sub.loc["fleksjob", "extension"] == pytest.approx(V.loc["fleksjob", "extension"], rel=1e-12)


def test_effect_covariance_hand_example_pairwise_complete():
    """Treated: a on citizens 2,5,6; b on 3,4,5,6; c on 1,2,3,5 (overlaps of 2); control complete.

    Treated: var a = 1/3 (÷3), var b = var c = 1 (÷4); pairs on their two common citizens: s_ab = -1,
    s_ac = 1, s_bc = 2, each × n_jk/(n_j n_k): -1·2/12, 1·2/12, 2·2/16. Control: every variance 1/3 (÷3),
    covariances 1/6, 1/6, -1/6 (÷3)."""
    r = _hand_result(HAND_T, [[0, 1, 0], [1, 1, 1], [0, 0, 1]])
    V = effect_covariance(r).to_numpy()
    ref = np.array([[1 / 3 + 1 / 9, -1 / 6 + 1 / 18, 1 / 6 + 1 / 18],
                    [-1 / 6 + 1 / 18, 1 / 4 + 1 / 9, 1 / 4 - 1 / 18],
                    [1 / 6 + 1 / 18, 1 / 4 - 1 / 18, 1 / 4 + 1 / 9]])
    assert np.allclose(V, ref, rtol=0, atol=1e-14)
    assert np.allclose(np.diag(V), r.table["std_error"] ** 2, rtol=1e-12)


def test_effect_covariance_equals_the_stacked_hc2_sandwich_on_complete_data(result):
    """Without missing values the formula is the cross-equation HC2 sandwich of the regressions y_j ~ 1 + z."""
    eps = ["ordinary_employment", "fleksjob", "benefit_weeks", "par85", "psych_contact"]
    d = result.data.dropna(subset=eps).reset_index(drop=True)
    import dataclasses

    V = effect_covariance(dataclasses.replace(result, data=d), endpoints=eps).to_numpy()
    X = np.column_stack([np.ones(len(d)), d["treatment"].to_numpy(float)])
    bread = np.linalg.inv(X.T @ X)
    h = np.einsum("ij,jk,ik->i", X, bread, X)
    Y = d[eps].to_numpy(float)
    e = Y - X @ (bread @ X.T @ Y)                         # OLS residuals per equation
    ref = np.empty((len(eps), len(eps)))
    for j in range(len(eps)):
        for k in range(len(eps)):
            meat = X.T @ (X * (e[:, j] * e[:, k] / (1 - h))[:, None])
            ref[j, k] = (bread @ meat @ bread)[1, 1]
    assert np.allclose(V, ref, rtol=1e-10, atol=0)


def test_joint_draws_have_the_estimated_mean_and_covariance(result):
    n = 200_000
    d = joint_effect_draws(result, n_draws=n, rng=2016)
    V = effect_covariance(result)
    assert list(d.columns) == list(V.index) and len(d) == n and d.attrs["note"] == ""
    v = V.to_numpy()
    est = np.array([d.attrs["estimate"][c] for c in d.columns])
    t = result.table[result.table.estimator == "difference_in_means"].set_index("endpoint")
    assert np.array_equal(est, t.loc[d.columns, "estimate"].to_numpy())
    se_cov = np.sqrt((v ** 2 + np.outer(np.diag(v), np.diag(v))) / n)
    assert (np.abs(d.cov().to_numpy() - v) <= 5 * se_cov).all()
    assert (np.abs(d.mean().to_numpy() - est) <= 5 * np.sqrt(np.diag(v) / n)).all()
    # the correlations are not all ~0, so the check above could tell joint from independent draws
    corr = v / np.sqrt(np.outer(np.diag(v), np.diag(v)))
    off = np.abs(corr[~np.eye(len(v), dtype=bool)])
    assert (off > 10 * np.sqrt(1 / n)).sum() >= 4
    # same seed, same draws; another seed, other draws
    a = joint_effect_draws(result, n_draws=50, rng=3, endpoints=["extension", "fleksjob"])
    assert a.equals(joint_effect_draws(result, n_draws=50, rng=np.random.default_rng(3),
                                       endpoints=["extension", "fleksjob"]))
    assert not a.equals(joint_effect_draws(result, n_draws=50, rng=4, endpoints=["extension", "fleksjob"]))


def test_joint_draws_clip_a_covariance_that_pairwise_deletion_made_indefinite():
    """Same treated data as the hand example, control constant (adds 0): V = [[1/3, -1/6, 1/6],
    [-1/6, 1/4, 1/4], [1/6, 1/4, 1/4]] has a negative eigenvalue (b and c perfectly correlated, a not
    consistently with both). It is clipped: the nearest PSD matrix in Frobenius norm (negative eigenvalues 0)."""
    r = _hand_result(HAND_T, [[0, 0, 0]] * 3)
    V = effect_covariance(r).to_numpy()
    lam = np.linalg.eigvalsh(V)
    assert lam[0] < -0.1
    n = 100_000
    d = joint_effect_draws(r, n_draws=n, rng=1)
    assert "not positive semi-definite" in d.attrs["note"]
    Vp = pd.DataFrame(d.attrs["covariance"]).loc[list("abc"), list("abc")].to_numpy()
    assert np.linalg.eigvalsh(Vp)[0] > -1e-12
    assert np.linalg.norm(V - Vp) == pytest.approx(abs(lam[0]), rel=1e-9)
    se_cov = np.sqrt((Vp ** 2 + np.outer(np.diag(Vp), np.diag(Vp))) / n)
    assert (np.abs(d.cov().to_numpy() - Vp) <= 5 * se_cov + 1e-12).all()


def test_joint_draws_bad_input(result):
    import dataclasses

    with pytest.raises(ParameterError, match="AnalysisResult.data"):
        joint_effect_draws(dataclasses.replace(result, data=None), n_draws=10, rng=1)
    with pytest.raises(ParameterError, match=r"endpoints.*extension.*got 'time_to_work'"):
        joint_effect_draws(result, n_draws=10, rng=1, endpoints=["extension", "time_to_work"])
    with pytest.raises(ParameterError, match="n_draws.*got 1"):
        joint_effect_draws(result, n_draws=1, rng=1)
    with pytest.raises(ParameterError, match="result"):
        effect_covariance(result.table)
