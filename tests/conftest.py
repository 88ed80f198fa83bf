"""Shared fixtures."""
from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PROTOCOL = ROOT / "protocols" / "ressourceforloeb.toml"


@pytest.fixture(scope="session")
def protocol():
    from trial.protocol import load

    return load(PROTOCOL)
