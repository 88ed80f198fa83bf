"""The one data object behind the quarterly report: :class:`ReportData`.

:func:`assemble` collects everything the steering group's report shows from a
trial register (protocol, enrollments, screening log, withdrawals, sequence
commitment), the pre-specified analysis (:func:`trial.analysis.analyze`), the
effect-fed business case (:mod:`trial.business_case`), the weekly share
self-supporting (:func:`trial.outcomes.share_by_week`) and the power still
available at the current size (:mod:`trial.power`). Rendering
(:mod:`trial.report._render`) reads nothing else, so the report can be tested
from a hand-built ``ReportData``.

``ReportData`` never holds a pseudonym or a CPR number, only aggregates; its
JSON form (``report_data.json``) is kept next to the report so the next
quarter's report can say what changed.
"""
from __future__ import annotations

import dataclasses
import datetime as _dt
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..exceptions import TrialError

__all__ = [
    "ReportData", "EffectRow", "BalanceRow", "EnrollmentPoint", "FlowData", "LossTable", "WeeklyShare",
    "BusinessCaseSummary", "BusinessTable", "DetectableRow", "Change", "ReportError", "SoFarRow",
    "assemble", "parse_quarter", "quarter_end", "compare", "SCHEMA_VERSION",
]

SCHEMA_VERSION = 1


class ReportError(TrialError):
    """The report cannot be produced from what was given (bad quarter, missing data, ...)."""


# --------------------------------------------------------------------------- quarters
def parse_quarter(text: str) -> tuple[int, int]:
    """``'2017Q3' -> (2017, 3)``; raises :class:`ReportError` otherwise."""
    s = str(text).strip().upper()
    if len(s) != 6 or not s[:4].isdigit() or s[4] != "Q" or s[5] not in "1234":
        raise ReportError(f"`quarter` must be written like 2017Q3 (year, 'Q', 1-4); got {text!r}")
    return int(s[:4]), int(s[5])


def quarter_start(text: str) -> _dt.date:
    y, q = parse_quarter(text)
    return _dt.date(y, 3 * (q - 1) + 1, 1)


def quarter_end(text: str) -> _dt.date:
    """Last day of a quarter: ``'2017Q3' -> 2017-09-30``."""
    y, q = parse_quarter(text)
    nxt = _dt.date(y + (q == 4), (3 * q) % 12 + 1, 1)
    return nxt - _dt.timedelta(days=1)


def quarter_of(d: _dt.date) -> str:
    return f"{d.year}Q{(d.month - 1) // 3 + 1}"


def previous_quarter(text: str) -> str:
    y, q = parse_quarter(text)
    return f"{y - 1}Q4" if q == 1 else f"{y}Q{q - 1}"


# --------------------------------------------------------------------------- parts
@dataclass(frozen=True)
class EnrollmentPoint:
    """Cumulative enrollment at the end of a quarter, against the plan."""

    quarter: str
    planned: int
    treatment: int
    control: int


@dataclass(frozen=True)
class LossTable:
    """Counts by reason (rows) and arm (columns: treatment, control), before suppression."""

    title_key: str            # "excluded" (screening) or "lost" (after randomization)
    reasons: tuple[str, ...]  # reason codes
    treatment: tuple[int, ...]
    control: tuple[int, ...] | None = None  # None: one column (screening, before any arm)


@dataclass(frozen=True)
class FlowData:
    """CONSORT 2025 flow counts, computed from the register.

    ``excluded`` is the screening log's reasons for not randomizing (before
    allocation); ``lost`` gives per arm why a randomized citizen is not
    followed (moved away, died, withdrew) and ``not_analysed`` why a followed
    citizen is missing from the primary analysis (e.g. outcome not yet
    observed).
    """

    referred: int
    excluded: LossTable
    randomized_treatment: int
    randomized_control: int
    lost: LossTable
    followed_treatment: int
    followed_control: int
    not_analysed: LossTable
    analysed_treatment: int
    analysed_control: int

    @property
    def assessed(self) -> int:
        return self.referred

    @property
    def randomized(self) -> int:
        return self.randomized_treatment + self.randomized_control


@dataclass(frozen=True)
class BalanceRow:
    """One baseline covariate: mean (or share) per arm and the standardised difference."""

    variable: str
    kind: str                 # "continuous" or "binary"
    treatment_value: float
    control_value: float
    std_diff: float
    treatment_count: int | None = None   # binary: citizens with the trait (for disclosure control)
    control_count: int | None = None
    n_treatment: int = 0
    n_control: int = 0


