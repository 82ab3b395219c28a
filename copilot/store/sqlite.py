"""Durable event log and annotations in one SQLite file (WAL).

Every final transcript, flag and suggestion is written *before* it is sent, so what a rep saw is
always in the log. Annotations are append-only revisions: changing one adds a row, history stays.
The class is synchronous and owns one connection; the server calls it from a single dedicated
thread (``check_same_thread=False`` is safe because only that thread uses it).
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from copilot.errors import StoreError, UnknownCall
from copilot.events import Event, Transcript

__all__ = ["CallRecord", "EventStore"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS calls (
    call_id TEXT PRIMARY KEY,
    started_at REAL NOT NULL,
    ended_at REAL,
    rep TEXT, account TEXT,
    encoding TEXT, sample_rate INTEGER, channels INTEGER, speakers TEXT,
    playbook_version TEXT,
    audio_seconds REAL DEFAULT 0,
    status TEXT NOT NULL DEFAULT 'live'
);
CREATE TABLE IF NOT EXISTS events (
    call_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    type TEXT NOT NULL,
    ts REAL NOT NULL,
    item_id TEXT,
    payload TEXT NOT NULL,
    PRIMARY KEY (call_id, seq)
);
CREATE INDEX IF NOT EXISTS events_item ON events(call_id, item_id);
CREATE TABLE IF NOT EXISTS annotations (
    annotation_id TEXT NOT NULL,
    revision INTEGER NOT NULL,
    call_id TEXT NOT NULL,
    target_id TEXT NOT NULL,
    action TEXT NOT NULL,
    ts REAL NOT NULL,
    payload TEXT NOT NULL,
    PRIMARY KEY (annotation_id, revision)
);
CREATE INDEX IF NOT EXISTS annotations_call ON annotations(call_id);
"""


@dataclass(frozen=True)
class CallRecord:
    call_id: str
    started_at: float
    ended_at: float | None
    rep: str | None
    account: str | None
    status: str
    audio_seconds: float
    playbook_version: str | None
    counts: dict[str, int]


def _item_id(event: Event) -> str | None:
    for name in ("suggestion_id", "flag_id", "segment_id", "annotation_id"):
        value = getattr(event, name, None)
        if value:
            return str(value)
    return None


