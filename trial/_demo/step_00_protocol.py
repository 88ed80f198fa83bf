TITLE = "Protocol"


def run(ctx) -> None:
    p = ctx.protocol
    ctx.echo(p.summary())
    (ctx.out / "protocol_fingerprint.txt").write_text(f"{p.trial.id} {p.fingerprint}\n")
