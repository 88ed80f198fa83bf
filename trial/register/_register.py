"""The :class:`Register` itself: creation, opening and migration, properties, reading, verification glue."""
from __future__ import annotations

import uuid

import pandas as pd

from .. import _db
from .._keys import KeyFile, check_purpose, record_mode
from ..exceptions import RegisterError
from ..protocol import Protocol, loads as _load_protocol
from ..randomize import Allocator, SchemeInfo, commitment as _commitment, secret_digest
from ._audit import _Tx, _now, _sha
from ._enroll import _Enrollment
from ._results import VerifyResult
from ._schema import _META_FROM_INIT, GENESIS, MIGRATIONS, MODES, SCHEMA_VERSION
from ._storage import _Storage


class Register(_Enrollment, _Storage):
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

    # randomization inference ------------------------------------------------------
    def rerandomizer(self):
        """``draw(rng, n_resamples) -> (n_resamples, n)`` 0/1 array under the register's actual scheme.

        Columns follow :meth:`enrollments` (allocation order): the same strata,
        block sizes, ratio, capacity rule and (for minimisation) arrival order.
        """
        from ..randomize import rerandomize

        info = self.scheme_info
        strata = tuple(self.enrollments()["stratum"])

        def draw(rng, n_resamples):
            return rerandomize(info, strata, rng=rng, n_resamples=n_resamples)

        draw.scheme = info.scheme
        draw.n = len(strata)
        return draw

    def balance(self, *, n_resamples: int = 2000, rng=None):
        """Baseline balance of the enrolled citizens (see :func:`trial.randomize.balance`)."""
        from ..randomize import balance

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
        from .._verify import verify

        return verify(self, key, expect_head=expect_head)
