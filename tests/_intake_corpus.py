"""The intake test corpus: tests/data/bad/ (one defect each) and tests/data/good/.

Every file is generated here, so its defect is explicit in code and its bytes
are reproducible: ``python -m tests._intake_corpus`` rewrites the folders, and
``tests/test_intake_corpus.py`` checks that the committed CSV files equal what
this module generates and that each bad file fails with the expected problem.

All CPR numbers are synthetic test input (the folders are excluded from the
CPR leak scan, being input, not output).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"
BAD = DATA / "bad"
GOOD = DATA / "good"

MOD11_WEIGHTS = (4, 3, 2, 7, 6, 5, 4, 3, 2, 1)


def mod11_ok(cpr: str) -> bool:
    d = [int(x) for x in cpr.replace("-", "")]
    return sum(a * b for a, b in zip(d, MOD11_WEIGHTS)) % 11 == 0


# synthetic citizens (none passes modulus 11 except MOD11_VALID; all valid dates)
C1, C2, C3, C4 = "010180-1235", "150275-2468", "230391-3579", "311288-0042"
NON_MOD11 = "070762-1111"
MOD11_VALID = next(f"010180-{s:04d}" for s in range(10000) if mod11_ok(f"010180-{s:04d}"))
assert not mod11_ok(NON_MOD11) and mod11_ok(MOD11_VALID)

REF_HEAD = ["cpr", "referral_date", "municipality_code", "referral_type", "prior_forloeb",
            "months_on_benefit", "psych_contact_12m"]
REF_ROWS = [
    [C1, "2016-10-03", "101", "ressourceforloeb", "0", "12.5", "1"],
    [C2, "2016-10-10", "101", "ressourceforloeb", "1", "30", "0"],
    [C3, "2016-11-01", "101", "ressourceforloeb", "0", "0", "0"],
    [C4, "2016-11-15", "101", "ressourceforloeb", "1", "36", "1"],
]
STATUS_HEAD = ["cpr", "week", "status"]
STATUS_ROWS = [[c, str(w), s] for c, codes in ((C1, "RFY RFY ORD ORD"), (C2, "RFY KTH KTH FLX"),
                                              (C3, "RFY RFY RFY SDP"))
               for w, s in enumerate(codes.split(), start=1)]
EVENT_HEAD = ["cpr", "event", "start_date", "end_date"]
EVENT_ROWS = [
    [C1, "par85", "2016-11-01", "2017-05-31"],
    [C1, "psych_contact", "2017-02-14", ""],
    [C2, "psych_admission", "2017-03-01", "2017-03-09"],
    [C3, "par107", "2017-01-01", ""],
    [C3, "forloeb_extension", "2018-06-01", ""],
]
SURVEY_HEAD = ["cpr", "wave", "date", "self_rated_health", "functional_ability", "job_readiness"]
SURVEY_ROWS = [
    [C1, "0", "2016-10-05", "2", "45", "3"],
    [C1, "1", "2017-10-04", "3", "52.5", "4"],
    [C2, "0", "2016-10-12", "1", "30", ""],
    [C3, "0", "2016-11-03", "", "", ""],
]


def csv_bytes(head, rows, *, sep=",", encoding="utf-8", bom=False, crlf=False) -> bytes:
    nl = "\r\n" if crlf else "\n"
    text = nl.join(sep.join(r) for r in [head, *rows]) + nl
    data = text.encode(encoding)
    return (b"\xef\xbb\xbf" + data) if bom else data


def _with(rows, i, col, value, head):
    rows = [list(r) for r in rows]
    rows[i][head.index(col)] = value
    return rows


def ref(i=None, col=None, value=None, **kw) -> bytes:
    rows = REF_ROWS if i is None else _with(REF_ROWS, i, col, value, REF_HEAD)
    return csv_bytes(REF_HEAD, rows, **kw)


def status(rows=None, **kw) -> bytes:
    return csv_bytes(STATUS_HEAD, STATUS_ROWS if rows is None else rows, **kw)


def events(i=None, col=None, value=None, rows=None, **kw) -> bytes:
    rows = rows if rows is not None else (EVENT_ROWS if i is None else _with(EVENT_ROWS, i, col, value, EVENT_HEAD))
    return csv_bytes(EVENT_HEAD, rows, **kw)


def survey(i=None, col=None, value=None, rows=None, head=None, **kw) -> bytes:
    rows = rows if rows is not None else (SURVEY_ROWS if i is None else _with(SURVEY_ROWS, i, col, value, SURVEY_HEAD))
    return csv_bytes(head or SURVEY_HEAD, rows, **kw)


@dataclass(frozen=True)
class Case:
    """A corpus file. ``expect``: (row, column, text in the message) of the problem."""

    name: str
    kind: str
    data: bytes | None          # None: built by ``build`` (xlsx)
    expect: tuple | None = None  # bad files only
    note: str = ""


def _status_swap(a, b):
    rows = [list(r) for r in STATUS_ROWS]
    rows[a], rows[b] = rows[b], rows[a]
    return rows


BAD_CASES = [
    # --- referrals
    Case("ref_duplicate_cpr.csv", "referrals", ref(2, "cpr", C1.replace("-", "")),
         (4, "cpr", "duplicated CPR number 010180-XXXX: the citizen is already referred in row 2")),
    Case("ref_cpr_310299.csv", "referrals", ref(2, "cpr", "310299-1234"),
         (4, "cpr", "CPR number 310299-XXXX has no valid birth date: 31 February 1999 does not exist")),
    Case("ref_cpr_290223_not_leap.csv", "referrals", ref(1, "cpr", "290223-3456"),
         (3, "cpr", "29 February 1923 does not exist")),
    Case("ref_cpr_month_13.csv", "referrals", ref(0, "cpr", "011380-1235"),
         (2, "cpr", "month 13 does not exist")),
    Case("ref_cpr_too_short.csv", "referrals", ref(3, "cpr", "3112880-04"),
         (5, "cpr", "must be 10 digits written DDMMYY-SSSS or DDMMYYSSSS; got a value of 10 characters")),
    Case("ref_cpr_nine_digits_text.csv", "referrals", ref(0, "cpr", "10180-1235"),
         (2, "cpr", "must be 10 digits")),
    Case("ref_cpr_letters.csv", "referrals", ref(2, "cpr", "230391-35X9"),
         (4, "cpr", "must be 10 digits")),
    Case("ref_cpr_missing.csv", "referrals", ref(1, "cpr", ""), (3, "cpr", "CPR number is missing")),
    Case("ref_missing_column.csv", "referrals",
         csv_bytes(REF_HEAD[:-1], [r[:-1] for r in REF_ROWS]),
         (1, "psych_contact_12m", "required column is missing")),
    Case("ref_duplicate_column.csv", "referrals",
         csv_bytes(REF_HEAD + ["cpr"], [r + [r[0]] for r in REF_ROWS]),
         (1, "cpr", "column appears twice in the header")),
    Case("ref_referral_date_30feb.csv", "referrals", ref(1, "referral_date", "2016-02-30"),
         (3, "referral_date", "date '2016-02-30' does not exist")),
    Case("ref_referral_date_us_format.csv", "referrals", ref(0, "referral_date", "10/03/2016"),
         (2, "referral_date", "must be a date written YYYY-MM-DD, DD-MM-YYYY or DD.MM.YYYY; got '10/03/2016'")),
    Case("ref_prior_forloeb_2.csv", "referrals", ref(3, "prior_forloeb", "2"),
         (5, "prior_forloeb", "must be 0 (first ressourceforløb) or 1 (had one before): a whole number 0–1; got '2'")),
    Case("ref_months_on_benefit_40.csv", "referrals", ref(1, "months_on_benefit", "40"),
         (3, "months_on_benefit", "a number 0–36; got '40'")),
    Case("ref_months_on_benefit_text.csv", "referrals", ref(2, "months_on_benefit", "ca. 12"),
         (4, "months_on_benefit", "got 'ca. 12'")),
    Case("ref_municipality_code_text.csv", "referrals", ref(0, "municipality_code", "København"),
         (2, "municipality_code", "must be a municipality code: a whole number 1–999; got 'København'")),
    Case("ref_psych_contact_missing.csv", "referrals", ref(2, "psych_contact_12m", ""),
         (4, "psych_contact_12m", "value is missing")),
    Case("ref_born_after_referral.csv", "referrals", ref(0, "cpr", "010117-4001"),
         (2, "referral_date", "is before the birth date 2017-01-01 of CPR number 010117-XXXX")),
    Case("ref_decimal_comma_in_comma_file.csv", "referrals", ref(1, "months_on_benefit", "12,5"),
         (3, None, "has 8 fields where the header has 7")),
    # a CPR number typed into a free-text or number column: rejected (masked), nothing else said about the cell
    Case("ref_cpr_in_referral_type.csv", "referrals", ref(1, "referral_type", "note 070961-1234"),
         (3, "referral_type", "contains a CPR-like number ('note 070961-XXXX')")),
    Case("ref_cpr_digits_in_referral_type.csv", "referrals", ref(2, "referral_type", "2303891234"),
         (4, "referral_type", "contains a CPR-like number ('230389-XXXX')")),
    Case("ref_cpr_in_months_on_benefit.csv", "referrals", ref(0, "months_on_benefit", "ressource0703611234"),
         (2, "months_on_benefit", "contains a CPR-like number ('ressource070361-XXXX')")),
    Case("ref_header_only.csv", "referrals", csv_bytes(REF_HEAD, []), (None, None, "no data rows")),
    Case("ref_empty.csv", "referrals", b"", (None, None, "the file is empty")),
    Case("ref_utf16.csv", "referrals", ref(sep="\t").decode().encode("utf-16"),
         (None, None, "is UTF-16 text")),
    Case("ref_cp850_undecodable.csv", "referrals",
         csv_bytes(REF_HEAD + ["jobcenter"], [r + ["ÅRHUS"] for r in REF_ROWS], sep=";", encoding="cp850"),
         (None, None, "is neither UTF-8 nor Windows-1252 text")),
    Case("ref_missing_column.xlsx", "referrals", None, (1, "months_on_benefit", "required column is missing")),
    Case("ref_not_a_workbook.xlsx", "referrals", b"cpr;week;status\n", (None, None, "is not a valid Excel .xlsx")),
    # --- status
    Case("status_unknown_code.csv", "status", status(_with(STATUS_ROWS, 5, "status", "XYZ", STATUS_HEAD)),
         (7, "status", "unknown status code 'XYZ'")),
    Case("status_weeks_out_of_order.csv", "status", status(_status_swap(1, 2)),
         (3, "week", "weeks out of order for citizen 010180-XXXX: week 3 comes after week 1")),
    Case("status_week_gap.csv", "status", status([r for i, r in enumerate(STATUS_ROWS) if i != 6]),
         (8, "week", "week 3 is missing for citizen 150275-XXXX")),
    Case("status_starts_at_week_2.csv", "status", status(STATUS_ROWS[1:]),
         (2, "week", "week 1 is missing for citizen 010180-XXXX")),
    Case("status_duplicate_week.csv", "status", status(STATUS_ROWS[:2] + [STATUS_ROWS[1]] + STATUS_ROWS[2:]),
         (4, "week", "week 2 appears twice for citizen 010180-XXXX")),
    Case("status_week_zero.csv", "status", status(_with(STATUS_ROWS, 0, "week", "0", STATUS_HEAD)),
         (2, "week", "a whole number 1–156; got '0'")),
    Case("status_week_157.csv", "status", status(STATUS_ROWS[:3] + [[C1, "157", "ORD"]]),
         (5, "week", "a whole number 1–156; got '157'")),
    Case("status_week_decimal.csv", "status", status(_with(STATUS_ROWS, 9, "week", "2,5", STATUS_HEAD), sep=";"),
         (11, "week", "a whole number 1–156; got '2,5'")),
    Case("status_code_missing.csv", "status", status(_with(STATUS_ROWS, 4, "status", "", STATUS_HEAD)),
         (6, "status", "status code is missing")),
    Case("status_cpr_in_status_column.csv", "status",
         status(_with(STATUS_ROWS, 3, "status", C4, STATUS_HEAD)),
         (5, "status", "contains a CPR-like number ('311288-XXXX'); only the 'cpr' column may hold CPR numbers")),
    Case("status_empty.csv", "status", b"\r\n", (None, None, "the file is empty")),
    # --- events
    Case("events_unknown_type.csv", "events", events(2, "event", "par108"),
         (4, "event", "unknown event 'par108'")),
    Case("events_end_before_start.csv", "events", events(0, "end_date", "2016-10-31"),
         (2, "end_date", "end date 2016-10-31 is before the start date 2016-11-01")),
    Case("events_end_date_31_april.csv", "events", events(2, "end_date", "31.04.2017"),
         (4, "end_date", "date '31.04.2017' does not exist")),
    Case("events_start_date_missing.csv", "events", events(3, "start_date", ""),
         (5, "start_date", "value is missing")),
    Case("events_point_event_with_end.csv", "events", events(4, "end_date", "2018-12-01"),
         (6, "end_date", "forloeb_extension is a point event")),
    Case("events_cpr_in_end_date.csv", "events", events(0, "end_date", "070361-1234"),
         (2, "end_date", "contains a CPR-like number ('070361-XXXX')")),
    Case("events_duplicate_row.csv", "events", events(rows=EVENT_ROWS + [EVENT_ROWS[2]]),
         (7, None, "the same event is listed twice for citizen 150275-XXXX")),
    # --- survey
    Case("survey_unknown_wave.csv", "survey", survey(1, "wave", "4"),
         (3, "wave", "a survey wave among [0, 1, 2, 3]")),
    Case("survey_self_rated_health_6.csv", "survey", survey(0, "self_rated_health", "6"),
         (2, "self_rated_health", "a whole number 1–5; got '6'")),
    Case("survey_functional_ability_101.csv", "survey", survey(2, "functional_ability", "101"),
         (4, "functional_ability", "a number 0–100; got '101'")),
    Case("survey_cpr_in_item.csv", "survey", survey(3, "functional_ability", "0703611234"),
         (5, "functional_ability", "contains a CPR-like number ('070361-XXXX')")),
    Case("survey_duplicate_wave.csv", "survey", survey(rows=SURVEY_ROWS + [[C2, "0", "2016-10-20", "2", "", ""]]),
         (6, "wave", "citizen 150275-XXXX answers wave 0 twice")),
    Case("survey_missing_item_column.csv", "survey",
         survey(head=SURVEY_HEAD[:-1], rows=[r[:-1] for r in SURVEY_ROWS]),
         (1, "job_readiness", "required column is missing")),
]

# Danish Excel export: semicolon, decimal comma, dates DD-MM-YYYY, CRLF, Windows-1252 with æøå
_REF_DK = [[r[0], f"{r[1][8:10]}-{r[1][5:7]}-{r[1][:4]}", *r[2:5], r[5].replace(".", ","), r[6],
            "Nørrebro Jobcenter – Åboulevarden"] for r in REF_ROWS]

GOOD_CASES = [
    Case("referrals_utf8.csv", "referrals", ref()),
    Case("referrals_bom.csv", "referrals", ref(bom=True)),
    Case("referrals_cp1252_aeoeaa.csv", "referrals",
         csv_bytes(REF_HEAD + ["bemærkning"], _REF_DK, sep=";", encoding="cp1252", crlf=True)),
    Case("referrals_semicolon_decimal_comma.csv", "referrals",
         csv_bytes(REF_HEAD, [r[:-1] for r in _REF_DK], sep=";", bom=True, crlf=True)),
    Case("referrals_dotted_dates_upper_header.csv", "referrals",
         csv_bytes([h.upper() + " " for h in REF_HEAD],
                   [[r[0], f"{r[1][8:10]}.{r[1][5:7]}.{r[1][:4]}", *r[2:]] for r in REF_ROWS])),
    Case("referrals_non_mod11.csv", "referrals",
         csv_bytes(REF_HEAD, [[NON_MOD11, *REF_ROWS[0][1:]], [MOD11_VALID, *REF_ROWS[1][1:]]])),
    Case("referrals_numeric_cpr.xlsx", "referrals", None,
         note="Excel: CPR as numbers (leading zero lost), dates as date cells"),
    Case("status_semicolon.csv", "status", status(sep=";")),
    Case("status_sorted_by_week.csv", "status", status(sorted(STATUS_ROWS, key=lambda r: (int(r[1]), r[0])))),
    Case("status_digits_only_cpr.csv", "status",
         status([[r[0].replace("-", "").lstrip("0"), r[1], r[2].lower()] for r in STATUS_ROWS]),
         note="CPR column written by Excel as numbers: 9 digits padded; codes case-insensitive"),
    Case("events_ok.csv", "events", events()),
    Case("events_header_only.csv", "events", csv_bytes(EVENT_HEAD, [])),
    Case("survey_decimal_comma.csv", "survey",
         survey(rows=[[*r[:4], r[4].replace(".", ","), r[5]] for r in SURVEY_ROWS], sep=";")),
]


def build_xlsx(case: Case, path: Path) -> None:
    import datetime as dt

    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    if case.name == "ref_missing_column.xlsx":
        head = [h for h in REF_HEAD if h != "months_on_benefit"]
        ws.append(head)
        for r in REF_ROWS:
            ws.append([v for h, v in zip(REF_HEAD, r) if h != "months_on_benefit"])
    elif case.name == "referrals_numeric_cpr.xlsx":
        ws.append(REF_HEAD)
        for r in REF_ROWS:
            ws.append([int(r[0].replace("-", "")), dt.datetime.fromisoformat(r[1]), int(r[2]), r[3],
                       int(r[4]), float(r[5]), int(r[6])])
    else:  # pragma: no cover
        raise ValueError(case.name)
    fixed = dt.datetime(2016, 10, 1)
    wb.properties.created = fixed
    wb.properties.modified = fixed
    wb.save(path)


def write_all() -> None:
    for folder, cases in ((BAD, BAD_CASES), (GOOD, GOOD_CASES)):
        folder.mkdir(parents=True, exist_ok=True)
        for c in cases:
            if c.data is None:
                build_xlsx(c, folder / c.name)
            else:
                (folder / c.name).write_bytes(c.data)


if __name__ == "__main__":
    write_all()
    print(f"wrote {len(BAD_CASES)} bad and {len(GOOD_CASES)} good files under {DATA}")
