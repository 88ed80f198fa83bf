"""Endpoints per citizen from the weekly status panel, events and surveys.

The protocol's endpoint rules (``protocols/ressourceforloeb.toml``, section
``[[endpoints]]``) are applied to the frames after intake (see
``docs/contracts.md``), vectorised over citizens: no Python loop per citizen.

Follow-up, the one definition every rule shares
-----------------------------------------------
Week 1 is the first 7 days from the referral date (day 0 to day 6). For a
citizen with referral date ``r``, as of the date ``as_of``:

* *calendar follow-up*: ``cal_days = (as_of - r).days + 1`` days (data dated
  ``as_of`` is included); the whole weeks observed are ``cal_days // 7``;
* *attrition*: the earliest attrition event (``moved_away``, ``died``,
  ``withdrawn`` by the protocol's ``events.attrition``) dated on or before
  ``as_of``, or a withdrawal recorded in the register (enrollment ``status ==
  'withdrawn'``, dated by ``withdrawn_at``/``status_date`` when the register
  gives a date, otherwise from day 0: nothing after randomization is used).
  Follow-up ends the day before: ``att_days = (date - r).days`` days,
  ``att_days // 7`` whole weeks;
* an endpoint with horizon ``H`` weeks rests on the window
  ``min(cal, att, H)``; status rules also stop at the first week missing from
  the citizen's panel (a gap or a panel that ends early).

A value that cannot be known is NaN with a ``missing_reason``: the attrition
("moved away", "died", "withdrawn") when it came before the horizon, else "not
yet observed" when the horizon lies after ``as_of``, else "no status data" or
"not answered" / "no baseline answer" (surveys), or "no follow-up" (below).

*No follow-up information.* When the weekly status panel is given, a citizen
with no row in it at all has nothing that shows he or she was followed (not
found in the source system, or an export of other citizens): the event rules
then give NaN with "no follow-up" instead of 0 (``event_any``: an event on
record still gives 1; ``event_rate``: value and exposure missing). The
calendar alone is not evidence of follow-up. :func:`derive` passes the panel
to the event rules whenever it is given; the public ``event_any`` and
``event_rate`` take it as ``status=``. (A panel that merely ends early does
not shorten the event window: events come from other registers.) Every enrolled citizen has a
row for every endpoint; rows of the exports for citizens not enrolled are not
part of the trial and are counted in :attr:`Outcomes.unmatched`.

Rules (``rule`` in the protocol)
--------------------------------
``status_at``        1 if the status in week ``H`` is among ``statuses``
``ever_status``      1 if any week 1..H is among ``statuses``; an observed week
                     gives 1 even when attrition later stops follow-up, but
                     while the data date comes before week H the value is
                     missing ("not yet observed") event or not (else only
                     citizens with an event would be complete cases)
``weeks_in_status``  number of weeks 1..H among ``statuses`` (needs full follow-up)
``time_to_status``   first week among ``statuses``; censored at the last observed
                     week of the window (``event`` 0)
``event_any``        1 if an event of ``events`` starts in days ``[0, 7H)`` after
                     referral (and before attrition and ``as_of``); missing
                     while the data date comes before day 7H, as ``ever_status``
``event_rate``       events (``measure = "count"``: events starting in the window;
                     ``"days"``: days of ``[start, end)`` inside the window, an
                     open spell running to the end of the window) per person-year
                     of exposure, ``exposure_years = window days / 365.25``;
                     defined for any follow-up above 0 days
``survey_change``    ``item`` at wave ``wave`` minus baseline (wave 0); answers
                     dated after ``as_of`` or on/after attrition are not used

:func:`helaarspersoner` (weeks on a benefit / 52) and :func:`share_by_week`
(share in given statuses per week and arm) feed the business case and the report;
:func:`so_far` gives the report's descriptive interim view of the "ever by week H"
endpoints (event so far, among citizens not lost to attrition).

Layout
------
``_followup``  follow-up and attrition: the context every rule shares
``_rules``     the rule kernels, the public rule functions, :class:`Outcomes` and :func:`derive`
``_panel``     :func:`helaarspersoner`, :func:`share_by_week`
``_io``        register I/O: :func:`store`, :func:`load`, :func:`load_exports`, :func:`register_enrollments`
"""
from __future__ import annotations

from ._common import (DAYS_PER_YEAR, LONG_COLUMNS, NO_BASELINE, NO_FOLLOW_UP, NO_STATUS_DATA, NOT_ANSWERED,
                      NOT_YET_OBSERVED, WEEKS_PER_YEAR)
from ._io import LoadResult, load, load_exports, register_enrollments, store
from ._panel import Helaarspersoner, helaarspersoner, share_by_week
from ._rules import (Outcomes, derive, event_any, event_rate, ever_status, so_far, status_at, survey_change,
                     time_to_status, weeks_in_status)

__all__ = [
    "Outcomes",
    "Helaarspersoner",
    "derive",
    "status_at",
    "ever_status",
    "weeks_in_status",
    "time_to_status",
    "event_any",
    "event_rate",
    "survey_change",
    "so_far",
    "helaarspersoner",
    "share_by_week",
    "store",
    "load",
    "load_exports",
    "LoadResult",
    "register_enrollments",
    "LONG_COLUMNS",
    "DAYS_PER_YEAR",
    "WEEKS_PER_YEAR",
    "NOT_YET_OBSERVED",
    "NO_STATUS_DATA",
    "NOT_ANSWERED",
    "NO_BASELINE",
    "NO_FOLLOW_UP",
]
