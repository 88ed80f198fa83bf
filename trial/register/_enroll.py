"""Enrollment: screening, allocation and enrollment of referrals; withdrawals and exclusions."""
from __future__ import annotations

import numpy as np
import pandas as pd

from .._keys import KeyFile
from ..exceptions import RegisterError
from ..protocol import Protocol
from ..randomize import Allocator, _State, assign_strata
from ._audit import _Tx, _insert, _now
from ._results import EnrollResult
from ._schema import REFERRAL_COLUMNS
from ._values import _clean, _int_or_none, _iso_date, _mask_text


class _Enrollment:
    """Enrollment methods of :class:`trial.register.Register` (a mixin; ``self`` is the register)."""

    # enrollment --------------------------------------------------------------
    def enroll_frame(self, frame: pd.DataFrame, *, key: KeyFile) -> EnrollResult:
        """Screen and enroll referrals (a frame after intake) in arrival order.

        Each referral is its own transaction: screened (eligibility per the
        protocol), and if eligible allocated and enrolled, with one audit
        entry. Referrals already seen (same pseudonym and referral date) are
        not screened again, so running the same file twice enrolls nobody
        twice. Rows are taken in ``referral_date`` order (stable: file order
        within a day).

        Parameters
        ----------
        frame : pandas.DataFrame
            Columns ``pseudonym, referral_date, age, sex, municipality_code,
            referral_type, prior_forloeb, months_on_benefit, psych_contact_12m``
            (``source_row`` optional), as from :func:`trial.intake.read_referrals`.
        key : KeyFile
            Holds the allocation secret.
        """
        if "cpr" in {str(c).lower() for c in frame.columns}:
            raise RegisterError("the referrals frame has a 'cpr' column: pass it through trial.intake first; "
                                "the register accepts pseudonyms only")
        missing = [c for c in REFERRAL_COLUMNS if c not in frame.columns]
        if missing:
            raise RegisterError(f"the referrals frame lacks column(s) {missing}; it needs {list(REFERRAL_COLUMNS)}")
        alloc = self._allocator_for(key)
        proto = self.protocol
        df = frame.copy()
        df["referral_date"] = pd.to_datetime(df["referral_date"], errors="coerce")
        bad = df["referral_date"].isna()
        if bad.any():
            raise RegisterError(f"referrals frame row {int(np.flatnonzero(bad)[0])}: referral_date is missing or "
                                f"not a date")
        df["_order"] = np.arange(len(df))
        df = df.sort_values(["referral_date", "_order"], kind="stable")
        strata = assign_strata(proto, df)
        enrolled, screened = [], []
        for rec, stratum in zip(df.to_dict(orient="records"), strata):
            ref = _referral_record(rec)
            out = self._enroll_one(ref, stratum if isinstance(stratum, str) else None, alloc, proto)
            (enrolled if out.get("arm") else screened).append(out)
        e = pd.DataFrame(enrolled, columns=["seq", "pseudonym", "referral_date", "stratum", "arm", "treatment", "new"])
        s = pd.DataFrame(screened, columns=["pseudonym", "referral_date", "reason_code", "reason", "new"])
        return EnrollResult(mode=self.mode, enrolled=e, screened=s)

    def _enroll_one(self, ref: dict, stratum, alloc: Allocator, proto: Protocol) -> dict:
        db = self._db
        with db.write():
            db.lock_head()
            row = db.rows("SELECT * FROM referrals WHERE pseudonym = ? AND referral_date = ?",
                          (ref["pseudonym"], ref["referral_date"]))
            if row:  # seen before: report what happened then
                r = row[0]
                e = db.rows("SELECT seq, stratum, arm, treatment FROM enrollments WHERE referral_id = ?", (r["id"],))
                if e:
                    return {**e[0], "pseudonym": ref["pseudonym"], "referral_date": ref["referral_date"], "new": False}
                return {"pseudonym": ref["pseudonym"], "referral_date": ref["referral_date"],
                        "reason_code": r["reason_code"], "reason": r["reason"], "new": False}
            code, reason = _eligibility(proto, ref, stratum)
            if code is None and db.one("SELECT seq FROM enrollments WHERE pseudonym = ?", (ref["pseudonym"],)):
                code, reason = "already_enrolled", "already enrolled (intention-to-treat: once randomized, always in)"
            assignment = None
            if code is None:
                state = _state_from(db, alloc)
                assignment = alloc.assign(state, stratum)
                if assignment.treatment is None:
                    code, reason = "trial_full", assignment.note
            tx = _Tx(db)
            rid = (db.one("SELECT COALESCE(MAX(id), 0) FROM referrals")[0] or 0) + 1
            audit_id = tx.next_id
            now = _now()
            reason = _mask_text(reason or "")
            referral = {"id": rid, **ref, "seen_at": now, "eligible": int(code is None),
                        "reason_code": code or "", "reason": reason, "stratum": stratum,
                        "audit_id": audit_id}
            _insert(db, "referrals", referral)
            payload = {"referral": referral}
            out: dict
            if code is None:
                seq = state.n + 1
                z = int(assignment.treatment)
                arm = proto.treatment_arm.id if z else proto.control_arm.id
                enrollment = {
                    "seq": seq, "pseudonym": ref["pseudonym"], "referral_id": rid,
                    "referral_date": ref["referral_date"], "enrolled_at": now, "stratum": stratum,
                    "stratum_index": state.per_stratum.get(stratum, 0), "arm": arm, "treatment": z,
                    "forced": int(assignment.forced), "slot": int(assignment.slot), "age": ref["age"], "sex": ref["sex"],
                    "prior_forloeb": ref["prior_forloeb"], "months_on_benefit": ref["months_on_benefit"],
                    "psych_contact_12m": ref["psych_contact_12m"], "age_band": stratum.split("|")[_age_band_pos(proto)]
                    if _age_band_pos(proto) is not None else None, "audit_id": audit_id,
                }
                _insert(db, "enrollments", enrollment)
                payload["enrollment"] = enrollment
                tx.audit("enroll", payload, at=now)
                out = {"seq": seq, "pseudonym": ref["pseudonym"], "referral_date": ref["referral_date"],
                       "stratum": stratum, "arm": arm, "treatment": z, "new": True}
            else:
                tx.audit("screen", payload, at=now)
                out = {"pseudonym": ref["pseudonym"], "referral_date": ref["referral_date"], "reason_code": code,
                       "reason": reason, "new": True}
            tx.finish()
            return out

    # withdrawals and exclusions ------------------------------------------------
    def withdraw(self, pseudonym: str, reason: str, date) -> None:
        """Record that an enrolled citizen withdrew (the row stays: intention-to-treat)."""
        self._status_event(pseudonym, "withdrawn", reason, date)

    def exclude(self, pseudonym: str, reason: str, date) -> None:
        """Record a post-randomization exclusion (kept in the register and in ITT analyses)."""
        self._status_event(pseudonym, "excluded", reason, date)

    def _status_event(self, pseudonym: str, kind: str, reason: str, date) -> None:
        if not isinstance(reason, str) or not reason.strip():
            raise RegisterError(f"`reason` must be a non-empty text; got {reason!r}")
        d = _iso_date(date, "date")
        db = self._db
        with db.write():
            db.lock_head()
            if not db.one("SELECT seq FROM enrollments WHERE pseudonym = ?", (pseudonym,)):
                raise RegisterError(f"pseudonym {pseudonym!r} is not enrolled in register {self.target}")
            tx = _Tx(db)
            eid = (db.one("SELECT COALESCE(MAX(id), 0) FROM status_events")[0] or 0) + 1
            now = _now()
            row = {"id": eid, "pseudonym": pseudonym, "kind": kind, "reason": _mask_text(reason), "date": d,
                   "recorded_at": now, "audit_id": tx.next_id}
            _insert(db, "status_events", row)
            tx.audit(kind, {"status_event": row}, at=now).finish()


