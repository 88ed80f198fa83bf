"""Register I/O: store and load derived outcomes, load the outcome exports into a register."""
from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field

import pandas as pd

from .._results import Displayable
from ..exceptions import ParameterError
from ._common import LONG_COLUMNS, _as_date
from ._rules import Outcomes, derive


def store(register, outcomes: Outcomes, data_date=None):
    """Store the derived outcomes in the register, dated by ``data_date`` (default ``outcomes.as_of``)."""
    if not isinstance(outcomes, Outcomes):
        raise ParameterError("outcomes", f"must be an Outcomes result from derive(); got {type(outcomes).__name__}")
    d = _as_date(data_date, "data_date") or outcomes.as_of
    return register.store_outcomes(outcomes.long[list(LONG_COLUMNS)].copy(), d)


def load(register, as_of=None) -> pd.DataFrame:
    """The outcomes stored in the register as of ``as_of`` (long frame with ``data_date``)."""
    return register.outcomes(as_of=_as_date(as_of, "as_of"))


def register_enrollments(reg) -> pd.DataFrame:
    """``reg.enrollments()`` with ``withdrawn_at``: the date of each citizen's first recorded withdrawal."""
    enr = reg.enrollments()
    se = reg.status_events()
    enr["withdrawn_at"] = pd.NaT
    if len(se):
        wd = se[se["kind"] == "withdrawn"]
        if len(wd):
            first = pd.to_datetime(wd["date"]).groupby(wd["pseudonym"].to_numpy()).min()
            enr["withdrawn_at"] = pd.to_datetime(enr["pseudonym"].map(first))
    return enr


@dataclass(frozen=True, eq=False)
class LoadResult(Displayable):
    """What :func:`load_exports` stored: one upload per kind plus the derived outcomes."""

    register: str
    data_date: _dt.date
    upload_ids: dict
    rows: dict
    not_enrolled: dict
    outcomes: Outcomes = field(repr=False)

    def to_dict(self) -> dict:
        return {"register": self.register, "data_date": self.data_date.isoformat(),
                "uploads": {k: int(v) for k, v in self.upload_ids.items()},
                "rows": {k: int(v) for k, v in self.rows.items()},
                "not_enrolled": {k: int(v) for k, v in self.not_enrolled.items()},
                "citizens": int(len(self.outcomes.followup)), "endpoints": list(self.outcomes.endpoints)}

    def to_frame(self) -> pd.DataFrame:
        return self.outcomes.describe()

    def summary(self) -> str:
        lines = [f"Stored in {self.register} with data date {self.data_date}:"]
        for k in ("status", "events", "survey"):
            extra = f" ({self.not_enrolled[k]} rows of citizens not enrolled were not stored)" \
                if self.not_enrolled.get(k) else ""
            lines.append(f"  {k:<8} {self.rows[k]:>9} rows  upload #{self.upload_ids[k]}{extra}")
        lines.append(f"  outcomes {self.rows['outcomes']:>9} rows  upload #{self.upload_ids['outcomes']} "
                     f"({len(self.outcomes.followup)} citizens x {len(self.outcomes.endpoints)} endpoints)")
        return "\n".join(lines)


def load_exports(register, key, *, status, events, survey, data_date=None) -> "LoadResult":
    """Read the outcome exports, pseudonymise them, store them and the derived outcomes in the register.

    Parameters
    ----------
    register : Register or str or Path
        An open register or its path/URL.
    key : KeyFile or str or Path
        The key file (its pseudonymisation key turns CPR numbers into pseudonyms).
    status, events, survey : str or Path
        The municipal exports (``docs/contracts.md``), read by :mod:`trial.intake`.
    data_date : date or str, optional
        The date the exports were drawn; default the latest date the data cover.

    Returns
    -------
    LoadResult

    Notes
    -----
    All three files are read and validated, and the outcomes derived, before
    anything is written: a bad file raises :class:`~trial.exceptions.IntakeError`
    and the register is untouched. Only rows of enrolled citizens are stored.
    """
    from .._keys import KeyFile, load_key_file
    from ..register import Register

    kf = key if isinstance(key, KeyFile) else load_key_file(key)
    if isinstance(register, Register):
        return _load_into(register, kf, status, events, survey, data_date)
    with Register.open(register) as reg:
        return _load_into(reg, kf, status, events, survey, data_date)


def _load_into(reg, kf, status_path, events_path, survey_path, data_date) -> LoadResult:
    from ..intake import read_events, read_status, read_survey

    proto = reg.protocol
    frames = {
        "status": read_status(status_path, key=kf.pseudonym_key, protocol=proto),
        "events": read_events(events_path, key=kf.pseudonym_key, protocol=proto),
        "survey": read_survey(survey_path, key=kf.pseudonym_key, protocol=proto),
    }
    enr = register_enrollments(reg)
    if not len(enr):
        from ..exceptions import RegisterError

        raise RegisterError(f"register {reg.target} has no enrolled citizens: enroll before loading outcomes")
    enrolled = set(enr["pseudonym"].astype(str))
    not_enrolled = {}
    for k, df in frames.items():
        keep = df["pseudonym"].astype(str).isin(enrolled).to_numpy()
        not_enrolled[k] = int((~keep).sum())
        frames[k] = df.loc[keep].reset_index(drop=True)
    d = _as_date(data_date, "data_date")
    out = derive(proto, enr, frames["status"], frames["events"], frames["survey"], as_of=d)
    d = d or out.as_of
    ids = {k: reg.store_observations(k, frames[k], d) for k in ("status", "events", "survey")}
    ids["outcomes"] = store(reg, out, d)
    rows = {k: len(frames[k]) for k in frames}
    rows["outcomes"] = len(out.long)
    return LoadResult(register=str(reg.target), data_date=d, upload_ids=ids, rows=rows,
                      not_enrolled=not_enrolled, outcomes=out)
