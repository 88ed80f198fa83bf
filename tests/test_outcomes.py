"""Endpoint derivation (trial.outcomes) against hand-computed examples.

Reference: each expected value below is worked out by hand from the rules in
the package docstring of ``trial/outcomes/__init__.py`` (week 1 = days 0-6 after
referral; data dated ``as_of`` included; follow-up ends the day before
attrition), and the property test compares the vectorised :func:`derive` with
an independent per-citizen implementation (``tests/_outcomes_reference.py``).

Tolerances: the derivations are counts and differences of small integers, so
equality is exact except for rates (count / (days / 365.25)), compared at
1e-12 relative: a few floating-point roundings of one division.
"""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as hst

from trial import outcomes as O
from trial.exceptions import IntakeError, ParameterError, TrialError

from ._outcomes_reference import naive_derive

RTOL = 1e-12
REF = pd.Timestamp("2017-01-02")   # a Monday; week w = days 7(w-1)..7w-1
EMPTY_EVENTS = pd.DataFrame({"pseudonym": pd.Series([], dtype=str), "event": pd.Series([], dtype=str),
                             "start_date": pd.Series([], dtype="datetime64[ns]"),
                             "end_date": pd.Series([], dtype="datetime64[ns]")})


def day(n: int) -> pd.Timestamp:
    """The date ``n`` days after the referral date."""
    return REF + pd.Timedelta(days=n)


def enr(*ids, ref=REF, arms=None, **extra):
    d = {"pseudonym": list(ids), "referral_date": [ref] * len(ids),
         "arm": arms or ["kontrolgruppe"] * len(ids), "treatment": [0] * len(ids)}
    d.update(extra)
    return pd.DataFrame(d)


def panel(spec: dict) -> pd.DataFrame:
    """``{"a": ["ressourceforloebsydelse"] * 10 + [...]}`` -> long panel from week 1 (None = no row)."""
    rows = [(pid, w, s) for pid, seq in spec.items() for w, s in enumerate(seq, start=1) if s is not None]
    return pd.DataFrame(rows, columns=["pseudonym", "week", "status"])


def events(*rows) -> pd.DataFrame:
    if not rows:
        return EMPTY_EVENTS.copy()
    df = pd.DataFrame(rows, columns=["pseudonym", "event", "start_date", "end_date"])
    df["start_date"] = pd.to_datetime(df["start_date"])
    df["end_date"] = pd.to_datetime(df["end_date"])
    return df


def col(df, name="value"):
    return df[name].tolist()


def reasons(df):
    return [None if pd.isna(r) else r for r in df["missing_reason"]]


RF, ORD, FLX, KTH = "ressourceforloebsydelse", "ordinaer_beskaeftigelse", "fleksjob", "kontanthjaelp"


