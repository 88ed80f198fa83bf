"""Demo step: the business case fed by the trial's effects (or by the goals, marked assumed)."""
TITLE = "Business case (effektbaseret)"


def run(ctx) -> None:
    import json

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .._format import fmt_number, fmt_pct
    from ..business_case import (default_seed, effect_fed_case, effects_from_analysis, plot_cumulative_net,
                                 plot_tornado, plot_waterfall)
    from ..business_case._effect import goal_effects

    p = ctx.protocol
    analysis = getattr(ctx, "analysis", None)
    effects = None
    if analysis is not None:
        try:
            # the AnalysisResult itself (not only its table): the measured effects are then drawn jointly,
            # with their estimated covariance, as `trial business-case --register` and the report draw them
            effects = effects_from_analysis(analysis, p)
            source = "estimater fra analysen (målt)"
        except Exception as exc:  # the analysis step's format is not the tidy table
            ctx.echo(f"(analysens resultat kunne ikke bruges: {exc}; bruger protokollens mål)")
    if effects is None:
        effects = goal_effects(p)
        source = "protokollens mål med antagne standardfejl (antaget)"
    # the documented default seed of the draws (the protocol's allocation seed): the report and
    # `trial business-case --register` use it too, so business_case.json and the report agree
    seed = default_seed(p)
    res = effect_fed_case(effects, protocol=p, n_draws=2000, rng=seed)
    ctx.echo(f"Effekter: {source}")
    ctx.echo(res.base.summary())
    ctx.echo(f"Sandsynlighed for tilbagebetaling (totaløkonomi) inden for {res.payback_within} år: "
             f"{fmt_pct(res.p_payback, 0)} ({fmt_number(res.n_draws, 0)} træk, seed {seed})")
    if res.break_even_scale != float("inf"):
        ctx.echo(f"Break-even: effekterne skal være {fmt_number(res.break_even_scale, 2)} gange de anvendte")
    be = res.break_even.set_index("endpoint")
    if "ordinary_employment" in be.index:
        ctx.echo("Break-even-effekt, ordinær beskæftigelse: "
                 f"{fmt_number(100 * be.loc['ordinary_employment', 'break_even_effect'], 1)} procentpoint "
                 f"(anvendt {fmt_number(100 * be.loc['ordinary_employment', 'estimate'], 1)})")
    (ctx.out / "business_case.json").write_text(json.dumps(_clean(res.to_dict()), ensure_ascii=False, indent=2))
    for name, fig in (("business_case_cumulative.png", plot_cumulative_net(res)),
                      ("business_case_waterfall.png", plot_waterfall(res.base)),
                      ("business_case_tornado.png", plot_tornado(res.sensitivity))):
        fig.savefig(ctx.out / name, dpi=110)
        plt.close(fig)
    ctx.business_case = res
    _helaarspersoner_variant(ctx, effects, seed)


def _helaarspersoner_variant(ctx, effects, seed) -> None:
    """The same case with the saved forsørgelse priced from the measured Δ helårspersoner (variant
    ``helaarspersoner``, replacing the per-citizen amounts): `trial business-case --register R --variant
    helaarspersoner`."""
    import json

    from .._format import fmt_number, fmt_pct
    from ..business_case import add_benefit_years, default_case_path, effect_fed_case, load_case
    from ..business_case._result import _years_da

    register = getattr(ctx, "register", None)
    if register is None or getattr(effects, "analysis", None) is None:
        return
    from ..analysis import register_frames
    from ..register import Register

    p = ctx.protocol
    case = load_case(default_case_path(p))
    with Register.open(register) as reg:
        frames = register_frames(reg)
    eff, notes = add_benefit_years(effects, frames, case.with_variants("helaarspersoner"))
    res = effect_fed_case(eff, case=case, protocol=p, n_draws=2000, rng=seed, variants=["helaarspersoner"],
                          extra_notes=notes)
    line = next(i for i in res.effects if i.endpoint == "benefit_years")
    ctx.echo(f"Variant 'helaarspersoner' (sparet forsørgelse prissat med målte helårspersoner): "
             f"{fmt_number(100 * line.estimate, 1)} helårspersoner pr. 100 pr. år [{line.basis}]; "
             f"tilbagebetaling (totaløkonomi) {_years_da(res.payback_years_total)}; "
             f"P(tilbagebetaling inden for {res.payback_within} år) {fmt_pct(res.p_payback, 0)}")
    (ctx.out / "business_case_helaarspersoner.json").write_text(
        json.dumps(_clean(res.to_dict()), ensure_ascii=False, indent=2))


def _clean(x):
    import math

    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, dict):
        return {str(k): _clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_clean(v) for v in x]
    if hasattr(x, "item"):
        return _clean(x.item())
    return x
