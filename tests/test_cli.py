"""The CLI: every command has help; --version; start-up stays light."""
from __future__ import annotations

import subprocess
import sys

from trial.cli import build_parser


def _subcommands(parser, prefix=()):
    import argparse

    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield prefix + (name,), sub
                yield from _subcommands(sub, prefix + (name,))


def test_every_command_has_help():
    parser = build_parser()
    commands = list(_subcommands(parser))
    assert len(commands) >= 3
    for path, sub in commands:
        assert sub.description or sub.format_help(), path
        text = sub.format_help()
        assert "usage: trial " + " ".join(path) in text
    # and each help is reachable from the shell
    for path, _ in commands[:50]:
        r = subprocess.run([sys.executable, "-m", "trial.cli", *path, "--help"], capture_output=True, text=True)
        assert r.returncode == 0, (path, r.stderr)


def test_version():
    from trial import __version__

    r = subprocess.run([sys.executable, "-m", "trial.cli", "--version"], capture_output=True, text=True)
    assert r.returncode == 0 and __version__ in r.stdout


def test_help_does_not_import_heavy_libraries():
    code = ("import sys; from trial.cli import build_parser; build_parser().format_help(); "
            "heavy = [m for m in ('pandas', 'scipy', 'statsmodels', 'matplotlib', 'linearmodels') if m in sys.modules]; "
            "print(','.join(heavy))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "", f"--help imports {r.stdout.strip()}"


def test_no_command_prints_help_and_exits_2():
    r = subprocess.run([sys.executable, "-m", "trial.cli"], capture_output=True, text=True)
    assert r.returncode == 2 and "usage: trial" in r.stdout


def _trial(*args, env=None):
    return subprocess.run([sys.executable, "-m", "trial.cli", *args], capture_output=True, text=True, env=env)


def test_demo_refuses_a_folder_that_is_not_an_earlier_demo(tmp_path):
    work = tmp_path / "mywork"
    work.mkdir()
    (work / "thesis.docx").write_text("years of work")
    r = _trial("demo", "--out", str(work))
    assert r.returncode == 2 and "not an earlier demo's output" in r.stderr
    assert (work / "thesis.docx").read_text() == "years of work"
    r = _trial("demo", "--out", str(tmp_path / "new"), "--n-referrals", "0")
    assert r.returncode == 2 and "n_referrals" in r.stderr and not (tmp_path / "new").exists()
    r = _trial("demo", "--out", str(tmp_path / "new"), "--protocol", str(tmp_path / "nope.toml"))
    assert r.returncode == 2 and not (tmp_path / "new").exists()


def test_unusable_paths_are_bad_input_not_tracebacks(tmp_path):
    r = _trial("init", "--protocol", "protocols/ressourceforloeb.toml", "--register", "/proc/nope/r.sqlite")
    assert r.returncode == 2 and "Traceback" not in r.stderr and "/proc/nope" in r.stderr


def test_sigterm_removes_the_demo_exports(tmp_path):
    import os
    import signal
    import time

    scratch = tmp_path / "scratch"
    scratch.mkdir()
    env = dict(os.environ, TMPDIR=str(scratch))
    proc = subprocess.Popen([sys.executable, "-m", "trial.cli", "demo", "--out", str(tmp_path / "d")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, text=True)
    deadline = time.time() + 60
    while time.time() < deadline and not any(scratch.glob("trial-demo-exports-*/referrals.csv")):
        time.sleep(0.05)
    assert any(scratch.glob("trial-demo-exports-*")), "the demo never wrote its exports"
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "interrupted" in err
    assert not any(scratch.glob("trial-demo-exports-*"))
