"""Register I/O: store and load derived outcomes, load the outcome exports into a register."""
from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field

import pandas as pd

from .._results import Displayable
from ..exceptions import IntakeError, ParameterError, Problem
from ..intake._problems import _scrub
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


#: Warn when more than this share of an export's citizens are not enrolled.
NOT_ENROLLED_WARN_SHARE = 0.5
#: Warn when more than this share of the enrolled citizens (followed a week or more) is absent from the panel.
NO_PANEL_WARN_SHARE = 0.05


@dataclass(frozen=True, eq=False)
class LoadResult(Displayable):
    """What :func:`load_exports` stored: one upload per kind plus the derived outcomes.

    ``warnings`` lists what looked wrong without stopping the upload (many
    rows of citizens not enrolled, enrolled citizens absent from the panel).
    """

    register: str
    data_date: _dt.date
    upload_ids: dict
    rows: dict
    not_enrolled: dict
    outcomes: Outcomes = field(repr=False)
    warnings: tuple = ()
    mode: str | None = None          # the register's mode (test / production), shown on every output

    def to_dict(self) -> dict:
        return {"register": self.register, "mode": self.mode, "data_date": self.data_date.isoformat(),
                "uploads": {k: int(v) for k, v in self.upload_ids.items()},
                "rows": {k: int(v) for k, v in self.rows.items()},
                "not_enrolled": {k: int(v) for k, v in self.not_enrolled.items()},
                "citizens": int(len(self.outcomes.followup)), "endpoints": list(self.outcomes.endpoints),
                "warnings": list(self.warnings)}

    def to_frame(self) -> pd.DataFrame:
        return self.outcomes.describe()

    def summary(self) -> str:
        tag = f"[{self.mode.upper()} register] " if self.mode else ""
        lines = [f"{tag}Stored in {self.register} with data date {self.data_date}:"]
        for k in ("status", "events", "survey"):
            extra = f" ({self.not_enrolled[k]} rows of citizens not enrolled were not stored)" \
                if self.not_enrolled.get(k) else ""
            lines.append(f"  {k:<8} {self.rows[k]:>9} rows  upload #{self.upload_ids[k]}{extra}")
        lines.append(f"  outcomes {self.rows['outcomes']:>9} rows  upload #{self.upload_ids['outcomes']} "
                     f"({len(self.outcomes.followup)} citizens x {len(self.outcomes.endpoints)} endpoints)")
        lines += [f"  warning: {w}" for w in self.warnings]
        return "\n".join(lines)


def load_exports(register, key, *, status, events, survey, data_date=None, today=None) -> "LoadResult":
    """Read the outcome exports, pseudonymise them, store them and the derived outcomes in the register.

    Parameters
    ----------
    register : Register or str or Path
        An open register or its path/URL.
    key : KeyFile or str or Path
        The register's own key file (its pseudonymisation key turns CPR
        numbers into pseudonyms); a key file of another register is refused.
    status, events, survey : str or Path
        The municipal exports (``docs/contracts.md``), read by :mod:`trial.intake`.
    data_date : date or str, optional
        The date the exports were drawn; default the latest date the data cover.
    today : date or str, optional
        The current date for the "not in the future" check (default: today).

    Returns
    -------
    LoadResult

    Raises
    ------
    RegisterError
        No register at ``register``; the key file is another register's; nobody is enrolled.
    IntakeError
        A file fails validation, or none of an export's rows belongs to an
        enrolled citizen (naming the file).
    ParameterError
        ``data_date`` before the first enrolled citizen's referral date or
        after today.
    IntakeError
        In a production register: rows dated after the data date (a status
        week starting, an event starting or a survey answered after it).

    Notes
    -----
    The register is opened first, then the key file is checked against it,
    then all three files are read and validated and the outcomes derived,
    before anything is written: on any error the register is untouched. Only
    rows of enrolled citizens are stored. An export with rows none of which
    belongs to an enrolled citizen is refused (it was pseudonymised with
    another key, or is another trial's export): storing it would make the
    newest upload empty and every event endpoint 0. Warnings (kept in
    :attr:`LoadResult.warnings`) when more than half of an export's citizens
    are not enrolled, or more than 5 % of the enrolled citizens followed a
    week or more have no row in the status panel.

    A data date must lie between the first enrolled citizen's referral date
    and today. Data cannot be newer than the date they were drawn: a status
    week that *starts* after the data date, an event that *starts* after it
    or a survey answer dated after it is never stored. In a production
    register such an export is an error (the data date is wrong); in a test
    register those rows are dropped with a warning, so a rehearsal can cut
    simulated full-length exports at interim data dates. End dates after the
    data date are allowed (a grant decided until a later date); week N of a
    citizen covers days 7(N-1)..7N-1 after referral, so the week in progress
    on the data date may be in the panel.
    """
    from .._keys import KeyFile, load_key_file
    from ..register import Register

    if isinstance(register, Register):
        kf = key if isinstance(key, KeyFile) else load_key_file(key)
        return _load_into(register, kf, status, events, survey, data_date, today)
    with Register.open(register) as reg:          # the register first: "register X does not exist"
        kf = key if isinstance(key, KeyFile) else load_key_file(key)
        return _load_into(reg, kf, status, events, survey, data_date, today)


