"""Secret key file: the pseudonymisation key and the allocation secret.

The key file lives *outside* the register and the data (by default next to the
register as ``<register>.key``), is created with owner-only permissions (0600)
and holds JSON ``{"version": 1, "pseudonym_key": hex, "allocation_secret": hex}``.
Whoever holds the register but not the key file can neither re-identify a
pseudonym nor foresee an allocation.
"""
from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from .exceptions import RegisterError

__all__ = ["KeyFile", "load_key_file", "create_key_file", "default_key_path"]


@dataclass(frozen=True)
class KeyFile:
    path: str
    pseudonym_key: bytes
    allocation_secret: bytes

    def __repr__(self) -> str:  # never print secrets
        return f"KeyFile(path={self.path!r})"


def default_key_path(register: str | os.PathLike) -> Path:
    """``<register>.key`` beside a SQLite register; ``~/.trial/<name>.key`` for a URL."""
    s = str(register)
    if "://" in s:
        name = "".join(ch if ch.isalnum() else "_" for ch in s.split("://", 1)[1])[:80]
        return Path.home() / ".trial" / f"{name}.key"
    return Path(s + ".key")


def create_key_file(path: str | os.PathLike, *, exist_ok: bool = False, seed: int | None = None) -> KeyFile:
    """Create a new key file with fresh random secrets, permissions 0600.

    Raises RegisterError if it exists (unless ``exist_ok``, which loads it).

    ``seed`` derives the secrets deterministically from a number instead of
    the operating system's random source. It exists for rehearsals (``trial
    demo``, tests) so that the same seed gives the same pseudonyms, the same
    allocations and the same report; never use it for a production register,
    whose secrets must be unguessable.
    """
    path = Path(path)
    if path.exists():
        if exist_ok:
            return load_key_file(path)
        raise RegisterError(f"key file {path} exists already; refusing to overwrite a key")
    path.parent.mkdir(parents=True, exist_ok=True)
    if seed is None:
        pseudonym_key, allocation_secret = secrets.token_hex(32), secrets.token_hex(32)
    else:
        import hashlib

        pseudonym_key = hashlib.sha256(f"trial rehearsal key {int(seed)} pseudonym".encode()).hexdigest()
        allocation_secret = hashlib.sha256(f"trial rehearsal key {int(seed)} allocation".encode()).hexdigest()
    payload = {"version": 1, "pseudonym_key": pseudonym_key, "allocation_secret": allocation_secret}
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(payload, fh)
    os.chmod(path, 0o600)
    return load_key_file(path)


def load_key_file(path: str | os.PathLike) -> KeyFile:
    path = Path(path)
    try:
        payload = json.loads(path.read_text())
        return KeyFile(str(path), bytes.fromhex(payload["pseudonym_key"]),
                       bytes.fromhex(payload["allocation_secret"]))
    except FileNotFoundError:
        raise RegisterError(f"key file {path} not found; create it with `trial init` or pass --key-file") from None
    except (ValueError, KeyError, TypeError):
        raise RegisterError(f"key file {path} is not a valid trial key file") from None
