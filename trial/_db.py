"""One SQL layer for the register: SQLite (a file) or PostgreSQL (a URL).

The two differ only in placeholders (``?`` vs ``%s``), in how a write
transaction is serialised and in how a connection is opened:

* SQLite: WAL journal, ``synchronous = FULL``; a write transaction takes an
  exclusive ``flock`` on the register file (waiters wake at once when it is
  released, unlike SQLite's sleeping busy handler) and then ``BEGIN
  IMMEDIATE`` (busy timeout as a fallback for other SQLite clients).
* PostgreSQL (psycopg 3): ``BEGIN`` and ``SELECT ... FOR UPDATE`` on the
  register's head row in ``meta``, so writers queue on one row lock; reads
  after the lock see everything committed before it (READ COMMITTED).

Each write is a transaction: all of an enrollment or none of it.
"""
from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
from pathlib import Path

from .exceptions import ConcurrencyError, RegisterError

__all__ = ["connect", "is_url"]


def is_url(target) -> bool:
    s = str(target)
    return s.startswith("postgresql://") or s.startswith("postgres://")


class _Base:
    dialect = ""

    def q(self, sql: str, params=()) -> list[tuple]:
        raise NotImplementedError

    def one(self, sql: str, params=()):
        rows = self.q(sql, params)
        return rows[0] if rows else None

    def rows(self, sql: str, params=()) -> list[dict]:
        cur = self._execute(sql, params)
        if cur.description is None:
            return []
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r)) for r in cur.fetchall()]

    def columns(self, table: str) -> list[str]:
        cur = self._execute(f"SELECT * FROM {table} WHERE 1 = 0")
        names = [d[0] for d in cur.description]
        cur.fetchall()
        return names


class SQLite(_Base):
    dialect = "sqlite"

    def __init__(self, path: Path, *, create: bool):
        self.path = Path(path)
        if not create and not self.path.exists():
            raise RegisterError(f"register {self.path} does not exist; create it with `trial init`")
        if create and self.path.exists():
            raise RegisterError(f"register {self.path} exists already; refusing to initialise it again")
        if create:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.conn = sqlite3.connect(str(self.path), isolation_level=None, timeout=120.0)
            if not create:
                # read before anything is set: switching the journal to WAL writes to the file,
                # and a file that is not a register (an empty file, another program's
                # database) must be left as it was
                found = {r[0] for r in self.conn.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table' AND name IN ('meta', 'audit')")}
                if found != {"meta", "audit"}:
                    self.conn.close()
                    raise RegisterError(f"{self.path} is not a trial register (no meta/audit tables)")
            self.conn.execute("PRAGMA journal_mode = WAL")
            self.conn.execute("PRAGMA synchronous = FULL")
        except sqlite3.DatabaseError as exc:
            if getattr(self, "conn", None) is not None:
                self.conn.close()
            raise RegisterError(f"{self.path} is not a trial register (SQLite says: {exc})") from None
        self._lockfd = None
        self._lockpid = None
        self.in_tx = False

    def _execute(self, sql, params=()):
        try:
            return self.conn.execute(sql, tuple(params))
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                raise ConcurrencyError(f"register {self.path} is locked by another writer: {exc}") from None
            raise

    def q(self, sql, params=()):
        return self._execute(sql, params).fetchall()

    def _lock_fd(self) -> int:
        # One descriptor per connection and process, closed only after the SQLite connection:
        # closing *any* descriptor of the database file drops the process's POSIX locks, SQLite's
        # included (a classic way to corrupt a WAL database), so it is never closed mid-use.
        if self._lockfd is None or self._lockpid != os.getpid():
            self._lockfd = os.open(self.path, os.O_RDONLY)
            self._lockpid = os.getpid()
        return self._lockfd

    @contextlib.contextmanager
    def write(self):
        fd = self._lock_fd()
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            self._execute("BEGIN IMMEDIATE")
            self.in_tx = True
            try:
                yield self
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
            else:
                self._execute("COMMIT")
            finally:
                self.in_tx = False
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)

    def lock_head(self) -> None:  # the flock + BEGIN IMMEDIATE already serialise writers
        return None

    def table_exists(self, name: str) -> bool:
        return bool(self.q("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)))

    def close(self):
        self.conn.close()
        if self._lockfd is not None and self._lockpid == os.getpid():
            os.close(self._lockfd)
        self._lockfd = None

    def __str__(self):
        return str(self.path)


class Postgres(_Base):
    dialect = "postgresql"

    def __init__(self, url: str, *, create: bool):
        try:
            import psycopg
        except ImportError:  # pragma: no cover
            raise RegisterError("a PostgreSQL register needs psycopg 3: pip install 'psycopg[binary]'") from None
        self.url = url
        self._psycopg = psycopg
        try:
            self.conn = psycopg.connect(url, autocommit=True)
        except psycopg.Error as exc:
            raise RegisterError(f"cannot connect to PostgreSQL register {_redact(url)}: "
                                f"{str(exc).strip().splitlines()[0]}") from None
        exists = self.table_exists("meta")
        if create and exists:
            raise RegisterError(f"register {_redact(url)} exists already (table meta); refusing to initialise it again")
        if not create and not exists:
            raise RegisterError(f"register {_redact(url)} has no trial register; create it with `trial init`")
        self.in_tx = False

    def _execute(self, sql, params=()):
        return self.conn.execute(sql.replace("?", "%s"), tuple(params))

    def q(self, sql, params=()):
        cur = self._execute(sql, params)
        return cur.fetchall() if cur.description is not None else []

    @contextlib.contextmanager
    def write(self):
        self.conn.execute("BEGIN ISOLATION LEVEL READ COMMITTED")
        self.in_tx = True
        try:
            yield self
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        else:
            self.conn.execute("COMMIT")
        finally:
            self.in_tx = False

    def lock_head(self) -> None:
        self.q("SELECT value FROM meta WHERE key = 'head_id' FOR UPDATE")

    def table_exists(self, name: str) -> bool:
        return bool(self.q("SELECT 1 FROM information_schema.tables WHERE table_schema = current_schema() "
                           "AND table_name = ?", (name,)))

    def close(self):
        self.conn.close()

    def __str__(self):
        return _redact(self.url)


def _redact(url: str) -> str:
    """Hide a password in a URL."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        cred, host = rest.rsplit("@", 1)
        if ":" in cred:
            cred = cred.split(":", 1)[0] + ":***"
        return f"{scheme}://{cred}@{host}"
    return url


def connect(target, *, create: bool = False) -> _Base:
    if is_url(target):
        return Postgres(str(target), create=create)
    if "://" in str(target):
        raise RegisterError(f"register {target!r}: only a file path or a postgresql:// URL is allowed")
    return SQLite(Path(target), create=create)
