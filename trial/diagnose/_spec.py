"""From a protocol to the simulation spec: endpoints, effects, assumptions and distribution parameters."""
from __future__ import annotations

import math

import numpy as np
from scipy import stats

from ..exceptions import ParameterError
from ..power._common import check_n
from ._allocation import _n_referrals
from ._common import DEFAULT_DISPERSION, DEFAULT_SD, DEFAULT_WEEKS_SD


def _root_seed(rng):
    if rng is None:
        return np.random.SeedSequence()
    if isinstance(rng, np.random.Generator):
        return np.random.SeedSequence(int(rng.integers(0, 2 ** 63)))
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool) and rng >= 0:
        return np.random.SeedSequence(int(rng))
    raise ParameterError("rng", f"must be a whole number >= 0 or a numpy Generator; got {rng!r}")


def _kind(e):
    if e.type == "count":
        return "count" if e.rule == "event_rate" else "weeks"
    return e.type


def _endpoint_params(e, kind, effect, assume, notes):
    """Distribution parameters of one endpoint in both arms (plain data), or raise ParameterError."""
    v0 = float(e.control_value)
    v1 = v0 + float(effect)
    prm = {"value0": v0, "value1": v1}
    if kind in ("binary", "time_to_event"):
        if not (0 < v0 < 1 and 0 < v1 < 1):
            raise ParameterError("effects", f"puts {e.id} at {v1:g} (control {v0:g}); shares must lie in (0, 1)")
        if kind == "time_to_event":
            h = float(e.horizon_weeks)
            prm.update(horizon=h, hazard0=-math.log1p(-v0) / h, hazard1=-math.log1p(-v1) / h)
        return prm, {}
    if kind == "continuous":
        sd = assume.get("sd", e.sd if e.sd is not None else DEFAULT_SD.get(e.item))
        if sd is None:
            raise ParameterError("assumptions", f"needs {e.id}.sd (no default for survey item {e.item!r})")
        _check_positive(f"{e.id}.sd", sd)
        prm["sd"] = float(sd)
        return prm, {"sd": float(sd)}
    if kind == "count":
        k = assume.get("dispersion", e.dispersion if e.dispersion is not None else DEFAULT_DISPERSION)
        if isinstance(k, bool) or not isinstance(k, (int, float)) or not math.isfinite(k) or k < 0:
            raise ParameterError(f"{e.id}.dispersion", f"must be a number >= 0; got {k!r}")
        if not (v0 > 0 and v1 > 0):
            raise ParameterError("effects", f"puts {e.id} at a rate of {v1:g} (control {v0:g}); rates must be above 0")
        t = e.horizon_weeks / 52
        prm.update(exposure=t, cdf0=_nbinom_cdf(v0 * t, k), cdf1=_nbinom_cdf(v1 * t, k))
        return prm, {"dispersion": float(k), "exposure_years": t}
    # weeks in a status: beta-binomial on 0..horizon with the assumed SD in the kontrolgruppe
    N = int(e.horizon_weeks)
    sd = assume.get("sd", e.sd if e.sd is not None else DEFAULT_WEEKS_SD)
    _check_positive(f"{e.id}.sd", sd)
    if not (0 < v0 < N and 0 < v1 < N):
        raise ParameterError("effects", f"puts {e.id} at {v1:g} weeks (control {v0:g}); must lie in (0, {N})")
    m = v0 / N
    b = N * m * (1 - m)                                      # binomial variance: the least a count of weeks has
    if not b < sd ** 2 < b * N:
        raise ParameterError(f"{e.id}.sd", f"must lie between {math.sqrt(b):.3g} and {math.sqrt(b * N):.3g} "
                                           f"weeks for a mean of {v0:g} of {N}; got {sd!r}")
    prec = (b * N - sd ** 2) / (sd ** 2 - b)                  # a + b of the beta
    x = np.arange(N + 1)
    cdf = [np.cumsum(stats.betabinom.pmf(x, N, v / N * prec, (1 - v / N) * prec)) for v in (v0, v1)]
    prm.update(cdf0=cdf[0], cdf1=cdf[1])
    return prm, {"sd": float(sd), "beta_precision": float(prec)}


