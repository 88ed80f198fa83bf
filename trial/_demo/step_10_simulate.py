"""Demo step: rehearsal exports from the simulator (trial.simulate)."""
from __future__ import annotations

TITLE = "Rehearsal data: municipal exports"


def run(ctx) -> None:
    from ..simulate import rehearse, simulate_referrals

    out = ctx.exports_dir
    result = rehearse(ctx.protocol, ctx.n_referrals, out, seed=ctx.seed)
    ctx.exports = dict(result.paths)
    ctx.simulation = result.settings
    # the referrals with synthetic CPR numbers, for later steps (never written anywhere else)
    ctx.referrals_raw = simulate_referrals(ctx.protocol, ctx.n_referrals, seed=ctx.seed)
    ctx.echo(f"Simulated {ctx.n_referrals} referrals (seed {ctx.seed}); effects = the protocol's goals.")
    for k, p in result.paths.items():
        ctx.echo(f"  {p.name!s:<24} {result.rows[k]:>8} rows")
    ctx.echo(f"  rehearsal allocation: {result.n_treatment} treatment, {result.n_control} control "
             f"(re-written under the register's allocation by a later step)")
