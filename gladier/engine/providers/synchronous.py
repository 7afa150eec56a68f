"""The provider protocol for actions that are final when ``run`` returns.

A Python callable, expression evaluation and the local Search index finish each action
inside ``run``; after that the action only has to be looked up, so ``status``, ``cancel``
and ``release`` are the same for all of them.
"""

from __future__ import annotations

import typing as t

from gladier.engine.providers.actions import ActionTable


class SynchronousProvider:
    """Base of providers whose ``run`` records the final status in ``self._actions``."""

    _actions: ActionTable

    def status(self, action_id: str) -> dict:
        return self._actions.get(action_id)

    def cancel(self, action_id: str) -> dict:
        """An action that is already final cannot be stopped: its status is unchanged."""
        return self._actions.get(action_id)

    def release(self, action_id: str) -> dict:
        return self._actions.release(action_id)

    def add_done_callback(self, action_id: str, callback: t.Callable[[dict], None]) -> None:
        self._actions.add_done_callback(action_id, callback)
