"""Bookkeeping every in-process provider shares.

An action lives in an :class:`ActionTable` from ``run`` to ``release``. The table builds
the ActionStatus documents, gives back the existing action when the same ``request_id``
and body come again (a different body is a 409 conflict, as the Action Provider Interface
says), and calls done callbacks exactly once. With a :class:`ResultStore`, final statuses
are also kept in SQLite, so after a crash the engine's re-sent request gets the finished
action back instead of running it a second time.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
import threading
import typing as t
import uuid

from gladier.engine.jsondata import check_bounds
from gladier.engine.providers.base import ACTIVE, TERMINAL
from gladier.engine.timing import now_iso
from gladier.exc import ActionProviderError

if t.TYPE_CHECKING:
    from gladier.engine.store import Sealer

log = logging.getLogger(__name__)

#: Who created an action when the request names nobody (the local user).
LOCAL_CREATOR_ID = "urn:globus:auth:identity:00000000-0000-0000-0000-000000000000"
#: How long a finished action is kept, as the service's providers say (ISO-8601 duration).
RELEASE_AFTER = "P30D"

_ACTION_NAMESPACE = uuid.UUID("9b0a8f64-31a2-4c55-9d1e-2f6b7c3e8a10")

DoneCallback = t.Callable[[dict], None]


def body_fingerprint(body: t.Any) -> str:
    """A digest of a request body, to tell a re-sent request from a conflicting one."""
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), default=repr)
    return hashlib.sha256(text.encode()).hexdigest()


def bad_request(
    message: str, *, code: str = "BadActionRequest", status: int = 400
) -> ActionProviderError:
    """The error a provider raises to refuse a request (the engine's ActionUnableToRun)."""
    return ActionProviderError(
        message, http_status=status, body={"code": code, "description": message}
    )


def not_found(action_id: str) -> ActionProviderError:
    message = f"No action with id '{action_id}' (unknown or already released)"
    return ActionProviderError(
        message, http_status=404, body={"code": "ActionNotFound", "description": message}
    )


def check_request(request: t.Any) -> tuple[str, dict]:
    """The ``request_id`` and ``body`` of an ActionRequest, or a 400 saying what is wrong."""
    if not isinstance(request, dict):
        raise bad_request(f"An ActionRequest must be an object, not {type(request).__name__}")
    request_id = request.get("request_id")
    if not isinstance(request_id, str) or not request_id:
        raise bad_request("The ActionRequest has no 'request_id' (a non-empty string is required)")
    body = request.get("body")
    if not isinstance(body, dict):
        raise bad_request(f"The ActionRequest 'body' must be an object, not {type(body).__name__}")
    return request_id, body


def copy_status(document: dict) -> dict:
    """A copy the caller may change without touching the provider's own record."""
    result = dict(document)
    if isinstance(result.get("details"), dict):
        result["details"] = dict(result["details"])
    return result


class ResultStore:
    """Final ActionStatus documents in SQLite, by provider scope and ``request_id``.

    It shares the engine's database file, in its own table ``provider_actions``. A status
    may quote the private values its request held (a provider's error text does), and the
    provider cannot tell which they were: every document is stored sealed by ``sealer`` (the
    engine store's, so one key file serves both; by default one of its own on that key file).
    """

    def __init__(self, path: str, *, sealer: Sealer | None = None):
        from gladier.engine.store import Sealer

        self.path = path
        self._sealer = sealer or Sealer(path, has_sealed=self._has_sealed)
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None

    def _connection(self) -> sqlite3.Connection:
        if self._db is None:
            db = sqlite3.connect(
                self.path, timeout=30, isolation_level=None, check_same_thread=False
            )
            db.execute("PRAGMA busy_timeout = 30000")
            try:
                db.execute("PRAGMA journal_mode = WAL")  # as the engine's own store
            except sqlite3.OperationalError:
                pass  # another connection is busy; it has set WAL already
            db.execute("PRAGMA synchronous = NORMAL")
            db.execute(
                "CREATE TABLE IF NOT EXISTS provider_actions ("
                " scope TEXT NOT NULL, request_id TEXT NOT NULL, fingerprint TEXT NOT NULL,"
                " action_id TEXT NOT NULL, document TEXT NOT NULL,"
                " PRIMARY KEY (scope, request_id))"
            )
            db.execute(
                "CREATE INDEX IF NOT EXISTS provider_actions_by_action"
                " ON provider_actions (scope, action_id)"
            )
            self._db = db
        return self._db

    def save(self, scope: str, request_id: str, fingerprint: str, document: dict) -> None:
        check_bounds(document, "The action's status")  # NotJSONData naming the limit
        text = self._sealer.seal(json.dumps(document, default=repr), always=True)
        with self._lock:
            self._connection().execute(
                "INSERT OR REPLACE INTO provider_actions VALUES (?, ?, ?, ?, ?)",
                (scope, request_id, fingerprint, document["action_id"], text),
            )

    def find_request(self, scope: str, request_id: str) -> tuple[str, dict] | None:
        with self._lock:
            row = (
                self._connection()
                .execute(
                    "SELECT fingerprint, document FROM provider_actions"
                    " WHERE scope = ? AND request_id = ?",
                    (scope, request_id),
                )
                .fetchone()
            )
        return (row[0], self._document(row[1])) if row else None

    def find_action(self, scope: str, action_id: str) -> tuple[str, str, dict] | None:
        with self._lock:
            row = (
                self._connection()
                .execute(
                    "SELECT request_id, fingerprint, document FROM provider_actions"
                    " WHERE scope = ? AND action_id = ?",
                    (scope, action_id),
                )
                .fetchone()
            )
        return (row[0], row[1], self._document(row[2])) if row else None

    def _document(self, stored: str) -> dict:
        text = self._sealer.unseal(stored)
        assert text is not None  # the column is NOT NULL
        return json.loads(text)

    def _has_sealed(self) -> bool:
        with self._lock:
            return self._connection().execute(
                "SELECT 1 FROM provider_actions LIMIT 1").fetchone() is not None

    def forget(self, scope: str, action_id: str) -> None:
        with self._lock:
            self._connection().execute(
                "DELETE FROM provider_actions WHERE scope = ? AND action_id = ?", (scope, action_id)
            )

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None


class _Action:
    __slots__ = ("document", "request_id", "fingerprint", "callbacks", "kept")

    def __init__(self, document: dict, request_id: str, fingerprint: str, kept: bool = True):
        self.document = document
        self.request_id = request_id
        self.fingerprint = fingerprint
        self.callbacks: list[DoneCallback] = []
        self.kept = kept  # its final status goes to the result store


class ActionTable:
    """The actions of one provider (``scope`` names it in the store), safe across threads."""

    def __init__(self, scope: str, *, store: ResultStore | None = None):
        self.scope = scope
        self.store = store
        self._lock = threading.Lock()
        self._actions: dict[str, _Action] = {}
        self._by_request: dict[str, str] = {}

    def action_id_for(self, request_id: str) -> str:
        """Stable per request, so a re-sent request names the same action after a restart."""
        return str(uuid.uuid5(_ACTION_NAMESPACE, f"{self.scope}\n{request_id}"))

    def existing(self, request: dict, *, fingerprint: str | None = None,
                 stored: bool = True) -> dict | None:
        """The action already started for this request, if any (409 if the body differs).

        ``fingerprint``: the body's :func:`body_fingerprint`, when the caller has it;
        ``stored=False``: the caller knows the result store cannot hold it (not searched).
        """
        request_id, body = check_request(request)
        return self._find(request_id, fingerprint or body_fingerprint(body), stored=stored)

    def _find(self, request_id: str, fingerprint: str, *, stored: bool = True) -> dict | None:
        with self._lock:
            known = self._lookup_request(request_id, fingerprint)
        if known is not None:
            return known
        if self.store is None or not stored:
            return None
        try:
            saved = self.store.find_request(self.scope, request_id)
        except sqlite3.Error as exc:
            log.warning("Could not read finished actions from %s: %s", self.store.path, exc)
            return None
        if saved is None:
            return None
        if saved[0] != fingerprint:
            raise self.conflict(request_id)
        with self._lock:
            action = self._actions.setdefault(
                saved[1]["action_id"], _Action(saved[1], request_id, fingerprint)
            )
            self._by_request[request_id] = saved[1]["action_id"]
            return copy_status(action.document)

    def _lookup_request(self, request_id: str, fingerprint: str) -> dict | None:
        action_id = self._by_request.get(request_id)
        if action_id is None:
            return None
        action = self._actions[action_id]
        if action.fingerprint != fingerprint:
            raise self.conflict(request_id)
        return copy_status(action.document)

    def conflict(self, request_id: str) -> ActionProviderError:
        """The 409 for a request id received before with another body."""
        return bad_request(
            f"Request with id '{request_id}' was already received with a different body",
            code="ActionConflict",
            status=409,
        )

    def start(
        self,
        request: dict,
        *,
        status: str = ACTIVE,
        details: dict | None = None,
        display_status: str | None = None,
        checked_fingerprint: str | None = None,
        keep: bool = True,
    ) -> tuple[dict, bool]:
        """Record a new action, or return the existing one: ``(status document, created)``.

        ``checked_fingerprint``: the body's fingerprint, given when the caller has just
        called :meth:`existing` with it, so the result store is not searched twice (a
        request started meanwhile in this process is still found). ``keep=False``: the
        final status is not kept in the result store (the provider keeps what a re-sent
        request needs after a crash itself, e.g. the compute task ledger).
        """
        request_id, body = check_request(request)
        fingerprint = checked_fingerprint
        if fingerprint is None:
            fingerprint = body_fingerprint(body)
            found = self._find(request_id, fingerprint)
            if found is not None:
                return found, False
        now = now_iso()
        managers = request.get("manage_by") or request.get("monitor_by") or [LOCAL_CREATOR_ID]
        document = {
            "action_id": self.action_id_for(request_id),
            "status": status,
            "display_status": display_status or status,
            "details": details if details is not None else {},
            "creator_id": managers[0],
            "label": request.get("label"),
            "monitor_by": list(request.get("monitor_by") or []),
            "manage_by": list(request.get("manage_by") or []),
            "start_time": now,
            "completion_time": now if status in TERMINAL else None,
            "release_after": RELEASE_AFTER,
        }
        with self._lock:
            known = self._lookup_request(request_id, fingerprint)
            if known is not None:
                return known, False
            self._actions[document["action_id"]] = _Action(document, request_id, fingerprint,
                                                           kept=keep)
            self._by_request[request_id] = document["action_id"]
        if status in TERMINAL and keep:
            self._save(request_id, fingerprint, document)
        return copy_status(document), True

    def finish(
        self, action_id: str, status: str, details: dict, *, display_status: str | None = None
    ) -> bool:
        """Make an ACTIVE action final and call its callbacks; False if it already was."""
        with self._lock:
            action = self._actions.get(action_id)
            if action is None or action.document["status"] in TERMINAL:
                return False
            document = dict(action.document)
            document.update(
                status=status,
                display_status=display_status or status,
                details=details,
                completion_time=now_iso(),
            )
            action.document = document
            callbacks, action.callbacks = action.callbacks, []
        if action.kept:
            self._save(action.request_id, action.fingerprint, document)
        for callback in callbacks:
            self._call(callback, document)
        return True

    def update(self, action_id: str, *, details: dict, display_status: str | None = None) -> None:
        """Show progress of an ACTIVE action."""
        with self._lock:
            action = self._actions.get(action_id)
            if action is None or action.document["status"] in TERMINAL:
                return
            document = dict(action.document, details=details)
            if display_status:
                document["display_status"] = display_status
            action.document = document

    def get(self, action_id: str) -> dict:
        """The current ActionStatus (404 ActionProviderError if unknown)."""
        with self._lock:
            action = self._actions.get(action_id)
            if action is not None:
                return copy_status(action.document)
        if self.store is not None:
            try:
                saved = self.store.find_action(self.scope, action_id)
            except sqlite3.Error as exc:
                log.warning("Could not read finished actions from %s: %s", self.store.path, exc)
                saved = None
            if saved is not None:
                request_id, fingerprint, document = saved
                with self._lock:
                    action = self._actions.setdefault(
                        action_id, _Action(document, request_id, fingerprint)
                    )
                    self._by_request[request_id] = action_id
                    return copy_status(action.document)
        raise not_found(action_id)

    def is_terminal(self, action_id: str) -> bool:
        return self.get(action_id)["status"] in TERMINAL

    def release(self, action_id: str) -> dict:
        """Forget a finished action (409 while it is still running)."""
        document = self.get(action_id)
        if document["status"] not in TERMINAL:
            message = (
                f"Action '{action_id}' is still {document['status']}; "
                "cancel it or wait before releasing"
            )
            raise ActionProviderError(
                message, http_status=409, body={"code": "ActionConflict", "description": message}
            )
        with self._lock:
            action = self._actions.pop(action_id, None)
            if action is not None:
                self._by_request.pop(action.request_id, None)
        if self.store is not None and (action is None or action.kept):
            try:
                self.store.forget(self.scope, action_id)
            except sqlite3.Error as exc:
                log.warning(
                    "Could not forget released action %s in %s: %s", action_id, self.store.path, exc
                )
        return document

    def add_done_callback(self, action_id: str, callback: DoneCallback) -> None:
        """Call ``callback(status)`` once the action is SUCCEEDED or FAILED (now if it is)."""
        with self._lock:
            action = self._actions.get(action_id)
            if action is not None and action.document["status"] not in TERMINAL:
                action.callbacks.append(callback)
                return
        self._call(callback, self.get(action_id))

    def _call(self, callback: DoneCallback, document: dict) -> None:
        try:
            callback(copy_status(document))
        except Exception:  # a broken listener must not break the provider's thread
            log.exception("Done callback for action %s failed", document.get("action_id"))

    def _save(self, request_id: str, fingerprint: str, document: dict) -> None:
        if self.store is None:
            return
        try:
            self.store.save(self.scope, request_id, fingerprint, document)
        except (sqlite3.Error, TypeError, ValueError) as exc:
            log.warning(
                "Could not keep the result of action %s in %s (a resumed run may repeat it): %s",
                document["action_id"],
                self.store.path,
                exc,
            )
