"""Case files, lines and the deterministic engine (totals, tables, payback, NPV)."""
from __future__ import annotations

import dataclasses
import math
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping

import numpy as np

from ..exceptions import BusinessCaseError

AREAS = ("Service", "EI", "EO")
AREA_LABELS_DA = {
    "Service": "Service",
    "EI": "Efterspørgselsstyret indsats (EI)",
    "EO": "Efterspørgselsstyrede overførsler (EO)",
}
PAYERS = ("kommune", "region", "stat")
BASES = ("målt", "antaget")
KINDS = ("permanent", "investment")
#: Copenhagen's administrations and their committees (used when a case file has no [committees]).
DEFAULT_COMMITTEES = MappingProxyType({
    "BIF": "Beskæftigelses- og Integrationsudvalget",
    "SOF": "Socialudvalget",
    "SUF": "Sundheds- og Omsorgsudvalget",
    "BUF": "Børne- og Ungdomsudvalget",
    "KFF": "Kultur- og Fritidsudvalget",
    "TMF": "Teknik- og Miljøudvalget",
    "ØKF": "Økonomiudvalget",
})
UNIT_DECIMALS = {"1000 kr": 0, "kr": 0, "mio kr": 1}
UNIT_LABELS_DA = {"1000 kr": "1.000 kr.", "kr": "kr.", "mio kr": "mio. kr."}
DATA_DIR = Path(__file__).resolve().parent.parent / "data"
_DETAIL_RE = re.compile(r"^table\d+[a-z]?_(service|ei|eo)$")
_DETAIL_AREA = {"service": "Service", "ei": "EI", "eo": "EO"}


def default_discount_rate(price_level: int | None) -> float:
    """Finansministeriet's real discount rate for a case at a given price level.

    4 % for cases from 2013 to 2020, 3.5 % from 2021, 5 % before 2013 (the rate
    in force until 2013). A case without a price level gets 4 %.

    >>> default_discount_rate(2016), default_discount_rate(2021)
    (0.04, 0.035)
    """
    if price_level is None:
        return 0.04
    if price_level >= 2021:
        return 0.035
    if price_level >= 2013:
        return 0.04
    return 0.05


def round_half_away(x, decimals: int = 0):
    """Round half away from zero, as spreadsheets (Excel's ROUND) do.

    Python's :func:`round` and :func:`numpy.round` round half to even, which
    would print -46.5 as -46 where a municipal case prints -47.

    >>> float(round_half_away(-46.5)), float(round_half_away(2.5)), float(round_half_away(-0.25, 1))
    (-47.0, 3.0, -0.3)
    """
    x = np.asarray(x, dtype=float)
    f = 10.0 ** decimals
    return np.sign(x) * np.floor(np.abs(x) * f + 0.5 + 1e-9) / f


# --------------------------------------------------------------------------- objects
@dataclass(frozen=True)
class Component:
    """One budget effect of a driver: per citizen-year amount in one area, phased over years."""

    area: str
    #: amount per citizen-year per unit of effect; ``None`` in a variant line whose price the user must
    #: enter (``unit_costs`` / ``trial business-case --unit-cost``), e.g. a price per admission day
    per_citizen: float | None
    phasing: tuple[float, ...]
    label: str | None = None
    payer: str = "kommune"


@dataclass(frozen=True)
class Driver:
    """A permanent change driven by an effect: effect × citizens × per_citizen × phasing."""

    line: str
    group: str
    administration: str
    committee: str
    assumed_effect: float
    components: tuple[Component, ...]
    #: short name of what the line counts, without the published effect (``"Beskæftigelseseffekt,
    #: fleksjob"`` for "Beskæftigelseseffekt 5 pct. vil overgå til fleksjob"); a measured line is
    #: labelled with it and the effect used (:meth:`Case.line_label`). Default: the line name.
    topic: str | None = None
    #: name of the variant this line belongs to (``None``: the case's own line). A variant line is
    #: counted only when its variant is chosen (:meth:`Case.with_variants`) and then *replaces* the
    #: lines or components named in ``replaces`` (``"line"`` or ``"line: component label"``), so the
    #: same money is never counted twice.
    variant: str | None = None
    replaces: tuple[str, ...] = ()
    #: where a measured effect comes from when the protocol's ``[business_case.drivers]`` does not map
    #: the line: an endpoint id, or ``"benefit_years"`` / ``"benefit_years:<name>"`` (Δ helårspersoner on
    #: ``benefits`` in follow-up weeks ``weeks`` of the weekly panel,
    #: :func:`trial.business_case.benefit_years_effect`)
    endpoint: str | None = None
    #: what one unit of the effect counts, for labels (default: a share, shown in procentpoint)
    effect_unit: str | None = None
    benefits: tuple[str, ...] = ()
    weeks: tuple[int, int] | None = None