@dataclass(frozen=True)
class EffectRow:
    """One endpoint of the pre-specified analysis (the primary estimator's row)."""

    endpoint: str
    label_da: str
    label_en: str
    type: str
    role: str                 # "confirmatory" / "exploratory"
    estimator: str
    control_mean: float
    treatment_mean: float
    estimate: float
    std_error: float
    ci_low: float
    ci_high: float
    p_value: float
    adjusted_p_value: float
    n_treatment: int
    n_control: int
    descriptive: bool
    goal: float
    goal_da: str
    direction: str
    treatment_count: int | None = None   # binary endpoints: citizens with the outcome
    control_count: int | None = None
    note: str = ""
    rejected: bool | None = None          # confirmatory, from the analysis date: null hypothesis rejected
    hierarchy: int = 0                    # position in the pre-specified fixed sequence (confirmatory)


@dataclass(frozen=True)
class SoFarRow:
    """Descriptive interim view of an "ever by week H" endpoint that cannot be estimated yet.

    Among citizens not lost to attrition (moved away, died, withdrew), the
    number and share per arm with the event so far (by the data date, within
    the horizon), and the median calendar follow-up. Follow-up differs between
    citizens, so this is not an estimate of the share by week H: it is shown as
    descriptive ("hidtil") and never feeds the business case or the
    confirmatory summary (:func:`trial.outcomes.so_far`).
    """

    endpoint: str
    label_da: str
    label_en: str
    horizon_weeks: int
    treatment_n: int | None
    control_n: int | None
    treatment_count: int | None
    control_count: int | None
    treatment_share: float
    control_share: float
    median_followup_weeks: float
    complete_treatment: int = 0     # citizens already followed to the horizon
    complete_control: int = 0


@dataclass(frozen=True)
class WeeklyShare:
    """Share self-supporting per week since randomization, per arm."""

    week: tuple[int, ...]
    treatment_share: tuple[float, ...]
    control_share: tuple[float, ...]
    treatment_n: tuple[int, ...]
    control_n: tuple[int, ...]
    treatment_count: tuple[int, ...]
    control_count: tuple[int, ...]


@dataclass(frozen=True)
class BusinessTable:
    """One table in the published layout: rows of amounts (1.000 kr.) per budget year."""

    title: str
    years: tuple[str, ...]
    rows: tuple[tuple[str, tuple[float, ...]], ...]
    total: tuple[float, ...]
    total_label: str = "I alt"


@dataclass(frozen=True)
class BusinessCaseSummary:
    """The business case fed with the estimated effects (amounts in 1.000 kr., 2016 p/l)."""

    tables: tuple[BusinessTable, ...]
    payback_years_service: float | None
    payback_years_total: float | None
    prob_payback: float | None
    payback_horizon_years: int
    cumulative_net: tuple[float, ...]            # by year, total economy (investment + changes)
    cumulative_net_low: tuple[float, ...] = ()   # uncertainty band (e.g. 2.5 % and 97.5 % quantiles)
    cumulative_net_high: tuple[float, ...] = ()
    price_level: int = 2016
    n_resamples: int | None = None
    seed: int | None = None
    note: str = ""
    measured: tuple[str, ...] | None = None   # endpoints whose effect is measured in the trial (None: not recorded)
    # (endpoint, row label as printed) of each line fed with a measured effect: the label carries the effect
    # ("Botilbud SEL §107 (målt: -3,4 procentpoint)"), so it is masked where disclosure control hides the effect
    measured_lines: tuple[tuple[str, str], ...] = ()
    # measured effects left out of the case because disclosure control hides their endpoint (the line keeps the
    # assumed effect; `trial business-case --withhold` gives the same case)
    withheld: tuple[str, ...] = ()


@dataclass(frozen=True)
class DetectableRow:
    """What the trial can still detect at its current size (power analysis)."""

    endpoint: str
    label_da: str
    label_en: str
    n_treatment: int
    n_control: int
    mde: float                 # minimum detectable effect at 80 % power (same scale as goal)
    goal: float
    power_at_goal: float


@dataclass(frozen=True)
class Change:
    """One figure that moved since the previous quarter's report."""

    key: str
    label_da: str
    label_en: str
    previous: float | None
    current: float | None
    kind: str = "count"        # count, share, pp, kr, years


