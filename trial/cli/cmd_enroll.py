"""`trial enroll`: screen and randomize the referrals of a file, in arrival order."""
from __future__ import annotations

from ._common import EXIT_OK, add_json_flag, print_json


def add_parser(sub) -> None:
    p = sub.add_parser("enroll", help="enroll eligible referrals from a file and print their allocations",
                       description="Read a referrals export (validated and pseudonymised by intake), screen each "
                       "referral against the protocol's eligibility, and enroll the eligible ones in arrival "
                       "order, each in its own transaction. Prints pseudonym, stratum and arm. Running the same "
                       "file again enrolls nobody twice. Ineligible referrals are logged with the reason.")
    p.add_argument("file", help="referrals export (CSV or .xlsx; see docs/contracts.md)")
    p.add_argument("--register", required=True, help="register: a file path or postgresql://… URL")
    p.add_argument("--key-file", default=None, help="key file (default: <register>.key)")
    add_json_flag(p)
    p.set_defaults(func=run)


def run(args) -> int:
    import sys

    from .._keys import default_key_path, load_key_file
    from ..intake import read_referrals
    from ..register import Register

    with Register.open(args.register) as reg:      # the register first: "register X does not exist"
        key = load_key_file(args.key_file or default_key_path(args.register))
        reg.check_key(key)                          # before reading the file: another register's key
        frame = read_referrals(args.file, key=key.pseudonym_key, protocol=reg.protocol)
        res = reg.enroll_frame(frame, key=key)
    if args.json:
        print_json(res.records())
        print(res.summary().splitlines()[0], file=sys.stderr)     # the same count line as the text output
    else:
        print(res.summary())
    return EXIT_OK
