"""Pre-registered trial protocols: loading, validation and fingerprint.

A protocol is a TOML file (see ``protocols/ressourceforloeb.toml``). :func:`load`
validates every key up front and returns a frozen :class:`Protocol`; any defect
raises :class:`~trial.exceptions.ProtocolError` naming the key, the allowed
values and the value given.

The fingerprint is the SHA-256 of a canonical JSON form of the parsed protocol
(sorted keys, no whitespace), so the same protocol written with other layout,
comments, key order or number spelling (``3`` vs ``3.0`` is *not* the same:
types are part of the protocol) gives the same fingerprint.
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import json
import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping

from .exceptions import ProtocolError

__all__ = [
    "Protocol",
    "TrialInfo",
    "Arm",
    "Allocation",
    "Eligibility",
    "Stratum",
    "Endpoint",
    "Analysis",
    "BusinessCaseLink",
    "ReportSettings",
    "load",
    "loads",
    "fingerprint",
    "canonical_json",
    "ENDPOINT_TYPES",
    "ENDPOINT_RULES",
    "ROLES",
    "SCHEMES",
    "MULTIPLICITY_RULES",
    "ALTERNATIVES",
    "DEFAULT_PROTOCOL",
]

ENDPOINT_TYPES = ("binary", "count", "continuous", "time_to_event")
ENDPOINT_RULES = {
    "status_at": "binary",
    "ever_status": "binary",
    "weeks_in_status": "count",
    "time_to_status": "time_to_event",
    "event_any": "binary",
    "event_rate": "count",
    "survey_change": "continuous",
}
ROLES = ("primary", "secondary", "exploratory")
DIRECTIONS = ("increase", "decrease")
SCHEMES = ("simple", "complete", "permuted_blocks", "minimisation")
WHEN_FULL = ("stop", "control_only")
MULTIPLICITY_RULES = ("fixed_sequence", "holm", "bonferroni", "none")
ALTERNATIVES = ("two-sided", "less", "greater")
BIT_GENERATORS = ("PCG64",)
ESTIMATORS = (
    "difference_in_means", "ols_hc0", "ols_hc1", "ols_hc2", "ols_hc3", "ancova_hc2",
    "lin_hc2", "risk_difference", "risk_ratio", "fisher", "boschloo",
    "randomization_inference", "negbin", "poisson_robust", "cox", "logrank", "kaplan_meier",
)
SCHEDULES = ("quarterly", "monthly", "yearly")
MEASURES = ("count", "days")

DEFAULT_PROTOCOL = Path(__file__).resolve().parent.parent / "protocols" / "ressourceforloeb.toml"


# --------------------------------------------------------------------------- objects
@dataclass(frozen=True)
class TrialInfo:
    id: str
    title_da: str
    title_en: str
    sponsor: str
    evaluator: str
    registered: _dt.date
    first_referral: _dt.date
    analysis_date: _dt.date
    language: str


@dataclass(frozen=True)
class Arm:
    id: str
    label_da: str
    label_en: str
    treatment: bool
    capacity: int | None = None


@dataclass(frozen=True)
class Allocation:
    ratio: float
    scheme: str
    block_sizes: tuple[int, ...]
    when_full: str
    seed: int
    bit_generator: str
    minimisation_p: float


@dataclass(frozen=True)
class Eligibility:
    min_age: int
    max_age: int
    municipality_codes: tuple[int, ...]
    referral_types: tuple[str, ...]


@dataclass(frozen=True)
class Stratum:
    """One stratification factor.

    Either ``breaks`` (numeric source cut into ``labels``, intervals closed on
    the left) or ``levels`` (categorical source values mapped to ``labels``).
    """

    factor: str
    source: str
    labels: tuple[str, ...]
    breaks: tuple[float, ...] | None = None
    levels: tuple[Any, ...] | None = None


@dataclass(frozen=True)
class Endpoint:
    id: str
    label_da: str
    label_en: str
    type: str
    rule: str
    horizon_weeks: int
    control_value: float
    goal: float
    goal_da: str
    direction: str
    role: str
    hierarchy: int
    statuses: tuple[str, ...] = ()
    events: tuple[str, ...] = ()
    measure: str | None = None
    item: str | None = None
    wave: int | None = None
    sd: float | None = None
    dispersion: float | None = None

    @property
    def confirmatory(self) -> bool:
        """True when the endpoint is in the confirmatory (primary) family."""
        return self.role == "primary" and self.hierarchy > 0

    @property
    def goal_value(self) -> float:
        """The treatment-group value the goal implies (control value + goal)."""
        return self.control_value + self.goal


@dataclass(frozen=True)
class Analysis:
    alpha: float
    alternative: str
    multiplicity: str
    primary_estimator: str
    sensitivity_estimators: tuple[str, ...]
    covariates: tuple[str, ...]
    follow_up_weeks: int


@dataclass(frozen=True)
class BusinessCaseLink:
    case: str
    citizens_treated: int
    horizon_years: int
    drivers: Mapping[str, str]  # endpoint id -> line name


@dataclass(frozen=True)
class ReportSettings:
    schedule: str
    first_quarter: str
    min_cell: int
    language: str


@dataclass(frozen=True)
class Protocol:
    """A validated, pre-registered trial protocol (immutable).

    Attributes mirror the TOML sections. ``text`` is the file as written,
    ``fingerprint`` the SHA-256 of its canonical form.
    """

    trial: TrialInfo
    arms: tuple[Arm, ...]
    allocation: Allocation
    eligibility: Eligibility
    strata: tuple[Stratum, ...]
    baseline_covariates: tuple[str, ...]
    statuses: tuple[str, ...]
    benefit_statuses: tuple[str, ...]
    self_supporting_statuses: tuple[str, ...]
    status_map: Mapping[str, str]
    event_types: tuple[str, ...]
    attrition_events: tuple[str, ...]
    survey_items: tuple[str, ...]
    survey_waves: tuple[int, ...]
    analysis: Analysis
    endpoints: tuple[Endpoint, ...]
    subgroups: tuple[str, ...]
    business_case: BusinessCaseLink | None
    report: ReportSettings
    fingerprint: str
    text: str = field(repr=False)
    path: str | None = None

    # convenience ---------------------------------------------------------
    @property
    def treatment_arm(self) -> Arm:
        return next(a for a in self.arms if a.treatment)

    @property
    def control_arm(self) -> Arm:
        return next(a for a in self.arms if not a.treatment)

    @property
    def capacity(self) -> int | None:
        """Places in the treatment arm (None: unlimited)."""
        return self.treatment_arm.capacity

    @property
    def control_size(self) -> int | None:
        """Planned control-group size: capacity × allocation ratio."""
        if self.capacity is None:
            return None
        return int(round(self.capacity * self.allocation.ratio))

    @property
    def primary_endpoints(self) -> tuple[Endpoint, ...]:
        """The confirmatory family in testing order."""
        return tuple(sorted((e for e in self.endpoints if e.confirmatory), key=lambda e: e.hierarchy))

    def endpoint(self, endpoint_id: str) -> Endpoint:
        for e in self.endpoints:
            if e.id == endpoint_id:
                return e
        raise KeyError(f"no endpoint {endpoint_id!r}; the protocol has {[e.id for e in self.endpoints]}")

    def map_status(self, code: str) -> str:
        return self.status_map[code]

    def summary(self) -> str:
        lines = [
            f"Protocol {self.trial.id}: {self.trial.title_da}",
            f"  fingerprint  {self.fingerprint}",
            "  arms         " + ", ".join(
                f"{a.id}" + (f" (capacity {a.capacity})" if a.capacity else "") for a in self.arms),
            f"  allocation   1:{self.allocation.ratio:g} {self.allocation.scheme}, seed {self.allocation.seed}"
            + (f", control size {self.control_size}" if self.control_size else ""),
            "  strata       " + " x ".join(f"{s.factor} ({len(s.labels)})" for s in self.strata),
            f"  analysis     {self.analysis.primary_estimator}, alpha {self.analysis.alpha:g}, "
            f"{self.analysis.multiplicity}",
            "  endpoints",
        ]
        for e in self.endpoints:
            h = f"#{e.hierarchy}" if e.hierarchy else "  "
            lines.append(
                f"    {h:>3} {e.id:<28} {e.type:<13} {e.role:<11} control {e.control_value:g}, goal {e.goal:+g}"
            )
        return "\n".join(lines)

    def __str__(self) -> str:  # pragma: no cover - formatting
        return self.summary()

    def to_dict(self) -> dict:
        """The protocol as plain data (JSON-ready), with the fingerprint."""
        data = _parse_toml(self.text, self.path)
        return {"fingerprint": self.fingerprint, "path": self.path, "protocol": _jsonable(data)}


# --------------------------------------------------------------------------- fingerprint
def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, (_dt.date, _dt.datetime, _dt.time)):
        return obj.isoformat()
    if isinstance(obj, float) and not math.isfinite(obj):
        return repr(obj)
    return obj


def canonical_json(data: Mapping[str, Any]) -> str:
    """Canonical JSON of parsed protocol data: sorted keys, compact separators."""
    return json.dumps(_jsonable(data), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def fingerprint(data: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of :func:`canonical_json`."""
    return hashlib.sha256(canonical_json(data).encode("utf-8")).hexdigest()


