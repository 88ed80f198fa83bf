"""Drawing synthetic trials: enrollment, covariates and every endpoint's outcomes (:func:`draw_trials`)."""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np
from scipy import special

from ._allocation import allocate_permuted_blocks, apply_capacity


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
