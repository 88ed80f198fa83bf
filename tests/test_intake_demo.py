"""Demo step 20 (intake) on the simulator's exports: frames on ctx, key file 0600, no CPR written."""
from __future__ import annotations

import json
import stat
from types import SimpleNamespace

import pytest

from tests import _cpr_scan_plugin as scan


@pytest.fixture(scope="module")
def demo_out(tmp_path_factory, protocol):
    from trial.simulate import rehearse

    out = tmp_path_factory.mktemp("demo_intake")
    rehearse(protocol, 120, out / "exports", seed=7)   # 'exports': input, excluded from the CPR scan
    return out


def test_step_reads_all_exports(demo_out, protocol):
    from trial._demo import step_20_intake

    lines = []
    ctx = SimpleNamespace(out=demo_out, protocol=protocol, seed=7, echo=lines.append, exports_dir=demo_out / "exports")
    step_20_intake.run(ctx)
    assert set(ctx.frames) == {"referrals", "status", "events", "survey"}
    assert len(ctx.frames["referrals"]) == 120
    assert all("cpr" not in df.columns for df in ctx.frames.values())
    assert ctx.key_file == demo_out / "demo.key"
    assert stat.S_IMODE(ctx.key_file.stat().st_mode) == 0o600
    summary = json.loads((demo_out / "intake_summary.json").read_text())
    assert summary["referrals"] == {"rows": 120, "citizens": 120}
    text = "\n".join(lines)
    assert "valid" in text and scan.scan_text(text) == []
    # everything the step wrote (outside the input exports) is free of CPR numbers
    assert scan.scan_tree(demo_out) == []
    # a second run reuses the key: same pseudonyms
    ctx2 = SimpleNamespace(out=demo_out, protocol=protocol, seed=7, echo=lines.append, key_file=ctx.key_file,
                           exports_dir=demo_out / "exports")
    step_20_intake.run(ctx2)
    assert ctx2.frames["status"].equals(ctx.frames["status"])


def test_step_without_exports_says_so(tmp_path, protocol):
    from trial._demo import step_20_intake

    lines = []
    ctx = SimpleNamespace(out=tmp_path, protocol=protocol, seed=7, echo=lines.append, exports_dir=tmp_path / "exports")
    step_20_intake.run(ctx)
    assert ctx.frames == {} and sum("not read" in line for line in lines) == 4