# --------------------------------------------------------------------------- the object
@dataclass(frozen=True)
class ReportData:
    """Everything the quarterly report shows, as plain aggregates (no person ids).

    Build it with :func:`assemble`; write it with :meth:`to_json` and read it
    back with :meth:`from_json` (the previous quarter's file drives the
    "what changed" section).
    """

    trial_id: str
    title_da: str
    title_en: str
    sponsor: str
    evaluator: str
    quarter: str
    as_of: _dt.date
    analysis_date: _dt.date
    first_referral: _dt.date
    lang: str
    min_cell: int
    treatment_label_da: str
    control_label_da: str
    treatment_label_en: str
    control_label_en: str
    planned_treatment: int
    planned_control: int
    enrollment: tuple[EnrollmentPoint, ...]
    flow: FlowData
    balance: tuple[BalanceRow, ...]
    effects: tuple[EffectRow, ...]
    weekly: WeeklyShare | None
    business_case: BusinessCaseSummary | None
    detectable: tuple[DetectableRow, ...]
    data_quality: tuple[str, ...]
    changes: tuple[Change, ...] | None
    previous_quarter: str | None
    protocol_fingerprint: str
    sequence_commitment: str
    software_version: str
    seeds: tuple[tuple[str, int], ...]
    register_mode: str = ""
    alpha: float = 0.05
    multiplicity: str = "fixed_sequence"
    primary_estimator: str = "difference_in_means"
    notes: tuple[str, ...] = ()
    schema_version: int = SCHEMA_VERSION
    disclosure_controlled: bool = False   # True: counts the report hides are null (see trial.report.disclose)
    so_far: tuple[SoFarRow, ...] = ()     # descriptive "hidtil" rows for endpoints not computable yet
    data_date: _dt.date | None = None     # the newest upload used (None: no outcome data by the quarter's end)

    # ------------------------------------------------------------------ derived
    @property
    def descriptive_only(self) -> bool:
        """True before the protocol's analysis date: effects are descriptive, not tests."""
        return self.as_of < self.analysis_date

    def treatment_label(self) -> str:
        return self.treatment_label_da if self.lang == "da" else self.treatment_label_en

    def control_label(self) -> str:
        return self.control_label_da if self.lang == "da" else self.control_label_en

    def effect(self, endpoint: str) -> EffectRow:
        for e in self.effects:
            if e.endpoint == endpoint:
                return e
        raise KeyError(endpoint)

    def key_figures(self) -> dict[str, float | None]:
        """The figures compared between quarters (and printed by ``trial report --json``)."""
        f = self.flow
        out: dict[str, float | None] = {
            "referred": f.referred, "randomized_treatment": f.randomized_treatment,
            "randomized_control": f.randomized_control, "analysed_treatment": f.analysed_treatment,
            "analysed_control": f.analysed_control,
        }
        for e in self.effects:
            out[f"effect.{e.endpoint}.estimate"] = e.estimate
            out[f"effect.{e.endpoint}.ci_low"] = e.ci_low
            out[f"effect.{e.endpoint}.ci_high"] = e.ci_high
        if self.business_case is not None:
            out["business_case.payback_years_total"] = self.business_case.payback_years_total
            out["business_case.payback_years_service"] = self.business_case.payback_years_service
            # with the assumed effects alone every draw is the same case: no probability to compare (the report
            # does not state one either)
            out["business_case.prob_payback"] = (None if self.business_case.measured == ()
                                                 else self.business_case.prob_payback)
        return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in out.items()}

    def with_changes(self, previous: "ReportData | None") -> "ReportData":
        """A copy whose ``changes`` compare this quarter with ``previous``."""
        if previous is None:
            return dataclasses.replace(self, changes=None, previous_quarter=None)
        return dataclasses.replace(self, changes=compare(previous, self), previous_quarter=previous.quarter)

    # ------------------------------------------------------------------ JSON
    def to_dict(self) -> dict:
        return _to_plain(self)

    def to_json(self, path: str | Path | None = None) -> str:
        text = json.dumps(self.to_dict(), ensure_ascii=False, indent=1, allow_nan=False)
        if path is not None:
            Path(path).write_text(text + "\n", encoding="utf-8")
        return text

    @classmethod
    def from_dict(cls, data: dict) -> "ReportData":
        return _from_plain(cls, data)

    @classmethod
    def from_json(cls, path_or_text: str | Path) -> "ReportData":
        """Read a ``report_data.json`` (a path) or its text."""
        p = Path(path_or_text) if not str(path_or_text).lstrip().startswith("{") else None
        try:
            text = p.read_text(encoding="utf-8") if p is not None else str(path_or_text)
            data = json.loads(text)
        except (OSError, ValueError) as exc:
            raise ReportError(f"previous report data {path_or_text} cannot be read as JSON: {exc}") from None
        if not isinstance(data, dict) or data.get("schema_version") != SCHEMA_VERSION:
            raise ReportError(f"previous report data {path_or_text}: `schema_version` must be {SCHEMA_VERSION}; "
                              f"got {data.get('schema_version') if isinstance(data, dict) else data!r}")
        try:
            return cls.from_dict(data)
        except (KeyError, TypeError, ValueError) as exc:
            raise ReportError(f"previous report data {path_or_text} is incomplete: {exc}") from None


