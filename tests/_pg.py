"""A throwaway PostgreSQL server for the register tests.

Uses Debian's binaries (``/usr/lib/postgresql/*/bin/initdb``, ``pg_ctl``) in a
temporary directory, listening on a unix socket only. PostgreSQL refuses to
run as root, so as root the server runs as the ``postgres`` user (via
``runuser``). Tests that need it skip with the reason when the binaries, the
user or psycopg are missing.

Import ``pg_server`` (session fixture) and ``pg_url`` (a fresh database per
test) into a test module to use them.
"""
from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest

__all__ = ["pg_server", "pg_url", "PgServer", "find_bin"]


def find_bin() -> Path | None:
    hits = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4])
                  if p.split("/")[4].isdigit() else 0)
    return Path(hits[-1]).parent if hits else None


class PgServer:
    def __init__(self):
        self.bindir = find_bin()
        if self.bindir is None:
            raise RuntimeError("PostgreSQL binaries not found under /usr/lib/postgresql/*/bin "
                               "(apt-get install postgresql)")
        import importlib.util

        if importlib.util.find_spec("psycopg") is None:
            raise RuntimeError("psycopg 3 is not installed")
        self.root = Path(tempfile.mkdtemp(prefix="trial-pg-"))
        self.data = self.root / "data"
        self.sock = self.root / "sock"
        self.sock.mkdir()
        self.prefix: list[str] = []
        self.user = "postgres"
        if os.geteuid() == 0:
            if shutil.which("runuser") is None:
                raise RuntimeError("running as root and `runuser` is missing: cannot start PostgreSQL")
            try:
                import pwd

                pw = pwd.getpwnam("postgres")
            except KeyError:
                raise RuntimeError("running as root and there is no `postgres` user") from None
            os.chown(self.root, pw.pw_uid, pw.pw_gid)
            os.chown(self.sock, pw.pw_uid, pw.pw_gid)
            self.prefix = ["runuser", "-u", "postgres", "--"]
        self.port = 5400 + (os.getpid() % 500)
        self._run([str(self.bindir / "initdb"), "-D", str(self.data), "-A", "trust", "-U", self.user,
                   "--no-sync", "-E", "UTF8"])
        opts = f"-k {self.sock} -c listen_addresses='' -p {self.port} -c fsync=on -c max_connections=50"
        self._run([str(self.bindir / "pg_ctl"), "-D", str(self.data), "-o", opts, "-l",
                   str(self.root / "log"), "-w", "-t", "60", "start"])
        self.running = True

    def _run(self, cmd):
        r = subprocess.run(self.prefix + cmd, capture_output=True, text=True, cwd=self.root)
        if r.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd[:1])} failed: {r.stderr.strip() or r.stdout.strip()}")

    def url(self, db: str = "postgres") -> str:
        return f"postgresql://{self.user}@/{db}?host={self.sock}&port={self.port}"

    def new_database(self) -> str:
        import psycopg

        name = "t_" + uuid.uuid4().hex[:12]
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return self.url(name)

    def stop(self):
        if getattr(self, "running", False):
            subprocess.run(self.prefix + [str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate",
                                          "stop"], capture_output=True)
            self.running = False
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_server():
    try:
        server = PgServer()
    except Exception as exc:  # noqa: BLE001 - any reason to skip is reported
        pytest.skip(f"no PostgreSQL server for the register tests: {exc}")
    yield server
    server.stop()


@pytest.fixture
def pg_url(pg_server):
    return pg_server.new_database()
