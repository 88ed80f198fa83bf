"""`trial balance`: baseline covariates by arm and a re-randomization test."""
from __future__ import annotations

from ._common import EXIT_OK, add_json_flag, print_json


def add_parser(sub) -> None:
    p = sub.add_parser("balance", help="baseline balance by arm (means, shares, SMD, omnibus p-value)",
                       description="Baseline covariates by arm (means or shares), standardised mean "
                       "differences, and an omnibus p-value (Mahalanobis distance) from re-randomization under "
                       "the register's actual scheme.")
    p.add_argument("--register", required=True, help="register: a file path or postgresql://… URL")
    p.add_argument("--n-resamples", type=int, default=2000, help="re-randomizations (default 2000)")
    p.add_argument("--seed", type=int, default=None, help="seed of the re-randomization (default: protocol seed)")
    p.add_argument("--plot", default=None, metavar="FILE",
                   help="also write a Love plot to this file; the extension picks the format (.png, .pdf, .svg, "
                   "... any format matplotlib writes)")
    add_json_flag(p)
    p.set_defaults(func=run)


def plot_formats() -> tuple[str, ...]:
    """File extensions matplotlib can write (``png``, ``pdf``, ``svg``, ...), sorted."""
    from matplotlib.backend_bases import FigureCanvasBase

    return tuple(sorted(FigureCanvasBase.get_supported_filetypes()))


def _check_plot_path(path: str) -> None:
    """Refuse a --plot file matplotlib cannot write, before anything is computed."""
    from pathlib import Path

    from ..exceptions import ParameterError

    p = Path(path)
    ext = p.suffix.lstrip(".").lower()
    allowed = plot_formats()
    if ext not in allowed:
        got = f"{path!r} (extension {'.' + ext if ext else 'missing'})"
        raise ParameterError("--plot", f"must end in one of {', '.join('.' + e for e in allowed)}; got {got}")
    if not p.parent.is_dir():
        raise ParameterError("--plot", f"must be in an existing folder; got {path!r} (no folder {str(p.parent)!r})")


def run(args) -> int:
    from ..exceptions import RegisterError
    from ..register import Register

    from .._balance import _check_resamples
    from ..exceptions import ParameterError

    if args.n_resamples < 1:
        raise RegisterError(f"`--n-resamples` must be a positive whole number; got {args.n_resamples}")
    _check_resamples(args.n_resamples, "--n-resamples")
    if args.seed is not None and args.seed < 0:
        raise ParameterError("--seed", f"must be a whole number of at least 0; got {args.seed}")
    if args.plot:
        _check_plot_path(args.plot)
    with Register.open(args.register, migrate=False) as reg:
        res = reg.balance(n_resamples=args.n_resamples, rng=args.seed)
    if args.plot:
        from ..randomize import plot_balance

        plot_balance(res).savefig(args.plot, dpi=120)
    if args.json:
        print_json(res.to_dict())
    else:
        print(res.summary())
    return EXIT_OK
