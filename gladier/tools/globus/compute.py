"""Compute: run a Python function (or a registered function id) with Globus Compute."""

from __future__ import annotations

import os
import typing as t

from gladier.tools.builtins.action import ActionState

#: The provider Gladier 0.11's Compute state calls (function, endpoint and kwargs).
COMPUTE_ACTION_URL = "https://compute.actions.globus.org/fxap"
#: Compute v3: ``action_url=COMPUTE_V3_ACTION_URL`` makes the state send the v3 body.
COMPUTE_V3_ACTION_URL = "https://compute.actions.globus.org/v3"

ComputeFunctionType = t.Union[t.Callable[..., t.Any], str]


def registered_function_id(tool: t.Any, function: t.Callable) -> str:
    """``function``'s id, registered where a client without other settings would run it.

    With ``GLADIER_ENGINE=globus``, with Globus Compute, as Gladier 0.11 registers it (a
    default client's login and config file, which remember the id until the function
    changes); otherwise with the embedded engine, under the id its source gives it, which
    every local engine in this process then knows.
    """
    if os.environ.get("GLADIER_ENGINE") == "globus":
        from gladier.client import GladierBaseClient

        client = GladierBaseClient(engine="globus")
        assert client.compute_manager is not None  # the Globus engine's client has one
        return client.compute_manager.validate_function(tool, function)
    from gladier.engine.providers.functions import embed_function

    return embed_function(function)


class Compute(ActionState):
    """Call ``function_to_call`` on ``endpoint_id`` with ``function_parameters`` as kwargs.

    A Python function is registered by the client, which supplies its id in the flow input
    as ``<function name>_function_id``; a string is used as the function id (or as a
    ``$.`` path to one). Without ``function_parameters`` the function is called without
    arguments. As in Gladier 0.11, the state is named ``Compute`` unless ``state_name``
    says otherwise, and calls ``https://compute.actions.globus.org/fxap``. With
    ``action_url=COMPUTE_V3_ACTION_URL`` it sends Compute v3's body instead: ``endpoint_id``
    and one task of ``function_id`` and ``kwargs``.
    """

    action_url: t.Optional[str] = COMPUTE_ACTION_URL
    function_to_call: t.Optional[ComputeFunctionType] = None
    endpoint_id: str = "$.input.compute_endpoint"
    function_parameters: t.Optional[t.Union[t.Dict[str, t.Any], str]] = None
    _required_fields: t.ClassVar[t.Tuple[str, ...]] = ("action_url", "function_to_call")

    def function_reference(self) -> str:
        """The function id (a Python function is registered first, as in Gladier 0.11), or
        the ``$.`` path the id is read from."""
        if callable(self.function_to_call):
            return registered_function_id(self, self.function_to_call)
        return str(self.function_to_call)

    def get_parameters(self) -> t.Dict[str, t.Any]:
        if self.action_url == COMPUTE_V3_ACTION_URL:
            return {
                "endpoint_id": self.endpoint_id,
                "tasks": [{"function_id": self.function_reference(),
                           "kwargs": self.function_parameters}],
            }
        return {
            "endpoint": self.endpoint_id,
            "function": self.function_reference(),
            "kwargs": self.function_parameters,
        }

    def path_to_return_val(self) -> str:
        """Where the function's return value is found after this state ran."""
        return f"{self.result_path_for_step()}.details.results[0].output"
