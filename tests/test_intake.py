"""trial.intake: frames as in docs/contracts.md, all problems reported, summaries.

The week-order rule is checked against a plain per-citizen Python reference
(fast path == slow path) on random panels with random defects (hypothesis).
Synthetic input files are written under a ``cpr_input`` directory, which the
CPR leak scan treats as input.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests import _intake_corpus as corpus
from trial import intake
from trial.exceptions import IntakeError

KEY = b"test-key-0123456789abcdef"
GOOD = corpus.GOOD


@pytest.fixture(scope="module")
def indir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("cpr_input")


def write(indir: Path, name: str, head, rows, sep=",") -> Path:
    path = indir / name
    path.write_bytes(corpus.csv_bytes(head, rows, sep=sep))
    return path


# --------------------------------------------------------------------------- frames
def test_referrals_frame_contract(protocol):
    df = intake.read_referrals(GOOD / "referrals_utf8.csv", key=KEY, protocol=protocol)
    assert list(df.columns) == ["pseudonym", "referral_date", "birth_date", "age", "sex", "municipality_code",
                                "referral_type", "prior_forloeb", "months_on_benefit", "psych_contact_12m",
                                "source_row"]
    assert "cpr" not in df.columns
    assert df["pseudonym"].str.fullmatch(r"[0-9a-f]{16}").all()
    assert str(df["referral_date"].dtype).startswith("datetime64") and str(df["birth_date"].dtype).startswith("datetime64")
    # C1 010180-1235 referred 2016-10-03: 36 years, man; C4 311288-0042 on 2016-11-15: 27, woman
    assert df["birth_date"].dt.strftime("%Y-%m-%d").tolist() == ["1980-01-01", "1975-02-15", "1991-03-23", "1988-12-31"]
    assert df["age"].tolist() == [36, 41, 25, 27]
    assert df["sex"].tolist() == ["M", "F", "M", "F"]
    assert df["months_on_benefit"].tolist() == [12.5, 30.0, 0.0, 36.0]
    assert df["prior_forloeb"].dtype == np.int64 and df["psych_contact_12m"].tolist() == [1, 0, 0, 1]
    assert df["municipality_code"].tolist() == [101] * 4
    assert df["source_row"].tolist() == [2, 3, 4, 5]


def test_status_frame_contract(protocol):
    df = intake.read_status(GOOD / "status_semicolon.csv", key=KEY, protocol=protocol)
    assert list(df.columns) == ["pseudonym", "week", "status"]
    assert df["week"].dtype == np.int64
    assert isinstance(df["status"].dtype, pd.CategoricalDtype)
    assert list(df["status"].cat.categories) == list(protocol.statuses)
    assert df["status"].iloc[:4].tolist() == ["ressourceforloebsydelse"] * 2 + ["ordinaer_beskaeftigelse"] * 2
    assert df.groupby("pseudonym", sort=False)["week"].apply(list).tolist() == [[1, 2, 3, 4]] * 3


def test_status_accepts_protocol_names_and_any_case(protocol, indir):
    rows = [[corpus.C1, "1", "rfy"], [corpus.C1, "2", " fleksjob "], [corpus.C1, "3", "Ord"]]
    df = intake.read_status(write(indir, "names.csv", corpus.STATUS_HEAD, rows), key=KEY, protocol=protocol)
    assert df["status"].tolist() == ["ressourceforloebsydelse", "fleksjob", "ordinaer_beskaeftigelse"]


def test_pseudonyms_link_files_with_one_key(protocol):
    ref = intake.read_referrals(GOOD / "referrals_utf8.csv", key=KEY, protocol=protocol)
    st_ = intake.read_status(GOOD / "status_semicolon.csv", key=KEY, protocol=protocol)
    assert set(st_["pseudonym"]) == set(ref["pseudonym"].iloc[:3])
    other = intake.read_status(GOOD / "status_semicolon.csv", key=b"another-key-0123456789", protocol=protocol)
    assert set(other["pseudonym"]).isdisjoint(st_["pseudonym"])
    again = intake.read_status(GOOD / "status_semicolon.csv", key=KEY, protocol=protocol)
    assert again.equals(st_)


def test_events_frame_contract(protocol):
    df = intake.read_events(GOOD / "events_ok.csv", key=KEY, protocol=protocol)
    assert list(df.columns) == ["pseudonym", "event", "start_date", "end_date"]
    assert df["event"].tolist() == [r[1] for r in corpus.EVENT_ROWS]
    end = df["end_date"].dt.strftime("%Y-%m-%d").where(df["end_date"].notna()).tolist()
    assert [e if isinstance(e, str) else None for e in end] == ["2017-05-31", None, "2017-03-09", None, None]


def test_point_event_end_equal_to_start_is_accepted_and_dropped(protocol, indir):
    rows = [[corpus.C1, "died", "2018-01-05", "2018-01-05"]]
    df = intake.read_events(write(indir, "died.csv", corpus.EVENT_HEAD, rows), key=KEY, protocol=protocol)
    assert df["end_date"].isna().all()


def test_events_header_only_is_an_empty_frame(protocol):
    df = intake.read_events(GOOD / "events_header_only.csv", key=KEY, protocol=protocol)
    assert len(df) == 0 and list(df.columns) == ["pseudonym", "event", "start_date", "end_date"]


def test_survey_frame_contract(protocol):
    df = intake.read_survey(GOOD / "survey_decimal_comma.csv", key=KEY, protocol=protocol)
    assert list(df.columns) == ["pseudonym", "wave", "date", *protocol.survey_items]
    assert df["wave"].tolist() == [0, 1, 0, 0]
    assert df["functional_ability"].tolist()[:3] == [45.0, 52.5, 30.0]
    assert df.iloc[3][list(protocol.survey_items)].isna().all()   # not answered: NaN, row kept


# --------------------------------------------------------------------------- problems
def test_every_problem_is_reported_not_only_the_first(protocol, indir):
    rows = [list(r) for r in corpus.REF_ROWS]
    rows[0][0] = "310299-1234"
    rows[1][4] = "7"
    rows[2][1] = "2016-13-01"
    rows[3][5] = "x"
    path = write(indir, "many.csv", corpus.REF_HEAD, rows)
    with pytest.raises(IntakeError) as info:
        intake.read_referrals(path, key=KEY, protocol=protocol)
    got = [(p.row, p.column) for p in info.value.problems]
    assert got == [(2, "cpr"), (3, "prior_forloeb"), (4, "referral_date"), (5, "months_on_benefit")]


def test_problem_list_is_capped_and_counts_the_rest(protocol, indir):
    rows = [[corpus.C1, str(w), "XYZ"] for w in range(1, 121)]
    path = write(indir, "capped.csv", corpus.STATUS_HEAD, rows)
    with pytest.raises(IntakeError) as info:
        intake.read_status(path, key=KEY, protocol=protocol)
    err = info.value
    assert len(err.problems) == intake.MAX_PROBLEMS == 50 and err.truncated == 70
    assert [p.row for p in err.problems] == list(range(2, 52))
    assert str(err).startswith("120 problem(s) found") and "... and 70 more problems" in str(err)


def test_row_numbers_are_file_lines_despite_blank_and_broken_lines(protocol, indir):
    text = ("cpr,week,status\n"
            f"{corpus.C1},1,RFY\n"
            "\n"                                   # line 3: blank, ignored
            f"{corpus.C1},2,RFY,extra\n"           # line 4: too many fields
            f"{corpus.C1},2,ZZZ\n")                # line 5: unknown code
    path = indir / "lines.csv"
    path.write_text(text)
    with pytest.raises(IntakeError) as info:
        intake.read_status(path, key=KEY, protocol=protocol)
    assert [(p.row, p.column) for p in info.value.problems] == [(4, None), (5, "status")]


def test_unknown_kind_and_bad_key(protocol):
    with pytest.raises(IntakeError, match="`kind` must be one of referrals, status, events, survey; got 'panel'"):
        intake.read("panel", GOOD / "status_semicolon.csv", key=KEY, protocol=protocol)
    with pytest.raises(IntakeError, match="`key` must be bytes"):
        intake.read_status(GOOD / "status_semicolon.csv", key=b"short", protocol=protocol)


def test_values_echoed_in_messages_are_scrubbed(protocol, indir):
    rows = [[corpus.C1, "1", "RFY " + corpus.C2.replace("-", "")]]   # a CPR number pasted into the status
    path = write(indir, "echo.csv", corpus.STATUS_HEAD, rows)
    with pytest.raises(IntakeError) as info:
        intake.read_status(path, key=KEY, protocol=protocol)
    text = str(info.value)
    assert "150275-XXXX" in text and corpus.C2.replace("-", "") not in text


def test_cpr_numbers_outside_the_cpr_column_are_problems(protocol, indir):
    """QA P0: a CPR number typed into a free-text column must not get through (any kind, any column read).

    Each such cell is one problem, its value masked, and no other check echoes it again."""
    rows = [list(r) for r in corpus.REF_ROWS]
    rows[0][3] = "note 070961-1234"          # free text
    rows[1][3] = "2303891234"                # ten digits
    rows[2][5] = "0703611234"                # a number column: no "out of range" problem besides
    rows[3][3] = "ressourceforloeb"          # fine
    path = write(indir, "ref_cpr_text.csv", corpus.REF_HEAD, rows)
    with pytest.raises(IntakeError) as info:
        intake.read_referrals(path, key=KEY, protocol=protocol)
    got = [(p.row, p.column, p.message.split(";")[0]) for p in info.value.problems]
    assert got == [(2, "referral_type", "contains a CPR-like number ('note 070961-XXXX')"),
                   (3, "referral_type", "contains a CPR-like number ('230389-XXXX')"),
                   (4, "months_on_benefit", "contains a CPR-like number ('070361-XXXX')")]
    for digits in ("070961-1234", "0709611234", "2303891234", "0703611234"):
        assert digits not in str(info.value)
    # a number that is not CPR-like is left to the usual checks
    rows = [list(r) for r in corpus.REF_ROWS]
    rows[0][5] = "9999999999"
    path = write(indir, "ref_big_number.csv", corpus.REF_HEAD, rows)
    with pytest.raises(IntakeError, match="a number 0–36"):
        intake.read_referrals(path, key=KEY, protocol=protocol)


def test_nine_digit_excel_number_in_a_text_column_is_a_cpr_number(protocol, indir):
    import datetime as dt

    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(corpus.REF_HEAD)
    for i, r in enumerate(corpus.REF_ROWS):
        ws.append([r[0], dt.datetime.fromisoformat(r[1]), int(r[2]), 703611234 if i == 2 else r[3],
                   int(r[4]), float(r[5]), int(r[6])])
    path = indir / "ref_nine_digits.xlsx"
    wb.save(path)
    with pytest.raises(IntakeError) as info:
        intake.read_referrals(path, key=KEY, protocol=protocol)
    [p] = info.value.problems
    assert (p.row, p.column) == (4, "referral_type") and "('070361-XXXX')" in p.message
    assert "703611234" not in str(info.value)


def test_excel_date_with_time_is_rejected(protocol, indir):
    import datetime as dt

    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(corpus.EVENT_HEAD)
    ws.append([corpus.C1, "par85", dt.datetime(2017, 1, 2, 13, 30), None])
    path = indir / "time.xlsx"
    wb.save(path)
    with pytest.raises(IntakeError) as info:
        intake.read_events(path, key=KEY, protocol=protocol)
    (p,) = info.value.problems
    assert (p.row, p.column) == (2, "start_date") and "2017-01-02 13:30:00" in p.message


def test_max_week_lets_a_long_panel_through(protocol, indir):
    rows = [[corpus.C1, str(w), "RFY"] for w in range(1, 201)]
    path = write(indir, "long.csv", corpus.STATUS_HEAD, rows)
    with pytest.raises(IntakeError, match="a whole number 1–156; got '157'"):
        intake.read_status(path, key=KEY, protocol=protocol)
    assert len(intake.read_status(path, key=KEY, protocol=protocol, max_week=260)) == 200


# --------------------------------------------------------------------------- summary
def test_check_summary(protocol):
    s = intake.check("status", GOOD / "status_semicolon.csv", protocol=protocol)
    assert (s.kind, s.rows, s.citizens, s.period, s.period_unit) == ("status", 12, 3, ("1", "4"), "week")
    assert s.counts["ressourceforloebsydelse"] == 6 and s.counts["andet"] == 0
    assert list(s.counts) == list(protocol.statuses)
    d = s.to_dict()
    assert d["valid"] is True and d["period"] == {"start": "1", "end": "4", "unit": "week"}
    assert d["protocol_fingerprint"] == protocol.fingerprint
    json.dumps(d)
    f = s.to_frame()
    assert list(f.columns) == ["code", "count", "share"] and f["count"].sum() == 12
    assert abs(f["share"].sum() - 1) < 1e-12
    assert "rows 12, citizens 3, period weeks 1–4" in str(s) and s._repr_html_().startswith("<")
    with pytest.raises(AttributeError):
        s.rows = 1  # frozen


def test_check_summary_dates(protocol):
    r = intake.check("referrals", GOOD / "referrals_cp1252_aeoeaa.csv", protocol=protocol)
    assert r.period == ("2016-10-03", "2016-11-15") and dict(r.counts) == {"ressourceforloeb": 4}
    e = intake.check("events", GOOD / "events_ok.csv", protocol=protocol)
    assert e.period == ("2016-11-01", "2018-06-01") and e.counts["par85"] == 1 and e.citizens == 3
    empty = intake.check("events", GOOD / "events_header_only.csv", protocol=protocol)
    assert empty.rows == 0 and empty.period is None and "no dates" in empty.summary()


# --------------------------------------------------------------------------- week rule: fast == slow
def reference_week_problem(rows) -> bool:
    """Plain Python: True if some citizen's weeks in file order are not exactly 1, 2, ..., N."""
    seen: dict[str, list[int]] = {}
    for cpr, week, _ in rows:
        seen.setdefault(cpr, []).append(int(week))
    return any(ws != list(range(1, len(ws) + 1)) for ws in seen.values())


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_week_rule_matches_reference(data, indir, protocol):
    n = data.draw(st.integers(1, 4), label="citizens")
    people = [corpus.C1, corpus.C2, corpus.C3, corpus.C4][:n]
    rows = [[c, str(w), "RFY"] for c in people for w in range(1, data.draw(st.integers(1, 6)) + 1)]
    if data.draw(st.booleans(), label="interleave"):
        rows.sort(key=lambda r: (int(r[1]), r[0]))
    for _ in range(data.draw(st.integers(0, 2), label="defects")):
        i = data.draw(st.integers(0, len(rows) - 1))
        op = data.draw(st.sampled_from(["swap", "drop", "dup"]))
        if op == "swap" and len(rows) > 1:
            j = data.draw(st.integers(0, len(rows) - 1))
            rows[i], rows[j] = rows[j], rows[i]
        elif op == "drop" and len(rows) > 1:
            rows.pop(i)
        elif op == "dup":
            rows.insert(i, list(rows[i]))
    path = write(indir, "prop.csv", corpus.STATUS_HEAD, rows)
    bad = reference_week_problem(rows)
    if bad:
        with pytest.raises(IntakeError) as info:
            intake.read_status(path, key=KEY, protocol=protocol)
        assert all(p.column == "week" for p in info.value.problems)
    else:
        df = intake.read_status(path, key=KEY, protocol=protocol)
        assert df["week"].tolist() == [int(r[1]) for r in rows]


def test_docstring_examples_run():
    import doctest

    import importlib

    import trial._cpr

    mods = [trial._cpr] + [importlib.import_module(f"trial.intake.{m}")
                           for m in ("_pseudonym", "_summary", "_table")]
    for mod in mods:
        res = doctest.testmod(mod, optionflags=doctest.NORMALIZE_WHITESPACE)
        assert res.failed == 0 and res.attempted > 0, mod.__name__


def test_a_file_named_after_a_citizen_is_masked_everywhere(protocol, indir, capsys):
    from trial.cli import main

    digits = corpus.C2.replace("-", "")
    path = write(indir, f"borger_{digits}.csv", corpus.STATUS_HEAD, [[corpus.C1, "1", "XYZ"]])
    with pytest.raises(IntakeError) as info:
        intake.read_status(path, key=KEY, protocol=protocol)
    assert digits not in str(info.value) and "150275-XXXX" in info.value.problems[0].file
    assert main(["intake", "check", "--kind", "status", str(path)]) == 2
    assert main(["intake", "check", "--kind", "status", str(path), "--json"]) == 2
    out = capsys.readouterr()
    assert digits not in out.out + out.err
