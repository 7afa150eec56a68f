"""What a compute task returned, or how it failed, in the shapes the action reports."""

from __future__ import annotations

import concurrent.futures as cf
import json
import math
import traceback
import typing as t


_JSON_SCALARS = (str, int, float, bool, type(None))


def json_output(value: t.Any, function: str) -> t.Any:
    """A task's output as JSON data (tuples become lists), for the run state.

    The Globus Compute action provider documents only that each result's ``output`` is
    "the result from that run", inside a JSON action status (globus-compute
    docs/actionprovider.rst, "Action Output"); it says nothing of values JSON cannot hold.
    So no value is guessed at (no ``repr``): a ``datetime``, a ``set``, bytes, any other
    object, NaN or infinity fails the task with a TypeError naming ``function`` and the
    value's type, which the function can then convert itself.
    """
    if type(value) in _JSON_SCALARS and not (isinstance(value, float)
                                             and not math.isfinite(value)):
        return value

    def refuse(item: t.Any) -> t.NoReturn:
        kind = type(item)
        name = kind.__qualname__ if kind.__module__ == "builtins" else \
            f"{kind.__module__}.{kind.__qualname__}"
        raise TypeError(
            f"{function} returned {'a value holding ' if item is not value else ''}a {name} "
            f"({item!r:.80}), which is not JSON data: return str, int, float, bool, None, "
            "lists and dicts (e.g. value.isoformat() for a datetime, sorted(value) for a "
            "set)")

    try:
        return json.loads(json.dumps(value, default=refuse, allow_nan=False))
    except ValueError:
        raise TypeError(f"{function} returned NaN or infinity ({value!r:.80}), which is "
                        "not JSON data") from None


def function_name(func_or_registry: t.Any, function_id: str | None = None) -> str:
    """``Compute function 'name'`` (with its id, when known), for error messages."""
    func = func_or_registry
    if function_id is not None:
        try:
            func = func_or_registry.get(function_id)
        except Exception:  # not registered here (a remote executor's function)
            return f"Compute function {function_id}"
    name = getattr(func, "__name__", None) or repr(func)
    return f"Compute function '{name}'" + (f" ({function_id})" if function_id else "")


def describe_failure(exc: BaseException) -> dict:
    return {
        "exception": type(exc).__name__,
        "message": str(exc),
        "traceback": "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)),
    }


CANCELED_ERROR = {"exception": "CancelledError", "message": "canceled", "traceback": ""}


class RecordedTaskError(Exception):
    """A task failure read back from the ledger (its ``error`` is the described failure)."""

    def __init__(self, error: dict):
        super().__init__(error)
        self.error = error


def recorded_output(result: dict) -> t.Any:
    if result.get("error"):
        raise RecordedTaskError(result["error"])
    return result.get("output")


def finished_future(result: dict) -> cf.Future:
    """A done future holding a result read from the ledger."""
    future: cf.Future = cf.Future()
    try:
        future.set_result(recorded_output(result))
    except RecordedTaskError as error:
        future.set_exception(error)
    return future


def recorded_outcome(result: dict) -> tuple[t.Any, dict | None]:
    """(output, None) or (None, error) of a result read from the ledger."""
    try:
        return recorded_output(result), None
    except RecordedTaskError as error:
        return None, error.error


def future_failure(future: cf.Future) -> dict | None:
    """The described failure of a done future (None if it has a result)."""
    if future.cancelled():
        return CANCELED_ERROR
    failure = future.exception()
    if isinstance(failure, RecordedTaskError):
        return failure.error
    return None if failure is None else describe_failure(failure)


def interrupted_error(why: str) -> dict:
    return {
        "exception": "TaskInterrupted",
        "message": (
            f"The task started before the engine stopped but never finished ({why}); it is "
            "not run again automatically because it may have had side effects"
        ),
        "traceback": "",
    }
