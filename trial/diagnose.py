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
"""
from __future__ import annotations

import math
import sys
from dataclasses import asdict, dataclass, field
from typing import Any, Mapping

import numpy as np
from scipy import special, stats

from ._fast import _dim_lin_moments, difference_in_means, lin_hc2, logrank, pack, t_pvalue
from .exceptions import ParameterError
from ._results import Displayable

__all__ = ["diagnose", "DiagnosisResult", "simulate_chunk", "draw_trials", "analyse_trials", "spec_from_protocol",
           "allocate_permuted_blocks", "apply_capacity", "adjust_rejections", "MULTIPLICITY_RULES",
           "DEFAULT_SD", "DEFAULT_WEEKS_SD", "DEFAULT_DISPERSION", "SimulatedTrials"]

MULTIPLICITY_RULES = ("fixed_sequence", "holm", "bonferroni", "none")
ESTIMATORS = ("difference_in_means", "lin_hc2")
SURVIVAL_ESTIMATORS = ("logrank",)
FAST_FIELDS = ("estimate", "std_error", "df", "statistic", "p_value")
CHUNK = 100     # simulations per chunk: fixes the random streams, independent of n_jobs

#: Assumed standard deviation of a survey item's change from baseline where the protocol's endpoint gives no ``sd``:
#: self-rated health (1-5 scale) 1.0 point, functional ability (0-100) 15 points, job readiness (0-10) 2.5.
DEFAULT_SD = {"self_rated_health": 1.0, "functional_ability": 15.0, "job_readiness": 2.5}
#: Assumed standard deviation of weeks in a status by the horizon (weeks on benefits: 30 of 156 weeks).
DEFAULT_WEEKS_SD = 30.0
#: Assumed negative-binomial dispersion ``k`` of event counts, ``Var(Y) = mu + k mu^2`` (as ``trial.power.power_rates``).
DEFAULT_DISPERSION = 1.0


# --------------------------------------------------------------------------- allocation
def allocate_permuted_blocks(rng, strata, n_strata, block_sizes, ratio):
    """Stratified permuted-block allocation for many simulated trials at once.

    Parameters
    ----------
    rng : np.random.Generator
    strata : (S, n) int array
        Stratum of each citizen in arrival order.
    n_strata : int
    block_sizes : sequence of int
        Block sizes drawn with equal probability; each a multiple of ``1 + ratio``.
    ratio : int
        Controls per treated citizen.

    Returns
    -------
    (S, n) float array of 0/1 (1 = deltagergruppe).

    Notes
    -----
    A simulation sampler equivalent in distribution to the register's
    sequence (:class:`trial.randomize.Allocator`): within each stratum, blocks
    of a size drawn with equal probability, each a uniform random arrangement
    of ``b/(1+ratio)`` treated and the rest controls; citizen ``j`` of a
    stratum takes the stratum's ``j``-th assignment. It is not the
    allocator's own vectorised sampler (``trial.randomize._block_draws``, two
    argsorts per block) because a table lookup is ~8x faster, which keeps
    10,000 trials under a second; tests/test_diagnose.py checks that its
    allocation distribution (shares per stratum, arm sizes at closing, block
    patterns) matches the allocator replayed with many secrets. A block's arrangement is drawn uniformly from the
    table of all arrangements (C(8, 2) = 28 for a block of 8 at 1:3); the
    blocks' slots are concatenated per stratum and the unused slots of
    smaller blocks compacted away.
    """
    S, n = strata.shape
    sizes = np.asarray(block_sizes, dtype=int)
    bmax = int(sizes.max())
    # order of each citizen within its stratum: stable sort by stratum, rank inside each run
    order = np.argsort(strata, axis=1, kind="stable")
    flat_at = order + (np.arange(S) * n)[:, None]                  # flat gathers: faster than take_along_axis
    ss = np.take(strata, flat_at)
    idx = np.broadcast_to(np.arange(n), (S, n))
    new = np.ones((S, n), dtype=bool)
    new[:, 1:] = ss[:, 1:] != ss[:, :-1]
    start = np.maximum.accumulate(np.where(new, idx, 0), axis=1)
    within = np.empty((S, n), dtype=np.intp)
    np.put(within, flat_at, idx - start)
    longest = int((idx - start).max()) + 1 if n else 0
    nb = max(1, -(-longest // int(sizes.min())))           # enough blocks for the largest stratum
    patterns, _ = _block_patterns(tuple(int(b) for b in sizes), int(ratio), bmax)
    # a block: its size with equal probability, then one of its arrangements uniformly
    size_ix = rng.integers(0, sizes.size, size=(S, n_strata, nb))
    counts_per_size = np.array([len(p) for p in patterns])
    offsets = np.concatenate([[0], np.cumsum(counts_per_size)[:-1]])
    pick = offsets[size_ix] + (rng.random((S, n_strata, nb)) * counts_per_size[size_ix]).astype(int)
    table = np.concatenate(patterns)                        # (total arrangements, bmax)
    treated = table[pick].reshape(S * n_strata, nb * bmax)
    valid = (np.arange(bmax) < sizes[size_ix][..., None]).reshape(S * n_strata, nb * bmax)
    # compact: the valid slots of each (trial, stratum) row, in order, then the citizen's slot
    flat = treated[valid]
    row_start = np.concatenate([[0], np.cumsum(valid.sum(axis=1))[:-1]]).reshape(S, n_strata)
    at = np.take(row_start, strata.astype(np.intp) + (np.arange(S) * n_strata)[:, None]) + within
    return flat[at].astype(float)


_PATTERNS: dict = {}


def _block_patterns(sizes, ratio, bmax):
    """All arrangements of a block of each size (b/(1+ratio) treated), padded to ``bmax`` slots."""
    key = (sizes, ratio, bmax)
    if key not in _PATTERNS:
        from itertools import combinations

        pats = []
        for b in sizes:
            m = b // (1 + ratio)
            rows = []
            for comb in combinations(range(b), m):
                r = np.zeros(bmax, dtype=bool)
                r[list(comb)] = True
                rows.append(r)
            pats.append(np.array(rows))
        _PATTERNS[key] = (pats, [len(p) for p in pats])
    return _PATTERNS[key]


def apply_capacity(T, capacity, when_full="stop"):
    """Enrollment under the capacity rule, as ``trial.randomize.Allocator`` applies it.

    ``T`` (S, n) is the scheme's allocation of the referrals in arrival order.
    ``"stop"``: citizens are enrolled up to and including the ``capacity``-th
    treated one, later referrals are not enrolled; ``"control_only"``: every
    referral is enrolled and, once the deltagergruppe is full, allocated to
    the kontrolgruppe. Returns ``(T, enrolled)``, both (S, n) float 0/1.
    """
    before = np.cumsum(T, axis=1) - T                          # treated before this referral
    if when_full == "stop":
        enrolled = (before < capacity).astype(float)
        return T * enrolled, enrolled
    return np.where(before >= capacity, 0.0, T), np.ones_like(T)


def _n_referrals(n1, ratio, scheme, when_full, n_strata, block_sizes):
    """Referrals drawn per simulated trial: enough that the deltagergruppe fills (P(not) < 1e-9)."""
    planned = int(round(n1 * (1 + ratio)))
    if scheme == "complete" or when_full != "stop":
        return planned
    if scheme == "simple":
        n = planned
        while stats.binom.cdf(n1 - 1, n, 1 / (1 + ratio)) > 1e-9:
            n += max(1, int(0.02 * planned))
        return n
    # stratified blocks: each stratum's treated count lags its share by less than one block
    return planned + n_strata * int(max(block_sizes))


# --------------------------------------------------------------------------- multiplicity
def adjust_rejections(p, alpha, rule):
    """Rejections over the confirmatory family, columns in hierarchy order.

    ``p`` is ``(S, m)``; NaN p-values never reject. ``fixed_sequence``: column
    ``j`` is rejected when columns ``1..j`` all have ``p <= alpha``; ``holm``:
    step-down with ``alpha/(m - i)``; ``bonferroni``: ``p <= alpha/m``; ``none``: ``p <= alpha``.
    """
    p = np.where(np.isnan(p), np.inf, p)
    m = p.shape[1]
    if rule == "none":
        return p <= alpha
    if rule == "bonferroni":
        return p <= alpha / m
    if rule == "fixed_sequence":
        return np.cumprod(p <= alpha, axis=1).astype(bool)
    if rule == "holm":
        order = np.argsort(p, axis=1, kind="stable")
        ps = np.take_along_axis(p, order, axis=1)
        ok = np.cumprod(ps <= alpha / (m - np.arange(m)), axis=1).astype(bool)
        out = np.zeros_like(ok)
        np.put_along_axis(out, order, ok, axis=1)
        return out
    raise ParameterError("multiplicity", f"must be one of {', '.join(MULTIPLICITY_RULES)}; got {rule!r}")


# --------------------------------------------------------------------------- one chunk
class SimulatedTrials(tuple):
    """``(Y, T, X, enrolled, time, event)`` of simulated trials (see :func:`draw_trials`).

    ``packed`` holds the same trials in the layout of :func:`trial._fast.pack`
    (``(Z, n1, n_in)``; ``Y``, ``X`` and ``enrolled`` are views into ``Z``), so
    the analysis needs no copy.
    """

    def __new__(cls, Y, T, X, enrolled, time, event, packed=None):
        self = tuple.__new__(cls, (Y, T, X, enrolled, time, event))
        self.packed = packed
        return self

    Y = property(lambda self: self[0])
    T = property(lambda self: self[1])
    X = property(lambda self: self[2])
    enrolled = property(lambda self: self[3])
    time = property(lambda self: self[4])
    event = property(lambda self: self[5])


def simulate_chunk(spec: Mapping[str, Any], seed_seq, n_sims: int) -> dict:
    """Simulate ``n_sims`` trials under ``spec`` and return per-trial estimates (arrays ``(S, E)``).

    See :func:`draw_trials` for the data model; the analysis is :func:`analyse_trials`.
    """
    return _analyse(draw_trials(spec, seed_seq, n_sims), spec, drawn=True)


def _covered(est, se, df, truth, level):
    """The interval ``est +- q_{(1+level)/2}(df) se`` covers the truth.

    Equivalent to ``P(|t_df| >= |est - truth|/se) >= 1 - level``; since the t
    quantile exceeds the normal one, ``|est - truth|/se`` below the normal
    quantile is covered without evaluating the t distribution function.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.abs(est - truth) / se
    out = z < special.ndtri(0.5 + level / 2)
    hard = ~out & ~np.isnan(z)
    if hard.any():
        out[hard] = 2 * special.stdtr(np.broadcast_to(df, z.shape)[hard], -z[hard]) >= 1 - level
    return out


