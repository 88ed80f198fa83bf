"""Allocation schemes, concealed sequences, commitment and re-randomization.

Sequences are generated *on demand* from a secret: the allocation of the
``j``-th citizen in a stratum depends on
``HMAC-SHA256(allocation_secret, "trial-seq-v1|trial id|seed|scheme|mode|...")``,
which seeds a PCG64 bit generator (the 128-bit XSL-RR generator of O'Neill
2014, the one numpy calls ``PCG64``). The generator, the bounded-integer draw
(Lemire 2019, with rejection) and the Fisher--Yates shuffle are written out
here in plain Python integers, so the same protocol and secret give the same
allocations with any future numpy (a test checks the generator against
``numpy.random.PCG64.random_raw``, and a golden test pins 200 allocations).

Schemes (``protocol.allocation.scheme``):

``simple``
    Independent draws, P(treatment) = 1 / (1 + ratio).
``complete``
    One random permutation of ``capacity × (1 + ratio)`` slots, filled in
    enrollment order (a fixed number treated).
``permuted_blocks``
    Within each stratum, blocks of a size drawn at random from
    ``block_sizes``, each holding treatment and control in ratio 1:k in random
    order.
``minimisation``
    Pocock--Simon minimisation over the stratification factors (marginal
    totals, variance across arms), made allocation-ratio preserving for 1:k as in
    Kuznetsova & Tymofyeyev (2012): the kontrolgruppe is split into k
    equal "slots", minimisation runs over 1 + k equal arms (an arm with the
    least imbalance with probability ``minimisation_p``, ties at random), and
    the slots are merged. By symmetry every citizen has P(treatment) =
    1/(1 + k) exactly, unlike naive 1:k minimisation, whose allocation share
    drifts.

Capacity: when the deltagergruppe is full, ``when_full = "stop"`` closes
enrollment and ``"control_only"`` enrolls every further citizen to the
kontrolgruppe (marked ``forced``).
"""
from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from .exceptions import RegisterError

__all__ = [
    "SEQUENCE_VERSION",
    "Pcg64",
    "stream",
    "bounded",
    "shuffle",
    "SchemeInfo",
    "Assignment",
    "Allocator",
    "commitment",
    "secret_digest",
    "stratum_levels",
    "assign_strata",
    "rerandomize",
    "BalanceResult",
    "balance",
    "plot_balance",
]

SEQUENCE_VERSION = "trial-seq-v1"
_M64 = (1 << 64) - 1
_M128 = (1 << 128) - 1
_PCG_MULT = 0x2360ED051FC65DA44385DF649FCCF645


# --------------------------------------------------------------------------- pinned generator
class Pcg64:
    """PCG64 (XSL-RR 128/64) in plain Python integers.

    The state advances as ``state = state * MULT + inc (mod 2**128)`` and each
    output is ``rotr64(hi ^ lo, state >> 122)`` of the new state, exactly as
    ``numpy.random.PCG64`` (whose ``random_raw`` it reproduces bit for bit), but
    independent of numpy's seeding and of any future change there.
    """

    __slots__ = ("state", "inc")

    def __init__(self, state: int, inc: int):
        self.state = state & _M128
        self.inc = (inc | 1) & _M128

    def next64(self) -> int:
        s = (self.state * _PCG_MULT + self.inc) & _M128
        self.state = s
        x = ((s >> 64) ^ s) & _M64
        r = s >> 122
        return ((x >> r) | (x << (64 - r))) & _M64 if r else x


def stream(secret: bytes, *parts) -> Pcg64:
    """A PCG64 stream keyed by ``HMAC-SHA256(secret, "|".join(parts))``.

    The first 16 bytes of the digest are the state, the last 16 the increment.
    """
    msg = "|".join(str(p) for p in parts).encode("utf-8")
    d = hmac.new(secret, msg, hashlib.sha256).digest()
    return Pcg64(int.from_bytes(d[:16], "little"), int.from_bytes(d[16:], "little"))


def bounded(gen: Pcg64, s: int) -> int:
    """Uniform integer in ``[0, s)`` from 64-bit outputs (Lemire's method, exact by rejection)."""
    if s <= 0:
        raise ValueError(f"`s` must be a positive whole number; got {s}")
    m = gen.next64() * s
    low = m & _M64
    if low < s:
        t = ((1 << 64) - s) % s
        while low < t:
            m = gen.next64() * s
            low = m & _M64
    return m >> 64


def uniform(gen: Pcg64) -> float:
    """Uniform double in [0, 1) from the top 53 bits of one output."""
    return (gen.next64() >> 11) * (1.0 / (1 << 53))


