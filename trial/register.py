"""The trial register: enrollments, allocations and an append-only audit chain.

A register is a SQLite file (default) or a PostgreSQL database (URL), created
by :meth:`Register.create` (``trial init``) in *test* or *production* mode. It
holds the protocol text and fingerprint, the sequence commitment, the
screening log (every referral seen, eligible or not, with the reason), the
enrollments with their allocations and baseline covariates, withdrawals and
exclusions (recorded, never deleted: intention-to-treat keeps everyone),
uploads of outcome data, and an audit log in which each entry carries the
SHA-256 of the one before.

The audit log is the source of truth: every row of every other table is a
copy of an audit entry's payload, written in the same transaction. So
:meth:`Register.verify` can check the chain, compare every table with the
log, recompute every allocation from the protocol and the allocation secret,
and name each row where anything differs.

The allocation secret (key file, see :mod:`trial._keys`) is never stored:
the register holds only its SHA-256 inside the commitment, so nobody reading
the register can foresee an allocation.
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import json
import uuid
from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import _db
from ._keys import KeyFile, check_purpose, record_mode
from .exceptions import RegisterError
from .protocol import Protocol, loads as _load_protocol
from .randomize import Allocator, SchemeInfo, _State, assign_strata, commitment as _commitment, secret_digest
from ._results import Displayable

__all__ = ["Register", "EnrollResult", "VerifyResult", "VerifyProblem", "SCHEMA_VERSION", "MODES",
           "OBSERVATION_KINDS"]

SCHEMA_VERSION = 3
MODES = ("test", "production")
OBSERVATION_KINDS = ("status", "events", "survey")
GENESIS = "0" * 64
REFERRAL_COLUMNS = ("pseudonym", "referral_date", "age", "sex", "municipality_code", "referral_type",
                    "prior_forloeb", "months_on_benefit", "psych_contact_12m")

# Schema migrations: version -> DDL statements (types valid in SQLite and PostgreSQL).
MIGRATIONS: dict[int, list[str]] = {
    1: [
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
        "CREATE TABLE protocol (id BIGINT PRIMARY KEY, fingerprint TEXT NOT NULL, text_sha256 TEXT NOT NULL, "
        "text TEXT NOT NULL)",
        "CREATE TABLE audit (id BIGINT PRIMARY KEY, at TEXT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL, "
        "payload TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL)",
        "CREATE TABLE referrals (id BIGINT PRIMARY KEY, pseudonym TEXT NOT NULL, referral_date TEXT NOT NULL, "
        "seen_at TEXT NOT NULL, age BIGINT, sex TEXT, municipality_code BIGINT, referral_type TEXT, "
        "prior_forloeb BIGINT, months_on_benefit DOUBLE PRECISION, psych_contact_12m BIGINT, source_row BIGINT, "
        "eligible BIGINT NOT NULL, reason_code TEXT NOT NULL, reason TEXT NOT NULL, stratum TEXT, "
        "audit_id BIGINT NOT NULL, UNIQUE (pseudonym, referral_date))",
        "CREATE TABLE enrollments (seq BIGINT PRIMARY KEY, pseudonym TEXT NOT NULL UNIQUE, "
        "referral_id BIGINT NOT NULL, referral_date TEXT NOT NULL, enrolled_at TEXT NOT NULL, "
        "stratum TEXT NOT NULL, stratum_index BIGINT NOT NULL, arm TEXT NOT NULL, treatment BIGINT NOT NULL, "
        "forced BIGINT NOT NULL, slot BIGINT NOT NULL, age BIGINT, sex TEXT, prior_forloeb BIGINT, months_on_benefit DOUBLE PRECISION, "
        "psych_contact_12m BIGINT, age_band TEXT, audit_id BIGINT NOT NULL)",
        "CREATE TABLE status_events (id BIGINT PRIMARY KEY, pseudonym TEXT NOT NULL, kind TEXT NOT NULL, "
        "reason TEXT NOT NULL, date TEXT NOT NULL, recorded_at TEXT NOT NULL, audit_id BIGINT NOT NULL)",
    ],
    2: [
        "CREATE TABLE uploads (id BIGINT PRIMARY KEY, kind TEXT NOT NULL, data_date TEXT NOT NULL, "
        "uploaded_at TEXT NOT NULL, n_rows BIGINT NOT NULL, sha256 TEXT NOT NULL, payload TEXT NOT NULL, "
        "audit_id BIGINT NOT NULL)",
    ],
    # quarterly report snapshots: the exact (unsuppressed) aggregates behind each report, kept in the register
    # rather than in the report folder; the next quarter's "what changed" reads them (trial.report)
    # (json_z: the JSON text zlib-compressed and base64-encoded; sha256: of the JSON text)
    3: [
        "CREATE TABLE report_snapshots (id BIGINT PRIMARY KEY, quarter TEXT NOT NULL, created TEXT NOT NULL, "
        "sha256 TEXT NOT NULL, json_z TEXT NOT NULL, audit_id BIGINT NOT NULL)",
    ],
}

# table -> (primary key, key of the row in its audit payload, columns left out of the payload)
_MIRRORED = {
    "referrals": ("id", "referral", ()),
    "enrollments": ("seq", "enrollment", ()),
    "status_events": ("id", "status_event", ()),
    "uploads": ("id", "upload", ("payload",)),
    "report_snapshots": ("id", "report_snapshot", ()),
}
_META_FROM_INIT = ("register_id", "mode", "created_at", "trial_id", "fingerprint", "text_sha256", "commitment",
                   "secret_sha256", "scheme")


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="microseconds")


def _canon(obj) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def _entry_hash(id_: int, at: str, actor: str, action: str, payload: str, prev: str) -> str:
    return hashlib.sha256(_canon([id_, at, actor, action, payload, prev]).encode("utf-8")).hexdigest()


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _actor() -> str:
    import getpass
    import os

    try:
        user = getpass.getuser()
    except Exception:  # pragma: no cover
        user = "unknown"
    return f"{user}@pid{os.getpid()}"


# --------------------------------------------------------------------------- results
@dataclass(frozen=True)
class VerifyProblem:
    """One defect found by :meth:`Register.verify` (``row`` names the row)."""

    table: str
    row: str
    message: str

    def __str__(self) -> str:
        return f"{self.table} {self.row}: {self.message}"

    def to_dict(self) -> dict:
        return {"table": self.table, "row": self.row, "message": self.message}


@dataclass(frozen=True)
class VerifyResult(Displayable):
    """Outcome of :meth:`Register.verify`: ``ok`` only when every check passed.

    ``head_hash`` is the hash of the last audit entry and ``n_audit`` the
    number of entries: published or recorded outside the register, they are
    the anchor against a rollback of its tail (see ``docs/register.md``).
    """

    register: str
    mode: str
    commitment: str
    problems: tuple[VerifyProblem, ...]
    checks: tuple[str, ...]
    allocations_recomputed: bool
    n_enrollments: int
    n_audit: int
    note: str = ""
    head_hash: str = ""

    @property
    def ok(self) -> bool:
        return not self.problems and self.allocations_recomputed

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([p.to_dict() for p in self.problems], columns=["table", "row", "message"])

    def to_dict(self) -> dict:
        return {"ok": self.ok, "register": self.register, "mode": self.mode, "commitment": self.commitment,
                "n_enrollments": self.n_enrollments, "n_audit_entries": self.n_audit, "n_audit": self.n_audit,
                "head_hash": self.head_hash,
                "allocations_recomputed": self.allocations_recomputed, "checks": list(self.checks),
                "problems": [p.to_dict() for p in self.problems], "note": self.note}

    def summary(self) -> str:
        head = f"Register {self.register} [{self.mode.upper()}]: " + ("OK" if self.ok else "FAILED")
        lines = [head, f"  commitment {self.commitment}",
                 f"  {self.n_enrollments} enrollments, {self.n_audit} audit entries",
                 f"  head hash {self.head_hash} (entry {self.n_audit}; record it outside the register)"]
        lines += [f"  checked: {c}" for c in self.checks]
        if self.note:
            lines.append(f"  note: {self.note}")
        if self.problems:
            lines.append(f"  {len(self.problems)} problem(s):")
            lines += [f"    {p}" for p in self.problems[:200]]
            if len(self.problems) > 200:
                lines.append(f"    ... and {len(self.problems) - 200} more")
        return "\n".join(lines)


@dataclass(frozen=True, eq=False)
class EnrollResult(Displayable):
    """What one call of :meth:`Register.enroll_frame` did.

    ``enrolled`` has one row per eligible referral of the input (``new`` False
    when it was enrolled before); ``screened`` one row per referral not
    enrolled, with the reason.
    """

    mode: str
    enrolled: pd.DataFrame
    screened: pd.DataFrame

    def to_frame(self) -> pd.DataFrame:
        return self.enrolled.copy()

    def records(self) -> list[dict]:
        """The CLI's JSON: pseudonym, stratum, arm (plus seq, new, mode)."""
        return [{"pseudonym": r.pseudonym, "stratum": r.stratum, "arm": r.arm, "seq": int(r.seq),
                 "new": bool(r.new), "mode": self.mode} for r in self.enrolled.itertuples()]

    def summary(self) -> str:
        e = self.enrolled
        lines = [f"[{self.mode.upper()} register] enrolled {int(e['new'].sum()) if len(e) else 0} new, "
                 f"{int((~e['new']).sum()) if len(e) else 0} already enrolled, {len(self.screened)} not enrolled"]
        for r in e.itertuples():
            lines.append(f"  {r.seq:>5}  {r.pseudonym}  {r.stratum:<14} {r.arm}" + ("" if r.new else "  (before)"))
        if len(self.screened):
            lines.append("  not enrolled:")
            for code, n in self.screened["reason_code"].value_counts().sort_index().items():
                lines.append(f"    {code:<18} {n}")
        return "\n".join(lines)


