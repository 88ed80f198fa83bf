"""Intake of municipal exports: read, validate, pseudonymise.

The only part of the toolkit that reads user data files. Each reader takes a
CSV or Excel file as a municipality exports it (see ``docs/contracts.md``),
validates every row and returns a pandas frame in which the CPR number has
been replaced by a keyed pseudonym. Nothing is ever written.

* CSV: comma, semicolon or tab separated (sniffed from the header line);
  UTF-8, UTF-8 with BOM or Windows-1252 (UTF-8 is tried first); numbers with
  a decimal point or a decimal comma.
* Excel ``.xlsx``: the first sheet, header in row 1. Date cells and number
  cells are accepted as such.
* Dates: ``YYYY-MM-DD``, ``DD-MM-YYYY`` or ``DD.MM.YYYY``.
* CPR numbers: ``DDMMYY-SSSS`` or ``DDMMYYSSSS`` with an existing birth date
  (no modulus-11 check, see :mod:`trial._cpr`). Nine digits are taken as a
  number that lost its leading zero only in a numeric column (an Excel number
  cell, or a CSV column whose values are all digits only).

Any defect raises :class:`~trial.exceptions.IntakeError` listing every problem
(up to :data:`MAX_PROBLEMS`, plus a count of the rest), each naming the file,
the row (the file line, header = row 1) and the column. CPR numbers in
messages are masked ``DDMMYY-XXXX``; other echoed values are scrubbed of
anything that looks like a CPR number.

:func:`read_table` reads any other table (an analysis file, an R or Stata
export) from the same formats with its columns typed (numbers with a decimal
comma or point, dates, text).

Layout: ``_read`` (files to text: encoding, separator, workbooks),
``_validate`` (vectorised value checks), ``_pseudonym``, ``_kinds`` (the four
exports), ``_summary`` (:func:`check`), ``_table`` (:func:`read_table`),
``_problems`` (collecting problems, CPR-safe echoes).
"""
from __future__ import annotations

from ._kinds import (COLUMNS, KINDS, POINT_EVENTS, SURVEY_RANGES, log, read, read_events, read_referrals,
                     read_status, read_survey)
from ._problems import MAX_PROBLEMS, _safe, _scrub
from ._pseudonym import pseudonymise
from ._summary import IntakeSummary, check
from ._table import NA_TEXTS, read_table

__all__ = [
    "KINDS",
    "COLUMNS",
    "POINT_EVENTS",
    "SURVEY_RANGES",
    "MAX_PROBLEMS",
    "NA_TEXTS",
    "IntakeSummary",
    "read",
    "read_referrals",
    "read_status",
    "read_events",
    "read_survey",
    "read_table",
    "pseudonymise",
    "check",
]

# kept importable from here, as in the single-module version: the CLI (``trial intake check``) uses _scrub
_REEXPORTED = (_safe, _scrub, log)
