"""compute_case: totals, published-layout tables, payback, NPV and consistency checks."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Mapping

import numpy as np

from ..exceptions import BusinessCaseError
from ._case import (AREAS, UNIT_LABELS_DA, Case, Line, extend_years, npv, payback_years,
                    round_half_away, whole_years)
from .._results import Displayable

TABLES = ("section1", "table1", "table2", "table3", "table4a", "table4b", "table5", "table6", "table7a", "table7b")
TABLE_TITLES_DA = {
    "section1": "Forslagets samlede økonomiske konsekvenser",
    "table1": "Tabel 1. Varige ændringer, service",
    "table2": "Tabel 2. Varige ændringer, efterspørgselsstyret indsats",
    "table3": "Tabel 3. Varige ændringer, overførsler",
    "table4a": "Tabel 4a. Serviceinvesteringer i forslaget",
    "table4b": "Tabel 4b. Indsatsinvesteringer i forslaget",
    "table5": "Tabel 5. Fordeling af varige ændringer mellem udvalg, service",
    "table6": "Tabel 6. Fordeling af varige ændringer mellem udvalg, overførsler",
    "table7a": "Tabel 7a. Fordeling af serviceinvesteringer mellem udvalg",
    "table7b": "Tabel 7b. Fordeling af indsatsinvesteringer mellem udvalg",
}
_TOTAL_LABEL = {"Service": "Varige ændringer totalt, service",
                "EI": "Varige ændringer totalt, efterspørgselsstyret indsats",
                "EO": "Varige ændringer totalt, overførsler"}


def _ascii(name: str) -> str:
    """Committee name as a TOML key: 'Beskæftigelses- og Integrationsudvalget' -> 'Beskaeftigelses_og_Integrationsudvalget'."""
    s = name.replace("æ", "ae").replace("ø", "oe").replace("å", "aa").replace("Æ", "Ae").replace("Ø", "Oe")
    s = s.replace("Å", "Aa").replace("-", "").replace(" ", "_")
    while "__" in s:
        s = s.replace("__", "_")
    return s


def _sum(lines, n) -> np.ndarray:
    out = np.zeros(n)
    for ln in lines:
        out += np.asarray(ln.amounts)
    return out


def _group(lines, key) -> dict:
    out: dict = {}
    for ln in lines:
        out.setdefault(key(ln), []).append(ln)
    return out


def _tolist(a) -> list[float]:
    return [float(x) for x in np.asarray(a, dtype=float)]


@dataclass(frozen=True, eq=False)
class CaseResult(Displayable):
    """A computed business case (all amounts in the case's unit and price level).

    Attributes
    ----------
    case : Case
        The input case (lines, drivers, effects used).
    lines : tuple of Line
        Every line computed (explicit and driver lines at the case's effects).
    total_permanent, total_investment, net : tuple of float
        Per year, municipal lines only (payer ``kommune``); net = investment + permanent.
    by_area, by_administration, by_committee, by_payer : dict
        Net per year (permanent + investment) per key.
    payback_years_service, payback_years_total : float
        Fractional payback (``inf`` = never): all implementation costs against
        cumulated service savings / cumulated total savings (see
        :func:`payback_years`).
    npv, discount_rate : float
        Present value of the net gain (savings − costs, positive = the case
        earns money) over the case years at ``discount_rate``.
    warnings : tuple of str
        Consistency warnings (published figures that do not follow from the lines).
    checks : tuple of dict
        Every published figure compared: item, computed, printed, match.
    """

    case: Case
    lines: tuple[Line, ...]
    total_permanent: tuple[float, ...]
    total_investment: tuple[float, ...]
    net: tuple[float, ...]
    by_area: Mapping[str, tuple[float, ...]]
    by_administration: Mapping[str, tuple[float, ...]]
    by_committee: Mapping[str, tuple[float, ...]]
    by_payer: Mapping[str, tuple[float, ...]]
    payback_years_service: float
    payback_years_total: float
    npv: float
    discount_rate: float
    warnings: tuple[str, ...] = ()
    checks: tuple[dict, ...] = field(default=(), repr=False)
    note: str | None = None
    #: the same warnings in Danish (what the Danish text output prints after "ADVARSEL:")
    warnings_da: tuple[str, ...] = field(default=(), repr=False)
    note_da: str | None = field(default=None, repr=False)

    # ------------------------------------------------------------ derived
    @property
    def payback_whole_years_service(self) -> int | None:
        return whole_years(self.payback_years_service)

    @property
    def payback_whole_years_total(self) -> int | None:
        return whole_years(self.payback_years_total)

    @property
    def permanent_lines(self) -> tuple[Line, ...]:
        return tuple(ln for ln in self.lines if ln.kind == "permanent")

    @property
    def investment_lines(self) -> tuple[Line, ...]:
        return tuple(ln for ln in self.lines if ln.kind == "investment")

    @property
    def detail_lines(self) -> tuple[Line, ...]:
        """Lines of Tables 1–3: the file's detail tables if any, else the permanent lines."""
        return self.case.detail or self.permanent_lines

    def permanent_by_area(self, area: str) -> np.ndarray:
        return _sum([ln for ln in self.permanent_lines if ln.area == area and ln.payer == "kommune"], self.case.n_years)

    def investment_by_area(self, area: str) -> np.ndarray:
        return _sum([ln for ln in self.investment_lines if ln.area == area and ln.payer == "kommune"], self.case.n_years)

    def savings(self, area: str | None = None) -> np.ndarray:
        """Savings per year (positive): minus the permanent changes (of one area, or all)."""
        if area is None:
            return -np.asarray(self.total_permanent)
        return -self.permanent_by_area(area)

    def cumulative_net(self, horizon_years: int | None = None) -> np.ndarray:
        """Cumulated net result (savings − costs, positive = gain), years continued to the horizon."""
        net = extend_years(np.asarray(self.total_permanent), horizon_years or self.case.n_years)
        inv = np.zeros_like(net)
        inv[: self.case.n_years] = np.asarray(self.total_investment)[: len(net)]
        return np.cumsum(-(net + inv))

    # ------------------------------------------------------------ tables
    def table(self, name: str, *, rounded: bool = False):
        """One table in the published layout (pandas DataFrame; year columns by label).

        ``name`` is one of ``section1``, ``table1`` … ``table3`` (permanent
        changes by area), ``table4a``/``table4b`` (investments, Service/EI),
        ``table5``/``table6`` (permanent changes by committee, savings and costs
        apart, Service/EO) and ``table7a``/``table7b`` (investments by
        committee). ``rounded=True`` rounds as the case prints (half away from zero).
        """
        import pandas as pd

        if name not in TABLES:
            raise BusinessCaseError("name", f"must be one of {', '.join(TABLES)}; got {name!r}")
        n = self.case.n_years
        labels = list(self.case.year_labels)
        rows: list[dict] = []

        def row(line, admin, area, amounts, basis="", kind="", extra=None):
            r = {"line": line, "administration": admin, "area": area, "kind": kind, "basis": basis}
            r.update(dict(zip(labels, _tolist(amounts))))
            if extra:
                r.update(extra)
            rows.append(r)

        def basis_of(lines):
            b = {ln.basis for ln in lines}
            return "målt" if b == {"målt"} else ("antaget" if b == {"antaget"} else "målt/antaget")

        if name == "section1":
            perm = [ln for ln in self.permanent_lines if ln.payer == "kommune"]
            for (g, a, ar), ls in _group(perm, lambda ln: (ln.group, ln.administration, ln.area)).items():
                row(g, a, ar, _sum(ls, n), basis_of(ls), "permanent")
            row("Samlet varig ændring", "", "", self.total_permanent, basis_of(perm), "total_permanent")
            inv = [ln for ln in self.investment_lines if ln.payer == "kommune"]
            for (g, a, ar), ls in _group(inv, lambda ln: (ln.group, ln.administration, ln.area)).items():
                row(g, a, ar, _sum(ls, n), basis_of(ls), "investment")
            row("Samlede implementeringsomkostninger", "", "", self.total_investment, "antaget", "total_investment")
            row("Samlet økonomisk påvirkning", "", "", self.net, basis_of(perm + inv), "net")
        elif name in ("table1", "table2", "table3"):
            area = {"table1": "Service", "table2": "EI", "table3": "EO"}[name]
            det = [ln for ln in self.detail_lines if ln.area == area]
            for (ln_, a), ls in _group(det, lambda ln: (ln.line, ln.administration)).items():
                row(self.case.line_label(ln_), a, area, _sum(ls, n), basis_of(ls), "permanent")
            row(_TOTAL_LABEL[area], "", area, _sum(det, n), basis_of(det), "total")
        elif name in ("table4a", "table4b"):
            area = "Service" if name == "table4a" else "EI"
            inv = [ln for ln in self.investment_lines if ln.area == area]
            for ln in inv:
                row(ln.line, ln.administration, area, ln.amounts, "antaget", "investment",
                    {"innovationspulje": ln.funded_by_innovation_pool, "i_alt": float(sum(ln.amounts))})
            tot = _sum(inv, n)
            row("Investeringer totalt, " + ("service" if area == "Service" else "indsats"), "", area, tot,
                "antaget", "total", {"innovationspulje": False, "i_alt": float(tot.sum())})
        elif name in ("table5", "table6"):
            area = "Service" if name == "table5" else "EO"
            for r in self._committee_split(area):
                row(r["committee"], "", area, r["amounts"], r["basis"], r["kind"], {"key": r["key"]})
        else:
            area = "Service" if name == "table7a" else "EI"
            inv = [ln for ln in self.investment_lines if ln.area == area]
            total = _sum(inv, n)
            for c, ls in _group(inv, lambda ln: ln.committee).items():
                a = _sum(ls, n)
                row(c, "", area, a, "antaget", "investment", {"key": _key(a, total)})
            row("Total", "", area, total, "antaget", "total", {"key": "100 %" if total.any() else ""})
        df = pd.DataFrame(rows)
        if rounded:
            df[labels] = round_half_away(df[labels].to_numpy(dtype=float), self.case.decimals)
        return df

    def _committee_split(self, area: str) -> list[dict]:
        """Savings and costs per committee for one area (Tables 5 and 6)."""
        n = self.case.n_years
        det = [ln for ln in self.detail_lines if ln.area == area]
        out = []
        tot_s = np.zeros(n)
        tot_c = np.zeros(n)
        for c, ls in _group(det, lambda ln: ln.committee).items():
            a = np.stack([np.asarray(ln.amounts) for ln in ls])
            s = np.where(a < 0, a, 0).sum(axis=0)
            k = np.where(a > 0, a, 0).sum(axis=0)
            tot_s += s
            tot_c += k
            b = {ln.basis for ln in ls}
            basis = "målt" if b == {"målt"} else ("antaget" if b == {"antaget"} else "målt/antaget")
            out.append({"committee": c, "kind": "saving", "amounts": s, "basis": basis})
            out.append({"committee": c, "kind": "cost", "amounts": k, "basis": basis})
        for r in out:
            r["key"] = _key(r["amounts"], tot_s if r["kind"] == "saving" else tot_c)
        out.append({"committee": "Total", "kind": "saving", "amounts": tot_s, "basis": "", "key": "100 %"})
        out.append({"committee": "Total", "kind": "cost", "amounts": tot_c, "basis": "", "key": "100 %"})
        return out

    def tables(self, *, rounded: bool = False) -> dict:
        """All published-layout tables by name."""
        return {t: self.table(t, rounded=rounded) for t in TABLES}

    # ------------------------------------------------------------ output
    def to_frame(self):
        """Long frame: one row per line × year (line, administration, area, kind, committee, payer, basis, year, amount)."""
        import pandas as pd

        recs = []
        for ln in self.lines:
            for y, lab, a in zip(self.case.years, self.case.year_labels, ln.amounts):
                recs.append({"line": ln.line, "label": ln.label, "administration": ln.administration, "area": ln.area,
                             "kind": ln.kind, "group": ln.group, "committee": ln.committee, "payer": ln.payer,
                             "basis": ln.basis, "year": y, "year_label": lab, "amount": float(a)})
        return pd.DataFrame(recs)

    def to_dict(self) -> dict:
        """JSON-ready dict (the ``trial business-case --json`` contract)."""
        return {
            "title": self.case.title,
            "unit": self.case.unit,
            "price_level": self.case.price_level,
            "years": list(self.case.years),
            "year_labels": list(self.case.year_labels),
            "total_permanent": list(self.total_permanent),
            "total_investment": list(self.total_investment),
            "net": list(self.net),
            "by_area": {a: list(self.by_area[a]) for a in AREAS},
            "by_administration": {k: list(v) for k, v in self.by_administration.items()},
            "by_committee": {k: list(v) for k, v in self.by_committee.items()},
            "by_payer": {k: list(v) for k, v in self.by_payer.items()},
            "payback_years_service": _finite(self.payback_years_service),
            "payback_years_total": _finite(self.payback_years_total),
            "payback_whole_years_service": self.payback_whole_years_service,
            "payback_whole_years_total": self.payback_whole_years_total,
            "npv": self.npv,
            "discount_rate": self.discount_rate,
            "warnings": list(self.warnings),
            "note": self.note,
            "variants": list(self.case.variants),
        }

    def summary(self) -> str:
        from .._format import fmt_number

        d = self.case.decimals
        unit = UNIT_LABELS_DA.get(self.case.unit, self.case.unit)
        pl = f", {self.case.price_level} p/l" if self.case.price_level else ""
        t = self.table("section1")
        labels = list(self.case.year_labels)
        w = max(12, max(len(f"{r['line']} ({r['administration']})") for _, r in t.iterrows()) + 2)
        out = [self.case.title]
        for drv in self.case.drivers:      # a chosen variant: its line and what it counts instead of
            if drv.variant:
                out.append(f"Variant {drv.variant}: '{drv.line}' erstatter "
                           + ", ".join(f"'{t}'" for t in drv.replaces))
        out += [f"{TABLE_TITLES_DA['section1']} ({unit}{pl})",
               " " * w + "".join(f"{lab:>10}" for lab in labels) + "  styringsområde"]
        for _, r in t.iterrows():
            name = f"{r['line']} ({r['administration']})" if r["administration"] else r["line"]
            vals = "".join(f"{fmt_number(float(round_half_away(r[lab], d)), d):>10}" for lab in labels)
            out.append(f"{name:<{w}}{vals}  {r['area']}")
        out.append(f"Tilbagebetalingstid baseret på serviceeffektivisering: {_years_da(self.payback_years_service)}")
        out.append(f"Tilbagebetalingstid baseret på totaløkonomi: {_years_da(self.payback_years_total)}")
        out.append(f"Nutidsværdi af nettogevinsten over {self.case.n_years} år ({fmt_number(100 * self.discount_rate, 1)} "
                   f"% diskonteringsrente): {fmt_number(self.npv, d)} ({unit})")
        for wmsg in (self.warnings_da or self.warnings):
            out.append(f"ADVARSEL: {wmsg}")
        if self.note:
            out.append(f"Bemærk: {self.note_da}" if self.note_da else f"Note: {self.note}")
        return "\n".join(out)


def _finite(x):
    return float(x) if x is not None and math.isfinite(x) else None


def _years_da(t: float) -> str:
    from .._format import fmt_number

    if not math.isfinite(t):
        return "tjenes ikke hjem"
    return f"{whole_years(t)} år ({fmt_number(t, 2)})"


def _key(part: np.ndarray, total: np.ndarray) -> str:
    """Distribution key as printed: the range of the yearly shares, e.g. '74 % - 100 %'."""
    m = np.abs(total) > 1e-12
    if not m.any():
        return ""
    sh = np.abs(part[m]) / np.abs(total[m]) * 100
    lo, hi = float(round_half_away(sh.min())), float(round_half_away(sh.max()))
    return f"{lo:.0f} %" if lo == hi else f"{lo:.0f} % - {hi:.0f} %"


# --------------------------------------------------------------------------- compute
def compute_case(case: Case, *, discount_rate: float | None = None) -> CaseResult:
    """Compute a business case: totals, tables, payback times, NPV and consistency checks.

    Parameters
    ----------
    case : Case
        From :func:`load_case` (or :meth:`Case.with_effects`).
    discount_rate : float, optional
        Real discount rate for the NPV (default the case's, itself by default
        Finansministeriet's rate for its price level: 4 % for 2013–2020, 3.5 % from 2021).

    Returns
    -------
    CaseResult

    Notes
    -----
    Totals count the municipality's lines (payer ``kommune``); lines paid by
    region or state appear in ``by_payer``. Payback on service: all
    implementation costs against cumulated service savings; on the total
    economy: against cumulated total savings; both with the last year's
    savings continued (:func:`payback_years`). When the file holds
    ``[published]`` figures, each is compared with the computed one after
    rounding as the case prints it; a difference is a warning, never hidden.

    Examples
    --------
    >>> from trial.business_case import load_case, DATA_DIR
    >>> r = compute_case(load_case(DATA_DIR / "bi25.toml"))
    >>> r.payback_whole_years_service, r.payback_whole_years_total
    (16, 6)
    """
    if discount_rate is None:
        discount_rate = case.discount_rate
    if not isinstance(discount_rate, (int, float)) or not 0 <= discount_rate <= 0.5:
        raise BusinessCaseError("discount_rate", f"must be a number from 0 to 0.5 (e.g. 0.04 for 4 %); "
                                f"got {discount_rate!r}")
    n = case.n_years
    lines = case.all_lines()
    mun = [ln for ln in lines if ln.payer == "kommune"]
    perm = _sum([ln for ln in mun if ln.kind == "permanent"], n)
    inv = _sum([ln for ln in mun if ln.kind == "investment"], n)
    net = perm + inv

    def by(key, ls=mun):
        return {k: tuple(_tolist(_sum(v, n))) for k, v in _group(ls, key).items()}

    by_area = {a: tuple(_tolist(_sum([ln for ln in mun if ln.area == a], n))) for a in AREAS}
    invest_total = float(inv.sum())
    pb_service = float(payback_years(-_sum([ln for ln in mun if ln.kind == "permanent" and ln.area == "Service"], n),
                                     invest_total))
    pb_total = float(payback_years(-perm, invest_total))
    note = note_da = None
    if not math.isfinite(pb_total):
        note = ("the case does not pay back: the savings of the last year do not exceed zero, so the "
                "cumulated savings never reach the implementation costs")
        note_da = ("sagen betaler sig ikke tilbage: besparelsen i det sidste år er ikke over nul, så de "
                   "akkumulerede besparelser når aldrig implementeringsomkostningerne")
    res = CaseResult(
        case=case, lines=lines, total_permanent=tuple(_tolist(perm)), total_investment=tuple(_tolist(inv)),
        net=tuple(_tolist(net)), by_area=by_area, by_administration=by(lambda ln: ln.administration),
        by_committee=by(lambda ln: ln.committee), by_payer=by(lambda ln: ln.payer, lines),
        payback_years_service=pb_service, payback_years_total=pb_total,
        npv=float(npv(-net, discount_rate)), discount_rate=float(discount_rate), note=note, note_da=note_da,
    )
    checks, warnings, warnings_da = _checks(res)
    object.__setattr__(res, "checks", tuple(checks))
    object.__setattr__(res, "warnings", tuple(warnings))
    object.__setattr__(res, "warnings_da", tuple(warnings_da))
    return res


#: Danish for the explanations attached to a consistency warning
_WHAT_DA = {
    "Samlet økonomisk påvirkning should equal investments plus permanent changes":
        "Samlet økonomisk påvirkning skal være implementeringsomkostningerne plus de varige ændringer",
    "savings and costs are split line by line by sign; a line holding only a net amount counts wholly as a "
    "saving or a cost, so the split needs gross lines":
        "besparelser og udgifter deles linje for linje efter fortegn; en linje med kun et nettobeløb tæller "
        "helt som besparelse eller udgift, så opdelingen kræver bruttolinjer",
    "distribution key of the savings, range of the yearly shares":
        "besparelsernes fordelingsnøgle, spændet mellem de årlige andele",
}


def _da_value(x, d: int) -> str:
    """A figure of a warning in Danish format: lists as ``[1.807; 1.564]``, text as given."""
    from .._format import fmt_number

    if isinstance(x, str):
        return x
    if isinstance(x, (list, tuple, np.ndarray)):
        return "[" + "; ".join(fmt_number(float(v), d) for v in x) + "]"
    if isinstance(x, (int, float, np.integer, np.floating)):
        return fmt_number(float(x), d)
    return str(x)


_TABLE_DA = {"table5_service_by_committee": "Tabel 5", "table6_transfers_by_committee": "Tabel 6"}


def _split_warning(res, tname, area, split, t, off, say, what, warnings, warnings_da) -> None:
    """The warning(s) for a committee table whose split into savings and costs differs from the publication.

    When every committee concerned has the published net (saving + cost) within
    rounding, the file's lines are right and only hold net amounts: one warning
    says the split cannot be rebuilt from them. Otherwise each differing figure
    is a warning of its own (a genuine inconsistency).
    """
    d = res.case.decimals
    by = {(r["committee"], r["kind"]): r["amounts"] for r in split}
    names = {r["committee"] for r, _, _ in off}
    det = [ln for ln in res.detail_lines if ln.area == area]
    net_ok = True
    for c in names:
        key = _ascii(c) if c != "Total" else "total"
        pub = sum(np.asarray(t.get(f"{key}_{k}", np.zeros(res.case.n_years)), dtype=float) for k in ("saving", "cost"))
        mine = by[(c, "saving")] + by[(c, "cost")]
        n_lines = len([ln for ln in det if c == "Total" or ln.committee == c])
        # published saving and cost and the file's lines are each rounded to the case's decimals: half a unit each
        tol = 0.5 * 10.0 ** -d * (2 + n_lines) + 1e-9
        net_ok &= bool(np.all(np.abs(pub - mine) <= tol))
    if not net_ok:
        for _, key, computed in off:
            say(f"{tname}.{key}", computed, t[key], what)
        return
    committees = sorted(c for c in names if c != "Total") or sorted({ln.committee for ln in det})
    lines = ", ".join(f'"{ln.label or ln.line}"' for ln in det if ln.committee in committees)
    items = ", ".join(f"{tname}.{key}" for _, key, _ in off)
    label = _TABLE_DA.get(tname, tname)
    warnings.append(
        f"{label} ({tname}): the file holds only net amounts for {', '.join(committees)} in {area} (at least one of "
        f"the lines {lines} combines a saving and a cost), so the publication's split into savings and "
        f"costs cannot be rebuilt from it ({items} differ); the net per committee agrees with the publication within "
        f"rounding. Give each saving and cost as a line of its own (gross lines) to check the split.")
    warnings_da.append(
        f"{label}: filen har kun nettobeløb for {', '.join(committees)} under {area} (mindst én af linjerne "
        f"{lines} rummer både en besparelse og en udgift), så tabellens opdeling i besparelser og udgifter "
        f"kan ikke genskabes ud fra filen; nettoen pr. udvalg stemmer med det offentliggjorte inden for afrunding. "
        f"Angiv hver besparelse og udgift som sin egen linje (bruttolinjer) for at kontrollere opdelingen.")


def _checks(res: CaseResult) -> tuple[list[dict], list[str]]:
    """Compare every published figure the file holds with the computed one."""
    case = res.case
    d = case.decimals
    checks: list[dict] = []
    warnings: list[str] = []
    warnings_da: list[str] = []

    def cmp(item, computed, printed, what=None, warn=True):
        if isinstance(printed, str):
            ok = computed == printed
            c = computed
        elif isinstance(printed, list):
            c = _tolist(round_half_away(computed, d))
            ok = len(c) == len(printed) and all(abs(a - b) < 1e-9 for a, b in zip(c, printed))
        else:
            c = computed
            ok = computed == printed
        checks.append({"item": item, "computed": c, "printed": printed, "match": bool(ok)})
        if not ok and warn:
            say(item, c, printed, what)
        return ok

    def say(item, c, printed, what=None):
        warnings.append(f"published {item} {printed} does not follow from the lines, which give {c}"
                        + (f" ({what})" if what else ""))
        warnings_da.append(f"det offentliggjorte tal {item} {_da_value(printed, d)} følger ikke af linjerne, "
                           f"som giver {_da_value(c, d)}" + (f" ({_WHAT_DA.get(what, what)})" if what else ""))

    # detail tables must sum to the area totals
    if case.detail:
        for a in AREAS:
            det = _sum([ln for ln in case.detail if ln.area == a], case.n_years)
            per = res.permanent_by_area(a)
            if not np.allclose(round_half_away(det, d), round_half_away(per, d)):
                warnings.append(f"detail lines of area {a} sum to {_tolist(round_half_away(det, d))}, but the "
                                f"permanent lines of {a} to {_tolist(round_half_away(per, d))}")
                warnings_da.append(f"detaljelinjerne for styringsområde {a} summerer til "
                                   f"{_da_value(_tolist(round_half_away(det, d)), d)}, men de varige linjer for {a} "
                                   f"til {_da_value(_tolist(round_half_away(per, d)), d)}")
    pub = dict(case.published)
    flat = dict(pub.get("section1", {}))
    flat.update({k: v for k, v in pub.items() if not isinstance(v, dict)})
    if "total_permanent" in flat:
        cmp("total_permanent", res.total_permanent, flat["total_permanent"])
    if "total_investment" in flat:
        cmp("total_investment", res.total_investment, flat["total_investment"])
    for key in ("net", "total_impact", "total_impact_as_printed"):
        if key in flat:
            cmp(key, res.net, flat[key], "Samlet økonomisk påvirkning should equal investments plus permanent changes")
    if "payback_years_service" in flat:
        cmp("payback_years_service", res.payback_whole_years_service, flat["payback_years_service"])
    if "payback_years_total" in flat:
        cmp("payback_years_total", res.payback_whole_years_total, flat["payback_years_total"])
    for tname, area in (("table1", "Service"), ("table2", "EI"), ("table3", "EO")):
        if "total" in pub.get(tname, {}):
            det = _sum([ln for ln in res.detail_lines if ln.area == area], case.n_years)
            cmp(f"{tname}.total", det, pub[tname]["total"])
    for tname, area in (("table4a_service_investment", "Service"), ("table4b_measure_investment", "EI")):
        t = pub.get(tname, {})
        tot = res.investment_by_area(area)
        if "total" in t:
            cmp(f"{tname}.total", tot, t["total"])
        if "grand_total" in t:
            cmp(f"{tname}.grand_total", float(round_half_away(tot.sum(), d)), t["grand_total"])
    for tname, area in (("table5_service_by_committee", "Service"), ("table6_transfers_by_committee", "EO")):
        t = pub.get(tname)
        if not t:
            continue
        split = res._committee_split(area)
        what = ("savings and costs are split line by line by sign; a line holding only a net amount "
                "counts wholly as a saving or a cost, so the split needs gross lines")
        off = []                                   # split rows that differ from the publication
        for r in split:
            key = f"{_ascii(r['committee']) if r['committee'] != 'Total' else 'total'}_{r['kind']}"
            if key in t and not cmp(f"{tname}.{key}", r["amounts"], t[key], what, warn=False):
                off.append((r, key, checks[-1]["computed"]))
        if off:
            _split_warning(res, tname, area, split, t, off, say, what, warnings, warnings_da)
        for c, printed in (t.get("key_as_printed") or {}).items():
            mine = next((r["key"] for r in split if r["kind"] == "saving" and _ascii(r["committee"]) == c), None)
            if mine is not None:
                cmp(f"{tname}.key_as_printed.{c}", mine, printed.replace("%-", "% -"),
                    "distribution key of the savings, range of the yearly shares")
    t = pub.get("table7_investment_by_committee")
    if t:
        for suffix, area in (("service", "Service"), ("measures", "EI")):
            for c, ls in _group([ln for ln in res.investment_lines if ln.area == area], lambda ln: ln.committee).items():
                key = f"{_ascii(c)}_{suffix}"
                if key in t:
                    cmp(f"table7_investment_by_committee.{key}", _sum(ls, case.n_years), t[key])
    return checks, warnings, warnings_da
