"""Gladier 0.11's compute flow builder (its module path), built on :mod:`gladier.flowgen`:
the flow generated for a tool's compute functions, and modifiers applied to a flow."""

from __future__ import annotations

import typing as t

from gladier.exc import FlowGenException
from gladier.flowgen.compute_flow import compute_flow_definition
from gladier.flowgen.functions import get_compute_functions
from gladier.flowgen.modifiers import FlowModifiers
from gladier.flowgen.naming import compute_state_name, upper_camel_case


class ComputeFlowBuilderv2:
    """Builds the Compute (v2 action provider) flow of ``tool``, a GladierBaseTool."""

    def __init__(self, tool: t.Any) -> None:
        self.tool = tool

    @property
    def owner(self) -> str:
        return f"Tool {type(self.tool).__qualname__}"

    def get_flow_definition(self) -> dict:
        """One compute state per function of the tool, in order."""
        functions = get_compute_functions(self.tool)
        if not functions:
            raise FlowGenException(f"{self.owner} has no compute functions")
        return compute_flow_definition(functions)

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
        is left for another tool of the same client).

        :raises FlowGenException: modifiers is not a dict, or names an unknown function or
            modifier (FlowModifierException).
        """
        if not isinstance(modifiers, dict):
            raise FlowGenException(
                f"{self.owner}: modifiers must be a dict keyed by compute function, got "
                f"{type(modifiers).__name__}"
            )
        by_function = {f.__name__: [compute_state_name(f)]
                       for f in get_compute_functions(self.tool)}
        if matching_only:
            modifiers = {key: mods for key, mods in modifiers.items()
                         if self.get_state_name_from_modifier_name(key)
                         in {s for states in by_function.values() for s in states}}
        applied = FlowModifiers(modifiers, owner=self.owner,
                                states_by_function=by_function).apply(flow)
        flow["States"].update(applied["States"])
        return flow


__all__ = ["ComputeFlowBuilderv2"]
