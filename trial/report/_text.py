"""Words of the report in Danish and English, and effects in plain words.

:func:`effect_sentence` turns an estimate and its interval into the sentence a
steering-group member reads, e.g. "3 flere i ordinær beskæftigelse pr. 100
borgere; usikkerheden spænder fra 2 færre til 8 flere".
"""
from __future__ import annotations

import math
import re

from .._format import fmt_number

__all__ = ["effect_sentence", "quarter_label", "T", "fmt_en", "bc_label_en", "estimator_note"]

# How each endpoint reads in a sentence: (Danish phrase, English phrase, scale, unit da, unit en, decimals).
# Binary endpoints are counted per 100 citizens; rates per 100 citizens a year.
_PHRASES = {
    "ordinary_employment": ("i ordinær beskæftigelse", "in ordinary employment"),
    "fleksjob": ("i fleksjob", "in a flex job"),
    "extension": ("får et nyt ressourceforløb", "get a new ressourceforløb"),
    "par85": ("med støtte i egen bolig", "with support in their own home"),
    "par107": ("i botilbud", "in residential care"),
    "par99": ("med støttekontaktperson", "with a support contact person"),
    "psych_contact": ("i kontakt med psykiatrien", "in contact with psychiatry"),
    "benefit_weeks": ("uger på offentlig forsørgelse", "weeks on public benefits"),
    "psych_admission_days": ("psykiatriske indlæggelsesdage om året", "psychiatric admission days a year"),
}


# The estimators' notes (English, from trial.estimate / trial.analysis) as short Danish phrases, by kind:
# (regular expression on one "; "-separated part, Danish phrase; "{0}" is the first group).
_NOTE_KINDS_DA = (
    (r"not computable yet: .*followed to week (\d+)", "ingen borgere i en af grupperne er fulgt i {0} uger endnu"),
    (r"no observed value in one arm", "ingen observerede værdier i en af grupperne endnu"),
    (r"an arm has no (observed outcome|citizen with all values observed)",
     "ingen observerede værdier i en af grupperne endnu"),
    (r"the outcome is the same for every citizen", "udfaldet er det samme for alle borgere, så der er intet at teste"),
    (r"every citizen is censored", "ingen hændelser endnu i nogen af grupperne"),
    (r"no events in", "ingen hændelser i en af grupperne, så forholdet mellem grupperne kan ikke beregnes"),
    (r"no variance: no event", "ingen hændelser, mens begge grupper var i risiko"),
    (r"no p-value: counted as p = 1", "uden p-værdi tæller målet som ikke påvist i den faste rækkefølge"),
    (r"citizens? with a missing outcome (was|were) left out", "borgere uden observeret udfald indgår ikke"),
    (r"binary outcome: the interval inverts", "intervallet er tilnærmet"),
    (r"the design is collinear", "for mange baggrundsvariable i forhold til data"),
    (r"an arm has a single citizen", "kun én borger i en af grupperne"),
    (r"the likelihood did not converge", "beregningen konvergerede ikke; læses med forsigtighed"),
    (r"re-randomizations left an arm empty", ""),
    (r"^nothing to compare yet$", ""),
    (r"not computed", "ikke beregnet"),
)
_NOTE_FALLBACK_DA = "beregningen har en teknisk bemærkning (se analysetabellen i bilaget)"


def estimator_note(note: str | None, lang: str = "da") -> str:
    """An estimator's note in the report's language: short Danish phrases by note kind.

    English notes come from :mod:`trial.estimate` and :mod:`trial.analysis`; the
    Danish report never shows them. Each ``"; "``-separated part is mapped by
    its kind; a part of an unknown kind becomes a generic Danish sentence.

    Examples
    --------
    >>> estimator_note("the outcome is the same for every citizen (1): nothing varies")
    'udfaldet er det samme for alle borgere, så der er intet at teste'
    >>> estimator_note("something new", "en")
    'something new'
    """
    if not note:
        return ""
    if lang != "da":
        return note
    out: list[str] = []
    for part in (p.strip() for p in str(note).split(";")):
        if not part:
            continue
        for pattern, da in _NOTE_KINDS_DA:
            m = re.search(pattern, part)
            if m:
                text = da.format(*m.groups())
                break
        else:
            text = _NOTE_FALLBACK_DA
        if text and text not in out:
            out.append(text)
    return "; ".join(out)


