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
