"""Key files record their purpose: rehearsal (seeded) keys and test keys never serve a production register.

Exact checks: which key/mode pairs are refused, by the library and by `trial init` (exit 2, nothing
written), what the key file records, and that key files written before these fields existed still load.
"""
from __future__ import annotations

import json
import stat

import pytest

from trial._keys import (KeyFile, check_purpose, create_key_file, default_key_path, load_key_file,
                         record_mode)
from trial.cli import main
from trial.exceptions import RegisterError
from trial.register import Register


def _fields(path) -> dict:
    d = json.loads(path.read_text())
    return {k: v for k, v in d.items() if k not in ("pseudonym_key", "allocation_secret")}


def _legacy(path, src) -> None:
    """A key file as written before `rehearsal` and `mode` existed (same secrets as ``src``)."""
    d = json.loads(src.read_text())
    path.write_text(json.dumps({k: d[k] for k in ("version", "pseudonym_key", "allocation_secret")}))
    path.chmod(0o600)


def test_created_keys_record_rehearsal(tmp_path):
    fresh = create_key_file(tmp_path / "fresh.key")
    seeded = create_key_file(tmp_path / "seeded.key", seed=2016)
    assert _fields(tmp_path / "fresh.key") == {"version": 1, "rehearsal": False}
    assert _fields(tmp_path / "seeded.key") == {"version": 1, "rehearsal": True}
    assert (fresh.rehearsal, fresh.mode, seeded.rehearsal, seeded.mode) == (False, None, True, None)
    # the same seed gives the same secrets (the demo's reproducibility rests on it)
    again = create_key_file(tmp_path / "again.key", seed=2016)
    assert (again.pseudonym_key, again.allocation_secret) == (seeded.pseudonym_key, seeded.allocation_secret)
    assert "secret" not in repr(seeded) and seeded.pseudonym_key.hex() not in repr(seeded)


@pytest.mark.parametrize("rehearsal, mode, allowed", [
    (True, None, {"test"}),
    (True, "test", {"test"}),
    (False, None, {"test", "production"}),
    (False, "test", {"test"}),
    (False, "production", {"production"}),
    (None, None, {"test", "production"}),       # legacy file with random secrets: unknown purpose
])
def test_check_purpose_table(rehearsal, mode, allowed):
    key = KeyFile("k.key", b"p" * 32, b"a" * 32, rehearsal=rehearsal, mode=mode)
    for m in ("test", "production"):
        if m in allowed:
            check_purpose(key, m)
        else:
            with pytest.raises(RegisterError, match="fresh key"):
                check_purpose(key, m)
    with pytest.raises(RegisterError, match="mode"):
        check_purpose(key, "prod")


def test_legacy_seeded_key_is_a_rehearsal_key(tmp_path):
    create_key_file(tmp_path / "seeded.key", seed=7)
    _legacy(tmp_path / "old.key", tmp_path / "seeded.key")
    old = load_key_file(tmp_path / "old.key")
    assert old.rehearsal is None and old.mode is None
    check_purpose(old, "test")
    with pytest.raises(RegisterError, match="rehearsal key"):
        check_purpose(old, "production")


def test_production_register_refuses_rehearsal_and_test_keys(tmp_path, protocol):
    demo = create_key_file(tmp_path / "demo.key", seed=2016)
    with pytest.raises(RegisterError, match="rehearsal key"):
        Register.create(tmp_path / "p.sqlite", protocol, key=demo, mode="production")
    assert not (tmp_path / "p.sqlite").exists()
    # the demo's use: a seeded key for a TEST register works, and the file now says so
    with Register.create(tmp_path / "t.sqlite", protocol, key=demo, mode="test") as r:
        assert r.mode == "test"
    assert _fields(tmp_path / "demo.key") == {"version": 1, "rehearsal": True, "mode": "test"}
    assert stat.S_IMODE((tmp_path / "demo.key").stat().st_mode) == 0o600
    fresh = create_key_file(tmp_path / "fresh.key")
    with Register.create(tmp_path / "t2.sqlite", protocol, key=fresh, mode="test"):
        pass
    with pytest.raises(RegisterError, match="used for a test register"):
        Register.create(tmp_path / "p.sqlite", protocol, key=load_key_file(tmp_path / "fresh.key"),
                        mode="production")
    with pytest.raises(RegisterError, match="used for a test register"):   # a KeyFile loaded before: the file says
        Register.create(tmp_path / "p.sqlite", protocol, key=fresh, mode="production")
    assert not (tmp_path / "p.sqlite").exists()