def analyse_trials(Y, T, X, spec, *, enrolled=None, time=None, event=None) -> dict:
    """The analysis of many trials at once.

    HC2 difference in means and Lin's estimator (HC2) on every endpoint's
    column of ``Y``; the log-rank test (Peto's O/E log hazard ratio) on each
    time-to-event endpoint (``time``, ``event`` of shape ``(S, n_tte, n)``).
    Returns per estimator arrays ``(S, E_est)`` of estimate, std_error,
    p_value and covered (interval covers the true effect).
    """
    Y = np.asarray(Y, dtype=float)
    T = np.asarray(T, dtype=float)
    X = np.asarray(X, dtype=float)
    e = None if enrolled is None else np.asarray(enrolled, dtype=float)
    return _analyse(SimulatedTrials(Y, T, X, e, time, event, pack(Y, T, X, e)), spec)


def _analyse(sim, spec, drawn=False) -> dict:
    """:func:`analyse_trials` of packed trials; ``drawn``: they come from :func:`draw_trials`, whose binary
    and time-to-event columns are 0/1 by construction (so ``sum y^2 = sum y``)."""
    Y, T, X, e, time, event = sim
    Z, n1, n_in = sim.packed
    out = {"n_treatment": n1.astype(float), "n_control": (n_in - n1).astype(float)}
    truth = np.asarray(spec["effect"], float)
    alt, level = spec["alternative"], spec["confidence_level"]
    k = X.shape[2] + 1
    r = _dim_lin_moments(Z, n1, k, binary=drawn and all(kd in ("binary", "time_to_event") for kd in spec["kind"]))
    if r is None:                                              # collinear covariates or far-off data
        dim = difference_in_means(Y, T, alternative=alt, enrolled=e)
        lin = lin_hc2(Y, T, X, alternative=alt, enrolled=e)
        est, se, df, stat, p = (np.stack([getattr(dim, f), getattr(lin, f)]) for f in FAST_FIELDS)
    else:
        d, vt, vc, nt, nc, lin_est, lin_var = r
        nt, nc = nt[:, None], nc[:, None]
        est = np.stack([d, lin_est])
        se = np.sqrt(np.stack([vt + vc, lin_var]))
        with np.errstate(divide="ignore", invalid="ignore"):
            df = np.stack([(vt + vc) ** 2 / (vt ** 2 / (nt - 1) + vc ** 2 / (nc - 1)),
                           np.broadcast_to((n_in - 2 * k).astype(float)[:, None], d.shape)])
            stat = np.where(se > 0, est / se, np.nan)
        df = np.where(se > 0, df, np.nan)
        p = t_pvalue(stat, df, alt)
    covered = _covered(est, se, df, truth, level)
    for i, name in enumerate(ESTIMATORS):
        out[name] = {"estimate": est[i], "std_error": se[i], "p_value": p[i], "covered": covered[i]}
    tte = [j for j, k in enumerate(spec["kind"]) if k == "time_to_event"]
    if tte and time is not None:
        cols = [logrank(time[:, i], event[:, i], T, enrolled=e, alternative=alt) for i in range(len(tte))]
        est, se, p = (np.stack([getattr(c, a) for c in cols], axis=1) for a in ("estimate", "std_error", "p_value"))
        lhr = np.array([spec["log_hazard_ratio"][j] for j in tte])
        out["logrank"] = {"estimate": est, "std_error": se, "p_value": p,
                          "covered": _covered(est, se, np.inf, lhr, level)}
    return out


