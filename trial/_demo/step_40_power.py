"""Demo step: power of the shipped protocol at the BI25 goals (exact HC2 test, the primary analysis)."""
from __future__ import annotations

import json

TITLE = "Power at the BI25 goals"


def run(ctx) -> None:
    from ..power import plot_power_by_control_size, power_by_control_size, protocol_power

    p = ctx.protocol
    res = protocol_power(p, endpoints="primary")
    ctx.echo(res.summary())
    first = p.primary_endpoints[0]
    cap = power_by_control_size(p_control=first.control_value, p_treatment=first.goal_value,
                                n_treatment=p.capacity, control_sizes=range(100, 901, 100))
    ctx.echo("")
    ctx.echo(cap.summary().replace("Power by control-group size", f"{first.id}: power by control-group size"))
    (ctx.out / "power.json").write_text(json.dumps(
        {"protocol": res.to_dict(), "capacity": {"endpoint": first.id, **cap.to_dict()}},
        indent=2, ensure_ascii=False, default=float))
    fig = plot_power_by_control_size(cap)
    fig.savefig(ctx.out / "power_by_control_size.png", dpi=120, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    ctx.power = res
