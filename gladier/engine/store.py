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
from gladier.exc import EngineError, RunEnded, RunTakenOver, WebInputError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS flows (
    flow_id TEXT PRIMARY KEY,
    title TEXT,
    definition TEXT NOT NULL,
    input_schema TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
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
#: Run columns a transition may change.
_RUN_FIELDS = frozenset({"status", "completion_time", "details", "state_name", "data",
                         "wake_at", "driver"})
_JSON_FIELDS = frozenset({"details", "tags"})
#: Columns added to ``runs`` after its first release: older databases get them on opening
#: (NULL in the runs they hold).
_ADDED_RUN_COLUMNS = {"collections": "TEXT"}


#: Seconds a process waits for another one's write to the database before giving up.
BUSY_TIMEOUT = 30.0

#: Run state text holding a private key (or value) is sealed before it is stored.
PRIVATE_MARKER = '"_private'
SEALED_PREFIX = "sealed:"


class _Sealer:
    """Seals run states that hold private values, with a key file beside the database."""

    def __init__(self, db_path: str) -> None:
        self.key_path = None if db_path == ":memory:" else f"{db_path}-key"
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
            raise EngineError(
                f"Cannot read the private values of a run: the key file '{self.key_path}' "
                "is not the one they were sealed with") from None

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
        try:
            fd = os.open(self.key_path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        except FileExistsError:
            for _ in range(500):  # another process is writing it
                with open(self.key_path, "rb") as stream:
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
            # The busy timeout is set first: K processes opening a new database at once
            # take turns switching it to WAL and creating the tables.
            self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None,
                                       timeout=BUSY_TIMEOUT)
            self._db.row_factory = sqlite3.Row
            self._db.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT * 1000)}")
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA foreign_keys=ON")
            _create_schema(self._db)
            _add_missing_columns(self._db)
        except (OSError, sqlite3.Error) as err:
            raise EngineError(f"Cannot open the engine database '{path}': {err}",
                              hint="give a database file whose directory can be created and "
                                   "written: --db PATH (or GLADIER_DB)") from err
        self._lock = threading.RLock()
        self._sealer = _Sealer(path)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _transaction(self) -> "_Transaction":
        return _Transaction(self)

    # flows -------------------------------------------------------------------------------

    def put_flow(self, flow_id: str, *, title: str | None, definition: dict,
                 input_schema: dict | None, now: str) -> None:
        """Insert the flow, or give it a new title (same id means same definition;
        ``title=None`` keeps the title it has)."""
        with self._transaction() as db:
            db.execute(
                "INSERT INTO flows (flow_id, title, definition, input_schema, created_at,"
                " updated_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(flow_id) DO UPDATE SET"
                " title = excluded.title, updated_at = excluded.updated_at"
                " WHERE excluded.title IS NOT NULL AND flows.title IS NOT excluded.title",
                (flow_id, title, json_text(definition, "The flow definition"),
                 _dumps_or_none(input_schema, "The flow's input schema"), now, now),
            )

    def get_flow(self, flow_id: str) -> dict | None:
        with self._lock:
            row = self._db.execute("SELECT * FROM flows WHERE flow_id = ?",
                                   (flow_id,)).fetchone()
        if row is None:
            return None
        flow = dict(row)
        flow["definition"] = json.loads(flow["definition"])
        flow["input_schema"] = _loads_or_none(flow["input_schema"])
        return flow

    # runs --------------------------------------------------------------------------------

    def create_run(self, run: dict, entries: list[dict]) -> None:
        """Insert a new run row (cursor at its first state) and its first log entries."""
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
            _append_entries(db, run["run_id"], entries)

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
        with self._transaction() as db:
            if driver is not None:
                _check_driver(db, run_id, driver)
            if fields:
                unknown = set(fields) - _RUN_FIELDS
                if unknown:
                    raise EngineError(f"Cannot update run columns {sorted(unknown)}")
                names = sorted(fields)
                values = [json_text(fields[n], f"The run's {n}") if n in _JSON_FIELDS
                          else self._sealer.seal(fields[n], seal) if n == "data" else fields[n]
                          for n in names]
                updated = db.execute(
                    "UPDATE runs SET " + ", ".join(f"{n} = ?" for n in names)
                    + " WHERE run_id = ? AND status IN ('ACTIVE', 'INACTIVE')",
                    (*values, run_id),
                ).rowcount
                if not updated:
                    raise RunEnded(f"Run '{run_id}' has already ended")
            if entries:
                _append_entries(db, run_id, entries)
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
        with self._transaction() as db:
            db.execute("UPDATE runs SET driver = NULL WHERE driver = ?", (driver,))

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
        with self._lock:
            row = self._db.execute(_SELECT_RUNS + " WHERE runs.run_id = ?",
                                   (run_id,)).fetchone()
        return self._run_from_row(row) if row is not None else None

    def list_runs(self, statuses: t.Collection[str] | None = None) -> list[dict]:
        query = _SELECT_RUNS
        args: tuple = ()
        if statuses:
            query += " WHERE runs.status IN (" + ", ".join("?" * len(statuses)) + ")"
            args = tuple(statuses)
        with self._lock:
            rows = self._db.execute(query + " ORDER BY runs.start_time, runs.run_id",
                                    args).fetchall()
        return [self._run_from_row(row) for row in rows]

    def log_entries(self, run_id: str, *, limit: int | None = None,
                    reverse: bool = False) -> list[dict]:
        query = ("SELECT time, code, description, details FROM log_entries WHERE run_id = ?"
                 " ORDER BY seq" + (" DESC" if reverse else ""))
        args: tuple = (run_id,)
        if limit is not None:
            query += " LIMIT ?"
            args += (int(limit),)
        with self._lock:
            rows = self._db.execute(query, args).fetchall()
        return [dict(row, details=json.loads(row["details"])) for row in rows]

    def _run_from_row(self, row: sqlite3.Row) -> dict:
        run = _run_from_row(row)
        run["data"] = self._sealer.unseal(run["data"])
        return run

    # actions -----------------------------------------------------------------------------

    def open_action(self, run_id: str) -> dict | None:
        """The run's journaled action that has not been finished with, if any."""
        with self._lock:
            row = self._db.execute(
                "SELECT * FROM actions WHERE run_id = ? AND finished = 0"
                " ORDER BY attempt DESC LIMIT 1", (run_id,)).fetchone()
        return dict(row) if row is not None else None

    # web inputs ---------------------------------------------------------------------------

    def get_web_input(self, web_input_id: str) -> dict | None:
        """``{"document", "values", "run_id", "state_name", "response"}``; the document
        shows the run's label and the flow's title as they are now."""
        with self._lock:
            row = self._db.execute(_SELECT_WEB_INPUTS + " WHERE web_inputs.web_input_id = ?",
                                   (web_input_id,)).fetchone()
        return _web_input_from_row(row) if row is not None else None

    def list_web_inputs(self, *, statuses: t.Collection[str] = (),
                        run_ids: t.Collection[str] = ()) -> list[dict]:
        query, args = _SELECT_WEB_INPUTS + " WHERE 1 = 1", []
        for column, wanted in (("web_inputs.status", statuses), ("web_inputs.run_id", run_ids)):
            if wanted:
                query += f" AND {column} IN (" + ", ".join("?" * len(wanted)) + ")"
                args.extend(wanted)
        with self._lock:
            rows = self._db.execute(query + " ORDER BY web_inputs.rowid", args).fetchall()
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
        with self._lock:
            row = self._db.execute(
                "SELECT COUNT(*) FROM actions WHERE run_id = ? AND state_name = ?",
                (run_id, state_name)).fetchone()
        return int(row[0])


