"""Private: writing the four exports (semicolon CSV, decimal comma) atomically, and ``rehearse``."""
from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from types import MappingProxyType
from typing import Mapping

import numpy as np
import pandas as pd

from ..exceptions import ParameterError
from ._base import COLUMNS, FILES, _check_n, _check_seed
from ._chain import resolve_effects
from ._cohort import _normalise_arms, allocate_rehearsal, simulate_referrals
from ._outcomes import observed_rates, simulate_outcomes
from ._result import RehearsalResult, SimulationSettings

#: ``DataFrame.to_csv`` options of the municipal-Excel format in ``docs/contracts.md``.
CSV_OPTIONS = MappingProxyType(dict(sep=";", decimal=",", float_format="%.1f", date_format="%Y-%m-%d",
                                    na_rep="", index=False, lineterminator="\n"))
_UNQUOTABLE = r'[;"\r\n]'   # the files are never quoted


def _csv_bytes(kind: str, df: pd.DataFrame) -> bytes:
    """One export as bytes: ``;``-separated, decimal comma, ISO dates, empty = missing, UTF-8, ``\\n``.

    ``DataFrame.to_csv`` with :data:`CSV_OPTIONS` on the columns
    ``COLUMNS[kind]``. The files are never quoted, so a text value holding
    the separator, a quote or a line break is refused.
    """
    cols = list(COLUMNS[kind])
    sub = df[cols]
    for c in cols:
        s = sub[c]
        if isinstance(s.dtype, pd.CategoricalDtype):
            texts = pd.Series(s.cat.categories, dtype=object)
        elif pd.api.types.is_object_dtype(s.dtype) or pd.api.types.is_string_dtype(s.dtype):
            texts = pd.Series(pd.unique(s.dropna()), dtype=object)
        else:
            continue
        if texts.astype(str).str.contains(_UNQUOTABLE, regex=True).any():
            raise ParameterError(c, "values must not contain ';', '\"' or line breaks")
    return sub.to_csv(**CSV_OPTIONS).encode("utf-8")


