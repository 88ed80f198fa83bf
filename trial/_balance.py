"""Baseline balance by arm: means/shares, standardised differences, omnibus test.

Public names are re-exported by :mod:`trial.randomize`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
import pandas as pd

from ._results import Displayable
from .exceptions import ParameterError

__all__ = ["BalanceResult", "balance", "plot_balance"]

_TIE = 1e-10  # relative tolerance for "as extreme as observed" (ties in floating point)
_CHUNK_CELLS = 10_000_000  # resamples x citizens drawn at once (bounds the memory of re-randomization)
MAX_RESAMPLES = 1_000_000  # Monte Carlo SE of a p-value is then at most 0.0005


def _check_resamples(n_resamples, name: str = "n_resamples") -> int:
    """``n_resamples`` as an int in 1..MAX_RESAMPLES (else :class:`ParameterError`)."""
    if (isinstance(n_resamples, bool) or not isinstance(n_resamples, (int, np.integer))
            or not 1 <= n_resamples <= MAX_RESAMPLES):
        raise ParameterError(name, f"must be a whole number from 1 to {MAX_RESAMPLES:,}; got {n_resamples!r}")
    return int(n_resamples)


@dataclass(frozen=True, eq=False)
class BalanceResult(Displayable):
    """Baseline balance of a randomized sample.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per covariate: ``covariate, kind ('mean'/'share'), mean_treatment,
        mean_control, sd_treatment, sd_control, smd, n_treatment, n_control``.
    statistic : float
        Mahalanobis distance of the mean differences (Morgan & Rubin 2012).
    p_value : float
        Share of re-randomized allocations (under the actual scheme) with a
        distance at least as large, ``(1 + #) / (1 + n_resamples)``; NaN with
        ``note`` when it cannot be computed.
    """

    table: pd.DataFrame
    statistic: float
    p_value: float
    n_resamples: int
    covariates: tuple[str, ...]
    n_treatment: int
    n_control: int
    scheme: str = ""
    mode: str = ""
    seed: object = None
    note: str = ""
    null_statistics: np.ndarray | None = field(default=None, repr=False)

    def to_frame(self) -> pd.DataFrame:
        """The covariate table (a copy); the omnibus test is in ``statistic``/``p_value``."""
        return self.table.copy()

    def summary(self) -> str:
        head = "Baseline balance"
        if self.mode:
            head += f" [{self.mode.upper()} register]"
        lines = [head, f"  deltagergruppe n = {self.n_treatment}, kontrolgruppe n = {self.n_control}"]
        lines.append(f"  {'covariate':<20} {'kind':<5} {'treatment':>10} {'control':>10} {'SMD':>7}")
        for r in self.table.itertuples():
            lines.append(f"  {r.covariate:<20} {r.kind:<5} {r.mean_treatment:>10.3f} {r.mean_control:>10.3f} "
                         f"{r.smd:>7.3f}")
        if np.isfinite(self.p_value):
            lines.append(f"  omnibus: Mahalanobis distance {self.statistic:.3f}, re-randomization p = "
                         f"{self.p_value:.3f} ({self.n_resamples} resamples under {self.scheme or 'the scheme'})")
        if self.note:
            lines.append(f"  note: {self.note}")
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return {"mode": self.mode, "scheme": self.scheme, "n_treatment": self.n_treatment,
                "n_control": self.n_control, "statistic": self.statistic, "p_value": self.p_value,
                "n_resamples": self.n_resamples, "note": self.note,
                "covariates": self.table.to_dict(orient="records")}


# the referral contract's covariates (docs/contracts.md): their kind when there is no data to tell it from
_CONTRACT_KINDS = {"age": "mean", "months_on_benefit": "mean", "prior_forloeb": "share", "psych_contact_12m": "share"}


def _design(frame: pd.DataFrame, covariates: Sequence[str]) -> tuple[np.ndarray, list[str], list[str]]:
    cols, names, kinds = [], [], []
    for c in covariates:
        if c not in frame.columns:
            raise ParameterError("covariates", f"{c!r} is not a column; columns are {list(frame.columns)}")
        s = frame[c]
        if c == "sex" or s.dtype == object or isinstance(s.dtype, pd.StringDtype):
            vals = s.astype(str)
            level = "F" if c == "sex" else sorted(vals.unique())[-1]
            cols.append((vals == level).to_numpy(float))
            names.append(f"{c}={level}" if c != "sex" else "sex_female")
            kinds.append("share")
            continue
        x = pd.to_numeric(s, errors="coerce").to_numpy(float)
        if np.isnan(x).any():
            raise ParameterError("covariates", f"{c!r} has {int(np.isnan(x).sum())} missing values")
        cols.append(x)
        names.append(c)
        if not len(x):              # an empty register: the contract says what the column is
            kinds.append(_CONTRACT_KINDS.get(c, "mean"))
        else:
            kinds.append("share" if set(np.unique(x)) <= {0.0, 1.0} else "mean")
    return np.column_stack(cols) if cols else np.zeros((len(frame), 0)), names, kinds


def _mahalanobis(X: np.ndarray, Z: np.ndarray, S_inv: np.ndarray) -> np.ndarray:
    """Mahalanobis distance of mean differences for each row of Z (R, n)."""
    Z = np.atleast_2d(Z).astype(float)
    nt = Z.sum(axis=1)
    nc = Z.shape[1] - nt
    with np.errstate(divide="ignore", invalid="ignore"):
        d = (Z @ X) / nt[:, None] - ((1 - Z) @ X) / nc[:, None]
        m = np.einsum("ij,jk,ik->i", d, S_inv, d) / (1 / nt + 1 / nc)
    return m


def balance(frame: pd.DataFrame, covariates: Sequence[str], *, treatment: str = "treatment",
            draw: Callable | None = None, n_resamples: int = 2000, rng=None, scheme: str = "",
            mode: str = "") -> BalanceResult:
    """Balance table and omnibus re-randomization test.

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per randomized citizen with a 0/1 ``treatment`` column.
    covariates : sequence of str
        Baseline covariates; ``sex`` is shown as the share female, other 0/1
        columns as shares, the rest as means.
    draw : callable, optional
        ``draw(rng, n_resamples) -> (n_resamples, n)`` 0/1 array of fresh
        allocations under the actual scheme (``Register.rerandomizer()``).
        Without it the omnibus p-value is not computed (``note`` says so).
    n_resamples : int
    rng : int or numpy.random.Generator

    Returns
    -------
    BalanceResult

    Notes
    -----
    Standardised mean difference (Austin 2009): ``(m_t - m_c) / sqrt((s_t^2 +
    s_c^2) / 2)`` with sample variances (ddof 1) for means and ``p(1 - p)`` for
    shares. The omnibus statistic is Morgan & Rubin's (2012) Mahalanobis
    distance ``M = d' [S (1/n_t + 1/n_c)]^{-1} d`` with ``d`` the difference in
    covariate means and ``S`` the sample covariance of all citizens (R:
    ``mahalanobis(d, 0, S * (1/nt + 1/nc))``); its p-value is the share of
    re-randomized allocations with ``M`` at least as large (``(1 + #)/(1 + R)``).
    """
    if draw is not None:
        n_resamples = _check_resamples(n_resamples)
    if rng is not None and not isinstance(rng, np.random.Generator):
        if isinstance(rng, bool) or not isinstance(rng, (int, np.integer)) or rng < 0:
            raise ParameterError("rng", f"must be a whole number of at least 0 or a numpy Generator; got {rng!r}")
    if treatment not in frame.columns:
        raise ParameterError("treatment", f"column {treatment!r} is not in the frame")
    z = pd.to_numeric(frame[treatment], errors="coerce").to_numpy(float)
    if not set(np.unique(z)) <= {0.0, 1.0}:
        raise ParameterError("treatment", f"column {treatment!r} must be 0/1; got values "
                                          f"{sorted(set(np.unique(z)))[:5]}")
    X, names, kinds = _design(frame, covariates)
    t, c = z == 1, z == 0
    nt, nc = int(t.sum()), int(c.sum())
    rows = []
    for j, (nm, kind) in enumerate(zip(names, kinds)):
        xt, xc = X[t, j], X[c, j]
        mt = xt.mean() if nt else np.nan
        mc = xc.mean() if nc else np.nan
        if kind == "share":
            vt, vc = mt * (1 - mt), mc * (1 - mc)
        else:
            vt = xt.var(ddof=1) if nt > 1 else np.nan
            vc = xc.var(ddof=1) if nc > 1 else np.nan
        denom = np.sqrt((vt + vc) / 2)
        smd = (mt - mc) / denom if denom > 0 else (0.0 if mt == mc else np.nan)
        rows.append({"covariate": nm, "kind": kind, "mean_treatment": mt, "mean_control": mc,
                     "sd_treatment": np.sqrt(vt), "sd_control": np.sqrt(vc), "smd": smd,
                     "n_treatment": nt, "n_control": nc})
    table = pd.DataFrame(rows, columns=["covariate", "kind", "mean_treatment", "mean_control", "sd_treatment",
                                        "sd_control", "smd", "n_treatment", "n_control"])
    notes = []
    stat, p, null = np.nan, np.nan, None
    if nt < 2 or nc < 2:
        notes.append(f"too few citizens per arm for a test (treatment {nt}, control {nc})")
    elif X.shape[1] == 0:
        notes.append("no covariates")
    else:
        keep = X.std(axis=0) > 0
        if not keep.all():
            notes.append("constant covariates left out of the omnibus test: "
                         + ", ".join(n for n, k in zip(names, keep) if not k))
        Xk = X[:, keep]
        S = np.cov(Xk, rowvar=False, ddof=1).reshape(Xk.shape[1], Xk.shape[1])
        S_inv = np.linalg.pinv(S)
        if np.linalg.matrix_rank(S) < S.shape[0]:
            notes.append("covariates are collinear: a pseudo-inverse is used")
        stat = float(_mahalanobis(Xk, z[None, :], S_inv)[0])
        if draw is None:
            notes.append("no re-randomization given: omnibus p-value not computed")
        else:
            gen = np.random.default_rng(rng)
            # in chunks, so memory stays bounded however many resamples are asked for; up to
            # _CHUNK_CELLS / n resamples (at least 2,000) in one draw, as before chunking
            step = max(2000, _CHUNK_CELLS // max(len(z), 1))
            parts = []
            for start in range(0, n_resamples, step):
                m = min(step, n_resamples - start)
                Z = np.asarray(draw(gen, m))
                if Z.shape != (m, len(z)):
                    raise ParameterError("draw", f"returned shape {Z.shape}; expected {(m, len(z))}")
                parts.append(_mahalanobis(Xk, Z, S_inv))
            null = np.concatenate(parts)
            ok = np.isfinite(null)
            p = float((1 + np.sum(null[ok] >= stat * (1 - _TIE))) / (1 + ok.sum()))
    return BalanceResult(table=table, statistic=stat, p_value=p, n_resamples=int(n_resamples) if draw else 0,
                         covariates=tuple(covariates), n_treatment=nt, n_control=nc, scheme=scheme, mode=mode,
                         seed=rng if not isinstance(rng, np.random.Generator) else "Generator",
                         note="; ".join(notes), null_statistics=null)


def plot_balance(result: BalanceResult, ax=None):
    """Love plot: standardised mean difference per covariate, with ±0.1 guides.

    Returns
    -------
    matplotlib.figure.Figure
    """
    from ._plotting import figure_axes

    fig, ax = figure_axes(ax, figsize=(5, 0.5 + 0.4 * max(1, len(result.table))))
    tab = result.table
    y = np.arange(len(tab))[::-1]
    ax.axvline(0, color="0.3", lw=0.8)
    for g in (-0.1, 0.1):
        ax.axvline(g, color="0.6", lw=0.8, ls="--")
    ax.plot(tab["smd"], y, "o", color="C0")
    ax.set_yticks(y, tab["covariate"])
    ax.set_xlabel("Standardiseret forskel\n(deltagergruppe − kontrolgruppe)")
    title = "Balance ved baseline"
    if result.mode:
        title += f" [{result.mode}]"
    ax.set_title(title)
    smd = np.abs(tab["smd"].to_numpy(float))
    smd = smd[np.isfinite(smd)]                 # none on a register without enrollments
    lim = max(0.25, float(smd.max()) * 1.2 if smd.size else 0.25)
    ax.set_xlim(-lim, lim)
    fig.tight_layout()
    return fig
