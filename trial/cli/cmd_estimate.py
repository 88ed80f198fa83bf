"""`trial estimate --data FILE --treatment COL --outcome Y --estimator NAME [...]`."""
from __future__ import annotations

from ._common import EXIT_OK, add_json_flag, print_json

_NAMES = ("difference_in_means, ols_hc0, ols_hc1, ols_hc2, ols_hc3, ancova_hc2, lin_hc2, risk_difference, "
          "risk_ratio, fisher, boschloo, randomization_inference, negbin, poisson_robust, cox, logrank, kaplan_meier")

JSON_KEYS = ("estimator", "outcome", "estimate", "std_error", "statistic", "df", "p_value", "ci_low", "ci_high",
             "n_treatment", "n_control")


def add_parser(sub) -> None:
    p = sub.add_parser(
        "estimate", help="estimate effects on a tidy file (one row per citizen)",
        description="Estimate the effect of assignment on an outcome in any tidy CSV or Excel file with one row "
                    f"per citizen. Estimators: {_NAMES}. With --blocks, difference_in_means is the blocked "
                    "estimator and randomization_inference re-randomizes within blocks. Exit 0 ok, 2 bad input.")
    p.add_argument("--data", required=True, metavar="FILE", help="CSV (comma/semicolon, decimal point/comma) or .xlsx")
    p.add_argument("--treatment", required=True, metavar="COL",
                   help="assignment column: 1/0, True/False, treatment/control, behandling/kontrol or the arm ids "
                   "deltagergruppe/kontrolgruppe (case ignored)")
    p.add_argument("--outcome", required=True, metavar="Y", help="outcome column")
    p.add_argument("--blocks", metavar="COL", help="block/stratum column (blocked estimator)")
    p.add_argument("--covariates", metavar="A,B", help="comma-separated covariate columns (OLS family)")
    p.add_argument("--time", metavar="T", help="time column (cox, logrank, kaplan_meier; default --outcome)")
    p.add_argument("--event", metavar="E", help="0/1 event column (cox, logrank, kaplan_meier)")
    p.add_argument("--exposure", metavar="COL", help="exposure column, e.g. person-years (negbin, poisson_robust)")
    p.add_argument("--estimator", action="append", required=True, metavar="NAME",
                   help="estimator (repeat for several)")
    p.add_argument("--confidence-level", type=float, default=0.95, help="interval level (default 0.95)")
    p.add_argument("--alternative", default="two-sided", choices=("two-sided", "less", "greater"))
    p.add_argument("--n-resamples", type=int, default=10_000, help="re-randomizations (default 10000)")
    p.add_argument("--seed", type=int, default=None, help="seed for randomization inference (default: fresh entropy, printed as the result's seed)")
    add_json_flag(p)
    p.set_defaults(func=run)


def run(args) -> int:
    from ..estimate import ESTIMATORS, estimate
    from ..estimate._io import read_table, resolve_column, treatment_codes, with_file_rows
    from ..exceptions import ParameterError

    bad = [e for e in args.estimator if e not in ESTIMATORS]
    if bad:
        raise ParameterError("--estimator", f"must be one of {', '.join(ESTIMATORS)}; got {bad[0]!r}")
    df = read_table(args.data)
    f = str(args.data)
    cols = dict(
        outcome=resolve_column(df, args.outcome, "--outcome", f),
        treatment=resolve_column(df, args.treatment, "--treatment", f),
        blocks=resolve_column(df, args.blocks, "--blocks", f),
        time=resolve_column(df, args.time, "--time", f),
        event=resolve_column(df, args.event, "--event", f),
        exposure=resolve_column(df, args.exposure, "--exposure", f),
        covariates=[resolve_column(df, c.strip(), "--covariates", f)
                    for c in (args.covariates or "").split(",") if c.strip()],
    )
    for e in args.estimator:
        if e in ("cox", "logrank", "kaplan_meier") and cols["event"] is None:
            raise ParameterError("--event", f"estimator {e} needs an event column (0 censored, 1 event)")
        if e in ("ancova_hc2", "lin_hc2") and not cols["covariates"]:
            raise ParameterError("--covariates", f"estimator {e} needs at least one covariate")
    if args.seed is not None and args.seed < 0:
        raise ParameterError("--seed", f"must be a whole number >= 0; got {args.seed}")
    df = treatment_codes(df, cols["treatment"], f)
    try:
        results = [estimate(df, e, confidence_level=args.confidence_level, alternative=args.alternative,
                            n_resamples=args.n_resamples, rng=args.seed, **cols) for e in args.estimator]
    except ParameterError as exc:
        raise with_file_rows(exc, df, f) from None
    if args.json:
        rows = []
        for r in results:
            d = r.to_dict()
            row = {k: d[k] for k in JSON_KEYS}
            if r.ratio_scale:
                row["coef"] = r.coef
            row.update(method=r.method, note=r.note, confidence_level=r.confidence_level,
                       alternative=r.alternative)
            if r.estimator == "randomization_inference":   # how to reproduce it: the seed (drawn if not given)
                row.update(seed=r.seed, n_resamples=r.n_resamples, exact=r.exact)
            rows.append(row)
        print_json({"data": f, "estimates": rows})
    else:
        print("\n\n".join(r.summary() for r in results))
    return EXIT_OK
