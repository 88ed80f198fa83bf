"""The 2016 refusion staircase and helårspersoner: from weekly benefit histories to money."""
from __future__ import annotations

import numpy as np

from ..exceptions import BusinessCaseError

#: (last cumulated benefit week of the step, the state's refund share). Refusionsreformen 2016:
#: 80 % in weeks 1–4, 40 % in weeks 5–26, 30 % in weeks 27–52, 20 % after week 52.
REFUSION_STEPS = ((4, 0.80), (26, 0.40), (52, 0.30), (np.inf, 0.20))


def _bool_panel(on_benefit, name="on_benefit") -> np.ndarray:
    a = np.asarray(on_benefit)
    if a.ndim == 1:
        a = a[None, :]
    if a.ndim != 2:
        raise BusinessCaseError(name, f"must be a 2-D array (citizens × weeks) of 0/1 or booleans; "
                                f"got {a.ndim} dimensions")
    if a.dtype != bool:
        if not np.isin(a, (0, 1)).all():
            raise BusinessCaseError(name, "must hold only 0/1 or True/False (on a benefit that week or not)")
        a = a.astype(bool)
    return a


def refusion_weeks(on_benefit, *, prior_weeks=None, reset_weeks: int = 52, window_weeks: int = 208) -> np.ndarray:
    """Each citizen's cumulated benefit-week counter on the refusion staircase.

    Parameters
    ----------
    on_benefit : array_like of bool, shape (n_citizens, n_weeks)
        True in a week on a benefit covered by the staircase.
    prior_weeks : array_like of int, optional
        Benefit weeks each citizen had in the weeks just before week 1 (they
        count while inside the window and until a reset).
    reset_weeks : int
        Consecutive weeks of self-support after which the counter starts again (52).
    window_weeks : int
        Reference period: only benefit weeks within the last ``window_weeks``
        weeks count (208 = 4 years).

    Returns
    -------
    ndarray of int, shape (n_citizens, n_weeks)
        The counter in each benefit week (this week included); 0 in weeks off benefit.

    Notes
    -----
    Week :math:`t` on benefit has counter :math:`c_t = \\#\\{u \\in [\\max(s_t,
    t-W+1), t] : \\text{on benefit in } u\\}`, where :math:`s_t` is the first
    week after the latest completed spell of ``reset_weeks`` consecutive weeks
    off benefit and :math:`W` the window. Vectorised over citizens; a loop over weeks.
    """
    on = _bool_panel(on_benefit)
    n, T = on.shape
    if prior_weeks is None:
        prior = np.zeros(n, dtype=int)
    else:
        prior = np.broadcast_to(np.asarray(prior_weeks), (n,)).astype(int)
        if (prior < 0).any():
            raise BusinessCaseError("prior_weeks", "must be 0 or more benefit weeks per citizen")
    if reset_weeks < 1 or window_weeks < 1:
        raise BusinessCaseError("reset_weeks", "reset_weeks and window_weeks must be at least 1")
    cs = np.concatenate([np.zeros((n, 1), dtype=int), np.cumsum(on, axis=1)], axis=1)  # cs[:, t] = weeks < t
    start = np.zeros(n, dtype=int)
    off_run = np.zeros(n, dtype=int)
    reset_seen = np.zeros(n, dtype=bool)
    out = np.zeros((n, T), dtype=int)
    rows = np.arange(n)
    for t in range(T):
        lo = np.maximum(start, t - window_weeks + 1)
        cnt = cs[:, t + 1] - cs[rows, lo]
        # prior weeks lie at -prior..-1; those within the window [t-W+1, t] count, unless reset
        prior_in = np.where(reset_seen, 0, np.clip(np.minimum(prior, window_weeks - 1 - t), 0, None))
        out[:, t] = np.where(on[:, t], cnt + prior_in, 0)
        off_run = np.where(on[:, t], 0, off_run + 1)
        hit = off_run >= reset_weeks
        start = np.where(hit, t + 1, start)
        reset_seen |= hit
    return out


