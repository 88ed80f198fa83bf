"""Allocation of many simulated trials at once: stratified permuted blocks and the capacity rule."""
from __future__ import annotations

import numpy as np
from scipy import stats


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
