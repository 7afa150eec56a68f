"""Drives runs on the scheduler thread: each state, each Wait, each action, each error.

The LocalEngine hands a run to the :class:`RunDriver`; from then on the driver asks the
pure interpreter what the current state does, journals the outcome in the store (one
transaction per transition, before it takes effect), and arranges what comes next: the
next state on the ready queue, a Wait's end in the timer heap, an action's completion
through the provider's done-callback or doubling polls. Every method runs on the
scheduler thread, so the table of live runs needs no lock; a ``token`` per run makes
stale timers and callbacks (after a cancel, a timeout or a transition) harmless. An error
the driver did not expect while handling a run (or a result the journal refuses as not JSON
data) fails that run with States.Runtime, so no run is left ACTIVE with nothing driving it.
A fault of the database itself (full disk, read-only, damaged) stops the whole driver
instead: the journal keeps every committed step, and a resume continues from there.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import threading
import time
import typing as t
import uuid

from gladier.documents import object_at
from gladier.engine import interpreter, redaction, webinput
from gladier.engine.jsondata import check_bounds, encoded_object, json_text
from gladier.engine.providers.base import ACTIVE, FAILED, INACTIVE, SUCCEEDED, TERMINAL
from gladier.engine.scheduler import Scheduler
from gladier.engine.store import PRIVATE_MARKER, Store
from gladier.engine.timing import (FIRST_POLL_LOCAL, next_poll_interval,
                                   now_iso, utc_now)
from gladier.exc import (ActionProviderError, ActionProviderUnavailable, EngineError,
                         FlowRuntimeError, GladierException, RunEnded, RunTakenOver,
                         StorageError)

log = logging.getLogger(__name__)

#: How often a run request is sent again when the provider is unavailable (unreachable,
#: timeout, HTTP 5xx); the same request_id makes that safe.
MAX_SEND_RETRIES = 3
#: Status answers in a row that are not ActionStatus documents (not JSON, no action_id,
#: unknown status, a 4xx) before the action is failed; unavailability is retried until
#: the state's WaitTime.
MAX_BAD_POLLS = 3

#: Status names and the like, never taken for private values.
STATUS_WORDS = frozenset({ACTIVE, INACTIVE, SUCCEEDED, FAILED, "User", "null", "true",
                          "false"})
#: The run details code of a run stopped by Ctrl-C or SIGTERM (INACTIVE until resumed).
INTERRUPTED_CODE = "FlowInterrupted"
#: The run details code of a resumed run waiting for a function this process lacks.
FUNCTION_WAIT_CODE = "FunctionNotRegistered"
#: Details codes of runs an engine let go INACTIVE, ACTIVE again once resumed.
STOPPED_CODES = frozenset({INTERRUPTED_CODE, FUNCTION_WAIT_CODE})

#: Longest pause between two looks in the store for a web input's response (seconds);
#: responses given in this process wake the run at once.
WEB_INPUT_POLL_CAP = 2.0

#: State types that touch nothing outside the run state (no provider, timer, web input or
#: clock): a run of consecutive ones is journaled as one group (see RunDriver._execute).
GROUPED_TYPES = frozenset({"Pass", "Choice", "ExpressionEval"})
#: Most transitions of one group, and longest time (seconds) one group runs before it is
#: journaled: other runs get the scheduler thread at least that often.
MAX_GROUP_STATES = 64
MAX_GROUP_SECONDS = 0.005


def log_entry(code: str, description: str, details: dict) -> dict:
    """A run log entry as the Flows service shapes it."""
    return {"time": now_iso(), "code": code, "description": description, "details": details}


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
    send_failures: int = 0  # run requests the provider could not take (unreachable, 5xx)
    bad_polls: int = 0  # status answers in a row that were not ActionStatus documents
    unavailable_polls: int = 0  # status requests in a row the provider could not answer
    poll_error: str | None = None  # why the last of those failed


@dataclasses.dataclass
class _Pending:
    """Transitions of a group done in memory, journaled with the run's next record."""

    entries: list = dataclasses.field(default_factory=list)
    fields: dict = dataclasses.field(default_factory=dict)
    seal: bool = False


