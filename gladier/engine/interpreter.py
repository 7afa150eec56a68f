"""What one state of a flow does, computed without any I/O.

Given the definition, the name of the current state, the run state (the run's data) and the
read-only ``$._context``, :func:`step` says what happens next: go on to another state with
new data (Pass, ExpressionEval, Choice), sleep until a moment (Wait), end the run as failed
(Fail), call an action (Action), open a web input (CreateWebInput) or wait for its
response (AwaitWebInput). :func:`complete_action` applies an action's final status,
and :func:`catch` routes a flow error through the state's ``Catch`` list. The run driver does
the waiting, the calling and the journaling; this module only decides.

Errors inside a state are :class:`gladier.exc.FlowRuntimeError` named as the Flows service
names them; an error may carry an ``output`` attribute (the action's status or the
provider's error body) that a ``Catch`` stores with the error.
"""

from __future__ import annotations

import dataclasses
import datetime
import typing as t

from gladier.engine.choice import choose
from gladier.engine.parameters import (ATOMS, mask_private, private_paths, read_input,
                                       resolve_parameters)
from gladier.engine.paths import Segment, delete_path, is_singular, parse_path, parse_query, set_path
from gladier.engine.timing import parse_timestamp
from gladier.exc import EngineError, ExpressionError, FlowRuntimeError, PathError

#: Default limit of a run's state, as on the Flows service (bytes of JSON).
MAX_STATE_SIZE = 200 * 1024
#: Default ``WaitTime`` of an Action state (seconds).
DEFAULT_WAIT_TIME = 300
#: Longest Wait the service allows (one year, seconds).
MAX_WAIT_SECONDS = 31536000
#: Catch-all error names (ASL spells ``States.ALL``, Gladier ``States.All``).
CATCH_ALL = frozenset({"States.ALL", "States.All"})
#: Errors no ``Catch`` can handle: the run cannot go on.
UNCATCHABLE = frozenset({"States.DataLimitExceeded"})
#: The prefix of state keys hidden from run documents and logs.
PRIVATE_PREFIX = "_private"


@dataclasses.dataclass(frozen=True)
class Advance:
    """The state is done: continue at ``next_state`` (``None``: the run succeeded)."""

    data: t.Any
    next_state: str | None
    output: t.Any


@dataclasses.dataclass(frozen=True)
class WaitUntil:
    """Sleep, then continue at ``next_state`` with unchanged data.

    Exactly one of ``seconds`` (a duration, to be scaled) and ``timestamp`` is set.
    """

    next_state: str | None
    seconds: float | None = None
    timestamp: datetime.datetime | None = None


@dataclasses.dataclass(frozen=True)
class FailRun:
    """A Fail state: the run ends as FAILED with this error and cause."""

    error: str
    cause: str


@dataclasses.dataclass(frozen=True)
class CallAction:
    """Send ``body`` to the state's action provider and wait for a final status."""

    body: t.Any
    logged_body: t.Any
    result_path: str
    wait_time: float
    exception_on_failure: bool
    run_as: str


@dataclasses.dataclass(frozen=True)
class OpenWebInput:
    """A CreateWebInput state: open a web input from these resolved ``parameters``."""

    parameters: t.Any


@dataclasses.dataclass(frozen=True)
class AwaitResponse:
    """An AwaitWebInput state: continue once ``web_input_id`` has a response."""

    web_input_id: str


Step = t.Union[Advance, WaitUntil, FailRun, CallAction, OpenWebInput, AwaitResponse]


def runtime_error(error: str, cause: str, state_name: str | None,
                  output: t.Any = None) -> FlowRuntimeError:
    """A FlowRuntimeError carrying what the failing action returned, for ``Catch``."""
    err = FlowRuntimeError(error, cause, state_name=state_name)
    err.output = output  # type: ignore[attr-defined]
    return err