# --------------------------------------------------------------------------- status rules
class TestStatusAt:
    def test_complete_attrition_not_yet_observed_and_gap(self):
        e = enr("full", "moved", "died", "early", "gap")
        st = panel({
            "full": [RF] * 9 + [ORD],          # week 10 employed
            "moved": [RF] * 10,                 # but moved away on day 40 (week 6)
            "died": [ORD] * 10,                 # died on day 70: follow-up = days 0..69 = 10 weeks, complete
            "early": [ORD] * 10,
            "gap": [RF] * 4 + [None] + [ORD] * 5,  # week 5 missing from the panel
        })
        ev = events(("moved", "moved_away", day(40), None), ("died", "died", day(70), None))
        # as of day 69 (inclusive): 70 days = 10 whole weeks for everyone but "early" (referred 7 days later)
        e.loc[e.pseudonym == "early", "referral_date"] = day(7)
        out = O.status_at(e, st, statuses=[ORD], horizon_weeks=10, events=ev, as_of=day(69))
        assert col(out) == pytest.approx([1.0, np.nan, 1.0, np.nan, np.nan], nan_ok=True)
        assert reasons(out) == [None, "moved away", None, "not yet observed", "no status data"]
        # window weeks the value rests on: moved away on day 40 -> 5 whole weeks (days 0..39)
        assert col(out, "time_weeks") == [10, 5, 10, 9, 4]

    def test_as_of_boundary_is_inclusive(self):
        st = panel({"a": [ORD] * 2})
        e = enr("a")
        assert reasons(O.status_at(e, st, statuses=[ORD], horizon_weeks=2, as_of=day(12))) == ["not yet observed"]
        assert col(O.status_at(e, st, statuses=[ORD], horizon_weeks=2, as_of=day(13))) == [1.0]

    def test_rows_after_as_of_are_ignored(self):
        # panel reaches week 10 but as of day 34 (5 weeks) only weeks 1..5 are known
        st = panel({"a": [RF] * 4 + [ORD] * 6})
        out = O.ever_status(enr("a"), st, statuses=[ORD], horizon_weeks=5, as_of=day(34))
        assert col(out) == [1.0]           # week 5 is observed
        out = O.weeks_in_status(enr("a"), st, statuses=[ORD], horizon_weeks=5, as_of=day(34))
        assert col(out) == [1.0]           # weeks 6..10 are after as_of
        out = O.ever_status(enr("a"), st, statuses=[ORD], horizon_weeks=5, as_of=day(27))
        assert col(out) == pytest.approx([np.nan], nan_ok=True) and reasons(out) == ["not yet observed"]

    def test_ever_is_missing_until_the_horizon_even_after_an_event(self):
        # the data date cuts follow-up short: "ever by week 10" is not yet known, event or not
        # (else the complete cases would be only the citizens with an event: 100 % in both arms)
        st = panel({"a": [RF] * 4 + [ORD] * 6, "b": [RF] * 10})
        e = enr("a", "b")
        out = O.ever_status(e, st, statuses=[ORD], horizon_weeks=10, as_of=day(34))
        assert np.isnan(col(out)).all() and reasons(out) == ["not yet observed"] * 2
        out = O.ever_status(e, st, statuses=[ORD], horizon_weeks=10, as_of=day(69))
        assert col(out) == [1.0, 0.0]
        ev = events(("a", "extension", day(3), None))
        for as_of, want in ((day(34), [np.nan, np.nan]), (day(69), [1.0, 0.0])):
            got = O.event_any(e, ev, event_types=["extension"], horizon_weeks=10, as_of=as_of, status=st)
            assert col(got) == pytest.approx(want, nan_ok=True)
        # attrition before the horizon: the event seen before it still counts, no event is missing
        ev2 = events(("a", "extension", day(3), None), ("a", "moved_away", day(20), None), ("b", "died", day(20), None))
        got = O.event_any(e, ev2, event_types=["extension"], horizon_weeks=10, as_of=day(34), status=st)
        assert col(got)[0] == 1.0 and np.isnan(col(got)[1]) and reasons(got) == [None, "died"]

    def test_register_withdrawal_with_and_without_date(self):
        st = panel({"a": [ORD] * 10, "b": [ORD] * 10, "c": [ORD] * 10})
        e = enr("a", "b", "c", status=["active", "withdrawn", "withdrawn"],
                withdrawn_at=[pd.NaT, day(35), pd.NaT])
        out = O.time_to_status(e, st, statuses=[ORD], horizon_weeks=10, as_of=day(100))
        assert col(out) == [1.0, 1.0, np.nan] or np.isnan(col(out)[2])
        assert reasons(out) == [None, None, "withdrawn"]   # no date: nothing after randomization is used
        out = O.status_at(e, st, statuses=[ORD], horizon_weeks=10, as_of=day(100))
        assert reasons(out) == [None, "withdrawn", "withdrawn"]
        # a withdrawal dated after as_of is not known yet
        out = O.status_at(e, st, statuses=[ORD], horizon_weeks=10, as_of=day(69))
        assert reasons(out)[1] == "withdrawn"
        out = O.status_at(e, st, statuses=[ORD], horizon_weeks=5, as_of=day(34))
        assert col(out)[:2] == [1.0, 1.0]