def _check_data_date(d: _dt.date, enr: pd.DataFrame, today: _dt.date) -> None:
    first = pd.Timestamp(enr["referral_date"].min()).date()
    if d < first:
        raise ParameterError("data_date", f"(--data-date) must be on or after the first enrolled citizen's "
                             f"referral date {first}: data drawn earlier cannot describe the trial; got {d}")
    if d > today:
        raise ParameterError("data_date", f"(--data-date) must not be after today ({today}): give the date the "
                             f"exports were drawn; got {d}")


def _row_dates(frames: dict, enr: pd.DataFrame) -> dict:
    """Per kind, the date each row is *from*: the first day of a status week, an event's start, an answer's date."""
    ref = pd.Series(pd.to_datetime(enr["referral_date"]).to_numpy(), index=enr["pseudonym"].astype(str))
    st = frames["status"]
    return {"status": ref.reindex(st["pseudonym"].astype(str)).to_numpy()
            + pd.to_timedelta(7 * (st["week"].to_numpy() - 1), unit="D").to_numpy(),
            "events": pd.to_datetime(frames["events"]["start_date"]).to_numpy(),
            "survey": pd.to_datetime(frames["survey"]["date"]).to_numpy()}


_NEWER = {"status": ("week", "status week starts"), "events": ("start_date", "event starts"),
          "survey": ("date", "answer is dated")}


def _handle_newer(reg, frames: dict, enr: pd.DataFrame, d: _dt.date, paths: dict, warnings: list) -> None:
    """Rows dated after the data date: an error in a production register; dropped with a warning in a test one."""
    limit = pd.Timestamp(d).to_datetime64()
    dates = _row_dates(frames, enr)
    late = {k: v > limit for k, v in dates.items()}       # NaT compares False: an undated answer is not late
    if not any(m.any() for m in late.values()):
        return
    if reg.mode == "production":
        problems = []
        for k, m in late.items():
            if m.any():
                col, what = _NEWER[k]
                problems.append(Problem(_scrub(str(paths[k])), None, col,
                                        f"{int(m.sum()):,} row(s) of enrolled citizens are dated after the data date "
                                        f"{d} (the latest {what} {pd.Timestamp(dates[k][m].max()).date()}); data "
                                        f"cannot be newer than the date they were drawn: give the date the exports "
                                        f"were drawn as --data-date"))
        raise IntakeError(problems)
    for k, m in late.items():
        if m.any():
            warnings.append(f"{k}: {int(m.sum()):,} rows dated after the data date {d} were not stored (a test "
                            f"register: rehearsal exports cut at a data date; a production register refuses them)")
            frames[k] = frames[k].loc[~m].reset_index(drop=True)


