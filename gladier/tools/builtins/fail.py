"""FailState: end the run as FAILED with an error name and cause."""

from __future__ import annotations

import typing as t

from gladier.tools.state_models import BaseState


class FailState(BaseState):
    """Stop the flow, marking the run FAILED with ``error`` and ``cause``."""

    state_type: t.ClassVar[str] = "Fail"
    cause: t.Optional[str] = None
    error: t.Optional[str] = None

    def build_state_dict(self) -> dict:
        state = super().build_state_dict()
        if self.cause is not None:
            state["Cause"] = self.cause
        if self.error is not None:
            state["Error"] = self.error
        return state