@dataclasses.dataclass
class Run:
    """A run being driven (lives on the scheduler thread only)."""

    run_id: str
    definition: dict
    context: dict
    state_name: str
    data: t.Any
    status: str = ACTIVE
    token: int = 0
    action: _Action | None = None
    web_input_check: int = 0
    web_input_poll: float | None = None
    #: the collection mapping the run started with (None in older databases: the engine's)
    collections: dict | None = None
    #: every private value the run has held (see :mod:`gladier.engine.redaction`)
    secrets: set = dataclasses.field(default_factory=set)
    #: continued from the journal (``resume``), maybe by a process without its functions
    adopted: bool = False
    #: ``data`` as JSON text, when known
    data_text: str | None = None
    #: transitions done but not journaled yet (only inside one ``_execute`` call)
    pending: _Pending | None = None
    #: ``data`` holds nothing private (no ``_private`` key in ``data_text``, no hidden
    #: paths in the flow): it is its own public view, ``data_text`` its text
    plain: bool = dataclasses.field(default=False, init=False)

    def __post_init__(self) -> None:
        self.set_data(self.data, self.data_text)

    def set_data(self, data: t.Any, text: str | None) -> None:
        """The run state the run goes on with, and its JSON text if known."""
        self.data, self.data_text = data, text
        self.plain = text is not None and not self.hidden and PRIVATE_MARKER not in text

    @functools.cached_property
    def hidden(self) -> frozenset:
        """Run state paths hidden from run documents and logs (private Pass results)."""
        return interpreter.private_state_paths(self.definition)

    @functools.cached_property
    def common(self) -> frozenset:
        """Words every document of the run uses (the flow's own text, its context, status
        names): a private value equal to one of them is not redacted."""
        return frozenset(redaction.leaves(self.definition)) | frozenset(
            redaction.leaves(self.context)) | STATUS_WORDS

    @property
    def state_type(self) -> str:
        return str(self.definition["States"][self.state_name].get("Type"))

    def public_data(self) -> t.Any:
        """The run state as documents and logs show it (private values removed)."""
        return self.data if self.plain else interpreter.public_view(self.data, self.hidden)


def _fails_the_run_on_error(method: t.Callable) -> t.Callable:
    """For the driver's entry points (scheduled callbacks, ``start``, ``adopt``): an error
    while handling one run ends that run as FAILED (see :meth:`RunDriver._abort`); it never
    leaves the run ACTIVE with nothing driving it, nor reaches the loop that drives the
    other runs. The first argument is the run or its id."""

    @functools.wraps(method)
    def guarded(self: "RunDriver", run: t.Any, *args: t.Any) -> t.Any:
        try:
            return method(self, run, *args)
        except StorageError as err:  # nothing more can be journaled: stop, lose nothing
            self._on_storage_error(err)
            return None
        except Exception as err:
            self._abort(run.run_id if isinstance(run, Run) else run, err)
            return None

    return guarded


