"""Price levels: move amounts between p/l years with the shipped index tables."""
from __future__ import annotations

import dataclasses
from functools import lru_cache

import numpy as np

from ..exceptions import BusinessCaseError
from ._case import DATA_DIR, Case

INDEX_FILES = {"service": "pl_service.csv", "transfers": "satsregulering.csv"}
#: Which index moves which styringsområde: service and measures by the pris- og
#: lønindeks, transfers by the satsreguleringsprocent.
AREA_INDEX = {"Service": "service", "EI": "service", "EO": "transfers"}


@lru_cache(maxsize=None)
def _table(kind: str):
    import pandas as pd

    if kind not in INDEX_FILES:
        raise BusinessCaseError("kind", f"must be one of {', '.join(map(repr, INDEX_FILES))}; got {kind!r}")
    path = DATA_DIR / INDEX_FILES[kind]
    df = pd.read_csv(path, comment="#")
    return df.set_index("year")["change_pct"].astype(float)


def price_index(kind: str = "service", *, base_year: int = 2016):
    """The index (``base_year`` = 100) built from the yearly changes of a shipped table.

    Parameters
    ----------
    kind : {"service", "transfers"}
        ``service``: KL's pris- og lønskøn for service expenditure
        (``trial/data/pl_service.csv``); ``transfers``: the
        satsreguleringsprocent (``trial/data/satsregulering.csv``). Each row
        names its source; ``verified = yes`` rows cite the page (``url``) the
        value was read in (some are budget-time forecasts, see the file
        headers), ``verified = no`` rows are unchecked transcriptions.
    base_year : int
        Year with index 100.

    Returns
    -------
    pandas.Series
        Index by year.
    """
    import pandas as pd

    g = _table(kind)
    years = list(g.index)
    if base_year not in years:
        raise BusinessCaseError("base_year", f"must be a year of the {kind} table "
                                f"({years[0]}–{years[-1]}); got {base_year!r}")
    lvl = np.cumprod(1 + g.to_numpy() / 100)
    lvl = lvl / lvl[years.index(base_year)] * 100
    return pd.Series(lvl, index=pd.Index(years, name="year"), name=f"{kind}_index_{base_year}")


def convert_price_level(amount, from_year: int, to_year: int, *, kind: str = "service"):
    """Move an amount (or array) from one price level to another.

    Notes
    -----
    With yearly changes :math:`g_y` (percent), the factor from p/l :math:`a`
    to p/l :math:`b > a` is :math:`\\prod_{y=a+1}^{b}(1+g_y/100)`, and its
    inverse for :math:`b < a`. The change of year :math:`y` is the rise from
    :math:`y-1` to :math:`y`.

    Examples
    --------
    >>> round(convert_price_level(100.0, 2016, 2016), 10)
    100.0
    >>> # 2016 -> 2018 service: x (1 + g2017) (1 + g2018)
    >>> g = _table("service")
    >>> bool(abs(convert_price_level(100.0, 2016, 2018) - 100 * (1 + g[2017] / 100) * (1 + g[2018] / 100)) < 1e-12)
    True
    """
    g = _table(kind)
    for name, y in (("from_year", from_year), ("to_year", to_year)):
        if isinstance(y, bool) or not isinstance(y, (int, np.integer)) or y not in g.index:
            raise BusinessCaseError(name, f"must be a year in the {kind} table ({int(g.index.min())}–"
                                    f"{int(g.index.max())}); got {y!r}")
    lo, hi = sorted((int(from_year), int(to_year)))
    f = float(np.prod(1 + g.loc[lo + 1:hi].to_numpy() / 100))
    if to_year < from_year:
        f = 1 / f
    a = np.asarray(amount, dtype=float) * f
    return float(a) if a.ndim == 0 else a


def case_at_price_level(case: Case, year: int) -> Case:
    """The case moved to another price level: Service and EI by the pris- og
    lønindeks, EO by the satsreguleringsprocent (lines and driver unit amounts)."""
    if case.price_level is None:
        raise BusinessCaseError("meta.price_level", "is needed to convert a case to another price level",
                                file=case.path)
    fac = {a: convert_price_level(1.0, case.price_level, year, kind=k) for a, k in AREA_INDEX.items()}
    lines = tuple(dataclasses.replace(ln, amounts=tuple(x * fac[ln.area] for x in ln.amounts)) for ln in case.lines)
    detail = tuple(dataclasses.replace(ln, amounts=tuple(x * fac[ln.area] for x in ln.amounts)) for ln in case.detail)
    _moved = lambda ds: tuple(dataclasses.replace(d, components=tuple(  # noqa: E731
        dataclasses.replace(c, per_citizen=None if c.per_citizen is None else c.per_citizen * fac[c.area])
        for c in d.components)) for d in ds)
    drivers, variant_drivers = (_moved(case.drivers), _moved(case.variant_drivers))
    return dataclasses.replace(case, lines=lines, detail=detail, drivers=drivers, variant_drivers=variant_drivers,
                               price_level=year, published={})
