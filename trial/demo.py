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

__all__ = ["run_demo", "demo_steps", "MARKER"]

MARKER = ".trial-demo"


def demo_steps() -> list:
    names = sorted(m.name for m in pkgutil.iter_modules(_demo.__path__) if m.name.startswith("step_"))
    return [importlib.import_module(f"{_demo.__name__}.{n}") for n in names]


def run_demo(out: str | Path = "reports/demo", *, protocol: str | Path | None = None, seed: int = 2016,
             n_referrals: int = 600, echo=print) -> SimpleNamespace:
    """Run the demo chain into ``out`` and return the context.

    ``out`` must be new, empty, or an earlier demo's output (it holds the
    marker file ``.trial-demo``); an earlier demo's output is replaced. Any
    other folder is refused, so a typo cannot wipe a user's work.
    """
    from .exceptions import ParameterError

    if isinstance(n_referrals, bool) or not isinstance(n_referrals, int) or n_referrals < 20:
        raise ParameterError("n_referrals", f"must be a whole number of at least 20; got {n_referrals!r}")
    ppath = Path(protocol) if protocol else DEFAULT_PROTOCOL
    proto = load(ppath)  # validate before touching the output folder
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ParameterError("out", f"must be a folder; {out} is a file")
    if out.is_dir() and any(out.iterdir()):
        if not (out / MARKER).is_file():
            raise ParameterError("out", f"folder {out} is not empty and is not an earlier demo's output "
                                 f"(no {MARKER} file in it); choose a new or empty folder")
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / MARKER).write_text("written by `trial demo`; the whole folder is replaced by the next demo run\n")
    # The synthetic municipal exports carry (synthetic) CPR numbers: they live in a
    # temporary folder that is removed at the end, so nothing under `out` holds one.
    with tempfile.TemporaryDirectory(prefix="trial-demo-exports-") as exports:
        ctx = SimpleNamespace(out=out, protocol_path=ppath, protocol=proto, seed=seed,
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