# --------------------------------------------------------------------------- validation helpers
_MISSING = object()


class _V:
    """Small validator bound to a file name, raising ProtocolError."""

    def __init__(self, file: str | None):
        self.file = file

    def fail(self, key: str, message: str):
        raise ProtocolError(key, message, file=self.file)

    def get(self, table: Mapping, name: str, prefix: str, default: Any = _MISSING) -> Any:
        key = f"{prefix}.{name}" if prefix else name
        if not isinstance(table, Mapping):
            self.fail(prefix, f"must be a table; got {type(table).__name__}")
        if name not in table:
            if default is _MISSING:
                self.fail(key, "is required but missing")
            return default
        return table[name]

    def str_(self, table, name, prefix, default=_MISSING, choices=None) -> str:
        v = self.get(table, name, prefix, default)
        key = f"{prefix}.{name}" if prefix else name
        if v is None and default is None:
            return None
        if not isinstance(v, str) or not v.strip():
            self.fail(key, f"must be a non-empty string; got {v!r}")
        if choices is not None and v not in choices:
            self.fail(key, f"must be one of {', '.join(map(repr, choices))}; got {v!r}")
        return v

    def int_(self, table, name, prefix, default=_MISSING, lo=None, hi=None) -> int:
        v = self.get(table, name, prefix, default)
        key = f"{prefix}.{name}" if prefix else name
        if v is None and default is None:
            return None
        if isinstance(v, bool) or not isinstance(v, int):
            self.fail(key, f"must be a whole number; got {v!r}")
        self._range(key, v, lo, hi)
        return v

    def num(self, table, name, prefix, default=_MISSING, lo=None, hi=None, lo_open=False) -> float:
        v = self.get(table, name, prefix, default)
        key = f"{prefix}.{name}" if prefix else name
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            self.fail(key, f"must be a finite number; got {v!r}")
        if lo_open and lo is not None and not v > lo:
            self.fail(key, f"must be a number above {lo:g}; got {v!r}")
        self._range(key, v, None if lo_open else lo, hi)
        return float(v)

    def _range(self, key, v, lo, hi):
        if lo is not None and v < lo:
            self.fail(key, f"must be at least {lo}; got {v!r}")
        if hi is not None and v > hi:
            self.fail(key, f"must be at most {hi}; got {v!r}")

    def bool_(self, table, name, prefix, default=_MISSING) -> bool:
        v = self.get(table, name, prefix, default)
        if not isinstance(v, bool):
            self.fail(f"{prefix}.{name}", f"must be true or false; got {v!r}")
        return v

    def date(self, table, name, prefix) -> _dt.date:
        v = self.get(table, name, prefix)
        key = f"{prefix}.{name}"
        if isinstance(v, _dt.datetime):
            return v.date()
        if isinstance(v, _dt.date):
            return v
        if isinstance(v, str):
            try:
                return _dt.date.fromisoformat(v)
            except ValueError:
                pass
        self.fail(key, f"must be a date written YYYY-MM-DD; got {v!r}")

    def str_list(self, table, name, prefix, default=_MISSING, choices=None, nonempty=True) -> tuple[str, ...]:
        v = self.get(table, name, prefix, default)
        key = f"{prefix}.{name}" if prefix else name
        if not isinstance(v, list) or not all(isinstance(x, str) and x for x in v):
            self.fail(key, f"must be a list of strings; got {v!r}")
        if nonempty and not v:
            self.fail(key, "must not be empty")
        if len(set(v)) != len(v):
            dup = sorted({x for x in v if v.count(x) > 1})
            self.fail(key, f"has duplicates: {dup}")
        if choices is not None:
            bad = [x for x in v if x not in choices]
            if bad:
                self.fail(key, f"values must be among {', '.join(map(repr, choices))}; got {bad[0]!r}")
        return tuple(v)

    def table_list(self, data, name, prefix="") -> list:
        v = self.get(data, name, prefix)
        key = f"{prefix}.{name}" if prefix else name
        if not isinstance(v, list) or not all(isinstance(x, dict) for x in v):
            self.fail(key, f"must be an array of tables ([[{name}]]); got {type(v).__name__}")
        return v


