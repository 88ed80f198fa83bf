"""Analysis of many simulated trials at once, the multiplicity rule, chunked simulation and the metrics."""
from __future__ import annotations

import math
import sys
from typing import Any, Mapping

import numpy as np
from scipy import special

from .._fast import _dim_lin_moments, difference_in_means, lin_hc2, logrank, pack, t_pvalue
from ..exceptions import ParameterError
from ._common import CHUNK, ESTIMATORS, FAST_FIELDS, MULTIPLICITY_RULES, SURVIVAL_ESTIMATORS
from ._draw import SimulatedTrials, draw_trials


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
    se_ok = np.isfinite(se)
    out["mean_std_error"] = float(se[se_ok].mean()) if se_ok.any() else float("nan")
    # a trial whose estimate or standard error is undefined (no events in an arm, a saturated model) has no test
    out["undefined_share"] = 1.0 - (finite & se_ok).mean()
    return {k: float(v) for k, v in out.items()}
