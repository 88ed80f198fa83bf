"""Design diagnosis by simulation: the protocol's whole pre-specified analysis, many times over.

:func:`diagnose` draws synthetic trials from the protocol (covariates,
stratified permuted-block allocation, binary endpoints with the protocol's
control values and the given true effects), runs the pre-specified primary
estimator (HC2 difference in means) and the covariate-adjusted estimator
(Lin's interacted OLS with HC2) on every trial *at once* (see
:mod:`trial._fast`), applies the multiplicity rule over the confirmatory
family, and reports per endpoint and estimator power, bias, RMSE, coverage
of the interval and the type-S rate, each with its Monte Carlo standard
error, plus the family-wise error rate from a separate run under the global
null. Vectorised across simulations: no model is fitted in a Python loop.

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
from scipy import special

from ._fast import difference_in_means, lin_hc2
from .exceptions import ParameterError
from ._results import Displayable

__all__ = ["diagnose", "DiagnosisResult", "simulate_chunk", "draw_trials", "analyse_trials", "spec_from_protocol", "allocate_permuted_blocks", "adjust_rejections",
           "MULTIPLICITY_RULES"]

MULTIPLICITY_RULES = ("fixed_sequence", "holm", "bonferroni", "none")
ESTIMATORS = ("difference_in_means", "lin_hc2")
CHUNK = 100     # simulations per chunk: fixes the random streams, independent of n_jobs


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
    sequence (trial.randomize): within each stratum, blocks of a randomly
    drawn size, each a uniform random arrangement of ``b/(1+ratio)`` treated
    and the rest controls; citizen ``j`` of a stratum takes the stratum's
    ``j``-th assignment. A block's arrangement is drawn uniformly from the
    table of all arrangements (C(8, 2) = 28 for a block of 8 at 1:3); the
    blocks' slots are concatenated per stratum and the unused slots of
    smaller blocks compacted away.
    """
    S, n = strata.shape
    sizes = np.asarray(block_sizes, dtype=int)
    bmax = int(sizes.max())
    # order of each citizen within its stratum: stable sort by stratum, rank inside each run
    order = np.argsort(strata, axis=1, kind="stable")
    ss = np.take_along_axis(strata, order, axis=1)
    idx = np.broadcast_to(np.arange(n), (S, n))
    new = np.ones((S, n), dtype=bool)
    new[:, 1:] = ss[:, 1:] != ss[:, :-1]
    start = np.maximum.accumulate(np.where(new, idx, 0), axis=1)
    within = np.empty((S, n), dtype=np.intp)
    np.put_along_axis(within, order, idx - start, axis=1)
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
    at = np.take_along_axis(row_start, strata.astype(np.intp), axis=1) + within
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
def simulate_chunk(spec: Mapping[str, Any], seed_seq, n_sims: int) -> dict:
    """Simulate ``n_sims`` trials under ``spec`` and return per-trial estimates (arrays ``(S, E)``).

    See :func:`draw_trials` for the data model; the analysis is :func:`analyse_trials`.
    """
    Y, T, X = draw_trials(spec, seed_seq, n_sims)
    return analyse_trials(Y, T, X, spec)


def analyse_trials(Y, T, X, spec) -> dict:
    """Primary (HC2 difference in means) and covariate-adjusted (Lin, HC2) estimates of many trials at once."""
    out = {"n_treatment": T.sum(axis=1)}
    truth = np.asarray(spec["effect"], float)
    for name, fit in (("difference_in_means", lambda: difference_in_means(Y, T, alternative=spec["alternative"])),
                      ("lin_hc2", lambda: lin_hc2(Y, T, X, alternative=spec["alternative"]))):
        r = fit()
        # the interval est +- t_{df, (1+level)/2} se covers the truth  <=>  P(|t_df| >= |est - truth|/se) >= 1 - level
        with np.errstate(divide="ignore", invalid="ignore"):
            tail = 2 * special.stdtr(r.df, -np.abs(r.estimate - truth) / r.std_error)
        out[name] = {"estimate": r.estimate, "std_error": r.std_error, "p_value": r.p_value,
                     "covered": tail >= 1 - spec["confidence_level"]}
    return out


