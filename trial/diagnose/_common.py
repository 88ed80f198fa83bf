"""Constants shared by the parts of the design diagnosis: rules, estimators, chunk size, default assumptions."""
from __future__ import annotations

MULTIPLICITY_RULES = ("fixed_sequence", "holm", "bonferroni", "none")
ESTIMATORS = ("difference_in_means", "lin_hc2")
SURVIVAL_ESTIMATORS = ("logrank",)
FAST_FIELDS = ("estimate", "std_error", "df", "statistic", "p_value")
CHUNK = 100     # simulations per chunk: fixes the random streams, independent of n_jobs

#: Assumed standard deviation of a survey item's change from baseline where the protocol's endpoint gives no ``sd``:
#: self-rated health (1-5 scale) 1.0 point, functional ability (0-100) 15 points, job readiness (0-10) 2.5.
DEFAULT_SD = {"self_rated_health": 1.0, "functional_ability": 15.0, "job_readiness": 2.5}
#: Assumed standard deviation of weeks in a status by the horizon (weeks on benefits: 30 of 156 weeks).
DEFAULT_WEEKS_SD = 30.0
#: Assumed negative-binomial dispersion ``k`` of event counts, ``Var(Y) = mu + k mu^2`` (as ``trial.power.power_rates``).
DEFAULT_DISPERSION = 1.0