@dataclass(frozen=True)
class Line:
    """One line of a case: a permanent change or an investment, amounts per year.

    ``basis`` is ``"målt"`` when the amounts rest on an effect estimated in the
    trial and ``"antaget"`` when they rest on an assumption.
    """

    kind: str
    line: str
    administration: str
    area: str
    amounts: tuple[float, ...]
    group: str
    committee: str
    payer: str = "kommune"
    basis: str = "antaget"
    label: str | None = None
    driver: str | None = None
    funded_by_innovation_pool: bool = False

    @property
    def name(self) -> str:
        """Line name with the administration, as the municipal template prints it."""
        return f"{self.line} ({self.administration})"


@dataclass(frozen=True, eq=False)
class Case:
    """A business case: meta data, explicit lines, drivers and published figures.

    Build one with :func:`load_case`. Driver lines are computed at
    ``effects`` (effect per treated citizen, by driver line; default the
    driver's ``assumed_effect``); :meth:`with_effects` returns a new case with
    other effects.
    """

    title: str
    unit: str
    price_level: int | None
    years: tuple[str, ...]
    year_labels: tuple[str, ...]
    citizens_treated: int | None
    discount_rate: float
    lines: tuple[Line, ...]
    drivers: tuple[Driver, ...] = ()
    detail: tuple[Line, ...] = ()
    committees: Mapping[str, str] = field(default_factory=lambda: DEFAULT_COMMITTEES)
    published: Mapping[str, Any] = field(default_factory=dict)
    path: str | None = None
    effects: Mapping[str, float] = field(default_factory=dict)
    effect_basis: Mapping[str, str] = field(default_factory=dict)
    #: the case file's variant lines (``[[driver]]`` with ``variant = ...``), not counted until chosen
    variant_drivers: tuple[Driver, ...] = ()
    #: the variants chosen (:meth:`with_variants`); their lines are in :attr:`drivers`
    variants: tuple[str, ...] = ()
    #: whole driver lines a chosen variant took out of the case: line -> variant
    replaced_lines: Mapping[str, str] = field(default_factory=dict)

    @property
    def n_years(self) -> int:
        return len(self.years)

    @property
    def decimals(self) -> int:
        """Decimals the case prints (0 for 1.000 kr., 1 for mio. kr.)."""
        return UNIT_DECIMALS.get(self.unit, 0)

    def driver(self, line: str) -> Driver:
        for d in self.drivers:
            if d.line == line:
                return d
        raise BusinessCaseError("line", f"no driver line {line!r}; the case has "
                                f"{[d.line for d in self.drivers]}", file=self.path)

    def effect(self, line: str) -> float:
        """Effect per treated citizen used for a driver line."""
        return float(self.effects.get(line, self.driver(line).assumed_effect))

    def basis(self, line: str) -> str:
        return self.effect_basis.get(line, "antaget")

    def driver_lines(self) -> tuple[Line, ...]:
        """The permanent lines the drivers give at the case's effects."""
        if self.drivers and not self.citizens_treated:
            raise BusinessCaseError("meta.citizens_treated", "is required when the case has [[driver]] "
                                    "lines (effect per citizen × citizens treated)", file=self.path)
        out = []
        for d in self.drivers:
            eff = self.effect(d.line)
            for c in d.components:
                require_price(d, c, file=self.path)
                amounts = tuple(float(eff * self.citizens_treated * c.per_citizen * p) for p in c.phasing)
                out.append(Line(kind="permanent", line=d.line, administration=d.administration, area=c.area,
                                amounts=amounts, group=d.group, committee=d.committee, payer=c.payer,
                                basis=self.basis(d.line), label=c.label, driver=d.line))
        return tuple(out)

    def all_lines(self) -> tuple[Line, ...]:
        """Explicit lines and driver lines (permanent first, then investments)."""
        lines = list(self.lines) + list(self.driver_lines())
        return tuple([ln for ln in lines if ln.kind == "permanent"] + [ln for ln in lines if ln.kind == "investment"])

    def line_label(self, line: str) -> str:
        """The name a table prints for ``line``: the published name while the line rests on the
        case's assumption; for a line fed with a measured effect the driver's topic and that effect,
        e.g. ``"Beskæftigelseseffekt, fleksjob (målt: +9,9 procentpoint)"`` (the published
        "5 pct. vil overgå til fleksjob" no longer holds)."""
        from .._format import fmt_number

        d = next((d for d in self.drivers if d.line == line), None)
        if d is None or self.basis(line) != "målt":
            return line
        if d.effect_unit:
            v, unit = self.effect(line), d.effect_unit
            num = fmt_number(v, 3)
        else:
            v, unit = 100 * self.effect(line), "procentpoint"
            num = fmt_number(v, 1)
        sign = "+" if v > 0 and not num.startswith("-") else ""
        return f"{d.topic or d.line} (målt: {sign}{num} {unit})"

    @property
    def available_variants(self) -> tuple[str, ...]:
        """Names of the case file's variants (in file order)."""
        return tuple(dict.fromkeys(d.variant for d in self.variant_drivers))

    def with_variants(self, names) -> "Case":
        """A copy in which the variants ``names`` are counted: their lines replace what they name.

        A variant line's ``replaces`` names a whole driver line (``"line"``) or
        one of its components (``"line: component label"``); that line or
        component leaves the case and the variant line enters it. At the
        assumed effects a variant that counts the same money another way gives
        the same totals (the helårspersoner variant of BI25 does: tested).

        Parameters
        ----------
        names : iterable of str
            Variant names (:attr:`available_variants`); already chosen ones are skipped.

        Raises
        ------
        BusinessCaseError
            An unknown variant, or a line or component to replace that the case
            does not have (or that another chosen variant replaced already).
        """
        if isinstance(names, str):
            names = [names]
        names = list(dict.fromkeys(str(n) for n in names))
        avail = self.available_variants
        for n in names:
            if n not in avail:
                raise BusinessCaseError("variant", f"the case has no variant {n!r}; its variants are "
                                        f"{', '.join(avail) or 'none'}", file=self.path)
        drivers = list(self.drivers)
        chosen = list(self.variants)
        gone = dict(self.replaced_lines)
        for n in names:
            if n in chosen:
                continue
            for vd in (d for d in self.variant_drivers if d.variant == n):
                for target in vd.replaces:
                    before = {d.line for d in drivers}
                    drivers = _replace_target(drivers, target, vd, chosen, file=self.path)
                    for ln in before - {d.line for d in drivers}:
                        gone[ln] = n
                drivers.append(vd)
            chosen.append(n)
        return dataclasses.replace(self, drivers=tuple(drivers), variants=tuple(chosen),
                                   replaced_lines=MappingProxyType(gone))

    def with_effects(self, effects: Mapping[str, float], basis: Mapping[str, str] | None = None) -> "Case":
        """A copy with other effects per driver line (and their målt/antaget basis)."""
        known = {d.line for d in self.drivers}
        bad = [k for k in effects if k not in known]
        if bad:
            raise BusinessCaseError("effects", f"names no driver line of the case: {bad[0]!r}; "
                                    f"lines are {sorted(known)}", file=self.path)
        return dataclasses.replace(self, effects=MappingProxyType({**self.effects, **effects}),
                                   effect_basis=MappingProxyType({**self.effect_basis, **(basis or {})}))

    def scaled(self, *, prices: float = 1.0, duration: int | None = None) -> "Case":
        """A copy with driver unit amounts × ``prices`` and effects lasting ``duration`` years.

        ``duration`` counts from the first year a component has a non-zero
        phasing; later years get phasing 0 (the case years only; beyond them
        :func:`extend_years` continues the last year).
        """
        def scale(ds):
            out = []
            for d in ds:
                comps = []
                for c in d.components:
                    ph = list(c.phasing)
                    if duration is not None:
                        nz = [i for i, p in enumerate(ph) if p]
                        if nz:
                            ph = [p if i < nz[0] + duration else 0.0 for i, p in enumerate(ph)]
                    comps.append(dataclasses.replace(
                        c, per_citizen=None if c.per_citizen is None else c.per_citizen * prices, phasing=tuple(ph)))
                out.append(dataclasses.replace(d, components=tuple(comps)))
            return tuple(out)

        # the variant lines too, so a variant chosen after scaling is scaled alike
        return dataclasses.replace(self, drivers=scale(self.drivers), variant_drivers=scale(self.variant_drivers))