def fmt_en(x: float, decimals: int = 0) -> str:
    """English number format ``1,234.5``; NaN -> '–'."""
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "–"
    s = f"{float(x):,.{decimals}f}"
    if s.startswith("-") and float(s[1:].replace(",", "")) == 0:
        s = s[1:]
    return s


def _scale(etype: str, endpoint: str) -> tuple[float, str, str, int]:
    """(scale, unit da, unit en, decimals) for an endpoint's difference."""
    if etype == "binary":
        return 100.0, "pr. 100 borgere", "per 100 citizens", 0
    if endpoint == "psych_admission_days" or etype == "count" and endpoint.endswith("_days"):
        return 100.0, "pr. 100 borgere", "per 100 citizens", 0
    if etype == "count":
        return 1.0, "pr. borger", "per citizen", 1
    return 1.0, "", "", 1


def _amount(x: float, decimals: int, lang: str) -> tuple[str, str]:
    """(magnitude text, 'more'/'fewer'/'' word) of a difference."""
    r = round(x, decimals)
    num = fmt_number(abs(r), decimals) if lang == "da" else fmt_en(abs(r), decimals)
    if r > 0:  # Danish: "1 mere", "2 flere"
        if lang == "da":
            return num, ("mere" if (abs(r) == 1 and decimals == 0) else "flere")
        return num, "more"
    if r < 0:
        return num, ("færre" if lang == "da" else "fewer")
    return num, ""


def effect_sentence(estimate: float, ci_low: float, ci_high: float, *, endpoint: str, etype: str,
                    label_da: str = "", label_en: str = "", lang: str = "da") -> str:
    """A difference between the groups in plain words.

    Parameters
    ----------
    estimate, ci_low, ci_high : float
        Treatment minus control on the endpoint's scale (a share for binary
        endpoints: 0.03 = 3 more per 100 citizens).
    endpoint, etype : str
        Endpoint id and type (``binary``, ``count``, ``continuous``, ``time_to_event``).
    label_da, label_en : str
        Endpoint labels, used when the endpoint has no phrase of its own.
    lang : {"da", "en"}

    Returns
    -------
    str

    Examples
    --------
    >>> effect_sentence(0.03, -0.02, 0.08, endpoint="ordinary_employment", etype="binary")
    '3 flere i ordinær beskæftigelse pr. 100 borgere; usikkerheden spænder fra 2 færre til 8 flere'
    >>> effect_sentence(-0.12, -0.21, -0.03, endpoint="extension", etype="binary", lang="en")
    '12 fewer get a new ressourceforløb per 100 citizens; the uncertainty ranges from 21 fewer to 3 fewer'
    """
    if lang not in ("da", "en"):
        raise ValueError(f"`lang` must be 'da' or 'en'; got {lang!r}")
    vals = (estimate, ci_low, ci_high)
    if any(v is None or not math.isfinite(v) for v in vals[:1]):
        return "Kan ikke beregnes endnu" if lang == "da" else "Cannot be computed yet"
    if etype == "time_to_event":  # a hazard ratio (Cox): above 1 = the event comes sooner in the treatment group
        r = (lambda v: fmt_number(v, 2)) if lang == "da" else (lambda v: fmt_en(v, 2))  # noqa: E731
        head = (f"Hazardratio {r(estimate)} (over 1: hurtigere i deltagergruppen)" if lang == "da"
                else f"Hazard ratio {r(estimate)} (above 1: sooner in the treatment group)")
        if math.isfinite(ci_low) and math.isfinite(ci_high):
            head += (f"; usikkerheden spænder fra {r(ci_low)} til {r(ci_high)}" if lang == "da"
                     else f"; the uncertainty ranges from {r(ci_low)} to {r(ci_high)}")
        return head
    scale, unit_da, unit_en, dec = _scale(etype, endpoint)
    phrase = _PHRASES.get(endpoint)
    if phrase is None:
        phrase = (f"({label_da.lower()})" if label_da else "", f"({label_en.lower()})" if label_en else "")
    ph = phrase[0] if lang == "da" else phrase[1]
    unit = unit_da if lang == "da" else unit_en
    num, word = _amount(estimate * scale, dec, lang)
    if etype in ("continuous", "time_to_event") and endpoint not in _PHRASES:
        point = "point" if lang == "da" else "points"
        sign = lambda v: (fmt_number(v * scale, dec) if lang == "da" else fmt_en(v * scale, dec))  # noqa: E731
        head = (f"Forskel {sign(estimate)} {point} {ph}" if lang == "da"
                else f"Difference {sign(estimate)} {point} {ph}")
        if not (math.isfinite(ci_low) and math.isfinite(ci_high)):
            return head
        tail = (f"; usikkerheden spænder fra {sign(ci_low)} til {sign(ci_high)}" if lang == "da"
                else f"; the uncertainty ranges from {sign(ci_low)} to {sign(ci_high)}")
        return head + tail
    if word:
        head = f"{num} {word} {ph} {unit}".replace("  ", " ").strip()
    else:
        head = (f"Lige mange {ph} {unit}" if lang == "da" else f"As many {ph} {unit}").replace("  ", " ").strip()
    if not (math.isfinite(ci_low) and math.isfinite(ci_high)):
        return head

    def bound(v):
        n, w = _amount(v * scale, dec, lang)
        if not w:
            return "ingen forskel" if lang == "da" else "no difference"
        return f"{n} {w}"

    if lang == "da":
        return f"{head}; usikkerheden spænder fra {bound(ci_low)} til {bound(ci_high)}"
    return f"{head}; the uncertainty ranges from {bound(ci_low)} to {bound(ci_high)}"


