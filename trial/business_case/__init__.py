"""Business case: lines, budget areas, committees, price levels, payback; effect-fed with uncertainty.

Danish municipalities count a case in 1.000 kr. at a fixed price level, per
budget area (styringsområde: Service, EI, EO), per administration and
committee, with investments per year and two payback times. This package

* computes a case file (the format of ``shared/reference/bi25.toml``):
  :func:`load_case`, :func:`compute_case` -> :class:`CaseResult` with the
  published-layout tables, payback and NPV, and consistency warnings;
* feeds a case from the trial's estimated effects with their sampling
  uncertainty: :func:`effect_fed_case` -> :class:`EffectFedCase`
  (distribution of the net result, P(payback within N years), break-even
  effects, sensitivity);
* converts price levels (:func:`convert_price_level`), applies the 2016
  refusion staircase (:func:`refusion_shares`) and counts helårspersoner
  (:func:`helaarspersoner`);
* draws the figures: :func:`plot_cumulative_net`, :func:`plot_waterfall`,
  :func:`plot_tornado`.
"""
from __future__ import annotations

from ._case import (AREAS, DATA_DIR, DEFAULT_COMMITTEES, PAYERS, Case, Component, Driver, Line,
                    default_discount_rate, extend_years, load_case, loads_case, npv, payback_years,
                    round_half_away, whole_years)
from ._effect import (EffectFedCase, Sensitivity, TableView, default_case_path, default_seed, effect_fed,
                      effect_fed_case,
                      effects_from_analysis, payback_quantiles, withhold_effects)
from ._panel import (add_benefit_years, benefit_year_shares, benefit_years, benefit_years_effect,
                     benefit_years_from_register)
from ._plots import plot_cumulative_net, plot_tornado, plot_waterfall
from ._prices import convert_price_level, price_index
from ._refusion import (REFUSION_STEPS, helaarspersoner, helaarspersoner_value, municipal_net_cost,
                        refusion_shares)
from ._result import TABLES, CaseResult, compute_case

__all__ = [
    "AREAS", "PAYERS", "DATA_DIR", "DEFAULT_COMMITTEES", "TABLES", "REFUSION_STEPS",
    "Case", "Component", "Driver", "Line", "CaseResult", "EffectFedCase", "Sensitivity",
    "load_case", "loads_case", "compute_case", "effect_fed_case", "effect_fed", "TableView", "effects_from_analysis", "default_case_path",
    "default_seed", "withhold_effects", "benefit_years", "benefit_years_from_register",
    "benefit_years_effect", "benefit_year_shares", "add_benefit_years",
    "payback_years", "payback_quantiles", "whole_years", "npv", "extend_years", "default_discount_rate", "round_half_away",
    "convert_price_level", "price_index",
    "refusion_shares", "municipal_net_cost", "helaarspersoner", "helaarspersoner_value",
    "plot_cumulative_net", "plot_waterfall", "plot_tornado",
]
