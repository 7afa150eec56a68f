"""StateTool: a state object placed in a client's ``gladier_tools``.

The wrapper gives the state graph the tool interface (flow definition, compute functions,
required input), so it chains with ordinary tools.
"""

from __future__ import annotations

import re
import typing as t

from gladier.flowgen.naming import function_id_key
from gladier.tools.base import GladierBaseTool

_INPUT_KEY = re.compile(r"^\$\.input\.([A-Za-z_][A-Za-z0-9_]*)")


def _input_keys(value: t.Any) -> t.List[str]:
    if isinstance(value, dict):
        return [key for item in value.values() for key in _input_keys(item)]
    if isinstance(value, list):
        return [key for item in value for key in _input_keys(item)]
    match = _INPUT_KEY.match(value) if isinstance(value, str) else None
    return [match.group(1)] if match else []


class StateTool(GladierBaseTool):
    """The tool view of a state graph starting at ``state``."""

    def __init__(self, state: t.Any, *, alias: str | None = None, alias_class: type | None = None):
        super().__init__(alias=alias, alias_class=alias_class)
        self.state = state
        self.flow_definition = state.get_flow_definition()  # type: ignore[misc]
        self.compute_functions = state.get_compute_functions()  # type: ignore[misc]
        function_ids = {function_id_key(f) for f in self.compute_functions}
        keys = _input_keys(self.flow_definition["States"])
        self.required_input = [  # type: ignore[misc]
            key for key in dict.fromkeys(keys) if key not in function_ids
        ]

    @property
    def tool_name(self) -> str:
        return f"state {self.state.valid_state_name}"

    def __repr__(self) -> str:
        return f"<StateTool {self.state!r}>"
