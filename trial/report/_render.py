"""Render a :class:`ReportData` as one self-contained HTML file and a PDF.

The HTML embeds its CSS and figures (PNG as ``data:`` URLs, the flow diagram
as inline SVG) and contains no script and no external reference, so it opens
offline and prints on A4. The PDF is made from the same HTML with WeasyPrint.
Every count passes disclosure control (:mod:`trial.report._disclosure`).
"""
from __future__ import annotations

import dataclasses

import math
from dataclasses import dataclass
from html import escape
from importlib import resources
from pathlib import Path
from string import Template

from .. import __version__
from .._format import fmt_date_da, fmt_number
from ..business_case._notes import note_in_language as _bc_note
from ._consort import consort_svg
from ._disclosure import HIDDEN
from ._text import T, _scale, bc_label_en, effect_sentence, estimator_note, fmt_en, quarter_label

__all__ = ["render_html", "write_report", "ReportFiles", "effect_hidden", "balance_hidden", "write_pdf"]

_VAR_LABELS = {
    "age": ("Alder (år, gennemsnit)", "Age (years, mean)"),
    "sex": ("Andel kvinder", "Share women"),
    "prior_forloeb": ("Haft ressourceforløb før", "Had a ressourceforløb before"),
    "months_on_benefit": ("Måneder på ydelse de sidste 3 år", "Months on benefits, last 3 years"),
    "psych_contact_12m": ("Kontakt med psykiatrien sidste 12 mdr.", "Contact with psychiatry, last 12 months"),
}


def _small(c, n, k) -> bool:
    """A count (or its complement n - c) between 1 and k - 1."""
    if c is None:
        return False
    if n is None:  # the total is hidden (disclosure-controlled data read back): test the count alone
        return 1 <= c < k
    return (1 <= c < k) or (1 <= n - c < k)


def effect_hidden(e, min_cell: int) -> bool:
    """True when a binary endpoint's row would reveal a group of fewer than ``min_cell`` citizens.

    For a binary endpoint the rate times n is a count; if the count with (or
    without) the outcome in either group is 1 to ``min_cell - 1``, the rates,
    the difference and its interval are all hidden (the difference and the
    control rate together give back the treatment count).
    """
    if e.type != "binary":
        return False
    tc = e.treatment_count if e.treatment_count is not None else _round_count(e.treatment_mean, e.n_treatment)
    cc = e.control_count if e.control_count is not None else _round_count(e.control_mean, e.n_control)
    return _small(tc, e.n_treatment, min_cell) or _small(cc, e.n_control, min_cell)


MASKED_MEASURED_DA = "(målt; ikke vist af hensyn til diskretion)"


def bc_hidden_labels(data) -> set:
    """Business-case row labels that carry the effect of an endpoint whose row the report hides.

    A line fed with a measured effect is labelled with it ("Botilbud SEL §107 (målt: -3,4
    procentpoint)"); when :func:`effect_hidden` hides that endpoint's row, the label must not give
    the difference back.
    """
    bc = getattr(data, "business_case", None)
    if bc is None or not getattr(bc, "measured_lines", ()):
        return set()
    hidden = {e.endpoint for e in data.effects if effect_hidden(e, data.min_cell)}
    return {lab for ep, lab in bc.measured_lines if ep in hidden}


def mask_bc_label(label: str) -> str:
    """``"Botilbud SEL §107 (målt: -3,4 procentpoint)"`` -> ``"Botilbud SEL §107 (målt; ikke vist af hensyn til
    diskretion)"``: the line stays marked as measured, its effect is not shown."""
    head, sep, _ = label.rpartition(" (målt: ")
    return f"{head} {MASKED_MEASURED_DA}" if sep else label


def balance_hidden(b, min_cell: int) -> bool:
    """True when a binary baseline row's share would reveal a group of fewer than ``min_cell`` citizens."""
    if b.kind != "binary":
        return False
    return _small(b.treatment_count, b.n_treatment, min_cell) or _small(b.control_count, b.n_control, min_cell)


def _round_count(mean, n):
    if mean is None or not math.isfinite(mean):
        return None
    return int(round(mean * n))


class _Fmt:
    def __init__(self, lang: str):
        self.lang = lang
        self.da = lang == "da"

    def num(self, x, d=0) -> str:
        return fmt_number(x, d) if self.da else fmt_en(x, d)

    def count(self, x) -> str:
        return self.num(x, 0)

    def pct(self, share, d=0) -> str:
        if share is None or not math.isfinite(share):
            return "–"
        return f"{self.num(100 * share, d)} pct." if self.da else f"{self.num(100 * share, d)} %"

    def pp(self, diff, d=1) -> str:
        if diff is None or not math.isfinite(diff):
            return "–"
        return f"{self.num(100 * diff, d)} procentpoint" if self.da else f"{self.num(100 * diff, d)} pp"

    def date(self, d) -> str:
        return fmt_date_da(d) if self.da else f"{d.day} {d.strftime('%B')} {d.year}"

    def years(self, y) -> str:
        if y is None or not math.isfinite(y):
            return "ikke inden for perioden" if self.da else "not within the period"
        # whole years as a municipal case prints them (BI25: 16,04 -> 16 år), the fraction beside
        from ..business_case._case import whole_years

        w = whole_years(y)
        return f"{w} år ({self.num(y, 1)})" if self.da else f"{w} years ({self.num(y, 1)})"

    def kr1000(self, x) -> str:
        return self.num(x, 0)

    def pvalue(self, p) -> str:
        if p is None or not math.isfinite(p):
            return "–"
        if p < 0.001:
            return "< 0,001" if self.da else "< 0.001"
        return self.num(p, 3)