def get_state(definition: dict, state_name: str) -> dict:
    try:
        state = definition["States"][state_name]
    except (KeyError, TypeError):
        raise EngineError(f"The flow has no state named '{state_name}'") from None
    if not isinstance(state, dict):
        raise EngineError(f"State '{state_name}' is not an object")
    return state


def private_state_paths(definition: dict) -> frozenset[tuple[Segment, ...]]:
    """The run state paths where Pass and ExpressionEval states store values their
    ``__Private_Parameters`` list: hidden wherever the run state is shown, for the whole
    run, yet readable by later states (as ``_private*`` keys are)."""
    found: set[tuple[Segment, ...]] = set()
    for state in (definition.get("States") or {}).values():
        if not isinstance(state, dict) or state.get("Type") not in ("Pass", "ExpressionEval") \
                or "Parameters" not in state or "Result" in state:
            continue
        try:
            base = parse_path(state.get("ResultPath", "$"))
        except PathError:
            continue  # the state fails when it runs
        found.update(base + path for path in private_paths(state["Parameters"]))
    return frozenset(found)


def step(definition: dict, state_name: str, data: t.Any, *, context: dict,
         hidden: frozenset = frozenset()) -> Step:
    """Compute what ``state_name`` does with ``data``; ``hidden`` is
    :func:`private_state_paths` of the definition. Raises FlowRuntimeError."""
    state = get_state(definition, state_name)
    kind = state.get("Type")
    try:
        if kind == "Pass":
            return _pass(state, state_name, data, context, hidden)
        if kind == "ExpressionEval":
            result = resolve_parameters(state.get("Parameters", {}), data,
                                        context=context, state_name=state_name)
            return _advance(state, state_name, data, result,
                            shown=mask_private(state.get("Parameters"), result), hidden=hidden)
        if kind == "Choice":
            nxt = choose(state, data, context=context, state_name=state_name)
            return Advance(data=data, next_state=nxt, output=public_view(data, hidden))
        if kind == "Wait":
            return _wait(state, state_name, data, context)
        if kind == "Fail":
            return _fail(state, state_name, data, context)
        if kind == "Action":
            return _action(state, state_name, data, context)
        if kind == "CreateWebInput":
            _check_result_path(state, state_name, data)
            return OpenWebInput(parameters=_effective_input(state, state_name, data, context))
        if kind == "AwaitWebInput":
            return _await_web_input(state, state_name, data, context)
    except (PathError, ExpressionError) as err:
        raise runtime_error("States.Runtime", str(err), state_name) from err
    raise EngineError(f"State '{state_name}' has an unsupported Type '{kind}'")


def complete_action(definition: dict, state_name: str, data: t.Any,
                    action_status: dict, *, hidden: frozenset = frozenset()) -> Advance:
    """Store an action's final status at the state's ``ResultPath``.

    A FAILED status raises ``ActionFailedException`` unless the state sets
    ``ExceptionOnActionFailure`` to false. ``hidden``: see :func:`step`.
    """
    state = get_state(definition, state_name)
    result = dict(action_status, state_name=state_name)
    if result.get("status") == "FAILED" and state.get("ExceptionOnActionFailure", True):
        raise runtime_error(
            "ActionFailedException",
            f"The action of state '{state_name}' failed: {_describe_failure(result)}",
            state_name, output=public_view(result),
        )
    return _advance(state, state_name, data, result, hidden=hidden)


def complete_web_input(definition: dict, state_name: str, data: t.Any,
                       result: dict, *, hidden: frozenset = frozenset()) -> Advance:
    """Store what a CreateWebInput or AwaitWebInput state produced at its ResultPath."""
    return _advance(get_state(definition, state_name), state_name, data, result,
                    hidden=hidden)