def draw_trials(spec: Mapping[str, Any], seed_seq, n_sims: int) -> SimulatedTrials:
    """Draw ``n_sims`` synthetic trials.

    Returns :class:`SimulatedTrials` ``(Y, T, X, enrolled, time, event)``:
    outcomes ``Y (S, n, E)`` (binary 0/1, events per person-year, weeks,
    continuous values, and for a time-to-event endpoint the event-by-horizon
    indicator), allocation ``T (S, n)``, covariates ``X (S, n, 4)``,
    ``enrolled (S, n)`` (0 for referrals after enrollment closed; their
    ``X`` and ``Y`` are 0), and ``time``, ``event`` ``(S, n_tte, n)`` for
    time-to-event endpoints. ``Y``, ``X`` and ``enrolled`` are views into one
    array, the packed layout the analysis reads (``.packed``).
    Within each trial the citizens are returned deltagergruppe first, then
    the enrolled kontrolgruppe, then referrals not enrolled (the analysis
    does not depend on their order; the estimators then skip sorting).

    Enrollment: ``n`` referrals arrive in order; the scheme allocates them
    (permuted blocks within the six strata age band x prior forløb through
    :func:`allocate_permuted_blocks`, or simple / complete randomization) and
    :func:`apply_capacity` closes the deltagergruppe at ``n_treatment``.

    Data model (per citizen), built from uniforms (a mixture copula, so every
    margin is exact): a prognostic index ``V ~ U(0, 1)``; each covariate's
    uniform is ``V`` with probability 0.6 and its own uniform otherwise,
    giving ``age`` 18-64, ``prior_forloeb`` (40 %), ``months_on_benefit``
    (0-36) and ``psych_contact_12m`` (35 %); endpoint ``e``'s uniform ``W_e``
    is ``V`` with probability ``prognostic``, a common uniform of the citizen
    with probability ``shared`` (correlating the endpoints) and its own
    uniform otherwise. One uniform ``U`` decides and supplies the draw:
    ``U < a`` selects ``V``, otherwise ``(U - a)/(1 - a)`` is a fresh uniform
    independent of the selection. ``W_e`` is then put through the inverse
    distribution function of the citizen's arm:

    * binary: ``1{W < p}`` with ``p`` the control value (kontrolgruppe) or
      control value + effect (deltagergruppe);
    * count of events per person-year (``event_rate``): negative binomial
      count with mean ``rate x exposure`` and ``Var = mu + k mu^2``, divided
      by the exposure (the horizon in years);
    * weeks in a status (``weeks_in_status``): beta-binomial on ``0..horizon``
      weeks with the arm's mean and, in the kontrolgruppe, the assumed SD
      (the same beta precision in both arms);
    * continuous: normal with the arm's mean and the assumed SD;
    * time to event: exponential time with the hazard that gives the arm's
      share with an event by the horizon, censored at the horizon
      (administrative censoring only, so the event-by-horizon indicator is
      fully observed).

    So every arm's distribution is exactly the stated one and the true effects
    are known; the covariates predict every outcome (what Lin's estimator can use).
    """
    rng = np.random.default_rng(seed_seq)
    n, E = spec["n"], len(spec["effect"])
    S = n_sims
    # arrays are built with the citizens on the last axis (fast elementwise work) and returned as views
    VC = np.empty((S, 5, n), dtype=np.float32)            # prognostic index V, then the covariates' uniforms
    VC[:, :1] = rng.random((S, 1, n), dtype=np.float32)
    VC[:, 1:] = _mix(rng.random((S, 4, n), dtype=np.float32), VC[:, :1], 0.6)
    age = np.floor(18 + 47 * VC[:, 1])
    prior = VC[:, 2] < 0.4                                  # about 40 % had a forløb before
    band = (age >= 30).astype(np.int8) + (age >= 50)       # protocol breaks 18/30/50/65
    strata = band * 2 + prior
    scheme = spec["scheme"]
    if scheme == "simple":
        T = (rng.random((S, n)) < 1 / (1 + spec["ratio"])).astype(float)
    elif scheme == "complete":
        k = spec["n_treatment"]
        T = (np.argsort(rng.random((S, n)), axis=1) < k).astype(float)
    else:  # permuted_blocks (and minimisation, approximated by stratified blocks)
        T = allocate_permuted_blocks(rng, strata, 6, spec["block_sizes"], int(spec["ratio"]))
    if scheme == "complete":
        enrolled = np.ones_like(T)
    else:
        T, enrolled = apply_capacity(T, spec["n_treatment"], spec["when_full"])
    # the analysis does not depend on the citizens' order: treated first, then enrolled controls, then the
    # referrals not enrolled, whose columns are dropped where no trial of the chunk enrolled anyone
    n1, n_in = T.sum(axis=1), enrolled.sum(axis=1)
    key = (2 * (1 - enrolled) + (1 - T)).astype(np.int8)
    m = int(n_in.max())
    if not (key[:, :-1] <= key[:, 1:]).all():
        order = np.argsort(key, axis=1, kind="stable")[:, :m]
        # one flat gather (3x faster than take_along_axis's broadcast fancy index); referrals after the last
        # enrolled one of the chunk are dropped
        VC = np.take(VC, order[:, None, :] + (np.arange(S * 5) * n).reshape(S, 5, 1))
    n = m
    VC = VC[:, :, :n]
    cols = np.arange(n)
    T = (cols < n1[:, None]).astype(float)
    # packed layout of trial._fast.pack: enrolled (the intercept), 4 covariates, E outcomes; X, Y are views
    P = np.empty((S, 5 + E, n))
    enrolled = P[:, 0]
    np.less(cols, n_in[:, None], out=enrolled, casting="unsafe")
    V = VC[:, :1]
    Xt = P[:, 1:5]
    Xt[:, 0] = np.floor(18 + 47 * VC[:, 1])
    Xt[:, 1] = VC[:, 2] < 0.4
    Xt[:, 2] = 36 * VC[:, 3]
    Xt[:, 3] = VC[:, 4] < 0.35                              # about 35 % in contact with psychiatry
    F = rng.random((S, 1, n), dtype=np.float32)
    U = rng.random((S, E, n), dtype=np.float32)
    w, c = spec["prognostic"], spec["shared"]
    if w or c:       # three-way: V with probability w, F with probability c, else a fresh uniform
        W = np.where(U < w, V, np.where(U < w + c, F, (U - np.float32(w + c)) / np.float32(1 - w - c)))
    else:
        W = U
    treated = T[:, None, :] > 0
    kinds = spec["kind"]
    time = event = None
    if all(k == "binary" for k in kinds):                  # the confirmatory family of BI25: one step
        p0 = np.asarray(spec["control_value"], np.float32)[None, :, None]
        p1 = (np.asarray(spec["control_value"], float) + np.asarray(spec["effect"], float)).astype(np.float32)
        Yt = P[:, 5:]
        np.less(W, np.where(treated, p1[None, :, None], p0), out=Yt, casting="unsafe")
    else:
        Yt = P[:, 5:]
        tte = [j for j, k in enumerate(kinds) if k == "time_to_event"]
        if tte:
            time, event = np.empty((S, len(tte), n)), np.empty((S, len(tte), n))
        for j, kind in enumerate(kinds):
            if kind == "time_to_event":                     # the event-by-horizon indicator is the event
                i = tte.index(j)
                time[:, i], event[:, i] = _times(spec["params"][j], W[:, j], treated[:, 0])
                Yt[:, j] = event[:, i]
            else:
                Yt[:, j] = _outcome(kind, spec["params"][j], W[:, j], treated[:, 0])
    lo = int(n_in.min())
    if lo < n:                                                 # referrals not enrolled: 0 in every row
        P[:, 1:, lo:] *= enrolled[:, None, lo:]
    return SimulatedTrials(Yt.transpose(0, 2, 1), T, Xt.transpose(0, 2, 1), enrolled, time, event,
                           packed=(P, n1.astype(int), n_in.astype(int)))


