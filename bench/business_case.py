"""Benchmark: the effect-fed business case, vectorised draws vs a per-draw loop.

The obvious alternative to the vectorised engine is what a spreadsheet model
or a naive script does: rebuild the case and compute its payback once per
draw. Both give the same numbers (checked here); the vectorised path is one
matrix product and one vectorised payback over all draws.

Run: .venv/bin/python bench/business_case.py
"""
from __future__ import annotations

import time

import numpy as np

from trial.business_case import compute_case, effect_fed_case, load_case
from trial.business_case._effect import default_case_path
from trial.protocol import load

EFFECTS = {"ordinary_employment": {"estimate": 0.04, "std_error": 0.03},
           "fleksjob": {"estimate": 0.03, "std_error": 0.028},
           "extension": {"estimate": -0.12, "std_error": 0.057}}


def loop(protocol, case, draws):
    """Per draw: a new case with the drawn effects, computed line by line (the naive way)."""
    lines = {ep: ln for ep, ln in protocol.business_case.drivers.items()}
    out = np.empty(len(draws))
    for i, row in enumerate(draws):
        c = case.with_effects({lines[ep]: v for ep, v in zip(EFFECTS, row)})
        out[i] = compute_case(c).payback_years_total
    return out


def main():
    protocol = load()
    case = load_case(default_case_path(protocol))
    effect_fed_case(EFFECTS, protocol=protocol, n_draws=10, rng=0)      # warm-up: imports
    for n in (1_000, 10_000):
        t0 = time.perf_counter()
        res = effect_fed_case(EFFECTS, protocol=protocol, n_draws=n, rng=1)
        t_vec = time.perf_counter() - t0
        rng = np.random.default_rng(1)
        est = np.array([e["estimate"] for e in EFFECTS.values()])
        se = np.array([e["std_error"] for e in EFFECTS.values()])
        # the same draws as effect_fed_case: all driver lines, unmeasured ones with sd 0
        order = [e.endpoint for e in res.effects]
        z = rng.standard_normal((n, len(order)))
        idx = [order.index(ep) for ep in EFFECTS]
        draws = est + z[:, idx] * se
        m = min(n, 1_000)
        t0 = time.perf_counter()
        pb = loop(protocol, case, draws[:m])
        t_loop = (time.perf_counter() - t0) * n / m
        assert np.allclose(pb, res.payback_draws[:m], rtol=1e-9), "vectorised and loop disagree"
        print(f"n_draws={n:>6}: vectorised {t_vec:7.3f} s (incl. sensitivity), per-draw loop "
              f"{t_loop:7.2f} s{' (extrapolated from 1,000)' if m < n else ''}, ratio {t_loop / t_vec:6.0f}x; "
              f"P(payback<=10) = {res.p_payback:.3f}")


if __name__ == "__main__":
    main()
