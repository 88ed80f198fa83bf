"""`trial power`: power, minimum detectable effect and control size for two proportions or a protocol."""
from __future__ import annotations

from ._common import EXIT_OK, add_json_flag, print_json

_CONTRACT_KEYS = ("normal_unpooled", "normal_pooled", "arcsine", "exact_hc2", "fisher", "boschloo")


def add_parser(sub) -> None:
    p = sub.add_parser(
        "power", help="power, MDE and control size (two proportions, or every endpoint of a protocol)",
        description="Two proportions: give --p-control, --n-treatment, --n-control and either --p-treatment "
                    "(prints the power under every method, exact ones by enumeration) or --power (prints the "
                    "minimum detectable effect, exact HC2 test first). Leave out --n-control and give both "
                    "--p-treatment and --power to solve for the smallest control size (exact HC2 test, exact "
                    "pooled z and the normal approximations; --method fisher/boschloo on request, slow). "
                    "With --protocol: per endpoint the "
                    "assumed control value, the BI25 goal, the power at the goal and the MDE at 80 % power "
                    "(--power), "
                    "for 1:1 and for the protocol's control size (or each --control-size).")
    p.add_argument("--protocol", metavar="FILE", help="protocol TOML file: power table of its endpoints")
    p.add_argument("--control-size", type=int, nargs="+", metavar="N",
                   help="control-group sizes for --protocol (default: capacity and the protocol's size)")
    p.add_argument("--assume", action="append", default=[], metavar="ENDPOINT.KEY=VALUE",
                   help="assumption for --protocol, e.g. benefit_weeks.sd=30 or psych_admission_days.dispersion=2 "
                        "(overrides the sd / dispersion the protocol states)")
    p.add_argument("--endpoints", choices=("all", "primary"), default="all", help="endpoints for --protocol (default: all)")
    p.add_argument("--compare", action="append", metavar="METHOD",
                   help="exact tests shown next to the primary one for --protocol (repeatable; default fisher and "
                        "boschloo, whose size is at most alpha by construction)")
    p.add_argument("--no-compare", action="store_true",
                   help="with --protocol: show no alternative tests (Boschloo takes ~2 s at 100:900)")
    p.add_argument("--p-control", type=float, help="share in the kontrolgruppe")
    p.add_argument("--p-treatment", type=float, help="share in the deltagergruppe (omit with --power: MDE)")
    p.add_argument("--n-treatment", type=int, help="deltagergruppe size")
    p.add_argument("--n-control", type=int, help="kontrolgruppe size (omit with --p-treatment and --power: "
                                                 "solved for)")
    p.add_argument("--n-control-max", type=int, default=5000,
                   help="largest control size considered when solving for the control size (default: 5000)")
    p.add_argument("--power", type=float, help="target power: solve for the minimum detectable effect "
                                               "(or, with --protocol, the MDE's power; default 0.8)")
    p.add_argument("--alpha", type=float, default=0.05, help="test size (default: 0.05)")
    p.add_argument("--alternative", choices=("two-sided", "less", "greater"), default="two-sided",
                   help="'greater': treatment share above control share (default: two-sided)")
    p.add_argument("--direction", choices=("increase", "decrease"), help="side searched for the MDE")
    p.add_argument("--method", action="append", metavar="METHOD",
                   help="methods to report (repeatable; default all: normal_unpooled, normal_pooled, "
                        "normal_pooled_cc, arcsine, exact_hc2, exact_pooled_z, fisher, boschloo)")
    add_json_flag(p)
    p.set_defaults(func=run)


def _assumptions(items):
    from ..exceptions import ParameterError

    out: dict = {}
    for item in items:
        try:
            key, value = item.split("=", 1)
            endpoint, name = key.rsplit(".", 1)
            out.setdefault(endpoint, {})[name] = float(value)
        except ValueError:
            raise ParameterError("--assume", f"must look like ENDPOINT.sd=NUMBER or ENDPOINT.dispersion=NUMBER; "
                                             f"got {item!r}") from None
        if name not in ("sd", "dispersion"):
            raise ParameterError("--assume", f"key must be 'sd' or 'dispersion'; got {name!r} in {item!r}")
    return out


