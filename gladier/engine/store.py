"""The embedded engine's SQLite journal: flows, runs, log entries, actions, web inputs.

Every line of SQL the engine runs lives here. A run's row holds its cursor (the state to
execute next and the run state it gets), so a process killed at any moment resumes from
the last committed transition. Each transition (cursor, status, log entries, action
journal) is written in one transaction. The database runs in WAL mode so readers (a CLI
listing runs) never block the engine; ``synchronous=NORMAL`` survives a killed process.
A run's row also keeps the collection mapping it started with (directories, no secrets):
when another process continues the run, its Transfer states use the same directories.

The store keeps what it is given: callers pass log entries and run details with private
values already removed, and never pass tokens. A run state holding ``_private*`` keys (or
values a state listed in ``__Private_Parameters``) must be kept (a resumed run reads them),
so it is stored sealed (Fernet, from ``cryptography``,
which globus-sdk depends on) with a key in ``<db>-key`` (0600): private values never
appear in the database file's bytes, in its copies or backups.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
import typing as t

from gladier.engine.jsondata import json_text
from gladier.exc import EngineError, RunEnded, RunTakenOver, StorageError, WebInputError
from gladier.ownership import check_trusted

_SCHEMA = """
CREATE TABLE IF NOT EXISTS flows (
    flow_id TEXT PRIMARY KEY,
    title TEXT,
    definition TEXT NOT NULL,
    input_schema TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    metadata TEXT,
    deleted_at TEXT
);
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    flow_id TEXT NOT NULL REFERENCES flows(flow_id),
    status TEXT NOT NULL,
    label TEXT,
    tags TEXT NOT NULL,
    owner TEXT NOT NULL,
    start_time TEXT NOT NULL,
    completion_time TEXT,
    details TEXT NOT NULL,
    state_name TEXT,
    data TEXT,
    wake_at REAL,
    driver TEXT,
    log_count INTEGER NOT NULL DEFAULT 0,
    collections TEXT
);
CREATE INDEX IF NOT EXISTS runs_by_status ON runs(status);
CREATE INDEX IF NOT EXISTS runs_by_start ON runs(start_time, run_id);
CREATE TABLE IF NOT EXISTS log_entries (
    run_id TEXT NOT NULL REFERENCES runs(run_id),
    seq INTEGER NOT NULL,
    time TEXT NOT NULL,
    code TEXT NOT NULL,
    description TEXT NOT NULL,
    details TEXT NOT NULL,
    PRIMARY KEY (run_id, seq)
);
CREATE TABLE IF NOT EXISTS actions (
    request_id TEXT PRIMARY KEY,
    run_id TEXT NOT NULL REFERENCES runs(run_id),
    state_name TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    url TEXT NOT NULL,
    action_id TEXT,
    deadline REAL NOT NULL,
    finished INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS actions_by_run ON actions(run_id, state_name);
CREATE TABLE IF NOT EXISTS web_inputs (
    web_input_id TEXT PRIMARY KEY,
    run_id TEXT NOT NULL REFERENCES runs(run_id),
    state_name TEXT NOT NULL,
    status TEXT NOT NULL,
    document TEXT NOT NULL,
    option_values TEXT NOT NULL,
    response TEXT
);
CREATE INDEX IF NOT EXISTS web_inputs_by_run ON web_inputs(run_id);
"""

#: A run row with its flow's title and last update, as run documents show them.
_SELECT_RUNS = ("SELECT runs.*, flows.title AS flow_title, flows.updated_at AS flow_last_updated"
                " FROM runs LEFT JOIN flows ON flows.flow_id = runs.flow_id")
#: The tables holding a run's rows, children first.
_RUN_TABLES = ("log_entries", "actions", "web_inputs", "runs")
#: Run columns a transition may change.
_RUN_FIELDS = frozenset({"status", "completion_time", "details", "state_name", "data",
                         "wake_at", "driver"})
_JSON_FIELDS = frozenset({"details", "tags"})
#: Columns added to tables after their first release: older databases get them on opening
#: (NULL in the rows they hold).
_ADDED_COLUMNS = {"runs": {"collections": "TEXT"},
                  "flows": {"metadata": "TEXT", "deleted_at": "TEXT"}}
#: Indexes added after the first release (older databases get them on opening).
_ADDED_INDEXES = {"runs_by_start": "CREATE INDEX runs_by_start ON runs(start_time, run_id)"}
#: The columns of a run document (no run state: a page of runs never reads or unseals it).
_SELECT_RUN_DOCUMENTS = (
    "SELECT runs.run_id, runs.flow_id, runs.status, runs.label, runs.tags, runs.owner,"
    " runs.start_time, runs.completion_time, runs.details, flows.title AS flow_title,"
    " flows.updated_at AS flow_last_updated FROM runs LEFT JOIN flows"
    " ON flows.flow_id = runs.flow_id")
#: Orders a page of runs may be sorted in (the service's ``orderby`` fields).
RUN_ORDER_FIELDS = {"id": "runs.run_id", "start_time": "runs.start_time",
                    "completion_time": "runs.completion_time", "status": "runs.status",
                    "label": "runs.label"}
#: The order of a page of runs when none is asked for: newest first.
DEFAULT_RUN_ORDER = (("start_time", True),)
#: Run columns that are never NULL (a page key over them compares as one row value).
_NOT_NULL_RUN_ORDER = frozenset({"runs.run_id", "runs.start_time", "runs.status"})
#: Orders a page of flows may be sorted in.
FLOW_ORDER_FIELDS = {"id": "flow_id", "title": "title", "created_at": "created_at",
                     "updated_at": "updated_at"}


#: Seconds a process waits for another one's write to the database before giving up.
BUSY_TIMEOUT = 30.0

#: Run state text holding a private key (or value) is sealed before it is stored.
PRIVATE_MARKER = '"_private'
SEALED_PREFIX = "sealed:"


class Sealer:
    """Seals run states that hold private values, with a key file beside the database."""

    def __init__(self, db_path: str, *, has_sealed: t.Callable[[], bool]) -> None:
        self.key_path = None if db_path == ":memory:" else f"{db_path}-key"
        self._has_sealed = has_sealed
        self._fernet: t.Any = None
        self._lock = threading.Lock()

    def seal(self, text: str | None, always: bool = False) -> str | None:
        if text is None or not (always or PRIVATE_MARKER in text):
            return text
        return SEALED_PREFIX + self._cipher().encrypt(text.encode()).decode()

    def unseal(self, text: str | None) -> str | None:
        if text is None or not text.startswith(SEALED_PREFIX):
            return text
        from cryptography.fernet import InvalidToken

        try:
            return self._cipher().decrypt(text[len(SEALED_PREFIX):].encode()).decode()
        except InvalidToken:
            raise StorageError(
                f"Cannot read the private values of a run: the key file '{self.key_path}' "
                "is not the one they were sealed with",
                hint=f"put back the '{self.key_path}' that was beside the database when the "
                     "run started (from a backup); without it this run cannot continue, "
                     "other runs are not affected") from None

    def _cipher(self) -> t.Any:
        with self._lock:
            if self._fernet is None:
                from cryptography.fernet import Fernet

                self._fernet = Fernet(self._key())
            return self._fernet

    def _key(self) -> bytes:
        from cryptography.fernet import Fernet

        if self.key_path is None:
            return Fernet.generate_key()
        if not os.path.exists(self.key_path) and self._has_sealed():
            raise StorageError(
                f"The engine key file '{self.key_path}' is missing, and the database holds "
                "run states sealed with it: a new key would not open them",
                hint=f"put back '{self.key_path}' from a backup (mode 0600); to give those "
                     "runs up instead, cancel them ('gladier runs cancel RUN_ID') or move the "
                     "database aside")
        try:
            fd = os.open(self.key_path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        except FileExistsError:
            for _ in range(500):  # another process is writing it
                with open(self.key_path, "rb") as stream:
                    check_trusted(self.key_path, "The engine key file", fd=stream.fileno())
                    key = stream.read().strip()
                if key:
                    return key
                time.sleep(0.01)
            raise EngineError(f"The engine key file '{self.key_path}' is empty") from None
        except OSError as err:
            raise EngineError(f"Cannot create the engine key file '{self.key_path}': "
                              f"{err}") from err
        key = Fernet.generate_key()
        with os.fdopen(fd, "wb") as stream:
            stream.write(key)
            stream.flush()
            os.fsync(stream.fileno())
        return key


def _switch_to_wal(db: sqlite3.Connection) -> None:
    """``PRAGMA journal_mode=WAL``, retried while another process switches the same new
    database: SQLite answers "database is locked" at once there, without its busy handler."""
    deadline = time.monotonic() + BUSY_TIMEOUT
    while True:
        try:
            db.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as err:
            if "locked" not in str(err) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def _create_private_file(path: str) -> None:
    """Create the database file readable by its owner only (it holds run data)."""
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, mode=0o700, exist_ok=True)
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
    os.close(fd)


class Store:
    """One SQLite connection shared by the engine's threads behind a lock."""

    def __init__(self, path: str) -> None:
        self.path = path
        try:
            if path != ":memory:" and not os.path.exists(path):
                _create_private_file(path)
            if path != ":memory:":
                for companion in (path, f"{path}-wal", f"{path}-shm"):
                    if os.path.exists(companion):
                        check_trusted(companion, "The engine database file")
            # The busy timeout is set first: K processes opening a new database at once
            # take turns switching it to WAL and creating the tables.
            self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None,
                                       timeout=BUSY_TIMEOUT)
            self._db.row_factory = sqlite3.Row
            self._db.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT * 1000)}")
            # Before anything is written (the WAL switch writes the header): a new database
            # keeps the page map that lets pruning give space back (see prune_runs).
            self._db.execute("PRAGMA auto_vacuum=INCREMENTAL")
            _switch_to_wal(self._db)
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA foreign_keys=ON")
            _create_schema(self._db)
            _add_missing_columns(self._db)
        except sqlite3.Error as err:
            raise storage_error(err, path, writing=False, action="open") from err
        except OSError as err:
            raise EngineError(f"Cannot open the engine database '{path}': {err}",
                              hint="give a database file whose directory can be created and "
                                   "written: --db PATH (or GLADIER_DB)") from err
        self._lock = threading.RLock()
        #: threads waiting for the lock (a batch gives way to them, see :meth:`batch`)
        self._waiting = 0
        self._waiting_lock = threading.Lock()
        #: inside a batch: None, or whether its transaction has begun
        self._batch_begun: bool | None = None
        self._sealer = Sealer(path, has_sealed=self._has_sealed)
        self.closed = False

    def close(self) -> None:
        with self._lock:
            self._db.close()
            self.closed = True

    @property
    def sealer(self) -> "Sealer":
        """This database's sealer: the local providers' own records (their statuses may quote
        private values) are sealed with the same key."""
        return self._sealer

    def _has_sealed(self) -> bool:
        with self._reading() as db:
            return db.execute("SELECT 1 FROM runs WHERE data LIKE ? LIMIT 1",
                              (SEALED_PREFIX + "%",)).fetchone() is not None

    def _reading(self) -> "_Reading":
        return _Reading(self)

    def _transaction(self) -> "_Transaction":
        return _Transaction(self)

    def batch(self) -> "_Batch":
        """``with store.batch():`` — the transactions this thread makes inside are committed
        together at its end: one COMMIT for many transitions of many runs (see
        :class:`_Batch`)."""
        return _Batch(self)

    def contended(self) -> bool:
        """Whether another thread waits for the store now."""
        return self._waiting > 0

    def give_way(self, timeout: float = 0.05) -> None:
        """Let threads waiting for the store in (between two batches: a thread that runs
        batch after batch would otherwise take the lock again before they wake)."""
        deadline = time.monotonic() + timeout
        while self._waiting and time.monotonic() < deadline:
            time.sleep(0.0001)

    def _acquire(self) -> None:
        if self._lock.acquire(blocking=False):
            return
        with self._waiting_lock:
            self._waiting += 1
        try:
            self._lock.acquire()
        finally:
            with self._waiting_lock:
                self._waiting -= 1

    # flows -------------------------------------------------------------------------------

    def put_flow(self, flow_id: str, *, title: str | None, definition: dict,
                 input_schema: dict | None, now: str, metadata: dict | None = None) -> None:
        """Insert the flow, or give it a new title (same id means same definition;
        ``title=None`` keeps the title it has, ``metadata=None`` its metadata). A deleted
        flow put again is back."""
        with self._transaction() as db:
            db.execute(
                "INSERT INTO flows (flow_id, title, definition, input_schema, created_at,"
                " updated_at, metadata) VALUES (?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT(flow_id) DO UPDATE SET"
                " title = COALESCE(excluded.title, flows.title),"
                " metadata = COALESCE(excluded.metadata, flows.metadata),"
                " updated_at = excluded.updated_at, deleted_at = NULL"
                " WHERE (excluded.title IS NOT NULL AND flows.title IS NOT excluded.title)"
                " OR (excluded.metadata IS NOT NULL AND flows.metadata IS NOT excluded.metadata)"
                " OR flows.deleted_at IS NOT NULL",
                (flow_id, title, json_text(definition, "The flow definition"),
                 _dumps_or_none(input_schema, "The flow's input schema"), now, now,
                 _dumps_or_none(metadata, "The flow's metadata")),
            )

    def update_flow(self, flow_id: str, *, now: str, **fields: t.Any) -> bool:
        """Change a flow's ``title``, ``definition``, ``input_schema`` or ``metadata``
        (the service's PUT /flows/{id}); False when there is no such flow (or it was
        deleted)."""
        unknown = set(fields) - {"title", "definition", "input_schema", "metadata"}
        if unknown:
            raise EngineError(f"Cannot update flow columns {sorted(unknown)}")
        names = sorted(fields)
        values = [fields[name] if name == "title"
                  else _dumps_or_none(fields[name], f"The flow's {name}") for name in names]
        with self._transaction() as db:
            return bool(db.execute(
                "UPDATE flows SET " + "".join(f"{name} = ?, " for name in names)
                + "updated_at = ? WHERE flow_id = ? AND deleted_at IS NULL",
                (*values, now, flow_id)).rowcount)

    def delete_flow(self, flow_id: str, *, now: str) -> bool:
        """Mark a flow deleted (its runs keep their flow, so they still show its graph);
        False when there is no such flow."""
        with self._transaction() as db:
            return bool(db.execute(
                "UPDATE flows SET deleted_at = ? WHERE flow_id = ? AND deleted_at IS NULL",
                (now, flow_id)).rowcount)

    def get_flow(self, flow_id: str) -> dict | None:
        """The flow's row (deleted ones too: ``deleted_at`` says so)."""
        with self._reading() as db:
            row = db.execute("SELECT * FROM flows WHERE flow_id = ?", (flow_id,)).fetchone()
        return _flow_from_row(row) if row is not None else None

    def page_flows(self, *, limit: int, offset: int = 0, fulltext: t.Sequence[str] = (),
                   orderby: t.Sequence[tuple[str, bool]] = ()) -> list[dict]:
        """Flows not deleted, ``limit`` of them from ``offset``; ``fulltext`` keeps flows
        whose id, title or metadata holds one of the strings (any case); ``orderby`` is
        ``(field, descending)`` pairs of :data:`FLOW_ORDER_FIELDS` (default newest first)."""
        query, args = "SELECT * FROM flows WHERE deleted_at IS NULL", list[t.Any]()
        if fulltext:
            query += " AND (" + " OR ".join(
                "(instr(lower(flow_id || ' ' || COALESCE(title, '') || ' '"
                " || COALESCE(metadata, '')), ?) > 0)" for _ in fulltext) + ")"
            args.extend(text.lower() for text in fulltext)
        query += _order_clause(orderby or [("created_at", True)], FLOW_ORDER_FIELDS, "flow_id")
        with self._reading() as db:
            rows = db.execute(query + " LIMIT ? OFFSET ?",
                              (*args, int(limit), int(offset))).fetchall()
        return [_flow_from_row(row) for row in rows]

    # runs --------------------------------------------------------------------------------

    def create_run(self, run: dict, entries: list[dict]) -> dict:
        """Insert a new run row (cursor at its first state) and its first log entries;
        returns the row as :meth:`get_run` gives it (read in the same hold of the lock)."""
        with self._transaction() as db:
            db.execute(
                "INSERT INTO runs (run_id, flow_id, status, label, tags, owner, start_time,"
                " completion_time, details, state_name, data, wake_at, driver, log_count,"
                " collections) VALUES (?, ?, ?, ?, ?, ?, ?, NULL, ?, ?, ?, NULL, ?, 0, ?)",
                (run["run_id"], run["flow_id"], run["status"], run.get("label"),
                 json_text(run.get("tags") or [], "The run's tags"), run["owner"],
                 run["start_time"], json_text(run["details"], "The run's details"),
                 run["state_name"],
                 self._sealer.seal(run["data"]),
                 run.get("driver"),
                 _dumps_or_none(run.get("collections"), "The run's collections")),
            )
            rows = _entry_rows(entries)
            _insert_entries(db, run["run_id"], rows, last=_update_run(
                db, run["run_id"], (), (), len(rows), driver=None, unfinished=False))
            return self._run_from_row(db.execute(_SELECT_RUNS + " WHERE runs.run_id = ?",
                                                 (run["run_id"],)).fetchone())

    def record(self, run_id: str, *, fields: dict | None = None,
               entries: t.Sequence[dict] = (), new_action: dict | None = None,
               finish_action: str | None = None, new_web_input: dict | None = None,
               seal: bool = False, driver: str | None = None) -> None:
        """Journal one transition of a run in a single transaction.

        ``fields`` updates run columns (``data`` must already be JSON text) of a run that
        has not ended, else RunEnded is raised and nothing is written (another process
        canceled the run);
        ``entries`` appends log entries; ``new_action`` journals an action request before
        it is sent; ``finish_action`` (a request_id) marks an action as done with;
        ``new_web_input`` (``document``, ``values``, ``state_name``) opens a web input;
        ``seal`` seals ``data`` even without a ``_private`` key in it; ``driver`` (the
        engine writing) must still be the run's driver, else RunTakenOver is raised and
        nothing is written (another engine claimed the run).
        """
        fields = fields or {}
        unknown = set(fields) - _RUN_FIELDS
        if unknown:
            raise EngineError(f"Cannot update run columns {sorted(unknown)}")
        names = sorted(fields)
        values = [json_text(fields[n], f"The run's {n}") if n in _JSON_FIELDS
                  else self._sealer.seal(fields[n], seal) if n == "data" else fields[n]
                  for n in names]
        rows = _entry_rows(entries)
        with self._transaction() as db:
            if names or rows:
                last = _update_run(db, run_id, names, values, len(rows), driver=driver,
                                   unfinished=bool(names))
                _insert_entries(db, run_id, rows, last=last)
            elif driver is not None:
                _check_driver(db, run_id, driver)
            if new_action is not None:
                db.execute(
                    "INSERT INTO actions (request_id, run_id, state_name, attempt, url,"
                    " action_id, deadline, finished) VALUES (?, ?, ?, ?, ?, NULL, ?, 0)",
                    (new_action["request_id"], run_id, new_action["state_name"],
                     new_action["attempt"], new_action["url"], new_action["deadline"]),
                )
            if finish_action is not None:
                db.execute("UPDATE actions SET finished = 1 WHERE request_id = ?",
                           (finish_action,))
            if new_web_input is not None:
                document = new_web_input["document"]
                db.execute(
                    "INSERT INTO web_inputs (web_input_id, run_id, state_name, status,"
                    " document, option_values, response) VALUES (?, ?, ?, ?, ?, ?, NULL)",
                    (document["id"], run_id, new_web_input["state_name"], document["status"],
                     json_text(document, "The web input"),
                     json_text(new_web_input["values"], "The web input's option values")),
                )

    def claim_run(self, run_id: str, driver: str, *, expected: str | None) -> bool:
        """Make ``driver`` the run's driver if the run has not ended and its driver is still
        ``expected`` (compare-and-set): of several engines taking over a run at once, one
        wins; the others get False."""
        with self._transaction() as db:
            return bool(db.execute(
                "UPDATE runs SET driver = ? WHERE run_id = ? AND driver IS ?"
                " AND status IN ('ACTIVE', 'INACTIVE')", (driver, run_id, expected)).rowcount)

    def release_runs(self, driver: str) -> None:
        """Leave the unfinished runs ``driver`` drives to whoever resumes them next (an
        engine closing while its process goes on)."""
        with self._transaction() as db:  # found on the status index, not a scan of all runs
            db.execute("UPDATE runs SET driver = NULL WHERE driver = ?"
                       " AND status IN ('ACTIVE', 'INACTIVE')", (driver,))

    def set_action_id(self, request_id: str, action_id: str, *,
                      driver: str | None = None) -> None:
        """Journal the id a provider gave an action, right after ``run`` returned
        (RunTakenOver if ``driver`` no longer drives its run)."""
        with self._transaction() as db:
            if driver is not None:
                row = db.execute("SELECT run_id FROM actions WHERE request_id = ?",
                                 (request_id,)).fetchone()
                if row is not None:
                    _check_driver(db, row[0], driver)
            db.execute("UPDATE actions SET action_id = ? WHERE request_id = ?",
                       (action_id, request_id))

    def get_run(self, run_id: str) -> dict | None:
        with self._reading() as db:
            row = db.execute(_SELECT_RUNS + " WHERE runs.run_id = ?", (run_id,)).fetchone()
        return self._run_from_row(row) if row is not None else None

    def list_runs(self, statuses: t.Collection[str] | None = None) -> list[dict]:
        query = _SELECT_RUNS
        args: tuple = ()
        if statuses:
            query += " WHERE runs.status IN (" + ", ".join("?" * len(statuses)) + ")"
            args = tuple(statuses)
        with self._reading() as db:
            rows = db.execute(query + " ORDER BY runs.start_time, runs.run_id",
                              args).fetchall()
        return [self._run_from_row(row) for row in rows]

    def page_runs(self, *, limit: int, offset: int = 0, statuses: t.Sequence[str] = (),
                  flow_ids: t.Sequence[str] = (), labels: t.Sequence[str] = (),
                  flow_titles: t.Sequence[str] = (),
                  start_time: tuple[str | None, str | None] = (None, None),
                  completion_time: tuple[str | None, str | None] = (None, None),
                  orderby: t.Sequence[tuple[str, bool]] = (),
                  after: t.Sequence[t.Any] | None = None) -> list[dict]:
        """Run rows without their run state, ``limit`` of them from ``offset``: the
        service's GET /runs. ``labels`` and ``flow_titles`` match substrings (any case);
        a time range is ``(from, before)``, either end open; ``orderby`` is
        ``(field, descending)`` pairs of :data:`RUN_ORDER_FIELDS` (default newest first).

        ``after`` (the :func:`run_page_key` of the last run of the page before) starts the
        page right after that run: the next page is found on the index of its order, however
        deep it is (an ``offset`` makes SQLite step over every run before it)."""
        where, args = _run_where(statuses=statuses, flow_ids=flow_ids, labels=labels,
                                 flow_titles=flow_titles, start_time=start_time,
                                 completion_time=completion_time)
        orderby = list(orderby or DEFAULT_RUN_ORDER)
        if after is not None:
            beyond, beyond_args = _after_clause(orderby, after)
            where = (where + " AND " if where else " WHERE ") + beyond
            args.extend(beyond_args)
        query = _SELECT_RUN_DOCUMENTS + where
        query += _order_clause(orderby, RUN_ORDER_FIELDS, "runs.run_id")
        with self._reading() as db:
            rows = db.execute(query + " LIMIT ? OFFSET ?",
                              (*args, int(limit), int(offset))).fetchall()
        return [_run_from_row(row) for row in rows]

    def count_runs(self, **filters: t.Any) -> int:
        """How many runs :meth:`page_runs` would give with these filters and no limit."""
        where, args = _run_where(**filters)
        # only a filter by flow title needs the flows: without the join, SQLite counts an
        # index (about 1 ms for 100,000 runs, not 30)
        joined = " LEFT JOIN flows ON flows.flow_id = runs.flow_id" if filters.get(
            "flow_titles") else ""
        with self._reading() as db:
            return db.execute("SELECT COUNT(*) FROM runs" + joined + where, args).fetchone()[0]

    def set_run_metadata(self, run_id: str, *, label: t.Any = None,
                         tags: list[str] | None = None) -> bool:
        """Give a run (ended or not) a new label and/or tags; False when there is no
        such run. ``label=None`` / ``tags=None`` leave them as they are."""
        fields = {name: value for name, value in (("label", label), ("tags", tags))
                  if value is not None}
        if not fields:
            return self.get_run(run_id) is not None
        names = sorted(fields)
        values = [json_text(fields[n], "The run's tags") if n == "tags" else fields[n]
                  for n in names]
        with self._transaction() as db:
            return bool(db.execute(
                "UPDATE runs SET " + ", ".join(f"{n} = ?" for n in names) + " WHERE run_id = ?",
                (*values, run_id)).rowcount)

    def delete_run(self, run_id: str, *, statuses: t.Collection[str]) -> bool:
        """Remove a run with one of ``statuses`` and all it journaled; False when the run
        is not there or has another status (checked in the same transaction)."""
        with self._transaction() as db:
            row = db.execute("SELECT status FROM runs WHERE run_id = ?", (run_id,)).fetchone()
            if row is None or row["status"] not in statuses:
                return False
            for table in _RUN_TABLES:
                db.execute(f"DELETE FROM {table} WHERE run_id = ?", (run_id,))
        return True

    def prune_runs(self, *, completed_before: str, statuses: t.Collection[str],
                   dry_run: bool = False) -> list[str]:
        """Delete the runs of these (final) statuses completed before the ISO time, with
        their log entries, actions and web inputs; the ids of the runs deleted (or that
        would be, with ``dry_run``)."""
        marks = ", ".join("?" * len(statuses))
        select = (f"SELECT run_id FROM runs WHERE status IN ({marks}) AND completion_time "
                  "IS NOT NULL AND completion_time < ?")
        args = (*statuses, completed_before)
        if dry_run:
            with self._reading() as db:
                return [row[0] for row in db.execute(select, args).fetchall()]
        with self._transaction() as db:
            run_ids = [row[0] for row in db.execute(select, args).fetchall()]
            for table in _RUN_TABLES:
                db.execute(f"DELETE FROM {table} WHERE run_id IN ({select})", args)
        if run_ids:
            self._give_back_space()
        return run_ids

    def _give_back_space(self) -> None:
        """Shrink the file by the pages deleted runs left free.

        SQLite frees pages at the end of the file only in auto-vacuum mode, which it takes
        when the database is new (before its first table; the store asks for it at open) or
        through VACUUM: a database made before is converted by its first prune (one VACUUM,
        which rewrites the file), later prunes run an incremental vacuum. The WAL is then
        checkpointed, so the main file shrinks now (if another process reads the database
        at that moment, the checkpoint is left for later and the file shrinks then).
        """
        with self._lock:
            db = self._db
            try:
                if db.execute("PRAGMA auto_vacuum").fetchone()[0] == 0:
                    db.execute("PRAGMA auto_vacuum=INCREMENTAL")
                    db.execute("VACUUM")
                else:
                    # executescript steps the pragma to its end (execute frees one page)
                    db.executescript("PRAGMA incremental_vacuum;")
                db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
            except sqlite3.Error as err:
                raise storage_error(err, self.path, writing=True) from err

    def log_entries(self, run_id: str, *, limit: int | None = None, offset: int = 0,
                    reverse: bool = False) -> list[dict]:
        """The run's log entries in order (newest first with ``reverse``), ``limit`` of
        them from ``offset``."""
        query = ("SELECT time, code, description, details FROM log_entries WHERE run_id = ?"
                 " ORDER BY seq" + (" DESC" if reverse else ""))
        args: tuple = (run_id,)
        if limit is not None or offset:
            query += " LIMIT ? OFFSET ?"
            args += (-1 if limit is None else int(limit), int(offset))
        with self._reading() as db:
            rows = db.execute(query, args).fetchall()
        return [dict(row, details=json.loads(row["details"])) for row in rows]

    def _run_from_row(self, row: sqlite3.Row) -> dict:
        """A run row without its run state: listing or showing runs never needs the key,
        so a missing or wrong key affects only the runs it sealed (see :meth:`run_data`)."""
        run = _run_from_row(row)
        run.pop("data", None)
        return run

    def run_data(self, run_id: str) -> str | None:
        """The run state (JSON text) of a run, unsealed (StorageError if its key is not
        the one it was sealed with, or is missing)."""
        with self._reading() as db:
            row = db.execute("SELECT data FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        return None if row is None else self._sealer.unseal(row[0])

    # actions -----------------------------------------------------------------------------

    def open_action(self, run_id: str) -> dict | None:
        """The run's journaled action that has not been finished with, if any."""
        with self._reading() as db:
            row = db.execute(
                "SELECT * FROM actions WHERE run_id = ? AND finished = 0"
                " ORDER BY attempt DESC LIMIT 1", (run_id,)).fetchone()
        return dict(row) if row is not None else None

    # web inputs ---------------------------------------------------------------------------

    def get_web_input(self, web_input_id: str) -> dict | None:
        """``{"document", "values", "run_id", "state_name", "response"}``; the document
        shows the run's label and the flow's title as they are now."""
        with self._reading() as db:
            row = db.execute(_SELECT_WEB_INPUTS + " WHERE web_inputs.web_input_id = ?",
                             (web_input_id,)).fetchone()
        return _web_input_from_row(row) if row is not None else None

    def list_web_inputs(self, *, statuses: t.Collection[str] = (),
                        run_ids: t.Collection[str] = ()) -> list[dict]:
        query, args = _SELECT_WEB_INPUTS + " WHERE 1 = 1", list[t.Any]()
        for column, wanted in (("web_inputs.status", statuses), ("web_inputs.run_id", run_ids)):
            if wanted:
                query += f" AND {column} IN (" + ", ".join("?" * len(wanted)) + ")"
                args.extend(wanted)
        with self._reading() as db:
            rows = db.execute(query + " ORDER BY web_inputs.rowid", args).fetchall()
        return [_web_input_from_row(row) for row in rows]

    def close_web_input(self, web_input_id: str, *, document: dict, response: dict) -> None:
        """Record the response (or expiry) of an open web input (WebInputError if it is
        closed)."""
        with self._transaction() as db:
            updated = db.execute(
                "UPDATE web_inputs SET status = ?, document = ?, response = ?"
                " WHERE web_input_id = ? AND status = 'open'",
                (document["status"], json_text(document, "The web input"),
                 json_text(response, "The web input's response"), web_input_id)).rowcount
        if not updated:
            raise WebInputError(f"Web Input {web_input_id} is already closed.",
                                code="STATE_CONFLICT")

    def count_attempts(self, run_id: str, state_name: str) -> int:
        """How many actions this run has journaled for ``state_name`` (loops re-enter)."""
        with self._reading() as db:
            row = db.execute(
                "SELECT COUNT(*) FROM actions WHERE run_id = ? AND state_name = ?",
                (run_id, state_name)).fetchone()
        return int(row[0])


class _Batch:
    """Transactions grouped into one commit, for the engine's scheduler thread.

    Inside a batch each transaction of the thread holding it is a SAVEPOINT of one
    transaction (begun by the first of them), released on success and rolled back alone
    on failure, exactly as a transaction of its own would be; the batch's end commits them
    all. The store's lock is held from start to end, so no other thread of the process
    reads what is not committed yet (other processes never can). A batch is as crash-safe
    as a commit per transaction if, as the scheduler does, nothing outside the process is
    told of a transition (an action sent, a log entry published) before the batch that
    journals it has committed: a process killed inside a batch leaves the journal as it was
    at the batch's start, with no effect of the lost transitions anywhere, and a resume does
    them again from there. A fault of the file at the commit raises StorageError.

    The batch holds the file's write lock once it has written: code running inside it (on
    the scheduler thread) must not write the same file through another connection (it
    would wait for a lock its own thread holds). Providers sharing the file (their result
    store, the local Search index) open their connections and write from their own calls,
    which run on I/O threads after the commit.
    """

    def __init__(self, store: Store) -> None:
        self.store = store

    def __enter__(self) -> None:
        self.store._acquire()
        self.store._batch_begun = False

    def __exit__(self, exc_type, exc, tb) -> None:
        store = self.store
        try:
            if store._batch_begun and store._db.in_transaction:
                try:
                    store._db.execute("COMMIT" if exc_type is None else "ROLLBACK")
                except sqlite3.Error as err:
                    try:
                        store._db.execute("ROLLBACK")
                    except sqlite3.Error:
                        pass  # SQLite rolled back already (a full disk does)
                    raise storage_error(err, store.path, writing=True) from err
        finally:
            store._batch_begun = None
            store._lock.release()


class _Transaction:
    """``with store._transaction() as db:`` — BEGIN IMMEDIATE … COMMIT under the lock
    (inside a :class:`_Batch`: SAVEPOINT … RELEASE). A fault of the file (full disk,
    read-only, damaged) rolls back and raises StorageError."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.nested = False

    def __enter__(self) -> sqlite3.Connection:
        store = self.store
        store._acquire()
        try:
            # only the batch's own thread passes the lock while a batch is open
            self.nested = store._batch_begun is not None
            if self.nested and not store._batch_begun:
                store._db.execute("BEGIN IMMEDIATE")
                store._batch_begun = True
            store._db.execute("SAVEPOINT journal" if self.nested else "BEGIN IMMEDIATE")
        except sqlite3.Error as err:
            store._lock.release()
            raise storage_error(err, store.path, writing=True) from err
        except BaseException:
            store._lock.release()
            raise
        return store._db

    def __exit__(self, exc_type, exc, tb) -> None:
        done, undo = (("RELEASE journal", "ROLLBACK TO journal") if self.nested
                      else ("COMMIT", "ROLLBACK"))
        try:
            if exc_type is None:
                try:
                    self.store._db.execute(done)
                    return
                except sqlite3.Error as err:
                    exc = err
            try:
                self.store._db.execute(undo)
                if self.nested:
                    self.store._db.execute("RELEASE journal")
            except sqlite3.Error:
                pass  # SQLite rolled back already (a full disk does)
            if isinstance(exc, sqlite3.Error) and not isinstance(exc, sqlite3.IntegrityError):
                raise storage_error(exc, self.store.path, writing=True) from exc
            if exc_type is None:
                raise exc
        finally:
            self.store._lock.release()


class _Reading:
    """``with store._reading() as db:`` — a read under the lock; a damaged or unreadable
    file raises StorageError."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def __enter__(self) -> sqlite3.Connection:
        self.store._acquire()
        return self.store._db

    def __exit__(self, exc_type, exc, tb) -> None:
        self.store._lock.release()
        if isinstance(exc, sqlite3.Error) and not isinstance(exc, sqlite3.ProgrammingError):
            raise storage_error(exc, self.store.path, writing=False) from exc


def storage_error(err: BaseException, path: str, *, writing: bool,
                  action: str | None = None) -> StorageError:
    """A fault of the database file, said for the person who must fix it."""
    text = str(err)
    lowered = text.lower()
    if "full" in lowered:
        what, hint = "the disk is full", (
            f"free space on the disk holding '{path}', then run 'gladier resume --db {path}'")
    elif "readonly" in lowered or "read-only" in lowered or "permission" in lowered:
        what, hint = "it is read-only", (
            f"make '{path}' and its directory writable by this user (SQLite writes "
            f"'{path}-wal' and '{path}-shm' beside it), then run 'gladier resume --db {path}'")
    elif "malformed" in lowered or "not a database" in lowered or "corrupt" in lowered:
        what, hint = "the file is damaged", (
            f"restore '{path}' from a copy ('sqlite3 {path} .recover' may save its runs), or "
            "move it aside and start with a new database")
    elif "locked" in lowered or "busy" in lowered:
        what, hint = "another process holds it locked", (
            "another process is writing it for too long; try again when it is done")
    else:
        what, hint = text, "check the database file and its directory"
    action = action or ("write" if writing else "read")
    return StorageError(f"Cannot {action} the engine database '{path}': {what} ({text})",
                        hint=hint)


def _check_driver(db: sqlite3.Connection, run_id: str, driver: str) -> None:
    row = db.execute("SELECT driver, status FROM runs WHERE run_id = ?", (run_id,)).fetchone()
    if row is not None and row["status"] in ("ACTIVE", "INACTIVE") and row["driver"] != driver:
        raise RunTakenOver(f"Run '{run_id}' is now driven by engine {row['driver']}")


def _entry_rows(entries: t.Sequence[dict]) -> list[tuple[str, str, str, str]]:
    """Log entries as ``(time, code, description, details JSON)`` rows."""
    return [(entry["time"], entry["code"], entry["description"],
             json_text(entry.get("details", {}), f"The {entry['code']} log entry"))
            for entry in entries]


def _update_run(db: sqlite3.Connection, run_id: str, names: t.Sequence[str],
                values: t.Sequence[t.Any], entries: int, *, driver: str | None,
                unfinished: bool) -> int:
    """One UPDATE for a transition: the run's columns ``names`` set to ``values`` and its
    log count raised by ``entries``, checked in the same statement: ``driver`` still
    drives the run (else RunTakenOver) and, when ``unfinished``, the run has not ended
    (else RunEnded). Nothing changes when a check fails. Returns the new log count."""
    where = " WHERE run_id = ?"
    args: list[t.Any] = [*values, entries, run_id]
    if unfinished:
        where += " AND status IN ('ACTIVE', 'INACTIVE')"
    if driver is not None:
        where += " AND (driver IS ? OR status NOT IN ('ACTIVE', 'INACTIVE'))"
        args.append(driver)
    found = db.execute(
        "UPDATE runs SET " + "".join(f"{n} = ?, " for n in names)
        + "log_count = log_count + ?" + where + " RETURNING log_count", args).fetchall()
    if not found:
        if driver is not None:
            _check_driver(db, run_id, driver)
        raise RunEnded(f"Run '{run_id}' has already ended")
    return int(found[0][0])


def _insert_entries(db: sqlite3.Connection, run_id: str,
                    rows: t.Sequence[tuple[str, str, str, str]], *, last: int) -> None:
    """Insert log entry rows (see :func:`_entry_rows`) as the run's entries ending at
    sequence number ``last``."""
    if rows:
        db.executemany(
            "INSERT INTO log_entries (run_id, seq, time, code, description, details)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            [(run_id, seq, *row) for seq, row in enumerate(rows, last - len(rows) + 1)])


_SELECT_WEB_INPUTS = (
    "SELECT web_inputs.*, runs.label AS run_label, flows.title AS flow_title FROM web_inputs"
    " JOIN runs ON runs.run_id = web_inputs.run_id"
    " LEFT JOIN flows ON flows.flow_id = runs.flow_id")


def _web_input_from_row(row: sqlite3.Row) -> dict:
    document = json.loads(row["document"])
    document["run"] = dict(document.get("run") or {}, label=row["run_label"])
    document["flow"] = dict(document.get("flow") or {}, title=row["flow_title"])
    return {"document": document, "values": json.loads(row["option_values"]),
            "run_id": row["run_id"], "state_name": row["state_name"],
            "response": _loads_or_none(row["response"])}


def _run_where(*, statuses: t.Sequence[str] = (), flow_ids: t.Sequence[str] = (),
               labels: t.Sequence[str] = (), flow_titles: t.Sequence[str] = (),
               start_time: tuple[str | None, str | None] = (None, None),
               completion_time: tuple[str | None, str | None] = (None, None)
               ) -> tuple[str, list]:
    """The WHERE clause (over runs joined with flows) of the run filters, and its arguments."""
    clauses: list[str] = []
    args: list = []
    for column, wanted in (("runs.status", statuses), ("runs.flow_id", flow_ids)):
        if wanted:
            clauses.append(f"{column} IN (" + ", ".join("?" * len(wanted)) + ")")
            args.extend(wanted)
    for column, wanted in (("runs.label", labels), ("flows.title", flow_titles)):
        if wanted:
            clauses.append("(" + " OR ".join(
                f"instr(lower(COALESCE({column}, '')), ?) > 0" for _ in wanted) + ")")
            args.extend(text.lower() for text in wanted)
    for column, (since, before) in (("runs.start_time", start_time),
                                    ("runs.completion_time", completion_time)):
        if since is not None:
            clauses.append(f"{column} >= ?")
            args.append(since)
        if before is not None:
            clauses.append(f"{column} < ?")
            args.append(before)
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), args


def _run_from_row(row: sqlite3.Row) -> dict:
    run = dict(row)
    run["tags"] = json.loads(run["tags"])
    run["details"] = json.loads(run["details"])
    run["collections"] = _loads_or_none(run.get("collections"))
    return run


def _create_schema(db: sqlite3.Connection) -> None:
    """Create the tables of a new database, in one write transaction (processes opening it
    at once wait for each other); an existing database is only read."""
    present = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if {"flows", "runs", "log_entries", "actions", "web_inputs"} <= present:
        return
    db.execute("BEGIN IMMEDIATE")
    try:
        for statement in _SCHEMA.split(";"):
            if statement.strip():
                db.execute(statement)
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def _flow_from_row(row: sqlite3.Row) -> dict:
    flow = dict(row)
    flow["definition"] = json.loads(flow["definition"])
    flow["input_schema"] = _loads_or_none(flow["input_schema"])
    flow["metadata"] = _loads_or_none(flow["metadata"]) or {}
    return flow


def _order_clause(orderby: t.Sequence[tuple[str, bool]], fields: dict[str, str],
                  tiebreak: str) -> str:
    """`` ORDER BY ...`` from ``(field, descending)`` pairs; a last key makes pages
    stable. Unknown fields raise EngineError."""
    terms = []
    for field, descending in orderby:
        if field not in fields:
            raise EngineError(f"Cannot order by {field!r}; choose one of {sorted(fields)}")
        terms.append(f"{fields[field]} {'DESC' if descending else 'ASC'}")
    last_descending = orderby[-1][1] if orderby else False
    terms.append(f"{tiebreak} {'DESC' if last_descending else 'ASC'}")
    return " ORDER BY " + ", ".join(terms)


def run_page_key(run: dict, orderby: t.Sequence[tuple[str, bool]] = ()) -> list:
    """The values a run (a row or a run document) is ordered by in a page of runs, for
    ``page_runs(after=...)``: those of ``orderby``'s fields, then its id."""
    fields = [field for field, _ in orderby or DEFAULT_RUN_ORDER]
    return [run["run_id" if field == "id" else field] for field in fields] + [run["run_id"]]


def _after_clause(orderby: t.Sequence[tuple[str, bool]], after: t.Sequence[t.Any]
                  ) -> tuple[str, list]:
    """The WHERE term keeping the runs that come after the page key ``after`` in this
    order (SQLite sorts NULL first, so last when descending)."""
    for field, _ in orderby:
        if field not in RUN_ORDER_FIELDS:
            raise EngineError(f"Cannot order by {field!r}; choose one of "
                              f"{sorted(RUN_ORDER_FIELDS)}")
    last_descending = orderby[-1][1] if orderby else False
    terms = [(RUN_ORDER_FIELDS[field], descending) for field, descending in orderby]
    terms.append(("runs.run_id", last_descending))
    if len(after) != len(terms):
        raise EngineError(f"A page key of runs has {len(terms)} values, not {len(after)}")
    directions = {descending for _, descending in terms}
    if len(directions) == 1 and None not in after and all(
            column in _NOT_NULL_RUN_ORDER for column, _ in terms):
        # one row value: SQLite starts the page on the order's index
        columns = ", ".join(column for column, _ in terms)
        marks = ", ".join("?" * len(terms))
        return f"({columns}) {'<' if directions == {True} else '>'} ({marks})", list(after)
    alternatives, args = [], []
    for position, (column, descending) in enumerate(terms):
        value = after[position]
        parts, part_args = [], []
        for earlier, (tied, _) in enumerate(terms[:position]):
            parts.append(f"{tied} IS ?")
            part_args.append(after[earlier])
        if value is None:
            parts.append("0" if descending else f"{column} IS NOT NULL")
        else:
            parts.append(f"({column} < ? OR {column} IS NULL)" if descending
                         else f"{column} > ?")
            part_args.append(value)
        alternatives.append("(" + " AND ".join(parts) + ")")
        args.extend(part_args)
    return "(" + " OR ".join(alternatives) + ")", args


def _add_missing_columns(db: sqlite3.Connection) -> None:
    """Migrate an older database (columns and indexes added since); checked again under the
    write lock, as two processes may open it at once."""
    def missing() -> tuple[list[tuple[str, str]], list[str]]:
        columns: list[tuple[str, str]] = []
        for table, added in _ADDED_COLUMNS.items():
            present = {row["name"] for row in db.execute(f"PRAGMA table_info({table})")}
            columns.extend((table, name) for name in added if name not in present)
        indexes = {row[0] for row in db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'index'")}
        return columns, [name for name in _ADDED_INDEXES if name not in indexes]

    if missing() == ([], []):
        return
    db.execute("BEGIN IMMEDIATE")
    try:
        columns, indexes = missing()
        for table, name in columns:
            db.execute(f"ALTER TABLE {table} ADD COLUMN {name} {_ADDED_COLUMNS[table][name]}")
        for name in indexes:
            db.execute(_ADDED_INDEXES[name])
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def _dumps_or_none(value: t.Any, what: str) -> str | None:
    return None if value is None else json_text(value, what)



def _loads_or_none(text: str | None) -> t.Any:
    return None if text is None else json.loads(text)
