"""The Globus Search action providers (ingest, delete), answered by a local index.

``https://actions.globus.org/search/ingest`` takes a GMetaEntry plus its index:
``{"search_index", "subject", "visible_to", "content", "id"?}``;
``https://actions.globus.org/search/delete`` takes ``{"search_index", "delete_by":
"subject" | "entry", "subject", "entry_id"?}``. Entries live in the table
``search_entries`` of the engine's SQLite database (in memory without one), so what a flow
published can be read back with :meth:`LocalSearchIndex.get_subject` or
:meth:`LocalSearchIndex.entries`. Ingesting the same subject and entry id again replaces
the entry, as Globus Search does. Deleting by query needs Search's query language and is
refused with a message saying so.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import uuid

from gladier.engine.providers.actions import ActionTable, ResultStore, bad_request, check_request
from gladier.engine.providers.base import SUCCEEDED
from gladier.engine.providers.synchronous import SynchronousProvider
from gladier.engine.timing import now_iso

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS search_entries ("
    " index_id TEXT NOT NULL, subject TEXT NOT NULL, entry_id TEXT NOT NULL,"
    " visible_to TEXT NOT NULL, content TEXT NOT NULL, ingested_at TEXT NOT NULL,"
    " PRIMARY KEY (index_id, subject, entry_id))"
)


class LocalSearchIndex:
    """Search entries by index id, subject and entry id, in SQLite."""

    def __init__(self, path: str | None = None):
        self.path = path or ":memory:"
        self._lock = threading.Lock()
        self._connection: sqlite3.Connection | None = None

    @property
    def _db(self) -> sqlite3.Connection:
        """The connection, opened (and the table made) on first use: by the provider's own
        calls, never while the engine's scheduler holds a batch of the same file open."""
        if self._connection is None:
            db = sqlite3.connect(self.path, timeout=30, isolation_level=None,
                                 check_same_thread=False)
            db.execute("PRAGMA busy_timeout = 30000")
            db.execute(_SCHEMA)
            self._connection = db
        return self._connection

    def ingest(self, index_id: str, entry: dict) -> None:
        """Add (or replace) one GMetaEntry: ``subject``, ``visible_to``, ``content``, ``id``."""
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO search_entries VALUES (?, ?, ?, ?, ?, ?)",
                (index_id, entry["subject"], entry.get("id") or "",
                 json.dumps(entry["visible_to"]), json.dumps(entry["content"]), now_iso()))

    def delete(self, index_id: str, subject: str, entry_id: str | None = None) -> int:
        """Remove a subject (every entry) or one entry of it; returns how many went."""
        query = "DELETE FROM search_entries WHERE index_id = ? AND subject = ?"
        args: tuple = (index_id, subject)
        if entry_id is not None:
            query += " AND entry_id = ?"
            args += (entry_id,)
        with self._lock:
            return self._db.execute(query, args).rowcount

    def entries(self, index_id: str) -> list[dict]:
        """Every entry of an index as ingested (GMetaEntry: subject, id, visible_to, content)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT subject, entry_id, visible_to, content FROM search_entries"
                " WHERE index_id = ? ORDER BY subject, entry_id", (index_id,)).fetchall()
        return [{"subject": subject, "id": entry_id or None,
                 "visible_to": json.loads(visible_to), "content": json.loads(content)}
                for subject, entry_id, visible_to, content in rows]

    def get_subject(self, index_id: str, subject: str) -> dict | None:
        """A subject as Search's ``GET /v1/index/<id>/subject`` shows it (a GMetaResult)."""
        found = [entry for entry in self.entries(index_id) if entry["subject"] == subject]
        if not found:
            return None
        return {"@datatype": "GMetaResult", "@version": "2019-08-27", "subject": subject,
                "entries": [{"entry_id": entry["id"], "content": entry["content"],
                             "matched_principal_sets": []} for entry in found]}

    def close(self) -> None:
        with self._lock:
            if self._connection is not None:
                self._connection.close()


def _index_id(body: dict) -> str:
    index_id = body.get("search_index")
    if not isinstance(index_id, str) or not index_id:
        raise bad_request("A Search request needs 'search_index' (the index id)")
    return index_id


def _ingest_entry(body: dict) -> dict:
    subject = body.get("subject")
    if not isinstance(subject, str) or not subject:
        raise bad_request("A Search ingest needs 'subject' (a non-empty string)")
    visible_to = body.get("visible_to")
    if isinstance(visible_to, str):
        visible_to = [visible_to]
    if not isinstance(visible_to, list) or not visible_to or \
            not all(isinstance(principal, str) for principal in visible_to):
        raise bad_request("A Search ingest needs 'visible_to': a list of 'public' or "
                          "principal URNs")
    content = body.get("content")
    if not isinstance(content, dict):
        raise bad_request("A Search ingest needs 'content' (a JSON object)")
    entry_id = body.get("id")
    if entry_id is not None and not isinstance(entry_id, str):
        raise bad_request("'id' (the entry id) must be a string")
    return {"subject": subject, "visible_to": visible_to, "content": content, "id": entry_id}


class SearchActionProvider(SynchronousProvider):
    """``ingest`` or ``delete`` on the local index; each action finishes in ``run``."""

    def __init__(self, index: LocalSearchIndex, route: str, *,
                 store: ResultStore | None = None):
        if route not in ("ingest", "delete"):
            raise ValueError(f"no Search route {route!r}")
        self.index = index
        self.route = route
        self._actions = ActionTable(f"search/{route}", store=store)

    def run(self, request: dict) -> dict:
        found = self._actions.existing(request)
        if found is not None:
            return found
        _, body = check_request(request)
        index_id = _index_id(body)
        details = self._ingest(index_id, body) if self.route == "ingest" \
            else self._delete(index_id, body)
        document, _ = self._actions.start(request, status=SUCCEEDED, details=details)
        return document

    def _ingest(self, index_id: str, body: dict) -> dict:
        self.index.ingest(index_id, _ingest_entry(body))
        return {"acknowledged": True, "success": True, "num_documents_ingested": 1,
                "task_id": str(uuid.uuid4()), "search_index": index_id}

    def _delete(self, index_id: str, body: dict) -> dict:
        delete_by = body.get("delete_by", "subject")
        if delete_by == "query":
            raise bad_request("delete_by 'query' is not supported by the local Search index; "
                              "delete by 'subject' or 'entry'")
        if delete_by not in ("subject", "entry"):
            raise bad_request(f"'delete_by' must be 'subject' or 'entry', not {delete_by!r}")
        subject = body.get("subject")
        if not isinstance(subject, str) or not subject:
            raise bad_request(f"A Search delete by {delete_by} needs 'subject'")
        entry_id = None
        if delete_by == "entry":
            entry_id = body.get("entry_id") or ""
            if not isinstance(entry_id, str):
                raise bad_request("'entry_id' must be a string")
        removed = self.index.delete(index_id, subject, entry_id)
        return {"acknowledged": True, "success": True, "num_entries_deleted": removed,
                "task_id": str(uuid.uuid4()), "search_index": index_id}