def _check_positive(name, v):
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v <= 0:
        raise ParameterError(name, f"must be a number above 0; got {v!r}")


def _nbinom_cdf(mu, k):
    """Distribution function of a negative binomial (mean ``mu``, ``Var = mu + k mu^2``; Poisson at k = 0)."""
    dist = stats.poisson(mu) if k == 0 else stats.nbinom(1 / k, 1 / (1 + k * mu))
    top = int(dist.ppf(1 - 1e-13)) + 1
    return np.cumsum(dist.pmf(np.arange(top + 1)))


def spec_from_protocol(protocol, *, effects="goal", n_control=None, n_treatment=None, confidence_level=0.95,
                       prognostic=0.3, shared=0.1, endpoints="all", assumptions=None) -> dict:
    """The simulation spec (plain, picklable data) of a protocol's endpoints.

    Validates the arguments of :func:`diagnose` that shape the simulated trial.
    ``endpoints``: ``"all"`` (the confirmatory family in testing order, then
    the others in protocol order), ``"confirmatory"``, or a list of ids.
    """
    notes = []
    conf = list(protocol.primary_endpoints)
    if endpoints == "all":
        eps = conf + [e for e in protocol.endpoints if e not in conf]
    elif endpoints == "confirmatory":
        eps = conf
    elif isinstance(endpoints, (list, tuple)) and endpoints and all(isinstance(x, str) for x in endpoints):
        ids = [e.id for e in protocol.endpoints]
        unknown = [x for x in endpoints if x not in ids]
        if unknown:
            raise ParameterError("endpoints", f"names endpoints not in the protocol: {unknown}; endpoints are {ids}")
        eps = [e for e in conf if e.id in endpoints] + [protocol.endpoint(x) for x in endpoints
                                                        if not protocol.endpoint(x).confirmatory]
    else:
        raise ParameterError("endpoints", f"must be 'all', 'confirmatory' or a list of endpoint ids; got {endpoints!r}")
    if not eps:
        raise ParameterError("protocol", "has no endpoint to simulate")
    for name, v in (("prognostic", prognostic), ("shared", shared)):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v < 1:
            raise ParameterError(name, f"must be a number in [0, 1); got {v!r}")
    if prognostic + shared >= 1:
        raise ParameterError("prognostic/shared", f"must add up to less than 1; got {prognostic} + {shared}")
    if not (isinstance(confidence_level, float) and 0 < confidence_level < 1):
        raise ParameterError("confidence_level", f"must be a number in (0, 1); got {confidence_level!r}")
    n1 = n_treatment if n_treatment is not None else protocol.capacity
    n0 = n_control if n_control is not None else protocol.control_size
    if n1 is None or n0 is None:
        raise ParameterError("n_treatment", "is needed: the protocol sets no capacity")
    n1 = check_n("n_treatment", n1)
    n0 = check_n("n_control", n0)
    if min(n1, n0) < 10:
        notes.append(f"an arm of {min(n1, n0)} citizens leaves Lin's adjustment (4 covariates, 5 coefficients per "
                     f"arm) almost no residual degrees of freedom: its lin_hc2 power and coverage are not meaningful")
    ratio = protocol.allocation.ratio
    scheme = protocol.allocation.scheme
    when_full = protocol.allocation.when_full
    block_sizes = protocol.allocation.block_sizes
    if n0 != int(round(n1 * ratio)) and scheme in ("permuted_blocks", "minimisation", "simple"):
        scheme = "complete"
        notes.append(f"control size {n0} differs from the protocol's 1:{ratio:g}: complete randomization of "
                     f"{n1} treated among {n1 + n0} simulated instead of the protocol's scheme")
    if scheme == "minimisation":
        notes.append("minimisation is approximated by stratified permuted blocks (same strata, same 1:k share); "
                     "its tighter marginal balance is not simulated")
    if scheme == "complete" and n0 != int(round(n1 * ratio)):
        ratio = n0 / n1
    # effects
    if isinstance(effects, str):
        if effects not in ("goal", "null"):
            raise ParameterError("effects", f"must be 'goal', 'null' or a mapping endpoint -> effect; got {effects!r}")
        eff = {e.id: (e.goal if effects == "goal" else 0.0) for e in eps}
    else:
        unknown = set(effects) - {e.id for e in eps}
        if unknown:
            raise ParameterError("effects", f"names no simulated endpoint: {sorted(unknown)}; "
                                            f"endpoints are {[e.id for e in eps]}")
        for k, v in effects.items():
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                raise ParameterError("effects", f"must map {k} to a number; got {v!r}")
        eff = {e.id: float(effects.get(e.id, e.goal)) for e in eps}
    assumptions = dict(assumptions or {})
    unknown = set(assumptions) - {e.id for e in protocol.endpoints}
    if unknown:
        raise ParameterError("assumptions", f"names endpoints not in the protocol: {sorted(unknown)}; "
                                            f"endpoints are {[e.id for e in protocol.endpoints]}")
    kinds, params, used, lhr = [], [], {}, []
    for e in eps:
        kind = _kind(e)
        a = dict(assumptions.get(e.id, {}))
        allowed = {"continuous": {"sd"}, "weeks": {"sd"}, "count": {"dispersion"}}.get(kind, set())
        if set(a) - allowed:
            raise ParameterError("assumptions", f"{e.id} ({kind}) takes {sorted(allowed) or 'no assumption'}; "
                                                f"got {sorted(a)}")
        prm, u = _endpoint_params(e, kind, eff[e.id], a, notes)
        kinds.append(kind)
        params.append(prm)
        if u:
            name = "dispersion" if kind == "count" else "sd"
            used[e.id] = {**u, "source": "given" if name in a else
                          "protocol" if getattr(e, name, None) is not None else "default"}
        lhr.append(math.log(prm["hazard1"] / prm["hazard0"]) if kind == "time_to_event" else float("nan"))
    for source, text in (("protocol", "assumed in the protocol (pre-registered)"),
                         ("default", "assumed (not in the protocol; default)"), ("given", "assumed (given)")):
        ids = [k for k, v in used.items() if v["source"] == source]
        if ids:
            notes.append(f"{text}: " + ", ".join(
                f"{k} " + ", ".join(f"{n}={v:g}" for n, v in used[k].items() if n in ("sd", "dispersion"))
                for k in ids))
    n_ref = _n_referrals(n1, ratio, scheme, when_full, 6, block_sizes)
    return {"n": n_ref if scheme != "complete" else n1 + n0, "n_treatment": n1, "n_control": n0, "ratio": ratio,
            "scheme": scheme, "when_full": when_full, "block_sizes": list(block_sizes),
            "endpoints": [e.id for e in eps], "kind": kinds, "confirmatory": [e.confirmatory for e in eps],
            "control_value": [float(e.control_value) for e in eps], "effect": [eff[e.id] for e in eps],
            "log_hazard_ratio": lhr, "params": params, "assumptions": used,
            "prognostic": float(prognostic), "shared": float(shared), "alternative": protocol.analysis.alternative,
            "confidence_level": confidence_level, "notes": notes}


def _restrict(spec, keep):
    """The spec of a subset of its endpoints (indices ``keep``)."""
    out = dict(spec)
    for k in ("endpoints", "kind", "confirmatory", "control_value", "effect", "log_hazard_ratio", "params"):
        out[k] = [spec[k][j] for j in keep]
    return out


def _null_spec(spec):
    """The same trial with every effect 0 (both arms drawn from the control distribution)."""
    params = []
    for kind, prm in zip(spec["kind"], spec["params"]):
        q = dict(prm, value1=prm["value0"])
        if "cdf0" in q:
            q["cdf1"] = q["cdf0"]
        if "hazard0" in q:
            q["hazard1"] = q["hazard0"]
        params.append(q)
    return {**spec, "effect": [0.0] * len(spec["effect"]), "params": params,
            "log_hazard_ratio": [0.0 if k == "time_to_event" else float("nan") for k in spec["kind"]]}
