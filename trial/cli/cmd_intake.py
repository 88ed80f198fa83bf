"""`trial intake check --kind referrals|status|events|survey FILE [--protocol P] [--json]`."""
from __future__ import annotations

from ._common import EXIT_BAD_INPUT, EXIT_OK, add_json_flag, print_json

KINDS = ("referrals", "status", "events", "survey")


def add_parser(sub) -> None:
    p = sub.add_parser("intake", help="check a municipal export (referrals, status, events, survey)",
                       description="Validate municipal exports (CSV or .xlsx) before they are used. "
                                   "CPR numbers never appear in the output: rows are named by number "
                                   "and CPR numbers are masked DDMMYY-XXXX.")
    psub = p.add_subparsers(dest="intake_command", metavar="ACTION")
    p.set_defaults(_parser=p)
    c = psub.add_parser("check", help="validate an export (exit 0 valid, 2 invalid)",
                        description="Validate an export file. Exit 0 with a summary (rows, citizens, "
                                    "period, counts per code) when valid; exit 2 listing every problem "
                                    "(file, row, column, message) when not. Nothing is written.")
    c.add_argument("--kind", required=True, choices=KINDS, help="what the file holds")
    c.add_argument("file", help="CSV (comma or semicolon; UTF-8, BOM or Windows-1252) or .xlsx file")
    c.add_argument("--protocol", default=None, help="protocol TOML (default: the shipped BI25 protocol)")
    c.add_argument("--max-week", type=int, default=None,
                   help="status: largest week allowed (default: the protocol's follow_up_weeks)")
    add_json_flag(c)
    c.set_defaults(func=run_check)


def run_check(args) -> int:
    from ..exceptions import IntakeError
    from ..intake import _scrub, check
    from ..protocol import load

    if args.max_week is not None:
        from ..intake._kinds import _check_max_week

        _check_max_week(args.max_week, "--max-week")
    protocol = load(args.protocol)
    try:
        summary = check(args.kind, args.file, protocol=protocol, max_week=args.max_week)
    except IntakeError as exc:
        if args.json:
            print_json({"valid": False, "kind": args.kind, "file": _scrub(args.file),
                        "problems": [{"file": p.file, "row": p.row, "column": p.column, "message": p.message}
                                     for p in exc.problems],
                        "more_problems": exc.truncated})
        else:
            n = len(exc.problems) + exc.truncated
            print(f"INVALID {_scrub(args.file)}: {n} problem{'s' if n != 1 else ''} found ({args.kind} export)")
            for p in exc.problems:
                print(f"  {p}")
            if exc.truncated:
                print(f"  ... and {exc.truncated} more problems")
        return EXIT_BAD_INPUT
    if args.json:
        print_json(summary.to_dict())
    else:
        print("OK " + summary.summary())
    return EXIT_OK
