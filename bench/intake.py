"""Benchmark: read, validate and pseudonymise a weekly status panel.

20,000 citizens x 260 weeks = 5.2 million rows, semicolon separated, CPR
numbers written DDMMYY-SSSS, as a municipality exports it. The file is made
once and cached in ``bench/_data/`` (git-ignored).

Measured, each in a fresh process so the peak memory is the reader's own:

* ``trial.intake.read_status`` on the whole panel: wall time and peak
  resident memory (``ru_maxrss``). Targets: <= 10 s, <= 2 GB.
* the obvious alternative on the first 200,000 rows (the same checks done
  row by row: ``csv.reader``, a regex and ``datetime.date`` per CPR number,
  a dict per status code, ``hmac`` per row), scaled to rows per second, and
  the ratio of the two throughputs. Both paths must agree on the pseudonyms.
* ``trial.intake.read_table`` (the generic typed reader behind
  ``trial estimate --data``) on a Danish analysis table of 500,000 rows
  (semicolon, decimal comma with thousands dots, DD-MM-YYYY dates, æøå,
  Windows-1252), against ``pandas.read_csv`` told the notation in advance
  (``sep=";", decimal=",", thousands="."``, dates parsed with their format):
  the same values, and the price of sniffing and typing every column.

Usage::

    .venv/bin/python bench/intake.py            # full run (about a minute the first time)
    .venv/bin/python bench/intake.py --citizens 2000   # smaller panel
    .venv/bin/python bench/intake.py --table-rows 50000  # smaller analysis table
"""
from __future__ import annotations

import argparse
import csv
import datetime as dt
import hashlib
import hmac
import json
import os
import platform
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
DATA = HERE / "_data"
KEY = b"benchmark-key-not-secret-0123456789"
CODES = np.array(["RFY", "ORD", "FLX", "KTH", "UDH", "SDP", "FTP", "UDD", "SLV", "AND"])


def make_panel(path: Path, citizens: int, weeks: int, seed: int = 2016) -> None:
    """Synthetic panel: unique valid CPR numbers, weeks 1..weeks in order per citizen."""
    rng = np.random.default_rng(seed)
    births = np.datetime64("1955-01-01") + np.arange(citizens).astype("timedelta64[D]")  # one per day: unique
    b = births.astype("datetime64[D]").astype(object)
    ddmmyy = np.array([d.strftime("%d%m%y") for d in b])
    year = np.array([d.year for d in b])
    first = np.where(year >= 2000, 4, rng.integers(0, 4, citizens))   # 7th digit matches the century
    serial = first * 1000 + rng.integers(0, 1000, citizens)
    cpr = np.char.add(np.char.add(ddmmyy, "-"), np.char.zfill(serial.astype(str), 4))
    status = CODES[rng.choice(len(CODES), size=citizens * weeks, p=[.4, .1, .08, .1, .04, .1, .06, .04, .04, .04])]
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".part")
    wk = np.arange(1, weeks + 1).astype(str)
    with open(tmp, "w", encoding="utf-8", newline="") as fh:
        fh.write("cpr;week;status\r\n")
        for i in range(citizens):       # one citizen at a time keeps memory flat
            rows = np.char.add(np.char.add(np.char.add(cpr[i] + ";", wk), ";"), status[i * weeks:(i + 1) * weeks])
            fh.write("\r\n".join(rows.tolist()))
            fh.write("\r\n")
    os.replace(tmp, path)


def measure_vectorised(path: str, max_week: int) -> dict:
    from trial.intake import read_status
    from trial.protocol import load

    protocol = load()
    t0 = time.perf_counter()
    df = read_status(path, key=KEY, protocol=protocol, max_week=max_week)
    secs = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB -> MiB on Linux
    return {"rows": len(df), "citizens": int(df["pseudonym"].nunique()), "seconds": secs, "peak_mib": peak,
            "first_pseudonyms": df["pseudonym"].iloc[:3].tolist()}


_CPR = re.compile(r"^(\d{2})(\d{2})(\d{2})-?(\d{4})$")


def _naive_row_check(row, smap, max_week):
    m = _CPR.match(row[0].replace(" ", ""))
    if not m:
        raise ValueError("bad cpr")
    dd, mm, yy, ssss = (int(g) for g in m.groups())
    d7 = ssss // 1000
    cent = 1900 if d7 <= 3 else ((2000 if yy <= 36 else 1900) if d7 in (4, 9) else (2000 if yy <= 57 else 1800))
    dt.date(cent + yy, mm, dd)
    week = int(row[1])
    if not 1 <= week <= max_week:
        raise ValueError("week")
    status = smap[row[2].strip().upper()]
    digits = m.group(1) + m.group(2) + m.group(3) + m.group(4)
    pseudo = hmac.new(KEY, digits.encode("ascii"), hashlib.sha256).hexdigest()[:16]
    return pseudo, week, status


def measure_naive(path: str, max_week: int, nrows: int) -> dict:
    from trial.protocol import load

    smap = {k.upper(): v for k, v in load().status_map.items()}
    out, last = [], {}
    t0 = time.perf_counter()
    with open(path, encoding="utf-8", newline="") as fh:
        rd = csv.reader(fh, delimiter=";")
        next(rd)
        for i, row in enumerate(rd):
            if i >= nrows:
                break
            p, w, s = _naive_row_check(row, smap, max_week)
            if w != last.get(p, 0) + 1:
                raise ValueError("week order")
            last[p] = w
            out.append((p, w, s))
    secs = time.perf_counter() - t0
    return {"rows": len(out), "seconds": secs, "first_pseudonyms": [r[0] for r in out[:3]]}


