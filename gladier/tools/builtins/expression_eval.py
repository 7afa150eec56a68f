"""ExpressionEvalState: compute values with expressions (``"key.=": "x + 5"``)."""

from __future__ import annotations

import typing as t

from gladier.exc import FlowGenException
from gladier.tools.state_models import (
    StateWithNextOrEnd,
    StateWithParametersOrInputPath,
    StateWithResultPath,
)


class ExpressionEvalState(StateWithParametersOrInputPath, StateWithResultPath, StateWithNextOrEnd):
    """Evaluate ``parameters`` (values starting with ``=`` are expressions) into ``result_path``."""

    state_type: t.ClassVar[str] = "ExpressionEval"

    def build_state_dict(self) -> dict:
        if self.input_path is not None:
            raise FlowGenException(
                f"ExpressionEval state {self.valid_state_name!r} takes parameters, not input_path"
            )
        if self.parameters is None:
            raise FlowGenException(
                f"ExpressionEval state {self.valid_state_name!r} needs parameters"
            )
        return super().build_state_dict()