def shuffle(gen: Pcg64, items: Sequence) -> list:
    """Fisher--Yates shuffle (Durstenfeld), drawing ``j`` uniform in ``[0, i]``."""
    out = list(items)
    for i in range(len(out) - 1, 0, -1):
        j = bounded(gen, i + 1)
        out[i], out[j] = out[j], out[i]
    return out


# --------------------------------------------------------------------------- scheme settings
@dataclass(frozen=True)
class SchemeInfo:
    """Everything that defines how allocations are drawn (from the protocol).

    ``factors`` holds the labels of each stratification factor (in protocol
    order); a stratum is written ``"label1|label2"``.
    """

    scheme: str
    ratio: float
    block_sizes: tuple[int, ...] = ()
    capacity: int | None = None
    when_full: str = "stop"
    minimisation_p: float = 0.8
    factors: tuple[tuple[str, ...], ...] = ()
    trial_id: str = ""
    seed: int = 0
    bit_generator: str = "PCG64"

    @classmethod
    def from_protocol(cls, protocol) -> "SchemeInfo":
        al = protocol.allocation
        info = cls(scheme=al.scheme, ratio=float(al.ratio), block_sizes=tuple(al.block_sizes),
                   capacity=protocol.capacity, when_full=al.when_full, minimisation_p=float(al.minimisation_p),
                   factors=tuple(tuple(s.labels) for s in protocol.strata), trial_id=protocol.trial.id,
                   seed=int(al.seed), bit_generator=al.bit_generator)
        info.check()
        return info

    def check(self) -> None:
        if self.scheme == "complete":
            if self.capacity is None:
                raise RegisterError("scheme 'complete' needs a capacity on the treatment arm "
                                    "(the fixed number treated); the protocol gives none")
            n = self.capacity * (1 + self.ratio)
            if abs(n - round(n)) > 1e-9:
                raise RegisterError(f"scheme 'complete' needs capacity × (1 + ratio) to be whole; got {n:g}")
        if self.scheme == "minimisation" and not float(self.ratio).is_integer():
            raise RegisterError(f"minimisation needs a whole ratio (1:k); got {self.ratio:g}")
        if self.scheme == "permuted_blocks":
            unit = 1 + int(self.ratio)
            if not self.block_sizes or any(b % unit for b in self.block_sizes) or not float(self.ratio).is_integer():
                raise RegisterError(f"permuted blocks need a whole ratio and block sizes that are multiples of "
                                    f"1 + ratio; got ratio {self.ratio:g}, block sizes {list(self.block_sizes)}")

    @property
    def p_treat(self) -> float:
        return 1.0 / (1.0 + self.ratio)

    @property
    def n_slots(self) -> int | None:
        """Slots of the complete scheme (capacity × (1 + ratio))."""
        if self.capacity is None:
            return None
        return int(round(self.capacity * (1 + self.ratio)))

    def levels(self, stratum: str) -> tuple[int, ...]:
        """Index of each factor's label in a stratum string."""
        parts = stratum.split("|")
        if len(parts) != len(self.factors):
            raise RegisterError(f"stratum {stratum!r} does not have {len(self.factors)} factors")
        try:
            return tuple(f.index(p) for f, p in zip(self.factors, parts))
        except ValueError:
            raise RegisterError(f"stratum {stratum!r} has a label not in the protocol's strata "
                                f"{[list(f) for f in self.factors]}") from None

    def to_dict(self) -> dict:
        return {"scheme": self.scheme, "ratio": self.ratio, "block_sizes": list(self.block_sizes),
                "capacity": self.capacity, "when_full": self.when_full, "minimisation_p": self.minimisation_p,
                "factors": [list(f) for f in self.factors], "trial_id": self.trial_id, "seed": self.seed,
                "bit_generator": self.bit_generator}


def secret_digest(secret: bytes) -> str:
    """SHA-256 (hex) of the allocation secret: safe to store and publish."""
    return hashlib.sha256(secret).hexdigest()


