"""Shared fixtures."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

# CI runs the property tests on a fixed set of examples (derandomized), so a
# submission cannot fail on an example nobody has seen; locally they explore.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

pytest_plugins = ["tests._cpr_scan_plugin"]


class _NodeSeededSecrets:
    """Stand-in for the `secrets` module inside trial._keys while CI runs.

    A key file created by a test (``trial init`` without ``--key-file``) gets
    fresh random secrets, so its pseudonyms and allocations differ per run. In
    CI they are drawn from a generator seeded by the test's node id and a
    per-test counter: the same test gives the same key on every CI run (and
    ``CI=true make test`` reproduces CI locally), while different key files in
    one test still differ. Local runs keep the operating system's randomness
    and so keep exploring.
    """

    def __init__(self):
        self._counts: dict[str, int] = {}

    def token_bytes(self, nbytes: int = 32) -> bytes:
        import hashlib
        import random

        node = os.environ.get("PYTEST_CURRENT_TEST", "").rsplit(" (", 1)[0]
        k = self._counts[node] = self._counts.get(node, 0) + 1
        seed = int.from_bytes(hashlib.sha256(f"{node}#{k}".encode()).digest()[:8], "big")
        return random.Random(seed).randbytes(nbytes)

    def token_hex(self, nbytes: int = 32) -> str:
        return self.token_bytes(nbytes).hex()


@pytest.fixture(scope="session", autouse=True)
def _ci_fixed_key_secrets():
    if not os.environ.get("CI"):
        yield
        return
    import trial._keys

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(trial._keys, "secrets", _NodeSeededSecrets())
        yield

ROOT = Path(__file__).resolve().parent.parent
PROTOCOL = ROOT / "protocols" / "ressourceforloeb.toml"


@pytest.fixture(scope="session")
def protocol():
    from trial.protocol import load

    return load(PROTOCOL)
