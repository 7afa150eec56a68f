"""A plain Python callable as an action provider (mocks in tests, glue code in scripts).

``func(body) -> details`` is called in ``run``, so the action is synchronous: a returned
dict becomes ``details`` of a SUCCEEDED action (anything else is wrapped as
``{"result": value}``); an exception makes it FAILED with the exception's name and
message in ``details``. Raising :class:`gladier.exc.ActionProviderError` refuses the
request instead, which a flow sees as ``ActionUnableToRun``.
"""

from __future__ import annotations

import typing as t

from gladier.engine.providers.actions import ActionTable, ResultStore, check_request
from gladier.engine.providers.base import FAILED, SUCCEEDED
from gladier.exc import ActionProviderError


class CallableProvider:
    """Wraps ``func(body: dict) -> dict`` in the provider protocol."""

    def __init__(
        self,
        func: t.Callable[[dict], t.Any],
        *,
        name: str | None = None,
        store: ResultStore | None = None,
    ):
        self.func = func
        self.name = name or getattr(func, "__qualname__", repr(func))
        self._actions = ActionTable(f"callable/{self.name}", store=store)

    def run(self, request: dict) -> dict:
        found = self._actions.existing(request)
        if found is not None:
            return found
        _, body = check_request(request)
        try:
            result = self.func(body)
        except ActionProviderError:
            raise
        except Exception as exc:
            details = {
                "code": "UnhandledException",
                "description": f"{type(exc).__name__}: {exc}",
                "exception": type(exc).__name__,
                "message": str(exc),
            }
            return self._actions.start(request, status=FAILED, details=details)[0]
        details = result if isinstance(result, dict) else {"result": result}
        return self._actions.start(request, status=SUCCEEDED, details=details)[0]

    def status(self, action_id: str) -> dict:
        return self._actions.get(action_id)

    def cancel(self, action_id: str) -> dict:
        return self._actions.get(action_id)

    def release(self, action_id: str) -> dict:
        return self._actions.release(action_id)

    def add_done_callback(self, action_id: str, callback: t.Callable[[dict], None]) -> None:
        self._actions.add_done_callback(action_id, callback)
