"""`trial report --register R --out DIR [--quarter 2017Q3] [--lang da|en]`."""
from __future__ import annotations

from ._common import EXIT_OK, add_json_flag, print_json


def add_parser(sub) -> None:
    p = sub.add_parser("report", help="write the steering group's quarterly report (HTML and PDF)",
                       description="Write the rehabiliteringsstyregruppe's quarterly report from a trial register: "
                       "one self-contained HTML file, a PDF of it and report_data.json (the figures the report "
                       "shows). Counts below the protocol's report.min_cell are hidden, in the JSON too; the exact "
                       "figures are stored in the register (table report_snapshots), where the next quarter's report "
                       "reads them to say what changed.")
    p.add_argument("--register", required=True, help="register: a file path or postgresql://… URL")
    p.add_argument("--out", required=True, help="output folder (report.html, report.pdf, report_data.json)")
    p.add_argument("--quarter", default=None,
                   help="report quarter like 2017Q3; data as of its last day (default: the latest data)")
    p.add_argument("--lang", choices=("da", "en"), default=None,
                   help="language of the report (default: the protocol's report.language)")
    p.add_argument("--previous", default=None,
                   help="last quarter's report_data.json (default: the register's snapshot of the latest earlier "
                   "quarter, else a report_data*.json of an earlier quarter in --out)")
    p.add_argument("--no-pdf", action="store_true", help="write only the HTML (and JSON)")
    add_json_flag(p)
    p.set_defaults(func=run)


def run(args) -> int:
    from ..register import Register
    from ..report import make_report
    from ..report._data import parse_quarter

    if args.quarter is not None:
        parse_quarter(args.quarter)
    with Register.open(args.register) as reg:  # migrates: the report stores its snapshot in the register
        lang = args.lang or reg.protocol.report.language
        data, files = make_report(reg, args.out, quarter=args.quarter, lang=lang, previous=args.previous,
                                  pdf=not args.no_pdf)
    if args.json:
        from ..report import disclose

        # what the report shows: figures it hides are null here too (the exact ones stay in the register)
        pub = disclose(data)
        print_json({"files": files.to_dict(), "quarter": data.quarter, "as_of": data.as_of.isoformat(),
                    "lang": data.lang, "descriptive": data.descriptive_only,
                    "previous_quarter": data.previous_quarter, "key_figures": pub.key_figures(),
                    "effects": [{"endpoint": p.endpoint, "estimate": _num(p.estimate), "ci_low": _num(p.ci_low),
                                 "ci_high": _num(p.ci_high), "hidden": _hidden(e, data.min_cell),
                                 "rejected": e.rejected}
                                for e, p in zip(data.effects, pub.effects)]})
    else:
        print(f"Report {data.quarter} ({data.lang}) written:")
        print(f"  {files.html}")
        print(f"  {files.pdf}" if files.pdf else f"  (no PDF: {files.note or 'skipped'})")
        print(f"  {files.data}")
    return EXIT_OK


def _num(x):
    import math

    return x if x is not None and math.isfinite(x) else None


def _hidden(e, k) -> bool:
    from ..report import effect_hidden

    return effect_hidden(e, k)