def _state_from(db, alloc: Allocator) -> _State:
    st = alloc.new_state()
    for stratum, slot, n in db.q("SELECT stratum, slot, COUNT(*) FROM enrollments GROUP BY stratum, slot"):
        st.add(stratum, alloc.info.levels(stratum), int(slot), int(n))
    return st


def _age_band_pos(proto: Protocol):
    for i, s in enumerate(proto.strata):
        if s.factor == "age_band":
            return i
    return None


def _referral_record(rec: dict) -> dict:
    mob = _clean(rec.get("months_on_benefit"))
    return {
        "pseudonym": str(rec["pseudonym"]),
        "referral_date": pd.Timestamp(rec["referral_date"]).date().isoformat(),
        "age": _int_or_none(rec.get("age")),
        "sex": None if _clean(rec.get("sex")) is None else str(rec["sex"]),
        "municipality_code": _int_or_none(rec.get("municipality_code")),
        "referral_type": None if _clean(rec.get("referral_type")) is None else _mask_text(rec["referral_type"]),
        "prior_forloeb": _int_or_none(rec.get("prior_forloeb")),
        "months_on_benefit": None if mob is None else float(mob),
        "psych_contact_12m": _int_or_none(rec.get("psych_contact_12m")),
        "source_row": _int_or_none(rec.get("source_row")),
    }


def _eligibility(proto: Protocol, ref: dict, stratum) -> tuple[str | None, str | None]:
    """(reason_code, reason) of the first eligibility rule a referral fails, or (None, None)."""
    el = proto.eligibility
    age = ref["age"]
    if age is None:
        return "missing_age", "age is missing"
    if not el.min_age <= age <= el.max_age:
        return "age", f"age {age} outside {el.min_age}-{el.max_age}"
    if ref["municipality_code"] not in el.municipality_codes:
        return "municipality", (f"municipality code {ref['municipality_code']} not among "
                                f"{list(el.municipality_codes)}")
    if ref["referral_type"] not in el.referral_types:
        return "referral_type", f"referral type {ref['referral_type']!r} not among {list(el.referral_types)}"
    for c in ("sex", "prior_forloeb", "months_on_benefit", "psych_contact_12m"):
        if ref[c] is None:
            return "missing_covariate", f"baseline covariate {c} is missing"
    if stratum is None:
        return "stratum", "stratification factors outside the protocol's strata"
    return None, None