def _outcome(kind, prm, W, treated):
    """Inverse distribution function of each citizen's arm at the uniform ``W`` (S, n)."""
    if kind == "binary":
        return (W < np.where(treated, np.float32(prm["value1"]), np.float32(prm["value0"]))).astype(float)
    if kind in ("count", "weeks"):
        # exact inverse CDF from a table of the distribution function: X = #{x : F(x) <= W}
        c0, c1 = np.asarray(prm["cdf0"]), np.asarray(prm["cdf1"])
        x = np.where(treated, np.searchsorted(c1, W, side="right"), np.searchsorted(c0, W, side="right"))
        return x / prm.get("exposure", 1.0)
    if kind == "continuous":
        z = special.ndtri(np.clip(W.astype(float), 2.0 ** -26, 1 - 2.0 ** -26))
        return np.where(treated, prm["value1"], prm["value0"]) + prm["sd"] * z
    raise AssertionError(kind)  # pragma: no cover


def _times(prm, W, treated):
    """Exponential times (weeks) with the arm's hazard, censored at the horizon: ``(time, event)``."""
    lam = np.where(treated, prm["hazard1"], prm["hazard0"])
    t = -np.log1p(-W.astype(float)) / lam
    h = prm["horizon"]
    return np.minimum(t, h), (t <= h).astype(float)


