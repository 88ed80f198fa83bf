"""The register's schema: versions, migrations, and which tables mirror the audit log."""
from __future__ import annotations

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

