"""Allocation schemes, the pinned generator and re-randomization.

Tolerances
----------
* Generator, bounded draws, shuffles and golden sequences: exact (integers).
* Allocation shares: the share of treatment per stratum must lie within
  4.5 Monte Carlo standard errors of 1/(1 + ratio). The standard error is
  estimated from the simulations themselves (replications are independent),
  and the seeds are fixed, so the test is deterministic; 4.5 SE leaves a
  false-alarm rate below 1e-5 per comparison if the code were right but the
  seeds unlucky.
* Block imbalance: an exact bound, ``|k n_t - n_c| <= k b_max / (1 + k)`` at
  every prefix of a stratum and 0 at each completed block.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from trial.exceptions import RegisterError
from trial.randomize import (Allocator, Pcg64, SchemeInfo, bounded, commitment, rerandomize, shuffle, stream,
                             stratum_levels)

GOLDEN = Path(__file__).parent / "data" / "register_golden.json"
LABELS = [f"{a}|{b}" for a in ("18-29", "30-49", "50-64") for b in ("first", "repeat")]
SE_MULT = 4.5


@pytest.fixture(scope="module")
def info(protocol):
    return SchemeInfo.from_protocol(protocol)


def _secret(i: int) -> bytes:
    return hashlib.sha256(f"test-secret-{i}".encode()).digest()


def _strata(n: int, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    return list(rng.choice(LABELS, n, p=[0.15, 0.1, 0.25, 0.2, 0.15, 0.15]))


# --------------------------------------------------------------------------- generator
@given(state=st.integers(0, 2**128 - 1), inc=st.integers(0, 2**127 - 1))
@settings(max_examples=40, deadline=None)
def test_pcg64_matches_numpy_random_raw(state, inc):
    """Our plain-integer PCG64 reproduces numpy's PCG64 bit for bit (same algorithm, no seeding layer)."""
    inc = 2 * inc + 1
    bg = np.random.PCG64()
    bg.state = {"bit_generator": "PCG64", "state": {"state": state, "inc": inc}, "has_uint32": 0, "uinteger": 0}
    ours = Pcg64(state, inc)
    assert [ours.next64() for _ in range(8)] == [int(x) for x in bg.random_raw(8)]


def test_pcg64_known_first_outputs():
    """Pinned outputs of the keyed stream (guards the HMAC keying, not only the generator)."""
    g = stream(b"k" * 32, "a", 1)
    assert [g.next64() for _ in range(3)] == [
        int(x) for x in _numpy_stream(b"k" * 32, "a", 1).random_raw(3)]


def _numpy_stream(secret, *parts):
    import hmac

    d = hmac.new(secret, "|".join(map(str, parts)).encode(), hashlib.sha256).digest()
    bg = np.random.PCG64()
    bg.state = {"bit_generator": "PCG64", "state": {"state": int.from_bytes(d[:16], "little"),
                                                    "inc": int.from_bytes(d[16:], "little") | 1},
                "has_uint32": 0, "uinteger": 0}
    return bg


@given(s=st.integers(1, 2**63), seed=st.integers(0, 2**64))
@settings(max_examples=60, deadline=None)
def test_bounded_in_range(s, seed):
    g = Pcg64(seed, 7)
    assert all(0 <= bounded(g, s) < s for _ in range(5))


def test_bounded_and_shuffle_uniform():
    """Counts of 6 values and of the 6 permutations of 3 items: chi-square within its 99.99 % quantile."""
    from scipy.stats import chi2

    g = stream(b"x" * 32, "uniformity")
    n = 12000
    counts = Counter(bounded(g, 6) for _ in range(n))
    stat = sum((counts[v] - n / 6) ** 2 / (n / 6) for v in range(6))
    assert stat < chi2.ppf(0.9999, 5)
    perms = Counter(tuple(shuffle(g, "abc")) for _ in range(n))
    assert len(perms) == 6
    stat = sum((c - n / 6) ** 2 / (n / 6) for c in perms.values())
    assert stat < chi2.ppf(0.9999, 5)


def test_bounded_rejects_bad_bound():
    with pytest.raises(ValueError, match="positive"):
        bounded(Pcg64(1, 1), 0)


# --------------------------------------------------------------------------- golden sequence
def test_golden_sequence_of_the_shipped_protocol(protocol, info):
    gold = json.loads(GOLDEN.read_text())
    assert gold["fingerprint"] == protocol.fingerprint, "the shipped protocol changed: the golden test pins it"
    secret = bytes.fromhex(gold["allocation_secret"])
    got = "".join(str(a.treatment) for a in Allocator(info, secret, gold["mode"]).replay(gold["strata"]))
    assert len(got) == 200
    assert got == gold["permuted_blocks"]
    for scheme in ("simple", "complete", "minimisation"):
        i2 = dataclasses.replace(info, scheme=scheme)
        got = "".join(str(a.treatment) for a in Allocator(i2, secret, "test").replay(gold["strata"][:60]))
        assert got == gold[scheme], scheme