def _mix(u, v, a):
    """``v`` where ``u < a``, else ``(u - a)/(1 - a)``: uniform margins, ``v`` with probability ``a``."""
    if a <= 0:
        return u
    return np.where(u < a, v, (u - a) / np.float32(1 - a))


def _run(args):
    spec, ss, k = args
    return simulate_chunk(spec, ss, k)


def _chunks(root, n_sims):
    """Fixed-size chunks, chunk ``i`` seeded by the ``i``-th child of ``root``.

    The children are built from ``root``'s entropy and spawn key (what
    ``root.spawn`` gives a fresh SeedSequence), so the same root always gives
    the same streams, however often it was spawned from before.
    """
    sizes = [CHUNK] * (n_sims // CHUNK) + ([n_sims % CHUNK] if n_sims % CHUNK else [])
    kids = [np.random.SeedSequence(root.entropy, spawn_key=tuple(root.spawn_key) + (i,), pool_size=root.pool_size)
            for i in range(len(sizes))]
    return list(zip(kids, sizes))


def _simulate(spec, root, n_sims, n_jobs, progress, label):
    jobs = [(spec, ss, k) for ss, k in _chunks(root, n_sims)]
    bar = None
    if progress:
        try:
            from tqdm import tqdm

            bar = tqdm(total=n_sims, desc=label, unit="trial", file=sys.stderr)
        except ImportError:  # pragma: no cover - tqdm is optional
            bar = None
    results = []
    if n_jobs == 1:
        it = map(_run, jobs)
        for j, r in zip(jobs, it):
            results.append(r)
            if bar:
                bar.update(j[2])
    else:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(max_workers=n_jobs) as ex:
            for j, r in zip(jobs, ex.map(_run, jobs)):
                results.append(r)
                if bar:
                    bar.update(j[2])
    if bar:
        bar.close()
    merged = {k: np.concatenate([r[k] for r in results]) for k in ("n_treatment", "n_control")}
    for est in ESTIMATORS + SURVIVAL_ESTIMATORS:
        if est in results[0]:
            merged[est] = {k: np.concatenate([r[est][k] for r in results]) for k in results[0][est]}
    return merged


# --------------------------------------------------------------------------- result
@dataclass(frozen=True, repr=False)
class DiagnosisResult(Displayable):
    """Operating characteristics of the pre-specified analysis, from simulated trials.

    ``rows`` has one mapping per endpoint and estimator with ``power``
    (unadjusted), ``power_adjusted`` (after the multiplicity rule; NaN outside
    the confirmatory family), ``bias``, ``rmse``, ``coverage``, ``type_s``,
    each with ``<name>_mc_se``, ``mean_std_error``, ``undefined_share``
    (trials without an estimate), ``type`` (endpoint type) and ``scale``
    (``difference``, or ``log_hazard_ratio`` for the log-rank rows).
    ``fwer`` is the share of trials under the global null (all effects 0) in
    which any confirmatory endpoint is rejected after the multiplicity rule,
    for the primary estimator. ``mean_n_control`` (and its range) is the
    kontrolgruppe's size when enrollment closes at capacity; ``assumptions``
    the SDs and dispersions used (``source``: given, protocol or default).
    """

    trial_id: str
    fingerprint: str
    n_sims: int
    seed: int
    n_treatment: int
    n_control: int
    effects: Mapping[str, float]
    alpha: float
    alternative: str
    multiplicity: str
    confidence_level: float
    prognostic: float
    shared: float
    scheme: str
    rows: tuple[Mapping[str, Any], ...]
    fwer: float
    fwer_mc_se: float
    fwer_by_estimator: Mapping[str, float] = field(default_factory=dict)
    mean_n_treatment: float = float("nan")
    notes: tuple[str, ...] = ()
    mean_n_control: float = float("nan")
    min_n_control: int = 0
    max_n_control: int = 0
    when_full: str = "stop"
    assumptions: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def to_frame(self):
        import pandas as pd

        return pd.DataFrame([dict(r) for r in self.rows])

    def to_dict(self) -> dict:
        d = asdict(self)
        d["effects"] = dict(self.effects)
        d["fwer_by_estimator"] = dict(self.fwer_by_estimator)
        d["rows"] = [dict(r) for r in self.rows]
        d["assumptions"] = {k: dict(v) for k, v in self.assumptions.items()}
        return d

    def summary(self) -> str:
        f = lambda x, k=3: "–" if x is None or not math.isfinite(x) else f"{x:.{k}f}"  # noqa: E731
        lines = [f"Design diagnosis of {self.trial_id}: {self.n_sims} simulated trials (seed {self.seed}), "
                 f"{self.n_treatment}:{self.n_control} {self.scheme} (when full: {self.when_full}), alpha {self.alpha:g} {self.alternative}, "
                 f"{self.multiplicity}",
                 f"  {'endpoint':<26} {'estimator':<20} {'effect':>8} {'power':>13} {'adj.':>6} {'bias':>17} "
                 f"{'rmse':>7} {'coverage':>14} {'type_s':>6}"]
        for r in self.rows:
            lines.append(
                f"  {r['endpoint']:<26} {r['estimator']:<20} {r['true_effect']:>+8.3f} "
                f"{f(r['power'])} ± {f(r['power_mc_se'])} {f(r['power_adjusted']):>6} "
                f"{f(r['bias'], 4):>8} ± {f(r['bias_mc_se'], 4):<6} {f(r['rmse'], 4):>7} "
                f"{f(r['coverage'])} ± {f(r['coverage_mc_se'])} {f(r['type_s']):>6}")
        if any(r["estimator"] == "logrank" for r in self.rows):
            lines.append("  logrank rows: effect, bias and rmse on the log hazard ratio (Peto's O/E estimate)")
        lines.append(f"  family-wise error rate under the global null: {f(self.fwer, 4)} ± {f(self.fwer_mc_se, 4)} "
                     f"(primary estimator, {self.multiplicity})")
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)


