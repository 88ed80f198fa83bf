"""``trial demo``: the whole chain on synthetic data, end to end.

Runs every step in :mod:`trial._demo` in order (simulate the municipal
exports, intake, register and randomization, power, outcomes and the
pre-specified analysis, business case, report) and writes everything to one
folder (default ``reports/demo/``).
"""
from __future__ import annotations

import importlib
import pkgutil
import shutil
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

from . import _demo
from .protocol import DEFAULT_PROTOCOL, load

__all__ = ["run_demo", "demo_steps"]


def demo_steps() -> list:
    names = sorted(m.name for m in pkgutil.iter_modules(_demo.__path__) if m.name.startswith("step_"))
    return [importlib.import_module(f"{_demo.__name__}.{n}") for n in names]


def run_demo(out: str | Path = "reports/demo", *, protocol: str | Path | None = None, seed: int = 2016,
             n_referrals: int = 600, echo=print) -> SimpleNamespace:
    """Run the demo chain into ``out`` (emptied first) and return the context."""
    out = Path(out)
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    ppath = Path(protocol) if protocol else DEFAULT_PROTOCOL
    # The synthetic municipal exports carry (synthetic) CPR numbers: they live in a
    # temporary folder that is removed at the end, so nothing under `out` holds one.
    with tempfile.TemporaryDirectory(prefix="trial-demo-exports-") as exports:
        ctx = SimpleNamespace(out=out, protocol_path=ppath, protocol=load(ppath), seed=seed,
                              n_referrals=n_referrals, echo=echo, exports_dir=Path(exports))
        for step in demo_steps():
            t0 = time.perf_counter()
            echo(f"\n=== {step.TITLE} ===")
            step.run(ctx)
            echo(f"({time.perf_counter() - t0:.1f} s)")
        ctx.referrals_raw = None  # drop the CPR-bearing frame with the exports
    echo(f"\nDemo written to {out}/ (the synthetic exports with CPR numbers were removed; "
         "`trial simulate` writes them)")
    return ctx