def _write_atomic(out_dir: Path, blobs: Mapping[str, bytes]) -> dict[str, Path]:
    """Write every file to a temporary name first; rename only when all are written."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ParameterError("out_dir", f"must be a folder that can be created; {out_dir}: {exc.strerror}") from None
    tmp: dict[str, str] = {}
    try:
        for k, data in blobs.items():
            fd, name = tempfile.mkstemp(prefix=f".{FILES[k]}.", dir=out_dir)
            tmp[k] = name
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
        paths = {}
        for k, name in tmp.items():
            dest = out_dir / FILES[k]
            os.replace(name, dest)
            os.chmod(dest, 0o644)
            paths[k] = dest
        return paths
    except OSError as exc:
        for name in tmp.values():
            try:
                os.unlink(name)
            except OSError:
                pass
        raise ParameterError("out_dir", f"could not write the exports to {out_dir}: {exc.strerror}") from None


def _outcome_blobs(frames: Mapping[str, pd.DataFrame]) -> dict[str, bytes]:
    return {k: _csv_bytes(k, frames[k]) for k in ("status", "events", "survey")}


def write_outcome_exports(protocol, referrals: pd.DataFrame, arms, out_dir, *, seed: int,
                          effects: Mapping[str, float] | None = None) -> dict[str, Path]:
    """Write ``status.csv``, ``events.csv`` and ``survey.csv`` under a given allocation.

    For the demo: after the register has randomized, the outcome files are
    re-written so that the treated citizens' histories carry the effect. Same
    parameters as :func:`simulate_outcomes`; ``out_dir`` is created if needed.
    Files are replaced only when all three are written.
    """
    frames = simulate_outcomes(protocol, referrals, arms, seed=seed, effects=effects)
    return _write_atomic(Path(out_dir), _outcome_blobs(frames))


def rehearse(protocol, n_referrals: int, out_dir, *, seed: int, effects: Mapping[str, float] | None = None,
             arms=None) -> RehearsalResult:
    """Simulate a cohort and write the four municipal exports; return what was written.

    Parameters
    ----------
    protocol : trial.protocol.Protocol
    n_referrals : int
    out_dir : path
        Folder for ``referrals.csv``, ``status.csv``, ``events.csv``, ``survey.csv``.
    seed : int
    effects : mapping endpoint id -> float, or None
        See :func:`resolve_effects`.
    arms : pandas.Series, mapping cpr -> 0/1, or None
        None: :func:`allocate_rehearsal` (complete randomization among eligible
        referrals, capped at capacity; rehearsal only).

    Returns
    -------
    RehearsalResult

    Examples
    --------
    >>> import tempfile
    >>> from trial.protocol import load
    >>> with tempfile.TemporaryDirectory() as d:
    ...     r = rehearse(load(), 50, d, seed=7)
    ...     sorted(r.paths), r.rows["referrals"]
    (['events', 'referrals', 'status', 'survey'], 50)
    """
    seed = _check_seed(seed)
    n = _check_n(n_referrals)
    eff = resolve_effects(protocol, effects)
    referrals = simulate_referrals(protocol, n, seed=seed)
    if arms is None:
        arm_s = allocate_rehearsal(protocol, referrals, seed=seed)
        how = "rehearsal complete randomization"
    else:
        arm_s = pd.Series(_normalise_arms(arms, referrals), index=referrals.index)
        how = "given"
    frames = simulate_outcomes(protocol, referrals, arm_s, seed=seed, effects=effects)
    blobs = {"referrals": _csv_bytes("referrals", referrals), **_outcome_blobs(frames)}
    paths = _write_atomic(Path(out_dir), blobs)
    a = arm_s.to_numpy()
    rates = observed_rates(protocol, referrals, frames, arm_s, effects)
    rates = rates[rates["endpoint"].isin([e.id for e in protocol.primary_endpoints])].reset_index(drop=True)
    return RehearsalResult(
        settings=SimulationSettings(seed=seed, n_referrals=n, effects=MappingProxyType(dict(eff)), allocation=how,
                                    protocol_fingerprint=protocol.fingerprint),
        paths=MappingProxyType({k: paths[k] for k in FILES}),
        checksums=MappingProxyType({k: hashlib.sha256(blobs[k]).hexdigest() for k in FILES}),
        rows=MappingProxyType({k: blobs[k].count(b"\n") - 1 for k in FILES}),
        n_treatment=int(np.sum(a == 1)), n_control=int(np.sum(a == 0)), n_not_enrolled=int(np.isnan(a).sum()),
        rates=rates,
    )


def write_exports(protocol, n_referrals: int, out_dir, *, seed: int, effects: Mapping[str, float] | None = None,
                  arms=None) -> dict[str, Path]:
    """Write the four rehearsal exports; returns ``{"referrals": Path, "status": ..., "events": ..., "survey": ...}``.

    See :func:`rehearse` (which also returns checksums and realised rates).
    The same seed writes byte-identical files.
    """
    return dict(rehearse(protocol, n_referrals, out_dir, seed=seed, effects=effects, arms=arms).paths)


def register_arms(register, key, referrals: pd.DataFrame) -> pd.Series:
    """The arms a trial register gave the simulated referrals, aligned with ``referrals``.

    For a rehearsal through the command line (``trial simulate``, ``trial
    init``, ``trial enroll``, then ``trial simulate --register``): the outcome
    files are re-simulated under the register's own allocation, so the effects
    the simulation puts into the treated citizens' histories are seen by
    ``trial analyze`` (``trial demo`` does the same in one step).

    Parameters
    ----------
    register : trial.register.Register
        An open register in which the referrals were enrolled.
    key : trial._keys.KeyFile
        The register's own key file (its pseudonymisation key links the
        synthetic CPR numbers to the register's pseudonyms; another register's
        key is refused).
    referrals : DataFrame
        :func:`simulate_referrals` of the same protocol, number and seed.

    Returns
    -------
    Series of float
        1 treatment, 0 control, NaN not randomized; index of ``referrals``.

    Raises
    ------
    ParameterError
        None of the register's citizens is among the referrals, or some are
        missing (another seed or number of referrals than the enrolled file).
    """
    from ..intake import pseudonymise

    register.check_key(key)
    enr = register.enrollments()
    pseudo = pseudonymise(referrals["cpr"], key.pseudonym_key)
    arm_of = dict(zip(enr["pseudonym"], enr["treatment"].astype(float)))
    arms = pd.Series([arm_of.get(p, np.nan) for p in pseudo], index=referrals.index, dtype=float)
    found = int(arms.notna().sum())
    if len(enr) == 0:
        raise ParameterError("register", f"{register.target} has no randomized citizens yet: run `trial enroll` "
                                         f"with the simulated referrals.csv first")
    if found < len(enr):
        raise ParameterError("register", f"{len(enr) - found} of the {len(enr)} citizens randomized in "
                                         f"{register.target} are not among the {len(referrals)} simulated "
                                         f"referrals: use the --seed and --n-referrals (and protocol) that wrote "
                                         f"the referrals.csv that was enrolled")
    return arms
