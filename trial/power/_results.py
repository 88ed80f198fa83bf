"""Frozen result objects of :mod:`trial.power`."""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Mapping

from ._common import fmt
from .._results import Displayable

__all__ = ["PowerResult", "MethodComparison", "CapacityResult", "BreakEvenResult", "ProtocolPower", "PowerCurve"]


class _Shown(Displayable):
    """``__str__`` and ``_repr_html_`` from ``summary()``."""


@dataclass(frozen=True, repr=False)
class PowerResult(_Shown):
    """Power of one test at one design, with the quantity that was solved for.

    Attributes
    ----------
    outcome : {"binary", "continuous", "count", "time_to_event"}
    method : str
        The test whose power is given (``exact_hc2``, ``fisher``, ``t``, ...).
    solved_for : {"power", "effect", "n_control"}
    power : float
        Power at the design (for ``solved_for="n_control"``: at the integer size found).
    control_value, treatment_value : float
        Outcome in the kontrolgruppe and in the deltagergruppe, in natural units
        (a share, a rate per person-year, a mean, a share with an event by the horizon).
    n_control, n_treatment : int
    alpha, alternative : test size and direction of the alternative hypothesis
        (``"greater"``: treatment above control).
    target_power : float or None
        The power asked for when solving for the effect or the control size.
    parameters : mapping
        Further inputs (``sd``, ``exposure``, ``dispersion``, ``hazard_ratio``, ...).
    note : str
        Why a value could not be computed, or a caveat; empty when all is well.
    """

    outcome: str
    method: str
    solved_for: str
    power: float
    control_value: float
    treatment_value: float
    n_control: int | None
    n_treatment: int
    alpha: float
    alternative: str
    target_power: float | None = None
    parameters: Mapping[str, Any] = field(default_factory=dict)
    note: str = ""

    @property
    def difference(self) -> float:
        """Treatment minus control, natural units (the MDE when solved for the effect)."""
        return self.treatment_value - self.control_value

    @property
    def p_control(self) -> float:
        return self.control_value

    @property
    def p_treatment(self) -> float:
        return self.treatment_value

    @property
    def ok(self) -> bool:
        return math.isfinite(self.power) and not self.note.startswith("not ")

    def to_dict(self) -> dict:
        d = asdict(self)
        d["parameters"] = dict(self.parameters)
        d["difference"] = self.difference
        return d

    def to_frame(self):
        import pandas as pd

        d = self.to_dict()
        params = d.pop("parameters")
        d.update({f"param_{k}": v for k, v in params.items()})
        return pd.DataFrame([d])

    def summary(self) -> str:
        head = {"power": "Power", "effect": "Minimum detectable effect",
                "n_control": "Control-group size"}[self.solved_for]
        lines = [
            f"{head} ({self.outcome}, {self.method}, alpha {self.alpha:g}, {self.alternative})",
            f"  control     {fmt(self.control_value, 4)}   n_control   {self.n_control}",
            f"  treatment   {fmt(self.treatment_value, 4)}   n_treatment {self.n_treatment}",
            f"  difference  {fmt(self.difference, 4)}",
            f"  power       {fmt(self.power, 4)}"
            + (f"   (target {self.target_power:g})" if self.target_power is not None else ""),
        ]
        for k, v in self.parameters.items():
            lines.append(f"  {k:<11} {v}")
        if self.note:
            lines.append(f"  note: {self.note}")
        return "\n".join(lines)


