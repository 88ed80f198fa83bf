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

Layout: ``_schema`` (schema version, migrations, the tables that mirror the
audit log), ``_audit`` (the hash chain: canonical JSON, entry hashes,
appending entries), ``_values`` (dates, masked free text, frames as JSON),
``_results`` (:class:`VerifyResult`, :class:`VerifyProblem`,
:class:`EnrollResult`), ``_enroll`` (screening and enrollment, withdrawals
and exclusions), ``_storage`` (uploads of observations and outcomes, report
snapshots) and ``_register`` (:class:`Register`: creation, opening,
migration, properties, reading, balance and verification, which runs in
:mod:`trial._verify`).
"""
from __future__ import annotations

from ._audit import _Tx, _actor, _canon, _entry_hash, _insert, _now, _sha
from ._enroll import _age_band_pos, _eligibility, _referral_record, _state_from
from ._register import Register
from ._results import EnrollResult, VerifyProblem, VerifyResult
from ._schema import (_META_FROM_INIT, _MIRRORED, GENESIS, MIGRATIONS, MODES, OBSERVATION_KINDS, REFERRAL_COLUMNS,
                      SCHEMA_VERSION)
from ._values import _clean, _frame_from_json, _frame_to_json, _int_or_none, _iso_date, _mask_text

__all__ = ["Register", "EnrollResult", "VerifyResult", "VerifyProblem", "SCHEMA_VERSION", "MODES",
           "OBSERVATION_KINDS", "GENESIS", "MIGRATIONS", "REFERRAL_COLUMNS"]

# kept importable from here, as in the single-module version (trial._verify and tests use some of them)
_REEXPORTED = (_Tx, _actor, _canon, _entry_hash, _insert, _now, _sha, _age_band_pos, _eligibility, _referral_record,
               _state_from, _META_FROM_INIT, _MIRRORED, _clean, _frame_from_json, _frame_to_json, _int_or_none,
               _iso_date, _mask_text)
