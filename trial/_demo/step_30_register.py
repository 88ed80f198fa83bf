"""Demo step: the trial register: commitment, enrollment in arrival order, balance."""
from __future__ import annotations

TITLE = "Register: commit to the sequence, randomize the referrals, check balance"


def run(ctx) -> None:
    from .._keys import create_key_file, load_key_file
    from ..intake import read_referrals
    from ..randomize import plot_balance
    from ..register import Register
    from ..simulate import register_arms, write_outcome_exports

    if getattr(ctx, "key_file", None) is None:
        create_key_file(ctx.out / "demo.key", exist_ok=True, seed=ctx.seed)
        ctx.key_file = ctx.out / "demo.key"
    key = load_key_file(ctx.key_file)
    path = ctx.out / "register.sqlite"
    with Register.create(path, ctx.protocol, key=key, mode="test") as reg:
        ctx.echo(f"[{reg.mode.upper()} register] {path.relative_to(ctx.out)} "
                 f"({reg.scheme_info.scheme}, 1:{ctx.protocol.allocation.ratio:g}, "
                 f"capacity {ctx.protocol.capacity}, when full: {ctx.protocol.allocation.when_full})")
        ctx.echo(f"  commitment (publish before the first enrollment): {reg.commitment}")
        # the same path as `trial enroll`: intake, then Register.enroll_frame
        frame = read_referrals(ctx.exports["referrals"], key=key.pseudonym_key, protocol=ctx.protocol)
        res = reg.enroll_frame(frame, key=key)
        e = reg.enrollments()
        log = reg.screening_log()
        ctx.echo(f"  {len(log)} referrals screened: {len(e)} randomized, {int((~log.eligible).sum())} not:")
        for code, n in log.loc[~log.eligible, "reason_code"].value_counts().sort_index().items():
            ctx.echo(f"    {code:<18} {n:>5}")
        for arm, n in e["arm"].value_counts().sort_index().items():
            ctx.echo(f"  {arm:<16} {n:>5}")
        bal = reg.balance(n_resamples=1000)
        ctx.echo(bal.summary())
        v = reg.verify(key)
        ctx.echo(f"  verify: {'OK' if v.ok else 'FAILED'} ({v.n_enrollments} allocations recomputed, "
                 f"{v.n_audit} audit entries)")
    fig = plot_balance(bal)
    fig.savefig(ctx.out / "balance.png", dpi=120)
    bal.to_frame().to_csv(ctx.out / "balance.csv", index=False)
    ctx.register = path
    ctx.enroll_result = res
    # outcome exports re-written under the register's allocation (as `trial simulate --register`)
    raw = ctx.referrals_raw
    with Register.open(path) as reg:
        arms = register_arms(reg, key, raw)
    write_outcome_exports(ctx.protocol, raw, arms, ctx.exports_dir, seed=ctx.seed)
    ctx.echo(f"  outcome exports re-written under the register's allocation "
             f"({int((arms == 1).sum())} treated, {int((arms == 0).sum())} control)")