class _Transaction:
    """``with store._transaction() as db:`` — BEGIN IMMEDIATE … COMMIT under the lock."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def __enter__(self) -> sqlite3.Connection:
        self.store._lock.acquire()
        try:
            self.store._db.execute("BEGIN IMMEDIATE")
        except BaseException:
            self.store._lock.release()
            raise
        return self.store._db

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            self.store._db.execute("ROLLBACK" if exc_type else "COMMIT")
        finally:
            self.store._lock.release()


def _check_driver(db: sqlite3.Connection, run_id: str, driver: str) -> None:
    row = db.execute("SELECT driver, status FROM runs WHERE run_id = ?", (run_id,)).fetchone()
    if row is not None and row["status"] in ("ACTIVE", "INACTIVE") and row["driver"] != driver:
        raise RunTakenOver(f"Run '{run_id}' is now driven by engine {row['driver']}")


def _append_entries(db: sqlite3.Connection, run_id: str, entries: t.Sequence[dict]) -> None:
    row = db.execute("SELECT log_count FROM runs WHERE run_id = ?", (run_id,)).fetchone()
    seq = int(row[0])
    for entry in entries:
        seq += 1
        db.execute(
            "INSERT INTO log_entries (run_id, seq, time, code, description, details)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (run_id, seq, entry["time"], entry["code"], entry["description"],
             json_text(entry.get("details", {}), f"The {entry['code']} log entry")),
        )
    db.execute("UPDATE runs SET log_count = ? WHERE run_id = ?", (seq, run_id))


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


def _run_from_row(row: sqlite3.Row) -> dict:
    run = dict(row)
    run["tags"] = json.loads(run["tags"])
    run["details"] = json.loads(run["details"])
    run["collections"] = _loads_or_none(run["collections"])
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


def _add_missing_columns(db: sqlite3.Connection) -> None:
    """Migrate an older database; checked again under the write lock, as two processes may
    open it at once."""
    def missing() -> list[str]:
        present = {row["name"] for row in db.execute("PRAGMA table_info(runs)")}
        return [name for name in _ADDED_RUN_COLUMNS if name not in present]

    if not missing():
        return
    db.execute("BEGIN IMMEDIATE")
    try:
        for name in missing():
            db.execute(f"ALTER TABLE runs ADD COLUMN {name} {_ADDED_RUN_COLUMNS[name]}")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def _dumps_or_none(value: t.Any, what: str) -> str | None:
    return None if value is None else json_text(value, what)



def _loads_or_none(text: str | None) -> t.Any:
    return None if text is None else json.loads(text)