@dataclass(frozen=True, repr=False)
class MethodComparison(_Shown):
    """Power (or MDE) of one design under several tests side by side."""

    results: tuple[PowerResult, ...]

    @property
    def power(self) -> dict[str, float]:
        return {r.method: r.power for r in self.results}

    def __getitem__(self, method: str) -> PowerResult:
        for r in self.results:
            if r.method == method:
                return r
        raise KeyError(method)

    def to_frame(self):
        import pandas as pd

        return pd.concat([r.to_frame() for r in self.results], ignore_index=True)

    def to_dict(self) -> dict:
        return {"results": [r.to_dict() for r in self.results]}

    def summary(self) -> str:
        r0 = self.results[0]
        solved = r0.solved_for
        lines = [f"Two proportions: control {fmt(r0.control_value, 4)}, n_control {r0.n_control}, "
                 f"n_treatment {r0.n_treatment}, alpha {r0.alpha:g}, {r0.alternative}"]
        if solved == "n_control":
            lines[0] = (f"Two proportions: control {fmt(r0.control_value, 4)}, treatment {fmt(r0.treatment_value, 4)}, "
                        f"n_treatment {r0.n_treatment}, alpha {r0.alpha:g}, {r0.alternative}, "
                        f"target power {r0.target_power:g}: smallest control size")
            lines.append(f"  {'method':<18} n_control  power")
            for r in self.results:
                n = "–" if r.n_control is None else str(r.n_control)
                lines.append(f"  {r.method:<18} {n:>9}  {fmt(r.power, 4)}" + (f"  ({r.note})" if r.note else ""))
        elif solved == "power":
            lines[0] += f", treatment {fmt(r0.treatment_value, 4)}"
            lines.append(f"  {'method':<18} power")
            for r in self.results:
                lines.append(f"  {r.method:<18} {fmt(r.power, 4)}" + (f"  ({r.note})" if r.note else ""))
        else:
            lines[0] += f", target power {r0.target_power:g}"
            lines.append(f"  {'method':<18} p_treatment  difference  power")
            for r in self.results:
                lines.append(f"  {r.method:<18} {fmt(r.treatment_value, 4):>11}  {fmt(r.difference, 4):>10}  "
                             f"{fmt(r.power, 4)}" + (f"  ({r.note})" if r.note else ""))
        return "\n".join(lines)


@dataclass(frozen=True, repr=False)
class CapacityResult(_Shown):
    """Power and MDE as functions of the control-group size at a fixed deltagergruppe."""

    p_control: float
    p_treatment: float
    n_treatment: int
    control_sizes: tuple[int, ...]
    power: tuple[float, ...]
    mde: tuple[float, ...]
    power_limit: float
    mde_limit: float
    alpha: float
    alternative: str
    method: str
    target_power: float

    def to_frame(self):
        import pandas as pd

        return pd.DataFrame({
            "n_control": self.control_sizes, "n_treatment": self.n_treatment,
            "allocation_ratio": [n / self.n_treatment for n in self.control_sizes],
            "power": self.power, "mde_difference": self.mde,
            "mde_p_treatment": [self.p_control + m for m in self.mde],
            "relative_se": [math.sqrt((1 / self.n_treatment + 1 / n) / (2 / self.n_treatment))
                            for n in self.control_sizes],
        })

    def to_dict(self) -> dict:
        d = asdict(self)
        d["table"] = self.to_frame().to_dict(orient="records")
        return d

    def summary(self) -> str:
        lines = [f"Power by control-group size ({self.method}, alpha {self.alpha:g}, {self.alternative}): "
                 f"control {fmt(self.p_control, 3)} -> treatment {fmt(self.p_treatment, 3)}, "
                 f"{self.n_treatment} treated",
                 f"  {'n_control':>9} {'ratio':>6} {'power':>7} {'MDE':>8}"]
        for n, p, m in zip(self.control_sizes, self.power, self.mde):
            lines.append(f"  {n:>9} {n / self.n_treatment:>6.2f} {fmt(p):>7} {fmt(m, 4):>8}")
        lines.append(f"  {'infinite':>9} {'':>6} {fmt(self.power_limit):>7} {fmt(self.mde_limit, 4):>8}"
                     "   (normal approximation, controls without limit)")
        return "\n".join(lines)


@dataclass(frozen=True, repr=False)
class BreakEvenResult(_Shown):
    """The effect at which an investment pays back within the horizon, and the power to detect it."""

    unit_saving_per_citizen_per_year: float
    investment_total: float
    horizon_years: float
    n_treatment: int
    n_control: int
    p_control: float
    break_even_citizens: float
    break_even_difference: float
    power: float
    alpha: float
    alternative: str
    method: str
    note: str = ""

    def to_dict(self) -> dict:
        return asdict(self)

    def to_frame(self):
        import pandas as pd

        return pd.DataFrame([self.to_dict()])

    def summary(self) -> str:
        return "\n".join([
            "Break-even effect",
            f"  investment          {self.investment_total:,.1f} (thousand kr.)",
            f"  saving per citizen  {self.unit_saving_per_citizen_per_year:,.1f} per year, "
            f"horizon {self.horizon_years:g} years",
            f"  break-even          {self.break_even_citizens:.2f} more citizens of {self.n_treatment} "
            f"(difference {fmt(self.break_even_difference, 4)}, "
            f"{fmt(self.p_control, 3)} -> {fmt(self.p_control + self.break_even_difference, 4)})",
            f"  power to detect it  {fmt(self.power)} ({self.method}, {self.n_treatment}:{self.n_control})",
        ] + ([f"  note: {self.note}"] if self.note else []))


