"""LocalEngine: run Globus Flows definitions on this machine, durably.

The verbs follow ``globus_sdk.FlowsClient`` (create_flow, run_flow, get_run, get_run_logs,
list_runs, cancel_run, validate_flow) and return the service's document shapes. Inside,
the pure interpreter decides each step, the store journals it before it takes effect, and
one scheduler thread drives every run: Waits sit in a timer heap, actions wake their run
through the provider's done-callback or are polled with doubling back-off. ``resume()``
picks up every unfinished run of the database after a crash.

Example::

    engine = LocalEngine("runs.db")
    flow = engine.create_flow({"StartAt": "Hi", "States": {"Hi": {"Type": "Pass", "End": True}}})
    run = engine.run_flow(flow["id"], {"input": {}})
    engine.wait(run["run_id"])["status"]   # 'SUCCEEDED'
"""

from __future__ import annotations

import dataclasses
import getpass
import hashlib
import json
import logging
import os
import socket
import sys
import threading
import time
import typing as t
import uuid

from gladier.engine import interpreter
from gladier.engine.providers.base import ACTIVE, FAILED, INACTIVE, SUCCEEDED, TERMINAL
from gladier.engine.scheduler import Scheduler
from gladier.engine.store import Store
from gladier.engine.timing import (FIRST_POLL_LOCAL, FIRST_POLL_REMOTE, MAX_POLL_INTERVAL,
                                   next_poll_interval, now_iso, parse_timestamp,
                                   time_scale_from_env, utc_now)
from gladier.exc import (ActionProviderError, EngineError, FlowInputError, FlowRuntimeError,
                         GladierException)
from gladier.managers.base import TERMINAL_STATUSES, shorten_label

log = logging.getLogger(__name__)

#: Log entry codes after which a run never changes.
FINAL_CODES = frozenset({"FlowSucceeded", "FlowFailed", "FlowCanceled"})
#: The run input key that carries tokens for ``RunAs`` roles; dropped, never stored.
TOKENS_KEY = "_tokens"
#: Driver ids of the engines open in this process (see :func:`driver_alive`).
_OPEN_DRIVERS: set[str] = set()


