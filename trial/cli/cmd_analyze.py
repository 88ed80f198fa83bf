"""`trial analyze --register R [--as-of DATE] [--json]`: the pre-specified analysis."""
from __future__ import annotations

from ._common import EXIT_OK, add_json_flag, print_json


def add_parser(sub) -> None:
    p = sub.add_parser("analyze", help="run the pre-specified analysis on a register",
                       description="Run the full pre-specified analysis on the register as of a date: derive "
                                   "every endpoint from the uploaded observations (`trial outcomes load`), run "
                                   "the protocol's primary and sensitivity estimators, adjust the confirmatory "
                                   "family for multiplicity and print one tidy table (one row per endpoint x "
                                   "estimator). Before the protocol's analysis date the analysis is "
                                   "descriptive: no confirmatory claims. Exit 0 ok, 2 bad input.")
    p.add_argument("--register", required=True, help="register: SQLite file or postgresql:// URL")
    p.add_argument("--as-of", default=None, metavar="DATE",
                   help="use the data as of this date, YYYY-MM-DD (default: the newest upload)")
    p.add_argument("--n-resamples", type=int, default=2000,
                   help="re-randomizations for randomization inference (default 2000)")
    add_json_flag(p)
    p.set_defaults(func=run)


def run(args) -> int:
    from ..analysis import analyze

    result = analyze(args.register, as_of=args.as_of, n_resamples=args.n_resamples)
    if args.json:
        print_json(result.to_dict())
    else:
        print(result.summary())
    return EXIT_OK
