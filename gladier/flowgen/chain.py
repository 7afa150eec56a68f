"""Chaining tools: several tools' flows joined, in order, into one flow definition.

As in Gladier 0.11, each tool hands over to the next from its transition states: its
``flow_transition_states`` when it sets them, otherwise its one end state (a state reachable
from ``StartAt`` with no ``Next`` or ``Default``). A tool with several end states and no
``flow_transition_states`` cannot be chained, even as the last tool. Unlike 0.11, ``Fail``
and ``Choice`` states are not end states that hand over (0.11 counts them, and would give a
Fail state a ``Next``). State fields are kept
as the tools give them (``"Comment": null`` included).
"""

from __future__ import annotations

import copy
import typing as t

from gladier.exc import FlowGenException, StateNameConflict
from gladier.flowgen.compute_flow import flow_comment

_TRANSITION_KEYS = ("Next", "Default")
_NO_HAND_OVER = frozenset({"Fail", "Choice"})


def reachable_states(flow_definition: dict) -> list[str]:
    """States reachable from ``StartAt`` through ``Next``, ``Default`` and Choice options,
    depth first (Gladier 0.11's traversal; ``Catch`` handlers are not followed)."""
    states = flow_definition.get("States") or {}
    seen: list[str] = []
    pending = [flow_definition.get("StartAt")]
    while pending:
        name = pending.pop()
        if name is None or name in seen:
            continue
        if name not in states:
            raise FlowGenException(
                f"State {name!r} is named as a next state but is not in the definition "
                f"(states: {sorted(states)})")
        seen.append(name)
        state = states[name]
        following = [state.get(key) for key in _TRANSITION_KEYS if key in state]
        if state.get("Type") == "Choice":
            following += [choice.get("Next") for choice in state.get("Choices") or []
                          if isinstance(choice, dict)]
        pending.extend(reversed([n for n in following if isinstance(n, str)]))
    return seen


def end_states(flow_definition: dict) -> list[str]:
    """The reachable states that end the flow and could go on (no ``Next`` or ``Default``;
    not a Fail or Choice state)."""
    states = flow_definition["States"]
    return [name for name in reachable_states(flow_definition)
            if not any(key in states[name] for key in _TRANSITION_KEYS)
            and states[name].get("Type") not in _NO_HAND_OVER]


def _check_tools(tools: t.Sequence[t.Any]) -> list[dict]:
    flows = []
    seen: set[str] = set()
    for tool in tools:
        flow = tool.get_flow_definition()
        if not isinstance(flow, dict) or not isinstance(flow.get("States"), dict) \
                or "StartAt" not in flow:
            raise FlowGenException(
                f"Tool {tool!r} has no flow definition with StartAt and States: set its "
                "flow_definition, or decorate it with @generate_flow_definition and list "
                "its compute_functions"
            )
        clashes = sorted(set(flow["States"]) & seen)
        if clashes:
            raise StateNameConflict(
                f"Tool {tool!r} defines states {clashes} that an earlier tool already "
                "defines. List it with an alias (\"pkg.mod.Tool:Alias\") to rename them."
            )
        seen |= set(flow["States"])
        flows.append(flow)
    return flows


def _transition_states(tool: t.Any, flow: dict) -> list[str]:
    ends = end_states(flow)
    declared = getattr(tool, "flow_transition_states", None)
    given = list(tool.get_flow_transition_states() or []) if declared else []
    if len(ends) > 1 and not given:
        raise FlowGenException(
            f"Tool {tool!r} has several end states {sorted(ends)}: set "
            "flow_transition_states to the ones the flow continues from"
        )
    if not ends:
        raise FlowGenException(f"Tool {tool!r}: its flow has no end state")
    for name in given:
        if name not in flow["States"]:
            raise FlowGenException(
                f"Tool {tool!r} names transition state {name!r}, which is not one of "
                f"its states {sorted(flow['States'])}"
            )
    return given or ends


def chain_tools(tools: t.Sequence[t.Any], *, comment: str | None = None) -> dict:
    """One flow definition running ``tools`` (GladierBaseTool instances) in order.

    ``comment`` (a client's docstring, as written) becomes the flow's Comment; without one
    the Comment lists the states.
    """
    if not tools:
        raise FlowGenException("Cannot build a flow from an empty list of tools")
    flows = _check_tools(tools)
    states: dict = {}
    handing_over: list[str] = []
    for tool, flow in zip(tools, flows):
        states.update(copy.deepcopy(flow["States"]))
        for name in handing_over:
            states[name].pop("End", None)
            states[name]["Next"] = flow["StartAt"]
        handing_over = _transition_states(tool, flow)
    return {
        "States": states,
        "Comment": comment or flow_comment(states),
        "StartAt": flows[0]["StartAt"],
    }
