"""Storage of uploads (observations, outcomes) and of quarterly report snapshots."""
from __future__ import annotations

import json

import pandas as pd

from ..exceptions import RegisterError
from ._audit import _Tx, _insert, _now, _sha
from ._schema import OBSERVATION_KINDS
from ._values import _frame_from_json, _frame_to_json, _iso_date


class _Storage:
    """Upload and snapshot methods of :class:`trial.register.Register` (a mixin; ``self`` is the register)."""

    # outcomes room -------------------------------------------------------------
    def store_observations(self, kind: str, frame: pd.DataFrame, data_date) -> int:
        """Store one upload of long observations (kind status/events/survey); returns its id."""
        if kind not in OBSERVATION_KINDS:
            raise RegisterError(f"`kind` must be one of {', '.join(OBSERVATION_KINDS)}; got {kind!r}")
        return self._upload(kind, frame, data_date)

    def observations(self, kind: str, as_of=None) -> pd.DataFrame:
        """The latest upload of ``kind`` with data_date ≤ ``as_of`` (all dates when None)."""
        if kind not in OBSERVATION_KINDS:
            raise RegisterError(f"`kind` must be one of {', '.join(OBSERVATION_KINDS)}; got {kind!r}")
        return self._latest(kind, as_of)

    def store_outcomes(self, frame: pd.DataFrame, data_date) -> int:
        """Store endpoint values per citizen (pseudonym, endpoint, value, time_weeks, event, exposure_years,
        missing_reason); returns the upload id."""
        need = ["pseudonym", "endpoint", "value", "time_weeks", "event", "exposure_years", "missing_reason"]
        miss = [c for c in need if c not in frame.columns]
        if miss:
            raise RegisterError(f"outcomes frame lacks column(s) {miss}; it needs {need}")
        return self._upload("outcomes", frame[need], data_date)

    def outcomes(self, as_of=None) -> pd.DataFrame:
        """The latest outcomes upload with data_date ≤ ``as_of``, with a ``data_date`` column."""
        df = self._latest("outcomes", as_of)
        df["data_date"] = pd.to_datetime(df.attrs.get("data_date")) if len(df) else pd.Series(dtype="datetime64[ns]")
        return df

    def _upload(self, kind: str, frame: pd.DataFrame, data_date) -> int:
        if not isinstance(frame, pd.DataFrame):
            raise RegisterError(f"`frame` must be a pandas DataFrame; got {type(frame).__name__}")
        if "cpr" in {str(c).lower() for c in frame.columns}:
            raise RegisterError("the frame has a 'cpr' column: the register accepts pseudonyms only")
        d = _iso_date(data_date, "data_date")
        payload = _frame_to_json(frame)
        db = self._db
        with db.write():
            db.lock_head()
            tx = _Tx(db)
            uid = (db.one("SELECT COALESCE(MAX(id), 0) FROM uploads")[0] or 0) + 1
            now = _now()
            row = {"id": uid, "kind": kind, "data_date": d, "uploaded_at": now, "n_rows": int(len(frame)),
                   "sha256": _sha(payload), "audit_id": tx.next_id}
            _insert(db, "uploads", {**row, "payload": payload})
            tx.audit("upload", {"upload": row}, at=now).finish()
        return uid

    def _latest(self, kind: str, as_of) -> pd.DataFrame:
        sql = "SELECT id, data_date, payload FROM uploads WHERE kind = ?"
        params: list = [kind]
        if as_of is not None:
            sql += " AND data_date <= ?"
            params.append(_iso_date(as_of, "as_of"))
        r = self._db.one(sql + " ORDER BY data_date DESC, id DESC LIMIT 1", params)
        if r is None:
            df = pd.DataFrame()
            df.attrs["data_date"] = None
            return df
        df = _frame_from_json(r[2])
        df.attrs["data_date"] = r[1]
        df.attrs["upload_id"] = r[0]
        return df

    # report snapshots -----------------------------------------------------------
    def store_report_snapshot(self, quarter: str, text: str) -> int:
        """Keep the exact aggregates behind a quarterly report (``ReportData`` JSON text); returns the id.

        Snapshots are appended, never replaced (a rerun of a quarter adds a row;
        :meth:`report_snapshot` reads the newest). The text is stored
        zlib-compressed and base64-encoded (column ``json_z``): a report's many
        full-precision floats, cut at a database page boundary, could otherwise
        leave ten-digit runs that a CPR scan of the file cannot tell from a CPR
        number. The stored row, compressed text included, is copied into the
        audit entry, so :meth:`verify` detects any later edit.
        """
        import base64
        import zlib

        import re

        if not isinstance(quarter, str) or not re.fullmatch(r"\d{4}Q[1-4]", quarter):
            raise RegisterError(f"`quarter` must be written like 2017Q3 (year, 'Q', 1-4); got {quarter!r}")
        try:
            parsed = json.loads(text)
        except (TypeError, ValueError) as exc:
            raise RegisterError(f"report snapshot for {quarter}: `text` must be JSON text; got {type(text).__name__} "
                                f"({exc})") from None
        if not isinstance(parsed, dict):
            raise RegisterError(f"report snapshot for {quarter}: `text` must be a JSON object; got "
                                f"{type(parsed).__name__}")
        db = self._db
        if not db.table_exists("report_snapshots"):
            raise RegisterError(f"{self.target} has schema version {self.schema_version}, without the "
                                f"report_snapshots table; open it with Register.open(..., migrate=True) to add it")
        with db.write():
            db.lock_head()
            tx = _Tx(db)
            sid = (db.one("SELECT COALESCE(MAX(id), 0) FROM report_snapshots")[0] or 0) + 1
            now = _now()
            packed = base64.b64encode(zlib.compress(text.encode("utf-8"), 9)).decode("ascii")
            row = {"id": sid, "quarter": quarter, "created": now, "sha256": _sha(text), "json_z": packed,
                   "audit_id": tx.next_id}
            _insert(db, "report_snapshots", row)
            tx.audit("report_snapshot", {"report_snapshot": row}, at=now).finish()
        return sid

    def report_snapshots(self) -> pd.DataFrame:
        """The stored report snapshots without their text: id, quarter, created, sha256."""
        cols = ["id", "quarter", "created", "sha256"]
        if not self._db.table_exists("report_snapshots"):
            return pd.DataFrame(columns=cols)
        return pd.DataFrame(self._db.rows(f"SELECT {', '.join(cols)} FROM report_snapshots ORDER BY id"),
                            columns=cols)

    def report_snapshot(self, *, quarter: str | None = None, before: str | None = None) -> dict | None:
        """The newest snapshot of ``quarter``, or of the latest quarter before ``before`` (None if none).

        Returns a dict with ``id, quarter, created, sha256, json`` (the JSON text, decompressed and checked
        against its SHA-256).
        """
        import base64
        import zlib

        if (quarter is None) == (before is None):
            raise RegisterError("give exactly one of `quarter` and `before` (quarters like 2017Q3)")
        if not self._db.table_exists("report_snapshots"):
            return None
        # quarters 'YYYYQn' sort as text in time order
        cols = "id, quarter, created, sha256, json_z"
        if quarter is not None:
            r = self._db.one(f"SELECT {cols} FROM report_snapshots WHERE quarter = ? ORDER BY id DESC LIMIT 1",
                             (quarter,))
        else:
            r = self._db.one(f"SELECT {cols} FROM report_snapshots WHERE quarter < ? "
                             "ORDER BY quarter DESC, id DESC LIMIT 1", (before,))
        if r is None:
            return None
        try:
            text = zlib.decompress(base64.b64decode(r[4], validate=True)).decode("utf-8")
        except (ValueError, zlib.error) as exc:
            raise RegisterError(f"report_snapshots id {r[0]}: the stored snapshot cannot be decoded ({exc}); "
                                f"run `trial verify`") from None
        if _sha(text) != r[3]:
            raise RegisterError(f"report_snapshots id {r[0]}: the stored snapshot differs from its SHA-256 "
                                f"(edited?); run `trial verify`")
        return {"id": r[0], "quarter": r[1], "created": r[2], "sha256": r[3], "json": text}
