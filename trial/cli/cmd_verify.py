"""`trial verify`: check the audit chain and recompute every allocation."""
from __future__ import annotations

from ._common import EXIT_CHECK_FAILED, EXIT_OK, add_json_flag, print_json


def add_parser(sub) -> None:
    p = sub.add_parser("verify", help="check the register's audit chain and recompute every allocation",
                       description="Check the hash chain of the audit log, compare every table with the log, "
                       "re-check eligibility and strata, and recompute every allocation from the protocol and "
                       "the allocation secret. Exit 0 when everything checks, 1 when anything does not (each "
                       "problem named by table and row). Without the key file allocations cannot be "
                       "recomputed: that is reported and the exit code is 1, unless --skip-allocations. "
                       "Prints the head hash and the number of audit entries: record them outside the register "
                       "and check them later with --expect-head.")
    p.add_argument("--register", required=True, help="register: a file path or postgresql://… URL")
    p.add_argument("--key-file", default=None, help="key file (default: <register>.key, used when it exists)")
    p.add_argument("--skip-allocations", action="store_true",
                   help="check chain and tables only (no key file needed); exit 0 if those pass")
    p.add_argument("--expect-head", metavar="HASH", default=None,
                   help="an audit entry hash recorded earlier (the head hash a past `trial verify` printed; "
                   "whole or its first 12+ characters): exit 1 unless the chain contains it. The anchor "
                   "against a rollback of the register's tail")
    add_json_flag(p)
    p.set_defaults(func=run)


def run(args) -> int:
    from pathlib import Path

    from .._keys import default_key_path, load_key_file
    from .._verify import check_expect_head
    from ..register import Register

    if args.expect_head is not None:
        check_expect_head(args.expect_head)          # a malformed hash is bad input (exit 2), not a failed check
    with Register.open(args.register, migrate=False) as reg:   # the register first
        key = None
        if not args.skip_allocations:
            path = Path(args.key_file) if args.key_file else default_key_path(args.register)
            if args.key_file or path.exists():
                key = load_key_file(path)
        res = reg.verify(key, expect_head=args.expect_head)
    ok = not res.problems and (res.allocations_recomputed or args.skip_allocations)
    if args.json:
        d = res.to_dict()
        d["ok"] = ok
        print_json(d)
    else:
        text = res.summary()
        if ok and not res.ok:
            text = text.replace(": FAILED", ": OK (allocations not recomputed)", 1)
        print(text)
    return EXIT_OK if ok else EXIT_CHECK_FAILED
