"""Secret key file: the pseudonymisation key and the allocation secret.

The key file lives *outside* the register and the data (by default next to the
register as ``<register>.key``), is created with owner-only permissions (0600)
and holds JSON::

    {"version": 1, "pseudonym_key": hex, "allocation_secret": hex,
     "rehearsal": false, "mode": "production"}

Whoever holds the register but not the key file can neither re-identify a
pseudonym nor foresee an allocation.

A key file records its purpose, so a guessable key cannot protect a real trial:

* ``"rehearsal": true`` marks secrets derived from a seed
  (``create_key_file(seed=...)``, used by ``trial demo`` and tests): anyone who
  knows the seed can compute the pseudonyms and the allocation sequence;
* ``"mode"`` (``"test"`` or ``"production"``) is written into the file when a
  register is initialised with it (:func:`record_mode`).

:func:`check_purpose` refuses a rehearsal key, or a key recorded for a test
register, for a production register, and a key recorded for production for a
test register (a test register must not hold the production pseudonyms).
Key files written before these fields existed load as *unknown purpose*:
allowed for a test register, and for a production register only if their
secrets are not those of a seeded rehearsal key (recomputed for the seeds
0–99,999, which covers every seed ``trial demo`` and the tests use).
"""
from __future__ import annotations

import hashlib
import json
import os
import secrets
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .exceptions import RegisterError

__all__ = ["KeyFile", "load_key_file", "create_key_file", "default_key_path", "check_purpose", "record_mode",
           "KEY_MODES"]

#: Register modes a key file can be recorded for.
KEY_MODES = ("test", "production")

#: Legacy key files (no ``rehearsal`` field) are checked against the rehearsal keys of these seeds.
_LEGACY_SEEDS = range(100_000)


@dataclass(frozen=True)
class KeyFile:
    """A loaded key file.

    Attributes
    ----------
    path : str
    pseudonym_key, allocation_secret : bytes
        The secrets (never printed).
    rehearsal : bool or None
        True: the secrets were derived from a seed (guessable: rehearsals
        only); False: fresh random secrets; None: not recorded (a key file
        written before the field existed).
    mode : str or None
        ``"test"`` or ``"production"``: the mode of the register(s)
        initialised with this key; None when none is recorded.
    """

    path: str
    pseudonym_key: bytes
    allocation_secret: bytes
    rehearsal: bool | None = None
    mode: str | None = None

    def __repr__(self) -> str:  # never print secrets
        return f"KeyFile(path={self.path!r}, rehearsal={self.rehearsal!r}, mode={self.mode!r})"


def default_key_path(register: str | os.PathLike) -> Path:
    """``<register>.key`` beside a SQLite register; ``~/.trial/<name>.key`` for a URL."""
    s = str(register)
    if "://" in s:
        name = "".join(ch if ch.isalnum() else "_" for ch in s.split("://", 1)[1])[:80]
        return Path.home() / ".trial" / f"{name}.key"
    return Path(s + ".key")


def _rehearsal_secrets(seed: int) -> tuple[str, str]:
    return (hashlib.sha256(f"trial rehearsal key {int(seed)} pseudonym".encode()).hexdigest(),
            hashlib.sha256(f"trial rehearsal key {int(seed)} allocation".encode()).hexdigest())


