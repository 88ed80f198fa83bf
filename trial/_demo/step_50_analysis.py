"""Demo step: outcomes from the exports and the pre-specified analysis."""
from __future__ import annotations

TITLE = "Outcomes and the pre-specified analysis"


def _line(r) -> str:
    from ..analysis import _f

    ci = f"[{_f(r.ci_low)}, {_f(r.ci_high)}]"
    rej = "" if r.rejected is None else ("rejected" if r.rejected else "not rejected")
    return (f"  {r.endpoint:<26} {r.estimator:<24} {_f(r.estimate):>9} {ci:>21}  p {_f(r.p_value):>7}"
            f"  adj. {_f(r.adjusted_p_value):>7}  {rej}")


def run(ctx) -> None:
    import json

    from ..analysis import analyze, analyze_frames, register_frames
    from ..outcomes import load_exports
    from ..register import Register

    register = getattr(ctx, "register", None)
    key_file = getattr(ctx, "key_file", None)
    if register is None or key_file is None:
        ctx.echo("skipped: this step needs the register and key file of the register step (ctx.register, "
                 "ctx.key_file)")
        ctx.analysis = None
        return
    p = ctx.protocol
    ex = ctx.exports_dir
    analysis_date = p.trial.analysis_date
    loaded = load_exports(register, key_file, status=ex / "status.csv", events=ex / "events.csv",
                          survey=ex / "survey.csv", data_date=analysis_date)
    ctx.echo(loaded.summary())
    res = analyze(register, as_of=analysis_date)
    ctx.analysis = res
    t = res.table
    ctx.echo(f"\nAnalysis as of {res.as_of} (protocol analysis date): enrolled "
             + ", ".join(f"{k} {v}" for k, v in res.n_by_arm.items())
             + f"; randomization inference by the {res.ri_scheme}, {res.n_resamples} re-randomizations")
    ctx.echo(f"Confirmatory family ({res.multiplicity.method}, alpha {p.analysis.alpha:g}), all estimators:")
    for r in t[t["hierarchy"] > 0].itertuples(index=False):
        ctx.echo(_line(r))
    ctx.echo("Secondary and exploratory endpoints (first estimator; every row in analysis.csv):")
    for r in t[t["hierarchy"] == 0].drop_duplicates("endpoint").itertuples(index=False):
        ctx.echo(_line(r))
    t.to_csv(ctx.out / "analysis.csv", index=False)
    (ctx.out / "analysis.json").write_text(json.dumps(_clean(res.to_dict()), ensure_ascii=False, indent=2))
    ctx.echo(f"  {len(t)} rows written to analysis.csv and analysis.json")

    # what a look mid-trial gives: data after that date are ignored; descriptive only
    mid = "2018-06-30"
    with Register.open(register) as reg:
        f = register_frames(reg)
        early = analyze_frames(f["protocol"], f["enrollments"], f["status"], f["events"], f["survey"], as_of=mid,
                               rerandomizer=reg.rerandomizer(), n_resamples=200)
    prim = early.confirmatory()
    ctx.echo(f"A look as of {mid} is descriptive (before {analysis_date}): no confirmatory claims; "
             + "; ".join(f"{r.endpoint}: {r.n_treatment + r.n_control} observed, {r.n_missing} missing"
                         for r in prim.itertuples(index=False)))


def _clean(x):
    import math

    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, dict):
        return {k: _clean(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_clean(v) for v in x]
    return x
