"""Chaining tools: several tools' flows joined, in order, into one flow definition.

Each tool's transition states (its ``End`` states, or its ``flow_transition_states``) are
pointed at the next tool's ``StartAt``; the last tool's states keep their ``End``.
"""

from __future__ import annotations

import typing as t

from gladier.exc import FlowGenException, StateNameConflict
from gladier.flowgen.compute_flow import flow_comment


def _drop_null_fields(state: t.Any) -> t.Any:
    """A state without fields set to ``None`` (some tools write ``"InputPath": None`` to
    mean "no InputPath"; the service rejects the ``null``)."""
    if not isinstance(state, dict):
        return state
    return {key: value for key, value in state.items() if value is not None}


def chain_tools(tools: t.Sequence[t.Any], *, comment: str | None = None) -> dict:
    """One flow definition running ``tools`` (GladierBaseTool instances) in order."""
    if not tools:
        raise FlowGenException("Cannot build a flow from an empty list of tools")
    states: dict = {}
    flows = []
    for tool in tools:
        flow = tool.get_flow_definition()
        if not isinstance(flow, dict) or not flow.get("States") or "StartAt" not in flow:
            raise FlowGenException(
                f"Tool {tool!r} returned no flow definition with StartAt and States"
            )
        clashes = sorted(set(flow["States"]) & set(states))
        if clashes:
            raise StateNameConflict(
                f"Tool {tool!r} defines states {clashes} that an earlier tool already "
                "defines. List it with an alias (\"pkg.mod.Tool:Alias\") to rename them."
            )
        states.update({name: _drop_null_fields(state) for name, state in flow["States"].items()})
        flows.append((tool, flow))
    for (tool, flow), (next_tool, next_flow) in zip(flows, flows[1:]):
        transitions = tool.get_flow_transition_states()
        if not transitions:
            raise FlowGenException(
                f"Tool {tool!r} has no state that hands over to the next tool {next_tool!r}: "
                "give it a state with \"End\": true or set flow_transition_states"
            )
        for name in transitions:
            if name not in flow["States"]:
                raise FlowGenException(
                    f"Tool {tool!r} names transition state {name!r}, which is not one of "
                    f"its states {sorted(flow['States'])}"
                )
            states[name].pop("End", None)
            states[name]["Next"] = next_flow["StartAt"]
    return {
        "Comment": comment if comment and comment.strip() else flow_comment(states),
        "StartAt": flows[0][1]["StartAt"],
        "States": states,
    }