def test_same_inputs_same_sequence_and_mode_changes_it(info):
    strata = _strata(120, 1)
    a = [x.treatment for x in Allocator(info, _secret(1), "test").replay(strata)]
    b = [x.treatment for x in Allocator(info, _secret(1), "test").replay(strata)]
    c = [x.treatment for x in Allocator(info, _secret(1), "production").replay(strata)]
    d = [x.treatment for x in Allocator(info, _secret(2), "test").replay(strata)]
    assert a == b
    assert a != c and a != d


def test_commitment_binds_every_input(protocol, info):
    base = commitment(protocol.fingerprint, info, _secret(1), "test")
    assert len(base) == 64 and base == commitment(protocol.fingerprint, info, _secret(1), "test")
    assert base != commitment(protocol.fingerprint, info, _secret(2), "test")
    assert base != commitment(protocol.fingerprint, info, _secret(1), "production")
    assert base != commitment("0" * 64, info, _secret(1), "test")
    assert base != commitment(protocol.fingerprint, dataclasses.replace(info, seed=1), _secret(1), "test")


def test_allocator_repr_hides_secret(info):
    a = Allocator(info, _secret(1), "test")
    assert _secret(1).hex() not in repr(a) and "test" in repr(a)


# --------------------------------------------------------------------------- schemes by simulation
def _share_check(Z: np.ndarray, strata: list[str], p: float) -> None:
    arr = np.array(strata)
    for s in LABELS:
        cols = arr == s
        if cols.sum() == 0:
            continue
        share = Z[:, cols].mean(axis=1)              # one share per replication
        se = share.std(ddof=1) / np.sqrt(len(share))
        assert abs(share.mean() - p) <= SE_MULT * max(se, 1e-12), (s, share.mean(), se)


@pytest.mark.parametrize("scheme", ["simple", "complete", "permuted_blocks", "minimisation"])
def test_allocator_shares_equal_ratio_per_stratum(info, scheme):
    """The committed (secret-driven) sequences: 150 secrets × 120 citizens."""
    i2 = dataclasses.replace(info, scheme=scheme, capacity=None if scheme != "complete" else 100)
    strata = _strata(120, 2)
    Z = np.array([[a.treatment for a in Allocator(i2, _secret(r), "test").replay(strata)] for r in range(150)])
    _share_check(Z, strata, 0.25)


@pytest.mark.parametrize("scheme", ["simple", "complete", "permuted_blocks", "minimisation"])
def test_rerandomize_shares_equal_ratio_per_stratum(info, scheme):
    i2 = dataclasses.replace(info, scheme=scheme, capacity=None if scheme != "complete" else 100)
    strata = _strata(200, 3)
    Z = rerandomize(i2, strata, rng=11, n_resamples=2000)
    assert Z.shape == (2000, 200) and set(np.unique(Z)) <= {0, 1}
    _share_check(Z, strata, 0.25)


def _max_prefix_imbalance(z: np.ndarray, k: int) -> int:
    d = np.cumsum(k * z - (1 - z))
    return int(np.abs(d).max()) if len(d) else 0


def test_permuted_blocks_never_exceed_max_imbalance(info):
    k = int(info.ratio)
    bound = k * max(info.block_sizes) // (1 + k)
    strata = _strata(150, 4)
    arr = np.array(strata)
    for r in range(60):
        alloc = Allocator(info, _secret(r), "test")
        z_all = np.array([a.treatment for a in alloc.replay(strata)])
        for s in LABELS:
            z = z_all[arr == s]
            assert _max_prefix_imbalance(z, k) <= bound
            # at every completed block the stratum is exactly 1:k
            pos = 0
            b = 0
            while True:
                blk = alloc.block(s, b)
                if pos + len(blk) > len(z):
                    break
                pos += len(blk)
                assert k * z[:pos].sum() == pos - z[:pos].sum()
                b += 1
    Z = rerandomize(info, strata, rng=5, n_resamples=500)
    for s in LABELS:
        cols = arr == s
        d = np.cumsum(k * Z[:, cols] - (1 - Z[:, cols]), axis=1)
        assert np.abs(d).max() <= bound


