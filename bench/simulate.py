"""Benchmark of trial.simulate against the obvious alternatives, in the same run.

1. Trajectories: the vectorised weekly chain (all citizens at once, one numpy
   step per week) against a per-citizen Python loop over weeks drawing from
   the same transition matrices (the way a spreadsheet macro or a naive script
   does it). The loop is timed on a subsample and scaled per citizen.
2. Writing status.csv (3 million rows) with ``DataFrame.to_csv`` and the
   export options (``trial.simulate.CSV_OPTIONS``: semicolon, decimal comma,
   ISO dates, empty missing), as the library does.
3. End to end: ``rehearse`` (simulate + write the four files) at n = 20,000.

Run: ``.venv/bin/python bench/simulate.py``
"""
from __future__ import annotations

import tempfile
import time

import numpy as np
import pandas as pd

from trial.protocol import load
from trial.simulate import rehearse, resolve_effects, simulate_outcomes, simulate_referrals
from trial.simulate import _base as B
from trial.simulate import _chain as C
from trial.simulate._write import _csv_bytes


def _best(f, repeat=3):
    t = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = f()
        t.append(time.perf_counter() - t0)
    return min(t), out


def main(n: int = 20_000, n_loop: int = 300) -> None:
    p = load()
    plan = C._plan(p)
    eff = resolve_effects(p)
    T = p.analysis.follow_up_weeks
    ref = simulate_referrals(p, n, seed=1)
    cid = ref.index.to_numpy()
    z_work, _ = B._latent(1, n)
    group = np.minimum((B._phi(z_work) * B._N_GROUPS).astype(int), B._N_GROUPS - 1)
    tr = (np.arange(n) % 2).astype(int)
    C._solve_scales(p, plan, {}), C._solve_scales(p, plan, eff)     # warm the calibration cache

    t_vec, states = _best(lambda: C._simulate_chain(p, plan, eff, 1, cid, n, group, tr, T))

    # per-citizen loop with the same matrices and uniforms (must give the same states)
    cum = np.stack([np.cumsum(C._transitions(C._solve_scales(p, plan, sh), T), axis=-1) for sh in ({}, eff)])
    cum[..., -1] = 1.0 + 1e-12
    U = B._uniforms(1, B._ST_CHAIN, n, T - 1)

    def loop():
        out = np.empty((n_loop, T), dtype=np.int8)
        for i in range(n_loop):
            s = B.RFY
            out[i, 0] = s
            for t in range(T - 1):
                row = cum[tr[i], group[i], t, s]
                s = int(np.searchsorted(row, U[i, t], side="right"))
                out[i, t + 1] = s
        return out

    t_loop, loop_states = _best(loop, repeat=1)
    assert np.array_equal(loop_states, states[:n_loop]), "loop and vectorised chains differ"
    t_loop_n = t_loop / n_loop * n

    frames = simulate_outcomes(p, ref, pd.Series(tr.astype(float), index=ref.index), seed=1)
    st = frames["status"]
    t_csv, blob = _best(lambda: _csv_bytes("status", st))

    with tempfile.TemporaryDirectory() as d:
        t_all, res = _best(lambda: rehearse(p, n, d, seed=1), repeat=1)

    print(f"trial.simulate benchmark, n = {n:,} referrals, {T} weeks")
    print(f"  chain, vectorised             {t_vec:8.3f} s")
    print(f"  chain, per-citizen loop       {t_loop_n:8.1f} s  (timed on {n_loop} citizens, scaled)"
          f"   ratio {t_loop_n / t_vec:,.0f}x")
    print(f"  status.csv ({len(st):,} rows, {len(blob) / 2**20:.0f} MiB) with DataFrame.to_csv   {t_csv:6.2f} s")
    print(f"  rehearse end to end (simulate + write 4 files)  {t_all:6.2f} s; "
          f"rows {dict(res.rows)}")


if __name__ == "__main__":
    main()
