"""Benchmark: register throughput, verification, and vectorised re-randomization.

Run:  .venv/bin/python bench/register.py

Compares in the same run
* re-randomization under permuted blocks / minimisation: the vectorised
  `trial.randomize.rerandomize` against the obvious per-resample loop (the
  register's own `Allocator.replay` with a fresh secret per resample);
* enrollment: one process vs 8 concurrent processes on one SQLite register;
* `verify` time per 1,000 enrollments.
"""
from __future__ import annotations

import dataclasses
import multiprocessing as mp
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests._register_helpers import key, protocol_with, referrals  # noqa: E402
from trial.protocol import load  # noqa: E402
from trial.randomize import Allocator, SchemeInfo, rerandomize  # noqa: E402
from trial.register import Register  # noqa: E402

LABELS = [f"{a}|{b}" for a in ("18-29", "30-49", "50-64") for b in ("first", "repeat")]


def bench_rerandomize():
    info = SchemeInfo.from_protocol(load())
    strata = list(np.random.default_rng(0).choice(LABELS, 400))
    for scheme in ("permuted_blocks", "minimisation"):
        i2 = dataclasses.replace(info, scheme=scheme)
        R = 2000
        t = time.perf_counter()
        rerandomize(i2, strata, rng=1, n_resamples=R)
        vec = time.perf_counter() - t
        r_loop = 100
        t = time.perf_counter()
        for r in range(r_loop):
            Allocator(i2, os.urandom(32), "test").replay(strata)
        loop = (time.perf_counter() - t) * R / r_loop
        print(f"rerandomize {scheme:<16} n=400, {R} resamples: vectorised {vec:6.2f} s, "
              f"per-resample loop {loop:6.1f} s (extrapolated from {r_loop}), ratio {loop / vec:5.1f}x")


def _worker(path, frame):
    with Register.open(path) as r:
        r.enroll_frame(frame, key=key())


def bench_enroll():
    p = protocol_with(capacity=None)
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "one.sqlite"
        Register.create(path, p, key=key()).close()
        frame = referrals(1000, 1, eligible_only=True)
        t = time.perf_counter()
        _worker(path, frame)
        one = time.perf_counter() - t
        print(f"enroll 1,000 referrals, 1 process:   {one:6.2f} s ({1000 / one:6.0f} per second)")
        with Register.open(path) as r:
            t = time.perf_counter()
            v = r.verify(key())
            ver = time.perf_counter() - t
        print(f"verify 1,000 enrollments (chain + tables + allocations): {ver:6.2f} s, ok={v.ok}")
        path8 = Path(d) / "eight.sqlite"
        Register.create(path8, p, key=key()).close()
        ctx = mp.get_context("fork")
        frames = [referrals(125, 10 + i, prefix=f"b{i}", eligible_only=True) for i in range(8)]
        procs = [ctx.Process(target=_worker, args=(path8, f)) for f in frames]
        t = time.perf_counter()
        for pr in procs:
            pr.start()
        for pr in procs:
            pr.join()
        eight = time.perf_counter() - t
        print(f"enroll 1,000 referrals, 8 processes: {eight:6.2f} s ({1000 / eight:6.0f} per second), "
              f"ratio to 1 process {eight / one:4.2f}")


if __name__ == "__main__":
    print(f"cores: {os.cpu_count()}")
    bench_rerandomize()
    bench_enroll()