def test_block_sizes_drawn_from_protocol(info):
    alloc = Allocator(info, _secret(9), "test")
    sizes = Counter(len(alloc.block("18-29|first", b)) for b in range(400))
    assert set(sizes) == set(info.block_sizes)
    assert all(sum(alloc.block("18-29|first", b)) == len(alloc.block("18-29|first", b)) // 4 for b in range(50))


def _marginal_imbalance(z: np.ndarray, strata: list[str], k: int) -> float:
    """Sum over factor levels of |k n_t - n_c| (the minimised margins)."""
    parts = np.array([s.split("|") for s in strata])
    total = 0.0
    for f in range(parts.shape[1]):
        for lv in np.unique(parts[:, f]):
            m = parts[:, f] == lv
            total += abs(k * z[m].sum() - (1 - z[m]).sum())
    return total


@pytest.mark.parametrize("n", [20, 60])
def test_minimisation_balances_margins_better_than_blocks(info, n):
    """Marginal imbalance sum |k n_t - n_c| over factor levels: minimisation (p = 0.9) beats stratified blocks.

    (With the shipped p = 0.8 the advantage over 1:3 blocks of 4/8 is small, about 10 %: see docs/register.md.)
    """
    strata = _strata(n, 6)
    k = int(info.ratio)
    mins, blocks = [], []
    mi = dataclasses.replace(info, scheme="minimisation", minimisation_p=0.9)
    for r in range(300):
        zm = np.array([a.treatment for a in Allocator(mi, _secret(r), "test").replay(strata)])
        zb = np.array([a.treatment for a in Allocator(info, _secret(r), "test").replay(strata)])
        mins.append(_marginal_imbalance(zm, strata, k))
        blocks.append(_marginal_imbalance(zb, strata, k))
    diff = np.array(blocks) - np.array(mins)
    se = diff.std(ddof=1) / np.sqrt(len(diff))
    assert diff.mean() > SE_MULT * se, (np.mean(blocks), np.mean(mins))
    # the vectorised re-randomization reproduces the same advantage
    Zm = rerandomize(mi, strata, rng=1, n_resamples=400)
    Zb = rerandomize(info, strata, rng=1, n_resamples=400)
    im = np.array([_marginal_imbalance(z, strata, k) for z in Zm])
    ib = np.array([_marginal_imbalance(z, strata, k) for z in Zb])
    assert ib.mean() - im.mean() > SE_MULT * np.sqrt(im.var() / 400 + ib.var() / 400)


# --------------------------------------------------------------------------- capacity
def test_capacity_control_only_and_stop(info):
    strata = _strata(200, 7)
    co = dataclasses.replace(info, capacity=20, when_full="control_only")
    out = Allocator(co, _secret(1), "test").replay(strata)
    z = np.array([a.treatment for a in out])
    assert len(out) == 200 and z.sum() == 20
    first_full = int(np.flatnonzero(np.cumsum(z) == 20)[0])
    assert all(a.forced for a in out[first_full + 1:]) and not any(a.forced for a in out[:first_full + 1])
    stop = dataclasses.replace(info, capacity=20, when_full="stop")
    out = Allocator(stop, _secret(1), "test").replay(strata)
    assert out[-1].treatment is None and "full" in out[-1].note
    assert sum(a.treatment for a in out[:-1]) == 20 and len(out) - 1 == first_full + 1
    Z = rerandomize(co, strata, rng=1, n_resamples=300)
    assert Z.sum(axis=1).max() <= 20


def test_complete_scheme_fixed_number(info):
    ci = dataclasses.replace(info, scheme="complete", capacity=25, when_full="stop")
    out = Allocator(ci, _secret(3), "test").replay(_strata(150, 8))
    assert len(out) == 101 and out[-1].treatment is None
    assert sum(a.treatment for a in out[:100]) == 25
    Z = rerandomize(ci, _strata(100, 8), rng=2, n_resamples=50)
    assert (Z.sum(axis=1) == 25).all()


def test_scheme_settings_validated(info):
    with pytest.raises(RegisterError, match="capacity"):
        dataclasses.replace(info, scheme="complete", capacity=None).check()
    with pytest.raises(RegisterError, match="whole ratio"):
        dataclasses.replace(info, scheme="minimisation", ratio=2.5).check()
    with pytest.raises(RegisterError, match="stratum"):
        info.levels("99-99|first")


def test_rerandomize_reproducible_and_validated(info):
    strata = _strata(50, 9)
    assert (rerandomize(info, strata, rng=3, n_resamples=20) == rerandomize(info, strata, rng=3, n_resamples=20)).all()
    with pytest.raises(ValueError, match="n_resamples"):
        rerandomize(info, strata, rng=3, n_resamples=0)


def test_stratum_levels(protocol):
    assert stratum_levels(protocol, {"age": 18, "prior_forloeb": 0}) == "18-29|first"
    assert stratum_levels(protocol, {"age": 49, "prior_forloeb": 1}) == "30-49|repeat"
    assert stratum_levels(protocol, {"age": 64, "prior_forloeb": 1.0}) == "50-64|repeat"
    with pytest.raises(RegisterError, match="outside"):
        stratum_levels(protocol, {"age": 65, "prior_forloeb": 0})
