"""Benchmark of trial.simulate against the obvious alternatives, in the same run.

1. Trajectories: the vectorised weekly chain (all citizens at once, one numpy
   step per week) against a per-citizen Python loop over weeks drawing from
   the same transition matrices (the way a spreadsheet macro or a naive script
   does it). The loop is timed on a subsample and scaled per citizen.
2. Writing status.csv: the byte-scatter writer against ``DataFrame.to_csv``
   with the same options (decimal comma, ISO dates, empty missing): same
   bytes, checked.
3. End to end: ``rehearse`` (simulate + write the four files) at n = 20,000.

Run: ``.venv/bin/python bench/simulate.py``
"""
from __future__ import annotations

import tempfile
import time

import numpy as np
import pandas as pd

from trial import simulate as S
from trial.protocol import load


def _best(f, repeat=3):
    t = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = f()
        t.append(time.perf_counter() - t0)
    return min(t), out


def main(n: int = 20_000, n_loop: int = 300) -> None:
    p = load()
    plan = S._plan(p)
    eff = S.resolve_effects(p)
    T = p.analysis.follow_up_weeks
    ref = S.simulate_referrals(p, n, seed=1)
    cid = ref.index.to_numpy()
    z_work, _ = S._latent(1, n)
    group = np.minimum((S._phi(z_work) * S._N_GROUPS).astype(int), S._N_GROUPS - 1)
    tr = (np.arange(n) % 2).astype(int)
    S._solve_scales(p, plan, {}), S._solve_scales(p, plan, eff)     # warm the calibration cache

    t_vec, states = _best(lambda: S._simulate_chain(p, plan, eff, 1, cid, n, group, tr, T))

    # per-citizen loop with the same matrices and uniforms (must give the same states)
    cum = np.stack([np.cumsum(S._transitions(S._solve_scales(p, plan, sh), T), axis=-1) for sh in ({}, eff)])
    cum[..., -1] = 1.0 + 1e-12
    U = S._uniforms(1, S._ST_CHAIN, n, T - 1)

    def loop():
        out = np.empty((n_loop, T), dtype=np.int8)
        for i in range(n_loop):
            s = S.RFY
            out[i, 0] = s
            for t in range(T - 1):
                row = cum[tr[i], group[i], t, s]
                s = int(np.searchsorted(row, U[i, t], side="right"))
                out[i, t + 1] = s
        return out

    t_loop, loop_states = _best(loop, repeat=1)
    assert np.array_equal(loop_states, states[:n_loop]), "loop and vectorised chains differ"
    t_loop_n = t_loop / n_loop * n

    frames = S.simulate_outcomes(p, ref, pd.Series(tr.astype(float), index=ref.index), seed=1)
    st = frames["status"]
    t_fast, fast = _best(lambda: S._csv_bytes("status", st))
    t_pd, slow = _best(lambda: st.to_csv(sep=";", decimal=",", float_format="%.1f", date_format="%Y-%m-%d",
                                         na_rep="", index=False, lineterminator="\n").encode("utf-8"), repeat=1)
    assert fast == slow, "fast writer differs from to_csv"

    with tempfile.TemporaryDirectory() as d:
        t_all, res = _best(lambda: S.rehearse(p, n, d, seed=1), repeat=1)

    print(f"trial.simulate benchmark, n = {n:,} referrals, {T} weeks")
    print(f"  chain, vectorised             {t_vec:8.3f} s")
    print(f"  chain, per-citizen loop       {t_loop_n:8.1f} s  (timed on {n_loop} citizens, scaled)"
          f"   ratio {t_loop_n / t_vec:,.0f}x")
    print(f"  status.csv ({len(st):,} rows), fast writer {t_fast:6.2f} s; DataFrame.to_csv {t_pd:6.2f} s"
          f"   ratio {t_pd / t_fast:,.1f}x (identical bytes)")
    print(f"  rehearse end to end (simulate + write 4 files)  {t_all:6.2f} s; "
          f"rows {dict(res.rows)}")


if __name__ == "__main__":
    main()
