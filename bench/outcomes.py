"""Benchmark: derive every endpoint for 20,000 citizens x 260 weeks (target <= 5 s).

Compared in the same run with the obvious alternative, a per-citizen Python
loop (``tests/_outcomes_reference.py``, the independent implementation the
property tests check ``derive`` against), timed on a subset and scaled per
citizen. Synthetic frames come from ``tests/_outcomes_synth.py``.

    .venv/bin/python bench/outcomes.py [--n 20000] [--weeks 260] [--loop-n 300]
"""
from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from tests._outcomes_reference import naive_derive  # noqa: E402
from tests._outcomes_synth import synthetic_frames  # noqa: E402
from trial.outcomes import derive, helaarspersoner  # noqa: E402
from trial.protocol import load  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=20_000)
    ap.add_argument("--weeks", type=int, default=260)
    ap.add_argument("--loop-n", type=int, default=300, help="citizens for the per-citizen loop")
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args(argv)
    p = load()
    t0 = time.perf_counter()
    enr, st, ev, sv = synthetic_frames(p, a.n, weeks=a.weeks, seed=1, enrol_days=365)
    gen = time.perf_counter() - t0
    as_of = "2021-06-30"
    times = []
    for _ in range(a.repeat):
        t0 = time.perf_counter()
        out = derive(p, enr, st, ev, sv, as_of=as_of)
        times.append(time.perf_counter() - t0)
    t_fast = min(times)
    t0 = time.perf_counter()
    helaarspersoner(st, p.benefit_statuses, enr)
    t_hp = time.perf_counter() - t0

    sub = enr.iloc[: a.loop_n]
    ids = set(sub["pseudonym"])
    sub_st, sub_ev, sub_sv = (f[f["pseudonym"].isin(ids)] for f in (st, ev, sv))
    t0 = time.perf_counter()
    slow = naive_derive(p, sub, sub_st, sub_ev, sub_sv, as_of)
    t_loop = time.perf_counter() - t0
    per_citizen_loop = t_loop / a.loop_n
    t_loop_full = per_citizen_loop * a.n
    # the fast path on the same subset gives the same table
    fast_sub = derive(p, sub, sub_st, sub_ev, sub_sv, as_of=as_of).long
    key = ["pseudonym", "endpoint"]
    f = fast_sub.sort_values(key).reset_index(drop=True)
    s = slow.sort_values(key).reset_index(drop=True)
    same = np.allclose(f["value"].to_numpy(float), s["value"].to_numpy(float), equal_nan=True, rtol=1e-12)

    print(f"machine: {platform.processor() or platform.machine()}, Python {platform.python_version()}, "
          f"numpy {np.__version__}, pandas {pd.__version__}")
    print(f"data: {a.n:,} citizens x {a.weeks} weeks = {len(st):,} status rows, {len(ev):,} events, "
          f"{len(sv):,} survey rows (generated in {gen:.1f} s)")
    print(f"derive, all {len(p.endpoints)} endpoints ({len(out.long):,} rows): {t_fast:.2f} s "
          f"(best of {a.repeat}: {', '.join(f'{t:.2f}' for t in times)})  target <= 5 s: "
          f"{'met' if t_fast <= 5 else 'NOT met'}")
    print(f"helaarspersoner per citizen and arm: {t_hp:.2f} s")
    print(f"per-citizen loop: {t_loop:.2f} s for {a.loop_n} citizens = {1e3 * per_citizen_loop:.1f} ms/citizen "
          f"-> {t_loop_full:.0f} s for {a.n:,} (extrapolated)")
    print(f"speed-up: {t_loop_full / t_fast:.0f}x; same values on the subset: {same}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