def catch(definition: dict, state_name: str, data: t.Any,
          error: FlowRuntimeError) -> Advance | None:
    """Route ``error`` through the state's ``Catch``; ``None`` when nothing catches it.

    The error object ``{"state_name", "exception", "cause"}`` (plus ``output`` when the
    action returned something) goes to the catcher's ``ResultPath``, or replaces the whole
    run state when it has none, as on the service.
    """
    if error.error in UNCATCHABLE:
        return None
    state = get_state(definition, state_name)
    for catcher in state.get("Catch") or []:
        names = set(catcher.get("ErrorEquals") or [])
        if error.error in names or names & CATCH_ALL:
            info = error_object(error, state_name)
            result_path = catcher.get("ResultPath")
            if result_path is None:
                new_data: t.Any = info
            else:
                new_data = write_result(data, result_path, info, state_name)
            return Advance(data=new_data, next_state=catcher["Next"], output=info)
    return None


def error_object(error: FlowRuntimeError, state_name: str) -> dict:
    """The error as the service stores it in the run state and in run details."""
    info = {"state_name": state_name, "exception": error.error, "cause": error.cause}
    output = getattr(error, "output", None)
    if output is not None:
        info["output"] = output
    return info


def write_result(data: t.Any, result_path: str, value: t.Any, state_name: str) -> t.Any:
    """``set_path`` that refuses the read-only ``$._context`` and names the state."""
    try:
        segments = parse_path(result_path)
    except PathError as err:
        raise runtime_error("States.ResultPathMatchFailure", str(err), state_name) from None
    if segments and segments[0] == "_context":
        raise runtime_error(
            "States.ResultPathMatchFailure",
            f"ResultPath '{result_path}' is inside $._context, which is read-only",
            state_name,
        )
    if segments and not isinstance(data, dict):
        data = {}
    else:
        data = _copy_along(data, segments)
    try:
        return set_path(data, result_path, value)
    except PathError as err:
        raise runtime_error("States.ResultPathMatchFailure", str(err), state_name) from None


def check_state_size(size: int, state_name: str, *, limit: int) -> None:
    """Refuse a run state larger than ``limit`` bytes of JSON (the service allows 200 KB)."""
    if size > limit:
        raise runtime_error(
            "States.DataLimitExceeded",
            f"The run state after state '{state_name}' is {size} bytes, over the limit of "
            f"{limit} bytes; store large results in files and keep paths in the state",
            state_name,
        )


def public_view(value: t.Any, hidden: frozenset = frozenset(), where: tuple = ()) -> t.Any:
    """A copy of ``value`` without keys starting with ``_private`` (at any depth) and
    without the paths in ``hidden`` (segment tuples; ``where`` is the path of ``value``)."""
    if isinstance(value, dict):
        return {k: v if type(v) in ATOMS else public_view(v, hidden, where + (k,))
                for k, v in value.items()
                if not (isinstance(k, str) and k.startswith(PRIVATE_PREFIX))
                and not (hidden and where + (k,) in hidden)}
    if isinstance(value, list):
        return [v if type(v) in ATOMS else public_view(v, hidden, where + (i,))
                for i, v in enumerate(value)]
    return value


def _copy_along(data: t.Any, segments: tuple[Segment, ...]) -> t.Any:
    """``data`` with new copies of the objects and lists ``segments`` passes through (the
    ones a write there changes), the rest shared: writing a result never changes an
    earlier state's data, and costs the length of its path, not the size of the run
    state. Run states are never changed in place, only through such copies."""
    if not segments or not isinstance(data, (dict, list)):
        return data
    root = node = data.copy()
    for segment in segments[:-1]:
        if isinstance(node, dict) and isinstance(segment, str):
            child = node.get(segment)
        elif isinstance(node, list) and isinstance(segment, int) and \
                -len(node) <= segment < len(node):
            child = node[segment]
        else:
            break  # set_path creates what is missing, or names what it cannot write
        if not isinstance(child, (dict, list)):
            break
        child = child.copy()
        node[segment] = child  # type: ignore[index]
        node = child
    return root


def _check_result_path(state: dict, state_name: str, data: t.Any) -> None:
    """Refuse a ResultPath that cannot be written before the state acts, not after: the
    run state is the same when its result comes (the run waits for it). Only a list index
    can fail on the run state itself, so the state is copied for the check only then."""
    result_path = state.get("ResultPath", "$")
    try:
        by_index = any(isinstance(segment, int) for segment in parse_path(result_path))
    except PathError:
        by_index = False  # write_result names the error
    write_result(data if by_index else {}, result_path, None, state_name)


