"""Static checks of the library: no unused imports or names, no undefined names (pyflakes)."""
from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_library_is_pyflakes_clean():
    api = pytest.importorskip("pyflakes.api")
    from pyflakes import reporter as _reporter
    import io

    out, err = io.StringIO(), io.StringIO()
    n = api.checkRecursive([str(ROOT / "trial"), str(ROOT / "bench")], _reporter.Reporter(out, err))
    assert n == 0, out.getvalue() + err.getvalue()
