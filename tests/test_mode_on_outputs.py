"""Issue 3: "the mode is shown on every output". Every command that reads or writes a register says
whether it is a TEST or a PRODUCTION register, in its text and in its JSON."""
from __future__ import annotations

import json
import re

import pytest

from trial.cli import main


@pytest.fixture(scope="module")
def reg(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("mode")
    ex, r = tmp / "exports", str(tmp / "r.sqlite")
    assert main(["simulate", "--out", str(ex), "--seed", "5", "--n-referrals", "120"]) == 0
    assert main(["init", "--protocol", "protocols/ressourceforloeb.toml", "--register", r]) == 0
    assert main(["enroll", "--register", r, str(ex / "referrals.csv")]) == 0
    return r, ex


def _commands(r, ex):
    load = ["outcomes", "load", "--register", r, "--status", str(ex / "status.csv"), "--events",
            str(ex / "events.csv"), "--survey", str(ex / "survey.csv")]
    return {
        "enroll": ["enroll", "--register", r, str(ex / "referrals.csv")],
        "verify": ["verify", "--register", r],
        "balance": ["balance", "--register", r, "--n-resamples", "50"],
        "outcomes load": load,
        "analyze": ["analyze", "--register", r, "--n-resamples", "20"],
        "business-case": ["business-case", "--register", r, "--draws", "50"],
    }


def test_every_register_command_shows_the_mode(reg, capsys):
    r, ex = reg
    for name, argv in _commands(r, ex).items():
        capsys.readouterr()
        assert main(argv) == 0, name
        out = capsys.readouterr()
        assert re.search(r"\[TEST( register)?\]", out.out + out.err), name
        assert main(argv + ["--json"]) == 0, name
        data = json.loads(capsys.readouterr().out)
        modes = [d.get("mode") for d in data] if isinstance(data, list) else [data.get("mode")]
        assert modes and set(modes) == {"test"}, (name, modes)