# --------------------------------------------------------------------------- the register
class Register:
    """A trial register (use :meth:`open` or :meth:`create`; a context manager).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from trial.protocol import load
    >>> from trial._keys import create_key_file
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> key = create_key_file(d / "r.key")
    >>> with Register.create(d / "r.sqlite", load(), key=key, mode="test") as reg:
    ...     reg.mode, len(reg.enrollments())
    ('test', 0)
    """

    def __init__(self, db, target):
        self._db = db
        self.target = str(target)
        self._meta = self._read_meta()
        self._protocol: Protocol | None = None
        self._allocator: Allocator | None = None

    # lifecycle --------------------------------------------------------------
    @classmethod
    def create(cls, target, protocol: Protocol, *, key: KeyFile, mode: str = "test",
               schema_version: int = SCHEMA_VERSION) -> "Register":
        """Create a register: store the protocol, commit to the sequence, start the audit chain.

        Raises
        ------
        RegisterError
            If the register exists, ``mode`` is not 'test'/'production', the
            scheme cannot run with this protocol, or the key file does not fit
            the mode (:func:`trial._keys.check_purpose`: a rehearsal key or a
            test key for production, a production key for test).

        Notes
        -----
        On success the mode is recorded in the key file on disk
        (:func:`trial._keys.record_mode`), so the key cannot later serve a
        register of the other mode.
        """
        if mode not in MODES:
            raise RegisterError(f"`mode` must be one of {', '.join(MODES)}; got {mode!r}")
        if not isinstance(key, KeyFile):
            raise RegisterError("`key` must be a KeyFile (trial._keys.load_key_file)")
        check_purpose(key, mode)
        info = SchemeInfo.from_protocol(protocol)
        db = _db.connect(target, create=True)
        try:
            with db.write():
                for v in range(1, schema_version + 1):
                    for ddl in MIGRATIONS[v]:
                        db.q(ddl)
                created = _now()
                init = {
                    "register_id": uuid.uuid4().hex, "mode": mode, "created_at": created,
                    "trial_id": protocol.trial.id, "fingerprint": protocol.fingerprint,
                    "text_sha256": _sha(protocol.text),
                    "commitment": _commitment(protocol.fingerprint, info, key.allocation_secret, mode),
                    "secret_sha256": secret_digest(key.allocation_secret), "scheme": info.scheme,
                    "schema_version": schema_version, "sequence": info.to_dict(),
                }
                for k in _META_FROM_INIT:
                    db.q("INSERT INTO meta (key, value) VALUES (?, ?)", (k, str(init[k])))
                db.q("INSERT INTO meta (key, value) VALUES (?, ?)", ("schema_version", str(schema_version)))
                db.q("INSERT INTO meta (key, value) VALUES (?, ?)", ("head_id", "0"))
                db.q("INSERT INTO meta (key, value) VALUES (?, ?)", ("head_hash", GENESIS))
                db.q("INSERT INTO protocol (id, fingerprint, text_sha256, text) VALUES (1, ?, ?, ?)",
                     (protocol.fingerprint, init["text_sha256"], protocol.text))
                _Tx(db).audit("init", init, at=created).finish()
        except BaseException:
            db.close()
            if not _db.is_url(target):
                from pathlib import Path

                for suffix in ("", "-wal", "-shm"):
                    Path(str(target) + suffix).unlink(missing_ok=True)
            raise
        try:
            record_mode(key, mode)  # the key file now says which kind of register it serves
        except OSError as exc:  # e.g. a key on read-only media: the register is fine, the key just unmarked
            import logging

            logging.getLogger("trial.register").warning(
                "could not record mode %s in key file %s (%s); it stays of unknown purpose", mode, key.path,
                exc.strerror or exc)
        return cls(db, target)

    @classmethod
    def open(cls, target, *, migrate: bool = True) -> "Register":
        """Open an existing register (file path or ``postgresql://`` URL).

        An older schema is migrated in one transaction, with an audit entry.
        """
        db = _db.connect(target, create=False)
        try:
            if not db.table_exists("meta") or not db.table_exists("audit"):
                raise RegisterError(f"{target} is not a trial register (no meta/audit tables)")
            reg = cls(db, target)
            if migrate and reg.schema_version < SCHEMA_VERSION:
                reg._migrate()
            return reg
        except BaseException:
            db.close()
            raise

    def _migrate(self) -> None:
        with self._db.write():
            self._db.lock_head()
            start = int(self._db.one("SELECT value FROM meta WHERE key = 'schema_version'")[0])
            if start >= SCHEMA_VERSION:
                return
            for v in range(start + 1, SCHEMA_VERSION + 1):
                for ddl in MIGRATIONS[v]:
                    self._db.q(ddl)
            self._db.q("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION),))
            _Tx(self._db).audit("migrate", {"from": start, "to": SCHEMA_VERSION}).finish()
        self._meta = self._read_meta()

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> "Register":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Register({str(self._db)!r}, mode={self.mode!r}, trial={self._meta.get('trial_id')!r})"

    # properties ------------------------------------------------------------
    def _read_meta(self) -> dict:
        return {k: v for k, v in self._db.q("SELECT key, value FROM meta")}

    @property
    def mode(self) -> str:
        """'test' or 'production' (fixed at creation, part of the hash chain)."""
        return self._meta["mode"]

    @property
    def commitment(self) -> str:
        return self._meta["commitment"]

    @property
    def register_id(self) -> str:
        return self._meta["register_id"]

    @property
    def schema_version(self) -> int:
        return int(self._meta["schema_version"])

    @property
    def protocol(self) -> Protocol:
        """The Protocol loaded from the stored text (checked against the stored fingerprint)."""
        if self._protocol is None:
            text, fp = self._db.one("SELECT text, fingerprint FROM protocol WHERE id = 1")
            p = _load_protocol(text, path=f"{self.target}#protocol")
            if p.fingerprint != fp or fp != self._meta["fingerprint"]:
                raise RegisterError(f"register {self.target}: the stored protocol text no longer matches its "
                                    f"fingerprint {self._meta['fingerprint'][:12]}…; run `trial verify`")
            self._protocol = p
        return self._protocol

    @property
    def scheme_info(self) -> SchemeInfo:
        return SchemeInfo.from_protocol(self.protocol)

    def check_protocol(self, protocol: Protocol) -> None:
        """Refuse a protocol whose fingerprint differs from the registered one."""
        if protocol.fingerprint != self._meta["fingerprint"]:
            raise RegisterError(f"protocol {protocol.path or ''} has fingerprint {protocol.fingerprint[:12]}…, "
                                f"but register {self.target} was initialised with {self._meta['fingerprint'][:12]}…")

    def check_key(self, key: KeyFile) -> None:
        """Refuse a key file that is not this register's own.

        The register stores the SHA-256 of the allocation secret it was
        initialised with; a key file whose secret has another digest belongs
        to another register (and its pseudonymisation key would give other
        pseudonyms).

        Raises
        ------
        RegisterError
            ``key`` is not a KeyFile, or belongs to another register.
        """
        if not isinstance(key, KeyFile):
            raise RegisterError(f"`key` must be a KeyFile (trial._keys.load_key_file(...)); got "
                                f"{type(key).__name__}")
        if secret_digest(key.allocation_secret) != self._meta["secret_sha256"]:
            raise RegisterError(f"key file {key.path} does not belong to register {self.target} "
                                f"(its allocation secret differs from the one committed to at init); "
                                f"use the key file `trial init` created for this register")

    def _allocator_for(self, key: KeyFile) -> Allocator:
        if not isinstance(key, KeyFile):
            raise RegisterError("enrollment needs the key file (`key` = trial._keys.load_key_file(...))")
        self.check_key(key)
        if self._allocator is None:
            self._allocator = Allocator(self.scheme_info, key.allocation_secret, self.mode)
        return self._allocator

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

    # reading -------------------------------------------------------------------
    def enrollments(self) -> pd.DataFrame:
        """One row per randomized citizen (docs/contracts.md), in allocation order."""
        rows = self._db.rows("SELECT seq, pseudonym, referral_date, enrolled_at, stratum, arm, treatment, age, sex, "
                             "prior_forloeb, months_on_benefit, psych_contact_12m, age_band, stratum_index, forced "
                             "FROM enrollments ORDER BY seq")
        cols = ["seq", "pseudonym", "referral_date", "enrolled_at", "stratum", "arm", "treatment", "age", "sex",
                "prior_forloeb", "months_on_benefit", "psych_contact_12m", "age_band", "stratum_index", "forced"]
        df = pd.DataFrame(rows, columns=cols)
        status = {p: k for p, k in self._db.q("SELECT pseudonym, kind FROM status_events ORDER BY id")}
        df["status"] = pd.Series([status.get(p, "active") for p in df["pseudonym"]], index=df.index, dtype=object)
        df["referral_date"] = pd.to_datetime(df["referral_date"])
        df["enrolled_at"] = pd.to_datetime(df["enrolled_at"], utc=True, format="ISO8601")
        for c in ("seq", "treatment", "age", "prior_forloeb", "psych_contact_12m", "stratum_index"):
            df[c] = df[c].astype("int64")
        df["months_on_benefit"] = df["months_on_benefit"].astype(float)
        df["forced"] = df["forced"].astype(bool)
        df.attrs["mode"] = self.mode
        df.attrs["commitment"] = self.commitment
        return df

    def screening_log(self) -> pd.DataFrame:
        """Every referral seen: pseudonym, referral_date, eligible, reason (and code, enrolled seq)."""
        rows = self._db.rows("SELECT r.id, r.pseudonym, r.referral_date, r.seen_at, r.eligible, r.reason_code, "
                             "r.reason, r.stratum, e.seq FROM referrals r LEFT JOIN enrollments e "
                             "ON e.referral_id = r.id ORDER BY r.id")
        df = pd.DataFrame(rows, columns=["id", "pseudonym", "referral_date", "seen_at", "eligible", "reason_code",
                                         "reason", "stratum", "seq"])
        df["referral_date"] = pd.to_datetime(df["referral_date"])
        df["eligible"] = df["eligible"].astype(bool)
        df["enrolled"] = df["seq"].notna()
        df.attrs["mode"] = self.mode
        return df

    def status_events(self) -> pd.DataFrame:
        rows = self._db.rows("SELECT id, pseudonym, kind, reason, date, recorded_at FROM status_events ORDER BY id")
        return pd.DataFrame(rows, columns=["id", "pseudonym", "kind", "reason", "date", "recorded_at"])

    def audit_log(self) -> pd.DataFrame:
        """The audit chain: id, at, actor, action, payload (JSON text), prev_hash, hash."""
        rows = self._db.rows("SELECT id, at, actor, action, payload, prev_hash, hash FROM audit ORDER BY id")
        df = pd.DataFrame(rows, columns=["id", "at", "actor", "action", "payload", "prev_hash", "hash"])
        df.attrs["mode"] = self.mode
        return df

    # outcomes room -------------------------------------------------------------
    def store_observations(self, kind: str, frame: pd.DataFrame, data_date) -> int:
        """Store one upload of long observations (kind status/events/survey); returns its id."""
        if kind not in OBSERVATION_KINDS:
            raise RegisterError(f"`kind` must be one of {', '.join(OBSERVATION_KINDS)}; got {kind!r}")
        return self._upload(kind, frame, data_date)

    def observations(self, kind: str, as_of=None) -> pd.DataFrame:
        """The latest upload of ``kind`` with data_date ≤ ``as_of`` (all dates when None)."""
        if kind not in OBSERVATION_KINDS:
            raise RegisterError(f"`kind` must be one of {', '.join(OBSERVATION_KINDS)}; got {kind!r}")
        return self._latest(kind, as_of)

    def store_outcomes(self, frame: pd.DataFrame, data_date) -> int:
        """Store endpoint values per citizen (pseudonym, endpoint, value, time_weeks, event, exposure_years,
        missing_reason); returns the upload id."""
        need = ["pseudonym", "endpoint", "value", "time_weeks", "event", "exposure_years", "missing_reason"]
        miss = [c for c in need if c not in frame.columns]
        if miss:
            raise RegisterError(f"outcomes frame lacks column(s) {miss}; it needs {need}")
        return self._upload("outcomes", frame[need], data_date)

    def outcomes(self, as_of=None) -> pd.DataFrame:
        """The latest outcomes upload with data_date ≤ ``as_of``, with a ``data_date`` column."""
        df = self._latest("outcomes", as_of)
        df["data_date"] = pd.to_datetime(df.attrs.get("data_date")) if len(df) else pd.Series(dtype="datetime64[ns]")
        return df

    def _upload(self, kind: str, frame: pd.DataFrame, data_date) -> int:
        if not isinstance(frame, pd.DataFrame):
            raise RegisterError(f"`frame` must be a pandas DataFrame; got {type(frame).__name__}")
        if "cpr" in {str(c).lower() for c in frame.columns}:
            raise RegisterError("the frame has a 'cpr' column: the register accepts pseudonyms only")
        d = _iso_date(data_date, "data_date")
        payload = _frame_to_json(frame)
        db = self._db
        with db.write():
            db.lock_head()
            tx = _Tx(db)
            uid = (db.one("SELECT COALESCE(MAX(id), 0) FROM uploads")[0] or 0) + 1
            now = _now()
            row = {"id": uid, "kind": kind, "data_date": d, "uploaded_at": now, "n_rows": int(len(frame)),
                   "sha256": _sha(payload), "audit_id": tx.next_id}
            _insert(db, "uploads", {**row, "payload": payload})
            tx.audit("upload", {"upload": row}, at=now).finish()
        return uid

    def _latest(self, kind: str, as_of) -> pd.DataFrame:
        sql = "SELECT id, data_date, payload FROM uploads WHERE kind = ?"
        params: list = [kind]
        if as_of is not None:
            sql += " AND data_date <= ?"
            params.append(_iso_date(as_of, "as_of"))
        r = self._db.one(sql + " ORDER BY data_date DESC, id DESC LIMIT 1", params)
        if r is None:
            df = pd.DataFrame()
            df.attrs["data_date"] = None
            return df
        df = _frame_from_json(r[2])
        df.attrs["data_date"] = r[1]
        df.attrs["upload_id"] = r[0]
        return df

    # report snapshots -----------------------------------------------------------
    def store_report_snapshot(self, quarter: str, text: str) -> int:
        """Keep the exact aggregates behind a quarterly report (``ReportData`` JSON text); returns the id.

        Snapshots are appended, never replaced (a rerun of a quarter adds a row;
        :meth:`report_snapshot` reads the newest). The text is stored
        zlib-compressed and base64-encoded (column ``json_z``): a report's many
        full-precision floats, cut at a database page boundary, could otherwise
        leave ten-digit runs that a CPR scan of the file cannot tell from a CPR
        number. The stored row, compressed text included, is copied into the
        audit entry, so :meth:`verify` detects any later edit.
        """
        import base64
        import zlib

        import re

        if not isinstance(quarter, str) or not re.fullmatch(r"\d{4}Q[1-4]", quarter):
            raise RegisterError(f"`quarter` must be written like 2017Q3 (year, 'Q', 1-4); got {quarter!r}")
        try:
            parsed = json.loads(text)
        except (TypeError, ValueError) as exc:
            raise RegisterError(f"report snapshot for {quarter}: `text` must be JSON text; got {type(text).__name__} "
                                f"({exc})") from None
        if not isinstance(parsed, dict):
            raise RegisterError(f"report snapshot for {quarter}: `text` must be a JSON object; got "
                                f"{type(parsed).__name__}")
        db = self._db
        if not db.table_exists("report_snapshots"):
            raise RegisterError(f"{self.target} has schema version {self.schema_version}, without the "
                                f"report_snapshots table; open it with Register.open(..., migrate=True) to add it")
        with db.write():
            db.lock_head()
            tx = _Tx(db)
            sid = (db.one("SELECT COALESCE(MAX(id), 0) FROM report_snapshots")[0] or 0) + 1
            now = _now()
            packed = base64.b64encode(zlib.compress(text.encode("utf-8"), 9)).decode("ascii")
            row = {"id": sid, "quarter": quarter, "created": now, "sha256": _sha(text), "json_z": packed,
                   "audit_id": tx.next_id}
            _insert(db, "report_snapshots", row)
            tx.audit("report_snapshot", {"report_snapshot": row}, at=now).finish()
        return sid

    def report_snapshots(self) -> pd.DataFrame:
        """The stored report snapshots without their text: id, quarter, created, sha256."""
        cols = ["id", "quarter", "created", "sha256"]
        if not self._db.table_exists("report_snapshots"):
            return pd.DataFrame(columns=cols)
        return pd.DataFrame(self._db.rows(f"SELECT {', '.join(cols)} FROM report_snapshots ORDER BY id"),
                            columns=cols)

    def report_snapshot(self, *, quarter: str | None = None, before: str | None = None) -> dict | None:
        """The newest snapshot of ``quarter``, or of the latest quarter before ``before`` (None if none).

        Returns a dict with ``id, quarter, created, sha256, json`` (the JSON text, decompressed and checked
        against its SHA-256).
        """
        import base64
        import zlib

        if (quarter is None) == (before is None):
            raise RegisterError("give exactly one of `quarter` and `before` (quarters like 2017Q3)")
        if not self._db.table_exists("report_snapshots"):
            return None
        # quarters 'YYYYQn' sort as text in time order
        cols = "id, quarter, created, sha256, json_z"
        if quarter is not None:
            r = self._db.one(f"SELECT {cols} FROM report_snapshots WHERE quarter = ? ORDER BY id DESC LIMIT 1",
                             (quarter,))
        else:
            r = self._db.one(f"SELECT {cols} FROM report_snapshots WHERE quarter < ? "
                             "ORDER BY quarter DESC, id DESC LIMIT 1", (before,))
        if r is None:
            return None
        try:
            text = zlib.decompress(base64.b64decode(r[4], validate=True)).decode("utf-8")
        except (ValueError, zlib.error) as exc:
            raise RegisterError(f"report_snapshots id {r[0]}: the stored snapshot cannot be decoded ({exc}); "
                                f"run `trial verify`") from None
        if _sha(text) != r[3]:
            raise RegisterError(f"report_snapshots id {r[0]}: the stored snapshot differs from its SHA-256 "
                                f"(edited?); run `trial verify`")
        return {"id": r[0], "quarter": r[1], "created": r[2], "sha256": r[3], "json": text}

    # randomization inference ------------------------------------------------------
    def rerandomizer(self):
        """``draw(rng, n_resamples) -> (n_resamples, n)`` 0/1 array under the register's actual scheme.

        Columns follow :meth:`enrollments` (allocation order): the same strata,
        block sizes, ratio, capacity rule and (for minimisation) arrival order.
        """
        from .randomize import rerandomize

        info = self.scheme_info
        strata = tuple(self.enrollments()["stratum"])

        def draw(rng, n_resamples):
            return rerandomize(info, strata, rng=rng, n_resamples=n_resamples)

        draw.scheme = info.scheme
        draw.n = len(strata)
        return draw

    def balance(self, *, n_resamples: int = 2000, rng=None):
        """Baseline balance of the enrolled citizens (see :func:`trial.randomize.balance`)."""
        from .randomize import balance

        enr = self.enrollments()
        covs = [c for c in self.protocol.baseline_covariates if c in enr.columns]
        seed = rng if rng is not None else int(self.protocol.allocation.seed)
        return balance(enr, covs, draw=self.rerandomizer() if len(enr) else None, n_resamples=n_resamples,
                       rng=seed, scheme=self.scheme_info.scheme, mode=self.mode)

    # verification ---------------------------------------------------------------
    def verify(self, key: KeyFile | None = None, *, expect_head: str | None = None) -> VerifyResult:
        """Check the audit chain, every table against the log, and (with the key) every allocation.

        ``expect_head``: an audit entry hash recorded earlier (``head_hash`` of a
        past verification, whole or its first 12 or more hex characters); it
        is a problem when the chain does not contain it (the tail was rolled
        back, or this is another register).

        Returns a :class:`VerifyResult` (with ``head_hash`` and ``n_audit``);
        ``ok`` is False if any problem is found or allocations could not be
        recomputed (no key file).
        """
        from ._verify import verify

        return verify(self, key, expect_head=expect_head)


# --------------------------------------------------------------------------- helpers
class _Tx:
    """Appends audit entries inside an open write transaction."""

    def __init__(self, db):
        self.db = db
        hid, hh = db.one("SELECT (SELECT value FROM meta WHERE key = 'head_id'), "
                         "(SELECT value FROM meta WHERE key = 'head_hash')")
        self.head_id, self.head_hash = int(hid), hh
        self.actor = _actor()

    @property
    def next_id(self) -> int:
        return self.head_id + 1

    def audit(self, action: str, payload: dict, *, at: str | None = None) -> "_Tx":
        at = at or _now()
        text = _canon(payload)
        i = self.head_id + 1
        h = _entry_hash(i, at, self.actor, action, text, self.head_hash)
        self.db.q("INSERT INTO audit (id, at, actor, action, payload, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?)",
                  (i, at, self.actor, action, text, self.head_hash, h))
        self.head_id, self.head_hash = i, h
        return self

    def finish(self) -> None:
        self.db.q("UPDATE meta SET value = ? WHERE key = 'head_id'", (str(self.head_id),))
        self.db.q("UPDATE meta SET value = ? WHERE key = 'head_hash'", (self.head_hash,))


def _insert(db, table: str, row: dict) -> None:
    cols = list(row)
    db.q(f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
         tuple(row[c] for c in cols))


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


def _iso_date(value, name: str) -> str:
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError):
        ts = None
    if ts is None or pd.isna(ts):
        raise RegisterError(f"`{name}` must be a date (YYYY-MM-DD); got {value!r}")
    return ts.date().isoformat()