def _load_into(reg, kf, status_path, events_path, survey_path, data_date, today=None) -> LoadResult:
    from ..intake import read_events, read_status, read_survey

    reg.check_key(kf)                             # another register's key gives other pseudonyms
    enr = register_enrollments(reg)
    if not len(enr):
        from ..exceptions import RegisterError

        raise RegisterError(f"register {reg.target} has no enrolled citizens: enroll before loading outcomes")
    d = _as_date(data_date, "data_date")
    today = _as_date(today, "today") or _dt.date.today()
    if d is not None:
        _check_data_date(d, enr, today)
    proto = reg.protocol
    paths = {"status": status_path, "events": events_path, "survey": survey_path}
    frames = {
        "status": read_status(status_path, key=kf.pseudonym_key, protocol=proto),
        "events": read_events(events_path, key=kf.pseudonym_key, protocol=proto),
        "survey": read_survey(survey_path, key=kf.pseudonym_key, protocol=proto),
    }
    enrolled = set(enr["pseudonym"].astype(str))
    not_enrolled, warnings, empty = {}, [], []
    for k, df in frames.items():
        keep = df["pseudonym"].astype(str).isin(enrolled).to_numpy()
        not_enrolled[k] = int((~keep).sum())
        if len(df) and not keep.any():
            empty.append(Problem(_scrub(str(paths[k])), None, "cpr",
                                 f"none of its {len(df):,} rows ({df['pseudonym'].nunique():,} citizens) belongs "
                                 f"to one of the {len(enrolled):,} citizens enrolled in register {reg.target}: "
                                 f"the export is of other citizens, or its CPR numbers were pseudonymised with "
                                 f"another register's key; nothing was stored"))
        elif len(df):
            cit = df["pseudonym"].astype(str)
            share = 1 - cit[keep].nunique() / cit.nunique()
            if share > NOT_ENROLLED_WARN_SHARE:
                warnings.append(f"{k}: {share:.0%} of the export's {cit.nunique():,} citizens are not enrolled "
                                f"({not_enrolled[k]:,} rows not stored); check that it is this trial's export")
        frames[k] = df.loc[keep].reset_index(drop=True)
    if empty:
        raise IntakeError(empty)
    if d is not None:
        _handle_newer(reg, frames, enr, d, paths, warnings)
    out = derive(proto, enr, frames["status"], frames["events"], frames["survey"], as_of=d)
    if d is None:
        d = out.as_of                              # the latest date the data cover: nothing is newer
        if d > today:
            raise ParameterError("data_date", f"is not given and the data reach {d}, after today ({today}); "
                                 f"give the date the exports were drawn with --data-date")
        _check_data_date(d, enr, today)
    followed = out.followup["followup_weeks"].to_numpy() >= 1
    absent = ~enr["pseudonym"].astype(str).isin(set(frames["status"]["pseudonym"].astype(str))).to_numpy()
    n_abs, n_fol = int((absent & followed).sum()), int(followed.sum())
    if n_fol and n_abs / n_fol > NO_PANEL_WARN_SHARE:
        warnings.append(f"status: {n_abs:,} of the {n_fol:,} enrolled citizens followed a week or more have no row "
                        f"in the status panel; their endpoints are missing ('no status data', 'no follow-up')")
    ids = {k: reg.store_observations(k, frames[k], d) for k in ("status", "events", "survey")}
    ids["outcomes"] = store(reg, out, d)
    rows = {k: len(frames[k]) for k in frames}
    rows["outcomes"] = len(out.long)
    return LoadResult(register=str(reg.target), data_date=d, upload_ids=ids, rows=rows,
                      not_enrolled=not_enrolled, outcomes=out, warnings=tuple(warnings), mode=reg.mode)