def draw_trials(spec: Mapping[str, Any], seed_seq, n_sims: int):
    """Draw ``n_sims`` synthetic trials: outcomes ``Y (S, n, E)``, allocation ``T (S, n)``, covariates ``X (S, n, 4)``.

    Within each trial the citizens are returned deltagergruppe first (the
    analysis does not depend on their order; the estimators then skip sorting).

    ``spec`` is plain data (picklable): ``n`` citizens, ``ratio``, ``scheme``,
    ``block_sizes``, ``p_control`` and ``effect`` per endpoint, ``prognostic``
    and ``shared`` (see below), ``alternative``, ``confidence_level``.

    Data model (per citizen), built from uniforms only (a mixture copula, so
    every margin is exact and no normal deviates are needed): a prognostic
    index ``V ~ U(0, 1)``; each covariate's uniform is ``V`` with probability
    0.6 and its own uniform otherwise, giving ``age`` 18-64, ``prior_forloeb``
    (40 %), ``months_on_benefit`` (0-36) and ``psych_contact_12m`` (35 %);
    endpoint ``e`` is ``1{W_e < p_e}`` where ``W_e`` is ``V`` with probability
    ``prognostic``, a common uniform of the citizen with probability
    ``shared`` (correlating the endpoints) and its own uniform otherwise. One
    uniform ``U`` decides and supplies the draw: ``U < a`` selects ``V``,
    otherwise ``(U - a)/(1 - a)`` is a fresh uniform independent of the
    selection. So the share is exactly ``p_control`` in the kontrolgruppe and
    ``p_control + effect`` in the deltagergruppe: the true effect is a known
    risk difference, and the covariates predict the outcome (what Lin's
    estimator can use).
    """
    rng = np.random.default_rng(seed_seq)
    n, E = spec["n"], len(spec["p_control"])
    S = n_sims
    # arrays are built with the citizens on the last axis (fast elementwise work) and returned as views
    V = rng.random((S, 1, n), dtype=np.float32)
    C = _mix(rng.random((S, 4, n), dtype=np.float32), V, 0.6)
    age = np.floor(18 + 47 * C[:, 0])
    prior = C[:, 1] < 0.4                                   # about 40 % had a forløb before
    Xt = np.empty((S, 4, n))
    Xt[:, 0] = age
    Xt[:, 1] = prior
    Xt[:, 2] = 36 * C[:, 2]
    Xt[:, 3] = C[:, 3] < 0.35                               # about 35 % in contact with psychiatry
    band = (age >= 30).astype(np.int8) + (age >= 50)       # protocol breaks 18/30/50/65
    strata = band * 2 + prior
    scheme = spec["scheme"]
    if scheme == "simple":
        T = (rng.random((S, n)) < 1 / (1 + spec["ratio"])).astype(float)
    elif scheme == "complete":
        k = int(round(n / (1 + spec["ratio"])))
        T = (np.argsort(rng.random((S, n)), axis=1) < k).astype(float)
    else:  # permuted_blocks (and minimisation, approximated by stratified blocks)
        T = allocate_permuted_blocks(rng, strata, 6, spec["block_sizes"], int(spec["ratio"]))
    # the analysis does not depend on the citizens' order: put each trial's deltagergruppe first
    order = np.argsort(T < 0.5, axis=1, kind="stable")
    T = np.take_along_axis(T, order, axis=1)
    Xt = np.take_along_axis(Xt, order[:, None, :], axis=2)
    V = np.take_along_axis(V, order[:, None, :], axis=2)
    F = rng.random((S, 1, n), dtype=np.float32)
    U = rng.random((S, E, n), dtype=np.float32)
    w, c = spec["prognostic"], spec["shared"]
    if w or c:       # three-way: V with probability w, F with probability c, else a fresh uniform
        W = np.where(U < w, V, np.where(U < w + c, F, (U - np.float32(w + c)) / np.float32(1 - w - c)))
    else:
        W = U
    p0 = np.asarray(spec["p_control"], np.float32)[None, :, None]
    p1 = (np.asarray(spec["p_control"], float) + np.asarray(spec["effect"], float)).astype(np.float32)[None, :, None]
    Yt = (W < np.where(T[:, None, :] > 0, p1, p0)).astype(float)
    return Yt.transpose(0, 2, 1), T, Xt.transpose(0, 2, 1)


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
    merged = {"n_treatment": np.concatenate([r["n_treatment"] for r in results])}
    for est in ESTIMATORS:
        merged[est] = {k: np.concatenate([r[est][k] for r in results]) for k in results[0][est]}
    return merged


