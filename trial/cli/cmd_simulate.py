"""`trial simulate`: write rehearsal exports (referrals, status, events, survey)."""
from __future__ import annotations

from ._common import EXIT_OK, add_json_flag, print_json


def add_parser(sub) -> None:
    p = sub.add_parser(
        "simulate", help="write synthetic municipal exports for a rehearsal",
        description="Simulate a cohort of referrals and write the files a municipality would export: "
                    "referrals.csv, status.csv (weekly status, 156 weeks from referral), events.csv and "
                    "survey.csv (semicolon-separated, decimal comma, UTF-8, dates YYYY-MM-DD, synthetic "
                    "valid-format CPR numbers). Treatment effects default to the protocol's goals. "
                    "The same seed writes byte-identical files.")
    p.add_argument("--protocol", default=None, metavar="P",
                   help="protocol TOML file (default: the shipped BI25 protocol)")
    p.add_argument("--n-referrals", type=int, default=600, metavar="N",
                   help="number of referrals to simulate (default 600; about 1,000 arrive a year)")
    p.add_argument("--seed", type=int, default=2016, metavar="S", help="seed of every random stream (default 2016)")
    p.add_argument("--out", required=True, metavar="DIR", help="folder for the four files (created if needed)")
    p.add_argument("--effect", action="append", default=[], metavar="ENDPOINT=VALUE",
                   help="effect for one endpoint (treatment minus control, on the endpoint's scale); "
                        "repeat for several; others keep the protocol goal (or 0 with --null)")
    p.add_argument("--null", action="store_true", help="no treatment effect on any endpoint (the null)")
    p.add_argument("--register", default=None, metavar="R",
                   help="after `trial enroll` of the simulated referrals.csv: re-simulate the outcome files "
                        "under this register's allocation (same --seed and --n-referrals), so the effects "
                        "land on the citizens the register treated; the protocol is the register's")
    p.add_argument("--key-file", default=None, metavar="K",
                   help="with --register: its key file (default: <register>.key, as trial init made it)")
    add_json_flag(p)
    p.set_defaults(func=run)


def _effects(protocol, args):
    from ..exceptions import ParameterError
    from ..simulate import resolve_effects

    base = {} if args.null else resolve_effects(protocol, None)
    for item in args.effect:
        name, sep, value = item.partition("=")
        try:
            if not sep:
                raise ValueError
            base[name.strip()] = float(value.strip().replace(",", "."))
        except ValueError:
            raise ParameterError("--effect", f"must be written ENDPOINT=NUMBER, e.g. extension=-0.15; got {item!r}") \
                from None
    if not args.effect and not args.null:
        return None
    return base


def _register_arms(args, protocol):
    """(protocol, arms) from --register: the register's protocol and allocation of the simulated cohort."""
    from .._keys import default_key_path, load_key_file
    from ..exceptions import ParameterError
    from ..register import Register
    from ..simulate import register_arms, simulate_referrals

    with Register.open(args.register) as reg:
        if protocol is not None and protocol.fingerprint != reg.protocol.fingerprint:
            raise ParameterError("--protocol", f"differs from the protocol of register {args.register} "
                                               f"(fingerprint {reg.protocol.fingerprint[:12]}…); leave it out")
        protocol = reg.protocol
        key = load_key_file(args.key_file or default_key_path(args.register))
        referrals = simulate_referrals(protocol, args.n_referrals, seed=args.seed)
        return protocol, register_arms(reg, key, referrals)


def run(args) -> int:
    from ..protocol import load
    from ..simulate import rehearse

    if args.register is not None:
        protocol, arms = _register_arms(args, load(args.protocol) if args.protocol else None)
    else:
        protocol, arms = load(args.protocol), None
    if args.key_file is not None and args.register is None:
        from ..exceptions import ParameterError

        raise ParameterError("--key-file", "is used only with --register")
    result = rehearse(protocol, args.n_referrals, args.out, seed=args.seed, effects=_effects(protocol, args),
                      arms=arms)
    if args.json:
        print_json({"files": {k: str(v) for k, v in result.paths.items()}, "rows": dict(result.rows),
                    "seed": result.settings.seed, "allocation": result.settings.allocation,
                    "n_treatment": result.n_treatment, "n_control": result.n_control})
    else:
        print(result.summary())
    return EXIT_OK