def _table(head, rows, *, num_cols=(), total_last=False, cls="") -> str:
    th = "".join(f'<th class="num">{escape(h)}</th>' if i in num_cols else f"<th>{escape(h)}</th>"
                 for i, h in enumerate(head))
    body = []
    for r_i, row in enumerate(rows):
        if isinstance(row, _Span):
            body.append(f'<tr class="span"><td colspan="{len(head)}">{row.html}</td></tr>')
            continue
        klass = ' class="total"' if total_last and r_i == len(rows) - 1 else ""
        tds = "".join(f'<td class="num">{c}</td>' if i in num_cols else f"<td>{c}</td>" for i, c in enumerate(row))
        body.append(f"<tr{klass}>{tds}</tr>")
    c = f' class="{cls}"' if cls else ""
    return f"<table{c}><thead><tr>{th}</tr></thead><tbody>{''.join(body)}</tbody></table>"


@dataclass(frozen=True)
class _Span:
    """A table row of one cell spanning all columns (the plain-words sentence)."""

    html: str


def _figure(img_b64: str, caption: str, alt: str) -> str:
    return (f'<figure><img alt="{escape(alt)}" src="data:image/png;base64,{img_b64}">'
            f"<figcaption>{escape(caption)}</figcaption></figure>")


# --------------------------------------------------------------------------- sections
def _summary(d, f: _Fmt) -> str:
    fl = d.flow
    da = f.da
    parts = []
    if da:
        parts.append(f"Pr. {f.date(d.as_of)} er {f.count(fl.referred)} borgere henvist, og {f.count(fl.randomized)} "
                     f"er randomiseret: {f.count(fl.randomized_treatment)} til deltagergruppen og "
                     f"{f.count(fl.randomized_control)} til kontrolgruppen (planen er {f.count(d.planned_treatment)} "
                     f"og {f.count(d.planned_control)}).")
    else:
        parts.append(f"As of {f.date(d.as_of)}, {f.count(fl.referred)} citizens have been referred and "
                     f"{f.count(fl.randomized)} randomized: {f.count(fl.randomized_treatment)} to the treatment "
                     f"group and {f.count(fl.randomized_control)} to the control group (planned: "
                     f"{f.count(d.planned_treatment)} and {f.count(d.planned_control)}).")
    if d.balance:
        worst = max(abs(b.std_diff) for b in d.balance if math.isfinite(b.std_diff))
        ok = worst < 0.1
        if da:
            parts.append("Grupperne ligner hinanden ved start" if ok else
                         "Grupperne adskiller sig lidt ved start")
            parts[-1] += f" (største standardiserede forskel {f.num(worst, 2)})."
        else:
            parts.append(("The groups are alike at baseline" if ok else "The groups differ somewhat at baseline")
                         + f" (largest standardised difference {f.num(worst, 2)}).")
    if d.descriptive_only:
        parts.append(f"Forskellene er foreløbige og beskrivende indtil analysedatoen {f.date(d.analysis_date)}."
                     if da else f"Differences are preliminary and descriptive until the analysis date "
                     f"{f.date(d.analysis_date)}.")
    conf = sorted((e for e in d.effects if e.role == "confirmatory"), key=lambda e: e.hierarchy)
    if conf and not d.descriptive_only:
        parts.append(f"De {_n_word(len(conf), da)} bekræftende mål er afprøvet i den aftalte, faste rækkefølge:"
                     if da else f"The {_n_word(len(conf), da)} confirmatory goals were tested in the pre-specified "
                     f"fixed order:")
    goals = [_goal_sentence(e, d, f) for e in conf]
    after = []
    if not d.descriptive_only and any(e.rejected is False for e in conf):
        after.append("Når forsøget ikke kan vise en effekt, betyder det ikke, at indsatsen er uden virkning, men at "
                     "forskellen ikke kan skelnes fra tilfældigheder med det antal borgere, forsøget har." if da else
                     "When the trial cannot show an effect, this does not mean that the programme is without effect, "
                     "only that the difference cannot be told apart from chance with the number of citizens in the "
                     "trial.")
    bc = d.business_case
    if bc is not None:
        none_measured = bc.measured == ()
        if da:
            lead = ("Med de antagne effekter (ingen er målt endnu)" if none_measured else
                    "Med forsøgets skøn, hvor de findes, og ellers de antagne effekter" if d.descriptive_only else
                    "Med de skønnede effekter")
            s = (f"{lead}"
                 f" er tilbagebetalingstiden for den samlede økonomi {f.years(bc.payback_years_total)}")
            if _prob_shown(bc):
                s += (f", og sandsynligheden for, at investeringen er tjent hjem inden for "
                      f"{bc.payback_horizon_years} år, er {f.pct(bc.prob_payback)}")
            elif none_measured:
                s += "; en sandsynlighed for tilbagebetaling kræver målte effekter og beregnes, når forsøget har skøn"
        else:
            lead = ("With the assumed effects (none measured yet)" if none_measured else
                    "With the trial's estimates where there are any, and the assumed effects otherwise"
                    if d.descriptive_only else "With the estimated effects")
            s = (f"{lead}"
                 f" the payback time on the total economy is {f.years(bc.payback_years_total)}")
            if _prob_shown(bc):
                s += (f", and the probability that the investment has paid for itself within "
                      f"{bc.payback_horizon_years} years is {f.pct(bc.prob_payback)}")
            elif none_measured:
                s += "; a probability of payback needs measured effects and follows once the trial has estimates"
        after.append(s if s.endswith(".") else s + ".")
    body = f"<p>{escape(' '.join(parts))}</p>"
    if goals:
        body += "<ul>" + "".join(f"<li>{escape(g)}</li>" for g in goals) + "</ul>"
    if after:
        body += f"<p>{escape(' '.join(after))}</p>"
    return f'<div class="summary">{body}</div>'


_N_WORDS = {"da": ("nul", "ét", "to", "tre", "fire", "fem", "seks"),
            "en": ("zero", "one", "two", "three", "four", "five", "six")}


def _n_word(n: int, da: bool) -> str:
    words = _N_WORDS["da" if da else "en"]
    return words[n] if 0 <= n < len(words) else str(n)


