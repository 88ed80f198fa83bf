"""A small synthetic trial register for report tests (built once per session).

Simulated municipal exports (``trial.simulate``) go through intake
(pseudonymised), are randomized into a test-mode register and the outcome
exports for that allocation are uploaded, as the demo does.
"""
from __future__ import annotations

from pathlib import Path


def build_register(tmp: Path, *, n_referrals: int = 160, seed: int = 7, protocol=None):
    """Returns ``(register, key, cprs, exports)``; ``cprs`` are the CPR numbers in the exports."""
    import pandas as pd

    from trial import intake, simulate
    from trial._keys import create_key_file
    from trial.protocol import load
    from trial.register import Register

    proto = protocol or load()
    exports = tmp / "exports"
    paths = simulate.write_exports(proto, n_referrals, exports, seed=seed)
    key = create_key_file(tmp / "reg.sqlite.key", seed=seed)  # a TEST register: reproducible allocation
    refs = intake.read_referrals(paths["referrals"], key=key.pseudonym_key, protocol=proto)
    reg = Register.create(tmp / "reg.sqlite", proto, key=key, mode="test")
    reg.enroll_frame(refs, key=key)
    enr = reg.enrollments()
    raw = pd.read_csv(paths["referrals"], dtype=str, sep=None, engine="python")
    sim_refs = simulate.simulate_referrals(proto, n_referrals, seed=seed)
    pseud = intake.pseudonymise(sim_refs["cpr"].astype(str), key.pseudonym_key)
    arm_of = dict(zip(enr["pseudonym"], enr["treatment"]))
    arms = pd.Series([arm_of.get(p) for p in pseud], index=sim_refs.index)
    out = simulate.write_outcome_exports(proto, sim_refs, arms, exports, seed=seed)
    last = None
    for kind in ("status", "events", "survey"):
        frame = intake.read(kind, out[kind], key=key.pseudonym_key, protocol=proto)
        last = _max_date(proto, sim_refs)
        reg.store_observations(kind, frame, last)
    cprs = sorted(set(raw.iloc[:, 0].astype(str)))
    return reg, key, cprs, exports


def _max_date(proto, refs):
    import pandas as pd

    return (pd.to_datetime(refs["referral_date"]).max() + pd.Timedelta(weeks=157)).date()
