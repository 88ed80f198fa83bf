"""trial: run and evaluate a randomized trial in Danish employment policy.

One module per stage of a trial's life: :mod:`trial.protocol`,
:mod:`trial.intake`, :mod:`trial.register`, :mod:`trial.randomize`,
:mod:`trial.power`, :mod:`trial.simulate`, :mod:`trial.outcomes`,
:mod:`trial.estimate`, :mod:`trial.business_case`, :mod:`trial.report`.
Submodules are imported on use, so ``import trial`` stays fast.
"""
from __future__ import annotations

__version__ = "0.1.0"
__all__ = ["__version__"]
