"""Demo step: intake of the four municipal exports (validate, pseudonymise)."""
from __future__ import annotations

import json

TITLE = "Intake: validate the exports and replace CPR numbers by pseudonyms"

KINDS = ("referrals", "status", "events", "survey")


def run(ctx) -> None:
    from .. import intake
    from .._keys import create_key_file, load_key_file

    folder = ctx.exports_dir
    if getattr(ctx, "key_file", None) is None:
        create_key_file(ctx.out / "demo.key", exist_ok=True, seed=ctx.seed)
        ctx.key_file = ctx.out / "demo.key"
    kf = load_key_file(ctx.key_file)
    key = kf.pseudonym_key
    ctx.echo(f"Pseudonym key: {ctx.key_file} (owner-only permissions; never stored with the data)")
    if kf.rehearsal:
        ctx.echo("  a rehearsal key derived from the demo seed: reproducible, guessable, so only for TEST "
                 "registers (`trial init --mode production` refuses it)")
    frames = {}
    for kind in KINDS:
        path = folder / f"{kind}.csv"
        if not path.exists():
            ctx.echo(f"  {kind:<10} no export at {path}: not read")
            continue
        frames[kind] = df = intake.read(kind, path, key=key, protocol=ctx.protocol)
        ctx.echo(f"  {kind:<10} {len(df):>8,} rows  {df['pseudonym'].nunique():>5,} citizens  valid")
    ctx.frames = frames
    summary = {k: {"rows": int(len(df)), "citizens": int(df["pseudonym"].nunique())} for k, df in frames.items()}
    if "status" in frames:
        summary["status"]["per_status"] = {str(k): int(v) for k, v in
                                           frames["status"]["status"].value_counts(sort=False).items()}
    (ctx.out / "intake_summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    if "status" in frames:
        st = frames["status"]
        last = st.loc[st.groupby("pseudonym", sort=False)["week"].idxmax()]
        ctx.echo(f"  status in the last week on record ({len(last):,} citizens):")
        for status, n in last["status"].value_counts(sort=False).items():
            if n:
                ctx.echo(f"    {status:<26} {n:>5,}")
    if "referrals" in frames:
        r = frames["referrals"]
        ctx.echo(f"  referrals: age {r['age'].min()}–{r['age'].max()} (median {r['age'].median():g}), "
                 f"{(r['sex'] == 'F').mean():.0%} women; no CPR number is kept")