def test_record_mode_touches_only_the_same_key(tmp_path):
    mem = KeyFile(str(tmp_path / "absent.key"), b"p" * 32, b"a" * 32)
    assert record_mode(mem, "test") is mem and not (tmp_path / "absent.key").exists()
    create_key_file(tmp_path / "other.key")
    before = (tmp_path / "other.key").read_bytes()
    assert record_mode(KeyFile(str(tmp_path / "other.key"), b"p" * 32, b"a" * 32), "production").mode is None
    assert (tmp_path / "other.key").read_bytes() == before           # another key's file is never rewritten
    k = create_key_file(tmp_path / "k.key")
    assert record_mode(k, "production").mode == "production"
    assert load_key_file(tmp_path / "k.key").allocation_secret == k.allocation_secret
    assert sorted(p.name for p in tmp_path.iterdir()) == ["k.key", "other.key"]   # no temporary file left


def test_key_file_fields_are_validated(tmp_path):
    create_key_file(tmp_path / "k.key")
    d = json.loads((tmp_path / "k.key").read_text())
    for field, value, match in (("rehearsal", "yes", "rehearsal"), ("mode", "prod", "mode")):
        (tmp_path / "bad.key").write_text(json.dumps({**d, field: value}))
        with pytest.raises(RegisterError, match=match):
            load_key_file(tmp_path / "bad.key")
    (tmp_path / "bad.key").write_text("[1, 2]")
    with pytest.raises(RegisterError, match="not a valid trial key file"):
        load_key_file(tmp_path / "bad.key")


def test_cli_init_production_refuses_unfit_keys(tmp_path, protocol, capsys):
    """QA: `trial init --mode production --key-file reports/demo/demo.key` used to exit 0."""
    create_key_file(tmp_path / "demo.key", seed=2016)
    _legacy(tmp_path / "old_demo.key", tmp_path / "demo.key")
    reg = str(tmp_path / "p.sqlite")
    for k in ("demo.key", "old_demo.key"):
        code = main(["init", "--protocol", str(protocol.path), "--register", reg, "--mode", "production",
                     "--key-file", str(tmp_path / k)])
        err = capsys.readouterr().err
        assert code == 2 and "rehearsal key" in err and "fresh key" in err, err
        assert not (tmp_path / "p.sqlite").exists()
    # a key made by `trial init` for a test register
    assert main(["init", "--protocol", str(protocol.path), "--register", str(tmp_path / "t.sqlite")]) == 0
    assert _fields(tmp_path / "t.sqlite.key") == {"version": 1, "rehearsal": False, "mode": "test"}
    capsys.readouterr()
    code = main(["init", "--protocol", str(protocol.path), "--register", reg, "--mode", "production",
                 "--key-file", str(tmp_path / "t.sqlite.key"), "--json"])
    out = capsys.readouterr()
    assert code == 2 and "used for a test register" in json.loads(out.out)["message"]
    assert not (tmp_path / "p.sqlite").exists()
    # what to do: let init create a fresh key
    assert main(["init", "--protocol", str(protocol.path), "--register", reg, "--mode", "production"]) == 0
    assert _fields(default_key_path(reg)) == {"version": 1, "rehearsal": False, "mode": "production"}
    capsys.readouterr()
    # and that production key cannot serve a test register
    code = main(["init", "--protocol", str(protocol.path), "--register", str(tmp_path / "t2.sqlite"),
                 "--key-file", str(default_key_path(reg))])
    assert code == 2 and "belongs to a production register" in capsys.readouterr().err
    assert not (tmp_path / "t2.sqlite").exists()


def test_cli_init_failure_leaves_no_new_key(tmp_path, protocol, capsys):
    reg = str(tmp_path / "r.sqlite")
    assert main(["init", "--protocol", str(protocol.path), "--register", reg]) == 0
    code = main(["init", "--protocol", str(protocol.path), "--register", reg, "--key-file",
                 str(tmp_path / "new.key")])
    assert code == 2 and "exists already" in capsys.readouterr().err
    assert not (tmp_path / "new.key").exists()


def test_a_key_file_others_can_read_is_used_with_a_warning(tmp_path, capsys):
    import os
    import warnings

    from trial.exceptions import TrialWarning

    if os.name != "posix":
        pytest.skip("file modes are POSIX")
    reg, key = tmp_path / "r.sqlite", tmp_path / "r.sqlite.key"
    assert main(["init", "--protocol", "protocols/ressourceforloeb.toml", "--register", str(reg)]) == 0
    with warnings.catch_warnings():
        warnings.simplefilter("error", TrialWarning)
        load_key_file(key)                                  # created 0600: no warning
        key.chmod(0o644)                                    # e.g. a copy or a restore from an archive
        with pytest.raises(TrialWarning, match=r"can be read or changed by other users \(mode 0644\); "
                                               r"restrict it: chmod 600"):
            load_key_file(key)
    capsys.readouterr()
    assert main(["verify", "--register", str(reg)]) == 0          # still works ...
    err = capsys.readouterr().err
    assert err.count("trial: warning: key file") == 1 and "chmod 600" in err    # ... and says so once
    key.chmod(0o600)
    assert main(["verify", "--register", str(reg)]) == 0
    assert "warning" not in capsys.readouterr().err
