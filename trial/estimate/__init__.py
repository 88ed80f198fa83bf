"""Estimators of the intention-to-treat effect, inference, multiplicity and figures.

Every estimator takes a tidy frame (one row per citizen; a weekly panel for
:func:`panel_effects`) with keyword column names and returns a frozen result
(:mod:`trial.estimate.results`) with the base columns ``estimate, std_error,
statistic, df, p_value, ci_low, ci_high, n_treatment, n_control, method`` and
a ``note`` when something could not be computed. :func:`estimate` dispatches
by the names the CLI uses (``ESTIMATORS``). Each estimator is checked against
R (``tests/reference/estimate.R``) or exact enumeration; see ``docs/estimate.md``.
"""
from __future__ import annotations

import dataclasses
from typing import Sequence

import pandas as pd

from ..exceptions import ParameterError
from ._binary import boschloo_exact, fisher_exact, odds_ratio, risk_difference, risk_ratio
from ._bounds import lee_bounds, subgroup_interaction
from ._counts import negbin_rate_ratio, poisson_robust, ratio_of_means
from ._iv import complier_average_effect
from ._means import difference_in_means
from ._ols import ancova, lin_adjusted, ols_robust
from ._panel import panel_effects
from ._ri import randomization_inference, randomization_inference_many
from ._survival import cox, kaplan_meier, logrank
from .multiplicity import MultiplicityResult, adjust, label_roles
from .plots import plot_forest, plot_kaplan_meier, plot_weekly_shares
from .results import (BinaryResult, CountResult, DifferenceInMeansResult, EstimateResult, IVResult,
                      KaplanMeierResult, LeeBoundsResult, OLSResult, PanelResult, RandomizationResult,
                      SubgroupResult, SurvivalResult)

__all__ = [
    "ESTIMATORS", "USES_BLOCKS", "BLOCKS_IGNORED_NOTE", "estimate",
    "difference_in_means", "ols_robust", "ancova", "lin_adjusted",
    "risk_difference", "risk_ratio", "odds_ratio", "fisher_exact", "boschloo_exact",
    "randomization_inference", "randomization_inference_many",
    "negbin_rate_ratio", "poisson_robust", "ratio_of_means",
    "kaplan_meier", "logrank", "cox",
    "panel_effects", "complier_average_effect", "lee_bounds", "subgroup_interaction",
    "adjust", "label_roles", "MultiplicityResult",
    "plot_forest", "plot_weekly_shares", "plot_kaplan_meier",
    "EstimateResult", "DifferenceInMeansResult", "OLSResult", "BinaryResult", "RandomizationResult",
    "CountResult", "SurvivalResult", "KaplanMeierResult", "PanelResult", "IVResult", "LeeBoundsResult",
    "SubgroupResult",
]

#: Estimators of :data:`ESTIMATORS` that use ``blocks`` (the others say in their note that they ignore it).
USES_BLOCKS = ("difference_in_means", "randomization_inference")

#: The note of an estimator given ``blocks`` it does not use.
BLOCKS_IGNORED_NOTE = ("blocks are used only by difference_in_means (blocked) and randomization_inference; "
                       "ignored here")

#: Estimator names understood by :func:`estimate` and ``trial estimate --estimator``.
ESTIMATORS = (
    "difference_in_means", "ols_hc0", "ols_hc1", "ols_hc2", "ols_hc3", "ancova_hc2", "lin_hc2",
    "risk_difference", "risk_ratio", "fisher", "boschloo", "randomization_inference",
    "negbin", "poisson_robust", "cox", "logrank", "kaplan_meier",
)


def estimate(data: pd.DataFrame, estimator: str, *, outcome: str, treatment: str, blocks: str | None = None,
             covariates: Sequence[str] = (), time: str | None = None, event: str | None = None,
             exposure: str | None = None, confidence_level: float = 0.95, alternative: str = "two-sided",
             n_resamples: int = 10_000, rng=None) -> EstimateResult:
    """Run one estimator by its CLI name (see ``ESTIMATORS``).

    ``blocks`` makes ``difference_in_means`` the blocked estimator and
    ``randomization_inference`` re-randomize within blocks; every other
    estimator ignores it and says so in its ``note``
    (:data:`BLOCKS_IGNORED_NOTE`; to adjust for blocks there, give the block
    column as a covariate); ``covariates`` are
    used by the OLS family (``ancova_hc2`` and ``lin_hc2`` need them);
    ``time``/``event`` by ``cox``, ``logrank`` and ``kaplan_meier`` (``time``
    defaults to ``outcome``); ``exposure`` by ``negbin`` and ``poisson_robust``.

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({"z": [1, 1, 1, 0, 0, 0], "y": [3.0, 5.0, 4.0, 1.0, 2.0, 3.0]})
    >>> estimate(d, "difference_in_means", outcome="y", treatment="z").estimate
    2.0
    """
    if estimator not in ESTIMATORS:
        raise ParameterError("estimator", f"must be one of {', '.join(ESTIMATORS)}; got {estimator!r}")
    if isinstance(covariates, str):
        covariates = [c.strip() for c in covariates.split(",") if c.strip()]
    res = _dispatch(data, estimator, outcome=outcome, treatment=treatment, blocks=blocks, covariates=covariates,
                    time=time, event=event, exposure=exposure, confidence_level=confidence_level,
                    alternative=alternative, n_resamples=n_resamples, rng=rng)
    if blocks is not None and estimator not in USES_BLOCKS:
        res = dataclasses.replace(res, note="; ".join(n for n in (res.note, BLOCKS_IGNORED_NOTE) if n))
    return res


def _dispatch(data, estimator, *, outcome, treatment, blocks, covariates, time, event, exposure,
              confidence_level, alternative, n_resamples, rng) -> EstimateResult:
    kw = dict(outcome=outcome, treatment=treatment, confidence_level=confidence_level, alternative=alternative)
    if estimator == "difference_in_means":
        return difference_in_means(data, blocks=blocks, **kw)
    if estimator.startswith("ols_"):
        return ols_robust(data, covariates=covariates, se_type=estimator[4:].upper(), _estimator=estimator, **kw)
    if estimator == "ancova_hc2":
        return ancova(data, covariates=covariates, **kw)
    if estimator == "lin_hc2":
        return lin_adjusted(data, covariates=covariates, **kw)
    simple = {"risk_difference": risk_difference, "risk_ratio": risk_ratio, "fisher": fisher_exact,
              "boschloo": boschloo_exact}
    if estimator in simple:
        return simple[estimator](data, **kw)
    if estimator == "randomization_inference":
        return randomization_inference(data, scheme="blocked" if blocks else "complete", blocks=blocks,
                                       n_resamples=n_resamples, rng=rng, **kw)
    if estimator == "negbin":
        return negbin_rate_ratio(data, exposure=exposure, **kw)
    if estimator == "poisson_robust":
        return poisson_robust(data, exposure=exposure, **kw)
    surv = {"cox": cox, "logrank": logrank, "kaplan_meier": kaplan_meier}[estimator]
    return surv(data, time=time or outcome, event=event, treatment=treatment, confidence_level=confidence_level,
                alternative=alternative)
