"""A client's flow: its tools chained, described by its docstring, with its modifiers."""

from __future__ import annotations

import typing as t

from gladier.exc import FlowModifierException
from gladier.flowgen.chain import chain_tools
from gladier.flowgen.compute_flow import check_structure, clean_docstring
from gladier.flowgen.functions import get_compute_functions
from gladier.flowgen.loading import load_tools
from gladier.flowgen.modifiers import FlowModifiers
from gladier.flowgen.naming import compute_state_name


def client_flow_definition(
    tools: t.Sequence[t.Any],
    *,
    modifiers: dict | None = None,
    comment: str | None = None,
    owner: str = "client",
) -> dict:
    """Chain ``tools`` (GladierBaseTool instances) and apply client-level ``modifiers``.

    A modifier keyed by a compute function applies to every state generated from it, in
    every aliased copy of its tool.
    """
    flow = chain_tools(tools, comment=clean_docstring(comment) if comment else None)
    if modifiers:
        by_function: dict[str, list[str]] = {}
        for tool in tools:
            for function in get_compute_functions(tool):
                state_name = tool.rename_state(compute_state_name(function), {})[0]
                if state_name in flow["States"]:
                    by_function.setdefault(function.__name__, []).append(state_name)
        flow = FlowModifiers(modifiers, owner=owner, states_by_function=by_function).apply(flow)
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
