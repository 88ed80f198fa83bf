"""`trial init`: create a register, store the protocol and commit to the sequence."""
from __future__ import annotations

from ._common import EXIT_OK, add_json_flag, print_json


def add_parser(sub) -> None:
    p = sub.add_parser("init", help="create a trial register and print the sequence commitment",
                       description="Create a trial register (a SQLite file, or a postgresql:// URL) in test or "
                       "production mode: store the protocol and its fingerprint, start the audit chain and print "
                       "the SHA-256 commitment to the allocation sequence, to publish before the first enrollment. "
                       "The key file (pseudonymisation key and allocation secret) is created if missing; keep it "
                       "apart from the register. The key file records the mode; a production register refuses a "
                       "rehearsal key (trial demo, seeded) or a key used for a test register, and a test register "
                       "refuses a production key.")
    p.add_argument("--protocol", required=True, help="protocol TOML file")
    p.add_argument("--register", required=True, help="register: a file path or postgresql://… URL")
    p.add_argument("--key-file", default=None,
                   help="key file (default: <register>.key next to the register; created if missing)")
    p.add_argument("--mode", choices=("test", "production"), default="test",
                   help="register mode (default test); test allocations can never enter a production register")
    add_json_flag(p)
    p.set_defaults(func=run)


def run(args) -> int:
    from pathlib import Path

    from .._keys import check_purpose, create_key_file, default_key_path, load_key_file
    from ..protocol import load
    from ..register import Register

    proto = load(args.protocol)
    key_path = Path(args.key_file) if args.key_file else default_key_path(args.register)
    created = not key_path.exists()
    if not created:  # refuse an unfit key (rehearsal or test key for production, ...) before anything is written
        check_purpose(load_key_file(key_path), args.mode)
    key = create_key_file(key_path) if created else load_key_file(key_path)
    try:
        with Register.create(args.register, proto, key=key, mode=args.mode) as reg:
            info = reg.scheme_info
            out = {"register": str(args.register), "mode": reg.mode, "trial_id": proto.trial.id,
                   "fingerprint": proto.fingerprint, "scheme": info.scheme, "seed": info.seed,
                   "commitment": reg.commitment, "key_file": str(key_path), "key_created": created,
                   "schema_version": reg.schema_version}
    except BaseException:
        if created:  # nothing written half-way: a key made for a register that was not created goes too
            key_path.unlink(missing_ok=True)
        raise
    if args.json:
        print_json(out)
    else:
        print(f"[{out['mode'].upper()} register] {out['register']} initialised for {out['trial_id']}")
        print(f"  protocol fingerprint  {out['fingerprint']}")
        print(f"  scheme                {out['scheme']} (seed {out['seed']})")
        print(f"  commitment            {out['commitment']}")
        print(f"  key file              {out['key_file']}" + ("  (created: keep it apart from the register)"
                                                             if created else ""))
        print("Publish the commitment before the first enrollment.")
    return EXIT_OK
