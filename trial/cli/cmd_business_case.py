"""`trial business-case CASE.toml | --effects FILE.json | --register R [--as-of DATE]`."""
from __future__ import annotations

import math
import re

from ._common import EXIT_CHECK_FAILED, EXIT_OK, add_json_flag, print_json


def add_parser(sub) -> None:
    p = sub.add_parser(
        "business-case", help="compute a business case, or feed it with the trial's effects",
        description="Compute a municipal business case file (1.000 kr. at a fixed price level: totals per year, "
        "styringsområde, administration and committee, payback on service and on the total economy, NPV, "
        "consistency warnings), or feed the protocol's case with the trial's estimated effects "
        "(--effects FILE.json or --register R) and their uncertainty: distribution of the net result, "
        "P(payback within N years), break-even effects and sensitivity.")
    p.add_argument("case", nargs="?", default=None,
                   help="case file (TOML in the format of bi25.toml); with --effects/--register default "
                   "the protocol's case")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--register", metavar="R", help="trial register (path or URL): estimate the effects with "
                     "`trial analyze` and feed the case")
    src.add_argument("--effects", metavar="FILE", help="JSON file: {endpoint: {estimate, std_error, "
                     "[ci_low, ci_high, measured]}}")
    p.add_argument("--as-of", default=None, metavar="DATE",
                   help="with --register: the effects as of this date, YYYY-MM-DD (the uploads with a data date "
                   "on or before it, as `trial analyze --as-of`; default: the newest upload)")
    p.add_argument("--protocol", default=None, help="protocol file (default: the shipped BI25 protocol); with "
                   "--register the register's own protocol is used and --protocol, if given, must be the same "
                   "protocol (same fingerprint), else exit 2")
    p.add_argument("--draws", type=int, default=2000, help="draws of the effects (default 2000)")
    p.add_argument("--seed", type=int, default=None, help="seed of the draws (default: the protocol's allocation "
                   "seed, as the quarterly report uses; reported)")
    p.add_argument("--horizon", type=int, default=10, help="years of the net-result distribution and NPV "
                   "(default 10)")
    p.add_argument("--payback-within", type=int, default=10, help="N in P(payback within N years) (default 10)")
    p.add_argument("--discount-rate", type=float, default=None,
                   help="discount rate for the NPV (default the case's; 0.04 for 2013-2020 price levels)")
    p.add_argument("--withhold", action="append", default=[], metavar="ENDPOINT",
                   help="with --register or --effects: leave this endpoint's measured effect out, so its line "
                        "keeps the case's assumed effect (repeat for several); the quarterly report does this for "
                        "an effect that disclosure control hides, and lists them as business_case.withheld")
    p.add_argument("--variant", action="append", default=[], metavar="NAME",
                   help="count a variant of the case (repeat for several): its lines replace the lines or "
                        "components they name, so no money is counted twice. BI25: 'helaarspersoner' prices the "
                        "saved forsørgelse from the measured Δ helårspersoner of the weekly panel (with --register) "
                        "instead of per citizen moved into a job; 'indlaeggelsesdage' prices psychiatry per "
                        "admission day (give the price with --unit-cost) instead of per citizen in contact")
    p.add_argument("--unit-cost", action="append", default=[], metavar="LINE[:COMPONENT]=AMOUNT",
                   help="set a driver line's unit amount (the case's unit, e.g. 1.000 kr., per unit of effect per "
                        "year; decimal comma or point), marked antaget; COMPONENT (its label or area) is needed "
                        "when the line has more than one. Repeat for several")
    p.add_argument("--strict", action="store_true", help="exit 1 when a consistency warning is raised")
    add_json_flag(p)
    p.set_defaults(func=run, _parser=p)


def _load_effects(path: str) -> dict:
    import json

    from ..exceptions import BusinessCaseError

    try:
        with open(path, encoding="utf-8-sig") as fh:
            data = json.load(fh)
    except OSError as exc:
        raise BusinessCaseError("<file>", f"cannot be read: {exc.strerror}", file=path) from None
    except json.JSONDecodeError as exc:
        raise BusinessCaseError("<file>", f"is not valid JSON: {exc}", file=path) from None
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise BusinessCaseError("<file>", "must be a JSON object {endpoint: {\"estimate\": ..., "
                                "\"std_error\": ...}}", file=path)
    for ep, v in data.items():
        if "estimate" not in v:
            raise BusinessCaseError(f"{ep}.estimate", "is required", file=path)
    return data