@dataclass(frozen=True, repr=False)
class ProtocolPower(_Shown):
    """Per endpoint of a protocol: control value, goal, power at the goal, MDE at the target power."""

    trial_id: str
    fingerprint: str
    n_treatment: int
    control_sizes: tuple[int, ...]
    alpha: float
    alternative: str
    target_power: float
    rows: tuple[Mapping[str, Any], ...]

    def to_frame(self):
        import pandas as pd

        return pd.DataFrame([dict(r) for r in self.rows])

    def to_dict(self) -> dict:
        return {"trial_id": self.trial_id, "fingerprint": self.fingerprint, "n_treatment": self.n_treatment,
                "control_sizes": list(self.control_sizes), "alpha": self.alpha, "alternative": self.alternative,
                "target_power": self.target_power, "endpoints": [dict(r) for r in self.rows]}

    def summary(self) -> str:
        rows = [dict(r) for r in self.rows]
        compare = [k[len("power_"):] for k in (rows[0] if rows else {}) if k.startswith("power_")]
        lines = [f"Power of protocol {self.trial_id} at the BI25 goals "
                 f"({self.n_treatment} treated, alpha {self.alpha:g}, {self.alternative}; "
                 f"MDE at {self.target_power:.0%} power)",
                 f"  {'endpoint':<26} {'role':<11} {'control':>8} {'goal':>8} {'n_ctrl':>6} {'power':>6} "
                 f"{'MDE':>8} {'size':>6} {'cover':>6}"
                 + "".join(f" {m[:8] + ' pw':>11} {'size':>6}" for m in compare) + "  method"]
        for r in rows:
            lines.append(
                f"  {r['endpoint']:<26} {r['role']:<11} {fmt(r['control_value'], 3):>8} {r['goal']:>+8.3g} "
                f"{r['n_control']:>6} {fmt(r['power'], 3):>6} {fmt(r['mde_difference'], 4):>8} "
                f"{fmt(r.get('size'), 3):>6} {fmt(r.get('coverage'), 3):>6}"
                + "".join(f" {fmt(r.get(f'power_{m}'), 3):>11} {fmt(r.get(f'size_{m}'), 3):>6}" for m in compare)
                + f"  {r['method']}" + _assumed(r) + (f"  ({r['note']})" if r.get("note") else ""))
        lines.append(f"  size: exact rejection rate at the null (control share in both arms; nominal {self.alpha:g}); "
                     f"cover: exact coverage of the HC2/Welch {1 - self.alpha:.0%} interval at the goal")
        liberal = [f"{r['endpoint']} ({r['n_control']} controls: {r['size']:.3f})" for r in rows
                   if (r.get("size") or 0) > self.alpha * 1.1]
        if liberal:
            lines.append(f"  the primary test is liberal (size above {self.alpha * 1.1:.3g}) for: {', '.join(liberal)}; "
                         f"see docs/power.md, 'What this means for the protocol'")
        return "\n".join(lines)


def _assumed(row) -> str:
    """`` [sd 30, protocol]`` for rows that rest on an assumed SD or dispersion."""
    src = row.get("assumption_source")
    if not src or src == "none":
        return ""
    name = "sd" if "sd" in row else "dispersion"
    return f" [{name} {row[name]:g}, {src}]"


@dataclass(frozen=True, repr=False)
class PowerCurve(_Shown):
    """Power against the treatment share for one design, one curve per method."""

    p_control: float
    n_control: int
    n_treatment: int
    p_treatment: tuple[float, ...]
    power: Mapping[str, tuple[float, ...]]
    alpha: float
    alternative: str
    target_power: float | None = None

    def to_frame(self):
        import pandas as pd

        d = {"p_treatment": self.p_treatment,
             "difference": [p - self.p_control for p in self.p_treatment]}
        d.update({m: v for m, v in self.power.items()})
        return pd.DataFrame(d)

    def to_dict(self) -> dict:
        return {"p_control": self.p_control, "n_control": self.n_control, "n_treatment": self.n_treatment,
                "alpha": self.alpha, "alternative": self.alternative,
                "table": self.to_frame().to_dict(orient="records")}

    def summary(self) -> str:
        df = self.to_frame()
        return (f"Power curve: control {self.p_control:g}, {self.n_treatment}:{self.n_control}, "
                f"alpha {self.alpha:g}, {self.alternative}\n" + df.to_string(index=False, float_format="%.4f"))
