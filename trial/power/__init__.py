"""Analytic and exact power, minimum detectable effects and control-group sizes.

Everything a researcher and the steering group need before the trial: can
100 treated citizens show the BI25 goals, what does a larger kontrolgruppe
buy, and at which effect does the investment pay back. Arguments are named by
role (``p_control``, ``p_treatment``, ``n_control``, ``n_treatment``); leave
exactly one of power, effect and control size out to have it solved for.
"""
from __future__ import annotations

from ._binary import (ANALYTIC_METHODS, BINARY_METHODS, EXACT_METHODS, boschloo_pvalues, compare_methods,
                      exact_coverage, exact_power, exact_size, fisher_pvalues, hc2_pvalues, power_two_proportions,
                      rejection_region)
from ._design import (DEFAULT_INVESTMENT, DEFAULT_UNIT_SAVING, break_even_effect, power_by_control_size,
                      power_curve, protocol_power)
from ._other import TTE_METHODS, events_needed, power_rates, power_time_to_event, power_two_means
from ._plots import plot_power_by_control_size, plot_power_curve
from ._results import (BreakEvenResult, CapacityResult, MethodComparison, PowerCurve, PowerResult,
                       ProtocolPower)

__all__ = [
    "ANALYTIC_METHODS", "BINARY_METHODS", "EXACT_METHODS", "TTE_METHODS",
    "power_two_proportions", "compare_methods", "rejection_region", "exact_power",
    "fisher_pvalues", "boschloo_pvalues", "hc2_pvalues", "exact_size", "exact_coverage",
    "power_two_means", "power_rates", "power_time_to_event", "events_needed",
    "power_by_control_size", "break_even_effect", "power_curve", "protocol_power",
    "DEFAULT_UNIT_SAVING", "DEFAULT_INVESTMENT",
    "plot_power_by_control_size", "plot_power_curve",
    "PowerResult", "MethodComparison", "CapacityResult", "BreakEvenResult", "ProtocolPower", "PowerCurve",
]
