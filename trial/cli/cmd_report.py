"""`trial report --register R --out DIR [--quarter 2017Q3] [--lang da|en]`."""
from __future__ import annotations

from ._common import EXIT_OK, add_json_flag, print_json


def add_parser(sub) -> None:
    p = sub.add_parser("report", help="write the steering group's quarterly report (HTML and PDF)",
                       description="Write the rehabiliteringsstyregruppe's quarterly report from a trial register: "
                       "one self-contained HTML file, a PDF of it and report_data.json (used by the next quarter's "
                       "report to say what changed). Counts below the protocol's report.min_cell are hidden.")
    p.add_argument("--register", required=True, help="register: a file path or postgresql://… URL")
    p.add_argument("--out", required=True, help="output folder (report.html, report.pdf, report_data.json)")
    p.add_argument("--quarter", default=None,
                   help="report quarter like 2017Q3; data as of its last day (default: the latest data)")
    p.add_argument("--lang", choices=("da", "en"), default=None,
                   help="language of the report (default: the protocol's report.language)")
    p.add_argument("--previous", default=None,
                   help="last quarter's report_data.json (default: found in --out when it is older)")
    p.add_argument("--no-pdf", action="store_true", help="write only the HTML (and JSON)")
    add_json_flag(p)
    p.set_defaults(func=run)


def run(args) -> int:
    from ..register import Register
    from ..report import make_report
    from ..report._data import parse_quarter

    if args.quarter is not None:
        parse_quarter(args.quarter)
    with Register.open(args.register, migrate=False) as reg:
        lang = args.lang or reg.protocol.report.language
        data, files = make_report(reg, args.out, quarter=args.quarter, lang=lang, previous=args.previous,
                                  pdf=not args.no_pdf)
    if args.json:
        print_json({"files": files.to_dict(), "quarter": data.quarter, "as_of": data.as_of.isoformat(),
                    "lang": data.lang, "descriptive": data.descriptive_only,
                    "previous_quarter": data.previous_quarter, "key_figures": data.key_figures(),
                    "effects": [{"endpoint": e.endpoint, "estimate": e.estimate, "ci_low": e.ci_low,
                                 "ci_high": e.ci_high, "hidden": _hidden(e, data.min_cell)} for e in data.effects]})
    else:
        print(f"Report {data.quarter} ({data.lang}) written:")
        print(f"  {files.html}")
        print(f"  {files.pdf}" if files.pdf else f"  (no PDF: {files.note or 'skipped'})")
        print(f"  {files.data}")
    return EXIT_OK


def _hidden(e, k) -> bool:
    from ..report import effect_hidden

    return effect_hidden(e, k)
