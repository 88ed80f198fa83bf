"""Randomization inference that re-runs the trial's own allocation scheme (vectorised)."""
from __future__ import annotations

import itertools
import math
from functools import partial
from typing import Callable, Sequence

import numpy as np
import pandas as pd

from ..exceptions import ParameterError
from ._common import (check_alternative, check_column, check_frame, check_level, constant_within, join_notes,
                      numeric, treatment_vector)
from .results import RandomizationResult

__all__ = ["randomization_inference", "randomization_inference_many", "SCHEMES"]

SCHEMES = ("complete", "blocked", "bernoulli")
_ALIASES = {"complete": "complete", "capacity": "complete", "blocked": "blocked", "stratified": "blocked",
            "permuted_blocks": "blocked", "bernoulli": "bernoulli", "simple": "bernoulli"}
_CHUNK_CELLS = 4_000_000          # assignments × citizens per chunk (~32 MB as float64)


# ----------------------------------------------------------------------------- draws
def _draw_chunks(scheme, rng, n_resamples, z, codes, order):
    """Yield (b × n) 0/1 float arrays of re-randomized assignments under ``scheme``.

    ``z`` and ``codes`` are in block-sorted row order; ``order`` maps it to the
    data's row order (a callable scheme draws in the data's order).
    """
    n_total = len(order)
    n = len(z)
    chunk = max(1, _CHUNK_CELLS // max(n, 1))
    done = 0
    buf = None
    while done < n_resamples:
        b = min(chunk, n_resamples - done)
        if callable(scheme):
            Z = np.asarray(scheme(rng, b))
            if Z.shape != (b, n_total):
                raise ParameterError("scheme", f"a callable scheme must return an array of shape "
                                     f"(n_resamples, n) = ({b}, {n_total}); got {Z.shape}")
            if not np.isin(Z, (0, 1)).all():
                raise ParameterError("scheme", "a callable scheme must return 0/1 assignments")
            Z = Z[:, order].astype(float)
        elif scheme in ("complete", "blocked"):
            # uniform keys; within each block the m_j smallest keys are treated: a uniformly
            # random subset of the realised size (ties have probability 0)
            # (rows are sorted by block, so each block is a contiguous slice: views, no copies)
            if buf is None:
                buf = (np.empty((chunk, n)), np.empty((chunk, n)))     # reused: no page faults per chunk
            keys, Z = buf[0][:b], buf[1][:b]
            rng.random(out=keys)
            for idx in (codes if scheme == "blocked" else [np.arange(n)]):
                sl = slice(int(idx[0]), int(idx[-1]) + 1)
                m = int(z[sl].sum())
                if m == 0 or m == len(idx):
                    Z[:, sl] = float(m > 0)
                    continue
                kb = keys[:, sl]
                thresh = np.partition(kb, m - 1, axis=1)[:, m - 1:m]
                np.less_equal(kb, thresh, out=Z[:, sl])
        else:  # bernoulli
            Z = (rng.random((b, n)) < z.mean()).astype(float)
        done += b
        yield Z


def _n_assignments(scheme, z, codes):
    if callable(scheme):
        return math.inf
    if scheme == "complete":
        return math.comb(len(z), int(z.sum()))
    if scheme == "blocked":
        return math.prod(math.comb(len(idx), int(z[idx].sum())) for idx in codes)
    return 2 ** len(z)


def _enumerate(scheme, z, codes):
    """Every assignment the scheme can produce (rows), for exact inference on small data."""
    n = len(z)
    if scheme == "bernoulli":
        return np.array(list(itertools.product((0.0, 1.0), repeat=n)))
    groups = [np.arange(n)] if scheme == "complete" else codes
    per_group = []
    for idx in groups:
        k = int(z[idx].sum())
        rows = []
        for comb in itertools.combinations(range(len(idx)), k):
            r = np.zeros(len(idx))
            r[list(comb)] = 1.0
            rows.append(r)
        per_group.append(np.array(rows))
    grids = np.meshgrid(*[np.arange(len(p)) for p in per_group], indexing="ij")
    Z = np.zeros((grids[0].size, n))
    for idx, p, g in zip(groups, per_group, grids):
        Z[:, idx] = p[g.ravel()]
    return Z


# ----------------------------------------------------------------------------- statistic
class _Statistic:
    """(Blocked) difference in means for many outcomes and many assignments at once.

    Fast path (fixed number treated in every block, no missing outcome): the
    statistic is linear in the assignment, ``T = Z @ (y * c) + const``, one
    matrix product. General path (counts vary, or missing outcomes): sums and
    counts per block and outcome by one product with ``[y·obs·B_j, obs·B_j]``.
    """

    def __init__(self, Y, obs, codes, fixed_counts, z_obs):
        n, K = Y.shape
        self.K = K
        self.codes = codes
        self.fast = fixed_counts and obs.all()
        J = len(codes)
        B = np.zeros((n, J))
        for j, idx in enumerate(codes):
            B[idx, j] = 1.0
        Yz = np.nan_to_num(Y * obs)
        nobs_j = obs.T.astype(float) @ B                     # K × J citizens observed per block
        self.w = nobs_j / nobs_j.sum(axis=1, keepdims=True)   # K × J weights N_j / N
        if self.fast:
            n1_j = z_obs @ B
            n0_j = B.sum(axis=0) - n1_j
            cj = self.w * (1 / n1_j + 1 / n0_j)              # K × J
            self.M = Yz * (B @ cj.T)                         # n × K
            self.const = -np.sum(self.w * ((Yz.T @ B) / n0_j), axis=1)   # K
        else:
            M1 = (Yz[:, :, None] * B[:, None, :]).reshape(n, K * J)
            M2 = (obs[:, :, None] * B[:, None, :]).reshape(n, K * J).astype(float)
            self.M = np.hstack([M1, M2])
            self.tot1 = M1.sum(axis=0)
            self.tot2 = M2.sum(axis=0)
            self.J = J

    def __call__(self, Z):
        P = Z @ self.M
        if self.fast:
            return P + self.const
        KJ = self.K * self.J
        s1, n1 = P[:, :KJ], P[:, KJ:]
        n0 = self.tot2 - n1
        with np.errstate(divide="ignore", invalid="ignore"):
            tau = s1 / n1 - (self.tot1 - s1) / n0
        tau = tau.reshape(len(Z), self.K, self.J)
        return np.einsum("bkj,kj->bk", tau, self.w)       # NaN when a block lost an arm


# ----------------------------------------------------------------------------- inference
def _pvalue(a, b, t_obs, tau, alternative, exact, tol):
    """p-value of H0: constant effect ``tau`` from null vectors a (outcome) and b (assignment)."""
    null = a - tau * b
    obs = t_obs - tau
    if alternative == "two-sided":
        hits = np.count_nonzero(np.abs(null) >= abs(obs) - tol)
    elif alternative == "greater":
        hits = np.count_nonzero(null >= obs - tol)
    else:
        hits = np.count_nonzero(null <= obs + tol)
    if exact:
        return hits / len(a)
    return (hits + 1) / (len(a) + 1)


def _invert(a, b, t_obs, alternative, exact, tol, level, scale):
    """Confidence interval {tau : p(tau) > 1 - level} by bisection outward from the estimate."""
    alpha = 1 - level
    if not (math.isfinite(scale) and scale > 0):
        scale = max(abs(t_obs), 1.0)

    def accepted(tau):
        return _pvalue(a, b, t_obs, tau, alternative, exact, tol) > alpha

    def edge(direction):
        inside = t_obs
        if not accepted(inside):            # discrete p-values can reject even the estimate
            return math.nan
        step = scale
        outside = inside + direction * step
        for _ in range(60):
            if not accepted(outside):
                break
            inside, step = outside, step * 2
            outside = inside + direction * step
        else:
            return direction * math.inf
        for _ in range(80):
            mid = 0.5 * (inside + outside)
            if accepted(mid):
                inside = mid
            else:
                outside = mid
            if abs(outside - inside) <= 1e-10 * scale:
                break
        return 0.5 * (inside + outside)

    lo = -math.inf if alternative == "less" else edge(-1.0)
    hi = math.inf if alternative == "greater" else edge(1.0)
    return lo, hi


def _ci_fn(a, b, t_obs, alternative, exact, tol, scale, level):
    return _invert(a, b, t_obs, alternative, exact, tol, level, scale)


def _normalise_scheme(scheme, blocks):
    if callable(scheme):
        return scheme, "callable"
    if not isinstance(scheme, str) or scheme.lower() not in _ALIASES:
        raise ParameterError("scheme", "must be one of complete, blocked (stratified, permuted_blocks), "
                             f"bernoulli (simple), or a callable draw(rng, n_resamples); got {scheme!r}")
    s = _ALIASES[scheme.lower()]
    if s == "blocked" and blocks is None:
        raise ParameterError("blocks", f"scheme {scheme!r} re-randomizes within blocks: name the block "
                             "(stratum) column with `blocks`")
    return s, s


def _no_test(name, z, obs, treatment, s_name, blocks, n_resamples, level, alternative, seed, note):
    """The result of an outcome for which no randomization test is defined: NaN everywhere, and why."""
    kind = "blocked difference in means" if blocks is not None else "difference in means"
    return RandomizationResult(
        estimator="randomization_inference", outcome=name, estimate=math.nan,
        n_treatment=int(((z == 1) & obs).sum()), n_control=int(((z == 0) & obs).sum()),
        method=f"randomization inference ({kind}; {s_name} scheme re-run)", confidence_level=level,
        alternative=alternative, scheme=s_name, seed=seed, n_resamples=0, exact=False, note=note,
        inputs=dict(outcome=name, treatment=treatment, scheme=s_name, blocks=blocks, n_resamples=n_resamples,
                    confidence_level=level, alternative=alternative, rng=seed))


def randomization_inference_many(data: pd.DataFrame, *, outcomes: Sequence[str], treatment: str,
                                 scheme: str | Callable = "complete", blocks: str | None = None,
                                 n_resamples: int = 10_000, confidence_level: float = 0.95,
                                 alternative: str = "two-sided", rng=None) -> tuple[RandomizationResult, ...]:
    """Randomization inference for several outcomes on the same re-randomizations.

    See :func:`randomization_inference`; one result per outcome, in order. All
    outcomes share each re-drawn assignment, so the results are joint (as the
    trial itself is).
    """
    data = check_frame(data)
    level = check_level(confidence_level)
    alternative = check_alternative(alternative)
    if isinstance(outcomes, str):
        outcomes = [outcomes]
    outcomes = list(outcomes)
    if not outcomes:
        raise ParameterError("outcomes", "name at least one outcome column")
    try:
        n_resamples = int(n_resamples)
    except (TypeError, ValueError):
        n_resamples = 0
    if n_resamples < 1:
        raise ParameterError("n_resamples", f"must be a whole number ≥ 1; got {n_resamples!r}")
    if isinstance(rng, bool) or (isinstance(rng, (int, np.integer)) and rng < 0) or not (
            rng is None or isinstance(rng, (int, np.integer, np.random.Generator, np.random.SeedSequence,
                                            np.random.BitGenerator))):
        raise ParameterError("rng", f"must be a whole number >= 0, a numpy Generator or None; got {rng!r}")
    if rng is None:                 # fresh entropy, recorded: the result says how to reproduce it
        rng = int(np.random.SeedSequence().entropy) % 2 ** 63      # fits a JSON consumer's 64-bit integer
    seed = int(rng) if isinstance(rng, (int, np.integer)) else repr(rng)
    gen = np.random.default_rng(rng)
    s_draw, s_name = _normalise_scheme(scheme, blocks)
    z = treatment_vector(data, treatment).astype(float)
    n = len(z)
    Y = np.column_stack([numeric(data, check_column(data, o, "outcomes"), "outcomes") for o in outcomes])
    obs = ~np.isnan(Y)
    if blocks is not None:
        check_column(data, blocks, "blocks")
        bcol = data[blocks]
        if bcol.isna().any():
            row = int(np.flatnonzero(bcol.isna().to_numpy())[0])
            raise ParameterError("blocks", f"column {blocks!r} is empty in data row {row + 1}: every citizen needs a block")
        _, inv = np.unique(bcol.astype("string").to_numpy(dtype=object), return_inverse=True)
        codes = [np.flatnonzero(inv == j) for j in range(inv.max() + 1)]
        one_arm = [j for j, idx in enumerate(codes) if z[idx].min() == z[idx].max()]
        if one_arm:
            labels = sorted(pd.unique(bcol.astype("string")))
            names = ", ".join(str(labels[j]) for j in one_arm)
            return tuple(_no_test(name, z, obs[:, k], treatment, s_name, blocks, n_resamples, level, alternative,
                                  seed, f"block(s) {names} hold only one arm: within them there is nothing to "
                                        "compare or re-randomize, so no randomization test is defined; merge "
                                        "such blocks with a neighbour or drop them explicitly")
                         for k, name in enumerate(outcomes))
    else:
        codes = [np.arange(n)]
    # work in block-sorted order (each block a contiguous slice); results do not depend on row order
    order = np.concatenate(codes)
    z, Y, obs = z[order], Y[order], obs[order]
    sizes = [len(c) for c in codes]
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    codes = [np.arange(s0, s0 + k) for s0, k in zip(starts, sizes)]
    blk = np.repeat(np.arange(len(codes)), sizes)
    # counts per block are fixed by the scheme: the statistic is linear in the assignment
    fixed = s_draw == "blocked" or (s_draw == "complete" and len(codes) == 1)
    stat = _Statistic(Y, obs, codes, fixed_counts=fixed, z_obs=z)
    # the assignment itself as an outcome (with each outcome's mask), for test inversion
    statz = _Statistic(np.repeat(z[:, None], len(outcomes), axis=1), obs, codes, fixed_counts=fixed, z_obs=z)
    t_obs = stat(z[None, :])[0]
    total = _n_assignments(s_draw, z, codes)
    exact = total <= n_resamples
    if exact:
        Zall = _enumerate(s_draw, z, codes)
        chunks = [Zall]
    else:
        chunks = _draw_chunks(s_draw, gen, n_resamples, z, codes, order)
    A, Bz = [], []
    for Z in chunks:
        A.append(stat(Z))
        Bz.append(statz(Z))
    A = np.vstack(A)
    Bz = np.vstack(Bz)
    results = []
    for k, name in enumerate(outcomes):
        a, b = A[:, k], Bz[:, k]
        valid = np.isfinite(a) & np.isfinite(b)
        note = ""
        if not valid.all():
            note = (f"{int((~valid).sum())} re-randomizations left an arm empty in some block "
                    "(for this outcome) and were set aside")
            a, b = a[valid], b[valid]
        n1 = int(((z == 1) & obs[:, k]).sum())
        n0 = int(((z == 0) & obs[:, k]).sum())
        miss = int((~obs[:, k]).sum())
        if miss:
            note = join_notes(note, f"{miss} citizens with a missing outcome were left out of the statistic "
                                    "(assignments were re-drawn for everyone)")
        kind = "blocked difference in means" if blocks is not None else "difference in means"
        method = (f"randomization inference ({kind}; {s_name} scheme re-run; interval by test inversion "
                  "under a constant additive effect)")
        common = dict(estimator="randomization_inference", outcome=name, n_treatment=n1, n_control=n0,
                      method=method, confidence_level=level, alternative=alternative, scheme=s_name,
                      seed=seed, inputs=dict(outcome=name, treatment=treatment, scheme=s_name, blocks=blocks,
                                             n_resamples=n_resamples, confidence_level=level,
                                             alternative=alternative, rng=seed))
        if len(a) == 0 or not math.isfinite(t_obs[k]):
            results.append(RandomizationResult(estimate=float(t_obs[k]), n_resamples=0, exact=exact, note=join_notes(
                note, "the statistic could not be computed (an arm has no observed outcome)"), **common))
            continue
        ok_k = obs[:, k]
        within = s_draw == "blocked"
        if constant_within(Y[ok_k, k], *((blk[ok_k],) if within else ())):
            # every re-randomization gives the same statistic (0): the randomization distribution is one
            # point, so a p-value (1) and an interval (±rounding noise) would say nothing
            flat = ("the outcome is the same for every citizen" if constant_within(Y[ok_k, k]) else
                    "the outcome does not vary within any block")
            results.append(RandomizationResult(
                estimate=0.0, std_error=0.0, n_resamples=len(a), exact=exact, note=join_notes(
                    note, f"{flat}: every re-randomization gives the same difference (0), so there is "
                          "nothing to test (no p-value or interval)"), **common))
            continue
        sd = float(np.std(a, ddof=1)) if len(a) > 1 else math.nan
        tol = 1e-9 * max(abs(float(t_obs[k])), sd if math.isfinite(sd) else 0.0, 1e-300)
        p = _pvalue(a, b, float(t_obs[k]), 0.0, alternative, exact, tol)
        lo, hi = _invert(a, b, float(t_obs[k]), alternative, exact, tol, level, sd)
        if set(np.unique(Y[obs[:, k], k])) <= {0.0, 1.0}:
            note = join_notes(note, "binary outcome: the interval inverts tests of a constant additive effect, "
                                    "which a 0/1 outcome cannot strictly have; read it as approximate")
        results.append(RandomizationResult(
            estimate=float(t_obs[k]), std_error=sd, statistic=float(t_obs[k]), p_value=float(p), ci_low=lo,
            ci_high=hi, n_resamples=len(a), exact=exact, null_distribution=a, note=note,
            _ci_fn=partial(_ci_fn, a, b, float(t_obs[k]), alternative, exact, tol, sd), **common))
    return tuple(results)


def randomization_inference(data: pd.DataFrame, *, outcome: str, treatment: str,
                            scheme: str | Callable = "complete", blocks: str | None = None,
                            n_resamples: int = 10_000, confidence_level: float = 0.95,
                            alternative: str = "two-sided", rng=None) -> RandomizationResult:
    """Randomization (permutation) inference under the trial's own allocation scheme.

    Parameters
    ----------
    data : DataFrame
    outcome, treatment : str
    scheme : {"complete", "blocked", "bernoulli"} or callable
        How the assignment was drawn. ``"complete"``: a fixed number treated
        (capacity), all subsets equally likely. ``"blocked"`` (also
        ``"stratified"``, ``"permuted_blocks"``): complete randomization within
        each level of ``blocks`` with the realised counts (pass the realised
        permuted-block id or the stratum). ``"bernoulli"`` (``"simple"``): each
        citizen independently. A callable ``draw(rng, n_resamples)`` returning an
        ``(n_resamples, n)`` 0/1 array in the data's row order lets the register
        re-run its exact allocation procedure.
    blocks : str, optional
        Block column; the statistic is then the blocked difference in means.
    n_resamples : int
        Re-randomizations; when the scheme has at most this many assignments
        they are all enumerated and the p-value is exact.
    confidence_level : float
    alternative : {"two-sided", "less", "greater"}
    rng : int or numpy.random.Generator, optional
        Seed; the same seed gives the same result. None draws fresh entropy
        and records it as the result's ``seed`` (pass it back to reproduce).

    Returns
    -------
    RandomizationResult
        ``std_error`` is the standard deviation of the statistic over
        re-randomizations under the sharp null of no effect.

    Notes
    -----
    Statistic: (blocked) difference in means :math:`T(y, Z)`. Under the sharp
    null of a constant effect :math:`\\tau` the untreated outcomes are
    :math:`y - \\tau z`, so :math:`T(y - \\tau z, Z^*) = T(y, Z^*) - \\tau T(z, Z^*)`:
    one matrix product gives both vectors and any :math:`\\tau` is tested in
    O(n_resamples). p-value :math:`(1 + \\#\\{|T^*| \\ge |T|\\})/(1 + B)` for
    Monte Carlo draws (Phipson & Smyth 2010), :math:`\\#/|\\Omega|` when all
    assignments are enumerated. The interval is :math:`\\{\\tau: p(\\tau) > 1 -
    \\text{level}\\}` by bisection. For a binary outcome a constant additive
    effect is not strictly possible, so the interval is approximate. Like
    ``ri2::conduct_ri`` in R.

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({"z": [1, 1, 1, 1, 0, 0, 0, 0], "y": [5., 6., 7., 8., 1., 2., 3., 4.]})
    >>> r = randomization_inference(d, outcome="y", treatment="z", rng=1)
    >>> r.exact, round(r.p_value, 4)   # 2 of the C(8,4) = 70 assignments are as extreme
    (True, 0.0286)
    """
    return randomization_inference_many(data, outcomes=[outcome], treatment=treatment, scheme=scheme,
                                        blocks=blocks, n_resamples=n_resamples,
                                        confidence_level=confidence_level, alternative=alternative, rng=rng)[0]