def run(args) -> int:
    from ..exceptions import ParameterError

    if args.protocol:
        return _run_protocol(args)
    missing = [f for f, v in (("--p-control", args.p_control), ("--n-treatment", args.n_treatment)) if v is None]
    if missing:
        raise ParameterError(missing[0], "is required (or give --protocol FILE)")
    if args.n_control is None:
        if args.p_treatment is None or args.power is None:
            raise ParameterError("--n-control", "is required, unless both --p-treatment and --power are given "
                                                "(then the smallest control size is solved for)")
        return _run_n_control(args)
    if (args.p_treatment is None) == (args.power is None):
        raise ParameterError("--p-treatment/--power", "give exactly one: --p-treatment for the power, "
                                                      "--power for the minimum detectable effect")
    from ..power import BINARY_METHODS, compare_methods

    methods = tuple(args.method) if args.method else ("exact_hc2",) + tuple(m for m in BINARY_METHODS
                                                                           if m != "exact_hc2")
    for m in methods:
        if m not in BINARY_METHODS:
            raise ParameterError("--method", f"must be one of {', '.join(BINARY_METHODS)}; got {m!r}")
    res = compare_methods(p_control=args.p_control, p_treatment=args.p_treatment, n_control=args.n_control,
                          n_treatment=args.n_treatment, power=args.power, alpha=args.alpha,
                          alternative=args.alternative, methods=methods, direction=args.direction)
    if args.json:
        design = {"p_control": args.p_control, "n_treatment": args.n_treatment, "n_control": args.n_control,
                  "alpha": args.alpha, "alternative": args.alternative}
        if args.p_treatment is not None:
            from ..power import EXACT_METHODS, exact_coverage, exact_size

            size = {m: exact_size(m, args.p_control, args.n_control, args.n_treatment, alpha=args.alpha,
                                  alternative=args.alternative) for m in methods if m in EXACT_METHODS}
            coverage = {"exact_hc2": exact_coverage(p_control=args.p_control, p_treatment=args.p_treatment,
                                                    n_control=args.n_control, n_treatment=args.n_treatment,
                                                    confidence_level=1 - args.alpha)}
            print_json({"power": res.power, "design": {**design, "p_treatment": args.p_treatment},
                        "notes": {r.method: r.note for r in res.results if r.note},
                        "size": size, "coverage": coverage})
        else:
            first = res.results[0]
            print_json({"mde": {"p_treatment": first.treatment_value, "difference": first.difference,
                                "method": first.method, "power": first.power},
                        "approximations": {r.method: {"p_treatment": r.treatment_value, "difference": r.difference}
                                           for r in res.results[1:]},
                        "design": {**design, "target_power": args.power},
                        "notes": {r.method: r.note for r in res.results if r.note}})
    else:
        print(res.summary())
    return EXIT_OK


#: Methods solved for the control size by default: the protocol's test, the pooled z test and the normal
#: approximations (Fisher's and Boschloo's scans take seconds to a minute: --method on request).
N_CONTROL_METHODS = ("exact_hc2", "normal_unpooled", "normal_pooled", "normal_pooled_cc", "arcsine",
                     "exact_pooled_z")


def _run_n_control(args) -> int:
    from ..exceptions import ParameterError
    from ..power import BINARY_METHODS, compare_methods

    methods = tuple(args.method) if args.method else N_CONTROL_METHODS
    for m in methods:
        if m not in BINARY_METHODS:
            raise ParameterError("--method", f"must be one of {', '.join(BINARY_METHODS)}; got {m!r}")
    if args.n_control_max < 2:
        raise ParameterError("--n-control-max", f"must be a whole number of at least 2; got {args.n_control_max}")
    res = compare_methods(p_control=args.p_control, p_treatment=args.p_treatment, n_control=None,
                          n_treatment=args.n_treatment, power=args.power, alpha=args.alpha,
                          alternative=args.alternative, methods=methods, n_control_max=args.n_control_max)
    if args.json:
        print_json({"n_control": {r.method: r.n_control for r in res.results},
                    "power": {r.method: (r.power if r.n_control is not None else None) for r in res.results},
                    "design": {"p_control": args.p_control, "p_treatment": args.p_treatment,
                               "n_treatment": args.n_treatment, "alpha": args.alpha, "alternative": args.alternative,
                               "target_power": args.power, "n_control_max": args.n_control_max},
                    "notes": {r.method: r.note for r in res.results if r.note}})
    else:
        print(res.summary())
    return EXIT_OK


def _run_protocol(args) -> int:
    from ..power import protocol_power
    from ..protocol import load

    proto = load(args.protocol)
    compare = () if args.no_compare else tuple(args.compare or ("fisher", "boschloo"))
    res = protocol_power(proto, control_sizes=args.control_size, power=args.power or 0.8,
                         assumptions=_assumptions(args.assume), endpoints=args.endpoints, compare=compare)
    if args.json:
        print_json(res.to_dict())
    else:
        print(res.summary())
    return EXIT_OK