def _goal_sentence(e, d, f: _Fmt) -> str:
    """One confirmatory goal in plain words for the summary.

    Before the analysis date: the difference, described. From the analysis date: whether the trial shows
    the effect (the pre-specified fixed-sequence test rejected the null hypothesis) in words a non-statistician
    reads, never "no effect" from a non-significant result.
    """
    da = f.da
    label = e.label_da if da else e.label_en
    hidden = effect_hidden(e, d.min_cell)
    words = "" if hidden else effect_sentence(e.estimate, e.ci_low, e.ci_high, endpoint=e.endpoint, etype=e.type,
                                              label_da=e.label_da, label_en=e.label_en, lang=d.lang)
    if not hidden and not _has_estimate(e):
        sf = {r.endpoint: r for r in d.so_far}.get(e.endpoint)
        return f"{label}: {_not_computable(e, sf, d, f).replace('; se hidtil-tallene nedenfor', '').replace('; see the figures so far below', '')}"
    if d.descriptive_only or e.rejected is None:
        if hidden:
            return (f"{label}: ikke vist endnu (for få borgere)." if da
                    else f"{label}: not shown yet (too few citizens).")
        if not d.descriptive_only:  # after the analysis date but no test result (e.g. no p-value)
            return (f"{label}: kan ikke afgøres endnu ({words})." if da
                    else f"{label}: cannot be decided yet ({words}).")
        return f"{label}: {words}."
    tail = "" if hidden else f" ({words})"
    if e.rejected:
        same_way = not math.isfinite(e.goal) or e.goal == 0 or (e.estimate > 0) == (e.goal > 0)
        if same_way:
            return (f"{label}: Forsøget viser, at indsatsen virker{tail}." if da
                    else f"{label}: The trial shows that the programme works{tail}.")
        return (f"{label}: Forsøget viser en forskel i den modsatte retning af målet{tail}." if da
                else f"{label}: The trial shows a difference in the opposite direction to the goal{tail}.")
    blocked = math.isfinite(e.p_value) and e.p_value < d.alpha
    if blocked:
        return (f"{label}: Forsøget kan ikke vise en effekt efter de aftalte regler, fordi et mål før det i "
                f"rækkefølgen ikke blev påvist{'; tallene alene peger på ' + words if words else ''}." if da else
                f"{label}: The trial cannot show an effect under the pre-specified rules, because a goal before it "
                f"in the order was not shown{'; the figures alone point to ' + words if words else ''}.")
    return (f"{label}: Forsøget kan ikke vise en effekt; forskellen kan skyldes tilfældigheder{tail}." if da else
            f"{label}: The trial cannot show an effect; the difference may be due to chance{tail}.")


def _enrollment(d, f: _Fmt) -> str:
    """Cumulative randomizations per quarter against the plan, up to the last quarter in which they moved.

    Later quarters would repeat the same row; one line says so and gives the current total instead.
    """
    from ._public import _enrollment as enr_disclosed

    k = d.min_cell
    pts = enr_disclosed(d.enrollment, k)   # one arm hidden -> both hidden (the total would give it back)
    c = lambda v: HIDDEN if v is None or 1 <= v < k else f.count(v)  # noqa: E731
    last = 0
    for i in range(1, len(d.enrollment)):
        a, b = d.enrollment[i - 1], d.enrollment[i]
        if (a.planned, a.treatment, a.control) != (b.planned, b.treatment, b.control):
            last = i
    shown, rest = pts[:last + 1], pts[last + 1:]
    rows: list = [[escape(quarter_label(p.quarter, d.lang)), f.count(p.planned), c(p.treatment), c(p.control),
                   c(d.enrollment[i].treatment + d.enrollment[i].control)] for i, p in enumerate(shown)]
    if rest:
        tot = c(d.enrollment[-1].treatment + d.enrollment[-1].control)
        since = quarter_label(shown[-1].quarter, d.lang)
        now = quarter_label(rest[-1].quarter, d.lang)
        line = (f"Siden {since}: ingen nye randomiseringer. I alt {tot} randomiseret pr. {now}." if f.da else
                f"Since {since}: no new randomizations. In total {tot} randomized as of {now}.")
        rows.append(_Span(f'<span class="since">{escape(line)}</span>'))
    head = (["Kvartal", "Plan (i alt)", d.treatment_label(), d.control_label(), "I alt"] if f.da else
            ["Quarter", "Plan (total)", d.treatment_label(), d.control_label(), "Total"])
    planned = d.planned_treatment + d.planned_control
    total = d.flow.randomized
    share = total / planned if planned else float("nan")
    txt = (f"Forsøget skal randomisere {f.count(planned)} borgere ({f.count(d.planned_treatment)} i "
           f"deltagergruppen). Indtil nu er {f.count(total)} randomiseret, {f.pct(share)} af planen. "
           f"Tallene er akkumulerede ved kvartalets slutning."
           if f.da else
           f"The trial is to randomize {f.count(planned)} citizens ({f.count(d.planned_treatment)} in the treatment "
           f"group). So far {f.count(total)} are randomized, {f.pct(share)} of the plan. Figures are cumulative "
           f"at the end of each quarter.")
    return f"<p>{escape(txt)}</p>" + _table(head, rows, num_cols=(1, 2, 3, 4), cls="enrollment")


def _flow(d, f: _Fmt) -> str:
    cap = (f"Figur 1. Borgernes vej gennem forsøget efter CONSORT 2025, opgjort fra forsøgsregistret pr. "
           f"{f.date(d.as_of)}. {T[d.lang]['hidden_note'].format(k=d.min_cell)}" if f.da else
           f"Figure 1. Citizens' flow through the trial (CONSORT 2025), from the trial register as of "
           f"{f.date(d.as_of)}. {T[d.lang]['hidden_note'].format(k=d.min_cell)}")
    return f"<figure>{consort_svg(d)}<figcaption>{escape(cap)}</figcaption></figure>"


