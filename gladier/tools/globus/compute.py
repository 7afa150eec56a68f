"""Compute: run a Python function (or a registered function id) with Globus Compute."""

from __future__ import annotations

import typing as t

from gladier.flowgen.naming import compute_state_name, function_id_key
from gladier.tools.builtins.action import ActionState

COMPUTE_ACTION_URL = "https://compute.actions.globus.org"

ComputeFunctionType = t.Union[t.Callable[..., t.Any], str]


class Compute(ActionState):
    """Call ``function_to_call`` on ``endpoint_id`` with ``function_parameters`` as kwargs.

    A Python function is registered by the client, which supplies its id in the flow input
    as ``<function name>_function_id``; a string is used as the function id (or as a
    ``$.`` path to one). Without ``function_parameters`` the function receives the whole
    flow input. The state is named after the function (``make_dirs`` -> ``MakeDirs``).
    """

    action_url: t.Optional[str] = COMPUTE_ACTION_URL
    wait_time: int = 300
    function_to_call: t.Optional[ComputeFunctionType] = None
    endpoint_id: str = "$.input.compute_endpoint"
    function_parameters: t.Optional[t.Union[t.Dict[str, t.Any], str]] = None
    _required_fields: t.ClassVar[t.Tuple[str, ...]] = ("action_url", "function_to_call")

    @property
    def valid_state_name(self) -> str:
        if self.state_name:
            return self.state_name
        if callable(self.function_to_call):
            return compute_state_name(self.function_to_call)
        return type(self).__name__

    def function_reference(self) -> str:
        """The function id, or the ``$.`` path the id is read from."""
        if callable(self.function_to_call):
            return f"$.input.{function_id_key(self.function_to_call)}"
        return str(self.function_to_call)

    def get_parameters(self) -> t.Dict[str, t.Any]:
        kwargs = "$.input" if self.function_parameters is None else self.function_parameters
        return {
            "endpoint": self.endpoint_id,
            "function": self.function_reference(),
            "kwargs": kwargs,
        }

    def path_to_return_val(self) -> str:
        """Where the function's return value is found after this state ran."""
        return f"{self.result_path_for_step()}.details.results[0].output"