def _next_state(state: dict) -> str | None:
    if state.get("End") is True:
        return None
    return state.get("Next")


def _advance(state: dict, state_name: str, data: t.Any, result: t.Any, *,
             shown: t.Any = None, hidden: frozenset = frozenset()) -> Advance:
    """Write ``result`` at the ResultPath; ``shown`` is the result as logs may show it
    (the state's own private values removed already). The output is also seen through
    the run's lens: a result written at a private place (``$._private…``, a path a Pass
    state made private) shows as ``{}``, and one holding such places shows without them
    (a bare Pass shows the whole run state)."""
    result_path = state.get("ResultPath", "$")
    new_data = write_result(data, result_path, result, state_name)
    output = public_view(result) if shown is None else shown
    base = parse_path(result_path)  # write_result refused it if it does not parse
    if any(isinstance(segment, str) and segment.startswith(PRIVATE_PREFIX)
           for segment in base) or any(base[:n] in hidden for n in range(1, len(base) + 1)):
        output = {}
    elif hidden:
        output = public_view(output, frozenset(path[len(base):] for path in hidden
                                               if path[:len(base)] == base
                                               and len(path) > len(base)))
    return Advance(data=new_data, next_state=_next_state(state), output=output)


def _effective_input(state: dict, state_name: str, data: t.Any, context: dict) -> t.Any:
    """InputPath, then Parameters: what a Pass or Action state works on."""
    value = data
    if "InputPath" in state:
        value = read_input(data, state["InputPath"], context=context, state_name=state_name)
    if "Parameters" in state:
        value = resolve_parameters(state["Parameters"], value,
                                   context=context, state_name=state_name)
    return value


def _pass(state: dict, state_name: str, data: t.Any, context: dict,
          hidden: frozenset) -> Advance:
    if "Result" in state:
        return _advance(state, state_name, data, state["Result"], hidden=hidden)
    result = _effective_input(state, state_name, data, context)
    if _moves(state):
        data = delete_path(_copy_along(data, parse_path(state["InputPath"])),
                           state["InputPath"])
    return _advance(state, state_name, data, result,
                    shown=mask_private(state.get("Parameters"), result), hidden=hidden)


def _moves(state: dict) -> bool:
    """A Pass with InputPath and ResultPath (and no Parameters) moves its input: the Globus
    Pass-state docs show the source key gone afterwards. Only a reference path to one
    place inside the run state can be moved (not ``$``, a query or ``$._context``)."""
    if "ResultPath" not in state or "Parameters" in state or "InputPath" not in state:
        return False
    try:
        source = parse_query(state["InputPath"])
    except (PathError, TypeError):
        return False
    return bool(source) and is_singular(source) and source[0] != "_context"


def _wait(state: dict, state_name: str, data: t.Any, context: dict) -> WaitUntil:
    nxt = _next_state(state)
    if "Seconds" in state or "SecondsPath" in state:
        where = "Seconds"
        seconds = state.get("Seconds")
        if "SecondsPath" in state:
            where = f"SecondsPath '{state['SecondsPath']}'"
            seconds = read_input(data, state["SecondsPath"], context=context,
                                 state_name=state_name, field="SecondsPath")
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds < 0:
            raise runtime_error(
                "States.Runtime",
                f"{where} of Wait state '{state_name}' must be a number of seconds >= 0, "
                f"not {seconds!r}", state_name,
            )
        if seconds > MAX_WAIT_SECONDS:
            raise runtime_error(
                "States.Runtime",
                f"{where} of Wait state '{state_name}' is {seconds} s, over the one-year "
                f"limit of {MAX_WAIT_SECONDS} s", state_name,
            )
        return WaitUntil(next_state=nxt, seconds=float(seconds))
    if "Timestamp" in state or "TimestampPath" in state:
        where = "Timestamp"
        text = state.get("Timestamp")
        if "TimestampPath" in state:
            where = f"TimestampPath '{state['TimestampPath']}'"
            text = read_input(data, state["TimestampPath"], context=context,
                              state_name=state_name, field="TimestampPath")
        try:
            moment = parse_timestamp(text)
        except ValueError:
            raise runtime_error(
                "States.Runtime",
                f"{where} of Wait state '{state_name}' is not an RFC 3339 timestamp: {text!r}",
                state_name,
            ) from None
        return WaitUntil(next_state=nxt, timestamp=moment)
    raise runtime_error(
        "States.Runtime",
        f"Wait state '{state_name}' needs one of Seconds, SecondsPath, Timestamp, "
        "TimestampPath", state_name,
    )


