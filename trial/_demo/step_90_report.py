"""Demo step: the steering group's quarterly report (HTML, PDF, report_data.json; snapshot in the register)."""
from __future__ import annotations

TITLE = "Quarterly report to the steering group"


def run(ctx) -> None:
    import time

    reg = getattr(ctx, "register", None)
    if reg is None:
        ctx.echo("No register in the demo context (the register step did not run); report skipped.")
        return
    from ..report import make_report

    t0 = time.perf_counter()
    data, files = make_report(reg, ctx.out, lang=ctx.protocol.report.language)
    f = data.flow
    ctx.echo(f"Quarter {data.quarter} (as of {data.as_of}); "
             f"{'descriptive, before the analysis date' if data.descriptive_only else 'confirmatory'}")
    ctx.echo(f"  referred {f.referred}, randomized {f.randomized_treatment} + {f.randomized_control}, "
             f"analysed {f.analysed_treatment} + {f.analysed_control}")
    for p in (files.html, files.pdf, files.data):
        if p is not None:
            ctx.echo(f"  {p.relative_to(ctx.out)}")
    ctx.echo(f"  exact figures: register snapshot for {data.quarter} (report_data.json holds only what the "
             f"report shows)")
    if files.note:
        ctx.echo(f"  {files.note}")
    ctx.echo(f"  ({time.perf_counter() - t0:.1f} s)")
    ctx.report_data = data