def _with_variants(case, names):
    """``case.with_variants(names)`` with the flag named in the error."""
    from ..exceptions import BusinessCaseError

    try:
        return case.with_variants(names)
    except BusinessCaseError as exc:
        if exc.key == "variant":
            raise BusinessCaseError("--variant", exc.message, file=exc.file) from None
        raise


def _unit_costs_da(unit_costs: dict) -> str:
    from .._format import fmt_number

    return "Enhedsbeløb indtastet af brugeren (antaget): " + "; ".join(
        f"{ln}, {comp} = {fmt_number(v, 2)}" for ln, over in unit_costs.items() for comp, v in over.items()) + "."


def _parse_unit_costs(items, case) -> dict | None:
    """``--unit-cost LINE[:COMPONENT]=AMOUNT`` values as ``{line: {component: amount}}`` for ``case``."""
    from ..exceptions import BusinessCaseError

    if not items:
        return None
    lines = {d.line: d for d in case.drivers}
    out: dict = {}
    for item in items:
        key, sep, amount = item.rpartition("=")
        if not sep or not key.strip():
            raise BusinessCaseError("--unit-cost", f"must be LINE=AMOUNT or LINE:COMPONENT=AMOUNT; got {item!r}")
        key = key.strip()
        if key in lines:
            line, comp = key, None
        else:
            line, _, comp = key.rpartition(":")
            line, comp = line.strip(), comp.strip()
        if line not in lines:
            var = next((d.variant for d in case.variant_drivers if d.line in (key, line)), None)
            if var is not None:
                raise BusinessCaseError("--unit-cost", f"names line {key!r}, which belongs to variant {var!r}: add "
                                        f"--variant {var} to count it")
            raise BusinessCaseError("--unit-cost", f"names no driver line of the case (with the chosen variants): "
                                    f"{key!r}; lines are {sorted(lines)}")
        d = lines[line]
        if comp is None:
            if len(d.components) != 1:
                raise BusinessCaseError("--unit-cost", f"line {line!r} has {len(d.components)} components, so name "
                                        f"one: LINE:COMPONENT=AMOUNT with COMPONENT one of "
                                        f"{[c.label or c.area for c in d.components]}")
            comp = d.components[0].label or d.components[0].area
        value = _parse_amount(amount, item)
        if comp in out.get(line, {}):
            raise BusinessCaseError("--unit-cost", f"gives {line}:{comp} twice; give each unit amount once")
        out.setdefault(line, {})[comp] = value
    return out


_THOUSANDS = re.compile(r"[+-]?\d{1,3}(\.\d{3})+")


def _parse_amount(amount: str, item: str) -> float:
    """An amount as a Danish or plain number: 2,5 / 2.5 / 1.234,5 / 1.234.567; refuses 1.234 and 2,500
    (a thousands separator or three decimals?) and 1,234.5 (English thousands separators)."""
    from ..exceptions import BusinessCaseError

    t = amount.strip().replace(" ", "").replace("\u00a0", "")
    bad = BusinessCaseError("--unit-cost", f"amount must be a number (decimal comma or point, Danish thousands "
                                           f"points allowed: 1.234,5); got {amount!r} in {item!r}")
    if "," in t and "." in t:
        head, _, tail = t.rpartition(",")
        if "." in tail or not _THOUSANDS.fullmatch(head):
            raise bad
        t = head.replace(".", "") + "." + tail
    elif t.count(",") == 1 or t.count(".") == 1:
        if re.fullmatch(r"[+-]?[1-9]\d{0,2}[.,]\d{3}", t):
            whole = t.replace(",", "").replace(".", "")
            dec = t.replace(".", ",") + "0"
            raise BusinessCaseError("--unit-cost", f"amount {amount!r} is ambiguous: a thousands separator or "
                                    f"three decimals? Write {whole} for the whole number or {dec} for the decimals")
        t = t.replace(",", ".")
    elif t.count(".") > 1:
        if not _THOUSANDS.fullmatch(t):
            raise bad
        t = t.replace(".", "")
    try:
        value = float(t)
    except ValueError:
        raise bad from None
    if not math.isfinite(value):
        raise BusinessCaseError("--unit-cost", f"amount must be a finite number; got {amount!r}")
    return value


