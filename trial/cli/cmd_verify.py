"""`trial verify`: check the audit chain and recompute every allocation."""
from __future__ import annotations

from ._common import EXIT_CHECK_FAILED, EXIT_OK, add_json_flag, print_json


def add_parser(sub) -> None:
    p = sub.add_parser("verify", help="check the register's audit chain and recompute every allocation",
                       description="Check the hash chain of the audit log, compare every table with the log, "
                       "re-check eligibility and strata, and recompute every allocation from the protocol and "
                       "the allocation secret. Exit 0 when everything checks, 1 when anything does not (each "
                       "problem named by table and row). Without the key file allocations cannot be "
                       "recomputed: that is reported and the exit code is 1, unless --skip-allocations.")
    p.add_argument("--register", required=True, help="register: a file path or postgresql://… URL")
    p.add_argument("--key-file", default=None, help="key file (default: <register>.key, used when it exists)")
    p.add_argument("--skip-allocations", action="store_true",
                   help="check chain and tables only (no key file needed); exit 0 if those pass")
    add_json_flag(p)
    p.set_defaults(func=run)


def run(args) -> int:
    from pathlib import Path

    from .._keys import default_key_path, load_key_file
    from ..register import Register

    with Register.open(args.register, migrate=False) as reg:   # the register first
        key = None
        if not args.skip_allocations:
            path = Path(args.key_file) if args.key_file else default_key_path(args.register)
            if args.key_file or path.exists():
                key = load_key_file(path)
        res = reg.verify(key)
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