def _check_unknown(v: _V, table: Mapping, allowed: set[str], prefix: str) -> None:
    extra = sorted(set(table) - allowed)
    if extra:
        key = f"{prefix}.{extra[0]}" if prefix else extra[0]
        v.fail(key, f"is not a known key; allowed keys here are {', '.join(sorted(allowed))}")


# --------------------------------------------------------------------------- parsing
def _parse_toml(text: str, file: str | None) -> dict:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ProtocolError("<file>", f"is not valid TOML: {exc}", file=file) from None


def loads(text: str, *, path: str | None = None) -> Protocol:
    """Validate protocol TOML text and return a :class:`Protocol`.

    Raises
    ------
    ProtocolError
        Naming the key, what is allowed and what was given.
    """
    data = _parse_toml(text, path)
    v = _V(path)
    _check_unknown(v, data, {
        "schema_version", "trial", "arms", "allocation", "eligibility", "strata", "baseline",
        "statuses", "status_map", "events", "survey", "analysis", "endpoints", "subgroups",
        "business_case", "report",
    }, "")
    sv = v.int_(data, "schema_version", "")
    if sv != 1:
        v.fail("schema_version", f"must be 1 (the only schema this version reads); got {sv!r}")

    t = v.get(data, "trial", "")
    trial = TrialInfo(
        id=v.str_(t, "id", "trial"),
        title_da=v.str_(t, "title_da", "trial"),
        title_en=v.str_(t, "title_en", "trial"),
        sponsor=v.str_(t, "sponsor", "trial"),
        evaluator=v.str_(t, "evaluator", "trial"),
        registered=v.date(t, "registered", "trial"),
        first_referral=v.date(t, "first_referral", "trial"),
        analysis_date=v.date(t, "analysis_date", "trial"),
        language=v.str_(t, "language", "trial", "da", choices=("da", "en")),
    )
    if trial.analysis_date <= trial.first_referral:
        v.fail("trial.analysis_date", f"must come after trial.first_referral ({trial.first_referral}); "
               f"got {trial.analysis_date}")

    arms_raw = v.table_list(data, "arms")
    arms = []
    for i, a in enumerate(arms_raw):
        p = f"arms[{i}]"
        _check_unknown(v, a, {"id", "label_da", "label_en", "capacity", "treatment"}, p)
        cap = v.int_(a, "capacity", p, None, lo=1)
        arms.append(Arm(id=v.str_(a, "id", p), label_da=v.str_(a, "label_da", p),
                        label_en=v.str_(a, "label_en", p), treatment=v.bool_(a, "treatment", p),
                        capacity=cap))
    if len(arms) != 2:
        v.fail("arms", f"must define exactly 2 arms (one treatment, one control); got {len(arms)}")
    if sum(a.treatment for a in arms) != 1:
        v.fail("arms", "must have exactly one arm with treatment = true")
    if arms[0].id == arms[1].id:
        v.fail("arms[1].id", f"must differ from arms[0].id; got {arms[1].id!r} twice")

    al = v.get(data, "allocation", "")
    _check_unknown(v, al, {"ratio", "scheme", "block_sizes", "when_full", "seed", "bit_generator",
                           "minimisation_p"}, "allocation")
    ratio = v.num(al, "ratio", "allocation", lo=0, lo_open=True)
    scheme = v.str_(al, "scheme", "allocation", choices=SCHEMES)
    blocks = v.get(al, "block_sizes", "allocation", [])
    if not isinstance(blocks, list) or not all(isinstance(b, int) and not isinstance(b, bool) and b > 0
                                               for b in blocks):
        v.fail("allocation.block_sizes", f"must be a list of positive whole numbers; got {blocks!r}")
    if scheme == "permuted_blocks":
        if not blocks:
            v.fail("allocation.block_sizes", "is required when scheme = 'permuted_blocks'")
        if not float(ratio).is_integer():
            v.fail("allocation.ratio", f"must be a whole number with permuted blocks; got {ratio:g}")
        unit = 1 + int(ratio)
        bad = [b for b in blocks if b % unit]
        if bad:
            v.fail("allocation.block_sizes", f"each block size must be a multiple of 1 + ratio = {unit}; "
                   f"got {bad[0]}")
    seed = v.int_(al, "seed", "allocation", lo=0, hi=2**63 - 1)
    allocation = Allocation(
        ratio=ratio, scheme=scheme, block_sizes=tuple(blocks),
        when_full=v.str_(al, "when_full", "allocation", "stop", choices=WHEN_FULL),
        seed=seed,
        bit_generator=v.str_(al, "bit_generator", "allocation", "PCG64", choices=BIT_GENERATORS),
        minimisation_p=v.num(al, "minimisation_p", "allocation", 0.8, lo=0.5, hi=1.0),
    )

    el = v.get(data, "eligibility", "")
    _check_unknown(v, el, {"min_age", "max_age", "municipality_codes", "referral_types"}, "eligibility")
    min_age = v.int_(el, "min_age", "eligibility", lo=0, hi=120)
    max_age = v.int_(el, "max_age", "eligibility", lo=0, hi=120)
    if max_age < min_age:
        v.fail("eligibility.max_age", f"must be at least eligibility.min_age ({min_age}); got {max_age}")
    codes = v.get(el, "municipality_codes", "eligibility")
    if not isinstance(codes, list) or not codes or not all(isinstance(c, int) and not isinstance(c, bool)
                                                           for c in codes):
        v.fail("eligibility.municipality_codes", f"must be a non-empty list of whole numbers; got {codes!r}")
    eligibility = Eligibility(min_age, max_age, tuple(codes),
                              v.str_list(el, "referral_types", "eligibility"))

    strata = []
    for i, s in enumerate(v.table_list(data, "strata")):
        p = f"strata[{i}]"
        _check_unknown(v, s, {"factor", "source", "breaks", "labels", "levels"}, p)
        labels = v.str_list(s, "labels", p)
        breaks = s.get("breaks")
        levels = s.get("levels")
        if (breaks is None) == (levels is None):
            v.fail(p, "must give either `breaks` (numeric cut points) or `levels` (categories), not both or neither")
        if breaks is not None:
            if (not isinstance(breaks, list) or not all(isinstance(b, (int, float)) for b in breaks)
                    or any(b2 <= b1 for b1, b2 in zip(breaks, breaks[1:]))):
                v.fail(f"{p}.breaks", f"must be an increasing list of numbers; got {breaks!r}")
            if len(labels) != len(breaks) - 1:
                v.fail(f"{p}.labels", f"must have len(breaks) - 1 = {len(breaks) - 1} labels; got {len(labels)}")
        else:
            if not isinstance(levels, list) or len(levels) != len(labels):
                v.fail(f"{p}.levels", f"must be a list as long as labels ({len(labels)}); got {levels!r}")
        strata.append(Stratum(factor=v.str_(s, "factor", p), source=v.str_(s, "source", p), labels=labels,
                              breaks=tuple(breaks) if breaks is not None else None,
                              levels=tuple(levels) if levels is not None else None))

    bl = v.get(data, "baseline", "")
    baseline = v.str_list(bl, "covariates", "baseline")

    st = v.get(data, "statuses", "")
    _check_unknown(v, st, {"codes", "benefits", "self_supporting"}, "statuses")
    statuses = v.str_list(st, "codes", "statuses")
    benefits = v.str_list(st, "benefits", "statuses", choices=statuses)
    selfsup = v.str_list(st, "self_supporting", "statuses", choices=statuses)
    smap = v.get(data, "status_map", "")
    if not isinstance(smap, dict) or not smap:
        v.fail("status_map", "must be a table of source code = protocol status")
    for code, target in smap.items():
        if target not in statuses:
            v.fail(f"status_map.{code}", f"must map to one of {', '.join(statuses)}; got {target!r}")

    ev = v.get(data, "events", "")
    event_types = v.str_list(ev, "types", "events")
    attrition = v.str_list(ev, "attrition", "events", choices=event_types)
    sv_ = v.get(data, "survey", "")
    items = v.str_list(sv_, "items", "survey")
    waves = v.get(sv_, "waves", "survey")
    if not isinstance(waves, list) or not waves or not all(isinstance(w, int) for w in waves) or waves[0] != 0:
        v.fail("survey.waves", f"must be a list of whole numbers starting with 0 (baseline); got {waves!r}")

    an = v.get(data, "analysis", "")
    _check_unknown(v, an, {"alpha", "alternative", "multiplicity", "primary_estimator",
                           "sensitivity_estimators", "covariates", "follow_up_weeks"}, "analysis")
    alpha = v.num(an, "alpha", "analysis", lo=0, hi=0.5, lo_open=True)
    covs = v.str_list(an, "covariates", "analysis", (), nonempty=False)
    bad_cov = [c for c in covs if c not in baseline]
    if bad_cov:
        v.fail("analysis.covariates", f"must be among baseline.covariates {list(baseline)}; got {bad_cov[0]!r}")
    analysis = Analysis(
        alpha=alpha,
        alternative=v.str_(an, "alternative", "analysis", "two-sided", choices=ALTERNATIVES),
        multiplicity=v.str_(an, "multiplicity", "analysis", choices=MULTIPLICITY_RULES),
        primary_estimator=v.str_(an, "primary_estimator", "analysis", choices=ESTIMATORS),
        sensitivity_estimators=v.str_list(an, "sensitivity_estimators", "analysis", (), choices=ESTIMATORS,
                                          nonempty=False),
        covariates=covs,
        follow_up_weeks=v.int_(an, "follow_up_weeks", "analysis", lo=1),
    )

    endpoints = []
    seen = set()
    for i, e in enumerate(v.table_list(data, "endpoints")):
        p = f"endpoints[{i}]"
        _check_unknown(v, e, {"id", "label_da", "label_en", "type", "rule", "statuses", "events", "measure",
                              "item", "wave", "horizon_weeks", "control_value", "goal", "goal_da",
                              "direction", "role", "hierarchy", "sd", "dispersion"}, p)
        eid = v.str_(e, "id", p)
        if eid in seen:
            v.fail(f"{p}.id", f"must be unique; {eid!r} is used twice")
        seen.add(eid)
        etype = v.str_(e, "type", p, choices=ENDPOINT_TYPES)
        rule = v.str_(e, "rule", p, choices=tuple(ENDPOINT_RULES))
        if ENDPOINT_RULES[rule] != etype:
            v.fail(f"{p}.type", f"rule {rule!r} gives a {ENDPOINT_RULES[rule]!r} endpoint; got type {etype!r}")
        ep_statuses: tuple[str, ...] = ()
        ep_events: tuple[str, ...] = ()
        measure = item = wave = None
        if rule in ("status_at", "ever_status", "weeks_in_status", "time_to_status"):
            ep_statuses = v.str_list(e, "statuses", p, choices=statuses)
        elif rule in ("event_any", "event_rate"):
            ep_events = v.str_list(e, "events", p, choices=event_types)
            if rule == "event_rate":
                measure = v.str_(e, "measure", p, choices=MEASURES)
        else:
            item = v.str_(e, "item", p, choices=items)
            wave = v.int_(e, "wave", p)
            if wave not in waves or wave == 0:
                v.fail(f"{p}.wave", f"must be a follow-up wave among {waves[1:]}; got {wave!r}")
        horizon = v.int_(e, "horizon_weeks", p, lo=1)
        if horizon > analysis.follow_up_weeks:
            v.fail(f"{p}.horizon_weeks", f"must be at most analysis.follow_up_weeks "
                   f"({analysis.follow_up_weeks}); got {horizon}")
        control = v.num(e, "control_value", p)
        goal = v.num(e, "goal", p)
        if etype == "binary":
            if not 0 <= control <= 1:
                v.fail(f"{p}.control_value", f"must be a share between 0 and 1 for a binary endpoint; got {control:g}")
            if not 0 <= control + goal <= 1:
                v.fail(f"{p}.goal", f"control_value + goal must be a share between 0 and 1; got {control + goal:g}")
        sd = dispersion = None
        if "sd" in e:
            if etype not in ("continuous", "count"):
                v.fail(f"{p}.sd", f"applies to continuous and count endpoints only; this one is {etype!r}")
            sd = v.num(e, "sd", p, lo=0, lo_open=True)
        if "dispersion" in e:
            if rule != "event_rate":
                v.fail(f"{p}.dispersion", f"applies to event_rate endpoints only; this one uses {rule!r}")
            dispersion = v.num(e, "dispersion", p, lo=0)
        direction = v.str_(e, "direction", p, choices=DIRECTIONS)
        if goal and (goal > 0) != (direction == "increase"):
            v.fail(f"{p}.goal", f"has sign opposite to direction = {direction!r}; got {goal:+g}")
        role = v.str_(e, "role", p, choices=ROLES)
        hierarchy = v.int_(e, "hierarchy", p, lo=0)
        if role != "primary" and hierarchy:
            v.fail(f"{p}.hierarchy", f"must be 0 for a {role} endpoint (only primary endpoints are tested "
                   f"confirmatorily); got {hierarchy}")
        endpoints.append(Endpoint(
            id=eid, label_da=v.str_(e, "label_da", p), label_en=v.str_(e, "label_en", p), type=etype, rule=rule,
            horizon_weeks=horizon, control_value=control, goal=goal, goal_da=v.str_(e, "goal_da", p),
            direction=direction, role=role, hierarchy=hierarchy, statuses=ep_statuses, events=ep_events,
            measure=measure, item=item, wave=wave, sd=sd, dispersion=dispersion,
        ))
    ranks = sorted(e.hierarchy for e in endpoints if e.hierarchy)
    if not ranks:
        v.fail("endpoints", "must include at least one primary endpoint with hierarchy >= 1")
    if ranks != list(range(1, len(ranks) + 1)):
        v.fail("endpoints", f"hierarchy ranks of primary endpoints must be 1, 2, ..., {len(ranks)} without gaps "
               f"or ties; got {ranks}")

    strata_names = {s.factor for s in strata}
    subgroups = []
    for i, s in enumerate(data.get("subgroups", [])):
        f = v.str_(s, "factor", f"subgroups[{i}]")
        if f not in strata_names and f not in baseline:
            v.fail(f"subgroups[{i}].factor", f"must be a stratum or baseline covariate; got {f!r}")
        subgroups.append(f)

    bc = data.get("business_case")
    link = None
    if bc is not None:
        drivers = {}
        for i, d in enumerate(bc.get("drivers", [])):
            p = f"business_case.drivers[{i}]"
            ep = v.str_(d, "endpoint", p)
            if ep not in seen:
                v.fail(f"{p}.endpoint", f"must be an endpoint id among {sorted(seen)}; got {ep!r}")
            drivers[ep] = v.str_(d, "line", p)
        link = BusinessCaseLink(case=v.str_(bc, "case", "business_case"),
                                citizens_treated=v.int_(bc, "citizens_treated", "business_case", lo=1),
                                horizon_years=v.int_(bc, "horizon_years", "business_case", lo=1),
                                drivers=MappingProxyType(drivers))

    rp = v.get(data, "report", "")
    fq = v.str_(rp, "first_quarter", "report")
    if len(fq) != 6 or not fq[:4].isdigit() or fq[4] != "Q" or fq[5] not in "1234":
        v.fail("report.first_quarter", f"must be written like 2017Q1; got {fq!r}")
    report = ReportSettings(
        schedule=v.str_(rp, "schedule", "report", choices=SCHEDULES), first_quarter=fq,
        min_cell=v.int_(rp, "min_cell", "report", 5, lo=3),
        language=v.str_(rp, "language", "report", "da", choices=("da", "en")),
    )

    return Protocol(
        trial=trial, arms=tuple(arms), allocation=allocation, eligibility=eligibility, strata=tuple(strata),
        baseline_covariates=baseline, statuses=statuses, benefit_statuses=benefits,
        self_supporting_statuses=selfsup, status_map=MappingProxyType(dict(smap)), event_types=event_types,
        attrition_events=attrition, survey_items=items, survey_waves=tuple(waves), analysis=analysis,
        endpoints=tuple(endpoints), subgroups=tuple(subgroups), business_case=link, report=report,
        fingerprint=fingerprint(data), text=text, path=path,
    )


def load(path: str | Path | None = None) -> Protocol:
    """Load and validate a protocol file (default: the shipped BI25 protocol).

    Examples
    --------
    >>> p = load()
    >>> p.trial.id, p.capacity, p.control_size
    ('BI25-RF-2016', 100, 300)
    >>> [e.id for e in p.primary_endpoints]
    ['extension', 'ordinary_employment', 'fleksjob']
    """
    path = Path(path) if path is not None else DEFAULT_PROTOCOL
    return loads(read_utf8(path, ProtocolError), path=str(path))


def read_utf8(path: Path, error: type) -> str:
    """The text of a UTF-8 file (a BOM is allowed); an unreadable or non-UTF-8 file raises
    ``error("<file>", message, file=path)`` (ProtocolError, BusinessCaseError, ...)."""
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise error("<file>", f"cannot be read: {exc.strerror}", file=str(path)) from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise error("<file>", "must be UTF-8 text", file=str(path)) from None
