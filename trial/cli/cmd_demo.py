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
    p.set_defaults(func=run)


def run(args) -> int:
    from ..demo import run_demo

    run_demo(args.out, protocol=args.protocol, seed=args.seed, n_referrals=args.n_referrals)
    return 0
