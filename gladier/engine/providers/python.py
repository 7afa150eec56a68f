"""A plain Python callable as an action provider (mocks in tests, glue code in scripts).

``func(body) -> details`` is called in ``run``, so the action is synchronous: a returned
dict becomes ``details`` of a SUCCEEDED action (anything else is wrapped as
``{"result": value}``); an exception makes it FAILED with the exception's name and
message in ``details``. Raising :class:`gladier.exc.ActionProviderError` refuses the
request instead, which a flow sees as ``ActionUnableToRun``.

Crashes: with a result store (the engine's database), the provider saves a claim on each
request before it calls ``func`` (under the scope ``claims/callable/<name>``) and drops it
when the action is released. If the engine dies after the call began but before its
result was saved, the resumed engine sends the same request again and finds the claim
without a result: the call may already have had its side effects, so it is not made a
second time; the action fails with ``ActionInterrupted`` naming the request
(``<run id>:<state name>:<attempt>``).
"""

from __future__ import annotations

import logging
import sqlite3
import typing as t

from gladier.engine.providers.actions import (
    ActionTable,
    ResultStore,
    bad_request,
    body_fingerprint,
    check_request,
)
from gladier.engine.providers.base import FAILED, SUCCEEDED
from gladier.engine.providers.synchronous import SynchronousProvider
from gladier.engine.timing import now_iso
from gladier.exc import ActionProviderError

log = logging.getLogger(__name__)


class CallableProvider(SynchronousProvider):
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
        self._store = store
        self._claims_scope = f"claims/{self._actions.scope}"

    def run(self, request: dict) -> dict:
        found = self._actions.existing(request)
        if found is not None:
            return found
        request_id, body = check_request(request)
        fingerprint = body_fingerprint(body)
        claimed = self._claim(request_id, fingerprint)
        if claimed is not None:
            return self._interrupted(request, fingerprint, claimed)
        try:
            result = self.func(body)
        except ActionProviderError:
            self._drop_claim(self._actions.action_id_for(request_id))  # refused: no action
            raise
        except Exception as exc:
            details = {
                "code": "UnhandledException",
                "description": f"{type(exc).__name__}: {exc}",
                "exception": type(exc).__name__,
                "message": str(exc),
            }
            return self._finish(request, FAILED, details)
        details = result if isinstance(result, dict) else {"result": result}
        return self._finish(request, SUCCEEDED, details)

    def release(self, action_id: str) -> dict:
        document = super().release(action_id)
        self._drop_claim(action_id)
        return document

    def _claim(self, request_id: str, fingerprint: str) -> dict | None:
        """Save a claim on the request before calling; an earlier claim (``fingerprint``,
        ``claimed_at``) is returned instead if there is one."""
        if self._store is None:
            return None
        claim = {"action_id": self._actions.action_id_for(request_id), "claimed_at": now_iso()}
        try:
            earlier = self._store.find_request(self._claims_scope, request_id)
            if earlier is not None:
                return {"fingerprint": earlier[0], "claimed_at": earlier[1]["claimed_at"]}
            self._store.save(self._claims_scope, request_id, fingerprint, claim)
        except sqlite3.Error as exc:
            log.warning("Could not claim request %s in %s (a resumed run may call %s again): %s",
                        request_id, self._store.path, self.name, exc)
        return None

    def _drop_claim(self, action_id: str) -> None:
        if self._store is None:
            return
        try:
            self._store.forget(self._claims_scope, action_id)
        except sqlite3.Error as exc:
            log.warning("Could not drop the claim of action %s in %s: %s",
                        action_id, self._store.path, exc)

    def _finish(self, request: dict, status: str, details: dict) -> dict:
        return self._actions.start(request, status=status, details=details)[0]

    def _interrupted(self, request: dict, fingerprint: str, earlier: dict) -> dict:
        """The FAILED action of a request whose call began before a crash (or a 409 if the
        claimed request had another body)."""
        request_id = request["request_id"]
        if earlier["fingerprint"] != fingerprint:
            raise bad_request(
                f"Request with id '{request_id}' was already received with a different body",
                code="ActionConflict",
                status=409,
            )
        message = (
            f"The callable '{self.name}' began request '{request_id}' at "
            f"{earlier['claimed_at']} but its result was never saved (the engine stopped "
            "during the call); it is not called again because it may have had side effects"
        )
        details = {
            "code": "ActionInterrupted",
            "description": message,
            "exception": "ActionInterrupted",
            "message": message,
            "request_id": request_id,
        }
        return self._finish(request, FAILED, details)