def _effects_from_register(register: str, protocol_path, as_of=None, *, prepare) -> tuple[dict, dict, object, tuple]:
    """Effects from `trial analyze` on the register, the analysis' date (``as_of``, ``descriptive``), the
    register's own protocol and ``prepare(protocol)`` (the case and unit costs, checked before the analysis
    runs). ``--protocol`` is accepted only when it is that protocol (same fingerprint)."""
    import importlib

    from ..business_case import effects_from_analysis
    from ..exceptions import BusinessCaseError

    try:
        analysis = importlib.import_module("trial.analysis")
    except ModuleNotFoundError:
        raise BusinessCaseError("--register", "needs `trial analyze` (module trial.analysis), which this "
                                "installation does not have; give the effects as JSON with --effects FILE "
                                "instead") from None
    from ..protocol import load as load_protocol
    from ..register import Register

    given = load_protocol(protocol_path) if protocol_path else None
    with Register.open(register, migrate=False) as reg:
        protocol = reg.protocol
        if given is not None and given.fingerprint != protocol.fingerprint:
            raise BusinessCaseError(
                "--protocol", f"is not the register's protocol: {protocol_path} has fingerprint "
                f"{given.fingerprint[:12]}… (trial {given.trial.id!r}), the register's protocol "
                f"{protocol.fingerprint[:12]}… (trial {protocol.trial.id!r}); with --register the effects come "
                f"from the register's own protocol, so leave --protocol out or give that protocol's file")
        prepared = prepare(protocol)            # bad --variant/--unit-cost stop here, before the analysis
        chosen = prepared[1]
        result = analysis.analyze(reg, as_of=as_of)
        mode = reg.mode
        # measured helårspersoner per benefit, beside the case (its driver lines count the same money)
        from ..business_case import benefit_years_from_register

        # the panel is read once for both uses below (an analysis module without it: no table, no variant data)
        read = getattr(analysis, "register_frames", None)
        frames = read(reg, as_of) if read is not None else None
        years = benefit_years_from_register(reg, frames=frames) if frames is not None else None
        effects = effects_from_analysis(result, protocol)
        notes = []
        if chosen.variants and frames is not None:
            # a variant line that prices the measured helårspersoner: measure them on this register's panel
            from ..business_case import add_benefit_years

            effects, notes = add_benefit_years(effects, frames, chosen)
    when = getattr(result, "as_of", None)
    meta = {"as_of": when.isoformat() if hasattr(when, "isoformat") else when,
            "descriptive": getattr(result, "descriptive", None), "mode": mode,
            **({"benefit_years": years.to_dict("records")} if years is not None else {}),
            "_notes": notes}
    return effects, meta, protocol, prepared


def _benefit_years_text(rows, priced=None) -> str:
    """The measured Δ helårspersoner per benefit as Danish text lines (beside the case; ``priced``: the
    variant line that prices some of them, which the heading then names)."""
    from .._format import fmt_number

    head = ("Helårspersoner pr. ydelse fra ugepanelet (målt over hele opfølgningen; vises ved siden af casen, "
            "indgår ikke i den):")
    if priced is not None:
        w = f" i opfølgningsuge {priced.weeks[0]}-{priced.weeks[1]}" if priced.weeks else ""
        head = (f"Helårspersoner pr. ydelse fra ugepanelet, målt over hele opfølgningen (også fleksjob); vises ved "
                f"siden af casen. Casens linje '{priced.line}' prissætter i stedet forskellen i helårspersoner på "
                f"{', '.join(priced.benefits)}{w} (effekten benefit_years ovenfor):")
    out = [head,
           f"  {'ydelse':<26} {'deltager':>9} {'kontrol':>9} {'forskel':>9}  95 %-interval         pr. 100 pr. år"]
    def n(x, d=3):
        return "–" if x is None or x != x else fmt_number(x, d)

    for r in rows:
        out.append(f"  {r['benefit']:<26} {n(r['mean_treatment']):>9} {n(r['mean_control']):>9} "
                   f"{n(r['difference']):>9}  [{n(r['ci_low'])}; {n(r['ci_high'])}]{'':<4} "
                   f"{n(r['per_citizens_per_year'], 1):>8}")
    return "\n".join(out)