def refusion_shares(on_benefit, *, prior_weeks=None, reset_weeks: int = 52, window_weeks: int = 208,
                    steps=REFUSION_STEPS) -> np.ndarray:
    """The state's refund share in each week of a benefit history (refusionstrappen, 2016).

    Parameters
    ----------
    on_benefit : array_like of bool, shape (n_citizens, n_weeks)
    prior_weeks, reset_weeks, window_weeks
        See :func:`refusion_weeks`.
    steps : sequence of (last_week, share)
        The staircase; default :data:`REFUSION_STEPS` (80 %, 40 %, 30 %, 20 %).

    Returns
    -------
    ndarray of float
        Share refunded by the state each week (0 in weeks off benefit).

    Examples
    --------
    >>> refusion_shares([[1, 1, 1, 1, 1, 0, 1]]).tolist()
    [[0.8, 0.8, 0.8, 0.8, 0.4, 0.0, 0.4]]
    """
    c = refusion_weeks(on_benefit, prior_weeks=prior_weeks, reset_weeks=reset_weeks, window_weeks=window_weeks)
    bounds = np.array([s[0] for s in steps], dtype=float)
    shares = np.array([s[1] for s in steps], dtype=float)
    idx = np.searchsorted(bounds, c, side="left")
    return np.where(c > 0, shares[np.minimum(idx, len(shares) - 1)], 0.0)


def municipal_net_cost(gross_weekly, on_benefit, **kwargs) -> np.ndarray:
    """The municipality's net cost per week: gross benefit × (1 − state refund share).

    ``gross_weekly`` broadcasts against the (citizens × weeks) panel (a number,
    one rate per citizen as a column, or a full panel).

    >>> municipal_net_cost(1000.0, [[1, 1, 1, 1, 1]]).tolist()
    [[200.0, 200.0, 200.0, 200.0, 600.0]]
    """
    on = _bool_panel(on_benefit)
    share = refusion_shares(on, **kwargs)
    gross = np.broadcast_to(np.asarray(gross_weekly, dtype=float), on.shape)
    return np.where(on, gross - gross * share, 0.0)


def helaarspersoner(status, statuses=None, *, by=None):
    """Helårspersoner: weeks on a benefit / 52 (one helårsperson = 52 benefit weeks).

    Parameters
    ----------
    status : pandas.DataFrame or array_like of bool
        The weekly status panel (``pseudonym, week, status``) or a
        citizens × weeks 0/1 panel.
    statuses : sequence of str, optional
        Statuses to count (panel input); default every status in the panel.
    by : pandas.Series, optional
        Group of each pseudonym (e.g. the arm), indexed by pseudonym.

    Returns
    -------
    float (array input) or pandas.DataFrame
        With a frame: one row per (group ×) status with ``weeks`` and ``helaarspersoner``.

    Examples
    --------
    >>> helaarspersoner([[1] * 26, [1] * 26])
    1.0
    """
    import pandas as pd

    if not isinstance(status, pd.DataFrame):
        return float(_bool_panel(status, "status").sum() / 52)
    missing = [c for c in ("pseudonym", "week", "status") if c not in status.columns]
    if missing:
        raise BusinessCaseError("status", f"must have columns pseudonym, week, status; missing {missing}")
    df = status[["pseudonym", "status"]].copy()
    df["status"] = df["status"].astype(str)
    if statuses is not None:
        df = df[df["status"].isin(list(statuses))]
    keys = ["status"]
    if by is not None:
        df["group"] = df["pseudonym"].map(by)
        if df["group"].isna().any():
            raise BusinessCaseError("by", "has no group for some pseudonyms of the status panel")
        keys = ["group", "status"]
    out = df.groupby(keys, observed=True).size().rename("weeks").reset_index()
    out["helaarspersoner"] = out["weeks"] / 52
    return out


def helaarspersoner_value(helaarspersoner, price_per_helaarsperson):
    """Money from helårspersoner: helårspersoner × price per helårsperson (vectorised).

    >>> helaarspersoner_value(13.5, 122_078)
    1648053.0
    """
    v = np.asarray(helaarspersoner, dtype=float) * np.asarray(price_per_helaarsperson, dtype=float)
    return float(v) if v.ndim == 0 else v