def driver_alive(driver: str | None) -> bool:
    """Whether the engine that last drove a run may still be driving it.

    A driver id is ``host:pid:engine``; a run whose driver process is gone (killed,
    crashed, exited) may be resumed, one still running is left to it.
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
        return True
    return True


def default_db_path() -> str:
    """``GLADIER_DB``, else ``~/.gladier/local.db``."""
    return os.environ.get("GLADIER_DB") or os.path.join(
        os.path.expanduser("~"), ".gladier", "local.db")


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


@dataclasses.dataclass
class _Action:
    """The action a run is waiting for (lives on the scheduler thread only)."""

    request: dict
    url: str
    provider: t.Any
    call: interpreter.CallAction
    deadline: float
    action_id: str | None = None
    last_status: dict | None = None
    poll_interval: float | None = None
    watching: bool = False
    resent: bool = False


@dataclasses.dataclass
class _Run:
    """A run this engine is driving (lives on the scheduler thread only)."""

    run_id: str
    definition: dict
    context: dict
    state_name: str
    data: t.Any
    status: str = ACTIVE
    token: int = 0
    action: _Action | None = None

    @property
    def state_type(self) -> str:
        return str(self.definition["States"][self.state_name].get("Type"))


class LocalEngine:
    """The embedded flows engine. See the module docstring."""

    def __init__(self, db: str | None = None, *, collections: dict | None = None,
                 tokens: dict | None = None, executors: dict | None = None,
                 time_scale: float | None = None,
                 max_state_size: int = interpreter.MAX_STATE_SIZE,
                 max_poll_interval: float = MAX_POLL_INTERVAL) -> None:
        self.db_path = db or default_db_path()
        self.time_scale = time_scale_from_env(time_scale)
        self.max_state_size = max_state_size
        self.max_poll_interval = max_poll_interval
        self.identity = local_identity()
        self._store = Store(self.db_path)
        self._provider_options = {"collections": collections, "tokens": tokens,
                                  "executors": executors}
        self._registry: t.Any = None
        self._registry_lock = threading.Lock()
        self._scheduler = Scheduler()
        self._runs: dict[str, _Run] = {}
        self._subscribers: dict[str, list[t.Callable[[dict], None]]] = {}
        self._subscribers_lock = threading.Lock()
        self._closed = False
        self.driver_id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"
        _OPEN_DRIVERS.add(self.driver_id)

    # flows -------------------------------------------------------------------------------

    def validate_flow(self, definition: dict, input_schema: dict | None = None) -> dict:
        """Check a definition (and input schema); raise FlowValidationError if invalid."""
        from gladier.engine.validate import validate_flow

        warnings = validate_flow(definition, input_schema)
        return {"scopes": {"User": []}, "warnings": list(warnings or [])}

    def create_flow(self, definition: dict, title: str | None = None,
                    input_schema: dict | None = None, **kwargs: t.Any) -> dict:
        """Validate and store a flow; the same definition and schema give the same id."""
        self.validate_flow(definition, input_schema)
        flow_id = flow_id_for(definition, input_schema)
        self._store.put_flow(flow_id, title=title, definition=definition,
                             input_schema=input_schema, now=now_iso())
        return self.get_flow(flow_id)

    def get_flow(self, flow_id: str) -> dict:
        flow = self._store.get_flow(flow_id)
        if flow is None:
            raise EngineError(f"No flow with id '{flow_id}' in the engine database "
                              f"'{self.db_path}'")
        return {
            "id": flow["flow_id"], "title": flow["title"], "definition": flow["definition"],
            "input_schema": flow["input_schema"], "created_at": flow["created_at"],
            "updated_at": flow["updated_at"], "flow_owner": self.identity["user_id"],
            "types": ["Action"], "api_version": "1.0", "synchronous": False,
            "log_supported": True,
        }

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
        flow = self.get_flow(flow_id)
        if not isinstance(body, dict):
            raise FlowInputError(f"Run input must be a JSON object, not {type(body).__name__}")
        body = {key: value for key, value in body.items() if key != TOKENS_KEY}
        if flow["input_schema"] is not None:
            from gladier.engine.inputs import validate_input

            validate_input(flow["input_schema"], body)
        try:
            data_text = json.dumps(body)
        except (TypeError, ValueError) as err:
            raise FlowInputError(f"Run input must be JSON data: {err}") from None
        if len(data_text) > self.max_state_size:
            raise FlowInputError(
                f"Run input is {len(data_text)} bytes, over the run state limit of "
                f"{self.max_state_size} bytes")
        run_id = str(uuid.uuid4())
        first = flow["definition"]["StartAt"]
        shown_input = interpreter.public_view(body)
        started = self._entry("FlowStarted", "The Flow Instance started execution",
                              {"input": shown_input})
        self._store.create_run({
            "run_id": run_id, "flow_id": flow_id, "status": ACTIVE,
            "label": shorten_label(label) if label else None,
            "tags": [" ".join(str(tag).split()) for tag in tags or []],
            "owner": self.identity["user_id"], "start_time": started["time"],
            "details": {"code": "FlowStarting",
                        "description": "The Flow is starting execution",
                        "details": {"input": shown_input}},
            "state_name": first, "data": data_text, "driver": self.driver_id,
        }, [started])
        run = _Run(run_id=run_id, definition=flow["definition"],
                   context=self._context(run_id, flow_id, started["time"]),
                   state_name=first, data=json.loads(data_text))
        self._scheduler.call_soon(self._start_run, run, started)
        return self.get_run(run_id)

    def get_run(self, run_id: str) -> dict:
        """The run document, shaped as ``GET /runs/{run_id}`` on the service."""
        row = self._store.get_run(run_id)
        if row is None:
            raise EngineError(f"No run with id '{run_id}' in the engine database "
                              f"'{self.db_path}'")
        return _run_document(row)

    def get_run_logs(self, run_id: str, limit: int | None = None,
                     reverse_order: bool = False) -> dict:
        """``{"entries": [...], "limit", "has_next_page"}``; every entry when no limit."""
        self.get_run(run_id)
        entries = self._store.log_entries(run_id, limit=None if limit is None else limit + 1,
                                          reverse=reverse_order)
        has_next = limit is not None and len(entries) > limit
        entries = entries[:limit] if limit is not None else entries
        return {"entries": entries, "limit": limit if limit is not None else len(entries),
                "has_next_page": has_next}

    def list_runs(self, status: str | t.Iterable[str] | None = None) -> list[dict]:
        statuses = [status] if isinstance(status, str) else list(status or [])
        return [_run_document(row) for row in self._store.list_runs(statuses)]

    def cancel_run(self, run_id: str) -> dict:
        """Stop a run (status FAILED, code FlowCanceled) and cancel its running action."""
        self.get_run(run_id)
        self._scheduler.run_sync(self._cancel, run_id)
        return self.get_run(run_id)

    def wait(self, run_id: str, timeout: float | None = None) -> dict:
        """Block until the run ends; return its final run document.

        Also returns when another process finishes the run. Raises EngineError on timeout.
        """
        done = threading.Event()
        unsubscribe = self.subscribe(
            run_id, lambda entry: done.set() if entry["code"] in FINAL_CODES else None)
        try:
            deadline = None if timeout is None else time.monotonic() + timeout
            while True:
                run = self.get_run(run_id)
                if run["status"] in TERMINAL_STATUSES:
                    return run
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

    def resume(self) -> list[str]:
        """Continue every unfinished run of the database from its last journaled step.

        Runs still driven by a live engine (this one, or another process) are left alone.
        Returns the ids of the runs this engine took over.
        """
        run_ids = []
        for row in self._store.list_runs([ACTIVE, INACTIVE]):
            flow = self._store.get_flow(row["flow_id"])
            if flow is None or row["state_name"] is None or driver_alive(row["driver"]):
                continue
            run = _Run(run_id=row["run_id"], definition=flow["definition"],
                       context=self._context(row["run_id"], row["flow_id"],
                                             row["start_time"]),
                       state_name=row["state_name"], data=json.loads(row["data"]),
                       status=row["status"])
            if self._scheduler.run_sync(self._adopt, run, row["wake_at"]):
                run_ids.append(row["run_id"])
        return run_ids

    def close(self) -> None:
        """Stop driving runs (they stay journaled; ``resume()`` continues them)."""
        if self._closed:
            return
        self._closed = True
        _OPEN_DRIVERS.discard(self.driver_id)
        self._scheduler.stop()
        if self._registry is not None:
            self._registry.close()
        self._store.close()

    def __enter__(self) -> "LocalEngine":
        return self

    def __exit__(self, *exc: t.Any) -> None:
        self.close()

    # everything below runs on the scheduler thread ---------------------------------------

    def _context(self, run_id: str, flow_id: str, start_time: str) -> dict:
        """``$._context``; built from journaled values only, so a resumed run computes
        the same action bodies as before the crash."""
        issued = int(parse_timestamp(start_time).timestamp())
        return {"run_id": run_id, "flow_id": flow_id, **self.identity,
                "token_info": {"iat": issued, "nbf": issued, "exp": issued + 172800}}

    def _entry(self, code: str, description: str, details: dict) -> dict:
        return {"time": now_iso(), "code": code, "description": description,
                "details": details}

    def _state_entry(self, run: _Run, what: str, details: dict) -> dict:
        kind = run.state_type
        return self._entry(f"{kind}{what.capitalize()}",
                           f"State {run.state_name} of type {kind} {what}",
                           {"state_name": run.state_name, "state_type": kind, **details})

    def _publish(self, run_id: str, entries: t.Sequence[dict]) -> None:
        with self._subscribers_lock:
            callbacks = list(self._subscribers.get(run_id, ()))
        for entry in entries:
            for callback in callbacks:
                try:
                    callback(entry)
                except Exception:  # a broken progress display must not stop the run
                    log.exception("gladier engine: a run subscriber failed")

    def _record(self, run: _Run, entries: t.Sequence[dict], **kwargs: t.Any) -> None:
        self._store.record(run.run_id, entries=entries, **kwargs)
        self._publish(run.run_id, entries)

    def _running_details(self, entry: dict) -> dict:
        details = entry["details"]
        return {"code": entry["code"], "description": entry["description"],
                "details": {"state_name": details.get("state_name"),
                            "state_type": details.get("state_type")}}

    def _start_run(self, run: _Run, started: dict) -> None:
        self._runs[run.run_id] = run
        self._publish(run.run_id, [started])
        self._execute(run.run_id, run.token)

    def _adopt(self, run: _Run, wake_at: float | None) -> bool:
        """Take over a journaled run (after a crash); False when already driven here."""
        if run.run_id in self._runs:
            return False
        self._runs[run.run_id] = run
        self._store.record(run.run_id, fields={"driver": self.driver_id})
        journaled = self._store.open_action(run.run_id)
        if journaled is not None:
            self._resume_action(run, journaled)
        elif wake_at is not None:
            self._scheduler.call_at(wake_at, self._wake, run.run_id, run.token)
        else:
            self._scheduler.call_soon(self._execute, run.run_id, run.token)
        return True

    def _live(self, run_id: str, token: int) -> _Run | None:
        """The run if this callback is still current (not canceled, not moved on)."""
        run = self._runs.get(run_id)
        if run is None or run.token != token:
            return None
        return run

    def _execute(self, run_id: str, token: int) -> None:
        """Do the run's current state."""
        run = self._live(run_id, token)
        if run is None:
            return
        try:
            outcome = interpreter.step(run.definition, run.state_name, run.data,
                                       context=run.context)
        except FlowRuntimeError as err:
            started = self._state_entry(run, "started",
                                        {"input": interpreter.public_view(run.data)})
            self._handle_error(run, err, [started])
            return
        except Exception as err:  # a flow the validator should have refused, or a bug
            self._handle_error(run, _unexpected(err, run.state_name), [])
            return
        started = self._state_entry(run, "started",
                                    {"input": interpreter.started_input(run.data, outcome)})
        if isinstance(outcome, interpreter.Advance):
            completed = self._state_entry(run, "completed", {"output": outcome.output})
            self._transition(run, outcome, [started, completed])
        elif isinstance(outcome, interpreter.WaitUntil):
            self._start_wait(run, outcome, started)
        elif isinstance(outcome, interpreter.FailRun):
            error = interpreter.runtime_error(outcome.error, outcome.cause, run.state_name)
            self._fail(run, error, [started])
        else:
            self._start_action(run, outcome, started)

    def _transition(self, run: _Run, outcome: interpreter.Advance, entries: list[dict], *,
                    finish_action: str | None = None) -> None:
        """Journal the end of a state and move the run on (or end it)."""
        try:
            data_text = json.dumps(outcome.data)
            interpreter.check_state_size(len(data_text), run.state_name,
                                         limit=self.max_state_size)
        except (TypeError, ValueError) as err:
            self._fail(run, interpreter.runtime_error(
                "States.Runtime", f"The result of state '{run.state_name}' is not JSON: {err}",
                run.state_name), entries, finish_action=finish_action)
            return
        except FlowRuntimeError as err:
            self._fail(run, err, entries, finish_action=finish_action)
            return
        run.token += 1
        run.action = None
        if outcome.next_state is None:
            output = interpreter.public_view(outcome.data)
            final = self._entry("FlowSucceeded", "The Flow Instance completed successfully",
                                {"output": output})
            self._runs.pop(run.run_id, None)
            self._record(run, entries + [final], finish_action=finish_action, fields={
                "status": SUCCEEDED, "completion_time": final["time"], "state_name": None,
                "wake_at": None, "data": data_text,
                "details": {"code": "FlowSucceeded",
                            "description": "The Flow run reached a successful completion "
                                           "state",
                            "output": output}})
            return
        run.state_name = outcome.next_state
        run.data = outcome.data
        self._record(run, entries, finish_action=finish_action, fields={
            "state_name": run.state_name, "data": data_text, "wake_at": None,
            "status": ACTIVE, "details": self._running_details(entries[-1])})
        run.status = ACTIVE
        self._scheduler.call_soon(self._execute, run.run_id, run.token)

    def _fail(self, run: _Run, error: FlowRuntimeError, entries: list[dict], *,
              finish_action: str | None = None) -> None:
        """End the run as FAILED with ``error``."""
        info = interpreter.error_object(error, run.state_name)
        final = self._entry("FlowFailed", "The Flow Instance failed", info)
        self._runs.pop(run.run_id, None)
        run.token += 1
        self._record(run, entries + [final], finish_action=finish_action, fields={
            "status": FAILED, "completion_time": final["time"], "state_name": None,
            "wake_at": None,
            "details": {"code": "FlowFailed", "description": "The Flow Instance failed",
                        "details": info}})

    def _handle_error(self, run: _Run, error: FlowRuntimeError, entries: list[dict], *,
                      finish_action: str | None = None) -> None:
        """A state raised ``error``: follow its Catch, or fail the run."""
        entries = entries + [self._state_entry(
            run, "failed", {"error": interpreter.error_object(error, run.state_name)})]
        try:
            caught = interpreter.catch(run.definition, run.state_name, run.data, error)
        except FlowRuntimeError as err:
            self._fail(run, err, entries, finish_action=finish_action)
            return
        if caught is None:
            self._fail(run, error, entries, finish_action=finish_action)
        else:
            self._transition(run, caught, entries, finish_action=finish_action)

    # Wait ----------------------------------------------------------------------------------

    def _start_wait(self, run: _Run, wait: interpreter.WaitUntil, started: dict) -> None:
        if wait.seconds is not None:
            delay = wait.seconds
        else:
            delay = max((wait.timestamp - utc_now()).total_seconds(), 0.0)
        wake_at = time.time() + delay * self.time_scale
        self._record(run, [started], fields={"wake_at": wake_at,
                                             "details": self._running_details(started)})
        self._scheduler.call_at(wake_at, self._wake, run.run_id, run.token)

    def _wake(self, run_id: str, token: int) -> None:
        run = self._live(run_id, token)
        if run is None:
            return
        state = run.definition["States"][run.state_name]
        nxt = None if state.get("End") is True else state.get("Next")
        outcome = interpreter.Advance(data=run.data, next_state=nxt,
                                      output=interpreter.public_view(run.data))
        self._transition(run, outcome, [self._state_entry(run, "completed",
                                                          {"output": outcome.output})])

    # Action --------------------------------------------------------------------------------

    def _resolve_provider(self, run: _Run) -> tuple[str, t.Any]:
        state = run.definition["States"][run.state_name]
        try:
            return self.providers.resolve(state, state_name=run.state_name)
        except GladierException as err:
            raise interpreter.runtime_error("ActionUnableToRun", str(err),
                                            run.state_name) from err

    def _start_action(self, run: _Run, call: interpreter.CallAction, started: dict) -> None:
        try:
            url, provider = self._resolve_provider(run)
        except FlowRuntimeError as err:
            self._handle_error(run, err, [started])
            return
        attempt = self._store.count_attempts(run.run_id, run.state_name) + 1
        request = self._request(f"{run.run_id}:{run.state_name}:{attempt}", call.body)
        deadline = time.time() + call.wait_time * self.time_scale
        run.action = _Action(request=request, url=url, provider=provider, call=call,
                             deadline=deadline)
        self._record(run, [started], fields={"details": self._running_details(started)},
                     new_action={"request_id": request["request_id"],
                                 "state_name": run.state_name, "attempt": attempt,
                                 "url": url, "deadline": deadline})
        self._send(run)

    def _request(self, request_id: str, body: t.Any) -> dict:
        """The ActionRequest: the same request_id and body after a resume, so a provider
        returns the action it already started."""
        return {"request_id": request_id, "body": body,
                "monitor_by": [self.identity["user_id"]],
                "manage_by": [self.identity["user_id"]]}

    def _resume_action(self, run: _Run, journaled: dict) -> None:
        """Rebuild a journaled action after a crash and find out where it is."""
        try:
            call = interpreter.step(run.definition, run.state_name, run.data,
                                    context=run.context)
            if not isinstance(call, interpreter.CallAction):
                raise EngineError(f"State '{run.state_name}' is no longer an Action state")
            url, provider = self._resolve_provider(run)
        except Exception as err:
            if not isinstance(err, FlowRuntimeError):
                err = _unexpected(err, run.state_name)
            self._handle_error(run, err, [], finish_action=journaled["request_id"])
            return
        request = self._request(journaled["request_id"], call.body)
        run.action = _Action(request=request, url=url, provider=provider, call=call,
                             deadline=journaled["deadline"],
                             action_id=journaled["action_id"])
        if run.action.action_id is None:
            self._send(run)
        else:
            self._poll(run.run_id, run.token)

    def _send(self, run: _Run) -> None:
        action = run.action
        assert action is not None
        token, provider = run.token, action.provider
        self._scheduler.submit_io(provider.run, action.request,
                                  then=lambda result, error: self._on_sent(
                                      run.run_id, token, provider, result, error))

    def _on_sent(self, run_id: str, token: int, provider: t.Any, status: t.Any,
                 error: BaseException | None) -> None:
        run = self._live(run_id, token)
        if run is None:
            # The run was canceled (or timed out) while the request was in flight.
            if error is None and isinstance(status, dict) and \
                    status.get("status") not in TERMINAL:
                self._cancel_quietly(provider, status.get("action_id"))
            return
        action = run.action
        assert action is not None
        if error is not None or not isinstance(status, dict) or not status.get("action_id"):
            if error is None:
                error = ActionProviderError(f"The provider answered {status!r}, not an "
                                            "ActionStatus with an action_id")
            body = getattr(error, "body", None)
            self._handle_error(run, interpreter.runtime_error(
                "ActionUnableToRun",
                f"The action provider at {action.url} refused the request: {error}",
                run.state_name, output=body), [], finish_action=action.request["request_id"])
            return
        action.action_id = str(status["action_id"])
        self._store.set_action_id(action.request["request_id"], action.action_id)
        self._on_status(run, status)

    def _on_status(self, run: _Run, status: dict) -> None:
        action = run.action
        assert action is not None
        action.last_status = status
        state = status.get("status")
        if state in TERMINAL:
            self._complete_action(run, status)
            return
        if (state == INACTIVE) != (run.status == INACTIVE):
            self._set_activity(run, status)
        self._watch(run)

    def _watch(self, run: _Run) -> None:
        """Arrange to hear about the action: done-callback if offered, polls otherwise."""
        action = run.action
        assert action is not None
        now = time.time()
        if now >= action.deadline:
            self._timeout(run)
            return
        if not action.watching:
            action.watching = True
            self._scheduler.call_at(action.deadline, self._check_deadline, run.run_id,
                                    run.token)
            register = getattr(action.provider, "add_done_callback", None)
            if callable(register) and run.status != INACTIVE:
                token = run.token
                try:
                    register(action.action_id, lambda status: self._scheduler.call_soon(
                        self._on_done, run.run_id, token, status))
                    return
                except Exception:
                    log.warning("gladier engine: add_done_callback failed; polling instead",
                                exc_info=True)
        first = _first_poll_interval(action.provider)
        action.poll_interval = next_poll_interval(
            action.poll_interval, first=first * self.time_scale,
            cap=self.max_poll_interval * self.time_scale)
        when = min(now + action.poll_interval, action.deadline)
        self._scheduler.call_at(when, self._poll, run.run_id, run.token)

    def _on_done(self, run_id: str, token: int, status: dict) -> None:
        run = self._live(run_id, token)
        if run is not None and run.action is not None:
            self._on_status(run, status)

    def _check_deadline(self, run_id: str, token: int) -> None:
        run = self._live(run_id, token)
        if run is not None and run.action is not None and time.time() >= run.action.deadline:
            self._timeout(run)

    def _poll(self, run_id: str, token: int) -> None:
        run = self._live(run_id, token)
        if run is None or run.action is None:
            return
        action = run.action
        self._scheduler.submit_io(
            action.provider.status, action.action_id,
            then=lambda status, error: self._on_polled(run_id, token, status, error))

    def _on_polled(self, run_id: str, token: int, status: t.Any,
                   error: BaseException | None) -> None:
        run = self._live(run_id, token)
        if run is None or run.action is None:
            return
        action = run.action
        if error is None and isinstance(status, dict):
            self._on_status(run, status)
        elif getattr(error, "http_status", None) == 404 and not action.resent:
            # The provider forgot the action (e.g. it restarted): ask again with the same
            # request_id; a provider that still knows the request returns the same action.
            action.resent = True
            self._send(run)
        elif getattr(error, "http_status", None) == 404:
            self._handle_error(run, interpreter.runtime_error(
                "ActionFailedException",
                f"The action provider at {action.url} no longer knows action "
                f"'{action.action_id}'", run.state_name),
                [], finish_action=action.request["request_id"])
        else:
            log.warning("gladier engine: polling %s failed (%s); will retry", action.url, error)
            self._watch(run)

    def _timeout(self, run: _Run) -> None:
        action = run.action
        assert action is not None
        self._cancel_quietly(action.provider, action.action_id)
        self._handle_error(run, interpreter.runtime_error(
            "ActionTimeout",
            f"The action of state '{run.state_name}' did not finish within its WaitTime of "
            f"{action.call.wait_time:g} s", run.state_name,
            output=interpreter.public_view(action.last_status)),
            [], finish_action=action.request["request_id"])

    def _complete_action(self, run: _Run, status: dict) -> None:
        action = run.action
        assert action is not None
        request_id = action.request["request_id"]
        try:
            outcome = interpreter.complete_action(run.definition, run.state_name, run.data,
                                                  status)
        except Exception as err:
            if not isinstance(err, FlowRuntimeError):
                err = _unexpected(err, run.state_name)
            self._handle_error(run, err, [], finish_action=request_id)
        else:
            completed = self._state_entry(run, "completed", {"output": outcome.output})
            self._transition(run, outcome, [completed], finish_action=request_id)
        self._scheduler.submit_io(action.provider.release, action.action_id,
                                  then=lambda result, error: None)

    def _set_activity(self, run: _Run, status: dict) -> None:
        """The action became INACTIVE (the run waits for a person) or ACTIVE again.

        Logged as an ``ActionPolled`` entry so followers of the run hear about it.
        """
        shown = interpreter.public_view(dict(status, state_name=run.state_name))
        polled = self._state_entry(run, "polled", {"output": shown})
        polled["description"] += f": the action is {status.get('status')}"
        if status.get("status") == INACTIVE:
            run.status = INACTIVE
            details = status.get("details") if isinstance(status.get("details"), dict) else {}
            run_details = {
                "code": details.get("code", "ActionInactive"),
                "description": details.get(
                    "description", f"The action of state '{run.state_name}' is waiting"),
                "required_scope": details.get("required_scope"),
                "state_name": run.state_name,
                "action_statuses": [shown],
            }
        else:
            run.status = ACTIVE
            run_details = self._running_details(polled)
        self._record(run, [polled], fields={"status": run.status, "details": run_details})

    def _cancel_quietly(self, provider: t.Any, action_id: str | None) -> None:
        if provider is None or action_id is None:
            return
        self._scheduler.submit_io(provider.cancel, action_id, then=lambda result, error: None)

    def _cancel(self, run_id: str) -> None:
        row = self._store.get_run(run_id)
        if row is None or row["status"] in TERMINAL_STATUSES:
            return
        run = self._runs.pop(run_id, None)
        journaled = self._store.open_action(run_id)
        if run is not None and run.action is not None:
            self._cancel_quietly(run.action.provider, run.action.action_id)
        elif journaled is not None and journaled["action_id"]:
            try:
                _, provider = self.providers.resolve({"ActionUrl": journaled["url"]},
                                                     state_name=journaled["state_name"])
                self._cancel_quietly(provider, journaled["action_id"])
            except GladierException:
                log.warning("gladier engine: cannot cancel action at %s", journaled["url"])
        if run is not None:
            run.token += 1
        final = self._entry("FlowCanceled", "The Flow Instance was canceled by the user", {})
        self._store.record(run_id, entries=[final],
                           finish_action=journaled["request_id"] if journaled else None,
                           fields={"status": FAILED, "completion_time": final["time"],
                                   "state_name": None, "wake_at": None,
                                   "details": dict(final)})
        self._publish(run_id, [final])


def _unexpected(err: Exception, state_name: str) -> FlowRuntimeError:
    """A non-flow error met while running a state, as a States.Runtime flow error."""
    if isinstance(err, GladierException):
        return interpreter.runtime_error("States.Runtime", str(err), state_name)
    log.error("gladier engine: unexpected error in state %s", state_name, exc_info=err)
    return interpreter.runtime_error(
        "States.Runtime", f"Unexpected {type(err).__name__} in state '{state_name}': {err}",
        state_name)


def _first_poll_interval(provider: t.Any) -> float:
    """How long to wait before the first poll: a provider may say; HTTP providers 1 s,
    local ones 0.05 s (before the time scale)."""
    declared = getattr(provider, "first_poll_interval", None)
    if isinstance(declared, (int, float)):
        return float(declared)
    http = sys.modules.get("gladier.engine.providers.http")
    if http is not None and isinstance(provider, getattr(http, "HttpActionProvider", ())):
        return FIRST_POLL_REMOTE
    return FIRST_POLL_LOCAL


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
        "tags": row["tags"], "blocking_web_input_id": None,
    }