def _mask_text(text) -> str:
    """Free text as the register stores it: CPR-like numbers masked ``DDMMYY-XXXX``, also inside words.

    Defence in depth: intake already rejects a CPR-like number outside the
    ``cpr`` column, but texts reach the register from Python too
    (``withdraw(reason=...)``, frames built by hand).
    """
    from .intake._problems import _scrub

    return _scrub(str(text))


def _clean(v):
    if v is None:
        return None
    if isinstance(v, float) and np.isnan(v):
        return None
    if v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, np.generic):
        return v.item()
    return v


def _int_or_none(v):
    v = _clean(v)
    if v is None:
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return int(f) if f.is_integer() else None


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


def _frame_to_json(frame: pd.DataFrame) -> str:
    cols, data = [], {}
    for c in frame.columns:
        s = frame[c]
        kind = "other"
        if pd.api.types.is_datetime64_any_dtype(s):
            kind = "datetime"
            vals = [None if pd.isna(v) else pd.Timestamp(v).isoformat() for v in s]
        elif isinstance(s.dtype, pd.CategoricalDtype):
            kind = "category"
            vals = [None if pd.isna(v) else _clean(v) for v in s.astype(object)]
        elif pd.api.types.is_bool_dtype(s):
            kind = "bool"
            vals = [bool(v) for v in s]
        elif pd.api.types.is_integer_dtype(s):
            kind = "int"
            vals = [None if pd.isna(v) else int(v) for v in s]
        elif pd.api.types.is_float_dtype(s):
            kind = "float"
            vals = [None if pd.isna(v) else float(v) for v in s]
        else:
            vals = [None if (v is None or (not isinstance(v, str) and pd.isna(v))) else _clean(v)
                    for v in s.astype(object)]
        cols.append([str(c), kind, list(s.cat.categories.astype(object)) if kind == "category" else None])
        data[str(c)] = vals
    return json.dumps({"columns": cols, "data": data}, ensure_ascii=False, default=str, allow_nan=False)


def _frame_from_json(text: str) -> pd.DataFrame:
    doc = json.loads(text)
    out = {}
    for name, kind, cats in doc["columns"]:
        v = doc["data"][name]
        if kind == "datetime":
            out[name] = pd.to_datetime(pd.Series(v, dtype=object))
        elif kind == "category":
            out[name] = pd.Categorical(v, categories=cats)
        elif kind == "int":
            s = pd.Series(v, dtype=object)
            out[name] = s.astype("int64") if s.notna().all() else s.astype("Int64")
        elif kind == "float":
            out[name] = pd.Series([np.nan if x is None else x for x in v], dtype=float)
        elif kind == "bool":
            out[name] = pd.Series(v, dtype=bool)
        else:
            out[name] = pd.Series(v) if len(v) else pd.Series(v, dtype=object)
    return pd.DataFrame(out)