def make_table(path: Path, rows: int, seed: int = 2016) -> None:
    """Analysis table as a Danish Excel exports it: ';', decimal comma, thousands dots, DD-MM-YYYY, cp1252."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    y = np.round(rng.gamma(2.0, 900.0, rows), 2)
    df = pd.DataFrame({
        "pseudonym": np.char.add("p", rng.integers(0, 10**12, rows).astype(str)),
        "behandling": rng.integers(0, 2, rows),
        "ydelse_kr": [f"{v:,.2f}".replace(",", "X").replace(".", ",").replace("X", ".") for v in y],
        "uger": rng.integers(0, 157, rows),
        "bydel": rng.choice(["Nørrebro", "Østerbro", "Valby", "Amager Øst"], rows),
        "henvist": (np.datetime64("2016-10-03") + rng.integers(0, 700, rows).astype("timedelta64[D]"))
        .astype("datetime64[D]").astype(object),
    })
    df["henvist"] = [d.strftime("%d-%m-%Y") for d in df["henvist"]]
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".part")
    df.to_csv(tmp, sep=";", index=False, encoding="cp1252", lineterminator="\r\n")
    os.replace(tmp, path)


def measure_table(path: Path) -> dict:
    import pandas as pd

    from trial.intake import read_table

    def best(f, repeat=3):
        ts = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            out = f()
            ts.append(time.perf_counter() - t0)
        return min(ts), out

    t_ours, ours = best(lambda: read_table(path))

    def told():
        df = pd.read_csv(path, sep=";", decimal=",", thousands=".", encoding="cp1252")
        df["henvist"] = pd.to_datetime(df["henvist"], format="%d-%m-%Y")
        return df

    t_pd, ref = best(told)
    for c in ref.columns:              # the same values, typed alike
        a, b = ours[c], ref[c]
        assert a.dtype.kind == b.dtype.kind, (c, a.dtype, b.dtype)
        assert a.astype(str).tolist() == b.astype(str).tolist(), c
    return {"rows": len(ours), "seconds": t_ours, "pandas_seconds": t_pd}


def _child(mode: str, path: str, max_week: int, nrows: int) -> dict:
    cmd = [sys.executable, __file__, "--child", mode, "--path", path, "--max-week", str(max_week),
           "--nrows", str(nrows)]
    res = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(res.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--citizens", type=int, default=20_000)
    ap.add_argument("--weeks", type=int, default=260)
    ap.add_argument("--naive-rows", type=int, default=200_000)
    ap.add_argument("--table-rows", type=int, default=500_000)
    ap.add_argument("--child", choices=("vectorised", "naive"), help=argparse.SUPPRESS)
    ap.add_argument("--path", help=argparse.SUPPRESS)
    ap.add_argument("--max-week", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--nrows", type=int, help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.child == "vectorised":
        print(json.dumps(measure_vectorised(a.path, a.max_week)))
        return 0
    if a.child == "naive":
        print(json.dumps(measure_naive(a.path, a.max_week, a.nrows)))
        return 0

    path = DATA / f"status_{a.citizens}x{a.weeks}.csv"
    if not path.exists():
        t0 = time.perf_counter()
        print(f"making {path.name} (cached for later runs) ...", flush=True)
        make_panel(path, a.citizens, a.weeks)
        print(f"  made in {time.perf_counter() - t0:.1f} s", flush=True)
    size = path.stat().st_size / 2**20
    n = a.citizens * a.weeks
    print(f"panel: {a.citizens:,} citizens x {a.weeks} weeks = {n:,} rows, {size:.0f} MiB, "
          f"python {platform.python_version()}, {os.cpu_count()} cores")

    vec = _child("vectorised", str(path), a.weeks, 0)
    nrows = min(a.naive_rows, n)
    naive = _child("naive", str(path), a.weeks, nrows)
    assert vec["rows"] == n and vec["citizens"] == a.citizens, vec
    assert vec["first_pseudonyms"] == naive["first_pseudonyms"], "the two paths disagree"
    vec_rate = vec["rows"] / vec["seconds"]
    naive_rate = naive["rows"] / naive["seconds"]
    print(f"trial.intake.read_status (read + validate + pseudonymise, all {n:,} rows): "
          f"{vec['seconds']:.2f} s, peak {vec['peak_mib']:.0f} MiB, {vec_rate / 1e6:.2f} M rows/s")
    print(f"row-by-row alternative (csv.reader + per-row checks + per-row hmac, first {nrows:,} rows): "
          f"{naive['seconds']:.2f} s, {naive_rate / 1e6:.3f} M rows/s "
          f"-> {n / naive_rate:.1f} s projected for all rows")
    print(f"speed-up: {vec_rate / naive_rate:.1f}x")
    tpath = DATA / f"table_{a.table_rows}.csv"
    if not tpath.exists():
        make_table(tpath, a.table_rows)
    tab = measure_table(tpath)
    print(f"trial.intake.read_table ({tab['rows']:,}-row Danish analysis table, sniffed and typed): "
          f"{tab['seconds']:.2f} s; pandas.read_csv told the notation: {tab['pandas_seconds']:.2f} s "
          f"(same values)")
    ok_t, ok_m = vec["seconds"] <= 10, vec["peak_mib"] <= 2048
    print(f"targets: <= 10 s {'met' if ok_t else 'MISSED'}; <= 2 GB {'met' if ok_m else 'MISSED'}")
    return 0 if (ok_t and ok_m) else 1


if __name__ == "__main__":
    sys.exit(main())
