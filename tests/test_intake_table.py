"""trial.intake.read_table: any table as Danish offices export it, typed columns, errors naming the file.

References: the expected frames are written out by hand, or (for the random
round trips) are the frames pandas itself wrote with ``DataFrame.to_csv`` /
``to_excel`` in the notation under test; floats are written by pandas with
``repr`` precision, so the comparison is exact (``check_exact``).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs

from trial.exceptions import IntakeError
from trial.intake import NA_TEXTS, read_table


def _write(tmp_path, name, text, encoding="utf-8"):
    p = tmp_path / name
    p.write_bytes(text.encode(encoding))
    return p


def test_danish_semicolon_decimal_comma_cp1252(tmp_path):
    p = _write(tmp_path, "a.csv", "borger;z;y;kommune;dato\r\n"
                                  "Søren;1;2,5;København;03-10-2016\r\n"
                                  "Åse;0;1.234,75;Ærø;31.12.2016\r\n", encoding="cp1252")
    df = read_table(p)
    want = pd.DataFrame({"borger": pd.Series(["Søren", "Åse"], dtype="str"), "z": [1, 0], "y": [2.5, 1234.75],
                         "kommune": pd.Series(["København", "Ærø"], dtype="str"),
                         "dato": pd.to_datetime(["2016-10-03", "2016-12-31"]).astype("datetime64[ns]")})
    pd.testing.assert_frame_equal(df, want, check_exact=True)


def test_comma_tab_bom_and_point_notation(tmp_path):
    for name, text in (("c.csv", "\ufeffZ , y ,t\n1,0.5,1e-3\n0,-2,3\n"),
                       ("t.tsv", "Z \t y \tt\n1\t0.5\t1e-3\n0\t-2\t3\n")):
        df = read_table(_write(tmp_path, name, text))
        assert list(df.columns) == ["Z", "y", "t"]                     # stripped, case kept
        assert df["Z"].dtype == np.int64 and df["y"].tolist() == [0.5, -2.0] and df["t"].tolist() == [0.001, 3.0]


def test_quoted_decimal_comma_in_a_comma_file(tmp_path):
    df = read_table(_write(tmp_path, "q.csv", 'a,b\n"2,5",x\n"1.000,5",y\n'))
    assert df["a"].tolist() == [2.5, 1000.5]


def test_missing_values_booleans_and_mixed_notation(tmp_path):
    text = "y;e;f;g;h\n1;TRUE;true;1.5;\nNA;FALSE;;2,5;\n3;true;false;3;\n"
    df = read_table(_write(tmp_path, "m.csv", text))
    assert df["y"].dtype == np.float64 and np.isnan(df["y"][1]) and df["y"][2] == 3.0
    assert df["e"].dtype == bool and df["e"].tolist() == [True, False, True]
    assert df["f"].dtype == np.float64 and df["f"].tolist()[::2] == [1.0, 0.0] and np.isnan(df["f"][1])
    assert df["g"].tolist() == ["1.5", "2,5", "3"]                    # two notations in one column: text
    assert df["h"].isna().all()                                        # named but empty column kept
    assert set(NA_TEXTS) >= {"NA", "#N/A", "NULL"}


def test_blank_lines_trailing_separators_and_non_dates(tmp_path):
    text = "a;b;d;;\n1;x;2016-02-30;;\n\n;;;;\n2;y;2016-03-01;;\n"
    df = read_table(_write(tmp_path, "b.csv", text))
    assert list(df.columns) == ["a", "b", "d"] and df["a"].tolist() == [1, 2]
    assert df["d"].tolist() == ["2016-02-30", "2016-03-01"]           # 30 February: not a date column


def test_xlsx_number_and_date_cells(tmp_path):
    pytest.importorskip("openpyxl")
    src = pd.DataFrame({"z": [1, 0, 1], "y": [0.1, 2.0, 1e-5], "dato": pd.to_datetime(["2017-01-02", None, "2018-05-06"]),
                        "navn": ["å", "b", None]})
    p = tmp_path / "a.xlsx"
    src.to_excel(p, index=False)
    df = read_table(p)
    assert df["z"].dtype == np.int64 and df["y"].tolist() == [0.1, 2.0, 1e-5]
    assert df["dato"].dtype == "datetime64[ns]" and df["dato"].isna().tolist() == [False, True, False]
    assert df["navn"].tolist()[:2] == ["å", "b"] and pd.isna(df["navn"][2])


@settings(max_examples=30, deadline=None)
@given(hs.lists(hs.tuples(hs.floats(-1e6, 1e6, allow_nan=False), hs.integers(-10**9, 10**9), hs.booleans()),
                min_size=1, max_size=25),
       hs.sampled_from([(";", ","), (",", "."), ("\t", "."), ("\t", ",")]))
def test_round_trip_of_pandas_written_tables(tmp_path_factory, rows, notation):
    """Fast path == pandas: a frame written by ``DataFrame.to_csv`` in a notation reads back exactly."""
    sep, dec = notation
    src = pd.DataFrame({"x": [r[0] for r in rows], "k": [r[1] for r in rows],
                        "m": [r[0] if r[2] else np.nan for r in rows]})
    # random digit runs can look like CPR numbers: input files go where the session's CPR scan expects input
    p = tmp_path_factory.mktemp("cpr_input_rt") / "t.csv"
    src.to_csv(p, sep=sep, decimal=dec, index=False)
    df = read_table(p)
    assert df["k"].dtype == np.int64
    np.testing.assert_array_equal(df["k"].to_numpy(), src["k"].to_numpy())
    np.testing.assert_array_equal(df["x"].to_numpy(dtype=float), src["x"].to_numpy())
    np.testing.assert_array_equal(df["m"].to_numpy(dtype=float), src["m"].to_numpy())


@pytest.mark.parametrize("name,content,needle", [
    ("none.csv", None, "file not found"),
    ("e.csv", "  \r\n", "the file is empty"),
    ("old.xls", "x", ".xls files are not read"),
    ("u16.csv", "\ufeffa;b\n1;2\n".encode("utf-16"), "UTF-16"),
    ("h.csv", "a;b\n", "no data rows"),
    ("d.csv", "a;b;a\n1;2;3\n", "appears twice"),
    ("n.csv", "a;;b\n1;5;2\n", "no name in the header"),
    ("r.csv", "a;b\n1;2\n1;2;3\n", "has 3 fields where the header has 2"),
    ("bad.xlsx", "not a workbook", "not a valid Excel .xlsx"),
])
def test_errors_name_the_file(tmp_path, name, content, needle):
    p = tmp_path / name
    if isinstance(content, str):
        p.write_text(content, encoding="utf-8")
    elif content is not None:
        p.write_bytes(content)
    with pytest.raises(IntakeError) as info:
        read_table(p)
    assert needle in str(info.value) and name in str(info.value)


def test_a_file_named_after_a_citizen_is_masked(tmp_path):
    (tmp_path / "cpr_input").mkdir()          # input data: exempt from the session's CPR scan
    p = _write(tmp_path / "cpr_input", "borger_0101801235.csv", "a;b\n")
    with pytest.raises(IntakeError) as info:
        read_table(p)
    assert "0101801235" not in str(info.value) and "010180-XXXX" in str(info.value)


def test_estimate_cli_reads_xlsx_and_danish_csv(tmp_path, capsys):
    """trial estimate uses read_table: an .xlsx and a Danish CSV of the same data give the same estimate."""
    import json

    from trial.cli import main

    pytest.importorskip("openpyxl")
    d = pd.DataFrame({"Z": [1, 1, 1, 0, 0, 0], "y": [2.5, 3.0, 4.25, 1.0, 1.5, 2.0]})
    d.to_excel(tmp_path / "d.xlsx", index=False)
    d.to_csv(tmp_path / "d.csv", sep=";", decimal=",", index=False, encoding="cp1252")
    got = []
    for f in ("d.xlsx", "d.csv"):
        assert main(["estimate", "--data", str(tmp_path / f), "--treatment", "z", "--outcome", "Y",
                     "--estimator", "difference_in_means", "--json"]) == 0
        got.append(json.loads(capsys.readouterr().out)["estimates"][0]["estimate"])
    assert got[0] == got[1] == pytest.approx(3.25 - 1.5, abs=1e-12)
