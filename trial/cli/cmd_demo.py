"""`trial demo`: run the whole chain on synthetic data."""
from __future__ import annotations


def add_parser(sub) -> None:
    p = sub.add_parser("demo", help="run the full chain on synthetic data (writes reports/demo/)",
                       description="Simulate municipal exports for the shipped protocol, take them in, "
                       "randomize, analyse and report, writing everything to --out.")
    p.add_argument("--out", default="reports/demo", help="output folder (emptied first; default reports/demo)")
    p.add_argument("--protocol", default=None, help="protocol file (default: the shipped BI25 protocol)")
    p.add_argument("--seed", type=int, default=2016, help="seed of the synthetic data (default 2016)")
    p.add_argument("--n-referrals", type=int, default=600, help="synthetic referrals (default 600)")
    p.add_argument("--json", action="store_true",
                   help="print what was written as JSON on standard output (the step-by-step log goes to "
                        "standard error)")
    p.set_defaults(func=run)


def run(args) -> int:
    import sys
    from pathlib import Path

    from ..demo import run_demo
    from ._common import print_json

    echo = (lambda *a, **k: print(*a, file=sys.stderr, **k)) if args.json else print
    ctx = run_demo(args.out, protocol=args.protocol, seed=args.seed, n_referrals=args.n_referrals, echo=echo)
    if args.json:
        out = Path(args.out)
        print_json({"out": str(out), "seed": args.seed, "n_referrals": args.n_referrals,
                    "protocol_fingerprint": ctx.protocol.fingerprint,
                    "files": sorted(p.name for p in out.iterdir() if p.is_file() and not p.name.startswith("."))})
    return 0
