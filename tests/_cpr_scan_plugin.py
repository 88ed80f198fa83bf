"""Pytest plugin: no CPR number in anything the test run writes or prints.

Enable it from ``tests/conftest.py``::

    pytest_plugins = ["tests._cpr_scan_plugin"]

At the end of the session it scans

* every file under the run's base temporary directory (``tmp_path`` and
  ``tmp_path_factory`` output of every test),
* the repository's ``reports/``, ``notebooks/`` and ``bench/`` folders,
* everything the tests printed or logged (pytest's captured stdout, stderr and
  log sections of every test phase),

for CPR-like numbers (:data:`trial._cpr.CPR_PATTERN`:
``DDMMYY-SSSS`` or ``DDMMYYSSSS`` with a plausible day and month) and fails
the session (exit status 1, with the places listed and the numbers masked) if
any is found.

Not scanned, because they are *input* and hold synthetic CPR numbers by design:
``tests/data/`` (the intake corpus), ``bench/_data/`` (the benchmark's panel),
any directory named ``exports`` (simulated municipal exports, e.g. the demo's
``<out>/exports/``) and any directory whose name starts with ``cpr_input``
(use ``tmp_path / "cpr_input"`` for synthetic input files in a test).
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Digits right after "<digit>." are the decimals of a number (JSON/Python floats such as
# 10295.0807978224), not a CPR number: skipping them avoids chance false positives.
CPR_BYTES = re.compile(rb"(?<!\d\.)\b(0[1-9]|[12][0-9]|3[01])(0[1-9]|1[0-2])[0-9]{2}-?[0-9]{4}\b")
REPO_DIRS = ("reports", "notebooks", "bench")
EXCLUDED_DIRS = (ROOT / "tests" / "data", ROOT / "bench" / "_data")
MAX_BYTES = 200 * 2**20  # files larger than this are scanned in their first 200 MiB


def is_input_path(path: Path) -> bool:
    """True for synthetic *input* data that legitimately holds CPR numbers."""
    path = Path(path)
    if any(part == "exports" or part.startswith("cpr_input") for part in path.parts):
        return True
    try:
        resolved = path.resolve()
    except OSError:  # pragma: no cover
        return False
    return any(resolved == d or d in resolved.parents for d in EXCLUDED_DIRS)


def _masked(match: bytes) -> str:
    return match[:6].decode("ascii", "replace") + "-XXXX"


def scan_bytes(data: bytes) -> list[str]:
    """Masked forms of the CPR-like numbers in ``data``."""
    return [_masked(m.group(0)) for m in CPR_BYTES.finditer(data)]


def scan_tree(root: Path) -> list[tuple[str, list[str]]]:
    """(file, masked hits) for every file under ``root`` with a CPR-like number."""
    found = []
    root = Path(root)
    if not root.exists():
        return found
    for path in sorted(p for p in root.rglob("*") if p.is_file() and not p.is_symlink()):
        if is_input_path(path.relative_to(root)) or is_input_path(path):
            continue
        try:
            with open(path, "rb") as fh:
                data = fh.read(MAX_BYTES)
        except OSError:  # pragma: no cover - vanished or unreadable
            continue
        hits = scan_bytes(data) + scan_text(str(path.relative_to(root)).replace("_", " "))  # contents and name
        if hits:
            found.append((str(path), hits))
    return found


def scan_text(text: str) -> list[str]:
    return scan_bytes(text.encode("utf-8", "replace"))


class _Guard:
    def __init__(self):
        self.output_hits: list[tuple[str, str, list[str]]] = []
        self.basetemp: Path | None = None

    # every test phase: captured stdout/stderr/log
    @pytest.hookimpl(trylast=True)
    def pytest_runtest_logreport(self, report):
        for title, content in getattr(report, "sections", []):
            hits = scan_text(content)
            if hits:
                self.output_hits.append((report.nodeid, title, hits))

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session, exitstatus):
        problems = []
        try:
            basetemp = session.config._tmp_path_factory.getbasetemp()
        except Exception:  # pragma: no cover - tmp_path plugin disabled
            basetemp = None
        places = [Path(basetemp)] if basetemp else []
        places += [ROOT / d for d in REPO_DIRS]
        for place in places:
            for file, hits in scan_tree(place):
                problems.append(f"file {file}: {', '.join(sorted(set(hits))[:5])}")
        for nodeid, title, hits in self.output_hits:
            problems.append(f"{nodeid} [{title}]: {', '.join(sorted(set(hits))[:5])}")
        self.problems = problems
        if problems:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter):
        problems = getattr(self, "problems", [])
        if problems:
            terminalreporter.section("CPR LEAK", sep="!", red=True, bold=True)
            terminalreporter.line("CPR-like numbers found in test output (masked):", red=True)
            for p in problems[:50]:
                terminalreporter.line(f"  {p}", red=True)
        else:
            terminalreporter.write_line("cpr scan: no CPR-like number in files written, reports/, notebooks/, "
                                        "bench/ or captured output")


def pytest_configure(config):
    config.pluginmanager.register(_Guard(), "cpr_scan_guard")