class TestEverWeeksTime:
    st = panel({
        "a": [RF] * 3 + [FLX] * 2 + [RF] * 5,   # first work week 4, 2 fleksjob weeks
        "b": [RF] * 10,                          # never
        "c": [RF] * 2 + [ORD] + [RF] * 7,        # work in week 3, moves away day 30 (week 5)
        "d": [RF] * 8,                           # moved away day 28 (week 5): 4 weeks observed
    })
    ev = events(("c", "moved_away", day(30), None), ("d", "moved_away", day(28), None))
    e = enr("a", "b", "c", "d")

    def test_ever_status(self):
        out = O.ever_status(self.e, self.st, statuses=[ORD, FLX], horizon_weeks=10, events=self.ev, as_of=day(200))
        assert col(out)[:3] == [1.0, 0.0, 1.0]  # c worked before moving: 1
        assert np.isnan(col(out)[3]) and reasons(out)[3] == "moved away"

    def test_weeks_in_status(self):
        out = O.weeks_in_status(self.e, self.st, statuses=[RF], horizon_weeks=10, events=self.ev, as_of=day(200))
        assert col(out)[:2] == [8.0, 10.0]
        assert reasons(out)[2:] == ["moved away", "moved away"]
        assert col(out, "time_weeks") == [10, 10, 4, 4]

    def test_time_to_status_censoring(self):
        out = O.time_to_status(self.e, self.st, statuses=[ORD, FLX], horizon_weeks=10, events=self.ev,
                               as_of=day(200))
        assert col(out) == [4.0, 10.0, 3.0, 4.0]
        assert col(out, "event") == [1.0, 0.0, 1.0, 0.0]
        assert col(out, "time_weeks") == col(out)
        assert reasons(out) == [None] * 4
        # as of day 20 (3 whole weeks): a censored at 3, c has its event in week 3
        out = O.time_to_status(self.e, self.st, statuses=[ORD, FLX], horizon_weeks=10, events=self.ev,
                               as_of=day(20))
        assert col(out) == [3.0, 3.0, 3.0, 3.0] and col(out, "event") == [0.0, 0.0, 1.0, 0.0]

    def test_time_to_status_without_any_observed_week(self):
        out = O.time_to_status(enr("z"), panel({"z": [ORD]}), statuses=[ORD], horizon_weeks=10, as_of=day(5))
        assert np.isnan(col(out)[0]) and reasons(out) == ["not yet observed"]

    def test_horizon_caps_the_window(self):
        out = O.time_to_status(self.e, self.st, statuses=[ORD, FLX], horizon_weeks=2, events=self.ev,
                               as_of=day(200))
        assert col(out) == [2.0, 2.0, 2.0, 2.0] and col(out, "event") == [0.0] * 4


