"""Gladier 0.11's compute flow builders (their module path), built on :mod:`gladier.flowgen`:
the flow generated for a tool's compute functions (Compute v2 or v3), and modifiers applied
to a flow."""

from __future__ import annotations

import typing as t

from gladier.exc import FlowGenException
from gladier.flowgen.compute_flow import compute_flow_definition, tool_functions
from gladier.flowgen.modifiers import ToolModifiers, check_modifiers_mapping
from gladier.flowgen.naming import upper_camel_case


class ComputeFlowBuilderv2:
    """Builds the Compute v2 flow of ``tool``, a GladierBaseTool."""

    version = 2

    def __init__(self, tool: t.Any) -> None:
        self.tool = tool

    @property
    def owner(self) -> str:
        return f"Tool {type(self.tool).__qualname__}"

    def get_flow_definition(self) -> dict:
        """One compute state per function of the tool, in order."""
        functions = tool_functions(self.tool)
        if not functions:
            raise FlowGenException(f"{self.owner} has no compute functions")
        return compute_flow_definition(functions, self.version)

    def get_flow_state_names(self) -> list[str]:
        return list(self.get_flow_definition()["States"])

    def get_state_name_from_modifier_name(self, modifier_name: t.Any) -> str:
        """The state a modifier key (a function or its name) applies to."""
        name = modifier_name if isinstance(modifier_name, str) else modifier_name.__name__
        return upper_camel_case(name)

    def apply_modifiers(self, modifiers: t.Any, flow: dict, matching_only: bool = False
                        ) -> dict:
        """Apply ``modifiers`` to ``flow`` in place and return it.

        A key naming no function of this tool is an error, unless ``matching_only`` (then it
        is left for another tool of the same client), as in 0.11.

        :raises FlowGenException: modifiers is not a dict, or names an unknown function or
            modifier (FlowModifierException).
        """
        check_modifiers_mapping(modifiers, self.owner)
        names = [name for name in self.get_flow_state_names() if name in flow["States"]]
        applied = ToolModifiers(modifiers, functions=tool_functions(self.tool),
                                states_of={name: [name] for name in names},
                                version=self.version, owner=self.owner)
        unmatched = [key for key in modifiers if applied.target(key) is None]
        if unmatched and not matching_only:
            raise FlowGenException(f"{self.owner}: invalid modifiers {unmatched}")
        return applied.apply(flow)


class ComputeFlowBuilderv3(ComputeFlowBuilderv2):
    """Builds the Compute v3 flow of ``tool`` (``action_url`` ending in ``/v3``)."""

    version = 3


__all__ = ["ComputeFlowBuilderv2", "ComputeFlowBuilderv3"]