# The published BI25 business case is in Danish; the English report names its tables and lines so.
_BC_EN = {
    "Forslagets samlede økonomiske konsekvenser": "Overall financial consequences of the proposal",
    "Samlet økonomisk påvirkning": "Total financial impact",
    "Beskæftigelseseffekt": "Employment effect",
    "Kortere ressourceforløb": "Shorter ressourceforløb",
    "Effekt på socialområdet": "Effect on social services",
    "Samlet varig ændring": "Total permanent change",
    "Virksomhedskonsulent": "Company consultant",
    "Forsknings- og udviklingsbistand": "Research and development support",
    "Fastholdelsesmentor": "Retention mentor",
    "Sundhedsvejledning": "Health guidance",
    "Personlig vejleder": "Personal guide",
    "Samlede implementeringsomkostninger": "Total implementation costs",
    "Tabel 1. Varige ændringer, service": "Table 1. Permanent changes, service",
    "Varige ændringer totalt, service": "Total permanent changes, service",
    "Tabel 2. Varige ændringer, efterspørgselsstyret indsats":
        "Table 2. Permanent changes, demand-driven measures (EI)",
    "Varige ændringer totalt, efterspørgselsstyret indsats": "Total permanent changes, demand-driven measures",
    "Tabel 3. Varige ændringer, overførsler": "Table 3. Permanent changes, transfers (EO)",
    "Varige ændringer totalt, overførsler": "Total permanent changes, transfers",
    "Beskæftigelseseffekt 5 pct. i beskæftigelse": "Employment effect: 5 % into employment",
    "Beskæftigelseseffekt 5 pct. vil overgå til fleksjob": "Employment effect: 5 % into a flex job",
    "Støttekontaktperson SEL §99": "Support contact person (§99)",
    "Støtte i egen bolig SEL §85": "Support in own home (§85)",
    "Botilbud SEL §107": "Residential care (§107)",
    "Kommunal medfinansiering psykiatri": "Municipal co-payment, psychiatry",
    "Beskæftigelseseffekt, ordinær beskæftigelse": "Employment effect, ordinary employment",
    "Beskæftigelseseffekt, fleksjob": "Employment effect, flex job",
}
_MEASURED_DA = re.compile(r"^målt: ([+-]?)([\d.]*\d(?:,\d+)?) procentpoint\)$")


