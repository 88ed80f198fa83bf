"""The design diagnosis itself (:func:`diagnose`): simulate, analyse, apply the multiplicity rule, summarise."""
from __future__ import annotations

import math
import sys

import numpy as np

from ..exceptions import ParameterError
from ._analysis import _metrics, _simulate, adjust_rejections
from ._common import ESTIMATORS, MULTIPLICITY_RULES, SURVIVAL_ESTIMATORS
from ._results import DiagnosisResult
from ._spec import _null_spec, _restrict, _root_seed, spec_from_protocol


def diagnose(protocol, *, n_sims=1000, rng=None, effects="goal", n_control=None, n_treatment=None,
             multiplicity=None, confidence_level=0.95, prognostic=0.3, shared=0.1, n_jobs=1, progress=None,
             null_sims=None, endpoints="all", assumptions=None) -> DiagnosisResult:
    """Simulate the protocol's pre-specified analysis and report its operating characteristics.

    Parameters
    ----------
    protocol : trial.protocol.Protocol
    n_sims : int
        Simulated trials (under the given effects; as many again under the global null for the FWER,
        unless ``null_sims`` says otherwise).
    rng : int or numpy.random.Generator, optional
        Seed of the root ``SeedSequence``; None draws fresh entropy (recorded in the result's ``seed``).
    effects : "goal", "null" or mapping endpoint id -> true effect
        True effects in the endpoint's unit (a difference in shares, in rates per person-year, in weeks,
        in means; for time to event in the share with an event by the horizon). Default: the BI25 goals.
    n_control, n_treatment : int, optional
        Default: the protocol's capacity and control size (``capacity * ratio``). A control size other
        than the protocol's ratio is simulated by complete randomization.
    multiplicity : str, optional
        ``fixed_sequence`` (hierarchy order), ``holm``, ``bonferroni`` or ``none``; default the protocol's.
    confidence_level : float
        Level of the interval whose coverage is reported.
    prognostic : float
        Share of citizens whose endpoint draws equal their prognostic index, which also drives the
        covariates (what Lin's adjustment can use); see :func:`draw_trials`.
    shared : float
        Share of citizens whose endpoint draws equal one common draw (correlates the endpoints).
    n_jobs : int
        Worker processes (results do not depend on it).
    progress : bool, optional
        Show a tqdm progress bar (default: when stderr is a terminal and more than 20,000 trials).
    null_sims : int, optional
        Trials under the global null (confirmatory endpoints only) for the FWER; default ``n_sims``.
    endpoints : "all", "confirmatory" or list of str
        Endpoints simulated (default all; the confirmatory family is always first, in testing order).
    assumptions : mapping, optional
        ``{endpoint_id: {"sd": s}}`` for continuous endpoints and weeks in a status,
        ``{endpoint_id: {"dispersion": k}}`` for event rates. They override the protocol's pre-registered
        ``sd`` / ``dispersion``; where neither gives one: :data:`DEFAULT_SD` by survey item,
        :data:`DEFAULT_WEEKS_SD`, :data:`DEFAULT_DISPERSION`. The result's ``assumptions`` state the values
        and their ``source`` (``given``, ``protocol`` or ``default``); the notes list them.

    Returns
    -------
    DiagnosisResult

    Notes
    -----
    Rows: ``difference_in_means`` and ``lin_hc2`` for every endpoint (for time
    to event on the event-by-horizon indicator, so the effect is a difference
    in shares), and ``logrank`` for time-to-event endpoints (estimate: Peto's
    O/E log hazard ratio; true value ``log(h_t/h_c)``). The multiplicity rule
    runs over the confirmatory endpoints with each estimator's p-values (the
    log-rank p-value for a time-to-event endpoint).
    """
    if isinstance(n_sims, bool) or not isinstance(n_sims, (int, np.integer)) or n_sims < 2:
        raise ParameterError("n_sims", f"must be a whole number of at least 2; got {n_sims!r}")
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, (int, np.integer)) or n_jobs < 1:
        raise ParameterError("n_jobs", f"must be a whole number of at least 1; got {n_jobs!r}")
    multiplicity = multiplicity or protocol.analysis.multiplicity
    if multiplicity not in MULTIPLICITY_RULES:
        raise ParameterError("multiplicity", f"must be one of {', '.join(MULTIPLICITY_RULES)}; got {multiplicity!r}")
    if null_sims is not None and (isinstance(null_sims, bool) or not isinstance(null_sims, (int, np.integer))
                                  or null_sims < 2):
        raise ParameterError("null_sims", f"must be a whole number of at least 2; got {null_sims!r}")
    spec = spec_from_protocol(protocol, effects=effects, n_control=n_control, n_treatment=n_treatment,
                              confidence_level=confidence_level, prognostic=prognostic, shared=shared,
                              endpoints=endpoints, assumptions=assumptions)
    eps = [protocol.endpoint(i) for i in spec["endpoints"]]
    eff = dict(zip(spec["endpoints"], spec["effect"]))
    notes, scheme = list(spec["notes"]), spec["scheme"]
    n1, n0 = spec["n_treatment"], spec["n_control"]
    root = _root_seed(rng)
    seed = root.entropy
    alt_ss, null_ss = (np.random.SeedSequence(root.entropy, spawn_key=tuple(root.spawn_key) + (k,),
                                              pool_size=root.pool_size) for k in (0, 1))
    if progress is None:
        progress = n_sims > 20_000 and sys.stderr.isatty()
    alpha = protocol.analysis.alpha
    conf = [j for j, c in enumerate(spec["confirmatory"]) if c]
    tte = [j for j, k in enumerate(spec["kind"]) if k == "time_to_event"]
    sims = _simulate(spec, alt_ss, n_sims, n_jobs, progress, "diagnose")
    n_null = n_sims if null_sims is None else int(null_sims)
    null = None
    if conf:
        null = _simulate(_null_spec(_restrict(spec, conf)), null_ss, n_null, n_jobs, progress, "null")

    def family_p(res, est, cols):
        """p-values of the confirmatory family for one estimator (log-rank for time to event)."""
        p = res[est]["p_value"][:, cols].copy()
        for i, j in enumerate(cols):
            if j in tte and "logrank" in res:
                p[:, i] = res["logrank"]["p_value"][:, tte.index(j)]
        return p

    rows = []
    fwer_by = {}
    for est in ESTIMATORS + SURVIVAL_ESTIMATORS:
        if est not in sims:
            continue
        s = sims[est]
        cols = list(range(len(eps))) if est in ESTIMATORS else tte
        adj = None
        if conf:
            fam = family_p(sims, est, conf) if est in ESTIMATORS else None
            adj = adjust_rejections(fam, alpha, multiplicity) if fam is not None else None
        for i, j in enumerate(cols):
            e = eps[j]
            truth = spec["log_hazard_ratio"][j] if est == "logrank" else eff[e.id]
            if est in ESTIMATORS and j in conf:
                rejected_adj = adj[:, conf.index(j)]
            elif est == "logrank" and j in conf and "difference_in_means" in sims:
                rejected_adj = adjust_rejections(family_p(sims, "difference_in_means", conf), alpha,
                                                 multiplicity)[:, conf.index(j)]
            else:
                rejected_adj = None
            m = _metrics(s["estimate"][:, i], s["std_error"][:, i], s["p_value"][:, i], s["covered"][:, i],
                         truth, alpha, rejected_adj)
            rows.append({"endpoint": e.id, "estimator": est, "role": "confirmatory" if e.confirmatory else e.role,
                         "hierarchy": e.hierarchy, "type": e.type,
                         "scale": "log_hazard_ratio" if est == "logrank" else "difference",
                         "control_value": e.control_value, "true_effect": truth, **m})
        if est in ESTIMATORS and null is not None:
            nadj = adjust_rejections(family_p(null, est, list(range(len(conf)))), alpha, multiplicity)
            fwer_by[est] = float(nadj.any(axis=1).mean())
    fwer = fwer_by.get("difference_in_means", float("nan"))
    nc = sims["n_control"]
    if scheme not in ("complete",) and spec["when_full"] == "stop":
        notes.append(f"enrollment closes when the deltagergruppe holds {n1}: kontrolgruppe {nc.mean():.1f} on "
                     f"average (range {int(nc.min())}-{int(nc.max())}) of a planned {n0}")
    return DiagnosisResult(
        trial_id=protocol.trial.id, fingerprint=protocol.fingerprint, n_sims=n_sims, seed=int(seed), n_treatment=n1,
        n_control=n0, effects=eff, alpha=alpha, alternative=protocol.analysis.alternative, multiplicity=multiplicity,
        confidence_level=confidence_level, prognostic=float(prognostic), shared=float(shared), scheme=scheme,
        rows=tuple(rows), fwer=fwer,
        fwer_mc_se=math.sqrt(fwer * (1 - fwer) / n_null) if math.isfinite(fwer) else float("nan"),
        fwer_by_estimator=fwer_by, mean_n_treatment=float(sims["n_treatment"].mean()),
        mean_n_control=float(nc.mean()), min_n_control=int(nc.min()), max_n_control=int(nc.max()),
        when_full=spec["when_full"], assumptions={k: dict(v) for k, v in spec["assumptions"].items()},
        notes=tuple(notes))
