"""Design diagnosis by simulation: the protocol's whole pre-specified analysis, many times over.

:func:`diagnose` draws synthetic trials from the protocol and runs its
analysis on every trial *at once* (see :mod:`trial._fast`):

* **enrollment as the register does it**: referrals arrive in order, are
  allocated by the protocol's scheme (permuted blocks within strata drawn by
  the allocator's own vectorised block sampler, ``trial.randomize``), and with
  ``when_full = "stop"`` enrollment closes when the deltagergruppe holds
  exactly ``capacity`` citizens, so the kontrolgruppe's size varies a little
  from trial to trial, as it will in the real trial;
* **every endpoint of the protocol**: binary (shares), counts (negative
  binomial events per person-year; beta-binomial weeks in a status, bounded
  by the horizon), continuous (normal) and time to event (exponential times,
  administrative censoring at the horizon), with the protocol's control
  values and the given true effects; standard deviations and dispersions
  from the protocol's endpoints (``sd``, ``dispersion``, pre-registered
  assumptions), and where it states none documented defaults (:data:`DEFAULT_SD`,
  :data:`DEFAULT_WEEKS_SD`, :data:`DEFAULT_DISPERSION`);
* **the analysis**: the HC2 difference in means (the primary estimator) and
  Lin's covariate-adjusted estimator (HC2) on every endpoint, the log-rank
  test with Peto's O/E hazard ratio on time-to-event endpoints (what
  ``trial analyze`` runs for them), then the multiplicity rule over the
  confirmatory family.

Per endpoint and estimator it reports power (unadjusted and after the
multiplicity rule), bias, RMSE, coverage of the interval and the type-S rate,
each with its Monte Carlo standard error, plus the family-wise error rate from
a separate run under the global null. No model is fitted in a Python loop.

Reproducible: simulations are split into chunks of fixed size, each with its
own child seed from ``np.random.SeedSequence(seed).spawn``; the result is the
same whatever ``n_jobs``.

Layout: ``_common`` (rules, estimators, chunk size, default assumptions),
``_allocation`` (permuted blocks and the capacity rule for many trials),
``_draw`` (:func:`draw_trials`: the data model), ``_analysis`` (the
vectorised analysis, the multiplicity rule, chunked simulation, metrics),
``_spec`` (:func:`spec_from_protocol`: from the protocol to plain simulation
data), ``_results`` (:class:`DiagnosisResult`) and ``_diagnose``
(:func:`diagnose`).
"""
from __future__ import annotations

from ._allocation import _PATTERNS, _block_patterns, _n_referrals, allocate_permuted_blocks, apply_capacity
from ._analysis import (_analyse, _chunks, _covered, _metrics, _run, _simulate, adjust_rejections, analyse_trials,
                        simulate_chunk)
from ._common import (CHUNK, DEFAULT_DISPERSION, DEFAULT_SD, DEFAULT_WEEKS_SD, ESTIMATORS, FAST_FIELDS,
                      MULTIPLICITY_RULES, SURVIVAL_ESTIMATORS)
from ._diagnose import diagnose
from ._draw import SimulatedTrials, _mix, _outcome, _times, draw_trials
from ._results import DiagnosisResult
from ._spec import (_check_positive, _endpoint_params, _kind, _nbinom_cdf, _null_spec, _restrict, _root_seed,
                    spec_from_protocol)

__all__ = ["diagnose", "DiagnosisResult", "simulate_chunk", "draw_trials", "analyse_trials", "spec_from_protocol",
           "allocate_permuted_blocks", "apply_capacity", "adjust_rejections", "MULTIPLICITY_RULES",
           "DEFAULT_SD", "DEFAULT_WEEKS_SD", "DEFAULT_DISPERSION", "SimulatedTrials", "ESTIMATORS",
           "SURVIVAL_ESTIMATORS", "FAST_FIELDS", "CHUNK"]

# kept importable from here, as in the single-module version (bench/diagnose.py and tests use some of them)
_REEXPORTED = (_PATTERNS, _block_patterns, _n_referrals, _analyse, _chunks, _covered, _metrics, _run, _simulate, _mix,
               _outcome, _times, _check_positive, _endpoint_params, _kind, _nbinom_cdf, _null_spec, _restrict,
               _root_seed)