def require_price(d: Driver, c: Component, *, file=None) -> float:
    """The component's amount per citizen-year, or a clear error when the user must enter it."""
    if c.per_citizen is None:
        what = c.label or c.area
        raise BusinessCaseError(
            f"driver[{d.line!r}].{what}",
            f"has no price: the line belongs to variant {d.variant!r}, whose unit amount the case does not give, "
            f"so it must be entered (antaget) as an amount in the case's unit per unit of the effect"
            + (f" (the effect counts {d.effect_unit})" if d.effect_unit else "")
            + f": `trial business-case ... --unit-cost '{d.line}=<amount>'` or "
            f"effect_fed_case(..., unit_costs={{{d.line!r}: {{{what!r}: <amount>}}}})", file=file)
    return c.per_citizen


def _split_target(target: str, lines=()) -> tuple[str, str | None]:
    """``"line"`` or ``"line: component label"``; a target that is itself a line name (even one with
    ": " in it) is that whole line, else it is split at its last ": "."""
    if target in lines:
        return target, None
    line, sep, comp = target.rpartition(": ")
    return (line, comp) if sep else (target, None)


def _replace_target(drivers: list, target: str, by: Driver, chosen, *, file=None) -> list:
    """``drivers`` without the driver line or component ``target`` (replaced by variant line ``by``)."""
    line, comp = _split_target(target, [d.line for d in drivers if d.variant is None])
    idx = [i for i, d in enumerate(drivers) if d.line == line and d.variant is None]
    if not idx:
        raise BusinessCaseError(f"driver[{by.line!r}].replaces", f"names line {line!r}, which the case does not "
                                f"have" + (f" any more (chosen variants: {', '.join(chosen)})" if chosen else "")
                                + f"; its lines are {[d.line for d in drivers if d.variant is None]}", file=file)
    i = idx[0]
    d = drivers[i]
    if comp is None:
        return drivers[:i] + drivers[i + 1:]
    keep = tuple(c for c in d.components if c.label != comp)
    if len(keep) == len(d.components):
        raise BusinessCaseError(f"driver[{by.line!r}].replaces", f"names component {comp!r} of line {line!r}, "
                                f"which has no component with that label; its components are "
                                f"{[c.label or c.area for c in d.components]}", file=file)
    if not keep:
        return drivers[:i] + drivers[i + 1:]
    return drivers[:i] + [dataclasses.replace(d, components=keep)] + drivers[i + 1:]


