"""Benchmark: design diagnosis of the protocol's primary analysis, vectorised vs a statsmodels loop.

    .venv/bin/python bench/diagnose.py [--sims 10000] [--loop-sims 500] [--jobs 2] [--repeat 3]

In one run, on the same simulated trials (3 binary confirmatory endpoints, 100
treated, stratified permuted blocks, enrollment closed when the deltagergruppe
is full, so about 300 controls):

* vectorised: trial.diagnose draws the trials and runs the HC2 difference in
  means and Lin's covariate-adjusted estimator (HC2) for all trials at once
  (trial._fast.dim_and_lin's shared pass: one Gram matrix per arm, then
  leverages and the residuals of all three endpoints in one product), then
  the fixed-sequence rule. The analysis is timed three ways: inside the
  pipeline (each chunk analysed right after it is drawn, as trial diagnose
  runs), on all chunks drawn beforehand, and through the public
  analyse_trials from plain arrays (which first packs them);
* loop: for each trial, statsmodels OLS(...).fit(cov_type="HC2") for both
  estimators and the three endpoints (6 fits) and the fixed-sequence rule in
  Python - the obvious way to write it. Run on --loop-sims trials and
  extrapolated linearly to --sims (the per-trial cost is constant).

Both paths must give the same estimates and standard errors (checked to 1e-10).
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from trial.diagnose import (CHUNK, _analyse, _chunks, _simulate, adjust_rejections, analyse_trials,  # noqa: E402
                            diagnose, draw_trials, spec_from_protocol)
from trial.protocol import load  # noqa: E402


def loop_analysis(Y, T, X, enrolled, alpha):
    import statsmodels.api as sm
    from scipy import stats

    S, _, E = Y.shape
    est = np.empty((S, 2, E))
    se = np.empty((S, 2, E))
    rejected = np.zeros((S, E), dtype=bool)
    for s in range(S):
        keep = enrolled[s] > 0
        t, ys, xs = T[s][keep], Y[s][keep], X[s][keep]
        n = t.size
        xc = xs - xs.mean(axis=0)
        d_dim = np.column_stack([np.ones(n), t])
        d_lin = np.column_stack([np.ones(n), t, xc, t[:, None] * xc])
        pv = []
        for e in range(E):
            f = sm.OLS(ys[:, e], d_dim).fit(cov_type="HC2")
            est[s, 0, e], se[s, 0, e] = f.params[1], f.bse[1]
            a, b = ys[t == 1, e], ys[t == 0, e]
            v1, v0 = a.var(ddof=1) / a.size, b.var(ddof=1) / b.size
            df = (v1 + v0) ** 2 / (v1 ** 2 / (a.size - 1) + v0 ** 2 / (b.size - 1))
            pv.append(2 * stats.t.sf(abs(f.params[1] / f.bse[1]), df))
            g = sm.OLS(ys[:, e], d_lin).fit(cov_type="HC2")
            est[s, 1, e], se[s, 1, e] = g.params[1], g.bse[1]
        for e in range(E):                       # fixed sequence
            if pv[e] <= alpha:
                rejected[s, e] = True
            else:
                break
    return est, se, rejected


def best_of(fn, repeat):
    """(best wall-clock seconds, CPU seconds of that run, result) over ``repeat`` runs."""
    best = None
    for _ in range(max(1, repeat)):
        w0, c0 = time.perf_counter(), time.process_time()
        out = fn()
        w, c = time.perf_counter() - w0, time.process_time() - c0
        if best is None or w < best[0]:
            best = (w, c, out)
    return best


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sims", type=int, default=10_000)
    ap.add_argument("--loop-sims", type=int, default=500)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--seed", type=int, default=20161001)
    ap.add_argument("--repeat", type=int, default=3, help="repetitions; the best (shortest) is reported")
    a = ap.parse_args(argv)
    proto = load()
    spec = spec_from_protocol(proto, endpoints="confirmatory")
    alpha = proto.analysis.alpha
    root = np.random.SeedSequence(a.seed)

    diagnose(proto, n_sims=200, rng=1, null_sims=10, endpoints="confirmatory")   # warm-up (imports, caches)

    def whole():
        sims = _simulate(spec, root, a.sims, 1, False, "")
        adjust_rejections(sims["difference_in_means"]["p_value"], alpha, "fixed_sequence")
        return sims

    # best of --repeat (wall clock; the shared machine's other jobs only ever add time), and CPU time
    t_vec, c_vec, sims = best_of(whole, a.repeat)

    t0 = time.perf_counter()
    sims_par = _simulate(spec, root, a.sims, a.jobs, False, "")
    t_par = time.perf_counter() - t0
    assert np.array_equal(sims_par["lin_hc2"]["estimate"], sims["lin_hc2"]["estimate"])

    # the analysis alone (what the loop replaces), three ways:
    # (a) inside the pipeline: each chunk drawn (not timed), then analysed (timed) while its data are warm
    def in_pipeline():
        total = cpu = 0.0
        for ss, k in _chunks(root, a.sims):
            sim = draw_trials(spec, ss, k)
            w0, c0 = time.perf_counter(), time.process_time()
            r = _analyse(sim, spec, drawn=True)
            adjust_rejections(r["difference_in_means"]["p_value"], alpha, "fixed_sequence")
            total += time.perf_counter() - w0
            cpu += time.process_time() - c0
        return total, cpu

    runs = [in_pipeline() for _ in range(max(1, a.repeat))]
    t_warm, c_warm = min(runs)
    # (b) on all chunks drawn beforehand (data cold in memory), the packed layout the draw produces
    chunks = _chunks(root, a.sims)
    data = [draw_trials(spec, ss, k) for ss, k in chunks]

    def analysis():
        for sim in data:
            r = _analyse(sim, spec, drawn=True)
            adjust_rejections(r["difference_in_means"]["p_value"], alpha, "fixed_sequence")

    t_analysis, c_analysis, _ = best_of(analysis, a.repeat)
    # (c) the public analyse_trials from plain arrays (it packs them first: one copy more)
    plain = [tuple(np.ascontiguousarray(x) for x in (Y, T, X, e)) for Y, T, X, e, _, _ in data]

    def analysis_plain():
        for Y, T, X, e in plain:
            r = analyse_trials(Y, T, X, spec, enrolled=e)
            adjust_rejections(r["difference_in_means"]["p_value"], alpha, "fixed_sequence")

    t_plain, c_plain, _ = best_of(analysis_plain, a.repeat)

    # the loop on the first --loop-sims trials (chunks differ in width: the referrals after the last
    # enrollment of a chunk are dropped), compared with the vectorised analysis of the same chunks
    used = [d for d, _ in zip(data, range(-(-a.loop_sims // CHUNK)))]
    t_loop, c_loop, loops = best_of(lambda: [loop_analysis(Y, T, X, enrolled, alpha)
                                             for Y, T, X, enrolled, _, _ in used], a.repeat)
    n_loop = sum(d[0].shape[0] for d in used)
    t_loop_full = t_loop / n_loop * a.sims
    c_loop_full = c_loop / n_loop * a.sims
    err = 0.0
    same_rejections = True
    for (est, se, rej), sim in zip(loops, used):
        fast = _analyse(sim, spec, drawn=True)
        same_rejections &= bool(np.array_equal(
            rej, adjust_rejections(fast["difference_in_means"]["p_value"], alpha, "fixed_sequence")))
        err = max(err, np.abs(est[:, 0] - fast["difference_in_means"]["estimate"]).max(),
                  np.abs(se[:, 0] - fast["difference_in_means"]["std_error"]).max(),
                  np.abs(est[:, 1] - fast["lin_hc2"]["estimate"]).max(),
                  np.abs(se[:, 1] - fast["lin_hc2"]["std_error"]).max())
    assert err < 1e-10, err
    assert same_rejections

    load1 = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"design diagnosis benchmark: {a.sims} trials of {spec['n']} referrals (enrollment closes at "
          f"{spec['n_treatment']} treated), 3 binary endpoints, "
          f"HC2 difference in means + Lin (HC2), fixed sequence; chunks of {CHUNK}")
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"load average {load1:.1f}; Python {platform.python_version()}, numpy {np.__version__}")
    print(f"  (wall clock, best of {a.repeat}; CPU seconds of that run in brackets)")
    print(f"  vectorised, whole simulation (draw + analyse), 1 process : {t_vec:8.2f} s  [{c_vec:.2f}]")
    print(f"  vectorised, whole simulation, {a.jobs} processes            : {t_par:8.2f} s")
    print(f"  vectorised, analysis only, in the pipeline (warm data): {t_warm:8.3f} s  [{c_warm:.3f}]")
    print(f"  vectorised, analysis only, all drawn beforehand (cold) : {t_analysis:8.3f} s  [{c_analysis:.3f}]")
    print(f"  vectorised, analyse_trials from plain arrays (packs)   : {t_plain:8.3f} s  [{c_plain:.3f}]")
    print(f"  statsmodels loop, {n_loop} trials                        : {t_loop:8.2f} s  [{c_loop:.2f}] "
          f"-> {t_loop_full:.1f} s for {a.sims} (extrapolated)")
    print(f"  speed-up, analysis in the pipeline : {t_loop_full / t_warm:6.0f} x   (CPU time: "
          f"{c_loop_full / c_warm:.0f} x)")
    print(f"  speed-up, analysis, cold data      : {t_loop_full / t_analysis:6.0f} x   (CPU time: "
          f"{c_loop_full / c_analysis:.0f} x)")
    print(f"  speed-up, analyse_trials (packing) : {t_loop_full / t_plain:6.0f} x")
    print(f"  speed-up, whole (1 proc)           : {t_loop_full / t_vec:6.0f} x   "
          f"(the loop's own data drawing not counted)")
    print(f"  max |difference| loop vs vectorised (estimates, SEs): {err:.1e}; fixed-sequence rejections identical")


if __name__ == "__main__":
    main()