def create_key_file(path: str | os.PathLike, *, exist_ok: bool = False, seed: int | None = None) -> KeyFile:
    """Create a new key file with fresh random secrets, permissions 0600.

    Raises RegisterError if it exists (unless ``exist_ok``, which loads it).

    ``seed`` derives the secrets deterministically from a number instead of
    the operating system's random source. It exists for rehearsals (``trial
    demo``, tests) so that the same seed gives the same pseudonyms, the same
    allocations and the same report; such a file is marked
    ``"rehearsal": true`` and a production register refuses it, because its
    secrets can be computed by anyone who knows the seed.
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
        pseudonym_key, allocation_secret = _rehearsal_secrets(seed)
    payload = {"version": 1, "pseudonym_key": pseudonym_key, "allocation_secret": allocation_secret,
               "rehearsal": seed is not None}
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(payload, fh)
    os.chmod(path, 0o600)
    return load_key_file(path)


def _read_payload(path: Path) -> dict:
    try:
        payload = json.loads(path.read_text())
    except FileNotFoundError:
        raise RegisterError(f"key file {path} not found; create it with `trial init` or pass --key-file") from None
    except (ValueError, UnicodeDecodeError):
        raise RegisterError(f"key file {path} is not a valid trial key file (not JSON)") from None
    if not isinstance(payload, dict):
        raise RegisterError(f"key file {path} is not a valid trial key file (not a JSON object)")
    return payload


def load_key_file(path: str | os.PathLike) -> KeyFile:
    """Load a key file (see the module docstring for its fields).

    Raises
    ------
    RegisterError
        The file does not exist or is not a valid key file (names the field).
    """
    path = Path(path)
    payload = _read_payload(path)
    _warn_if_readable_by_others(path)
    try:
        pk, secret = bytes.fromhex(payload["pseudonym_key"]), bytes.fromhex(payload["allocation_secret"])
    except (ValueError, KeyError, TypeError):
        raise RegisterError(f"key file {path} is not a valid trial key file (pseudonym_key and "
                            f"allocation_secret must be hex text)") from None
    rehearsal = payload.get("rehearsal")
    if rehearsal is not None and not isinstance(rehearsal, bool):
        raise RegisterError(f"key file {path}: `rehearsal` must be true or false; got {rehearsal!r}")
    mode = payload.get("mode")
    if mode is not None and mode not in KEY_MODES:
        raise RegisterError(f"key file {path}: `mode` must be one of {', '.join(KEY_MODES)}; got {mode!r}")
    return KeyFile(str(path), pk, secret, rehearsal=rehearsal, mode=mode)


def _warn_if_readable_by_others(path: Path) -> None:
    """Warn (TrialWarning) when group or others may read or write the key file (POSIX only).

    The key file holds the pseudonymisation key and the allocation secret:
    whoever reads it can link pseudonyms to CPR numbers and foresee the next
    allocation. It is created 0600; a copy or an archive restore may widen it.
    """
    if os.name != "posix":
        return
    import stat
    import warnings

    from .exceptions import TrialWarning

    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return
    if mode & 0o077:
        warnings.warn(TrialWarning(f"key file {path} can be read or changed by other users (mode {mode:04o}); "
                                   f"restrict it: chmod 600 {path}"), stacklevel=3)


def _is_seeded(key: KeyFile) -> bool:
    """True when a key without the ``rehearsal`` field has the secrets of a seeded rehearsal key."""
    target = key.allocation_secret.hex()
    return any(hashlib.sha256(f"trial rehearsal key {s} allocation".encode()).hexdigest() == target
               for s in _LEGACY_SEEDS)


def check_purpose(key: KeyFile, mode: str) -> None:
    """Refuse a key file that must not be used for a register of ``mode``.

    * production: a rehearsal key (seeded, guessable; also a legacy key file
      whose secrets are those of a seeded key), or a key recorded for a test
      register;
    * test: a key recorded for a production register.

    The fields are read from the key file on disk when it holds the same
    secrets (a KeyFile loaded before a register recorded its mode is stale).

    Raises
    ------
    RegisterError
        Saying why and what to do (let ``trial init`` create a fresh key).
    """
    if mode not in KEY_MODES:
        raise RegisterError(f"`mode` must be one of {', '.join(KEY_MODES)}; got {mode!r}")
    key = _current(key)
    fresh = ("let `trial init` create a fresh key: pass --key-file with a path that does not exist yet "
             "(or remove --key-file to use <register>.key, if that does not exist)")
    if mode == "production":
        if key.rehearsal or (key.rehearsal is None and _is_seeded(key)):
            raise RegisterError(f"key file {key.path} is a rehearsal key: its secrets are derived from a seed "
                                f"(trial demo, tests), so anyone who knows the seed can compute the pseudonyms "
                                f"and the allocation sequence; a production register needs unguessable secrets: "
                                f"{fresh}")
        if key.mode == "test":
            raise RegisterError(f"key file {key.path} was used for a test register; test keys travel to test "
                                f"machines and colleagues, so a production register needs a key of its own: "
                                f"{fresh}")
    elif key.mode == "production":
        raise RegisterError(f"key file {key.path} belongs to a production register; a test register must not "
                            f"share the production pseudonyms and secrets: {fresh}")


def _current(key: KeyFile) -> KeyFile:
    """The key as its file says now (a KeyFile loaded before a register recorded its mode is stale)."""
    path = Path(key.path)
    if not path.is_file():
        return key
    try:
        disk = load_key_file(path)
    except RegisterError:
        return key
    same = disk.pseudonym_key == key.pseudonym_key and disk.allocation_secret == key.allocation_secret
    return disk if same else key


def record_mode(key: KeyFile, mode: str) -> KeyFile:
    """Write ``"mode": mode`` into the key file on disk (atomically, 0600); returns the updated KeyFile.

    Nothing is written when the key is not backed by a file at ``key.path``
    holding the same secrets (an in-memory key), or when the mode is recorded
    already.
    """
    if mode not in KEY_MODES:
        raise RegisterError(f"`mode` must be one of {', '.join(KEY_MODES)}; got {mode!r}")
    path = Path(key.path)
    if not path.is_file():
        return key
    try:
        payload = _read_payload(path)
        same = (bytes.fromhex(payload["pseudonym_key"]) == key.pseudonym_key
                and bytes.fromhex(payload["allocation_secret"]) == key.allocation_secret)
    except (RegisterError, ValueError, KeyError, TypeError):
        return key
    if not same:
        return key
    if payload.get("mode") == mode:
        return load_key_file(path)
    payload["mode"] = mode
    fd, tmp = tempfile.mkstemp(prefix=".key-", dir=path.parent)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(payload, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return load_key_file(path)
