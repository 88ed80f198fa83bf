"""`trial diagnose`: simulate the protocol's pre-specified analysis and report its operating characteristics."""
from __future__ import annotations

from ._common import EXIT_OK, add_json_flag, print_json


def add_parser(sub) -> None:
    p = sub.add_parser(
        "diagnose", help="design diagnosis: power, bias, RMSE, coverage by simulation",
        description="Simulate the protocol's whole pre-specified analysis (referrals in order, stratified "
                    "permuted-block allocation closing when the deltagergruppe is full, every endpoint: binary, "
                    "count, continuous and time to event; HC2 difference in means, Lin's covariate-adjusted "
                    "estimator, the log-rank test for time to event, the multiplicity rule) under the BI25 "
                    "goals, and report per endpoint power, bias, rmse, coverage and type-S rate, each with its "
                    "Monte Carlo standard error, and the family-wise error rate under the global null. "
                    "SDs and dispersions come from the protocol's endpoints (sd, dispersion), else documented "
                    "defaults; --assume overrides both.")
    p.add_argument("--protocol", metavar="FILE", help="protocol TOML file (default: the shipped BI25 protocol)")
    p.add_argument("--sims", type=int, default=1000, help="simulated trials (default 1000)")
    p.add_argument("--seed", type=int, default=None, help="seed (default: fresh entropy, printed)")
    p.add_argument("--control-size", type=int, help="control-group size (default: the protocol's)")
    p.add_argument("--effect", action="append", default=[], metavar="ENDPOINT=DIFF",
                   help="true effect of an endpoint in its unit (default its BI25 goal); repeatable")
    p.add_argument("--null", action="store_true", help="simulate under the global null (all effects 0)")
    p.add_argument("--multiplicity", choices=("fixed_sequence", "holm", "bonferroni", "none"),
                   help="override the protocol's multiplicity rule")
    p.add_argument("--endpoints", choices=("all", "confirmatory"), default="all",
                   help="endpoints simulated (the confirmatory family always first)")
    p.add_argument("--assume", action="append", default=[], metavar="ENDPOINT.KEY=VALUE",
                   help="assumption, e.g. benefit_weeks.sd=30 or psych_admission_days.dispersion=2 "
                        "(overrides the protocol; defaults in docs/power.md)")
    p.add_argument("--jobs", type=int, default=1, help="worker processes (results do not depend on it)")
    p.add_argument("--no-progress", action="store_true", help="never show a progress bar")
    add_json_flag(p)
    p.set_defaults(func=run)


def run(args) -> int:
    from ..diagnose import diagnose
    from .cmd_power import _assumptions
    from ..exceptions import ParameterError
    from ..protocol import load

    proto = load(args.protocol)
    effects = "null" if args.null else "goal"
    if args.effect:
        if args.null:
            raise ParameterError("--effect", "cannot be combined with --null")
        effects = {}
        for item in args.effect:
            try:
                k, v = item.split("=", 1)
                effects[k] = float(v)
            except ValueError:
                raise ParameterError("--effect", f"must look like ENDPOINT=NUMBER; got {item!r}") from None
    if args.seed is not None and args.seed < 0:
        raise ParameterError("--seed", f"must be a whole number >= 0; got {args.seed}")
    res = diagnose(proto, n_sims=args.sims, rng=args.seed, effects=effects, n_control=args.control_size,
                   multiplicity=args.multiplicity, n_jobs=args.jobs, progress=False if args.no_progress else None,
                   endpoints=args.endpoints, assumptions=_assumptions(args.assume))
    if args.json:
        d = res.to_dict()
        print_json({"trial_id": d["trial_id"], "fingerprint": d["fingerprint"], "n_sims": d["n_sims"],
                    "seed": d["seed"], "n_treatment": d["n_treatment"], "n_control": d["n_control"],
                    "multiplicity": d["multiplicity"], "alpha": d["alpha"], "effects": d["effects"],
                    "endpoints": d["rows"], "fwer": d["fwer"], "fwer_mc_se": d["fwer_mc_se"],
                    "fwer_by_estimator": d["fwer_by_estimator"], "notes": list(d["notes"]),
                    "scheme": d["scheme"], "when_full": d["when_full"], "mean_n_treatment": d["mean_n_treatment"],
                    "mean_n_control": d["mean_n_control"], "min_n_control": d["min_n_control"],
                    "max_n_control": d["max_n_control"], "assumptions": d["assumptions"]})
    else:
        print(res.summary())
    return EXIT_OK