def _metrics(est, se, p, covered, tau, alpha, rejected_adj):
    S = est.shape[0]
    rej = np.nan_to_num(p, nan=1.0) <= alpha
    finite = np.isfinite(est)
    e = est[finite] - tau                                    # an estimate can be undefined (no events in an arm)
    Sf = max(int(finite.sum()), 1)
    out = {"power": rej.mean(), "power_mc_se": math.sqrt(rej.mean() * (1 - rej.mean()) / S)}
    if rejected_adj is None:                                  # not in the confirmatory family
        out["power_adjusted"] = out["power_adjusted_mc_se"] = float("nan")
    else:
        out["power_adjusted"] = rejected_adj.mean()
        out["power_adjusted_mc_se"] = math.sqrt(rejected_adj.mean() * (1 - rejected_adj.mean()) / S)
    out["bias"] = e.mean() if e.size else float("nan")
    out["bias_mc_se"] = e.std(ddof=1) / math.sqrt(Sf) if e.size > 1 else float("nan")
    mse = np.mean(e ** 2) if e.size else float("nan")
    out["rmse"] = math.sqrt(mse)
    out["rmse_mc_se"] = (np.std(e ** 2, ddof=1) / math.sqrt(Sf)) / (2 * out["rmse"]) if mse > 0 else float("nan")
    cov = covered
    out["coverage"] = cov.mean()
    out["coverage_mc_se"] = math.sqrt(cov.mean() * (1 - cov.mean()) / S)
    nrej = int(rej.sum())
    if tau != 0 and nrej > 0:
        ts = (np.sign(est[rej]) != np.sign(tau)).mean()
        out["type_s"], out["type_s_mc_se"] = ts, math.sqrt(ts * (1 - ts) / nrej)
    else:
        out["type_s"], out["type_s_mc_se"] = float("nan"), float("nan")
    out["mean_std_error"] = float(np.nanmean(se)) if np.isfinite(se).any() else float("nan")
    out["undefined_share"] = 1.0 - finite.mean()
    return {k: float(v) for k, v in out.items()}


def _root_seed(rng):
    if rng is None:
        return np.random.SeedSequence()
    if isinstance(rng, np.random.Generator):
        return np.random.SeedSequence(int(rng.integers(0, 2 ** 63)))
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool) and rng >= 0:
        return np.random.SeedSequence(int(rng))
    raise ParameterError("rng", f"must be a whole number >= 0 or a numpy Generator; got {rng!r}")


def _kind(e):
    if e.type == "count":
        return "count" if e.rule == "event_rate" else "weeks"
    return e.type