def _balance(d, f: _Fmt) -> str:
    k = d.min_cell
    rows = []
    for b in d.balance:
        lab = _VAR_LABELS.get(b.variable, (b.variable, b.variable))[0 if f.da else 1]
        if b.kind == "binary":
            hide = balance_hidden(b, k)
            tv = HIDDEN if hide else f.pct(b.treatment_value)
            cv = HIDDEN if hide else f.pct(b.control_value)
        else:
            tv, cv = f.num(b.treatment_value, 1), f.num(b.control_value, 1)
        rows.append([escape(lab), tv, cv, f.num(b.std_diff, 2)])
    head = ([" ", d.treatment_label(), d.control_label(), "Standardiseret forskel"] if f.da else
            [" ", d.treatment_label(), d.control_label(), "Standardised difference"])
    note = ("Standardiseret forskel = forskellen i gennemsnit delt med den fælles standardafvigelse. Under 0,1 "
            "regnes grupperne for ens; ved lodtrækning er forskelle tilfældige." if f.da else
            "Standardised difference = difference in means divided by the pooled standard deviation. Below 0.1 the "
            "groups count as alike; under randomization differences are due to chance.")
    return _table(head, rows, num_cols=(1, 2, 3)) + f'<p class="note">{escape(note)}</p>'


def _effect_value(e, x, f: _Fmt, diff=False):
    if e.type == "time_to_event":  # shares with the event by the horizon; the difference is a hazard ratio
        return f.num(x, 2) if diff else f.pct(x, 1)
    if e.type == "binary":
        return f.num(100 * x, 1) if diff else f.pct(x, 1)
    return f.num(x, 1)


def _finite(x) -> bool:
    return x is not None and math.isfinite(x)


def _goal_text(e, f: _Fmt) -> str:
    """The goals column: the protocol's words (in the estimate's unit) or the goal as a number."""
    per100 = _scale(e.type, e.endpoint)[0] == 100.0
    if f.da and e.goal_da:
        txt = e.goal_da
        if per100 and "100" not in txt:
            txt += " pr. 100 borgere"
        return txt
    if e.type == "time_to_event":  # the estimate is a hazard ratio: the goal in words, not a share
        up = e.direction != "decrease"
        return (("Flere kommer hurtigere i job" if up else "Færre kommer hurtigt i job") if f.da else
                ("More get into work sooner (hazard ratio above 1)" if up else
                 "Fewer get into work soon (hazard ratio below 1)"))
    if not _finite(e.goal):
        return "–"
    if e.type == "binary":
        return f.pp(e.goal, 0)
    dec = next((k for k in (1, 2, 3) if abs(round(e.goal, k) - e.goal) < 1e-12), 4)
    return f.num(e.goal, dec) + ((" pr. borger" if f.da else " per citizen") if e.type == "count" else "")


def _has_estimate(e) -> bool:
    """A finite estimate; for a hazard ratio also not degenerate (0 or infinite: no events in an arm)."""
    if not _finite(e.estimate):
        return False
    if e.type == "time_to_event":
        return 1e-6 < e.estimate < 1e6
    return True


def _not_computable(e, sf, d, f: _Fmt) -> str:
    """The sentence for an endpoint without an estimate (Danish or English, never an English note in Danish)."""
    if sf is not None:
        h = sf.horizon_weeks
        if sf.complete_treatment == 0 and sf.complete_control == 0:
            who = (f"ingen borgere er fulgt i {h} uger" if f.da else f"no citizen has been followed for {h} weeks")
        else:
            arm = d.treatment_label() if sf.complete_treatment == 0 else d.control_label()
            who = (f"ingen borgere i {arm} er fulgt i {h} uger" if f.da
                   else f"no citizen in the {arm} has been followed for {h} weeks")
        return (f"Kan ikke beregnes endnu ({who}); se hidtil-tallene nedenfor." if f.da
                else f"Cannot be computed yet ({who}); see the figures so far below.")
    head = "Kan ikke beregnes endnu" if f.da else "Cannot be computed yet"
    note = estimator_note(e.note, d.lang)
    return f"{head} ({note})." if note else f"{head}."


def so_far_hidden(r, min_cell: int) -> bool:
    """True when a "hidtil" row would reveal a group of fewer than ``min_cell`` citizens (or is hidden already)."""
    return (r.treatment_count is None or r.control_count is None
            or _small(r.treatment_count, r.treatment_n, min_cell) or _small(r.control_count, r.control_n, min_cell))


def _so_far_table(d, f: _Fmt) -> str:
    """Descriptive "hidtil" comparison of the "ever by week H" endpoints that cannot be estimated yet."""
    if not d.so_far:
        return ""
    k = d.min_cell
    rows = []
    for r in d.so_far:
        label = escape(r.label_da if f.da else r.label_en)
        hidden = so_far_hidden(r, k)

        def cell(c, n, share):
            if hidden:
                return HIDDEN
            return f"{f.pct(share, 1)} ({f.count(c)} {'af' if f.da else 'of'} {f.count(n)})"

        med = f.num(r.median_followup_weeks, 0) if _finite(r.median_followup_weeks) else "–"
        rows.append([f'{label}<br><span class="tag desc">{T[d.lang]["descriptive"]}</span>',
                     cell(r.control_count, r.control_n, r.control_share),
                     cell(r.treatment_count, r.treatment_n, r.treatment_share), med, f.count(r.horizon_weeks)])
    head = (["Mål", d.control_label(), d.treatment_label(), "Fulgt (median, uger)", "Målt ved uge"] if f.da else
            ["Goal", d.control_label(), d.treatment_label(), "Followed (median, weeks)", "Measured at week"])
    date = f.date(d.data_date or d.as_of)
    note = (f"Beskrivende: andelen, der indtil {date} har haft hændelsen, blandt borgere, der ikke er faldet fra "
            f"(flyttet, døde, trak sig). Borgerne er fulgt i forskellig tid og endnu ikke til målets uge, så "
            f"tallene er ikke et skøn over effekten; de indgår hverken i de bekræftende mål eller i business casen. "
            f"Rækker med færre end {k} borgere med eller uden hændelsen i en gruppe vises ikke." if f.da else
            f"Descriptive: the share who have had the event by {date}, among citizens not lost to follow-up "
            f"(moved away, died, withdrew). Citizens have been followed for different lengths of time and not yet "
            f"to the goal's week, so these figures are not an estimate of the effect; they feed neither the "
            f"confirmatory goals nor the business case. Rows with fewer than {k} citizens with or without the "
            f"event in a group are not shown.")
    title = "Hidtil (beskrivende)" if f.da else "So far (descriptive)"
    return (f'<h3 id="so-far">{escape(title)}</h3>' + _table(head, rows, num_cols=(1, 2, 3, 4)) +
            f'<p class="note">{escape(note)}</p>')