def commitment(fingerprint: str, info: SchemeInfo, secret: bytes, mode: str) -> str:
    """SHA-256 commitment to the sequence, publishable before the first enrollment.

    ``SHA-256(canonical JSON of {algorithm, fingerprint, seed, scheme, mode,
    bit_generator, SHA-256(allocation_secret)})``. Revealing the secret after the
    trial lets anyone recompute both the commitment and every allocation.
    """
    doc = {"algorithm": SEQUENCE_VERSION, "fingerprint": fingerprint, "seed": info.seed, "scheme": info.scheme,
           "mode": mode, "bit_generator": info.bit_generator, "secret_sha256": secret_digest(secret)}
    return hashlib.sha256(json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


# --------------------------------------------------------------------------- allocation
@dataclass(frozen=True)
class Assignment:
    """The allocation of one citizen: ``treatment`` 0/1, or closed (``treatment`` None)."""

    treatment: int | None
    forced: bool = False
    note: str = ""
    slot: int = -1

    def __post_init__(self):
        if self.slot == -1 and self.treatment is not None:
            object.__setattr__(self, "slot", 0 if self.treatment else 1)


@dataclass
class _State:
    """Counts the allocator needs (rebuilt from the register inside each transaction)."""

    n: int = 0
    n_treated: int = 0
    per_stratum: dict = field(default_factory=dict)
    margins: dict = field(default_factory=dict)  # (factor, level) -> counts per slot (0 = treatment)
    k: int = 1

    def add(self, stratum: str, levels: tuple[int, ...], slot: int, n: int = 1) -> None:
        self.n += n
        self.n_treated += n * (slot == 0)
        self.per_stratum[stratum] = self.per_stratum.get(stratum, 0) + n
        for f, lv in enumerate(levels):
            self.margins.setdefault((f, lv), [0] * (1 + self.k))[slot] += n


class Allocator:
    """Draws allocations for a scheme from the allocation secret.

    Parameters
    ----------
    info : SchemeInfo
    secret : bytes
        The allocation secret from the key file (never stored in the register).
    mode : {"test", "production"}
        Part of every stream key, so a test register's sequence never equals the
        production sequence even with the same key file.
    """

    def __init__(self, info: SchemeInfo, secret: bytes, mode: str):
        info.check()
        self.info = info
        self._secret = bytes(secret)
        self.mode = mode
        self._blocks: dict[tuple[str, int], tuple[int, ...]] = {}
        self._complete: tuple[int, ...] | None = None

    def __repr__(self) -> str:  # never show the secret
        return f"Allocator({self.info.scheme!r}, mode={self.mode!r})"

    def _stream(self, *parts) -> Pcg64:
        i = self.info
        return stream(self._secret, SEQUENCE_VERSION, i.trial_id, i.seed, i.scheme, self.mode, *parts)

    # permuted blocks -------------------------------------------------------
    def block(self, stratum: str, index: int) -> tuple[int, ...]:
        """Block ``index`` (0-based) of a stratum: a tuple of 0/1."""
        key = (stratum, index)
        if key not in self._blocks:
            g = self._stream("block", stratum, index)
            sizes = self.info.block_sizes
            size = sizes[bounded(g, len(sizes))]
            n_t = size // (1 + int(self.info.ratio))
            self._blocks[key] = tuple(shuffle(g, [1] * n_t + [0] * (size - n_t)))
        return self._blocks[key]

    def stratum_sequence(self, stratum: str, n: int) -> list[int]:
        """The first ``n`` allocations of a stratum under permuted blocks."""
        out: list[int] = []
        b = 0
        while len(out) < n:
            out.extend(self.block(stratum, b))
            b += 1
        return out[:n]

    def _block_draw(self, stratum: str, j: int) -> int:
        b = 0
        while True:
            blk = self.block(stratum, b)
            if j < len(blk):
                return blk[j]
            j -= len(blk)
            b += 1

    # complete --------------------------------------------------------------
    def complete_slots(self) -> tuple[int, ...]:
        if self._complete is None:
            n = self.info.n_slots
            g = self._stream("complete")
            self._complete = tuple(shuffle(g, [1] * self.info.capacity + [0] * (n - self.info.capacity)))
        return self._complete

    # one allocation --------------------------------------------------------
    def assign(self, state: _State, stratum: str) -> Assignment:
        """Allocation of the next citizen (global position ``state.n + 1``) in ``stratum``."""
        i = self.info
        levels = i.levels(stratum)
        if i.scheme == "complete":  # a fixed number: full when every slot is used
            full = state.n >= i.n_slots
        else:
            full = i.capacity is not None and state.n_treated >= i.capacity
        if full and i.when_full == "stop":
            what = (f"all {i.n_slots} slots of the complete sequence are used" if i.scheme == "complete"
                    else f"the deltagergruppe is full ({i.capacity} places)")
            return Assignment(None, False, f"enrollment closed: {what}")
        seq = state.n + 1
        if i.scheme == "simple":
            z = int(uniform(self._stream("simple", seq)) < i.p_treat)
        elif i.scheme == "complete":
            z = self.complete_slots()[seq - 1] if seq <= i.n_slots else 0
        elif i.scheme == "permuted_blocks":
            z = self._block_draw(stratum, state.per_stratum.get(stratum, 0))
        elif i.scheme == "minimisation":
            slot = self._minimise(state, levels, seq)
            if full:
                return Assignment(0, True, "deltagergruppe full: control only", slot=slot or 1)
            return Assignment(int(slot == 0), slot=slot)
        else:  # pragma: no cover - protocol validation prevents this
            raise RegisterError(f"unknown scheme {i.scheme!r}")
        if full:
            return Assignment(0, True, "deltagergruppe full: control only")
        return Assignment(z)

    def _minimise(self, state: _State, levels: tuple[int, ...], seq: int) -> int:
        """Slot (0 = treatment, 1..k = control) by ratio-preserving Pocock--Simon minimisation."""
        g = self._stream("minimisation", seq)
        k = int(self.info.ratio)
        scores = minimisation_scores(state.margins, levels, k)
        best = min(scores)
        low = [a for a in range(1 + k) if scores[a] == best]
        high = [a for a in range(1 + k) if scores[a] != best]
        u = uniform(g)
        pool = low if (not high or u < self.info.minimisation_p) else high
        return pool[bounded(g, len(pool))]

    # replay ----------------------------------------------------------------
    def replay(self, strata: Sequence[str]) -> list[Assignment]:
        """Allocations of citizens arriving in this order (what the register must hold).

        Stops at the first closed assignment (when_full = "stop"): that entry is
        returned with ``treatment`` None and nothing after it.
        """
        state = self.new_state()
        out = []
        for s in strata:
            a = self.assign(state, s)
            out.append(a)
            if a.treatment is None:
                break
            state.add(s, self.info.levels(s), a.slot)
        return out

    def new_state(self) -> _State:
        return _State(k=int(self.info.ratio) if self.info.scheme == "minimisation" else 1)


def minimisation_scores(margins: dict, levels: tuple[int, ...], k: int) -> list[int]:
    """Pocock--Simon imbalance if the next citizen went to each of the 1 + k slots.

    For each factor, the citizen's level has counts per slot; the imbalance is
    their variance after adding the citizen (written in integers as
    ``sum((K x - sum(x))^2)``, K = 1 + k), summed over factors.
    """
    out = []
    for arm in range(1 + k):
        total = 0
        for f, lv in enumerate(levels):
            c = list(margins.get((f, lv), [0] * (1 + k)))
            c[arm] += 1
            total += sum(((1 + k) * x - sum(c)) ** 2 for x in c)
        out.append(total)
    return out


# --------------------------------------------------------------------------- strata
def stratum_levels(protocol, values: dict) -> str:
    """Stratum string (``"18-29|first"``) of one citizen from its source values."""
    parts = []
    for s in protocol.strata:
        x = values[s.source]
        if s.breaks is not None:
            lab = None
            for k in range(len(s.breaks) - 1):
                if s.breaks[k] <= x < s.breaks[k + 1]:
                    lab = s.labels[k]
            if lab is None:
                raise RegisterError(f"{s.source} = {x!r} is outside the stratum breaks {list(s.breaks)}")
        else:
            key = _num(x)
            if key not in list(s.levels):
                raise RegisterError(f"{s.source} = {x!r} is not among the stratum levels {list(s.levels)}")
            lab = s.labels[list(s.levels).index(key)]
        parts.append(lab)
    return "|".join(parts)


def assign_strata(protocol, frame) -> "np.ndarray":
    """Vectorised stratum strings for a frame with the strata's source columns (None where outside)."""
    import pandas as pd

    cols = []
    for s in protocol.strata:
        x = pd.to_numeric(frame[s.source], errors="coerce") if s.breaks is not None else frame[s.source]
        if s.breaks is not None:
            lab = pd.cut(x, bins=list(s.breaks), right=False, labels=list(s.labels))
            cols.append(lab.astype(object))
        else:
            mapping = dict(zip(s.levels, s.labels))
            cols.append(frame[s.source].map(lambda v: mapping.get(v, mapping.get(_num(v)))))
    out = []
    for vals in zip(*cols):
        out.append(None if any(v is None or (isinstance(v, float) and v != v) for v in vals) else "|".join(vals))
    return np.array(out, dtype=object)


def _num(v):
    try:
        f = float(v)
        return int(f) if f.is_integer() else f
    except (TypeError, ValueError):
        return v


# --------------------------------------------------------------------------- re-randomization
def rerandomize(info: SchemeInfo, strata: Sequence[str], *, rng, n_resamples: int,
                forced_from: int | None = None) -> np.ndarray:
    """Fresh allocations of the same citizens under the actual scheme (vectorised).

    Parameters
    ----------
    info : SchemeInfo
    strata : sequence of str
        Stratum of each citizen in enrollment order.
    rng : int or numpy.random.Generator
        Ordinary randomness (these draws are for inference, not for the trial).
    n_resamples : int

    Returns
    -------
    numpy.ndarray of int8, shape (n_resamples, n)
        0/1 treatment indicators, columns in enrollment order.

    Notes
    -----
    The capacity rule is applied as in the trial: once ``capacity`` citizens
    are treated, every later citizen is control (``control_only``). For
    ``when_full = "stop"`` the enrolled set is taken as given, and a resample
    that would fill the deltagergruppe early has its later treatment slots
    given to control (conditioning on the enrolled citizens).
    """
    rng = np.random.default_rng(rng)
    if not isinstance(n_resamples, (int, np.integer)) or n_resamples < 1:
        raise ValueError(f"`n_resamples` must be a positive whole number; got {n_resamples!r}")
    strata = list(strata)
    n = len(strata)
    R = int(n_resamples)
    if n == 0:
        return np.zeros((R, 0), dtype=np.int8)
    if info.scheme == "simple":
        z = (rng.random((R, n)) < info.p_treat).astype(np.int8)
    elif info.scheme == "complete":
        N = max(info.n_slots, n)
        keys = rng.random((R, info.n_slots)).argsort(axis=1)
        slots = np.zeros((R, N), dtype=np.int8)
        slots[:, :info.n_slots] = (keys < info.capacity)
        z = slots[:, :n]
    elif info.scheme == "permuted_blocks":
        z = np.zeros((R, n), dtype=np.int8)
        arr = np.array(strata, dtype=object)
        for s in dict.fromkeys(strata):
            idx = np.flatnonzero(arr == s)
            z[:, idx] = _block_draws(info, len(idx), rng, R)
    elif info.scheme == "minimisation":
        z = _minimisation_draws(info, strata, rng, R)
    else:  # pragma: no cover
        raise ValueError(f"unknown scheme {info.scheme!r}")
    if info.capacity is not None:
        over = np.cumsum(z, axis=1) > info.capacity
        z = np.where(over, 0, z).astype(np.int8)
    return z


def _block_draws(info: SchemeInfo, m: int, rng, R: int) -> np.ndarray:
    sizes = np.asarray(info.block_sizes)
    bmax = int(sizes.max())
    nb = -(-m // int(sizes.min()))
    size = sizes[rng.integers(0, len(sizes), size=(R, nb))]                   # (R, nb)
    pos = np.arange(bmax)
    valid = pos[None, None, :] < size[:, :, None]                             # (R, nb, bmax)
    keys = np.where(valid, rng.random((R, nb, bmax)), np.inf)
    rank = keys.argsort(axis=2).argsort(axis=2)
    treat = rank < (size // (1 + int(info.ratio)))[:, :, None]
    treat = treat.reshape(R, nb * bmax)
    valid = valid.reshape(R, nb * bmax)
    order = np.argsort(~valid, axis=1, kind="stable")[:, :m]
    return np.take_along_axis(treat, order, axis=1).astype(np.int8)


def _minimisation_draws(info: SchemeInfo, strata: Sequence[str], rng, R: int) -> np.ndarray:
    levels = np.array([info.levels(s) for s in strata], dtype=np.intp)     # (n, F)
    n, F = levels.shape
    K = 1 + int(info.ratio)
    nl = max(len(f) for f in info.factors)
    counts = np.zeros((R, F, nl, K), dtype=np.int64)
    z = np.zeros((R, n), dtype=np.int8)
    fidx = np.arange(F)
    rows = np.arange(R)
    eye = np.eye(K, dtype=np.int64)
    for i in range(n):
        c = counts[:, fidx, levels[i], :]                                   # (R, F, K)
        after = c[:, :, None, :] + eye[None, None, :, :]                    # (R, F, arm, K)
        score = ((K * after - after.sum(axis=3, keepdims=True)) ** 2).sum(axis=(1, 3))   # (R, arm)
        low = score == score.min(axis=1, keepdims=True)
        use_low = (rng.random(R) < info.minimisation_p) | low.all(axis=1)
        pool = np.where(use_low[:, None], low, ~low)
        keys = np.where(pool, rng.random((R, K)), -1.0)
        slot = keys.argmax(axis=1)                                          # uniform within the pool
        z[:, i] = slot == 0
        for f in range(F):
            counts[rows, f, levels[i, f], slot] += 1
    return z


from ._balance import BalanceResult, balance, plot_balance  # noqa: E402