def _fail(state: dict, state_name: str, data: t.Any, context: dict) -> FailRun:
    error = state.get("Error")
    cause = state.get("Cause")
    if "ErrorPath" in state:
        error = read_input(data, state["ErrorPath"], context=context, state_name=state_name,
                           field="ErrorPath")
    if "CausePath" in state:
        cause = read_input(data, state["CausePath"], context=context, state_name=state_name,
                           field="CausePath")
    return FailRun(
        error=str(error) if error is not None else "States.Fail",
        cause=str(cause) if cause is not None else f"The flow reached Fail state '{state_name}'",
    )


def _action(state: dict, state_name: str, data: t.Any, context: dict) -> CallAction:
    body = _effective_input(state, state_name, data, context)
    if "Parameters" in state:
        logged = mask_private(state["Parameters"], body)
    else:
        logged = public_view(body)
    result_path = state.get("ResultPath", "$")
    _check_result_path(state, state_name, data)
    wait_time = state.get("WaitTime", DEFAULT_WAIT_TIME)
    if isinstance(wait_time, bool) or not isinstance(wait_time, (int, float)) or wait_time <= 0:
        raise runtime_error(
            "States.Runtime",
            f"WaitTime of Action state '{state_name}' must be a positive number of seconds, "
            f"not {wait_time!r}", state_name,
        )
    return CallAction(
        body=body,
        logged_body=logged,
        result_path=result_path,
        wait_time=float(wait_time),
        exception_on_failure=bool(state.get("ExceptionOnActionFailure", True)),
        run_as=str(state.get("RunAs", "User")),
    )


def _await_web_input(state: dict, state_name: str, data: t.Any,
                     context: dict) -> AwaitResponse:
    _check_result_path(state, state_name, data)
    parameters = _effective_input(state, state_name, data, context)
    web_input_id = parameters.get("web_input_id") if isinstance(parameters, dict) else None
    if not isinstance(web_input_id, str) or not web_input_id:
        raise runtime_error(
            "States.Runtime",
            f"AwaitWebInput state '{state_name}' needs Parameters.web_input_id (the id a "
            f"CreateWebInput state returned), got {web_input_id!r}", state_name)
    return AwaitResponse(web_input_id=web_input_id)


#: Where a FAILED action's details say why, clearest first: a Transfer task's
#: ``fatal_error``, then the fields providers commonly use. A field may be an object with
#: its own ``description`` or ``message`` (and ``code``).
_FAILURE_TEXT_KEYS = ("fatal_error", "description", "exception", "error", "message", "cause",
                      "detail")


def _describe_failure(status: dict) -> str:
    """Why an action failed, in the provider's words, for the run's error cause (the whole
    details, cut short, only when no field says it)."""
    details = status.get("details")
    if isinstance(details, dict):
        for key in _FAILURE_TEXT_KEYS:
            value = details.get(key)
            if isinstance(value, dict):
                text = value.get("description") or value.get("message")
                code = value.get("code")
                value = f"{code}: {text}" if text and code else text
            if value:
                return str(value)[:1000]
    if details:
        return str(details)[:1000]
    return status.get("display_status") or "status FAILED"