def _goals(d, f: _Fmt, forest_b64: str) -> str:
    k = d.min_cell
    rows = []
    so_far = {r.endpoint: r for r in d.so_far}
    tt = T[d.lang]
    for e in d.effects:
        role = (f'<span class="tag conf">{tt["confirmatory"]}</span>' if e.role == "confirmatory" else
                f'<span class="tag expl">{tt["exploratory"]}</span>')
        if d.descriptive_only or e.descriptive:
            role += f' <span class="tag desc">{tt["descriptive"]}</span>'
        label = escape(e.label_da if f.da else e.label_en)
        goal = escape(_goal_text(e, f))
        if effect_hidden(e, k):
            txt = ("Ikke vist: færre end {k} borgere med eller uden udfaldet i en af grupperne." if f.da else
                   "Not shown: fewer than {k} citizens with or without the outcome in one group.").format(k=k)
            rows.append([f"{label}<br>{role}", goal, HIDDEN, HIDDEN, HIDDEN])
            rows.append(_Span(f'<span class="note">{escape(txt)}</span>'))
            continue
        sf = so_far.get(e.endpoint)
        if not _has_estimate(e):
            diff = "–"
            sentence = _not_computable(e, sf, d, f)
        else:
            diff = (f"{_effect_value(e, e.estimate, f, True)} "
                    f"({_effect_value(e, e.ci_low, f, True)} {'til' if f.da else 'to'} "
                    f"{_effect_value(e, e.ci_high, f, True)})")
            sentence = effect_sentence(e.estimate, e.ci_low, e.ci_high, endpoint=e.endpoint, etype=e.type,
                                       label_da=e.label_da, label_en=e.label_en, lang=d.lang)
            if not d.descriptive_only and e.role == "confirmatory" and _finite(e.adjusted_p_value):
                sentence += (f" (justeret p = {f.pvalue(e.adjusted_p_value)})" if f.da
                             else f" (adjusted p = {f.pvalue(e.adjusted_p_value)})")
            note = estimator_note(e.note, d.lang)
            if note:
                sentence += f" [{note}]"
        # no estimate: the arm means of the few complete cases would mislead (e.g. only citizens with an event)
        cm, tm = ((e.control_mean, e.treatment_mean) if _has_estimate(e) or e.type == "time_to_event"
                  else (math.nan, math.nan))
        rows.append([f"{label}<br>{role}", goal, _effect_value(e, cm, f), _effect_value(e, tm, f), diff])
        rows.append(_Span(f'<span class="sentence">{escape(sentence)}</span>'))
    if not d.effects:
        rows.append(_Span(escape("Forskellene er ikke beregnet for dette kvartal (se Datakvalitet)." if f.da else
                                 "Differences are not computed for this quarter (see Data quality).")))
    head = (["Mål", "Målsætning", d.control_label(), d.treatment_label(), "Forskel (95 pct. interval)"]
            if f.da else ["Goal", "Target", d.control_label(), d.treatment_label(), "Difference (95 % CI)"])
    if f.da:
        expl = ("Bekræftende mål er de tre beskæftigelsesmål, som forsøget er dimensioneret til og testes i en fast "
                "rækkefølge; de øvrige er undersøgende. Usikkerhedsintervallet viser de forskelle, der er forenelige "
                "med data: spænder det over nul, kan forskellen skyldes tilfældigheder.")
    else:
        expl = ("Confirmatory goals are the employment goals the trial is powered for, tested in a fixed sequence; "
                "the others are exploratory. The interval shows the differences compatible with the data: if it "
                "spans zero, the difference may be due to chance.")
    cap = ("Figur 2. Forskel mellem deltagergruppe og kontrolgruppe pr. 100 borgere med 95 pct. "
           "usikkerhedsinterval (ja/nej-mål). Ruden viser målsætningen." if f.da else
           "Figure 2. Difference between treatment and control group per 100 citizens with 95 % confidence "
           "interval (yes/no goals). The diamond marks the target.")
    unit = ("For ja/nej-mål er andelene i pct. og forskellene i procentpoint." if f.da else
            "For yes/no goals shares are in per cent and differences in percentage points.")
    return (f"<p>{escape(expl)}</p>" + _table(head, rows, num_cols=(2, 3, 4), cls="goals") +
            f'<p class="note">{escape(unit)}</p>' + _so_far_table(d, f) +
            f"<h3>{escape(T[d.lang]['forest'])}</h3>" + _figure(forest_b64, cap, cap))


def _weekly(d, f: _Fmt, b64: str) -> str:
    cap = (f"Figur 3. Andel selvforsørgende (ordinær beskæftigelse, uddannelse eller ingen offentlig ydelse) i hver "
           f"uge efter henvisningen (uge 1 = de første 7 dage fra henvisningsdatoen). Uger, hvor færre end {d.min_cell} borgere i en gruppe er selvforsørgende, "
           f"er udeladt." if f.da else
           f"Figure 3. Share self-supporting (ordinary employment, education or no public benefit) in each week "
           f"since referral (week 1 = the first 7 days from the referral date). Weeks with fewer than {d.min_cell} self-supporting citizens in a group are left out.")
    return _figure(b64, cap, cap)