# --------------------------------------------------------------------------- event rules
class TestEventAny:
    def test_window_attrition_and_as_of(self):
        e = enr("in", "before", "late", "after_moving", "moved_none", "future", "none")
        ev = events(
            ("in", "forloeb_extension", day(69), None),          # last day of week 10: counts
            ("before", "forloeb_extension", day(-3), None),      # before referral: baseline, not counted
            ("late", "forloeb_extension", day(70), None),        # week 11: after the horizon
            ("after_moving", "moved_away", day(20), None),
            ("after_moving", "forloeb_extension", day(25), None),  # after attrition: not used
            ("moved_none", "died", day(50), None),
            ("future", "forloeb_extension", day(80), None),      # after as_of
        )
        out = O.event_any(e, ev, event_types=["forloeb_extension"], horizon_weeks=10, as_of=day(75))
        assert col(out)[:3] == [1.0, 0.0, 0.0]
        assert np.isnan(col(out)[3]) and np.isnan(col(out)[4])
        assert reasons(out) == [None, None, None, "moved away", "died", None, None]
        assert col(out)[5:] == [0.0, 0.0]
        assert col(out, "time_weeks")[3] == pytest.approx(20 / 7)

    def test_event_before_attrition_counts(self):
        ev = events(("a", "par85", day(10), day(40)), ("a", "died", day(12), None))
        out = O.event_any(enr("a"), ev, event_types=["par85"], horizon_weeks=156, as_of=day(3000))
        assert col(out) == [1.0]

    def test_not_yet_observed(self):
        out = O.event_any(enr("a"), events(), event_types=["par85"], horizon_weeks=52, as_of=day(362))
        assert reasons(out) == ["not yet observed"]
        out = O.event_any(enr("a"), events(), event_types=["par85"], horizon_weeks=52, as_of=day(363))
        assert col(out) == [0.0]


    def test_citizen_absent_from_the_status_panel_has_no_follow_up(self):
        """QA P0: a citizen with no status panel at all got extension = 0 instead of missing."""
        e = enr("panel", "none", "none_event", "none_moved", "none_early")
        e.loc[4, "referral_date"] = day(1000)
        st = panel({"panel": [RF] * 20})
        ev = events(("none_event", "forloeb_extension", day(30), None), ("none_moved", "moved_away", day(20), None))
        kw = dict(event_types=["forloeb_extension"], horizon_weeks=10, as_of=day(1050))
        out = O.event_any(e, ev, status=st, **kw)
        np.testing.assert_array_equal(col(out), [0.0, np.nan, 1.0, np.nan, np.nan])  # an event on record: 1
        # attrition and "not yet observed" say more than "no follow-up" and come first
        assert reasons(out) == [None, "no follow-up", None, "moved away", "not yet observed"]
        # without the panel nothing tells the citizens apart: the old rule (0 when no event is on record)
        assert col(O.event_any(e, ev, **kw))[:2] == [0.0, 0.0]
        rate = O.event_rate(e, ev, status=st, measure="count", **kw)
        assert col(rate)[0] == 0.0 and np.isnan(col(rate)[1]) and np.isnan(col(rate)[2])
        assert np.isnan(col(rate, "exposure_years")[1]) and col(rate, "exposure_years")[0] == pytest.approx(70 / 365.25)
        assert reasons(rate)[:3] == [None, "no follow-up", "no follow-up"]

    def test_derive_uses_the_panel_for_event_endpoints(self, protocol):
        e = enr("panel", "none")
        st = panel({"panel": [RF] * 156})
        out = O.derive(protocol, e, st, events(), None, as_of=day(1200), endpoints=["extension", "par85"])
        lg = out.long.set_index(["pseudonym", "endpoint"])
        assert lg.loc[("panel", "extension"), "value"] == 0
        assert np.isnan(lg.loc[("none", "extension"), "value"])
        assert lg.loc[("none", "extension"), "missing_reason"] == O.NO_FOLLOW_UP == "no follow-up"
        assert lg.loc[("none", "par85"), "missing_reason"] == "no follow-up"


class TestEventRate:
    def test_days_with_part_year_exposure(self):
        e = enr("full", "part", "open", "cross", "moved")
        ev = events(
            ("full", "psych_admission", day(10), day(20)),     # 10 days
            ("full", "psych_admission", day(100), day(105)),   # 5 days
            ("part", "psych_admission", day(0), day(7)),       # 7 days, citizen referred recently
            ("open", "psych_admission", day(360), None),       # still admitted: runs to the window end
            ("cross", "psych_admission", day(-10), day(4)),    # admitted before referral: 4 days inside
            ("cross", "psych_admission", day(362), day(400)),  # crosses the horizon (day 364): 2 days inside
            ("moved", "psych_admission", day(30), day(50)),    # 20 days, but moved away day 40: 10 days
            ("moved", "moved_away", day(40), None),
        )
        e.loc[e.pseudonym == "part", "referral_date"] = day(1000 - 182)  # 183 days observed as of day 1000
        ev.loc[ev.pseudonym == "part", ["start_date", "end_date"]] += pd.Timedelta(days=1000 - 182)
        out = O.event_rate(e, ev, event_types=["psych_admission"], horizon_weeks=52, measure="days", as_of=day(1000))
        exposure = np.array([364, 183, 364, 364, 40]) / 365.25
        days = np.array([15, 7, 4, 4 + 2, 10])
        np.testing.assert_allclose(col(out, "exposure_years"), exposure, rtol=RTOL)
        np.testing.assert_allclose(col(out), days / exposure, rtol=RTOL)
        assert reasons(out) == [None] * 5
        np.testing.assert_allclose(col(out, "time_weeks"), [52, 183 / 7, 52, 52, 40 / 7], rtol=RTOL)

    def test_admission_ended_before_referral_gives_no_days(self):
        # regression: an end one day before referral (relative day -1) is not an open spell
        ev = events(("a", "psych_admission", day(-1), day(-1)), ("a", "psych_admission", day(-5), day(-1)))
        out = O.event_rate(enr("a"), ev, event_types=["psych_admission"], horizon_weeks=52, measure="days",
                           as_of=day(0))
        assert col(out) == [0.0]

    def test_admission_not_ended_as_of_is_open(self):
        ev = events(("a", "psych_admission", day(5), day(50)))
        out = O.event_rate(enr("a"), ev, event_types=["psych_admission"], horizon_weeks=52, measure="days",
                           as_of=day(20))
        # as of day 20 the citizen is still admitted: days 5..20 = 16 days of 21 observed
        np.testing.assert_allclose(col(out), [16 / (21 / 365.25)], rtol=RTOL)

    def test_count_measure_and_zero_exposure(self):
        e = enr("a", "b")
        e.loc[1, "referral_date"] = day(500)
        ev = events(("a", "psych_contact", day(1), None), ("a", "psych_contact", day(200), None),
                    ("a", "psych_contact", day(400), None))
        out = O.event_rate(e, ev, event_types=["psych_contact"], horizon_weeks=52, measure="count",
                           as_of=day(499))
        np.testing.assert_allclose(col(out)[0], 2 / (364 / 365.25), rtol=RTOL)
        assert np.isnan(col(out)[1]) and reasons(out)[1] == "not yet observed"
        assert col(out, "exposure_years")[1] == 0


