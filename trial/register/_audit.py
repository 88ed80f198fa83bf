"""The audit chain: canonical JSON, entry hashes, and appending entries inside a write transaction."""
from __future__ import annotations

import datetime as _dt
import hashlib
import json


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
