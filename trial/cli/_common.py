"""Shared helpers for CLI commands: JSON output, error handling, exit codes."""
from __future__ import annotations

import json
import math
import sys
from typing import Any

EXIT_OK = 0
EXIT_CHECK_FAILED = 1
EXIT_BAD_INPUT = 2


def _default(obj: Any):
    import datetime as dt

    try:
        import numpy as np

        if isinstance(obj, np.integer):
            return int(obj)
        if isinstance(obj, np.floating):
            return _clean(float(obj))
        if isinstance(obj, np.ndarray):
            return [_default(x) if not isinstance(x, (int, float)) else _clean(x) for x in obj.tolist()]
        if isinstance(obj, np.bool_):
            return bool(obj)
    except ImportError:  # pragma: no cover
        pass
    if isinstance(obj, (dt.date, dt.datetime)):
        return obj.isoformat()
    if hasattr(obj, "to_dict"):
        return obj.to_dict()
    if isinstance(obj, (set, frozenset, tuple)):
        return list(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def _clean(x):
    """NaN/inf are not JSON: write them as null."""
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, dict):
        return {k: _clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_clean(v) for v in x]
    return x


def print_json(obj: Any, file=None) -> None:
    """Print ``obj`` as JSON (NaN and infinities as null, numpy types converted)."""
    text = json.dumps(_clean(json.loads(json.dumps(obj, default=_default, allow_nan=True))),
                      ensure_ascii=False, indent=2, allow_nan=False)
    print(text, file=file or sys.stdout)


def add_json_flag(parser) -> None:
    parser.add_argument("--json", action="store_true", help="print the result as JSON")


def _path_error_message(args, exc: OSError) -> str:
    """``"--out rapport.csv: File exists"``: name the option whose path failed, when one did."""
    import os

    filename = getattr(exc, "filename", None)
    reason = exc.strerror or str(exc)
    if not filename:
        return reason
    failed = os.path.abspath(str(filename))
    for dest, value in sorted(vars(args).items()):
        if not isinstance(value, (str, os.PathLike)) or dest.startswith("_") or "://" in str(value):
            continue
        given = os.path.abspath(str(value))
        if failed == given or failed.startswith(given.rstrip(os.sep) + os.sep) or given.startswith(failed + os.sep):
            option = "FILE" if dest == "file" else "--" + dest.replace("_", "-")  # `file` is positional
            return f"{option} {value}: {reason} ({filename})" if failed != given else f"{option} {value}: {reason}"
    return f"{reason}: {filename}"


def run_command(args) -> int:
    """Run ``args.func(args)``, turning domain errors into exit code 2."""
    from ..exceptions import TrialError

    import signal

    def _terminate(signum, frame):  # SIGTERM unwinds like Ctrl-C: temporary files are cleaned up
        raise KeyboardInterrupt

    try:
        signal.signal(signal.SIGTERM, _terminate)
    except ValueError:  # not the main thread (e.g. called from a test runner thread)
        pass
    import warnings

    from ..exceptions import TrialWarning

    shown_before = warnings.showwarning

    def _show(message, category, filename, lineno, file=None, line=None):
        if issubclass(category, TrialWarning):
            print(f"trial: warning: {message}", file=sys.stderr)
        else:
            shown_before(message, category, filename, lineno, file, line)

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("always", TrialWarning)
            warnings.showwarning = _show
            code = args.func(args)
    except TrialError as exc:
        if getattr(args, "json", False):
            print_json({"error": type(exc).__name__, "message": str(exc),
                        "problems": [p.__dict__ for p in getattr(exc, "problems", [])]}, file=sys.stdout)
        print(f"trial: error: {exc}", file=sys.stderr)
        return getattr(exc, "exit_code", EXIT_BAD_INPUT)
    except BrokenPipeError:  # e.g. `trial ... | head`
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:  # pragma: no cover
        print("trial: interrupted", file=sys.stderr)
        return 130
    except OSError as exc:  # a path that cannot be read or written: bad input, not a crash
        from ..intake._problems import _scrub as mask_text

        message = mask_text(_path_error_message(args, exc))
        if getattr(args, "json", False):
            print_json({"error": type(exc).__name__, "message": message, "problems": []}, file=sys.stdout)
        print(f"trial: error: {message}", file=sys.stderr)
        return EXIT_BAD_INPUT
    return int(code or 0)