# --------------------------------------------------------------------------- survey
class TestSurveyChange:
    def test_values_and_reasons(self):
        e = enr("ok", "nobase", "noanswer", "moved", "late", "future")
        e.loc[e.pseudonym == "late", "referral_date"] = day(400)
        sv = pd.DataFrame({
            "pseudonym": ["ok", "ok", "nobase", "noanswer", "moved", "moved", "late", "future", "future"],
            "wave": [0, 2, 2, 0, 0, 2, 0, 0, 2],
            "date": [day(3), day(730), day(729), day(2), day(1), day(731), day(402), day(1), day(800)],
            "self_rated_health": [2, 4, 3, 3, 1, 5, 2, 2, 5],
        })
        ev = events(("moved", "moved_away", day(700), None))
        out = O.survey_change(e, sv, item="self_rated_health", wave=2, horizon_weeks=104, events=ev, as_of=day(760))
        assert col(out)[0] == 2.0
        assert all(np.isnan(col(out)[1:]))
        assert reasons(out) == [None, "no baseline answer", "not answered", "moved away", "not yet observed",
                                "not answered"]

    def test_unanswered_item_is_missing(self):
        sv = pd.DataFrame({"pseudonym": ["a", "a"], "wave": [0, 2], "date": [day(1), day(728)],
                           "functional_ability": [40.0, np.nan]})
        out = O.survey_change(enr("a"), sv, item="functional_ability", wave=2, horizon_weeks=104, as_of=day(800))
        assert reasons(out) == ["not answered"]


# --------------------------------------------------------------------------- derive
def _toy(protocol):
    e = enr("a", "b", "c", "d", arms=["deltagergruppe", "kontrolgruppe", "kontrolgruppe", "deltagergruppe"])
    e["treatment"] = [1, 0, 0, 1]
    e.loc[3, "referral_date"] = day(600)
    st = panel({"a": [RF] * 99 + [ORD] * 57, "b": [RF] * 156, "c": [RF] * 30, "d": [RF] * 80, "x": [RF] * 3})
    ev = events(("a", "forloeb_extension", day(150), None), ("b", "psych_admission", day(58), day(68)),
                ("c", "moved_away", day(211), None), ("c", "par85", day(30), None),
                ("x", "par85", day(3), None))
    sv = pd.DataFrame({"pseudonym": ["a", "a", "b"], "wave": [0, 2, 0], "date": [day(3), day(729), day(3)],
                       "self_rated_health": [2, 4, 3], "functional_ability": [50, 60, np.nan],
                       "job_readiness": [1, 2, 3]})
    return e, st, ev, sv


