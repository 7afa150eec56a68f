"""PassState: reshape or copy data, or end a flow successfully."""

from __future__ import annotations

import typing as t

from gladier.tools.state_models import (
    StateWithNextOrEnd,
    StateWithParametersOrInputPath,
    StateWithResultPath,
)


class PassState(StateWithNextOrEnd, StateWithParametersOrInputPath, StateWithResultPath):
    """Copy ``parameters``/``input_path`` (or a constant ``result``) to ``result_path``."""

    state_type: t.ClassVar[str] = "Pass"
    result: t.Optional[t.Any] = None

    def build_state_dict(self) -> dict:
        state = super().build_state_dict()
        if self.result is not None:
            state["Result"] = self.result
        return state
