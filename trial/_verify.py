"""`Register.verify`: every check, each problem naming its table and row."""
from __future__ import annotations

import json

from .randomize import Allocator, SchemeInfo, commitment, secret_digest, stratum_levels

__all__ = ["verify"]


def check_expect_head(expect_head) -> str:
    """``expect_head`` lower-cased; a ParameterError unless it is 12 to 64 hexadecimal characters."""
    from .exceptions import ParameterError

    h = str(expect_head).strip().lower()
    if not (12 <= len(h) <= 64 and all(c in "0123456789abcdef" for c in h)):
        raise ParameterError("--expect-head", f"must be an audit entry hash: 12 to 64 hexadecimal characters "
                             f"(the head_hash printed by `trial verify`); got {str(expect_head)[:80]!r}")
    return h


def verify(reg, key=None, *, expect_head=None):
    from .register import (GENESIS, _MIRRORED, _META_FROM_INIT, VerifyProblem, VerifyResult, _eligibility,
                           _entry_hash, _sha)
    from .protocol import loads

    db = reg._db
    problems: list[VerifyProblem] = []
    checks: list[str] = []

    def bad(table, row, msg):
        problems.append(VerifyProblem(table, str(row), msg))

    # 1. the hash chain ------------------------------------------------------------
    audit = db.rows("SELECT id, at, actor, action, payload, prev_hash, hash FROM audit ORDER BY id")
    prev = GENESIS
    payloads: dict[int, dict] = {}
    for k, e in enumerate(audit, start=1):
        if e["id"] != k:
            bad("audit", f"id {e['id']}", f"expected id {k} here: an entry is missing or out of order")
        if e["prev_hash"] != prev:
            bad("audit", f"id {e['id']}", "prev_hash does not match the hash of the entry before "
                "(an entry before it was removed, inserted or edited)")
        h = _entry_hash(e["id"], e["at"], e["actor"], e["action"], e["payload"], e["prev_hash"])
        if h != e["hash"]:
            bad("audit", f"id {e['id']}", "hash does not match the entry's content (the entry was edited)")
        prev = e["hash"]
        try:
            payloads[e["id"]] = json.loads(e["payload"])
        except (TypeError, ValueError):
            bad("audit", f"id {e['id']}", "payload is not valid JSON")
    checks.append(f"audit chain of {len(audit)} entries")

    meta = {k: v for k, v in db.q("SELECT key, value FROM meta")}
    last_id = audit[-1]["id"] if audit else 0
    last_hash = audit[-1]["hash"] if audit else GENESIS
    if meta.get("head_id") != str(last_id) or meta.get("head_hash") != last_hash:
        bad("meta", "key head_id", f"the register's head (entry {meta.get('head_id')}) is not the last audit entry "
            f"({last_id}): audit entries were removed or added")
    checks.append("chain head")
    if expect_head is not None:
        want = check_expect_head(expect_head)
        at = next((e["id"] for e in audit if str(e["hash"]).startswith(want)), None)
        if at is None:
            bad("audit", "chain", f"does not contain the expected entry {want}: the register's tail was rolled "
                f"back (entries removed and the head reset) or this is another register; its head is entry "
                f"{last_id} {last_hash[:12]}…")
        else:
            checks.append(f"expected entry {want[:12]}… is entry {at} of {len(audit)}")

    # 2. the init entry, meta and the protocol ---------------------------------------
    init = payloads.get(1) if audit and audit[0]["action"] == "init" else None
    proto = None
    if init is None:
        bad("audit", "id 1", "the first entry is not the register's init entry")
    else:
        for k in _META_FROM_INIT:
            if meta.get(k) != str(init.get(k)):
                bad("meta", f"key {k}", f"is {meta.get(k)!r} but the init entry records {str(init.get(k))!r}")
        versions = [init.get("schema_version")] + [payloads[e["id"]].get("to") for e in audit
                                                   if e["action"] == "migrate" and e["id"] in payloads]
        if meta.get("schema_version") != str(versions[-1]):
            bad("meta", "key schema_version", f"is {meta.get('schema_version')!r} but the audit log records "
                f"version {versions[-1]}")
        prow = db.rows("SELECT id, fingerprint, text_sha256, text FROM protocol ORDER BY id")
        if len(prow) != 1:
            bad("protocol", "table", f"must hold exactly one protocol; holds {len(prow)}")
        for p in prow:
            if _sha(p["text"]) != init.get("text_sha256"):
                bad("protocol", f"id {p['id']}", "the protocol text differs from the text registered at init "
                    f"(SHA-256 {_sha(p['text'])[:12]}… vs {str(init.get('text_sha256'))[:12]}…)")
            if p["text_sha256"] != init.get("text_sha256"):
                bad("protocol", f"id {p['id']}", "column text_sha256 differs from the init entry")
            if p["fingerprint"] != init.get("fingerprint"):
                bad("protocol", f"id {p['id']}", "column fingerprint differs from the init entry")
            try:
                q = loads(p["text"], path="register protocol")
                if q.fingerprint != init.get("fingerprint"):
                    bad("protocol", f"id {p['id']}", "the stored text's fingerprint differs from the registered one")
                else:
                    proto = q
            except Exception as exc:  # noqa: BLE001 - any defect is a finding
                bad("protocol", f"id {p['id']}", f"the stored text is no longer a valid protocol: {exc}")
        checks.append("meta and protocol against the init entry")

    # 3. every mirrored table against the audit log -----------------------------------
    tables: dict[str, dict] = {}
    for table, (pk, pkey, skip) in _MIRRORED.items():
        if not db.table_exists(table):
            continue
        expected: dict = {}
        for e in audit:
            pl = payloads.get(e["id"])
            if isinstance(pl, dict) and isinstance(pl.get(pkey), dict):
                row = pl[pkey]
                if row.get(pk) in expected:
                    bad("audit", f"id {e['id']}", f"records {table} {pk} {row.get(pk)} a second time")
                expected[row.get(pk)] = (e["id"], row)
        actual = {r[pk]: r for r in db.rows(f"SELECT * FROM {table}")}
        tables[table] = actual
        for k in sorted(set(expected) | set(actual), key=lambda x: (str(type(x)), x)):
            name = f"{pk} {k}"
            if k not in actual:
                bad(table, name, f"row is missing (audit entry {expected[k][0]} records it)")
                continue
            if k not in expected:
                bad(table, name, "row has no audit entry (inserted outside the register)")
                continue
            aid, exp = expected[k]
            row = actual[k]
            for c in sorted(set(exp) | (set(row) - set(skip))):
                if c in skip:
                    continue
                a, b = row.get(c), exp.get(c)
                if not _same(a, b):
                    bad(table, name, f"column {c} is {a!r} but audit entry {aid} records {b!r}")
            if exp.get("audit_id") != aid:
                bad(table, name, f"audit_id {exp.get('audit_id')!r} does not name its audit entry {aid}")
            if "payload" in skip and _sha(row["payload"]) != row.get("sha256"):
                bad(table, name, "the stored data differ from their SHA-256 (the upload was edited)")
        checks.append(f"{table}: {len(actual)} rows against the audit log")

    # 4. enrollments: order, strata, eligibility -------------------------------------
    enr = sorted(tables.get("enrollments", {}).values(), key=lambda r: r["seq"])
    refs = tables.get("referrals", {})
    if proto is not None:
        t_id, c_id = proto.treatment_arm.id, proto.control_arm.id
        last_audit = 0
        for i, r in enumerate(enr, start=1):
            name = f"seq {r['seq']}"
            if r["seq"] != i:
                bad("enrollments", name, f"expected seq {i}: allocations are not consecutive")
            if r["audit_id"] <= last_audit:
                bad("enrollments", name, "enrolled out of the committed order (audit entries out of sequence)")
            last_audit = max(last_audit, r["audit_id"])
            if r["arm"] != (t_id if r["treatment"] == 1 else c_id):
                bad("enrollments", name, f"arm {r['arm']!r} does not match treatment = {r['treatment']!r}")
            try:
                s = stratum_levels(proto, {"age": r["age"], "prior_forloeb": r["prior_forloeb"], **r})
            except Exception:  # noqa: BLE001
                s = None
            if s != r["stratum"]:
                bad("enrollments", name, f"stratum {r['stratum']!r} does not follow from the covariates ({s!r})")
            ref = refs.get(r["referral_id"])
            if ref is None or ref["pseudonym"] != r["pseudonym"] or ref["eligible"] != 1:
                bad("enrollments", name, "has no eligible referral in the screening log")
        enrolled_before: dict[str, int] = {}
        for r in enr:
            enrolled_before.setdefault(r["pseudonym"], r["audit_id"])
        for k, ref in sorted(refs.items()):
            code, _ = _eligibility(proto, ref, ref["stratum"])
            if ref["eligible"] == 1:
                if code is not None:
                    bad("referrals", f"id {k}", f"marked eligible, but fails the protocol's rule ({code})")
            elif ref["reason_code"] in ("age", "municipality", "referral_type", "missing_age",
                                        "missing_covariate", "stratum"):
                if code != ref["reason_code"]:
                    bad("referrals", f"id {k}", f"reason {ref['reason_code']!r} does not follow from the protocol "
                        f"(expected {code!r})")
            elif ref["reason_code"] == "already_enrolled":
                if not enrolled_before.get(ref["pseudonym"], 10**18) < ref["audit_id"]:
                    bad("referrals", f"id {k}", "marked already enrolled, but no earlier enrollment exists")
        checks.append("enrollment order, strata and eligibility")

    # 5. allocations recomputed from protocol and secret --------------------------------
    recomputed = False
    note = ""
    if key is None:
        note = ("allocations not recomputed: no key file (give --key-file; the allocation secret is needed to "
                "regenerate the sequence)")
    elif proto is not None:
        if secret_digest(key.allocation_secret) != meta.get("secret_sha256"):
            bad("meta", "key secret_sha256", f"the key file {key.path} is not the one committed to")
        else:
            info = SchemeInfo.from_protocol(proto)
            if commitment(proto.fingerprint, info, key.allocation_secret, meta.get("mode")) != meta.get("commitment"):
                bad("meta", "key commitment", "the commitment does not follow from protocol, seed, scheme and secret")
            alloc = Allocator(info, key.allocation_secret, meta.get("mode"))
            try:
                got = alloc.replay([r["stratum"] for r in enr])
            except Exception as exc:  # noqa: BLE001 - a bad stratum is reported above
                got = []
                bad("enrollments", "all", f"allocations cannot be replayed: {exc}")
            per: dict[str, int] = {}
            for r, a in zip(enr, got):
                name = f"seq {r['seq']}"
                if a.treatment is None:
                    bad("enrollments", name, f"enrolled after enrollment closed ({a.note})")
                    break
                if r["treatment"] != a.treatment:
                    bad("enrollments", name, f"treatment is {r['treatment']!r} but the committed sequence gives "
                        f"{a.treatment} ({t_id if a.treatment else c_id})")
                if r["slot"] != a.slot:
                    bad("enrollments", name, f"slot is {r['slot']!r} but the committed sequence gives {a.slot}")
                if bool(r["forced"]) != a.forced:
                    bad("enrollments", name, f"forced is {r['forced']!r} but the capacity rule gives {int(a.forced)}")
                j = per.get(r["stratum"], 0)
                if r["stratum_index"] != j:
                    bad("enrollments", name, f"stratum_index is {r['stratum_index']!r}; position in its stratum is {j}")
                per[r["stratum"]] = j + 1
            recomputed = True
            checks.append(f"{len(enr)} allocations recomputed from the protocol and the allocation secret")
    return VerifyResult(register=reg.target, mode=str(meta.get("mode")), commitment=str(meta.get("commitment")),
                        problems=tuple(problems), checks=tuple(checks), allocations_recomputed=recomputed,
                        n_enrollments=len(enr), n_audit=len(audit), note=note, head_hash=last_hash)


def _same(a, b) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        try:
            return a is not None and b is not None and float(a) == float(b)
        except (TypeError, ValueError):
            return False
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b or (a == b and type(a) is type(b))
    return a == b and (a is None) == (b is None)