class RunDriver:
    """Runs states for the engine. ``publish(run_id, entries)`` is told of every journaled
    log entry; ``providers()`` returns the ProviderRegistry."""

    def __init__(self, *, driver_id: str, store: Store, scheduler: Scheduler,
                 providers: t.Callable[[], t.Any],
                 publish: t.Callable[[str, t.Sequence[dict]], None], identity: dict,
                 time_scale: float, max_state_size: int, max_poll_interval: float,
                 on_storage_error: t.Callable[[StorageError], None]) -> None:
        self.driver_id = driver_id
        self._on_storage_error = on_storage_error
        self._store = store
        self._scheduler = scheduler
        self._providers = providers
        self._publish = publish
        self.identity = identity
        self.time_scale = time_scale
        self.max_state_size = max_state_size
        self.max_poll_interval = max_poll_interval
        self._runs: dict[str, Run] = {}
        self._cancels: dict[tuple[int, str], t.Any] = {}  # to the I/O pool, not yet run
        self._cancels_lock = threading.Lock()

    def _state_entry(self, run: Run, what: str, details: dict) -> dict:
        kind = run.state_type
        return log_entry(f"{kind}{what.capitalize()}",
                         f"State {run.state_name} of type {kind} {what}",
                         {"state_name": run.state_name, "state_type": kind, **details})

    def _record(self, run: Run, entries: t.Sequence[dict], *,
                as_asked: t.Collection[str] = (), **kwargs: t.Any) -> bool:
        """Journal a transition; False when the run ended elsewhere or another engine took it
        over (then it is dropped).

        Every private value the run has held (but those ``as_asked``) is redacted from the
        entries and the run's details first, and the run state is sealed once the run
        holds any. Transitions of the run's group not journaled yet (``run.pending``) go
        first, in the same transaction."""
        pending, run.pending = run.pending, None
        if pending is not None:
            entries = pending.entries + list(entries)
            kwargs["fields"] = {**pending.fields, **(kwargs.get("fields") or {})}
            kwargs["seal"] = kwargs.get("seal", False) or pending.seal
        secrets = self._private_values(run) - set(as_asked)
        if secrets:
            entries = redaction.redact(list(entries), secrets)
            fields = kwargs.get("fields")
            if fields and "details" in fields:
                kwargs["fields"] = dict(fields,
                                        details=redaction.redact(fields["details"], secrets))
            kwargs["seal"] = True
        try:
            self._store.record(run.run_id, entries=entries, driver=self.driver_id, **kwargs)
        except RunTakenOver:
            log.warning("gladier engine: run %s is driven by another engine now; letting it go",
                        run.run_id)
            self._runs.pop(run.run_id, None)
            run.token += 1
            return False
        except RunEnded:
            self._drop(run)
            return False
        self._publish(run.run_id, entries)
        return True

    def _drop(self, run: Run) -> None:
        """Stop driving a run another process ended (canceled), with its action."""
        self._runs.pop(run.run_id, None)
        run.token += 1
        if run.action is not None:
            self._cancel_quietly(run.action.provider, run.action.action_id)

    def _abort(self, run_id: str, err: Exception) -> None:
        """End a run its step could not be handled for (data that is not JSON, a bug) as
        FAILED with States.Runtime naming its state; nothing else of that step is
        journaled. If even that cannot be journaled, the run is let go (``resume`` retries)."""
        run = self._runs.get(run_id)
        if run is None:
            log.error("gladier engine: error after run %s ended", run_id, exc_info=err)
            return
        error = self._redacted(run, _unexpected(err, run.state_name))
        log.warning("gladier engine: run %s failed: %s", run_id, error)
        action = run.action
        try:
            journaled = self._store.open_action(run_id)
            self._fail(run, error, [],
                       finish_action=journaled["request_id"] if journaled else None)
        except Exception:
            log.exception("gladier engine: cannot journal the failure of run %s", run_id)
            self._runs.pop(run_id, None)
            run.token += 1
        if action is not None and action.action_id is not None:
            last = action.last_status if isinstance(action.last_status, dict) else {}
            let_go = action.provider.release if last.get("status") in TERMINAL \
                else action.provider.cancel
            self._scheduler.submit_io(let_go, action.action_id, then=lambda result, error: None)

    def _running_details(self, entry: dict) -> dict:
        details = entry["details"]
        return {"code": entry["code"], "description": entry["description"],
                "details": {"state_name": details.get("state_name"),
                            "state_type": details.get("state_type")}}

    @_fails_the_run_on_error
    def start(self, run: Run, started: dict) -> None:
        """Drive a new run (its FlowStarted entry is journaled already)."""
        self._runs[run.run_id] = run
        self._publish(run.run_id, [started])
        self._execute(run.run_id, run.token)

    @_fails_the_run_on_error
    def adopt(self, run: Run, wake_at: float | None, driver: str | None,
              details: dict | None = None) -> bool:
        """Take over a journaled run whose driver ``driver`` is gone (after a crash); False
        when already driven here, or when another engine claimed it first. A run that was
        stopped (interrupted, or waiting for a function; its ``details`` say) is ACTIVE
        again."""
        if run.run_id in self._runs:
            return False
        if not self._store.claim_run(run.run_id, self.driver_id, expected=driver):
            return False
        self._runs[run.run_id] = run
        if run.status == INACTIVE and (details or {}).get("code") in STOPPED_CODES:
            run.status = ACTIVE
            resumed = {"code": "FlowResumed", "state_name": run.state_name,
                       "description": f"The run was resumed at state '{run.state_name}'"}
            if not self._record(run, [], fields={"status": ACTIVE, "details": resumed}):
                return False
        journaled = self._store.open_action(run.run_id)
        if journaled is not None:
            self._resume_action(run, journaled)
        elif wake_at is not None:
            self._scheduler.call_at(wake_at, self._wake, run.run_id, run.token)
        else:
            self._scheduler.call_soon(self._execute, run.run_id, run.token)
        return True

    def _live(self, run_id: str, token: int) -> Run | None:
        """The run if this callback is still current (not canceled, not moved on)."""
        run = self._runs.get(run_id)
        if run is None or run.token != token:
            return None
        return run

    @_fails_the_run_on_error
    def _execute(self, run_id: str, token: int) -> None:
        """Do the run's current state, and the states after it while they form a group.

        A group is a run of consecutive states of :data:`GROUPED_TYPES` (at most
        :data:`MAX_GROUP_STATES`, for at most :data:`MAX_GROUP_SECONDS`), journaled in one
        transaction at its end instead of one per state: the journal holds the run's
        cursor at the group's first state until then. That is as crash-safe as one
        transaction per state: those states change nothing but the run state in memory
        (no action is sent, no timer set, nothing published before the commit), so a
        process killed inside a group leaves the journal exactly as it was at the group's
        start, and the resumed run does those states again from there, computing the same
        run states (they read only the run state and the journaled ``$._context``). No
        log entry of an unjournaled state was ever written or shown, so none is missing
        or repeated. The last state of a group, and any state whose next one is not of
        those types, is journaled before the next state starts, as always.
        """
        run = self._live(run_id, token)
        if run is None:
            return
        deadline = time.monotonic() + MAX_GROUP_SECONDS
        grouped = 0
        while self._execute_state(run, group=grouped < MAX_GROUP_STATES - 1
                                  and time.monotonic() < deadline):
            grouped += 1
        if run.pending is not None and self._runs.get(run.run_id) is run:
            self._record(run, [])  # never left unjournaled once the group ends

    def _execute_state(self, run: Run, *, group: bool) -> bool:
        """Do the run's current state; True when its transition was left for the group
        to journal (``group``: allowed) and the next state should run now."""
        try:
            outcome = interpreter.step(run.definition, run.state_name, run.data,
                                       context=run.context, hidden=run.hidden)
        except FlowRuntimeError as err:
            started = self._state_entry(run, "started", {"input": run.public_data()})
            self._handle_error(run, err, [started])
            return False
        except Exception as err:  # a flow the validator should have refused, or a bug
            self._handle_error(run, _unexpected(err, run.state_name), [])
            return False
        if isinstance(outcome, interpreter.CallAction):
            started = self._state_entry(run, "started", {"input": outcome.logged_body})
        else:
            started = self._state_entry(run, "started", {"input": run.public_data()})
            if run.plain and run.data_text is not None:  # the run state's text, as stored
                started["details"] = encoded_object(started["details"], "input",
                                                    run.data_text)
        if isinstance(outcome, interpreter.Advance):
            completed = self._state_entry(run, "completed", {"output": outcome.output})
            return self._transition(run, outcome, [started, completed], group=group)
        elif isinstance(outcome, interpreter.WaitUntil):
            self._start_wait(run, outcome, started)
        elif isinstance(outcome, interpreter.FailRun):
            error = interpreter.runtime_error(outcome.error, outcome.cause, run.state_name)
            self._fail(run, error, [started], as_asked={outcome.error, outcome.cause})
        elif isinstance(outcome, interpreter.OpenWebInput):
            self._open_web_input(run, outcome, started)
        elif isinstance(outcome, interpreter.AwaitResponse):
            self._await_web_input(run, outcome, started)
        else:
            self._start_action(run, outcome, started)
        return False

    def _transition(self, run: Run, outcome: interpreter.Advance, entries: list[dict], *,
                    finish_action: str | None = None, web_input: dict | None = None,
                    group: bool = False) -> bool:
        """Journal the end of a state and move the run on (or end it); ``web_input`` is a
        web input the state opened, journaled with the transition. The run changes only
        once the journal took it: data that is not JSON raises NotJSONData first.

        With ``group``, a transition from and to states of :data:`GROUPED_TYPES` is left
        in ``run.pending`` for the group's record (see :meth:`_execute`) and True is
        returned: the caller runs the next state now."""
        data_text = json_text(outcome.data, f"The run state after state '{run.state_name}'")
        try:
            interpreter.check_state_size(len(data_text), run.state_name,
                                         limit=self.max_state_size)
        except FlowRuntimeError as err:
            self._fail(run, err, entries, finish_action=finish_action)
            return False
        self._learn(run, outcome.data,
                    plain=not run.hidden and PRIVATE_MARKER not in data_text)
        if outcome.next_state is None:
            output = interpreter.public_view(outcome.data, run.hidden)
            final = log_entry("FlowSucceeded", "The Flow Instance completed successfully",
                              {"output": output})
            self._record(run, entries + [final], finish_action=finish_action,
                         new_web_input=web_input, seal=bool(run.hidden), fields={
                "status": SUCCEEDED, "completion_time": final["time"], "state_name": None,
                "wake_at": None, "data": data_text,
                "details": {"code": "FlowSucceeded",
                            "description": "The Flow run reached a successful completion "
                                           "state",
                            "output": output}})
            self._runs.pop(run.run_id, None)
            run.token += 1
            run.action = None
            return False
        fields = {"state_name": outcome.next_state, "data": data_text, "wake_at": None,
                  "status": ACTIVE, "details": self._running_details(entries[-1])}
        grouped = (group and finish_action is None and web_input is None
                   and run.state_type in GROUPED_TYPES
                   and run.definition["States"][outcome.next_state].get("Type")
                   in GROUPED_TYPES)
        if grouped:
            pending = run.pending = run.pending or _Pending()
            pending.entries.extend(entries)
            pending.fields = fields
            pending.seal = pending.seal or bool(run.hidden)
        elif not self._record(run, entries, finish_action=finish_action,
                              new_web_input=web_input, seal=bool(run.hidden), fields=fields):
            return False
        run.token += 1
        run.action = None
        run.state_name = outcome.next_state
        run.set_data(outcome.data, data_text)
        run.status = ACTIVE
        if not grouped:
            self._scheduler.call_soon(self._execute, run.run_id, run.token)
        return grouped

    def _fail(self, run: Run, error: FlowRuntimeError, entries: list[dict], *,
              finish_action: str | None = None, as_asked: t.Collection[str] = ()) -> None:
        """End the run as FAILED with ``error``; ``as_asked``: a Fail state's error and
        cause, shown as the flow's author asked even when they are private values."""
        info = interpreter.error_object(error, run.state_name)
        final = log_entry("FlowFailed", "The Flow Instance failed", info)
        self._runs.pop(run.run_id, None)
        run.token += 1
        self._record(run, entries + [final], finish_action=finish_action, as_asked=as_asked,
                     fields={"status": FAILED, "completion_time": final["time"],
                             "state_name": None, "wake_at": None,
                             "details": {"code": "FlowFailed",
                                         "description": "The Flow Instance failed",
                                         "details": info}})

    def _learn(self, run: Run, data: t.Any, *, plain: bool = False) -> None:
        """Add the private values of a run state to the run's set (a ``plain`` one, see
        :attr:`Run.plain`, has none)."""
        if not plain:
            run.secrets |= redaction.private_leaves(
                data, interpreter.public_view(data, run.hidden), common=run.common)

    def _private_values(self, run: Run) -> frozenset[str]:
        """Every private value ``run`` has held: in its run states (``_private…`` keys,
        values Pass states list as private) and in the requests of its actions; after a
        resume, those of the run state it resumes with."""
        self._learn(run, run.data, plain=run.plain)
        if run.action is not None:
            run.secrets |= redaction.private_leaves(
                run.action.call.body, run.action.call.logged_body, common=run.common)
        return frozenset(run.secrets)

    def _shown(self, run: Run, text: t.Any) -> str:
        """``text`` as a log line may show it: private values redacted, then shortened."""
        return redaction.shorten(redaction.redact(str(text), self._private_values(run)))

    def _redacted(self, run: Run, error: FlowRuntimeError) -> FlowRuntimeError:
        """``error`` with the private values ``run``'s state can see replaced in its cause
        and output, which may quote what failed."""
        secrets = self._private_values(run)
        output = redaction.redact(getattr(error, "output", None), secrets)
        return interpreter.runtime_error(
            error.error, redaction.shorten(redaction.redact(error.cause, secrets)),
            run.state_name, output=redaction.shorten(output))

    def _handle_error(self, run: Run, error: FlowRuntimeError, entries: list[dict], *,
                      finish_action: str | None = None) -> None:
        """A state raised ``error``: follow its Catch, or fail the run (private values
        redacted from the error first)."""
        error = self._redacted(run, error)
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

    def _start_wait(self, run: Run, wait: interpreter.WaitUntil, started: dict) -> None:
        if wait.seconds is not None:
            delay = wait.seconds
        else:
            assert wait.timestamp is not None  # a WaitUntil has seconds or a timestamp
            delay = max((wait.timestamp - utc_now()).total_seconds(), 0.0)
        wake_at = time.time() + delay * self.time_scale
        self._record(run, [started], fields={"wake_at": wake_at,
                                             "details": self._running_details(started)})
        self._scheduler.call_at(wake_at, self._wake, run.run_id, run.token)

    @_fails_the_run_on_error
    def _wake(self, run_id: str, token: int) -> None:
        run = self._live(run_id, token)
        if run is None:
            return
        state = run.definition["States"][run.state_name]
        nxt = None if state.get("End") is True else state.get("Next")
        outcome = interpreter.Advance(data=run.data, next_state=nxt,
                                      output=interpreter.public_view(run.data, run.hidden))
        self._transition(run, outcome, [self._state_entry(run, "completed",
                                                          {"output": outcome.output})])

    # Web input -----------------------------------------------------------------------------

    def _open_web_input(self, run: Run, opening: interpreter.OpenWebInput,
                        started: dict) -> None:
        """A CreateWebInput state: the web input is journaled with the state's end."""
        web_input_id = str(uuid.uuid4())
        try:
            document, values = webinput.open_web_input(
                opening.parameters, web_input_id=web_input_id, state_name=run.state_name,
                run={"id": run.run_id}, flow={"id": run.context.get("flow_id")},
                creator_urn=self.identity["user_id"], now=now_iso())
            outcome = interpreter.complete_web_input(run.definition, run.state_name, run.data,
                                                     webinput.created_result(web_input_id),
                                                     hidden=run.hidden)
        except FlowRuntimeError as err:
            self._handle_error(run, err, [started])
            return
        completed = self._state_entry(run, "completed", {"output": outcome.output})
        self._transition(run, outcome, [started, completed], web_input={
            "document": document, "values": values, "state_name": run.state_name})

    def _await_web_input(self, run: Run, waiting: interpreter.AwaitResponse,
                         started: dict) -> None:
        """An AwaitWebInput state: go on if answered, fail with ``Flows.WebInputExpired`` if
        expired, else wait INACTIVE and look again (responses from this process wake the run
        at once, see :meth:`web_input_answered`; from other processes they are found by
        polling the store)."""
        found = self._store.get_web_input(waiting.web_input_id)
        already_waiting = run.status == INACTIVE
        entries = [] if already_waiting else [started]
        if found is None or found["run_id"] != run.run_id:
            self._handle_error(run, interpreter.runtime_error(
                "States.Runtime", f"AwaitWebInput state '{run.state_name}': this run has no "
                f"web input with id '{waiting.web_input_id}'", run.state_name), entries)
            return
        if found["response"] is not None:
            run.web_input_poll = None
            if webinput.is_expiry(found["response"]):
                self._handle_error(run, webinput.expired_error(waiting.web_input_id,
                                                               run.state_name), entries)
                return
            try:
                outcome = interpreter.complete_web_input(
                    run.definition, run.state_name, run.data,
                    webinput.awaited_result(waiting.web_input_id, found["response"]["value"]),
                    hidden=run.hidden)
            except FlowRuntimeError as err:
                self._handle_error(run, err, entries)
                return
            completed = self._state_entry(run, "completed", {"output": outcome.output})
            self._transition(run, outcome, entries + [completed])
            return
        if not already_waiting:
            if not self._record(run, entries, fields={
                    "status": INACTIVE,
                    "details": webinput.waiting_details(waiting.web_input_id, run.state_name)}):
                return
            run.status = INACTIVE
        run.web_input_check += 1
        run.web_input_poll = next_poll_interval(run.web_input_poll, first=FIRST_POLL_LOCAL,
                                                cap=WEB_INPUT_POLL_CAP)
        self._scheduler.call_at(time.time() + run.web_input_poll, self._recheck_web_input,
                                run.run_id, run.token, run.web_input_check)

    @_fails_the_run_on_error
    def _recheck_web_input(self, run_id: str, token: int, check: int) -> None:
        run = self._live(run_id, token)
        if run is not None and run.web_input_check == check:
            self._execute(run_id, token)

    @_fails_the_run_on_error
    def web_input_answered(self, run_id: str) -> None:
        """A web input of the run got a response (or expired) here: look at once, not at the
        next poll."""
        run = self._runs.get(run_id)
        if run is not None and run.status == INACTIVE and run.action is None:
            run.web_input_poll = None
            self._execute(run_id, run.token)

    # Action --------------------------------------------------------------------------------

    def _resolve_provider(self, run: Run) -> tuple[str, t.Any]:
        state = run.definition["States"][run.state_name]
        try:
            return self._providers().resolve(state, state_name=run.state_name,
                                             collections=run.collections)
        except GladierException as err:
            raise interpreter.runtime_error("ActionUnableToRun", str(err),
                                            run.state_name) from err

    def _start_action(self, run: Run, call: interpreter.CallAction, started: dict) -> None:
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
        if self._record(run, [started], fields={"details": self._running_details(started)},
                        new_action={"request_id": request["request_id"],
                                    "state_name": run.state_name, "attempt": attempt,
                                    "url": url, "deadline": deadline}):
            self._send(run)

    def _request(self, request_id: str, body: t.Any) -> dict:
        """The ActionRequest: the same request_id and body after a resume, so a provider
        returns the action it already started."""
        return {"request_id": request_id, "body": body,
                "monitor_by": [self.identity["user_id"]],
                "manage_by": [self.identity["user_id"]]}

    def _resume_action(self, run: Run, journaled: dict) -> None:
        """Rebuild a journaled action after a crash and find out where it is."""
        try:
            call = interpreter.step(run.definition, run.state_name, run.data,
                                    context=run.context, hidden=run.hidden)
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

    def _send(self, run: Run) -> None:
        action = run.action
        assert action is not None
        token, provider = run.token, action.provider
        self._scheduler.submit_io(provider.run, action.request,
                                  then=lambda result, error: self._on_sent(
                                      run.run_id, token, provider, result, error))

    @_fails_the_run_on_error
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
        if isinstance(error, ActionProviderUnavailable) and \
                action.send_failures < MAX_SEND_RETRIES:
            action.send_failures += 1
            delay = _first_poll_interval(provider) * self.time_scale * 2 ** action.send_failures
            log.warning("gladier engine: %s; sending the request again in %.2f s",
                        self._shown(run, error), delay)
            self._scheduler.call_at(min(time.time() + delay, action.deadline), self._resend,
                                    run_id, token)
            return
        if run.adopted and error is not None and _function_not_registered(error):
            self._wait_for_function(run, error)
            return
        if error is not None or not isinstance(status, dict) or not status.get("action_id"):
            if error is None:
                error = ActionProviderError(f"The provider answered {status!r}, not an "
                                            "ActionStatus with an action_id")
            body = getattr(error, "body", None)
            if isinstance(error, ActionProviderUnavailable):
                cause = (f"The action provider at {action.url} did not take the request in "
                         f"{action.send_failures + 1} attempts with request_id "
                         f"'{action.request['request_id']}': {error}")
            else:
                cause = f"The action provider at {action.url} refused the request: {error}"
            self._handle_error(run, interpreter.runtime_error(
                "ActionUnableToRun", cause, run.state_name, output=body),
                [], finish_action=action.request["request_id"])
            return
        action.action_id = str(status["action_id"])
        try:
            self._store.set_action_id(action.request["request_id"], action.action_id,
                                      driver=self.driver_id)
        except RunTakenOver:
            self._runs.pop(run.run_id, None)
            run.token += 1
            return
        self._on_status(run, status)

    def _wait_for_function(self, run: Run, error: BaseException) -> None:
        """A resumed run reached a compute function this process did not register (``gladier
        resume`` registers none): it waits INACTIVE, its action journaled but not sent, for
        a resume from a process that registers it; this engine lets it go."""
        reason = (f"State '{run.state_name}' needs a compute function this process has not "
                  f"registered ({error}); resume the run from a process that registers it "
                  "(LocalEngine.register_function, or the client that started it)")
        details = {"code": FUNCTION_WAIT_CODE, "description": reason,
                   "state_name": run.state_name}
        if self._record(run, [], fields={"status": INACTIVE, "details": details,
                                         "driver": None}):
            self._runs.pop(run.run_id, None)
            run.token += 1
            run.action = None

    @_fails_the_run_on_error
    def _resend(self, run_id: str, token: int) -> None:
        run = self._live(run_id, token)
        if run is not None and run.action is not None:
            self._send(run)

    def _on_status(self, run: Run, status: dict) -> None:
        """A status from the provider: checked to be JSON the engine takes (else the run
        fails naming the limit), then followed."""
        action = run.action
        assert action is not None
        check_bounds(status, f"The status of the action of state '{run.state_name}'")
        action.last_status = status
        state = status.get("status")
        if state in TERMINAL:
            self._complete_action(run, status)
            return
        if (state == INACTIVE) != (run.status == INACTIVE):
            self._set_activity(run, status)
        self._watch(run)

    def _watch(self, run: Run) -> None:
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

    @_fails_the_run_on_error
    def _on_done(self, run_id: str, token: int, status: dict) -> None:
        run = self._live(run_id, token)
        if run is not None and run.action is not None:
            self._on_status(run, status)

    @_fails_the_run_on_error
    def _check_deadline(self, run_id: str, token: int) -> None:
        run = self._live(run_id, token)
        if run is not None and run.action is not None and time.time() >= run.action.deadline:
            self._timeout(run)

    @_fails_the_run_on_error
    def _poll(self, run_id: str, token: int) -> None:
        run = self._live(run_id, token)
        if run is None or run.action is None:
            return
        action = run.action
        self._scheduler.submit_io(
            action.provider.status, action.action_id,
            then=lambda status, error: self._on_polled(run_id, token, status, error))

    @_fails_the_run_on_error
    def _on_polled(self, run_id: str, token: int, status: t.Any,
                   error: BaseException | None) -> None:
        run = self._live(run_id, token)
        if run is None or run.action is None:
            return
        action = run.action
        if error is None and isinstance(status, dict):
            action.bad_polls = action.unavailable_polls = 0
            action.poll_error = None
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
        elif error is None or not isinstance(error, ActionProviderUnavailable):
            action.bad_polls += 1
            reason = error if error is not None else \
                f"an answer that is not an object: {status!r:.200}"
            if action.bad_polls < MAX_BAD_POLLS:
                log.warning("gladier engine: polling %s: %s; will retry", action.url,
                            self._shown(run, reason))
                self._watch(run)
                return
            self._cancel_quietly(action.provider, action.action_id)
            self._handle_error(run, interpreter.runtime_error(
                "ActionFailedException",
                f"The action provider at {action.url} answered {MAX_BAD_POLLS} status requests "
                f"for action '{action.action_id}' in a row without a usable status: {reason}",
                run.state_name, output=getattr(error, "body", None)),
                [], finish_action=action.request["request_id"])
        else:
            log.warning("gladier engine: polling %s failed (%s); will retry", action.url,
                        self._shown(run, error))
            action.unavailable_polls += 1
            action.poll_error = str(error)
            self._watch(run)

    def _timeout(self, run: Run) -> None:
        action = run.action
        assert action is not None
        self._cancel_quietly(action.provider, action.action_id)
        cause = (f"The action of state '{run.state_name}' did not finish within its WaitTime "
                 f"of {action.call.wait_time:g} s")
        if action.poll_error is not None:
            cause += (f"; the last {action.unavailable_polls} status request(s) got no answer, "
                      f"the latest: {action.poll_error}")
        self._handle_error(run, interpreter.runtime_error(
            "ActionTimeout", cause, run.state_name,
            output=interpreter.public_view(action.last_status)),
            [], finish_action=action.request["request_id"])

    def _complete_action(self, run: Run, status: dict) -> None:
        action = run.action
        assert action is not None
        request_id = action.request["request_id"]
        if status.get("status") == FAILED:  # its details say what failed, perhaps quoting it
            status = redaction.redact(status, self._private_values(run))
        try:
            outcome = interpreter.complete_action(run.definition, run.state_name, run.data,
                                                  status, hidden=run.hidden)
        except Exception as err:
            if not isinstance(err, FlowRuntimeError):
                err = _unexpected(err, run.state_name)
            self._handle_error(run, err, [], finish_action=request_id)
        else:
            completed = self._state_entry(run, "completed", {"output": outcome.output})
            self._transition(run, outcome, [completed], finish_action=request_id)
        self._scheduler.submit_io(action.provider.release, action.action_id,
                                  then=lambda result, error: None)

    def _set_activity(self, run: Run, status: dict) -> None:
        """The action became INACTIVE (the run waits for a person) or ACTIVE again.

        Logged as an ``ActionPolled`` entry so followers of the run hear about it.
        """
        shown = interpreter.public_view(dict(status, state_name=run.state_name))
        polled = self._state_entry(run, "polled", {"output": shown})
        polled["description"] += f": the action is {status.get('status')}"
        if status.get("status") == INACTIVE:
            run.status = INACTIVE
            details = object_at(status, "details")
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

    def interrupt(self, signal_name: str) -> None:
        """The engine was interrupted (the scheduler is stopped): journal each run driven
        here INACTIVE with the state it was in, and let it go for the next ``resume``."""
        for run in list(self._runs.values()):
            details = {"code": INTERRUPTED_CODE, "state_name": run.state_name,
                       "description": f"The engine was interrupted ({signal_name}) during "
                                      f"state '{run.state_name}'; resume the run to run "
                                      "that state again from its start"}
            try:
                self._store.record(run.run_id, driver=self.driver_id, fields={
                    "status": INACTIVE, "details": details, "driver": None})
            except Exception as err:  # the next resume finds it ACTIVE, its driver gone
                log.warning("gladier engine: run %s stays as journaled: %s", run.run_id, err)
            self._runs.pop(run.run_id, None)
            run.token += 1

    def _cancel_quietly(self, provider: t.Any, action_id: str | None) -> None:
        if provider is None or action_id is None:
            return
        key = (id(provider), action_id)
        with self._cancels_lock:
            self._cancels[key] = provider

        def cancel() -> None:
            with self._cancels_lock:
                if self._cancels.pop(key, None) is None:
                    return  # sent by send_cancels already
            provider.cancel(action_id)

        self._scheduler.submit_io(cancel, then=lambda result, error: None)

    def send_cancels(self) -> None:
        """The engine closes: send the cancels (of timed-out actions, of actions started
        after their run ended) that the I/O pool had not run; its shutdown drops them, and
        the action would run on with its run already ended (a Transfer past its WaitTime
        copied to its end)."""
        with self._cancels_lock:
            cancels, self._cancels = self._cancels, {}
        for (_, action_id), provider in cancels.items():
            try:
                provider.cancel(action_id)
            except Exception as err:  # closing: the action is left as it is
                log.warning("gladier engine: canceling action %s failed: %s", action_id, err)

    def cancel(self, run_id: str) -> None:
        """End the run as canceled and cancel its running action.

        Works for runs driven by another process too: that engine finds the run ended
        at its next transition and lets it go.
        """
        journaled = self._store.open_action(run_id)
        final = log_entry("FlowCanceled", "The Flow Instance was canceled by the user", {})
        try:
            self._store.record(run_id, entries=[final],
                               finish_action=journaled["request_id"] if journaled else None,
                               fields={"status": FAILED, "completion_time": final["time"],
                                       "state_name": None, "wake_at": None,
                                       "details": dict(final)})
        except RunEnded:
            return
        self._publish(run_id, [final])
        run = self._runs.get(run_id)
        if run is not None:
            self._drop(run)
        elif journaled is not None and journaled["action_id"]:
            try:
                _, provider = self._providers().resolve({"ActionUrl": journaled["url"]},
                                                        state_name=journaled["state_name"])
            except GladierException:
                log.warning("gladier engine: cannot cancel the action at %s", journaled["url"])
            else:
                self._cancel_quietly(provider, journaled["action_id"])


def _unexpected(err: Exception, state_name: str) -> FlowRuntimeError:
    """A non-flow error met while running a state, as a States.Runtime flow error."""
    if isinstance(err, GladierException):
        return interpreter.runtime_error("States.Runtime", str(err), state_name)
    log.error("gladier engine: unexpected error in state %s", state_name, exc_info=err)
    return interpreter.runtime_error(
        "States.Runtime", f"Unexpected {type(err).__name__} in state '{state_name}': {err}",
        state_name)


def _function_not_registered(error: BaseException | None) -> bool:
    """Whether a provider refused a request for naming a function this process lacks."""
    body = getattr(error, "body", None)
    return isinstance(body, dict) and body.get("code") == "FunctionNotFound"


def _first_poll_interval(provider: t.Any) -> float:
    """How long to wait before the first poll: a provider may say (``first_poll_interval``),
    else the local default (before the time scale)."""
    declared = getattr(provider, "first_poll_interval", None)
    if isinstance(declared, (int, float)):
        return float(declared)
    return FIRST_POLL_LOCAL