# --------------------------------------------------------------------------- result
@dataclass(frozen=True, repr=False)
class DiagnosisResult(Displayable):
    """Operating characteristics of the pre-specified analysis, from simulated trials.

    ``rows`` has one mapping per endpoint and estimator with ``power``
    (unadjusted), ``power_adjusted`` (after the multiplicity rule), ``bias``,
    ``rmse``, ``coverage``, ``type_s`` and ``mean_std_error``, each with
    ``<name>_mc_se``. ``fwer`` is the share of trials under the global null
    (all effects 0) in which any confirmatory endpoint is rejected after the
    multiplicity rule, for the primary estimator.
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

    def to_frame(self):
        import pandas as pd

        return pd.DataFrame([dict(r) for r in self.rows])

    def to_dict(self) -> dict:
        d = asdict(self)
        d["effects"] = dict(self.effects)
        d["fwer_by_estimator"] = dict(self.fwer_by_estimator)
        d["rows"] = [dict(r) for r in self.rows]
        return d

    def summary(self) -> str:
        f = lambda x, k=3: "–" if x is None or not math.isfinite(x) else f"{x:.{k}f}"  # noqa: E731
        lines = [f"Design diagnosis of {self.trial_id}: {self.n_sims} simulated trials (seed {self.seed}), "
                 f"{self.n_treatment}:{self.n_control} {self.scheme}, alpha {self.alpha:g} {self.alternative}, "
                 f"{self.multiplicity}",
                 f"  {'endpoint':<22} {'estimator':<20} {'effect':>7} {'power':>13} {'adj.':>6} {'bias':>15} "
                 f"{'rmse':>6} {'coverage':>14} {'type_s':>6}"]
        for r in self.rows:
            lines.append(
                f"  {r['endpoint']:<22} {r['estimator']:<20} {r['true_effect']:>+7.3f} "
                f"{f(r['power'])} ± {f(r['power_mc_se'])} {f(r['power_adjusted']):>6} "
                f"{f(r['bias'], 4):>7} ± {f(r['bias_mc_se'], 4)} {f(r['rmse'], 4):>6} "
                f"{f(r['coverage'])} ± {f(r['coverage_mc_se'])} {f(r['type_s']):>6}")
        lines.append(f"  family-wise error rate under the global null: {f(self.fwer, 4)} ± {f(self.fwer_mc_se, 4)} "
                     f"(primary estimator, {self.multiplicity})")
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)


def _metrics(est, se, p, covered, tau, alpha, rejected_adj):
    S = est.shape[0]
    rej = np.nan_to_num(p, nan=1.0) <= alpha
    e = est - tau
    out = {"power": rej.mean(), "power_mc_se": math.sqrt(rej.mean() * (1 - rej.mean()) / S),
           "power_adjusted": rejected_adj.mean(),
           "power_adjusted_mc_se": math.sqrt(rejected_adj.mean() * (1 - rejected_adj.mean()) / S),
           "bias": e.mean(), "bias_mc_se": e.std(ddof=1) / math.sqrt(S)}
    mse = np.mean(e ** 2)
    out["rmse"] = math.sqrt(mse)
    out["rmse_mc_se"] = (np.std(e ** 2, ddof=1) / math.sqrt(S)) / (2 * out["rmse"]) if mse > 0 else float("nan")
    cov = covered
    out["coverage"] = cov.mean()
    out["coverage_mc_se"] = math.sqrt(cov.mean() * (1 - cov.mean()) / S)
    nrej = int(rej.sum())
    if tau != 0 and nrej > 0:
        ts = (np.sign(est[rej]) != np.sign(tau)).mean()
        out["type_s"], out["type_s_mc_se"] = ts, math.sqrt(ts * (1 - ts) / nrej)
    else:
        out["type_s"], out["type_s_mc_se"] = float("nan"), float("nan")
    out["mean_std_error"] = float(np.nanmean(se))
    return {k: float(v) for k, v in out.items()}


def _root_seed(rng):
    if rng is None:
        return np.random.SeedSequence()
    if isinstance(rng, np.random.Generator):
        return np.random.SeedSequence(int(rng.integers(0, 2 ** 63)))
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool) and rng >= 0:
        return np.random.SeedSequence(int(rng))
    raise ParameterError("rng", f"must be a whole number >= 0 or a numpy Generator; got {rng!r}")


def spec_from_protocol(protocol, *, effects="goal", n_control=None, n_treatment=None, confidence_level=0.95,
                       prognostic=0.3, shared=0.1) -> dict:
    """The simulation spec (plain, picklable data) of a protocol's confirmatory binary endpoints.

    Validates the arguments of :func:`diagnose` that shape the simulated trial.
    """
    eps = protocol.primary_endpoints
    notes = []
    binary = [e for e in eps if e.type == "binary"]
    if len(binary) < len(eps):
        notes.append("non-binary confirmatory endpoints are not simulated: "
                     + ", ".join(e.id for e in eps if e.type != "binary"))
    if not binary:
        raise ParameterError("protocol", "has no binary confirmatory endpoint to simulate")
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
    block_sizes = protocol.allocation.block_sizes
    if n0 != int(round(n1 * ratio)) and scheme in ("permuted_blocks", "minimisation"):
        scheme = "complete"
        notes.append(f"control size {n0} differs from the protocol's 1:{ratio:g}: complete randomization of "
                     f"{n1} treated among {n1 + n0} simulated instead of permuted blocks")
    if scheme == "minimisation":
        notes.append("minimisation is simulated as stratified permuted blocks")
    if scheme == "complete" and n0 != int(round(n1 * ratio)):
        ratio = n0 / n1
    if isinstance(effects, str):
        if effects not in ("goal", "null"):
            raise ParameterError("effects", f"must be 'goal', 'null' or a mapping endpoint -> effect; got {effects!r}")
        eff = {e.id: (e.goal if effects == "goal" else 0.0) for e in binary}
    else:
        unknown = set(effects) - {e.id for e in binary}
        if unknown:
            raise ParameterError("effects", f"names no binary confirmatory endpoint: {sorted(unknown)}; "
                                            f"endpoints are {[e.id for e in binary]}")
        eff = {e.id: float(effects.get(e.id, e.goal)) for e in binary}
    for e in binary:
        if not 0 < e.control_value + eff[e.id] < 1:
            raise ParameterError("effects", f"puts {e.id} at {e.control_value + eff[e.id]:g}, outside (0, 1)")
    return {"n": n1 + n0, "n_treatment": n1, "n_control": n0, "ratio": ratio, "scheme": scheme,
            "block_sizes": list(block_sizes), "endpoints": [e.id for e in binary],
            "p_control": [e.control_value for e in binary], "effect": [eff[e.id] for e in binary],
            "prognostic": float(prognostic), "shared": float(shared), "alternative": protocol.analysis.alternative,
            "confidence_level": confidence_level, "notes": notes}


def diagnose(protocol, *, n_sims=1000, rng=None, effects="goal", n_control=None, n_treatment=None,
             multiplicity=None, confidence_level=0.95, prognostic=0.3, shared=0.1, n_jobs=1, progress=None,
             null_sims=None) -> DiagnosisResult:
    """Simulate the protocol's pre-specified primary analysis and report its operating characteristics.

    Parameters
    ----------
    protocol : trial.protocol.Protocol
    n_sims : int
        Simulated trials (under the given effects; as many again under the global null for the FWER,
        unless ``null_sims`` says otherwise).
    rng : int or numpy.random.Generator, optional
        Seed of the root ``SeedSequence``; None draws fresh entropy (recorded in the result's ``seed``).
    effects : "goal", "null" or mapping endpoint id -> true risk difference
        True effects of the confirmatory endpoints (default: the BI25 goals).
    n_control, n_treatment : int, optional
        Default: the protocol's capacity and control size (``capacity * ratio``).
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

    Returns
    -------
    DiagnosisResult
    """
    if isinstance(n_sims, bool) or not isinstance(n_sims, (int, np.integer)) or n_sims < 2:
        raise ParameterError("n_sims", f"must be a whole number of at least 2; got {n_sims!r}")
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, (int, np.integer)) or n_jobs < 1:
        raise ParameterError("n_jobs", f"must be a whole number of at least 1; got {n_jobs!r}")
    multiplicity = multiplicity or protocol.analysis.multiplicity
    if multiplicity not in MULTIPLICITY_RULES:
        raise ParameterError("multiplicity", f"must be one of {', '.join(MULTIPLICITY_RULES)}; got {multiplicity!r}")
    spec = spec_from_protocol(protocol, effects=effects, n_control=n_control, n_treatment=n_treatment,
                              confidence_level=confidence_level, prognostic=prognostic, shared=shared)
    binary = [protocol.endpoint(i) for i in spec["endpoints"]]
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
    sims = _simulate(spec, alt_ss, n_sims, n_jobs, progress, "diagnose")
    n_null = n_sims if null_sims is None else null_sims
    null = _simulate({**spec, "effect": [0.0] * len(binary)}, null_ss, n_null, n_jobs, progress, "null")
    rows = []
    fwer_by = {}
    for est in ESTIMATORS:
        s = sims[est]
        adj = adjust_rejections(s["p_value"], alpha, multiplicity)
        for j, e in enumerate(binary):
            m = _metrics(s["estimate"][:, j], s["std_error"][:, j], s["p_value"][:, j], s["covered"][:, j],
                         eff[e.id], alpha, adj[:, j])
            rows.append({"endpoint": e.id, "estimator": est, "role": "confirmatory", "hierarchy": e.hierarchy,
                         "control_value": e.control_value, "true_effect": eff[e.id], **m})
        nadj = adjust_rejections(null[est]["p_value"], alpha, multiplicity)
        fwer_by[est] = float(nadj.any(axis=1).mean())
    fwer = fwer_by["difference_in_means"]
    return DiagnosisResult(
        trial_id=protocol.trial.id, fingerprint=protocol.fingerprint, n_sims=n_sims, seed=int(seed), n_treatment=n1,
        n_control=n0, effects=eff, alpha=alpha, alternative=protocol.analysis.alternative, multiplicity=multiplicity,
        confidence_level=confidence_level, prognostic=float(prognostic), shared=float(shared), scheme=scheme, rows=tuple(rows), fwer=fwer,
        fwer_mc_se=math.sqrt(fwer * (1 - fwer) / n_null), fwer_by_estimator=fwer_by,
        mean_n_treatment=float(sims["n_treatment"].mean()), notes=tuple(notes))
