"""`trial protocol check|show FILE`."""
from __future__ import annotations

from ._common import EXIT_BAD_INPUT, EXIT_OK, add_json_flag, print_json


def add_parser(sub) -> None:
    p = sub.add_parser("protocol", help="check or show a pre-registered protocol",
                       description="Validate a protocol file or show it with its fingerprint.")
    psub = p.add_subparsers(dest="protocol_command", metavar="ACTION")
    p.set_defaults(_parser=p)
    c = psub.add_parser("check", help="validate a protocol (exit 0 valid, 2 invalid)",
                        description="Validate a protocol file. Exit 0 when valid, 2 when not, naming the key.")
    c.add_argument("file", help="protocol TOML file")
    add_json_flag(c)
    c.set_defaults(func=run_check)
    s = psub.add_parser("show", help="show a protocol and its SHA-256 fingerprint",
                        description="Print the validated protocol and its fingerprint.")
    s.add_argument("file", help="protocol TOML file")
    add_json_flag(s)
    s.set_defaults(func=run_show)


def run_check(args) -> int:
    from ..exceptions import ProtocolError
    from ..protocol import load

    try:
        proto = load(args.file)
    except ProtocolError as exc:
        if args.json:
            print_json({"valid": False, "file": args.file, "key": exc.key, "message": exc.message})
        else:
            print(f"INVALID {exc}")
        return EXIT_BAD_INPUT
    if args.json:
        print_json({"valid": True, "file": args.file, "trial_id": proto.trial.id,
                    "fingerprint": proto.fingerprint})
    else:
        print(f"OK {args.file}: protocol {proto.trial.id}, fingerprint {proto.fingerprint}")
    return EXIT_OK


def run_show(args) -> int:
    from ..protocol import load

    proto = load(args.file)
    if args.json:
        print_json(proto.to_dict())
    else:
        print(proto.summary())
    return EXIT_OK
