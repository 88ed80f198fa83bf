"""Rehearsal data: synthetic referrals and municipal outcome exports.

:func:`write_exports` writes the four files a municipality would export
(``referrals.csv``, ``status.csv``, ``events.csv``, ``survey.csv``, formats as
in ``docs/contracts.md``) for a synthetic cohort, so every later stage (intake,
register, outcomes, estimation, report) can be rehearsed on data that look real
and whose true effects are known.

Files
-----
Semicolon-separated, decimal comma, UTF-8 without BOM, ``\\n`` line ends,
dates ``YYYY-MM-DD``, empty field = missing. CPR numbers are synthetic
``DDMMYY-SSSS`` with an existing birth date, the century digit (7th digit)
consistent with the birth year and the sex in the last digit; the serial is
random, so some are modulus-11 valid and most are not (as for numbers issued
since 2007). They occur **only** in these rehearsal files and in the frame
:func:`simulate_referrals` returns; never in a message, log or summary.

Cohort
------
Referral dates arrive as a Poisson process of about 1,000 a year (20 a week)
from ``protocol.trial.first_referral``; a weekend date moves to the Monday.
Age at referral 18-64 (mode in the forties), 55 % women. About 5 % of the
referrals are ineligible on purpose: 2 % outside the age limits, 1.5 % from
another municipality, 1.5 % of another referral type. Each citizen has two
latent standard-normal factors, distance from the labour market ``z_work`` and
mental-health burden ``z_psych`` (correlation 0.4); the baseline covariates
(``prior_forloeb`` ~30 %, ``months_on_benefit`` 0-36, ``psych_contact_12m``
~45 %) and every outcome load on them, so covariate adjustment has something
to gain. Eligibility does not depend on the factors.

Trajectory model (``status.csv``)
---------------------------------
A weekly, time-inhomogeneous Markov chain over the nine protocol statuses,
everyone starting in ressourceforløbsydelse (RFY) in week 1. Weekly transition
probabilities (control arm; citizen group ``g`` = quintile of ``z_work``,
``m_g = exp(-0.55 (g - 2))``, ``r_a(t) = min(1, t/a)`` a ramp in week ``t``):

* RFY -> ORD ``a_o m_g r_39(t)``; KTH, SLV -> ORD the same, UDD -> ORD twice it;
* RFY -> FLX ``a_f m_g r_78(t)`` (flex job needs a visitation late in the forløb);
* RFY -> UDD, SLV, AND ``a_x (0.4 sqrt(m_g), 0.3 sqrt(m_g), 0.3)``;
* RFY -> FTP ``0.0010 r_26(t) / m_g`` (førtidspension, absorbing), SDP -> FTP 0.002;
* RFY -> KTH 0.001, RFY -> SDP 0.006 (sickness spells, back at 0.12 a week);
* exits from work: ORD -> RFY 0.0008, ORD -> KTH 0.0004, FLX -> RFY 0.0004,
  FLX -> AND 0.0004; returns KTH 0.03, UDD 0.015, SLV 0.015, AND 0.08 a week.

Spells are therefore persistent (geometric, weeks to years) and entries into
work spread over the three years. The three scales ``(a_o, a_f, a_x)`` are
solved per arm (``scipy.optimize.least_squares``) so that the *exact* state
distribution of the chain (forward recursion ``pi_{t+1} = pi_t P_t`` averaged
over the five groups) gives the protocol's control values for the endpoints
``status_at ordinaer_beskaeftigelse`` (5 %), ``status_at fleksjob`` (5 %) and
``weeks_in_status`` on benefits (140 weeks) and, in the treatment arm, control
value + effect. Kontanthjælp is exported as ``UDH`` (uddannelseshjælp) for
citizens under 30 and ``KTH`` otherwise; both map to ``kontanthjaelp``.
``time_to_status`` (first week in work) is not a free parameter: it follows
from the chain (about 12 % in control, since some jobs end again).

Attrition: moving away (0.03 % a week, ~4.6 % in three years) and death
(0.01 % a week) are independent of everything else. Municipal data stop when a
citizen moves away or dies: the status panel ends with the week of the event,
no event starts after it, an open grant ends on its date and later survey waves
have no row. ``withdrawn`` (1 % of enrolled citizens, a point event dated in
follow-up) does not stop the municipal data; the outcomes stage treats it as
attrition. Because attrition is independent of the outcomes, every endpoint's
rate among citizens still followed at its horizon equals its calibrated value.

Events and surveys (``events.csv``, ``survey.csv``)
---------------------------------------------------
Binary event endpoints (``event_any``: §85, §107, §99 grants, the extension
``forloeb_extension``, ``psych_contact``) are Gaussian-copula thresholds: the
latent ``L = rho z + sqrt(1 - rho^2) e`` is standard normal whatever ``rho``, so
``P(Phi(L) < p) = p`` exactly, with ``p`` = control value or control value +
effect. Grants start uniformly in weeks 1..H and last a geometric number of
weeks (mean 52, 150, 40 for §85, §107, §99; an ended grant is renewed with
probability 0.2), empty ``end_date`` when still open at the end of week 156.
The extension is dated in a week from 40 on in which the citizen is on a
benefit (RFY, KTH, SDP) when there is one. Psychiatric contact comes in
windows of H weeks (1 + Poisson(2) contacts in a window with contact).
Psychiatric admissions: a Poisson number with a gamma frailty (shape 0.4,
loaded on ``z_psych``), lengths 1 + geometric (mean 12 nights), so that the
days of ``[start, end)`` per person-year (365.25 days) equal the
``event_rate days`` endpoint; an admission still running at the end of week
156 has an empty ``end_date``. Survey waves 0..3 (weeks 0, 52, 104, 156; 8 %,
20 %, 25 %, 30 % not answered, completely at random): self-rated health 1-5
(ordinal thresholds on a latent normal), functional ability 0-100 and job
readiness 0-10 (rounded latent normals); the treatment shift of the latent is
solved (``scipy.optimize.brentq``) so the *expected observed* change at the
endpoint's wave equals the effect, and the control change is 0 exactly because
the latent is stationary.

Potential outcomes and common random numbers
--------------------------------------------
Every draw for citizen ``i`` comes from a stream
``np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, stream])))``
whose row ``i`` depends only on ``(seed, stream, i)``, where ``i`` is the
citizen's index (the row label of the referrals frame). Both arms use the same
uniforms; treatment only changes the transition probabilities and thresholds,
so a citizen's control and treatment histories differ only through the effect,
and the outcome files can be re-written under *any* allocation (the register's)
for the same citizens. Citizens not enrolled get control histories: municipal
exports cover everyone referred.

When :func:`write_exports` is called without ``arms`` it allocates by complete
randomization with the protocol's ``allocation_ratio`` among eligible referrals
in referral order until ``capacity x (1 + ratio)`` are enrolled. This is only
for rehearsal exports; the demo re-writes the outcome files under the
register's allocation with :func:`write_outcome_exports`.
"""
from __future__ import annotations

from ._base import (AND, COLUMNS, FILES, FLX, FTP, KTH, ORD, RFY, SDP, SLV, STATUS_CODES, UDD)
from ._chain import chain_expectations, resolve_effects
from ._cohort import allocate_rehearsal, simulate_referrals
from ._outcomes import observed_rates, simulate_outcomes
from ._result import RehearsalResult, SimulationSettings
from ._write import CSV_OPTIONS, register_arms, rehearse, write_exports, write_outcome_exports

__all__ = [
    "FILES",
    "COLUMNS",
    "CSV_OPTIONS",
    "STATUS_CODES",
    "SimulationSettings",
    "RehearsalResult",
    "simulate_referrals",
    "simulate_outcomes",
    "write_exports",
    "write_outcome_exports",
    "rehearse",
    "register_arms",
    "allocate_rehearsal",
    "resolve_effects",
    "chain_expectations",
    "observed_rates",
    # chain state numbers (positions in the status vocabulary)
    "RFY", "ORD", "FLX", "KTH", "SDP", "FTP", "UDD", "SLV", "AND",
]
