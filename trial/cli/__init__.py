"""The ``trial`` command: a thin layer over the library.

Each command lives in a module ``trial/cli/cmd_<name>.py`` that defines

* ``add_parser(subparsers)``: registers its argparse sub-parser (imports only
  argparse: heavy libraries are imported inside ``run`` so ``trial --help``
  stays fast), and sets ``func=run`` on it;
* ``run(args) -> int``: loads what it needs, calls one library function,
  prints the result (``--json`` for machines) and returns the exit code.

Exit codes: 0 success, 1 a check failed, 2 bad input or usage.
"""
from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

from .. import __version__

__all__ = ["main", "build_parser"]


def _command_modules():
    pkg = sys.modules[__name__]
    names = sorted(m.name for m in pkgutil.iter_modules(pkg.__path__) if m.name.startswith("cmd_"))
    return [importlib.import_module(f"{__name__}.{n}") for n in names]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="trial",
        description="Run and evaluate a randomized trial in Danish employment policy "
        "(BI25 ressourceforløb): protocol, intake, randomization, power, estimation, "
        "business case and the steering group's report.",
    )
    parser.add_argument("--version", action="version", version=f"trial {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for mod in _command_modules():
        mod.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    from ._common import run_command

    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        if getattr(args, "command", None) and getattr(args, "_parser", None):
            args._parser.print_help()
        else:
            parser.print_help()
        return 2
    return run_command(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