# --------------------------------------------------------------------------- loading
class _V:
    def __init__(self, file):
        self.file = file

    def fail(self, key, message):
        raise BusinessCaseError(key, message, file=self.file)

    def str_(self, t, name, prefix, default=None, required=True, choices=None):
        key = f"{prefix}.{name}" if prefix else name
        if name not in t:
            if required and default is None:
                self.fail(key, "is required but missing")
            return default
        v = t[name]
        if not isinstance(v, str) or not v.strip():
            self.fail(key, f"must be a non-empty string; got {v!r}")
        if choices is not None and v not in choices:
            self.fail(key, f"must be one of {', '.join(map(repr, choices))}; got {v!r}")
        return v

    def num(self, t, name, prefix, default=None, lo=None, hi=None):
        key = f"{prefix}.{name}" if prefix else name
        if name not in t:
            if default is None:
                self.fail(key, "is required but missing")
            return default
        v = t[name]
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            self.fail(key, f"must be a finite number; got {v!r}")
        if lo is not None and v < lo:
            self.fail(key, f"must be at least {lo:g}; got {v!r}")
        if hi is not None and v > hi:
            self.fail(key, f"must be at most {hi:g}; got {v!r}")
        return v

    def amounts(self, t, name, prefix, n):
        key = f"{prefix}.{name}"
        v = t.get(name)
        if (not isinstance(v, list) or not all(isinstance(x, (int, float)) and not isinstance(x, bool)
                                               and math.isfinite(x) for x in v)):
            self.fail(key, f"must be a list of {n} numbers (one per year in meta.years); got {v!r}")
        if len(v) != n:
            self.fail(key, f"must have {n} amounts (one per year in meta.years); got {len(v)}")
        return tuple(float(x) for x in v)

    def unknown(self, t, allowed, prefix):
        extra = sorted(set(t) - set(allowed))
        if extra:
            self.fail(f"{prefix}.{extra[0]}" if prefix else extra[0],
                      f"is not a known key; allowed keys here are {', '.join(sorted(allowed))}")


