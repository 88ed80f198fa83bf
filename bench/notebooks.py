"""Benchmark: the researchers' notebooks executed headless, against the CLI commands they mirror.

Builds one register (simulated exports, 600 referrals, seed 2016, uploads at the
protocol's analysis date), then for each notebook: wall time of a headless
execution with nbclient (kernel start, imports, every analysis and figure) and
wall time of the command(s) whose numbers it reproduces, run as subprocesses
(`trial analyze --json`, `trial business-case --register R --seed S --json`,
`trial power --protocol P --control-size ... --json` and
`trial diagnose --sims N --seed S --json`). The ratio is what the notebook's
explanations, exploratory analyses and figures cost on top of the bare numbers.

    .venv/bin/python bench/notebooks.py [--repeat 3] [--sims 2000]

Results: bench/RESULTS_notebooks.md.
"""
from __future__ import annotations

import argparse
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from test_notebooks import PROTOCOL, build_register, execute  # noqa: E402


def _cli(*args: str) -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "trial.cli", *args, "--json"], check=True, capture_output=True, cwd=ROOT)
    return time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3, help="runs per measurement; the best is reported")
    ap.add_argument("--sims", type=int, default=2000, help="design-diagnosis simulations (notebook 01 default)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        t0 = time.perf_counter()
        reg = build_register(tmp / "reg")
        print(f"register built in {time.perf_counter() - t0:.1f} s ({reg.name})")
        sizes = ["100", "200", "300", "400", "600", "900"]
        jobs = {
            "01_design.ipynb": ({"N_SIMS": args.sims},
                                [("power", "--protocol", str(PROTOCOL), "--control-size", *sizes),
                                 ("diagnose", "--sims", str(args.sims), "--seed", "2016", "--no-progress")]),
            "02_effect_analysis.ipynb": ({}, [("analyze", "--register", str(reg))]),
            "03_business_case.ipynb": ({}, [("business-case", "--register", str(reg), "--seed", "2016")]),
        }
        print(f"Python {platform.python_version()}, {platform.machine()}; best of {args.repeat}")
        print(f"{'notebook':<26} {'notebook s':>10} {'CLI s':>8} {'ratio':>6}")
        total = 0.0
        for name, (extra, commands) in jobs.items():
            params = {"REGISTER": str(reg), "AS_OF": None, "SEED": 2016, "OUTPUT_DIR": str(tmp / "keys"), **extra}
            nb_t = min(execute(name, params, tmp)[1] for _ in range(args.repeat))
            cli_t = min(sum(_cli(*c) for c in commands) for _ in range(args.repeat))
            total += nb_t
            print(f"{name:<26} {nb_t:>10.1f} {cli_t:>8.1f} {nb_t / cli_t:>6.1f}")
        print(f"{'all three notebooks':<26} {total:>10.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