def run(args) -> int:
    from ..business_case import compute_case, default_seed, effect_fed_case, load_case
    from ..exceptions import BusinessCaseError
    from ..protocol import load as load_protocol

    if args.as_of is not None and not args.register:
        raise BusinessCaseError("--as-of", f"dates the effects estimated from a register, so it needs "
                                f"--register R; got --as-of {args.as_of} without it")
    if args.case is None and not (args.effects or args.register):
        args._parser.error("give a CASE file, --effects FILE or --register R")
    if args.as_of is not None:
        import datetime as _dt

        try:
            _dt.date.fromisoformat(args.as_of)
        except ValueError:
            raise BusinessCaseError("--as-of", f"must be a date written YYYY-MM-DD; got {args.as_of!r}") from None
    if args.discount_rate is not None and not 0 <= args.discount_rate <= 0.5:
        raise BusinessCaseError("--discount-rate", f"must be from 0 to 0.5 (0.04 = 4 %); got {args.discount_rate}")
    if args.withhold and not (args.effects or args.register):
        raise BusinessCaseError("--withhold", "leaves a measured effect out, so it needs --register R or "
                                              "--effects FILE")
    if not (args.effects or args.register):
        from ..business_case._effect import _apply_unit_costs

        case = load_case(args.case)
        if args.variant:
            case = _with_variants(case, args.variant)
        unit_costs = _parse_unit_costs(args.unit_cost, case)
        case = _apply_unit_costs(case, unit_costs)
        if args.discount_rate is not None:
            import dataclasses

            case = dataclasses.replace(case, discount_rate=args.discount_rate)
        res = compute_case(case)
        if args.json:
            print_json({**res.to_dict(), **({"unit_costs": unit_costs} if unit_costs else {})})
        else:
            print(res.summary())
            if unit_costs:
                print("Bemærk: " + _unit_costs_da(unit_costs))
        return EXIT_CHECK_FAILED if (args.strict and res.warnings) else EXIT_OK

    from ..business_case import default_case_path

    def prepare(protocol):
        """The case (discount rate applied), the case with the chosen variants, and the parsed unit costs."""
        case = load_case(args.case) if args.case else load_case(default_case_path(protocol))
        if args.discount_rate is not None:
            import dataclasses

            case = dataclasses.replace(case, discount_rate=args.discount_rate)
        chosen = _with_variants(case, args.variant) if args.variant else case
        return case, chosen, _parse_unit_costs(args.unit_cost, chosen)

    meta = {}
    if args.effects:
        protocol = load_protocol(args.protocol)
        case, _chosen, unit_costs = prepare(protocol)
        effects = _load_effects(args.effects)
    else:
        effects, meta, protocol, (case, _chosen, unit_costs) = _effects_from_register(
            args.register, args.protocol, args.as_of, prepare=prepare)
    extra_notes = meta.pop("_notes", [])
    if args.withhold:
        from ..business_case import withhold_effects

        ids = [e.id for e in protocol.endpoints] + [k for k in effects if k not in {e.id for e in protocol.endpoints}]
        for ep in args.withhold:
            if ep not in ids:
                raise BusinessCaseError("--withhold", f"must be an endpoint id of the protocol or an effect given "
                                                      f"({', '.join(ids)}); got {ep!r}")
        effects = withhold_effects(effects, args.withhold)
        meta = {**meta, "withheld": sorted(set(args.withhold))}
    # one documented default for the draws: the protocol's allocation seed (as the quarterly report and the demo)
    seed = args.seed if args.seed is not None else default_seed(protocol)
    try:
        res = effect_fed_case(effects, case=case, protocol=protocol, n_draws=args.draws, rng=seed,
                              horizon_years=args.horizon, payback_within=args.payback_within,
                              variants=args.variant, unit_costs=unit_costs, extra_notes=extra_notes)
    except BusinessCaseError as exc:
        if exc.key == "variant":
            raise BusinessCaseError("--variant", exc.message, file=exc.file) from None
        if args.effects and exc.file is None and exc.key.startswith("effects["):
            raise BusinessCaseError(exc.key, exc.message, file=args.effects) from None
        raise
    if unit_costs:
        meta = {**meta, "unit_costs": unit_costs}
    if args.json:
        print_json({**res.to_dict(), **meta})
    else:
        if meta.get("as_of"):
            tag = f"[{meta['mode'].upper()} register] " if meta.get("mode") else ""
            print(f"{tag}Effekter fra analysen pr. {meta['as_of']}"
                  + (" (deskriptiv: før analysedatoen)" if meta.get("descriptive") else ""))
        print(res.summary())
        if meta.get("benefit_years"):
            priced = next((d for d in res.case.drivers if (d.endpoint or "").startswith("benefit_years")), None)
            print(_benefit_years_text(meta["benefit_years"], priced))
        print()
        print(res.sensitivity.summary())
        print(f"(seed {seed})")
    return EXIT_CHECK_FAILED if (args.strict and res.base.warnings) else EXIT_OK