#: The year headers of published cases whose data file names its years by position (``year1``…): the
#: BI25 case prints "2016/17, 2018, 2019, 2020, …, 2022" (the first budget year is the trial's start in
#: Q4 2016 together with 2017). ``shared/reference/bi25.toml`` must stay as published, so the labels
#: live here; a case file may give its own ``[meta] year_labels``.
PUBLISHED_YEAR_LABELS = {
    "Sundhed, social mobilitet og beskæftigelse for borgere i ressourceforløb":
        ("2016/17", "2018", "2019", "2020", "2021", "2022"),
}
_POSITIONAL_YEAR = re.compile(r"year\s*_?(\d+)$", re.IGNORECASE)


def published_year_labels(title, years, price_level=None) -> list:
    """Year headers for a case file without ``[meta] year_labels``.

    Names that are real labels are kept. Positional names (``year1``, ``year2``…)
    become the published headers of a known case (:data:`PUBLISHED_YEAR_LABELS`),
    else — with a ``price_level`` — the calendar years from it
    (``price_level``, ``price_level + 1``, …), else ``år 1``, ``år 2``, ….

    Examples
    --------
    >>> published_year_labels("Et andet forslag", ["year1", "year2"], 2019)
    ['2019', '2020']
    >>> published_year_labels("x", ["2019", "2020"], 2019)
    ['2019', '2020']
    """
    if not isinstance(years, list) or not all(isinstance(y, str) and _POSITIONAL_YEAR.match(y) for y in years):
        return years
    known = PUBLISHED_YEAR_LABELS.get(title)
    if known is not None and len(known) == len(years):
        return list(known)
    if isinstance(price_level, int) and not isinstance(price_level, bool):
        return [str(price_level + k) for k in range(len(years))]
    return [f"år {_POSITIONAL_YEAR.match(y).group(1)}" for y in years]


