"""The business case's notes in the reader's language.

:class:`~trial.business_case.EffectFedCase` writes its notes in English (they
are also data: tests and notebooks match them). The quarterly report prints
them in Danish, with the goals' labels instead of endpoint ids, and the command
line's Danish summary does the same (:func:`note_in_language`).
"""
from __future__ import annotations

import re

# the business case's notes (in English) as a Danish reader gets them, by kind
_BC_NOTES_DA = (
    (r"unit amounts, phasing and investments are assumed \(antaget\); effects are marked per line\.?",
     "Enhedsbeløb, indfasning og investeringer er antagne; for hver linje er det markeret, om effekten er "
     "målt i forsøget eller antaget."),
    (r"some measured effects have no standard error; they are held fixed in the draws\.?",
     "Nogle målte effekter har ingen standardfejl; de holdes faste i simuleringerne."),
    (r"([a-z0-9_]+): the estimate has no positive standard error, so it is not used as a measured effect; "
     r"the line keeps the assumed effect \(antaget\)\.?",
     "{0}: skønnet har ingen positiv standardfejl og bruges ikke som målt effekt; linjen beholder den antagne "
     "effekt."),
    (r"unit amounts entered by the user \(antaget\): (.+?)\.?$",
     "Enhedsbeløb indtastet af brugeren (antaget): {0}."),
    (r"([a-z0-9_:]+): measured on follow-up weeks (\d+)-(\d+) of (\d+)-(\d+) so far \(no citizen is further "
     r"yet\)\.?",
     "{0}: målt i opfølgningsuge {1}-{2} af {3}-{4} indtil videre (ingen borger er nået længere endnu)."),
    (r"([a-z0-9_:]+): is used only by variant '([^']*)', which was not chosen \(--variant [^)]*\)\.?",
     "{0}: bruges kun af varianten '{1}', som ikke er valgt (--variant {1})."),
    (r"([a-z0-9_:]+): its line '([^']*)' is replaced by the chosen variant \(([^)]*)\), so this effect is not "
     r"used\.?",
     "{0}: linjen '{1}' er erstattet af den valgte variant ({2}), så denne effekt bruges ikke."),
    (r"([a-z0-9_:]+): fewer than 2 citizens of an arm are observed in follow-up weeks (\d+)-(\d+) yet, so "
     r"the line '([^']*)' keeps the assumed effect \(antaget\)\.?",
     "{0}: færre end 2 borgere i en gruppe er observeret i opfølgningsugerne {1}-{2} endnu, så linjen '{3}' "
     "beholder den antagne effekt."),
    (r"([a-z0-9_:]+): fewer than 2 citizens of an arm are observed yet, so "
     r"the line '([^']*)' keeps the assumed effect \(antaget\)\.?",
     "{0}: færre end 2 borgere i en gruppe er observeret endnu, så linjen '{1}' beholder den antagne effekt."),
)
_BC_NOTE_FALLBACK_DA = "Business casen har en teknisk bemærkning (se business-case-kørslen)."

# notes naming a list of endpoints ("the effects of a, b, c are drawn jointly …"): the ids become the
# report's labels in both languages (a callable gets the match, the labels and whether the text is Danish)
_ID_LIST = r"([a-z0-9_]+(?:, [a-z0-9_]+)*)"


def _label_list(ids: str | None, labels: dict, da: bool) -> str:
    """"a, b, c" of endpoint ids as the report's labels: "A, B og C" (first letters lower case inside a sentence)."""
    names = []
    for i in (ids or "").split(", "):
        lab = labels.get(i.strip().lower(), i.strip())
        names.append(lab[:1].lower() + lab[1:] if lab[:2] != lab[:2].upper() else lab)
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + (" og " if da else " and ") + names[-1]


def _joint_note(m, labels, da):
    together, alone = _label_list(m.group(1), labels, da), m.group(2)
    if da:
        out = (f"Effekterne af {together} trækkes samlet (flerdimensional normalfordeling med den skønnede "
               "kovarians mellem forskellene i gennemsnit), så sammenhængen mellem dem hos de samme borgere bevares")
        return out + (f"; {_label_list(alone, labels, da)} trækkes uafhængigt." if alone else ".")
    out = (f"The effects of {together} are drawn jointly (multivariate normal with the estimated covariance of the "
           "differences in means, pairwise complete cases), so their correlation on the same citizens is kept")
    return out + (f"; {_label_list(alone, labels, da)} drawn independently." if alone else ".")