class EventStore:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA busy_timeout=5000")
            self._db.executescript(_SCHEMA)
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(f"cannot open event store {self.path}: {exc}") from exc
        self._lock = threading.Lock()  # belt and braces: one writer at a time

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _run(self, sql: str, args: tuple[Any, ...] = ()) -> sqlite3.Cursor:
        try:
            with self._lock:
                return self._db.execute(sql, args)
        except sqlite3.Error as exc:
            raise StoreError(f"event store write failed: {exc}", retryable=True) from exc

    # calls ------------------------------------------------------------------------------
    def open_call(self, call_id: str, *, rep: str | None, account: str | None, encoding: str,
                  sample_rate: int, channels: int, speakers: list[str],
                  playbook_version: str) -> bool:
        """Create the call row; returns False when it already existed (a resumed call)."""
        cur = self._run(
            "INSERT OR IGNORE INTO calls (call_id, started_at, rep, account, encoding, sample_rate,"
            " channels, speakers, playbook_version) VALUES (?,?,?,?,?,?,?,?,?)",
            (call_id, time.time(), rep, account, encoding, sample_rate, channels,
             json.dumps(speakers), playbook_version),
        )
        if cur.rowcount == 0:
            self._run("UPDATE calls SET status='live', ended_at=NULL WHERE call_id=?", (call_id,))
            return False
        return True

    def close_call(self, call_id: str, *, audio_seconds: float, status: str = "ended") -> None:
        self._run(
            "UPDATE calls SET ended_at=?, audio_seconds=?, status=? WHERE call_id=?",
            (time.time(), audio_seconds, status, call_id),
        )

    def append(self, event: Event) -> None:
        """Store one stamped event. Partials are not stored (their finals replace them)."""
        if (isinstance(event, Transcript) and not event.final) or getattr(event, "partial", False):
            return
        self._run(
            "INSERT OR REPLACE INTO events (call_id, seq, type, ts, item_id, payload)"
            " VALUES (?,?,?,?,?,?)",
            (event.call_id, event.seq, event.type, event.ts, _item_id(event), event.to_json()),
        )

    def last_seq(self, call_id: str) -> int:
        row = self._run("SELECT MAX(seq) FROM events WHERE call_id=?", (call_id,)).fetchone()
        return int(row[0] or 0)

    def calls(self, limit: int = 100) -> list[CallRecord]:
        rows = self._run(
            "SELECT call_id, started_at, ended_at, rep, account, status, audio_seconds,"
            " playbook_version FROM calls ORDER BY started_at DESC LIMIT ?", (limit,)
        ).fetchall()
        return [self._record(r) for r in rows]

    def call(self, call_id: str) -> CallRecord:
        row = self._run(
            "SELECT call_id, started_at, ended_at, rep, account, status, audio_seconds,"
            " playbook_version FROM calls WHERE call_id=?", (call_id,)
        ).fetchone()
        if row is None:
            raise UnknownCall(f"no call with id {call_id!r} in {self.path}")
        return self._record(row)

    def _record(self, row: tuple[Any, ...]) -> CallRecord:
        counts = dict(
            # a flag or card re-sent with the same id (refined claim, LLM rewrite) counts once
            self._run("SELECT type, COUNT(DISTINCT COALESCE(item_id, seq)) FROM events"
                      " WHERE call_id=? GROUP BY type", (row[0],)).fetchall()
        )
        return CallRecord(*row, counts=counts)

    def events(self, call_id: str) -> Iterator[dict[str, Any]]:
        """Stored events of a call in seq order, as their wire JSON (dicts)."""
        self.call(call_id)
        for (payload,) in self._run(
            "SELECT payload FROM events WHERE call_id=? ORDER BY seq", (call_id,)
        ).fetchall():
            yield json.loads(payload)

    def has_item(self, call_id: str, item_id: str) -> bool:
        row = self._run(
            "SELECT 1 FROM events WHERE call_id=? AND item_id=? LIMIT 1", (call_id, item_id)
        ).fetchone()
        return row is not None

    # annotations ------------------------------------------------------------------------
    def annotate(self, call_id: str, annotation_id: str, target_id: str, action: str,
                 payload: dict[str, Any]) -> int:
        """Append a revision of an annotation; returns its revision number (1, 2, …)."""
        try:
            with self._lock:
                self._db.execute("BEGIN IMMEDIATE")
                row = self._db.execute(
                    "SELECT MAX(revision) FROM annotations WHERE annotation_id=?", (annotation_id,)
                ).fetchone()
                revision = int(row[0] or 0) + 1
                self._db.execute(
                    "INSERT INTO annotations (annotation_id, revision, call_id, target_id, action,"
                    " ts, payload) VALUES (?,?,?,?,?,?,?)",
                    (annotation_id, revision, call_id, target_id, action, time.time(),
                     json.dumps(payload, ensure_ascii=False)),
                )
                self._db.execute("COMMIT")
                return revision
        except sqlite3.Error as exc:
            try:
                self._db.execute("ROLLBACK")
            except sqlite3.Error:
                pass
            raise StoreError(f"annotation write failed: {exc}", retryable=True) from exc

    def annotations(self, call_id: str, history: bool = False) -> list[dict[str, Any]]:
        """Current annotations of a call (latest revision each), or every revision."""
        sql = (
            "SELECT annotation_id, revision, target_id, action, ts, payload FROM annotations a"
            " WHERE call_id=?"
        )
        if not history:
            sql += (" AND revision=(SELECT MAX(revision) FROM annotations b"
                    " WHERE b.annotation_id=a.annotation_id)")
        rows = self._run(sql + " ORDER BY ts, revision", (call_id,)).fetchall()
        return [
            {"annotation_id": r[0], "revision": r[1], "target_id": r[2], "action": r[3],
             "ts": r[4], **json.loads(r[5])}
            for r in rows
        ]

    def purge_older_than(self, days: int) -> int:
        """Retention: delete calls (events, annotations) that ended more than ``days`` ago."""
        if days <= 0:
            return 0
        cutoff = time.time() - days * 86400
        ids = [r[0] for r in self._run(
            "SELECT call_id FROM calls WHERE ended_at IS NOT NULL AND ended_at < ?", (cutoff,)
        ).fetchall()]
        for cid in ids:
            for table in ("events", "annotations", "calls"):
                self._run(f"DELETE FROM {table} WHERE call_id=?", (cid,))
        return len(ids)
