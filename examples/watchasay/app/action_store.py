"""Durable storage for watchasay's actions and the requests that created them (SQLite).

Every call opens its own connection, so the threads of the Flask server can share a store,
and a restarted server finds every action and request it had before. A finished action is
kept for its release_after, then forgotten (see ActionStore.forget_expired).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import hashlib
import json
import os
import sqlite3
import time
import typing as t

from globus_action_provider_tools import ActionRequest, ActionStatus
from globus_action_provider_tools.data_types import ActionStatusValue, convert_to_json

_SCHEMA = """
CREATE TABLE IF NOT EXISTS actions (
    action_id  TEXT PRIMARY KEY,
    status     TEXT NOT NULL,
    document   TEXT NOT NULL,
    expires_at REAL  -- epoch seconds when it may be forgotten; NULL while unfinished
);
CREATE INDEX IF NOT EXISTS actions_by_status ON actions (status);
CREATE INDEX IF NOT EXISTS actions_by_expiry ON actions (expires_at);
CREATE TABLE IF NOT EXISTS requests (
    creator_id  TEXT NOT NULL,
    request_id  TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    action_id   TEXT NOT NULL REFERENCES actions (action_id) ON DELETE CASCADE,
    PRIMARY KEY (creator_id, request_id)
);
CREATE INDEX IF NOT EXISTS requests_by_action ON requests (action_id);
"""


def _create_owner_only(path: str) -> None:
    """Create the store file 0600 before SQLite opens it (its -wal and -shm files take
    the same mode): the actions hold what callers sent."""
    if path == ":memory:" or os.path.exists(path):
        return
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    except FileExistsError:
        pass  # another process made it first
    except OSError:
        pass  # SQLite says why it cannot open it, as for any file


def _json_default(value: t.Any) -> t.Any:
    # Sets (monitor_by, manage_by) are sorted so equal models give equal text in any process.
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    return convert_to_json(value)


def to_json(model: t.Union[ActionRequest, ActionStatus]) -> str:
    """Canonical JSON text of a toolkit model (sorted keys and sets, ISO-8601 times)."""
    return json.dumps(model.dict(), default=_json_default, sort_keys=True)


def expiry_time(action: ActionStatus) -> t.Optional[float]:
    """When a finished action may be forgotten: completion_time + release_after (epoch seconds).

    None keeps the action until it is released: it is unfinished, or lacks either time.
    """
    if not action.is_complete() or action.completion_time is None or action.release_after is None:
        return None
    completed = action.completion_time
    if completed.tzinfo is None:  # the Action Provider Interface's times are UTC
        completed = completed.replace(tzinfo=datetime.timezone.utc)
    return (completed + action.release_after).timestamp()


def request_fingerprint(request: ActionRequest) -> str:
    """Equal for two requests exactly when their content (body, label, ...) is equal."""
    return hashlib.sha256(to_json(request).encode()).hexdigest()


@dataclasses.dataclass(frozen=True)
class StoredRequest:
    """A request already seen from a caller, and the action it created."""

    fingerprint: str
    action_id: str


class ActionStore:
    """Actions by id, and request ids per caller, in one SQLite file.

    clock gives the current time in epoch seconds; tests pass one they can move forward.
    """

    def __init__(self, path: str, *, clock: t.Callable[[], float] = time.time) -> None:
        self.path = path
        self.clock = clock
        _create_owner_only(path)
        with self._connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
        self._add_expiry_column()
        with self._connect() as db:
            db.executescript(_SCHEMA)

    def _add_expiry_column(self) -> None:
        """Let a store made before expires_at existed expire its finished actions too."""
        with self._transaction() as db:
            columns = {row[1] for row in db.execute("PRAGMA table_info(actions)")}
            if not columns or "expires_at" in columns:
                return  # a new file (the schema creates the table) or already migrated
            db.execute("ALTER TABLE actions ADD COLUMN expires_at REAL")
            documents = db.execute("SELECT action_id, document FROM actions").fetchall()
            db.executemany(
                "UPDATE actions SET expires_at = ? WHERE action_id = ?",
                [
                    (expiry_time(ActionStatus.parse_raw(document)), action_id)
                    for action_id, document in documents
                ],
            )

    @contextlib.contextmanager
    def _connect(self) -> t.Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            db.execute("PRAGMA foreign_keys=ON")
            yield db
        finally:
            db.close()

    @contextlib.contextmanager
    def _transaction(self) -> t.Iterator[sqlite3.Connection]:
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    def get(self, action_id: str) -> t.Optional[ActionStatus]:
        with self._connect() as db:
            row = db.execute(
                "SELECT document FROM actions WHERE action_id = ?", (action_id,)
            ).fetchone()
        return None if row is None else ActionStatus.parse_raw(row[0])

    def find_request(self, creator_id: str, request_id: str) -> t.Optional[StoredRequest]:
        with self._connect() as db:
            return self._find_request(db, creator_id, request_id)

    @staticmethod
    def _find_request(
        db: sqlite3.Connection, creator_id: str, request_id: str
    ) -> t.Optional[StoredRequest]:
        row = db.execute(
            "SELECT fingerprint, action_id FROM requests"
            " WHERE creator_id = ? AND request_id = ?",
            (creator_id, request_id),
        ).fetchone()
        return None if row is None else StoredRequest(*row)

    def add(
        self, request_id: str, fingerprint: str, action: ActionStatus
    ) -> t.Optional[StoredRequest]:
        """Store a new action and the request that made it, atomically.

        Returns None when stored, or the earlier request when the same caller's request_id
        was stored in the meantime (the new action is then discarded).
        """
        with self._transaction() as db:
            earlier = self._find_request(db, action.creator_id, request_id)
            if earlier is not None:
                return earlier
            db.execute(
                "INSERT INTO actions (action_id, status, document, expires_at)"
                " VALUES (?, ?, ?, ?)",
                (action.action_id, action.status.value, to_json(action), expiry_time(action)),
            )
            db.execute(
                "INSERT INTO requests (creator_id, request_id, fingerprint, action_id)"
                " VALUES (?, ?, ?, ?)",
                (action.creator_id, request_id, fingerprint, action.action_id),
            )
        return None

    def update(self, action: ActionStatus) -> None:
        with self._transaction() as db:
            db.execute(
                "UPDATE actions SET status = ?, document = ?, expires_at = ?"
                " WHERE action_id = ?",
                (action.status.value, to_json(action), expiry_time(action), action.action_id),
            )

    def remove(self, action_id: str) -> None:
        """Forget the action and its request id (so the caller may use it again)."""
        with self._transaction() as db:
            db.execute("DELETE FROM actions WHERE action_id = ?", (action_id,))

    def forget_expired(self) -> None:
        """Forget every action (and its request id) whose release_after has run out.

        Called before each request is served, so an expired action is never shown and its
        request id may start a new one; one indexed DELETE, cheap when nothing expired.
        """
        with self._connect() as db:
            db.execute("DELETE FROM actions WHERE expires_at <= ?", (self.clock(),))

    def with_statuses(self, statuses: t.Iterable[ActionStatusValue]) -> t.List[ActionStatus]:
        wanted = [ActionStatusValue(s).value for s in statuses]
        marks = ", ".join("?" * len(wanted))
        with self._connect() as db:
            rows = db.execute(
                f"SELECT document FROM actions WHERE status IN ({marks}) ORDER BY rowid",
                wanted,
            ).fetchall()
        return [ActionStatus.parse_raw(document) for (document,) in rows]