def _business(d, f: _Fmt, b64: str | None) -> str:
    bc = d.business_case
    if bc is None:
        return f"<p>{'Ingen business case er knyttet til protokollen.' if f.da else 'No business case is linked.'}</p>"
    out = []
    unit = (f"Beløb i 1.000 kr., {bc.price_level}-p/l. Besparelser er negative, udgifter positive." if f.da else
            f"Amounts in DKK 1,000, {bc.price_level} prices. Savings are negative, costs positive.")
    out.append(f'<p class="note">{escape(unit)}</p>')
    tr = (lambda x: x) if f.da else bc_label_en
    masked = bc_hidden_labels(d)
    for t in bc.tables:
        rows = [[escape(tr(mask_bc_label(lbl) if lbl in masked else lbl))] + [f.kr1000(v) for v in vals]
                + [f.kr1000(sum(vals))] for lbl, vals in t.rows]
        rows.append([escape(t.total_label if f.da else "Total")] + [f.kr1000(v) for v in t.total]
                    + [f.kr1000(sum(t.total))])
        out.append(f'<div class="keep"><h3>{escape(tr(t.title))}</h3>')
        out.append(_table([""] + list(t.years) + ["I alt" if f.da else "Total"], rows,
                          num_cols=tuple(range(1, len(t.years) + 2)), total_last=True) + "</div>")
    items = [("Tilbagebetalingstid, service" if f.da else "Payback, service", f.years(bc.payback_years_service)),
             ("Tilbagebetalingstid, samlet økonomi" if f.da else "Payback, total economy",
              f.years(bc.payback_years_total))]
    if bc.prob_payback is not None and math.isfinite(bc.prob_payback):
        items.append(((f"Sandsynlighed for tilbagebetaling inden for {bc.payback_horizon_years} år" if f.da else
                       f"Probability of payback within {bc.payback_horizon_years} years"),
                      f.pct(bc.prob_payback) if _prob_shown(bc) else
                      ("– (ingen målte effekter endnu)" if f.da else "– (no measured effects yet)")))
    out.append(_table(["Nøgletal" if f.da else "Key figure", ""], [[escape(a), escape(b)] for a, b in items],
                      num_cols=(1,)))
    how = (f"Business casen er den offentliggjorte BI25-beregning, hvor de antagne effekter er erstattet af "
           f"forsøgets skøn, hvor de findes; sandsynligheden er andelen af {f.count(bc.n_resamples or 0)} "
           f"simuleringer fra skønnenes usikkerhed, hvor investeringen er tjent hjem." if f.da else
           f"The business case is the published BI25 calculation with the assumed effects replaced by the trial's "
           f"estimates where there are any; the probability is the share of {f.count(bc.n_resamples or 0)} "
           f"simulations from the estimates' uncertainty in which the investment pays for itself.")
    if bc.measured == ():
        how = ("Ingen effekter er målt i forsøget endnu, så business casen viser den offentliggjorte BI25-beregning "
               "med de antagne effekter (antaget); den bliver opdateret, når forsøget har skøn." if f.da else
               "No effects have been measured in the trial yet, so the business case shows the published BI25 "
               "calculation with its assumed effects; it is updated as the trial produces estimates.")
    labels = {e.endpoint: (e.label_da if f.da else e.label_en) for e in d.effects}
    withheld = tuple(getattr(bc, "withheld", ()) or ())
    if withheld:
        names = ", ".join(labels.get(ep, ep) for ep in withheld)
        how += (f" Effekten på {names} er målt, men vises ikke af hensyn til diskretion; derfor regner business "
                f"casen her med den antagne effekt (antaget), så beløbene ikke afslører den." if f.da else
                f" The effect on {names} is measured but not shown for confidentiality; the business case "
                f"therefore uses the assumed effect there (assumed), so the amounts do not reveal it.")
    note = _bc_note(bc.note, f.da, labels)
    out.append(f'<p class="note">{escape(how)}{(" " + escape(note)) if note else ""}</p>')
    if b64:
        cap = ("Figur 4. Akkumuleret nettoudgift (investering plus varige ændringer) år for år; under nul er "
               "investeringen tjent hjem." if f.da else
               "Figure 4. Cumulative net cost (investment plus permanent changes) by year; below zero the "
               "investment has paid for itself.")
        out.append(_figure(b64, cap, cap))
    return "".join(out)


def _prob_shown(bc) -> bool:
    """Whether the report states P(payback): only when some effect is measured. With the assumed effects
    alone nothing is uncertain, every draw is the same case, and "100 pct." would read as a certainty."""
    return bc.prob_payback is not None and math.isfinite(bc.prob_payback) and bc.measured != ()


def _detectable(d, f: _Fmt) -> str:
    if not d.detectable:
        return f"<p>{'Ikke beregnet.' if f.da else 'Not computed.'}</p>"
    rows = []
    for r in d.detectable:
        lab = escape(r.label_da if f.da else r.label_en)
        rows.append([lab, f"{f.count(r.n_treatment)} / {f.count(r.n_control)}", f.pp(r.mde), f.pp(r.goal),
                     f.pct(r.power_at_goal)])
    head = (["Mål", "Borgere (deltager / kontrol)", "Mindste påviselige forskel", "Målsætning", "Styrke ved målet"]
            if f.da else ["Goal", "Citizens (treatment / control)", "Minimum detectable difference", "Target",
                          "Power at target"])
    if d.descriptive_only:
        note = (f"Beregnet for alle randomiserede borgere. Mindste forskel, forsøget med den nuværende størrelse finder "
                f"med 80 pct. sandsynlighed (styrke) ved signifikansniveau {f.pct(d.alpha)} (tosidet). Er den større "
                f"end målsætningen, kan forsøget ikke forventes at påvise målet." if f.da else
                f"Computed for all randomized citizens. Smallest difference the trial at its current size finds with "
                f"80 % probability (power) at a {f.pct(d.alpha)} two-sided level. If it exceeds the target, the "
                f"trial cannot be expected to show it.")
    else:
        note = (f"Beregnet for alle randomiserede borgere. Mindste forskel, forsøget med sin endelige størrelse kunne "
                f"finde med 80 pct. sandsynlighed (styrke) ved signifikansniveau {f.pct(d.alpha)} (tosidet). Var den "
                f"større end målsætningen, kunne forsøget ikke forventes at påvise målet." if f.da else
                f"Computed for all randomized citizens. Smallest difference the trial at its final size could find "
                f"with 80 % probability (power) at a {f.pct(d.alpha)} two-sided level. Where it exceeded the target, "
                f"the trial could not be expected to show it.")
    note += (" Styrken er den eksakte for forsøgets primære test (HC2/Welch-t-test af forskellen i andele, "
             "beregnet ved optælling af alle udfald)." if f.da else
             " Power is the exact power of the trial's primary test (the HC2/Welch t test of the difference in "
             "shares, computed by enumerating every outcome).")
    return _table(head, rows, num_cols=(1, 2, 3, 4)) + f'<p class="note">{escape(note)}</p>'