def test_derive_every_citizen_every_endpoint(protocol):
    e, st, ev, sv = _toy(protocol)
    out = O.derive(protocol, e, st, ev, sv, as_of=day(1170))
    assert len(out.long) == len(e) * len(protocol.endpoints)
    assert out.long.groupby("endpoint").size().eq(len(e)).all()
    assert list(out.long.columns) == list(O.LONG_COLUMNS)
    # every NaN says why, no value has a reason
    assert (out.long["value"].isna() == out.long["missing_reason"].notna()).all()
    assert out.unmatched == {"events": 1, "status": 3, "survey": 0}
    w = out.wide().set_index("pseudonym")
    assert w.loc["a", "ordinary_employment"] == 1 and w.loc["a", "extension"] == 1
    assert w.loc["a", "benefit_weeks"] == 99 and w.loc["b", "benefit_weeks"] == 156
    assert (w.loc["a", "time_to_work"], w.loc["a", "time_to_work_event"]) == (100, 1)
    assert w.loc["a", "self_rated_health_change"] == 2 and w.loc["a", "functional_ability_change"] == 10
    assert w.loc["b", "psych_admission_days"] == pytest.approx(10 / (1092 / 365.25), rel=RTOL)
    assert w.loc["c", "par85"] == 1                  # seen before moving away
    lg = out.long.set_index(["pseudonym", "endpoint"])
    assert lg.loc[("c", "fleksjob"), "missing_reason"] == "moved away"
    assert lg.loc[("d", "fleksjob"), "missing_reason"] == "not yet observed"
    assert out.followup.set_index("pseudonym").loc["c", "attrition_week"] == 31   # day 211 is in week 31
    assert "moved away" in out.summary()
    d = out.describe()
    assert set(d["arm"]) == {"deltagergruppe", "kontrolgruppe"}


def test_derive_equals_the_rule_functions(protocol):
    e, st, ev, sv = _toy(protocol)
    out = O.derive(protocol, e, st, ev, sv, as_of=day(1170)).long
    ep = protocol.endpoint("psych_admission_days")
    one = O.event_rate(e, ev, event_types=ep.events, horizon_weeks=ep.horizon_weeks, measure=ep.measure,
                       as_of=day(1170))
    pd.testing.assert_frame_equal(out[out.endpoint == ep.id].drop(columns="endpoint").reset_index(drop=True),
                                  one, check_dtype=False)
    ep = protocol.endpoint("ordinary_employment")
    one = O.status_at(e, st, statuses=ep.statuses, horizon_weeks=ep.horizon_weeks, events=ev, as_of=day(1170),
                      status_codes=protocol.statuses)
    pd.testing.assert_frame_equal(out[out.endpoint == ep.id].drop(columns="endpoint").reset_index(drop=True),
                                  one, check_dtype=False)


def test_as_of_defaults_to_the_latest_data_date(protocol):
    e, st, ev, sv = _toy(protocol)
    out = O.derive(protocol, e, st, ev, sv)
    # latest: d's panel week 80 ends on day 600 + 559
    assert out.as_of == day(600 + 7 * 80 - 1).date()


def test_categorical_status_same_as_strings(protocol):
    e, st, ev, sv = _toy(protocol)
    st2 = st.assign(status=pd.Categorical(st["status"], categories=list(reversed(protocol.statuses))))
    a = O.derive(protocol, e, st, ev, sv, as_of=day(1170)).long
    b = O.derive(protocol, e, st2, ev, sv, as_of=day(1170)).long
    pd.testing.assert_frame_equal(a, b)


def test_same_input_same_result(protocol):
    e, st, ev, sv = _toy(protocol)
    a = O.derive(protocol, e, st, ev, sv, as_of="2020-03-01").long
    b = O.derive(protocol, e.sample(frac=1, random_state=1), st.sample(frac=1, random_state=2), ev, sv,
                 as_of=dt.date(2020, 3, 1)).long
    key = ["endpoint", "pseudonym"]
    pd.testing.assert_frame_equal(a.sort_values(key).reset_index(drop=True), b.sort_values(key).reset_index(drop=True))