def _endpoint_params(e, kind, effect, assume, notes):
    """Distribution parameters of one endpoint in both arms (plain data), or raise ParameterError."""
    v0 = float(e.control_value)
    v1 = v0 + float(effect)
    prm = {"value0": v0, "value1": v1}
    if kind in ("binary", "time_to_event"):
        if not (0 < v0 < 1 and 0 < v1 < 1):
            raise ParameterError("effects", f"puts {e.id} at {v1:g} (control {v0:g}); shares must lie in (0, 1)")
        if kind == "time_to_event":
            h = float(e.horizon_weeks)
            prm.update(horizon=h, hazard0=-math.log1p(-v0) / h, hazard1=-math.log1p(-v1) / h)
        return prm, {}
    if kind == "continuous":
        sd = assume.get("sd", e.sd if e.sd is not None else DEFAULT_SD.get(e.item))
        if sd is None:
            raise ParameterError("assumptions", f"needs {e.id}.sd (no default for survey item {e.item!r})")
        _check_positive(f"{e.id}.sd", sd)
        prm["sd"] = float(sd)
        return prm, {"sd": float(sd)}
    if kind == "count":
        k = assume.get("dispersion", e.dispersion if e.dispersion is not None else DEFAULT_DISPERSION)
        if isinstance(k, bool) or not isinstance(k, (int, float)) or not math.isfinite(k) or k < 0:
            raise ParameterError(f"{e.id}.dispersion", f"must be a number >= 0; got {k!r}")
        if not (v0 > 0 and v1 > 0):
            raise ParameterError("effects", f"puts {e.id} at a rate of {v1:g} (control {v0:g}); rates must be above 0")
        t = e.horizon_weeks / 52
        prm.update(exposure=t, cdf0=_nbinom_cdf(v0 * t, k), cdf1=_nbinom_cdf(v1 * t, k))
        return prm, {"dispersion": float(k), "exposure_years": t}
    # weeks in a status: beta-binomial on 0..horizon with the assumed SD in the kontrolgruppe
    N = int(e.horizon_weeks)
    sd = assume.get("sd", e.sd if e.sd is not None else DEFAULT_WEEKS_SD)
    _check_positive(f"{e.id}.sd", sd)
    if not (0 < v0 < N and 0 < v1 < N):
        raise ParameterError("effects", f"puts {e.id} at {v1:g} weeks (control {v0:g}); must lie in (0, {N})")
    m = v0 / N
    b = N * m * (1 - m)                                      # binomial variance: the least a count of weeks has
    if not b < sd ** 2 < b * N:
        raise ParameterError(f"{e.id}.sd", f"must lie between {math.sqrt(b):.3g} and {math.sqrt(b * N):.3g} "
                                           f"weeks for a mean of {v0:g} of {N}; got {sd!r}")
    prec = (b * N - sd ** 2) / (sd ** 2 - b)                  # a + b of the beta
    x = np.arange(N + 1)
    cdf = [np.cumsum(stats.betabinom.pmf(x, N, v / N * prec, (1 - v / N) * prec)) for v in (v0, v1)]
    prm.update(cdf0=cdf[0], cdf1=cdf[1])
    return prm, {"sd": float(sd), "beta_precision": float(prec)}


def _check_positive(name, v):
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v <= 0:
        raise ParameterError(name, f"must be a number above 0; got {v!r}")


def _nbinom_cdf(mu, k):
    """Distribution function of a negative binomial (mean ``mu``, ``Var = mu + k mu^2``; Poisson at k = 0)."""
    dist = stats.poisson(mu) if k == 0 else stats.nbinom(1 / k, 1 / (1 + k * mu))
    top = int(dist.ppf(1 - 1e-13)) + 1
    return np.cumsum(dist.pmf(np.arange(top + 1)))


