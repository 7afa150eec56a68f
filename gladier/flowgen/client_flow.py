"""A client's flow: its tools chained, described by its docstring, with its modifiers."""

from __future__ import annotations

import typing as t

from gladier.exc import FlowModifierException
from gladier.flowgen.chain import chain_tools
from gladier.flowgen.compute_flow import check_structure, legacy_function_names, tool_functions
from gladier.flowgen.loading import load_tools
from gladier.flowgen.modifiers import (
    ToolModifiers,
    check_modifiers_mapping,
    compute_version,
    warn_unmatched,
)
from gladier.flowgen.naming import compute_state_name


def _tool_modifiers(tool: t.Any, modifiers: dict, flow: dict, owner: str) -> ToolModifiers | None:
    """The modifiers as they apply to one tool's compute states in the chained ``flow``."""
    functions = tool_functions(tool)
    if not functions:
        return None
    states_of: dict[str, list[str]] = {}
    for function in functions:
        generated = compute_state_name(function)
        in_flow = tool.rename_state(generated, {})[0]
        if in_flow in flow["States"]:
            states_of[generated] = [in_flow]
    return ToolModifiers(modifiers, functions=functions, states_of=states_of,
                         version=compute_version(tool), owner=owner,
                         legacy_names=legacy_function_names(tool))


def client_flow_definition(
    tools: t.Sequence[t.Any],
    *,
    modifiers: dict | None = None,
    comment: str | None = None,
    owner: str = "client",
) -> dict:
    """Chain ``tools`` (GladierBaseTool instances) and apply client-level ``modifiers``.

    As in Gladier 0.11, each tool with compute functions applies the modifiers that name
    one of its functions; a value naming a function refers to a function of the same tool,
    a value naming a state to any state of the flow. Here a modifier also reaches every
    aliased copy of its tool (0.11 fails with a KeyError).
    """
    flow = chain_tools(tools, comment=comment)
    if modifiers:
        check_modifiers_mapping(modifiers, owner)
        matched: list = []
        for tool in tools:
            tool_modifiers = _tool_modifiers(tool, modifiers, flow, owner)
            if tool_modifiers is not None:
                tool_modifiers.apply(flow)
                matched += tool_modifiers.matched_keys()
        warn_unmatched(modifiers, matched, owner)
    return check_structure(flow, owner)


class GeneratedClientFlow:
    """The ``flow_definition`` of a client decorated with ``@generate_flow_definition``.

    Generated on access from the client's tools (its ``tools`` property when it has one,
    otherwise its ``gladier_tools``), so that import strings are only resolved when the flow
    is needed, and a tool that fails to load is reported then.
    """

    def __init__(self, modifiers: dict | None = None):
        if modifiers is not None and not isinstance(modifiers, dict):
            raise FlowModifierException(
                f"modifiers must be a dict of {{function: {{modifier: value}}}}, "
                f"got {type(modifiers).__name__}"
            )
        self.modifiers = modifiers or {}

    def build(self, owner_cls: type, instance: t.Any = None) -> dict:
        """The flow definition for ``owner_cls`` (using ``instance.tools`` if available)."""
        if instance is not None and hasattr(type(instance), "tools"):
            tools = instance.tools
        else:
            alias_class = getattr(owner_cls, "alias_class", None)
            tools = load_tools(getattr(owner_cls, "gladier_tools", None) or [], alias_class)
        return client_flow_definition(
            tools,
            modifiers=self.modifiers,
            comment=owner_cls.__doc__,
            owner=f"Client {owner_cls.__qualname__}",
        )

    def __get__(self, instance: t.Any, owner: type) -> dict:
        return self.build(owner, instance)
