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

ROOT = Path(__file__).resolve().parent.parent
PROTOCOL = ROOT / "protocols" / "ressourceforloeb.toml"


@pytest.fixture(scope="session")
def protocol():
    from trial.protocol import load

    return load(PROTOCOL)