# --------------------------------------------------------------------------- helårspersoner, shares
def test_helaarspersoner_per_citizen_and_arm(protocol):
    st = panel({"a": [KTH] * 78 + [ORD] * 26, "b": [FLX] * 52, "x": [KTH] * 52})
    e = enr("a", "b", "c", arms=["deltagergruppe", "kontrolgruppe", "kontrolgruppe"])
    h = O.helaarspersoner(st, protocol.benefit_statuses, e)
    assert h.per_citizen.set_index("pseudonym")["helaarspersoner"].to_dict() == {"a": 1.5, "b": 1.0, "c": 0.0}
    arm = h.per_arm.set_index("arm")
    assert arm.loc["deltagergruppe", "helaarspersoner"] == 1.5
    assert arm.loc["kontrolgruppe", "helaarspersoner"] == 1.0
    assert arm.loc["kontrolgruppe", "helaarspersoner_per_citizen"] == 0.5
    assert "not enrolled" in h.note and "helårspersoner" in str(h)
    first_year = O.helaarspersoner(st, [KTH], e, weeks=(1, 52))
    assert first_year.per_citizen["weeks"].tolist() == [52, 0, 0]
    with pytest.raises(ParameterError, match="weeks"):
        O.helaarspersoner(st, [KTH], weeks=(10, 2))


def test_share_by_week(protocol):
    st = panel({"a": [RF, ORD, ORD], "b": [ORD, ORD], "c": [RF, RF, RF], "x": [ORD] * 3})
    e = enr("a", "b", "c", arms=["deltagergruppe", "deltagergruppe", "kontrolgruppe"])
    s = O.share_by_week(st, e, protocol.self_supporting_statuses)
    t = s.set_index(["week", "arm"])
    assert t.loc[(1, "deltagergruppe"), "share"] == 0.5
    assert t.loc[(2, "deltagergruppe"), "share"] == 1.0
    assert t.loc[(3, "deltagergruppe"), ["n", "n_in_status"]].tolist() == [1, 1]   # b's panel has ended
    assert (s[s.arm == "kontrolgruppe"]["share"] == 0).all()


# --------------------------------------------------------------------------- errors
def test_errors_name_what_is_wrong(protocol):
    e, st, ev, sv = _toy(protocol)
    dup = pd.concat([st, st.iloc[[5]]])
    with pytest.raises(IntakeError, match="week 6 more than once"):
        O.derive(protocol, e, dup, ev, sv, as_of=day(1170))
    bad = st.copy()
    bad.loc[3, "status"] = "RFY"
    with pytest.raises(IntakeError, match="must be one of the protocol's statuses.*'RFY'"):
        O.derive(protocol, e, bad, ev, sv, as_of=day(1170))
    with pytest.raises(IntakeError, match="week.*at least 1"):
        O.derive(protocol, e, st.assign(week=st["week"] - 1), ev, sv, as_of=day(1170))
    with pytest.raises(IntakeError, match="referral_date"):
        O.derive(protocol, e.drop(columns="referral_date"), st, ev, sv)
    with pytest.raises(ParameterError, match="`status` is required"):
        O.derive(protocol, e, None, ev, sv)
    with pytest.raises(ParameterError, match="as_of"):
        O.derive(protocol, e, st, ev, sv, as_of="not a date")
    with pytest.raises(ParameterError, match="horizon_weeks"):
        O.status_at(e, st, statuses=[ORD], horizon_weeks=0)
    with pytest.raises(ParameterError, match="endpoints"):
        O.derive(protocol, e, st, ev, sv, endpoints=["nope"])
    rev = ev.copy()
    rev.loc[1, "end_date"] = day(10)
    with pytest.raises(IntakeError, match="before it starts"):
        O.derive(protocol, e, st, rev, sv, as_of=day(1170))
    assert issubclass(IntakeError, TrialError)


# --------------------------------------------------------------------------- property: fast path == slow path
_STATUSES = [RF, ORD, FLX, KTH, "uddannelse"]
_EVENTS = ["forloeb_extension", "par85", "par107", "par99", "psych_admission", "psych_contact", "moved_away",
           "died", "withdrawn"]


