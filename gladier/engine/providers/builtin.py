"""Globus's own small hosted providers, answered in process.

- ``https://actions.globus.org/hello_world``: ``{"echo_string", "sleep_time"?}`` ->
  ``details == {"Hello": "World", "hello": echo_string}``; ACTIVE until ``sleep_time``
  seconds have passed, times the engine's time scale like every other wait (one timer
  thread serves every sleeping action).
- ``https://actions.globus.org/expression_eval``: ``{"expression", "arguments"?,
  "result_path"?}`` or ``{"expressions": [...]}``; each result is stored in
  ``details[result_path or "result"]`` (a ``$.``-path there nests it). An expression that
  fails makes the action FAILED with the reason.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
import typing as t

from gladier.engine.providers.actions import ActionTable, ResultStore, bad_request, check_request
from gladier.engine.providers.base import FAILED, SUCCEEDED, TERMINAL
from gladier.engine.providers.synchronous import SynchronousProvider
from gladier.engine.timing import time_scale_from_env
from gladier.exc import ExpressionError, PathError

log = logging.getLogger(__name__)


class _Alarm:
    """One thread that calls ``fn()`` at each deadline given to :meth:`at`."""

    def __init__(self) -> None:
        self._queue: list[tuple[float, int, t.Callable[[], object]]] = []
        self._order = itertools.count()
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None
        self._stopped = False

    def at(self, deadline: float, fn: t.Callable[[], object]) -> None:
        with self._wake:
            heapq.heappush(self._queue, (deadline, next(self._order), fn))
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._loop, name="gladier-hello-world", daemon=True
                )
                self._thread.start()
            self._wake.notify()

    def _loop(self) -> None:
        while True:
            with self._wake:
                while not self._stopped and (
                    not self._queue or self._queue[0][0] > time.monotonic()
                ):
                    timeout = self._queue[0][0] - time.monotonic() if self._queue else None
                    self._wake.wait(timeout)
                if self._stopped:
                    return
                _, _, fn = heapq.heappop(self._queue)
            try:
                fn()
            except Exception:  # keep serving the other deadlines
                log.exception("A hello_world timer failed")

    def stop(self) -> None:
        with self._wake:
            self._stopped = True
            self._wake.notify()


class HelloWorldProvider:
    """The Hello World test provider. ``time_scale`` (default ``GLADIER_TIME_SCALE``)
    multiplies ``sleep_time``, as it does a Wait state's seconds."""

    def __init__(self, *, store: ResultStore | None = None, time_scale: float | None = None):
        self._actions = ActionTable("hello_world", store=store)
        self.time_scale = time_scale_from_env(time_scale)
        self._alarm = _Alarm()

    def run(self, request: dict) -> dict:
        found = self._actions.existing(request)
        if found is not None:
            return found
        _, body = check_request(request)
        echo = body.get("echo_string")
        if not isinstance(echo, str):
            raise bad_request("hello_world needs 'echo_string' (a string)")
        sleep = body.get("sleep_time", 0)
        if isinstance(sleep, bool) or not isinstance(sleep, (int, float)) or sleep < 0:
            raise bad_request(f"'sleep_time' must be a number of seconds >= 0, not {sleep!r}")
        details = {"Hello": "World", "hello": echo}
        if not sleep:
            return self._actions.start(request, status=SUCCEEDED, details=details)[0]
        document, created = self._actions.start(request, details=details)
        if created:
            action_id = document["action_id"]
            self._alarm.at(
                time.monotonic() + sleep * self.time_scale,
                lambda: self._actions.finish(action_id, SUCCEEDED, details),
            )
        return document

    def status(self, action_id: str) -> dict:
        return self._actions.get(action_id)

    def cancel(self, action_id: str) -> dict:
        document = self._actions.get(action_id)
        if document["status"] not in TERMINAL:
            self._actions.finish(
                action_id,
                FAILED,
                {"code": "ActionCanceled", "description": "Canceled while sleeping"},
            )
        return self._actions.get(action_id)

    def release(self, action_id: str) -> dict:
        return self._actions.release(action_id)

    def add_done_callback(self, action_id: str, callback: t.Callable[[dict], None]) -> None:
        self._actions.add_done_callback(action_id, callback)

    def close(self) -> None:
        self._alarm.stop()


def _expression_requests(body: dict) -> list[tuple[str, dict, str]]:
    """``(expression, arguments, result_path)`` for each expression of the body."""
    if "expressions" in body:
        entries = body["expressions"]
        if not isinstance(entries, list) or not entries:
            raise bad_request(
                "'expressions' must be a non-empty list of {expression, arguments?, result_path?}"
            )
        where = [f"expressions[{i}]" for i in range(len(entries))]
    else:
        entries, where = [body], ["body"]
    parsed = []
    for place, entry in zip(where, entries):
        if not isinstance(entry, dict):
            raise bad_request(f"{place} must be an object")
        expression = entry.get("expression")
        if not isinstance(expression, str) or not expression.strip():
            raise bad_request(f"{place} needs 'expression' (a string)")
        arguments = entry.get("arguments", {})
        if arguments is None:
            arguments = {}
        if not isinstance(arguments, dict):
            raise bad_request(f"{place}.arguments must be an object")
        result_path = entry.get("result_path") or "result"
        if not isinstance(result_path, str):
            raise bad_request(f"{place}.result_path must be a string")
        parsed.append((expression, arguments, result_path))
    return parsed


class ExpressionEvalProvider(SynchronousProvider):
    """The expression evaluation provider (synchronous: ``run`` returns the final status)."""

    def __init__(self, *, store: ResultStore | None = None):
        self._actions = ActionTable("expression_eval", store=store)

    def run(self, request: dict) -> dict:
        found = self._actions.existing(request)
        if found is not None:
            return found
        _, body = check_request(request)
        from gladier.engine.expressions import evaluate
        from gladier.engine.paths import set_path

        details: dict = {}
        status = SUCCEEDED
        for expression, arguments, result_path in _expression_requests(body):
            try:
                value = evaluate(expression, arguments)
                if result_path.startswith("$"):
                    details = set_path(details, result_path, value)
                else:
                    details[result_path] = value
            except (ExpressionError, PathError) as exc:
                status = FAILED
                details = {
                    "code": "ExpressionEvaluationFailed",
                    "description": str(exc),
                    "expression": expression,
                }
                break
        return self._actions.start(request, status=status, details=details)[0]