def _to_plain(obj: Any) -> Any:
    if dataclasses.is_dataclass(obj):
        return {f.name: _to_plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, (list, tuple)):
        return [_to_plain(v) for v in obj]
    if isinstance(obj, (_dt.date, _dt.datetime)):
        return obj.isoformat()
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if hasattr(obj, "item"):  # numpy scalar
        return _to_plain(obj.item())
    return obj


def _from_plain(tp: Any, data: Any) -> Any:
    import typing

    if data is None:
        # JSON null: a float field (NaN written as null) becomes NaN again; an optional field stays None
        return float("nan") if tp is float else None
    if dataclasses.is_dataclass(tp):
        hints = typing.get_type_hints(tp)
        kwargs = {}
        for f in dataclasses.fields(tp):
            if f.name in data:
                kwargs[f.name] = _from_plain(hints[f.name], data[f.name])
        return tp(**kwargs)
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is typing.Union or str(origin) == "<class 'types.UnionType'>" or type(tp).__name__ == "UnionType":
        for a in args:
            if a is type(None):
                continue
            return _from_plain(a, data)
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_from_plain(args[0], v) for v in data)
        return tuple(_from_plain(a, v) for a, v in zip(args, data))
    if tp is _dt.date:
        return _dt.date.fromisoformat(data)
    if tp is float:
        return float("nan") if data is None else float(data)
    if tp is int:
        return int(data)
    return data


# --------------------------------------------------------------------------- changes
_CHANGE_LABELS = {
    "referred": ("Henviste borgere", "Citizens referred", "count"),
    "randomized_treatment": ("Randomiseret til deltagergruppen", "Randomized to the treatment group", "count"),
    "randomized_control": ("Randomiseret til kontrolgruppen", "Randomized to the control group", "count"),
    "analysed_treatment": ("Analyseret i deltagergruppen", "Analysed, treatment group", "count"),
    "analysed_control": ("Analyseret i kontrolgruppen", "Analysed, control group", "count"),
    "business_case.payback_years_total": ("Tilbagebetalingstid, samlet økonomi (år)",
                                          "Payback, total economy (years)", "years"),
    "business_case.payback_years_service": ("Tilbagebetalingstid, service (år)", "Payback, service (years)",
                                            "years"),
    "business_case.prob_payback": ("Sandsynlighed for tilbagebetaling", "Probability of payback", "share"),
}


def compare(previous: ReportData, current: ReportData) -> tuple[Change, ...]:
    """Key figures that differ between two quarters' report data (counts, effects, payback).

    Both quarters pass disclosure control first (:func:`trial.report.disclose`):
    a figure its own quarter's report hides is None here, and a figure hidden
    in both quarters is not listed, so the table of changes never shows what
    either report hides.
    """
    from ._public import disclose

    prev, cur = disclose(previous).key_figures(), disclose(current).key_figures()
    labels = {e.endpoint: (e.label_da, e.label_en, e.type) for e in current.effects}
    out = []
    for key in cur:
        p, c = prev.get(key), cur[key]
        if key.startswith("effect."):
            _, ep, what = key.split(".")
            if what != "estimate":
                continue
            da, en, etype = labels[ep]
            kind = "pp" if etype == "binary" else "number"
            label = (f"Forskel: {da}", f"Difference: {en}")
        else:
            da, en, kind = _CHANGE_LABELS[key]
            label = (da, en)
        if p is None and c is None:
            continue
        if key.startswith("effect.") and c is None:  # hidden this quarter: say nothing about it
            continue
        if p is not None and c is not None and abs(float(p) - float(c)) < 1e-12:
            continue
        out.append(Change(key=key, label_da=label[0], label_en=label[1], previous=p, current=c, kind=kind))
    return tuple(out)


# --------------------------------------------------------------------------- assemble
def assemble(register, *, quarter: str | None = None, lang: str = "da", previous: ReportData | None = None,
             rng=None) -> ReportData:
    """Collect the report's figures from a trial register.

    Parameters
    ----------
    register : trial.register.Register
        An open register (its protocol, enrollments, screening log,
        withdrawals and sequence commitment are read).
    quarter : str, optional
        Report quarter like ``"2017Q3"``; the analysis is run ``as_of`` its
        last day. Default: the quarter of the latest enrollment.
    lang : {"da", "en"}
    previous : ReportData, optional
        Last quarter's data, for the "what changed" section.
    rng : int or numpy.random.Generator, optional
        Seed of the business case's uncertainty simulation (default: the
        protocol's allocation seed, so the report is reproducible).

    Returns
    -------
    ReportData
    """
    from ._assemble import assemble_from_register

    if lang not in ("da", "en"):
        raise ReportError(f"`lang` must be 'da' or 'en'; got {lang!r}")
    if quarter is not None:
        parse_quarter(quarter)
    data = assemble_from_register(register, quarter=quarter, lang=lang, rng=rng)
    return data.with_changes(previous)