@hst.composite
def trial_frames(draw):
    n = draw(hst.integers(1, 6))
    ids = [f"p{i}" for i in range(n)]
    refs = [day(draw(hst.integers(0, 400))) for _ in ids]
    status = []
    for pid in ids:
        length = draw(hst.integers(0, 170))
        gap = draw(hst.one_of(hst.none(), hst.integers(1, 170)))
        seq = draw(hst.lists(hst.sampled_from(_STATUSES), min_size=length, max_size=length))
        status += [(pid, w, s) for w, s in enumerate(seq, 1) if w != gap]
    ev = []
    for pid, r in zip(ids, refs):
        for _ in range(draw(hst.integers(0, 4))):
            name = draw(hst.sampled_from(_EVENTS))
            s = r + pd.Timedelta(days=draw(hst.integers(-30, 1200)))
            end = draw(hst.one_of(hst.none(), hst.integers(0, 60)))
            ev.append((pid, name, s, None if end is None else s + pd.Timedelta(days=end)))
    sv = []
    for pid, r in zip(ids, refs):
        for wave in (0, 1, 2):
            if draw(hst.booleans()):
                sv.append((pid, wave, r + pd.Timedelta(days=wave * 364 + draw(hst.integers(0, 40))),
                           draw(hst.one_of(hst.none(), hst.integers(1, 5))), draw(hst.integers(0, 100)), 3))
    withdrawn = [draw(hst.sampled_from(["active", "active", "withdrawn"])) for _ in ids]
    wdate = [r + pd.Timedelta(days=draw(hst.integers(0, 900))) if w == "withdrawn" and draw(hst.booleans())
             else pd.NaT for r, w in zip(refs, withdrawn)]
    e = pd.DataFrame({"pseudonym": ids, "referral_date": refs, "arm": "kontrolgruppe", "treatment": 0,
                      "status": withdrawn, "withdrawn_at": pd.to_datetime(pd.Series(wdate))})
    st = pd.DataFrame(status, columns=["pseudonym", "week", "status"])
    evf = events(*ev)
    svf = pd.DataFrame(sv, columns=["pseudonym", "wave", "date", "self_rated_health", "functional_ability",
                                    "job_readiness"])
    as_of = day(draw(hst.integers(0, 1600)))
    return e, st, evf, svf, as_of


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(trial_frames())
def test_vectorised_equals_per_citizen_reference(frames):
    from trial.protocol import load

    protocol = load()
    e, st, ev, sv, as_of = frames
    got = O.derive(protocol, e, st, ev, sv, as_of=as_of).long
    ref = naive_derive(protocol, e, st, ev, sv, as_of)
    got = got.sort_values(["pseudonym", "endpoint"], kind="stable").reset_index(drop=True)
    ref = ref.sort_values(["pseudonym", "endpoint"], kind="stable").reset_index(drop=True)
    for df in (got, ref):
        assert list(df.columns) == list(O.LONG_COLUMNS)
        assert len(df) == len(e) * len(protocol.endpoints)
    assert reasons(got) == reasons(ref)
    assert got["pseudonym"].tolist() == ref["pseudonym"].tolist()
    assert got["endpoint"].tolist() == ref["endpoint"].tolist()
    num = ["value", "time_weeks", "event", "exposure_years"]
    np.testing.assert_allclose(got[num].to_numpy(float), ref[num].to_numpy(float), rtol=RTOL, atol=0)


# --------------------------------------------------------------------------- package layout
# The names `trial.outcomes` exported when it was one module; the package must keep every one importable.
_PUBLIC_NAMES = (
    "Outcomes", "Helaarspersoner", "derive", "status_at", "ever_status", "weeks_in_status", "time_to_status",
    "event_any", "event_rate", "survey_change", "helaarspersoner", "share_by_week", "store", "load",
    "load_exports", "LoadResult", "register_enrollments", "LONG_COLUMNS", "DAYS_PER_YEAR", "WEEKS_PER_YEAR",
    "NOT_YET_OBSERVED", "NO_STATUS_DATA", "NOT_ANSWERED", "NO_BASELINE",
)


def test_package_reexports_every_public_name():
    import importlib

    mod = importlib.import_module("trial.outcomes")
    missing = [n for n in _PUBLIC_NAMES if n not in mod.__all__ or not hasattr(mod, n)]
    assert not missing, f"trial.outcomes no longer exports {missing}"
    assert all(hasattr(mod, n) for n in mod.__all__)
    assert not any(n.startswith("_") for n in mod.__all__)


def test_outcomes_docstring_examples_run():
    import doctest
    import importlib

    attempted = 0
    for name in ("_rules", "_panel", "_io", "_followup", "_common"):
        res = doctest.testmod(importlib.import_module(f"trial.outcomes.{name}"),
                              optionflags=doctest.NORMALIZE_WHITESPACE)
        assert res.failed == 0, name
        attempted += res.attempted
    assert attempted >= 10   # derive, helaarspersoner and share_by_week carry examples