def loads_case(text: str, *, path: str | None = None) -> Case:
    """Parse and validate case-file TOML text (see :func:`load_case`)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise BusinessCaseError("<file>", f"is not valid TOML: {exc}", file=path) from None
    v = _V(path)
    top = {"meta", "committees", "permanent", "investment", "driver", "published", "assumptions"}
    for k in data:
        if k not in top and not _DETAIL_RE.match(k):
            v.fail(k, "is not a known section; allowed are " + ", ".join(sorted(top))
                   + " and detail tables named tableN_service, tableN_ei, tableN_eo")
    meta = data.get("meta")
    if not isinstance(meta, dict):
        v.fail("meta", "is required: a [meta] table with title, unit, price_level and years")
    v.unknown(meta, {"title", "unit", "price_level", "years", "year_labels", "citizens_treated", "trial_years",
                     "referrals_per_year", "discount_rate", "printed_decimals"}, "meta")
    years = meta.get("years")
    if not isinstance(years, list) or not years or not all(isinstance(y, str) and y for y in years):
        v.fail("meta.years", f"must be a non-empty list of year names; got {years!r}")
    n = len(years)
    labels = meta.get("year_labels")
    if labels is None:
        labels = published_year_labels(meta.get("title"), years, meta.get("price_level"))
    if not isinstance(labels, list) or len(labels) != n or not all(isinstance(y, str) for y in labels):
        v.fail("meta.year_labels", f"must be a list of {n} strings (one per year); got {labels!r}")
    unit = v.str_(meta, "unit", "meta", choices=tuple(UNIT_DECIMALS))
    pl = meta.get("price_level")
    if pl is not None and (isinstance(pl, bool) or not isinstance(pl, int) or not 1900 <= pl <= 2100):
        v.fail("meta.price_level", f"must be a year such as 2016; got {pl!r}")
    citizens = meta.get("citizens_treated")
    if citizens is not None and (isinstance(citizens, bool) or not isinstance(citizens, int) or citizens < 1):
        v.fail("meta.citizens_treated", f"must be a whole number above 0; got {citizens!r}")
    rate = v.num(meta, "discount_rate", "meta", default=default_discount_rate(pl), lo=0, hi=0.5)
    committees = data.get("committees", dict(DEFAULT_COMMITTEES))
    if not isinstance(committees, dict) or not all(isinstance(x, str) and x for x in committees.values()):
        v.fail("committees", "must be a table of administration = committee name")
    committees = MappingProxyType(dict(committees))

    def committee_of(t, prefix, admin):
        c = v.str_(t, "committee", prefix, required=False)
        if c is None:
            c = committees.get(admin)
        if c is None:
            v.fail(f"{prefix}.committee", f"is missing and administration {admin!r} is not in [committees] "
                   f"({', '.join(committees)}); give committee = \"...\" on the line or add it to [committees]")
        return c

    lines = []
    for kind in KINDS:
        arr = data.get(kind, [])
        if not isinstance(arr, list) or not all(isinstance(x, dict) for x in arr):
            v.fail(kind, f"must be an array of tables ([[{kind}]])")
        for i, t in enumerate(arr):
            p = f"{kind}[{i}]"
            v.unknown(t, {"line", "administration", "area", "amounts", "group", "committee", "payer", "basis",
                          "funded_by_innovation_pool", "label"}, p)
            admin = v.str_(t, "administration", p)
            name = v.str_(t, "line", p)
            pool = t.get("funded_by_innovation_pool", False)
            if not isinstance(pool, bool):
                v.fail(f"{p}.funded_by_innovation_pool", f"must be true or false; got {pool!r}")
            lines.append(Line(
                kind=kind, line=name, administration=admin, area=v.str_(t, "area", p, choices=AREAS),
                amounts=v.amounts(t, "amounts", p, n), group=v.str_(t, "group", p, default=name),
                committee=committee_of(t, p, admin), payer=v.str_(t, "payer", p, default="kommune", choices=PAYERS),
                basis=v.str_(t, "basis", p, default="antaget", choices=BASES), label=t.get("label"),
                funded_by_innovation_pool=pool))

    drivers = []
    seen = set()
    for i, t in enumerate(data.get("driver", [])):
        p = f"driver[{i}]"
        v.unknown(t, {"line", "group", "administration", "committee", "assumed_effect", "components", "topic",
                      "variant", "replaces", "endpoint", "effect_unit", "benefits", "weeks"}, p)
        name = v.str_(t, "line", p)
        variant = v.str_(t, "variant", p, required=False)
        replaces = t.get("replaces", [])
        if not isinstance(replaces, list) or not all(isinstance(x, str) and x for x in replaces):
            v.fail(f"{p}.replaces", f"must be a list of line names or \"line: component label\"; got {replaces!r}")
        if replaces and variant is None:
            v.fail(f"{p}.replaces", "is only allowed on a variant line (give variant = \"name\"): a case's own "
                   "line never replaces another")
        benefits = t.get("benefits", [])
        if not isinstance(benefits, list) or not all(isinstance(x, str) and x for x in benefits):
            v.fail(f"{p}.benefits", f"must be a list of benefit status names; got {benefits!r}")
        weeks = t.get("weeks")
        if weeks is not None and not (isinstance(weeks, list) and len(weeks) == 2
                                      and all(isinstance(w, int) and not isinstance(w, bool) for w in weeks)
                                      and 1 <= weeks[0] <= weeks[1]):
            v.fail(f"{p}.weeks", f"must be [first, last] follow-up weeks, whole numbers with 1 <= first <= last; "
                   f"got {weeks!r}")
        endpoint = v.str_(t, "endpoint", p, required=False)
        if endpoint is not None and endpoint.startswith("benefit_years") and not benefits:
            v.fail(f"{p}.benefits", f"is required with endpoint = {endpoint!r}: the benefit statuses whose "
                   "helårspersoner the line prices")
        if (benefits or weeks) and not (endpoint or "").startswith("benefit_years"):
            v.fail(f"{p}.endpoint", "must be \"benefit_years\" (or \"benefit_years:<name>\") when the line gives "
                   "benefits or weeks: they say which helårspersoner of the weekly panel are measured")
        if name in seen:
            v.fail(f"{p}.line", f"must be unique among drivers; {name!r} is used twice")
        seen.add(name)
        admin = v.str_(t, "administration", p)
        comps = t.get("components")
        if not isinstance(comps, list) or not comps or not all(isinstance(c, dict) for c in comps):
            v.fail(f"{p}.components", "must be a non-empty list of {area, per_citizen, phasing} tables")
        cs = []
        for j, c in enumerate(comps):
            q = f"{p}.components[{j}]"
            v.unknown(c, {"area", "per_citizen", "phasing", "label", "payer"}, q)
            ph = v.amounts(c, "phasing", q, n)
            if any(not 0 <= x <= 1 for x in ph):
                v.fail(f"{q}.phasing", f"must be shares between 0 and 1 (share of the full effect in each year); "
                       f"got {list(ph)}")
            if "per_citizen" not in c and variant is None:
                v.fail(f"{q}.per_citizen", "is required (only a variant line may leave its price to the user)")
            price = float(v.num(c, "per_citizen", q)) if "per_citizen" in c else None
            cs.append(Component(area=v.str_(c, "area", q, choices=AREAS), per_citizen=price,
                                phasing=ph, label=c.get("label"),
                                payer=v.str_(c, "payer", q, default="kommune", choices=PAYERS)))
        drivers.append(Driver(line=name, group=v.str_(t, "group", p, default=name), administration=admin,
                              committee=committee_of(t, p, admin),
                              assumed_effect=float(v.num(t, "assumed_effect", p)), components=tuple(cs),
                              topic=v.str_(t, "topic", p, required=False), variant=variant,
                              replaces=tuple(replaces), endpoint=endpoint,
                              effect_unit=v.str_(t, "effect_unit", p, required=False),
                              benefits=tuple(benefits), weeks=tuple(weeks) if weeks else None))
    variant_drivers = tuple(d for d in drivers if d.variant is not None)
    drivers = [d for d in drivers if d.variant is None]
    if drivers and citizens is None:
        v.fail("meta.citizens_treated", "is required when the case has [[driver]] lines")

    detail = []
    for k in data:
        m = _DETAIL_RE.match(k)
        if not m:
            continue
        area = _DETAIL_AREA[m.group(1)]
        for i, t in enumerate(data[k]):
            p = f"{k}[{i}]"
            v.unknown(t, {"line", "administration", "amounts", "committee"}, p)
            admin = v.str_(t, "administration", p)
            name = v.str_(t, "line", p)
            detail.append(Line(kind="permanent", line=name, administration=admin, area=area,
                               amounts=v.amounts(t, "amounts", p, n), group=name,
                               committee=committee_of(t, p, admin)))
    if not lines and not drivers:
        v.fail("permanent", "the case has no lines: give [[permanent]], [[investment]] or [[driver]] tables")
    published = data.get("published", {})
    if not isinstance(published, dict):
        v.fail("published", "must be a table")
    if variant_drivers and citizens is None:
        v.fail("meta.citizens_treated", "is required when the case has [[driver]] lines")
    case = Case(
        title=v.str_(meta, "title", "meta"), unit=unit, price_level=pl, years=tuple(years),
        year_labels=tuple(labels), citizens_treated=citizens, discount_rate=float(rate), lines=tuple(lines),
        drivers=tuple(drivers), detail=tuple(detail), committees=committees, published=published, path=path,
        variant_drivers=variant_drivers,
    )
    for name in case.available_variants:       # every variant must apply on its own
        try:
            case.with_variants([name])
        except BusinessCaseError as exc:
            v.fail(exc.key, exc.message)
    return case


def load_case(path: str | Path) -> Case:
    """Load and validate a case file.

    The format is the one of ``shared/reference/bi25.toml`` (shipped as
    ``trial/data/bi25.toml``): ``[meta]`` (title, unit ``"1000 kr"``/``"mio
    kr"``/``"kr"``, price_level, years), ``[[permanent]]`` and
    ``[[investment]]`` lines (line, administration, area ``Service``/``EI``/
    ``EO``, amounts per year; optional group, committee, payer, basis,
    funded_by_innovation_pool), optional ``[committees]`` (administration =
    committee), ``[[driver]]`` lines (effect-driven permanent changes, see
    ``protocols/bi25_case.toml``), detail tables ``tableN_service|ei|eo`` and
    ``[published]`` figures to check against.

    Examples
    --------
    >>> case = load_case(DATA_DIR / "bi25.toml")
    >>> case.unit, case.price_level, case.n_years, case.discount_rate
    ('1000 kr', 2016, 6, 0.04)
    """
    from ..protocol import read_utf8

    path = Path(path)
    return loads_case(read_utf8(path, BusinessCaseError), path=str(path))


# --------------------------------------------------------------------------- payback and NPV
def extend_years(amounts, horizon: int):
    """Continue yearly amounts (last axis) to ``horizon`` years by repeating the last year.

    >>> extend_years([1, 2, 3], 5).tolist()
    [1.0, 2.0, 3.0, 3.0, 3.0]
    """
    a = np.asarray(amounts, dtype=float)
    n = a.shape[-1]
    if horizon <= n:
        return a[..., :horizon]
    tail = np.repeat(a[..., -1:], horizon - n, axis=-1)
    return np.concatenate([a, tail], axis=-1)


def payback_years(savings, investment) -> np.ndarray | float:
    """Fractional payback time: when cumulated savings reach the investment.

    Parameters
    ----------
    savings : array_like
        Savings per year (positive = saving), years on the last axis; leading
        axes (e.g. simulation draws) are vectorised over.
    investment : float or array_like
        Total implementation cost to recover (broadcast over leading axes).

    Returns
    -------
    float or ndarray
        Years (``inf`` when the savings never reach the investment).

    Notes
    -----
    Savings accrue evenly within a year, so with cumulated savings
    :math:`S_k` after year :math:`k` (:math:`S_0=0`) and :math:`k^*` the first
    year with :math:`S_{k^*}\\ge I`, the payback is
    :math:`k^*-1 + (I-S_{k^*-1})/s_{k^*}`. When the given years do not reach
    :math:`I`, the last year's saving :math:`s_n` is continued:
    :math:`n + (I-S_n)/s_n` if :math:`s_n>0`, else never (``inf``). A municipal
    case prints the whole years, :math:`\\lfloor t\\rfloor`. This is how BI25's
    16 years (service: 6.900 against 333, 338, 361, 450, 450, 450, then 450 a
    year: :math:`16 + 4518/450 = 16.04`) and 6 years (total: :math:`6 +
    789/1482 = 6.53`) arise.

    Examples
    --------
    >>> round(float(payback_years([333, 338, 361, 450, 450, 450], 6900)), 4)
    16.04
    >>> round(float(payback_years([493, 536, 636, 1482, 1482, 1482], 6900)), 4)
    6.5324
    >>> float(payback_years([0, 0], 10))
    inf
    """
    s = np.asarray(savings, dtype=float)
    inv = np.broadcast_to(np.asarray(investment, dtype=float), s.shape[:-1])
    cum = np.cumsum(s, axis=-1)
    prev = np.concatenate([np.zeros(s.shape[:-1] + (1,)), cum[..., :-1]], axis=-1)
    tol = 1e-9 * np.maximum(1.0, np.abs(inv))[..., None]
    hit = cum >= inv[..., None] - tol
    any_hit = hit.any(axis=-1)
    k = np.argmax(hit, axis=-1)
    s_k = np.take_along_axis(s, k[..., None], -1)[..., 0]
    prev_k = np.take_along_axis(prev, k[..., None], -1)[..., 0]
    with np.errstate(divide="ignore", invalid="ignore"):
        inside = k + np.clip((inv - prev_k) / s_k, 0.0, 1.0)
        n = s.shape[-1]
        last = s[..., -1]
        beyond = np.where(last > 0, n + (inv - cum[..., -1]) / last, np.inf)
    out = np.where(any_hit, inside, beyond)
    out = np.where(inv <= 0, 0.0, out)
    return float(out) if out.ndim == 0 else out


def whole_years(t) -> int | None:
    """Whole years as a municipal case prints a payback time (floor); None when never."""
    if t is None or not math.isfinite(t):
        return None
    return int(math.floor(t + 1e-9))


def npv(net_gain, rate: float) -> np.ndarray | float:
    """Present value of a yearly net gain (years on the last axis).

    Notes
    -----
    :math:`\\mathrm{NPV} = \\sum_{k=1}^{n} g_k/(1+r)^{k-1}`: the first budget
    year is the base year (not discounted), as in Finansministeriet's
    guidance on socio-economic analysis. Equals R's ``sum(g / (1 + r)^(seq_along(g) - 1))``.

    >>> round(float(npv([-100, 60, 60], 0.04)), 6)
    13.16568
    """
    g = np.asarray(net_gain, dtype=float)
    disc = (1.0 + rate) ** -np.arange(g.shape[-1])
    out = (g * disc).sum(axis=-1)
    return float(out) if np.ndim(out) == 0 else out