def spec_from_protocol(protocol, *, effects="goal", n_control=None, n_treatment=None, confidence_level=0.95,
                       prognostic=0.3, shared=0.1, endpoints="all", assumptions=None) -> dict:
    """The simulation spec (plain, picklable data) of a protocol's endpoints.

    Validates the arguments of :func:`diagnose` that shape the simulated trial.
    ``endpoints``: ``"all"`` (the confirmatory family in testing order, then
    the others in protocol order), ``"confirmatory"``, or a list of ids.
    """
    notes = []
    conf = list(protocol.primary_endpoints)
    if endpoints == "all":
        eps = conf + [e for e in protocol.endpoints if e not in conf]
    elif endpoints == "confirmatory":
        eps = conf
    elif isinstance(endpoints, (list, tuple)) and endpoints and all(isinstance(x, str) for x in endpoints):
        ids = [e.id for e in protocol.endpoints]
        unknown = [x for x in endpoints if x not in ids]
        if unknown:
            raise ParameterError("endpoints", f"names endpoints not in the protocol: {unknown}; endpoints are {ids}")
        eps = [e for e in conf if e.id in endpoints] + [protocol.endpoint(x) for x in endpoints
                                                        if not protocol.endpoint(x).confirmatory]
    else:
        raise ParameterError("endpoints", f"must be 'all', 'confirmatory' or a list of endpoint ids; got {endpoints!r}")
    if not eps:
        raise ParameterError("protocol", "has no endpoint to simulate")
    for name, v in (("prognostic", prognostic), ("shared", shared)):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v < 1:
            raise ParameterError(name, f"must be a number in [0, 1); got {v!r}")
    if prognostic + shared >= 1:
        raise ParameterError("prognostic/shared", f"must add up to less than 1; got {prognostic} + {shared}")
    if not (isinstance(confidence_level, float) and 0 < confidence_level < 1):
        raise ParameterError("confidence_level", f"must be a number in (0, 1); got {confidence_level!r}")
    n1 = n_treatment if n_treatment is not None else protocol.capacity
    n0 = n_control if n_control is not None else protocol.control_size
    if n1 is None or n0 is None:
        raise ParameterError("n_treatment", "is needed: the protocol sets no capacity")
    ratio = protocol.allocation.ratio
    scheme = protocol.allocation.scheme
    when_full = protocol.allocation.when_full
    block_sizes = protocol.allocation.block_sizes
    if n0 != int(round(n1 * ratio)) and scheme in ("permuted_blocks", "minimisation", "simple"):
        scheme = "complete"
        notes.append(f"control size {n0} differs from the protocol's 1:{ratio:g}: complete randomization of "
                     f"{n1} treated among {n1 + n0} simulated instead of the protocol's scheme")
    if scheme == "minimisation":
        notes.append("minimisation is approximated by stratified permuted blocks (same strata, same 1:k share); "
                     "its tighter marginal balance is not simulated")
    if scheme == "complete" and n0 != int(round(n1 * ratio)):
        ratio = n0 / n1
    # effects
    if isinstance(effects, str):
        if effects not in ("goal", "null"):
            raise ParameterError("effects", f"must be 'goal', 'null' or a mapping endpoint -> effect; got {effects!r}")
        eff = {e.id: (e.goal if effects == "goal" else 0.0) for e in eps}
    else:
        unknown = set(effects) - {e.id for e in eps}
        if unknown:
            raise ParameterError("effects", f"names no simulated endpoint: {sorted(unknown)}; "
                                            f"endpoints are {[e.id for e in eps]}")
        for k, v in effects.items():
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                raise ParameterError("effects", f"must map {k} to a number; got {v!r}")
        eff = {e.id: float(effects.get(e.id, e.goal)) for e in eps}
    assumptions = dict(assumptions or {})
    unknown = set(assumptions) - {e.id for e in protocol.endpoints}
    if unknown:
        raise ParameterError("assumptions", f"names endpoints not in the protocol: {sorted(unknown)}; "
                                            f"endpoints are {[e.id for e in protocol.endpoints]}")
    kinds, params, used, lhr = [], [], {}, []
    for e in eps:
        kind = _kind(e)
        a = dict(assumptions.get(e.id, {}))
        allowed = {"continuous": {"sd"}, "weeks": {"sd"}, "count": {"dispersion"}}.get(kind, set())
        if set(a) - allowed:
            raise ParameterError("assumptions", f"{e.id} ({kind}) takes {sorted(allowed) or 'no assumption'}; "
                                                f"got {sorted(a)}")
        prm, u = _endpoint_params(e, kind, eff[e.id], a, notes)
        kinds.append(kind)
        params.append(prm)
        if u:
            name = "dispersion" if kind == "count" else "sd"
            used[e.id] = {**u, "source": "given" if name in a else
                          "protocol" if getattr(e, name, None) is not None else "default"}
        lhr.append(math.log(prm["hazard1"] / prm["hazard0"]) if kind == "time_to_event" else float("nan"))
    for source, text in (("protocol", "assumed in the protocol (pre-registered)"),
                         ("default", "assumed (not in the protocol; default)"), ("given", "assumed (given)")):
        ids = [k for k, v in used.items() if v["source"] == source]
        if ids:
            notes.append(f"{text}: " + ", ".join(
                f"{k} " + ", ".join(f"{n}={v:g}" for n, v in used[k].items() if n in ("sd", "dispersion"))
                for k in ids))
    n_ref = _n_referrals(n1, ratio, scheme, when_full, 6, block_sizes)
    return {"n": n_ref if scheme != "complete" else n1 + n0, "n_treatment": n1, "n_control": n0, "ratio": ratio,
            "scheme": scheme, "when_full": when_full, "block_sizes": list(block_sizes),
            "endpoints": [e.id for e in eps], "kind": kinds, "confirmatory": [e.confirmatory for e in eps],
            "control_value": [float(e.control_value) for e in eps], "effect": [eff[e.id] for e in eps],
            "log_hazard_ratio": lhr, "params": params, "assumptions": used,
            "prognostic": float(prognostic), "shared": float(shared), "alternative": protocol.analysis.alternative,
            "confidence_level": confidence_level, "notes": notes}


def _restrict(spec, keep):
    """The spec of a subset of its endpoints (indices ``keep``)."""
    out = dict(spec)
    for k in ("endpoints", "kind", "confirmatory", "control_value", "effect", "log_hazard_ratio", "params"):
        out[k] = [spec[k][j] for j in keep]
    return out


def _null_spec(spec):
    """The same trial with every effect 0 (both arms drawn from the control distribution)."""
    params = []
    for kind, prm in zip(spec["kind"], spec["params"]):
        q = dict(prm, value1=prm["value0"])
        if "cdf0" in q:
            q["cdf1"] = q["cdf0"]
        if "hazard0" in q:
            q["hazard1"] = q["hazard0"]
        params.append(q)
    return {**spec, "effect": [0.0] * len(spec["effect"]), "params": params,
            "log_hazard_ratio": [0.0 if k == "time_to_event" else float("nan") for k in spec["kind"]]}


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
