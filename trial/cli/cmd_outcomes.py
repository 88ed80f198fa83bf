"""`trial outcomes load --register R [--key-file K] --status F --events F --survey F [--data-date D] [--json]`."""
from __future__ import annotations

from ._common import EXIT_OK, add_json_flag, print_json


def add_parser(sub) -> None:
    p = sub.add_parser("outcomes", help="load outcome exports into the register and derive the endpoints",
                       description="Outcome data: read the municipal status, events and survey exports, "
                                   "pseudonymise them with the key file, and store them with the derived "
                                   "endpoints in the register.")
    psub = p.add_subparsers(dest="outcomes_command", metavar="ACTION")
    p.set_defaults(_parser=p)
    c = psub.add_parser("load", help="read, pseudonymise and store the outcome exports (exit 0 ok, 2 bad input)",
                        description="Read and validate the status, events and survey exports (CSV or .xlsx), "
                                    "turn CPR numbers into pseudonyms with the key file, derive every endpoint "
                                    "of the protocol and store observations and outcomes in the register, dated "
                                    "by --data-date. The key file must be the register's own. All files are "
                                    "validated before anything is written; rows of citizens not enrolled are not "
                                    "stored, and an export none of whose rows belongs to an enrolled citizen is "
                                    "refused. The data date lies between the first referral and today; rows dated "
                                    "after it are an error in a production register and are not stored (with a "
                                    "warning) in a test register. Exit 0 ok, 2 bad input.")
    c.add_argument("--register", required=True, help="register: SQLite file or postgresql:// URL")
    c.add_argument("--key-file", default=None,
                   help="key file holding the pseudonymisation key (default: <register>.key, as trial init made it)")
    c.add_argument("--status", required=True, metavar="FILE", help="weekly status export (cpr, week, status)")
    c.add_argument("--events", required=True, metavar="FILE",
                   help="events export (cpr, event, start_date, end_date)")
    c.add_argument("--survey", required=True, metavar="FILE",
                   help="survey export (cpr, wave, date, self_rated_health, functional_ability, job_readiness)")
    c.add_argument("--data-date", default=None, metavar="DATE",
                   help="date the exports were drawn, YYYY-MM-DD, between the first enrolled referral and "
                        "today (default: the latest date in the data)")
    add_json_flag(c)
    c.set_defaults(func=run_load)


def run_load(args) -> int:
    from .._keys import default_key_path
    from ..outcomes import load_exports

    key_file = args.key_file or default_key_path(args.register)
    result = load_exports(args.register, key_file, status=args.status, events=args.events,
                          survey=args.survey, data_date=args.data_date)
    if args.json:
        import sys

        print_json(result.to_dict())
        for w in result.warnings:
            print(f"trial: warning: {w}", file=sys.stderr)
    else:
        print(result.summary())
    return EXIT_OK
