"""Shared fixtures."""
from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["tests._cpr_scan_plugin"]

ROOT = Path(__file__).resolve().parent.parent
PROTOCOL = ROOT / "protocols" / "ressourceforloeb.toml"


@pytest.fixture(scope="session")
def protocol():
    from trial.protocol import load

    return load(PROTOCOL)
