"""LocalEngine: run Globus Flows definitions on this machine, durably.

The verbs follow ``globus_sdk.FlowsClient`` (create_flow, run_flow, get_run, get_run_logs,
list_runs, cancel_run, validate_flow, get_web_input, list_web_inputs, respond_to_web_input)
and return the service's document shapes; ``expire_web_input`` stands in for the service's
own expiry of web inputs. The engine checks flows and input, journals each new run, and
hands it to the :class:`~gladier.engine.runner.RunDriver`, which drives every run on one
scheduler thread.
``resume()`` picks up the unfinished runs of the database after a crash.

Example::

    engine = LocalEngine("runs.db")
    flow = engine.create_flow({"StartAt": "Hi", "States": {"Hi": {"Type": "Pass", "End": True}}})
    run = engine.run_flow(flow["id"], {"input": {}})
    engine.wait(run["run_id"])["status"]   # 'SUCCEEDED'
"""

from __future__ import annotations

import datetime
import getpass
import hashlib
import json
import logging
import os
import socket
import threading
import time
import typing as t
import uuid

from gladier.engine import arguments, interpreter, interrupts, webinput
from gladier.engine.jsondata import json_text
from gladier.engine.parameters import CONTEXT_KEY
from gladier.engine.providers.base import ACTIVE, INACTIVE
from gladier.engine.runner import Run, RunDriver, log_entry
from gladier.engine.scheduler import Scheduler
from gladier.engine.store import Store
from gladier.engine.timing import (MAX_POLL_INTERVAL, now_iso, parse_timestamp,
                                   time_scale_from_env, to_iso)
from gladier.exc import (EngineError, FlowInputError, NotInDatabase, NotJSONData, RunNotEnded,
                         StorageError, WebInputError)
from gladier.home import gladier_home
from gladier.managers.base import TERMINAL_STATUSES, shorten_label

log = logging.getLogger(__name__)

#: Log entry codes after which a run never changes.
FINAL_CODES = frozenset({"FlowSucceeded", "FlowFailed", "FlowCanceled"})
#: The run input key that carries tokens for ``RunAs`` roles; dropped, never stored.
TOKENS_KEY = "_tokens"
#: What to do about a run or flow id the database does not hold.
NOT_IN_DATABASE_HINT = ("each database holds its own runs: check --db PATH (or GLADIER_DB); "
                        "'gladier runs list' shows the runs it holds")
#: Flow fields of the service kept with a flow besides its definition, title and schema.
FLOW_METADATA_KEYS = ("subtitle", "description", "keywords", "flow_viewers", "flow_starters",
                      "flow_administrators", "run_managers", "run_monitors",
                      "subscription_id")
#: Driver ids of the engines open in this process (see :func:`driver_alive`).
_OPEN_DRIVERS: set[str] = set()


def driver_alive(driver: str | None) -> bool:
    """Whether the engine that last drove a run may still be driving it.

    A driver id is ``host:pid:engine``; a run whose driver process is gone (killed,
    crashed, exited, or a zombie nobody reaped) may be resumed, one still running is left
    to it.
    """
    parts = (driver or "").rsplit(":", 2)
    if len(parts) != 3 or not parts[1].isdigit():
        return False
    host, pid = parts[0], int(parts[1])
    if host != socket.gethostname():
        return False
    if pid == os.getpid():
        return driver in _OPEN_DRIVERS
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return not _is_zombie(pid)
    return not _is_zombie(pid)