def _quality(d, f: _Fmt) -> str:
    items = list(d.data_quality)
    dd = getattr(d, "data_date", None)
    if dd is not None and dd < d.as_of:
        items.insert(0, (f"De nyeste data er trukket {f.date(dd)}, før kvartalets slutning {f.date(d.as_of)}: "
                         f"rapporten viser forløbet til og med {f.date(dd)}." if f.da else
                         f"The newest data were drawn on {f.date(dd)}, before the quarter's end {f.date(d.as_of)}: "
                         f"the report shows follow-up up to {f.date(dd)}."))
    d = dataclasses.replace(d, data_quality=tuple(items))
    if not d.data_quality:
        return f"<p>{'Ingen bemærkninger.' if f.da else 'No remarks.'}</p>"
    return "<ul>" + "".join(f"<li>{escape(n)}</li>" for n in d.data_quality) + "</ul>"


def _change_value(c, v, f: _Fmt):
    if v is None:
        return "–"
    if c.kind == "pp":
        return f.pp(v)
    if c.kind == "share":
        return f.pct(v)
    if c.kind == "years":
        return f.years(v)
    if c.kind == "count":
        return f.count(v)
    return f.num(v, 1)


def _changes(d, f: _Fmt) -> str:
    if d.changes is None:
        return f"<p>{'Dette er den første rapport; der er intet at sammenligne med.' if f.da else 'This is the first report; there is nothing to compare with.'}</p>"
    if not d.changes:
        return f"<p>{'Ingen af nøgletallene har ændret sig.' if f.da else 'None of the key figures changed.'}</p>"
    rows = [[escape(c.label_da if f.da else c.label_en), _change_value(c, c.previous, f),
             _change_value(c, c.current, f)] for c in d.changes]
    prev = quarter_label(d.previous_quarter, d.lang) if d.previous_quarter else "–"
    head = ["", prev, quarter_label(d.quarter, d.lang)]
    return _table(head, rows, num_cols=(1, 2))


def _methods(d, f: _Fmt) -> str:
    da = f.da
    seeds = ", ".join(f"{escape(n)} = {s}" for n, s in d.seeds)
    items = [
        ("Protokol" if da else "Protocol", f"{escape(d.trial_id)}; {'fingeraftryk' if da else 'fingerprint'} (SHA-256) "
                                            f"<code>{escape(d.protocol_fingerprint)}</code>"),
        ("Sekvens-commitment" if da else "Sequence commitment", f"<code>{escape(d.sequence_commitment)}</code>"),
        ("Software", f"trial {escape(d.software_version)}"),
        ("Seeds", seeds or "–"),
        ("Register", escape(d.register_mode or "–")),
        ("Estimator", escape(d.primary_estimator) + (
            " (forskel i gennemsnit med Neyman/HC2-standardfejl og Welch-frihedsgrader som R "
            "estimatr::difference_in_means)" if da else
            " (difference in means with Neyman/HC2 standard error and Welch degrees of freedom, as R "
            "estimatr::difference_in_means)")),
        ("Multiplicitet" if da else "Multiplicity", escape(d.multiplicity) + (
            f" over de bekræftende mål, α = {f.num(d.alpha, 2)}" if da else
            f" over the confirmatory goals, α = {f.num(d.alpha, 2)}")),
        ("Analysedato" if da else "Analysis date", escape(f.date(d.analysis_date)) + (
            " (før denne dato er alle forskelle beskrivende)" if da else
            " (before this date all differences are descriptive)")),
        ("Diskretion" if da else "Confidentiality", escape(
            f"Tal fra 1 til {d.min_cell - 1} borgere vises ikke (x); nuller vises. Mindst to skjulte tal i hver "
            f"række og søjle, kontrolleret ved lineær programmering, så intet skjult tal kan regnes ud fra "
            f"totalerne. Ingen pseudonymer eller CPR-numre indgår i rapporten." if da else
            f"Counts of 1 to {d.min_cell - 1} citizens are not shown (x); zeros are shown. At least two hidden "
            f"cells in each row and column, audited by linear programming, so no hidden count can be worked out "
            f"from the totals. No pseudonym or CPR number enters the report.")),
    ]
    for n in d.notes:
        items.append(("Note", escape(n)))
    return '<dl class="methods">' + "".join(f"<dt>{a}</dt><dd>{b}</dd>" for a, b in items) + "</dl>"


# --------------------------------------------------------------------------- page
def _template(name: str) -> str:
    return resources.files("trial.report").joinpath("templates", name).read_text(encoding="utf-8")