def _rescaled_note(m, labels, da):
    who = _label_list(m.group(1), labels, da)
    who = who[:1].upper() + who[1:]
    if da:
        return (f"{who}: de samlede træk er flyttet og skaleret til det anvendte skøn og dets standardfejl "
                "(sammenhængen er taget fra forskellene i gennemsnit).")
    return (f"{who}: the joint draws are recentred and rescaled to the estimate and standard error used "
            "(correlation from the differences in means).")


_BC_NOTES_LISTS = (
    (rf"the effects of {_ID_LIST} are drawn jointly \(multivariate normal with the estimated covariance of the "
     rf"differences in means, pairwise complete cases\), so their correlation on the same citizens is kept"
     rf"(?:; {_ID_LIST} drawn independently)?\.?", _joint_note),
    (rf"{_ID_LIST}: the joint draws are recentred and rescaled to the estimate and standard error used "
     r"\(correlation from the differences in means\)\.?", _rescaled_note),
    (r"(\d+) endpoint pair\(s\) have fewer than 2 citizens observed on both in an arm: their covariance there is "
     r"taken as 0[;.]?",
     lambda m, labels, da: (f"{m.group(1)} par af mål har færre end 2 borgere observeret på begge i en gruppe; deres "
                            "kovarians dér er sat til 0." if da else m.group(0).rstrip(";.") + ".")),
    (r"the pairwise-complete covariance matrix is not positive semi-definite \(smallest eigenvalue ([^)]*)\); "
     r"negative eigenvalues were set to 0 before drawing\.?",
     lambda m, labels, da: ("Kovariansmatricen fra parvist komplette observationer er ikke positiv semidefinit; "
                            "negative egenværdier er sat til 0 før simuleringen." if da else
                            m.group(0)[:1].upper() + m.group(0)[1:].rstrip(".") + ".")),
)


def note_in_language(note: str, da: bool, labels: dict | None = None, *,
                     fallback: str | None = _BC_NOTE_FALLBACK_DA) -> str:
    """The business case's notes (written in English) in Danish or as clean English sentences.

    Parameters
    ----------
    note : str
        One or more notes of :class:`~trial.business_case.EffectFedCase`.
    da : bool
        Danish (a Danish sentence for each known English one) or English.
    labels : dict, optional
        Endpoint id -> label to print instead of the id.
    fallback : str or None
        In Danish, what replaces text the mapping does not know: by default one
        generic Danish sentence (the quarterly report: never English in a
        Danish report); None keeps that text as it is (the command line, where
        the analyst needs it).
    """
    if not note:
        return note
    labels = labels or {}
    if not da:
        out = note.replace(" (antaget)", "")
        for pattern, fn in _BC_NOTES_LISTS:
            out = re.sub(pattern, lambda m: fn(m, labels, False), out, flags=re.IGNORECASE)
        for ep, lab in labels.items():
            out = re.sub(rf"(?i)\b{re.escape(ep)}:", f"{lab}:", out)
        return out
    rest, found = note, []
    for pattern, fn in _BC_NOTES_LISTS:
        for m in list(re.finditer(pattern, rest, flags=re.IGNORECASE)):
            found.append((m.start(), fn(m, labels, True)))
        rest = re.sub(pattern, lambda m: " " * len(m.group(0)), rest, flags=re.IGNORECASE)
    for pattern, dk in _BC_NOTES_DA:
        for m in list(re.finditer(pattern, rest, flags=re.IGNORECASE)):
            groups = [labels.get(g.lower(), g) for g in m.groups()]
            found.append((m.start(), dk.format(*groups)))
        rest = re.sub(pattern, lambda m: " " * len(m.group(0)), rest, flags=re.IGNORECASE)
    out = [t for _, t in sorted(found)]
    if rest.strip(" ."):
        out.append(fallback if fallback is not None else " ".join(rest.split()))
    return " ".join(out)