def _is_zombie(pid: int) -> bool:
    """Whether ``pid`` has exited but was not reaped (state Z or X in /proc/<pid>/stat): a
    container whose PID 1 reaps nothing keeps killed engines so."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stream:
            stat = stream.read()
    except FileNotFoundError:
        return True  # gone between the two looks
    except OSError:
        return False  # no /proc (macOS): kill(pid, 0) is all we know
    # "pid (command) state ...": the command may hold spaces and parentheses
    return stat[stat.rfind(b")") + 2:][:1] in (b"Z", b"X")


def default_db_path() -> str:
    """``GLADIER_DB``, else ``local.db`` in ``$GLADIER_HOME`` (default ``~/.gladier``)."""
    return os.environ.get("GLADIER_DB") or str(gladier_home() / "local.db")


def local_identity() -> dict:
    """The person running the engine, shaped like the ``$._context`` identity fields."""
    try:
        user = getpass.getuser()
    except Exception:  # no login name (some containers): still a stable identity
        user = "user"
    username = f"{user}@localhost"
    urn = "urn:globus:auth:identity:" + str(uuid.uuid5(uuid.NAMESPACE_URL,
                                                        f"gladier-local:{username}"))
    return {"username": username, "user_id": urn, "email": None, "identities": [urn]}


def flow_id_for(definition: dict, input_schema: dict | None) -> str:
    """The same definition and input schema always get the same flow id."""
    text = json.dumps({"definition": definition, "input_schema": input_schema},
                      sort_keys=True, separators=(",", ":"))
    return str(uuid.UUID(hashlib.sha256(text.encode()).hexdigest()[:32], version=5))


class LocalEngine:
    """The embedded flows engine. See the module docstring."""

    def __init__(self, db: str | None = None, *, collections: dict | None = None,
                 tokens: dict | None = None, executors: dict | None = None,
                 time_scale: float | None = None,
                 max_state_size: int = interpreter.MAX_STATE_SIZE,
                 max_poll_interval: float = MAX_POLL_INTERVAL) -> None:
        arguments.optional_mapping(collections, "collections", key="collection id",
                                   values=_directory_or_options,
                                   wanted="a directory path or {'root': path, ...}")
        arguments.optional_mapping(tokens, "tokens", key="ActionUrl prefix",
                                   values=lambda token: isinstance(token, str),
                                   wanted="a bearer token string")
        arguments.optional_mapping(executors, "executors", key="compute endpoint id",
                                   values=lambda executor: callable(
                                       getattr(executor, "submit", None)),
                                   wanted="a concurrent.futures.Executor")
        if time_scale is not None and not arguments.is_number(time_scale):
            raise arguments.misuse("time_scale", "a number > 0", time_scale)
        self.db_path = db or default_db_path()
        self.time_scale = time_scale_from_env(time_scale)
        self.max_state_size = max_state_size
        self.identity = local_identity()
        self._store = Store(self.db_path)
        self._provider_options: dict[str, t.Any] = {"collections": collections, "tokens": tokens,
                                  "executors": executors}
        self._registry: t.Any = None
        self._registry_lock = threading.Lock()
        self._scheduler = Scheduler(journal=self._store, on_batch_error=self._batch_failed)
        self.driver_id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"
        self._driver = RunDriver(driver_id=self.driver_id, store=self._store,
                                 scheduler=self._scheduler,
                                 providers=lambda: self.providers,
                                 publish=lambda run_id, entries: self._scheduler.after_batch(
                                     self._publish, run_id, entries),
                                 identity=self.identity, time_scale=self.time_scale,
                                 max_state_size=max_state_size,
                                 max_poll_interval=max_poll_interval,
                                 on_storage_error=self._storage_failed)
        #: the fault of the database that stopped this engine, if one did
        self.failure: StorageError | None = None
        self._subscribers: dict[str, list[t.Callable[[dict], None]]] = {}
        self._flow_sources: dict[str, tuple[dict, dict | None]] = {}
        self._subscribers_lock = threading.Lock()
        self._closed = False
        _OPEN_DRIVERS.add(self.driver_id)
        interrupts.watch(self)

    # flows -------------------------------------------------------------------------------

    def validate_flow(self, definition: dict, input_schema: dict | None = None) -> dict:
        """Check a definition (and input schema); raise FlowValidationError if invalid."""
        from gladier.engine.validate import validate_flow

        warnings = validate_flow(definition, input_schema)
        return {"scopes": {"User": []}, "warnings": list(warnings or [])}

    def create_flow(self, definition: dict, title: str | None = None,
                    input_schema: dict | None = None, *, flow_id: str | None = None,
                    **metadata: t.Any) -> dict:
        """Validate and store a flow; the same definition and schema give the same id,
        unless ``flow_id`` names the id to use (``gladier serve`` gives each new flow its
        own, as the service does). ``metadata`` keeps the service's other flow fields
        (:data:`FLOW_METADATA_KEYS`; others are ignored)."""
        self.validate_flow(definition, input_schema)
        kept = {key: value for key, value in metadata.items()
                if key in FLOW_METADATA_KEYS and value is not None}
        if flow_id is None:
            flow_id = flow_id_for(definition, input_schema)
        self._store.put_flow(flow_id, title=title, definition=definition,
                             input_schema=input_schema, now=now_iso(), metadata=kept or None)
        stored = self._store.get_flow(flow_id)
        if stored is not None and (stored["definition"], stored["input_schema"]) != (
                definition, input_schema):  # changed by update_flow: its id says otherwise
            self.update_flow(flow_id, definition=definition, input_schema=input_schema)
        return self.get_flow(flow_id)

    def update_flow(self, flow_id: str, *, definition: dict | None = None,
                    title: str | None = None, input_schema: dict | None = None,
                    **metadata: t.Any) -> dict:
        """Change a flow (the service's PUT /flows/{id}): what is given replaces what it
        had; a new definition or input schema is validated first."""
        current = self.get_flow(flow_id)
        if definition is not None or input_schema is not None:
            self.validate_flow(definition if definition is not None else current["definition"],
                               input_schema if input_schema is not None
                               else current["input_schema"])
        fields: dict[str, t.Any] = {name: value for name, value in (
            ("definition", definition), ("title", title), ("input_schema", input_schema))
            if value is not None}
        kept = {key: value for key, value in metadata.items()
                if key in FLOW_METADATA_KEYS and value is not None}
        if kept:
            fields["metadata"] = {**self._flow_row(flow_id)["metadata"], **kept}
        if fields:
            self._store.update_flow(flow_id, now=now_iso(), **fields)
        self._flow_sources.pop(flow_id, None)
        return self.get_flow(flow_id)

    def delete_flow(self, flow_id: str) -> dict:
        """Delete a flow (its runs stay); returns the flow as it was, with ``deleted_at``."""
        flow = self.get_flow(flow_id)
        now = now_iso()
        self._store.delete_flow(flow_id, now=now)
        self._flow_sources.pop(flow_id, None)
        return {**flow, "deleted_at": now}

    def list_flows(self, *, limit: int, offset: int = 0, fulltext: t.Sequence[str] = (),
                   orderby: t.Sequence[tuple[str, bool]] = ()) -> list[dict]:
        """A page of the database's flows (newest first unless ``orderby`` says)."""
        return [self._flow_document(row) for row in self._store.page_flows(
            limit=limit, offset=offset, fulltext=fulltext, orderby=orderby)]

    def get_flow(self, flow_id: str) -> dict:
        flow = self._flow_row(flow_id)
        if flow["deleted_at"] is not None:
            raise self._no_flow(flow_id)
        return self._flow_document(flow)

    def _flow_row(self, flow_id: str) -> dict:
        """The flow's row, deleted or not (NotInDatabase when there is none)."""
        flow = self._store.get_flow(flow_id)
        if flow is None:
            raise self._no_flow(flow_id)
        return flow

    def _no_flow(self, flow_id: str) -> NotInDatabase:
        return NotInDatabase(f"No flow with id '{flow_id}' in the engine database "
                             f"'{self.db_path}'", hint=NOT_IN_DATABASE_HINT)

    def _flow_document(self, flow: dict) -> dict:
        return {
            **flow["metadata"],
            "id": flow["flow_id"], "title": flow["title"], "definition": flow["definition"],
            "input_schema": flow["input_schema"], "created_at": flow["created_at"],
            "updated_at": flow["updated_at"], "flow_owner": self.identity["user_id"],
            "types": ["Action"], "api_version": "1.0", "synchronous": False,
            "log_supported": True,
        }

    def _flow_source(self, flow_id: str) -> tuple[dict, dict | None]:
        """A flow's definition and input schema, read once: a flow id names one definition
        and schema for good (it is their digest), so runs share the parsed copies."""
        source = self._flow_sources.get(flow_id)
        if source is None:
            flow = self.get_flow(flow_id)
            source = self._flow_sources[flow_id] = (flow["definition"], flow["input_schema"])
        return source

    # providers ---------------------------------------------------------------------------

    @property
    def providers(self) -> t.Any:
        """The ProviderRegistry (built on first use: it may load executors)."""
        with self._registry_lock:
            if self._registry is None:
                from gladier.engine.providers.functions import FunctionRegistry
                from gladier.engine.providers.registry import ProviderRegistry

                self._registry = ProviderRegistry(functions=FunctionRegistry(),
                                                  store_path=self.db_path,
                                                  sealer=self._store.sealer,
                                                  time_scale=self.time_scale,
                                                  **self._provider_options)
            return self._registry

    def register_action_provider(self, url: str, provider: t.Any) -> None:
        """Serve ``url`` with ``provider`` (an ActionProvider or a callable body -> details)."""
        self.providers.register(url, provider)

    def register_function(self, func: t.Callable, function_id: str | None = None) -> str:
        """Make ``func`` callable by compute states; returns its function id."""
        return self.providers.functions.register(func, function_id=function_id)

    # runs --------------------------------------------------------------------------------

    def run_flow(self, flow_id: str, body: dict, label: str | None = None,
                 tags: list[str] | None = None, **kwargs: t.Any) -> dict:
        """Check ``body`` against the flow's input schema and start a run."""
        self._check_failure()
        arguments.optional_string(label, "label")
        arguments.optional_strings(tags, "tags")
        definition, input_schema = self._flow_source(flow_id)
        if not isinstance(body, dict):
            raise FlowInputError(f"Run input must be a JSON object, not {type(body).__name__}")
        if CONTEXT_KEY in body:
            raise FlowInputError(
                f"Run input has a top-level key '{CONTEXT_KEY}': that name is the run's "
                f"read-only context ($.{CONTEXT_KEY}: run_id, flow_id, username, ...), which "
                "the engine provides; rename the key")
        body = {key: value for key, value in body.items() if key != TOKENS_KEY}
        if input_schema is not None:
            from gladier.engine.inputs import validate_input

            validate_input(input_schema, body)
        try:
            data_text = json_text(body, "Run input")
        except NotJSONData as err:
            raise FlowInputError(str(err)) from None
        if len(data_text) > self.max_state_size:
            raise FlowInputError(
                f"Run input is {len(data_text)} bytes, over the run state limit of "
                f"{self.max_state_size} bytes")
        collections = self.providers.collections.mapping()
        run_id = str(uuid.uuid4())
        first = definition["StartAt"]
        shown_input = interpreter.public_view(body)
        started = log_entry("FlowStarted", "The Flow Instance started execution",
                            {"input": shown_input})
        created = self._store.create_run({
            "run_id": run_id, "flow_id": flow_id, "status": ACTIVE,
            "label": shorten_label(label) if label else None,
            "tags": _normalised_tags(tags or []),
            "owner": self.identity["user_id"], "start_time": started["time"],
            "details": {"code": "FlowStarting",
                        "description": "The Flow is starting execution",
                        "details": {"input": shown_input}},
            "state_name": first, "data": data_text, "driver": self.driver_id,
            "collections": collections,
        }, [started])
        run = Run(run_id=run_id, definition=definition,
                   context=self._context(run_id, flow_id, started["time"]),
                   state_name=first, data=json.loads(data_text), data_text=data_text,
                   collections=collections)
        self._scheduler.call_soon(self._driver.start, run, started)
        return _run_document(created)

    def get_run(self, run_id: str) -> dict:
        """The run document, shaped as ``GET /runs/{run_id}`` on the service."""
        row = self._store.get_run(run_id)
        if row is None:
            raise NotInDatabase(f"No run with id '{run_id}' in the engine database "
                              f"'{self.db_path}'", hint=NOT_IN_DATABASE_HINT)
        return _run_document(row)

    def get_run_logs(self, run_id: str, limit: int | None = None,
                     reverse_order: bool = False, *, offset: int = 0) -> dict:
        """``{"entries": [...], "limit", "has_next_page"}``; every entry when no limit;
        ``offset`` entries are skipped first."""
        arguments.optional_count(limit, "limit")
        self.get_run(run_id)
        entries = self._store.log_entries(run_id, limit=None if limit is None else limit + 1,
                                          offset=offset, reverse=reverse_order)
        has_next = limit is not None and len(entries) > limit
        entries = entries[:limit] if limit is not None else entries
        return {"entries": entries, "limit": limit if limit is not None else len(entries),
                "has_next_page": has_next}

    def get_run_definition(self, run_id: str) -> dict:
        """The definition and input schema a run follows (its flow's, deleted or not), and
        the flow's description: the service's GET /runs/{id}/definition."""
        flow = self._flow_row(self.get_run(run_id)["flow_id"])
        return {"flow_id": flow["flow_id"], "definition": flow["definition"],
                "input_schema": flow["input_schema"],
                "description": flow["metadata"].get("description", "")}

    def list_runs(self, status: str | t.Iterable[str] | None = None) -> list[dict]:
        """Runs, oldest first; of the given status (or statuses) only, when given."""
        arguments.optional_strings(status, "status", single=True)
        statuses = [status] if isinstance(status, str) else list(status or [])
        return [_run_document(row) for row in self._store.list_runs(statuses)]

    def page_runs(self, *, limit: int, offset: int = 0, **filters: t.Any) -> list[dict]:
        """A page of run documents, newest first unless ``orderby`` says: the filters of
        :meth:`Store.page_runs <gladier.engine.store.Store.page_runs>`."""
        return [_run_document(row) for row in self._store.page_runs(
            limit=limit, offset=offset, **filters)]

    def count_runs(self, **filters: t.Any) -> int:
        """How many runs :meth:`page_runs` would give with these filters and no limit."""
        return self._store.count_runs(**filters)

    def update_run(self, run_id: str, *, label: str | None = None,
                   tags: list[str] | None = None) -> dict:
        """Give a run a new label and/or tags (ended runs too), as PUT /runs/{id} does."""
        arguments.optional_string(label, "label")
        arguments.optional_strings(tags, "tags")
        self.get_run(run_id)
        self._store.set_run_metadata(
            run_id, label=shorten_label(label) if label else label,
            tags=None if tags is None else _normalised_tags(tags))
        return self.get_run(run_id)

    def release_run(self, run_id: str) -> dict:
        """Remove an ended run and its log (the service's POST /runs/{id}/release).
        Raises RunNotEnded when it has not ended; returns the run as it was."""
        run = self.get_run(run_id)
        if not self._store.delete_run(run_id, statuses=TERMINAL_STATUSES):
            raise RunNotEnded(
                f"Run {run_id} has status '{self.get_run(run_id)['status']}' but must have "
                f"status in {sorted(TERMINAL_STATUSES)} for requested operation")
        return run

    def resume_run(self, run_id: str) -> dict:
        """Continue one unfinished run here if the engine that drove it is gone (a run a
        live engine drives is left to it); returns its run document."""
        self.resume([run_id])
        return self.get_run(run_id)

    def prune_runs(self, older_than: datetime.timedelta, *, dry_run: bool = False
                   ) -> list[str]:
        """Delete runs that ended (SUCCEEDED or FAILED) more than ``older_than`` ago, with
        their logs; the ids of the runs deleted (with ``dry_run``, that would be)."""
        before = to_iso(datetime.datetime.now(datetime.timezone.utc) - older_than)
        return self._store.prune_runs(completed_before=before, dry_run=dry_run,
                                      statuses=sorted(TERMINAL_STATUSES))

    def cancel_run(self, run_id: str) -> dict:
        """Stop a run (status FAILED, code FlowCanceled) and cancel its running action."""
        self.get_run(run_id)
        self._scheduler.run_sync(self._driver.cancel, run_id)
        return self.get_run(run_id)

    def wait(self, run_id: str, timeout: float | None = None) -> dict:
        """Block until the run ends; return its final run document.

        Also returns when another process finishes the run. Raises EngineError on timeout.
        """
        arguments.optional_number(timeout, "timeout")
        done = threading.Event()
        unsubscribe = self.subscribe(
            run_id, lambda entry: done.set() if entry["code"] in FINAL_CODES else None)
        try:
            deadline = None if timeout is None else time.monotonic() + timeout
            while True:
                run = self.get_run(run_id)
                if run["status"] in TERMINAL_STATUSES:
                    return run
                self._check_failure()
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    raise EngineError(f"Run '{run_id}' did not end within {timeout} s "
                                      f"(status {run['status']})")
                done.wait(0.5 if left is None else min(0.5, left))
        finally:
            unsubscribe()

    def subscribe(self, run_id: str, callback: t.Callable[[dict], None]) -> t.Callable[[], None]:
        """Call ``callback(log_entry)`` for every new log entry of the run, on the engine
        thread, after it is journaled. Returns a function that unsubscribes."""
        with self._subscribers_lock:
            self._subscribers.setdefault(run_id, []).append(callback)

        def unsubscribe() -> None:
            with self._subscribers_lock:
                callbacks = self._subscribers.get(run_id, [])
                if callback in callbacks:
                    callbacks.remove(callback)
                if not callbacks:
                    self._subscribers.pop(run_id, None)

        return unsubscribe

    def resume(self, run_ids: t.Iterable[str] | None = None, *,
               flow_id: str | None = None) -> list[str]:
        """Continue unfinished runs of the database from their last journaled step: every
        one, or only ``run_ids``, or only runs of ``flow_id``.

        Runs still driven by a live engine (this one, or another process) are left alone;
        of several engines resuming at once, each run goes to one. A run that was
        interrupted (Ctrl-C, SIGTERM) runs its interrupted step again from its start.
        Returns the ids of the runs this engine took over. Raises EngineError for a run id
        the database does not hold.
        """
        arguments.optional_strings(run_ids, "run_ids", single=True)
        arguments.optional_string(flow_id, "flow_id")
        if isinstance(run_ids, str):
            run_ids = [run_ids]
        rows: list[dict] = []
        if run_ids is not None:
            for run_id in run_ids:
                row = self._store.get_run(run_id)
                if row is None:
                    self.get_run(run_id)  # raises, naming the database
                else:
                    rows.append(row)
        else:
            rows = self._store.list_runs([ACTIVE, INACTIVE])
        self._check_failure()
        taken = []
        for row in rows:
            if row["status"] not in (ACTIVE, INACTIVE) or (
                    flow_id is not None and row["flow_id"] != flow_id):
                continue
            try:
                if self._adopt(row):
                    taken.append(row["run_id"])
            except StorageError as err:  # e.g. its key is missing: the other runs go on
                log.error("gladier engine: cannot resume run %s: %s (%s)", row["run_id"],
                          err, err.hint)
        self._check_failure()
        return taken

    def _adopt(self, row: dict) -> bool:
        """Drive an unfinished run whose engine is gone; False if another engine drives it."""
        flow = self._store.get_flow(row["flow_id"])
        if flow is None or row["state_name"] is None or driver_alive(row["driver"]):
            return False
        run = Run(run_id=row["run_id"], definition=flow["definition"],
                  context=self._context(row["run_id"], row["flow_id"], row["start_time"]),
                  state_name=row["state_name"],
                  data=json.loads(self._store.run_data(row["run_id"]) or "null"),
                  status=row["status"], collections=row["collections"], adopted=True)
        return bool(self._scheduler.run_sync(self._driver.adopt, run, row["wake_at"],
                                             row["driver"], row["details"]))

    # web inputs --------------------------------------------------------------------------

    def get_web_input(self, web_input_id: str) -> dict:
        """A web input as ``globus_sdk.FlowsClient.get_web_input`` shows it: ``options``
        carry the ``option_id`` values a response names."""
        return self._web_input(web_input_id)["document"]

    def list_web_inputs(self, *, filter_states: str | t.Iterable[str] | None = None,
                        filter_run_ids: str | t.Iterable[str] | None = None) -> list[dict]:
        """Summaries of web inputs (``open``/``closed``, of given runs), oldest first."""
        def as_list(value: t.Any) -> list[str]:
            return [value] if isinstance(value, str) else list(value or [])

        found = self._store.list_web_inputs(statuses=as_list(filter_states),
                                            run_ids=as_list(filter_run_ids))
        return [_web_input_summary(item["document"]) for item in found]

    def respond_to_web_input(self, web_input_id: str, value: t.Any) -> dict:
        """Answer a web input, as ``globus_sdk.FlowsClient.respond_to_web_input`` does:
        ``value`` is one of its options' ``option_id`` (locally, an option's ``Value`` is
        accepted too). The waiting run continues: in the engine driving it, or here when
        the engine that started it is gone. Raises WebInputError (``NOT_FOUND``,
        ``STATE_CONFLICT`` if already answered, ``UNPROCESSABLE_ENTITY`` for a bad value).
        """
        found = self._web_input(web_input_id)
        option_id = webinput.choose_option(found["document"], found["values"], value)
        now = now_iso()
        self._store.close_web_input(
            web_input_id, document=webinput.closed(found["document"], now=now),
            response={"option_id": option_id, "value": found["values"][option_id],
                      "responded_by": self.identity["user_id"], "time": now})
        self._continue_waiting_run(found["run_id"])
        return {"status": "ok"}

    def expire_web_input(self, web_input_id: str) -> dict:
        """Close an open web input as expired, as the service does when nobody answers in
        time (locally nothing expires by itself), to test a flow's expiry branch.

        The AwaitWebInput state waiting for it (now, or when the run gets there) fails with
        ``Flows.WebInputExpired``, which its ``Catch`` may handle. Raises WebInputError
        (``NOT_FOUND``, ``STATE_CONFLICT`` if already answered or expired).
        """
        found = self._web_input(web_input_id)
        if found["response"] is not None:
            raise webinput.refuse_expiry(web_input_id, found["response"])
        now = now_iso()
        self._store.close_web_input(
            web_input_id, document=webinput.closed(found["document"], now=now),
            response=webinput.expiry(expired_by=self.identity["user_id"], now=now))
        self._continue_waiting_run(found["run_id"])
        return {"status": "ok"}

    def _continue_waiting_run(self, run_id: str) -> None:
        """After a response or an expiry: in the engine driving the run, or here when the
        engine that started it is gone."""
        row = self._store.get_run(run_id)
        if row is not None and row["status"] in (ACTIVE, INACTIVE) and not self._adopt(row):
            self._scheduler.call_soon(self._driver.web_input_answered, run_id)

    def _web_input(self, web_input_id: str) -> dict:
        found = self._store.get_web_input(str(web_input_id))
        if found is None:
            raise WebInputError(f"No Web Input exists with id value {web_input_id} in the "
                                f"engine database '{self.db_path}'", code="NOT_FOUND")
        return found

    def _storage_failed(self, err: StorageError) -> None:
        """The database refused a step (on the scheduler thread): stop driving runs, so
        that waiting callers get the error at once instead of waiting for ever."""
        if self.failure is None:
            self.failure = err
            log.error("gladier engine: stopped: %s (%s)", err, err.hint)
        self._scheduler.stop()

    def _batch_failed(self, err: Exception) -> None:
        """A batch of transitions could not be committed (see :mod:`.scheduler`)."""
        self._storage_failed(err if isinstance(err, StorageError) else StorageError(
            f"Cannot write the engine database '{self.db_path}': {err}",
            hint="check the database file and its directory"))

    def _check_failure(self) -> None:
        if self.failure is not None:
            raise StorageError(str(self.failure), hint=self.failure.hint)

    @property
    def closed(self) -> bool:
        """Closed, or stopped by an interrupt (see :mod:`gladier.engine.interrupts`)."""
        return self._closed

    def interrupt(self, signal_name: str = "SIGINT") -> None:
        """Stop at once, as on Ctrl-C: no further transition is journaled, local compute
        tasks running now are stopped, and each run driven here is journaled INACTIVE with
        the state it was in, for a ``resume`` that runs that state again from its start.
        The engine is closed afterwards."""
        if self._closed:
            return
        self._closed = True
        _OPEN_DRIVERS.discard(self.driver_id)
        interrupts.unwatch(self)
        self._scheduler.stop(timeout=5)
        if self._registry is not None:
            self._registry.interrupt()
        self._driver.interrupt(signal_name)
        if self._registry is not None:
            self._registry.close()

    def close(self) -> None:
        """Stop driving runs (they stay journaled; ``resume()`` continues them)."""
        if self._closed:
            if not self._store.closed:
                self._store.close()
            return
        self._closed = True
        _OPEN_DRIVERS.discard(self.driver_id)
        interrupts.unwatch(self)
        self._scheduler.stop()
        self._driver.send_cancels()
        if self._registry is not None:
            self._registry.close()
        try:
            self._store.release_runs(self.driver_id)
        except StorageError as err:  # its runs are still resumed once this process ends
            log.warning("gladier engine: %s", err)
        finally:
            self._store.close()

    def __enter__(self) -> "LocalEngine":
        return self

    def __exit__(self, *exc: t.Any) -> None:
        self.close()

    # helpers ------------------------------------------------------------------------------

    def _context(self, run_id: str, flow_id: str, start_time: str) -> dict:
        """``$._context``; built from journaled values only, so a resumed run computes
        the same action bodies as before the crash."""
        issued = int(parse_timestamp(start_time).timestamp())
        return {"run_id": run_id, "flow_id": flow_id, **self.identity,
                "token_info": {"iat": issued, "nbf": issued, "exp": issued + 172800}}

    def _publish(self, run_id: str, entries: t.Sequence[dict]) -> None:
        with self._subscribers_lock:
            callbacks = list(self._subscribers.get(run_id, ()))
        for entry in entries:
            for callback in callbacks:
                try:
                    callback(entry)
                except Exception:  # a broken progress display must not stop the run
                    log.exception("gladier engine: a run subscriber failed")


def _normalised_tags(tags: t.Iterable[t.Any]) -> list[str]:
    """Tags with their white space folded, as the service keeps them."""
    return [" ".join(str(tag).split()) for tag in tags]


def _directory_or_options(value: t.Any) -> bool:
    """A ``collections`` value: a root directory, or options with a ``root``."""
    return isinstance(value, (str, os.PathLike, dict))


def _run_document(row: dict) -> dict:
    """A run row as the Flows service shapes a run (``GET /runs/{run_id}``)."""
    owner = row["owner"]
    return {
        "run_id": row["run_id"], "action_id": row["run_id"], "flow_id": row["flow_id"],
        "flow_title": row.get("flow_title"), "flow_last_updated": row.get("flow_last_updated"),
        "start_time": row["start_time"], "completion_time": row["completion_time"],
        "status": row["status"], "display_status": row["status"],
        "details": row["details"], "run_owner": owner, "created_by": owner,
        "run_managers": [], "run_monitors": [], "manage_by": [], "monitor_by": [],
        "user_role": "run_owner", "user_roles": ["run_owner"], "label": row["label"],
        "tags": row["tags"], "blocking_web_input_id": _blocking_web_input_id(row),
    }


def _blocking_web_input_id(row: dict) -> str | None:
    """The web input an INACTIVE run waits for (its details say so while it waits)."""
    details = row["details"] if isinstance(row["details"], dict) else {}
    if row["status"] == INACTIVE and details.get("code") == webinput.WAITING_CODE:
        return details.get("web_input_id")
    return None


def _web_input_summary(document: dict) -> dict:
    """A web input as ``GET /web_inputs`` lists it."""
    summary = {key: document.get(key) for key in (
        "id", "status", "user_roles", "input_type", "flow", "run", "created_timestamp",
        "edited_timestamp", "closed_timestamp")}
    summary["title"] = (document.get("context") or {}).get("title")
    return summary
