"""The one protocol the engine uses to talk to every action provider.

It mirrors the Action Provider Interface: ``run`` starts an action and returns its
ActionStatus document; ``status``, ``cancel`` and ``release`` take the ``action_id`` from
that document. Local compute, local transfer, HTTP providers and a user's Python callable
all implement it, so resuming after a crash is simply "ask for the status of the action we
journaled".

A provider refuses a request by raising :class:`gladier.exc.ActionProviderError`; the
engine turns that into the flow error ``ActionUnableToRun``.
"""

from __future__ import annotations

import typing as t

ACTIVE = "ACTIVE"
INACTIVE = "INACTIVE"
SUCCEEDED = "SUCCEEDED"
FAILED = "FAILED"
TERMINAL = frozenset({SUCCEEDED, FAILED})


class ActionProvider(t.Protocol):
    def run(self, request: dict) -> dict:
        """Start an action. ``request`` is an ActionRequest: ``request_id``, ``body``,
        optional ``label``, ``monitor_by``, ``manage_by``, ``deadline``. The same
        ``request_id`` with the same body must return the existing action."""

    def status(self, action_id: str) -> dict:
        """The ActionStatus of a started action."""

    def cancel(self, action_id: str) -> dict:
        """Ask the provider to stop the action; returns its ActionStatus."""

    def release(self, action_id: str) -> dict:
        """Forget a finished action; returns its final ActionStatus."""