def render_html(data) -> str:
    """The report as one self-contained HTML document (no script, no external resource)."""
    from ._figures import figure_png_base64, plot_forest, plot_payback, plot_self_supporting

    lang = data.lang
    if lang not in ("da", "en"):
        from ._data import ReportError

        raise ReportError(f"`lang` must be 'da' or 'en'; got {lang!r}")
    f = _Fmt(lang)
    tt = T[lang]
    forest = figure_png_base64(plot_forest(data))
    weekly = figure_png_base64(plot_self_supporting(data))
    payback = figure_png_base64(plot_payback(data)) if data.business_case is not None else None
    title = data.title_da if f.da else data.title_en
    sec = []
    if data.register_mode == "test":   # page 1 says so, not only the appendix: a rehearsal is not the trial
        sec.append(f'<div class="banner test-register"><strong>{escape(tt["test_banner"])}</strong> '
                   f'{escape(tt["test_banner_more"])}</div>')
    if data.descriptive_only:
        sec.append(f'<div class="banner">{escape(tt["descriptive_banner"].format(date=f.date(data.analysis_date)))}</div>')
    blocks = [
        ("summary", tt["summary"], _summary(data, f)),
        ("enrollment", tt["enrollment"], _enrollment(data, f)),
        ("flow", tt["flow"], _flow(data, f)),
        ("balance", tt["balance"], _balance(data, f)),
        ("goals", tt["goals"], _goals(data, f, forest)),
        ("weekly", tt["weekly"], _weekly(data, f, weekly)),
        ("business", tt["business"], _business(data, f, payback)),
        ("detectable", tt["detectable"] if data.descriptive_only else tt["detectable_final"],
         _detectable(data, f)),
        ("quality", tt["quality"], _quality(data, f)),
        ("changes", tt["changes"], _changes(data, f)),
    ]
    for i, (sid, head, body) in enumerate(blocks, 1):
        sec.append(f'<section id="{sid}"><h2>{i}. {escape(head)}</h2>{body}</section>')
    sec.append(f'<section id="methods" class="appendix"><h2>{escape(tt["methods"])}</h2>{_methods(data, f)}</section>')
    kicker = f"{tt['report']} · {quarter_label(data.quarter, lang)}"
    meta = (f"{escape(data.trial_id)} · {escape(data.sponsor)} · {'Evaluering' if f.da else 'Evaluation'}: "
            f"{escape(data.evaluator)} · {tt['as_of']} {escape(f.date(data.as_of))}")
    dd = getattr(data, "data_date", None)
    if dd is not None:
        meta += f" · {'Data trukket' if f.da else 'Data drawn'} {escape(f.date(dd))}"
    footer = f"{data.trial_id} · {quarter_label(data.quarter, lang)}".replace('"', "'")
    css = Template(_template("report.css")).safe_substitute(footer=footer, page_word=tt["page"])
    return Template(_template("report.html")).substitute(
        lang=lang, version=escape(__version__), title_text=escape(f"{title} – {quarter_label(data.quarter, lang)}"),
        css=css, kicker=escape(kicker), title=escape(title), meta=meta, body="\n".join(sec))


@dataclass(frozen=True)
class ReportFiles:
    """Paths written by :func:`write_report` (``pdf`` is None when WeasyPrint is missing)."""

    html: Path
    pdf: Path | None
    data: Path
    note: str = ""

    def to_dict(self) -> dict:
        return {"html": str(self.html), "pdf": str(self.pdf) if self.pdf else None, "data": str(self.data),
                "note": self.note}


def _weasyprint():
    """WeasyPrint's ``HTML`` class, or ``(None, why)`` when it cannot be used.

    Not installed raises ImportError; installed without its system libraries
    (Pango, GObject: a pip install on a bare server) raises OSError from the
    import itself. Either way the report is written without a PDF and says why.
    """
    try:
        from weasyprint import HTML
    except ImportError:
        return None, "PDF skipped: weasyprint is not installed (pip install 'trial[report]')"
    except OSError as exc:
        first = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        return None, ("PDF skipped: weasyprint is installed but cannot load its system libraries (Pango/GObject: "
                      f"{first}); install them (e.g. apt-get install libpango-1.0-0 libpangoft2-1.0-0) or use "
                      "--no-pdf")
    return HTML, ""


def write_pdf(html: str, path: Path) -> None:
    """PDF of the HTML with WeasyPrint (imported here: it is an optional dependency)."""
    import logging

    HTML, why = _weasyprint()
    if HTML is None:
        from ._data import ReportError

        raise ReportError(why)
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    HTML(string=html, base_url=None).write_pdf(str(path))


def write_report(data, out: str | Path, *, pdf: bool = True, on_commit=None) -> ReportFiles:
    """Write ``report.html``, ``report.pdf`` and ``report_data.json`` to ``out``.

    ``report_data.json`` holds the disclosure-controlled figures only
    (:func:`trial.report.disclose`: what the report hides is ``null``); the
    exact figures belong in the trial register (:func:`trial.report.make_report`
    stores them there). Everything is rendered in memory and to temporary
    files first; ``on_commit()`` (if given) runs after that and before the
    files are moved into place, so a failure in either leaves no half-written
    report.
    """
    import os
    import tempfile

    from ._public import disclose

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    html = render_html(data)
    js = disclose(data).to_json()
    note = ""
    tmpdir = Path(tempfile.mkdtemp(prefix=".report-", dir=out))
    try:
        (tmpdir / "report.html").write_text(html, encoding="utf-8")
        (tmpdir / "report_data.json").write_text(js + "\n", encoding="utf-8")
        pdf_path = None
        if pdf:
            available, note = _weasyprint()
            if available is not None:
                write_pdf(html, tmpdir / "report.pdf")
                pdf_path = out / "report.pdf"
        if on_commit is not None:
            on_commit()
        for name in ("report.html", "report_data.json", "report.pdf"):
            if (tmpdir / name).exists():
                os.replace(tmpdir / name, out / name)
        if pdf_path is None and (out / "report.pdf").exists():
            # an earlier run's PDF (another quarter or language) must not stand beside this report
            (out / "report.pdf").unlink()
    finally:
        for p in tmpdir.glob("*"):
            p.unlink()
        tmpdir.rmdir()
    return ReportFiles(html=out / "report.html", pdf=pdf_path, data=out / "report_data.json", note=note)