def bc_label_en(text: str) -> str:
    """A business-case title or line name in English (``"Kortere ressourceforløb (BIF, EI)"`` ->
    ``"Shorter ressourceforløb (BIF, EI)"``); unknown names are returned unchanged."""
    if text in _BC_EN:
        return _BC_EN[text]
    head, sep, tail = text.partition(" (")
    m = _MEASURED_DA.match(tail) if sep else None
    if m:   # a line fed with a measured effect: "(målt: +9,9 procentpoint)"
        num = m.group(2).replace(".", "").replace(",", ".")
        tail = f"measured: {m.group(1)}{num} percentage points)"
    elif sep and tail == "målt; ikke vist af hensyn til diskretion)":   # its effect hidden by disclosure control
        tail = "measured; not shown for confidentiality)"
    if sep and head in _BC_EN:
        return f"{_BC_EN[head]} ({tail}"
    return f"{head} ({tail}" if sep else text


def quarter_label(quarter: str, lang: str = "da") -> str:
    """``'2017Q3' -> '3. kvartal 2017'`` (English: 'Q3 2017')."""
    y, q = quarter[:4], quarter[5]
    return f"{q}. kvartal {y}" if lang == "da" else f"Q{q} {y}"


# Section titles and fixed phrases.
T = {
    "da": {
        "report": "Kvartalsrapport til rehabiliteringsstyregruppen",
        "as_of": "Opgjort pr.",
        "summary": "Sammenfatning",
        "enrollment": "Optag i forhold til planen",
        "flow": "Forløbsdiagram (CONSORT)",
        "balance": "Er grupperne sammenlignelige?",
        "goals": "Målene: deltagergruppen mod kontrolgruppen",
        "forest": "Forskelle med 95 pct. usikkerhedsinterval",
        "weekly": "Andel selvforsørgende uge for uge",
        "business": "Business case: hvad betyder det i kroner?",
        "detectable": "Hvad kan forsøget stadig påvise?",
        "detectable_final": "Hvad kunne forsøget påvise?",
        "quality": "Datakvalitet",
        "changes": "Ændringer siden sidste kvartal",
        "methods": "Bilag: metode",
        "test_banner": "PRØVE – testregister, ikke forsøgets data",
        "test_banner_more": ("Rapporten er lavet på et testregister (øvelse eller afprøvning). Tallene må ikke "
                             "bruges som forsøgets resultater."),
        "descriptive_banner": ("Foreløbige, beskrivende tal. Forsøgets analysedato er {date}. Indtil da viser "
                               "rapporten forskelle mellem grupperne som beskrivelse, ikke som afprøvning af "
                               "effekt; tallene kan ændre sig meget."),
        "confirmatory": "Bekræftende",
        "exploratory": "Undersøgende",
        "descriptive": "beskrivende",
        "hidden_note": ("x: ikke vist af hensyn til diskretion (færre end {k} borgere, eller for at "
                        "et skjult tal ikke kan regnes ud fra totalerne)."),
        "page": "Side",
    },
    "en": {
        "report": "Quarterly report to the rehabilitation steering group",
        "as_of": "As of",
        "summary": "Summary",
        "enrollment": "Enrollment against plan",
        "flow": "Flow diagram (CONSORT)",
        "balance": "Are the groups comparable?",
        "goals": "The goals: treatment group against control group",
        "forest": "Differences with 95 % confidence interval",
        "weekly": "Share self-supporting, week by week",
        "business": "Business case: what it means in kroner",
        "detectable": "What can the trial still detect?",
        "detectable_final": "What could the trial detect?",
        "quality": "Data quality",
        "changes": "Changes since last quarter",
        "methods": "Appendix: methods",
        "test_banner": "REHEARSAL – test register, not the trial's data",
        "test_banner_more": ("This report was made from a test register (a rehearsal or trial run). Its figures "
                             "must not be used as the trial's results."),
        "descriptive_banner": ("Preliminary, descriptive figures. The trial's analysis date is {date}. Until "
                               "then the report shows differences between the groups as a description, not "
                               "as a test of effect; the figures may change a lot."),
        "confirmatory": "Confirmatory",
        "exploratory": "Exploratory",
        "descriptive": "descriptive",
        "hidden_note": ("x: not shown for confidentiality (fewer than {k} citizens, or so that a hidden "
                        "number cannot be worked out from the totals)."),
        "page": "Page",
    },
}
