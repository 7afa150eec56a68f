"""Generating a tool's flow from its compute functions.

One Action state per function, in order, calling the Globus Compute action provider with
the whole flow input as the function's keyword arguments, exactly as Gladier 0.11 generates
it: Compute v2 by default, Compute v3 when the tool's ``action_url`` is
``https://compute.actions.globus.org/v3``. A state's ``Comment`` is its function's docstring
as written (``null`` for a function without one, as 0.11 emits).
"""

from __future__ import annotations

import collections
import typing as t

from gladier.exc import FlowGenException
from gladier.flowgen.modifiers import (
    COMPUTE_V2_URL,
    COMPUTE_V3_URL,
    ToolModifiers,
    compute_version,
    warn_unmatched,
)
from gladier.flowgen.naming import compute_state_name, function_id_key
from gladier.flowgen.structure import structural_problems

COMPUTE_ACTION_URL = COMPUTE_V2_URL
COMPUTE_WAIT_TIME = 300


def compute_state(function: t.Callable, version: int = 2) -> dict:
    """The Action state that runs ``function`` on Compute v2 (default) or v3."""
    function_input = f"$.input.{function_id_key(function)}"
    if version == 3:
        action_url, exception_on_failure = COMPUTE_V3_URL, True
        parameters: dict = {
            "endpoint_id.$": "$.input.compute_endpoint",
            "tasks": [{"function_id.$": function_input, "kwargs.$": "$.input"}],
        }
    else:
        action_url, exception_on_failure = COMPUTE_V2_URL, False
        parameters = {"tasks": [{
            "endpoint.$": "$.input.compute_endpoint",
            "function.$": function_input,
            "payload.$": "$.input",
        }]}
    return {
        "Comment": function.__doc__,
        "Type": "Action",
        "ActionUrl": action_url,
        "ExceptionOnActionFailure": exception_on_failure,
        "Parameters": parameters,
        "ResultPath": f"$.{compute_state_name(function)}",
        "WaitTime": COMPUTE_WAIT_TIME,
    }


def flow_comment(states: t.Iterable[str]) -> str:
    """The Comment of a flow nobody described: the names of its states."""
    return f"Flow with states: {', '.join(states)}"


def compute_flow_definition(functions: t.Sequence[t.Callable], version: int = 2) -> dict:
    """A linear flow running ``functions`` in order."""
    names = [compute_state_name(function) for function in functions]
    states = {name: compute_state(function, version) for name, function in zip(names, functions)}
    for name, following in zip(names, names[1:]):
        states[name]["Next"] = following
    states[names[-1]]["End"] = True
    return {"StartAt": names[0], "States": states, "Comment": flow_comment(names)}


def legacy_function_names(tool: t.Any) -> list[str]:
    """Names of a tool's legacy ``funcx_functions``."""
    return [f.__name__ for f in getattr(tool, "funcx_functions", None) or []]


def tool_functions(tool: t.Any) -> list[t.Callable]:
    """The functions a tool's flow is generated from: ``compute_functions``, or the legacy
    ``funcx_functions`` of a tool that has only those (as 0.11 reads them)."""
    return list(getattr(tool, "compute_functions", None)
                or getattr(tool, "funcx_functions", None) or [])


def check_structure(flow_definition: dict, owner: str) -> dict:
    """Return ``flow_definition``, or raise :class:`FlowGenException` listing its problems."""
    problems = structural_problems(flow_definition)
    if problems:
        raise FlowGenException(f"{owner}: invalid generated flow: {'; '.join(problems)}")
    return flow_definition


def generate_tool_flow(tool: t.Any, modifiers: dict | None = None) -> dict:
    """The flow definition of a tool class built from its compute functions and modifiers."""
    owner = f"Tool {getattr(tool, '__qualname__', type(tool).__qualname__)}"
    functions = tool_functions(tool)
    if not functions:
        raise FlowGenException(
            f"{owner} has no compute functions to generate a flow from. List them as "
            "compute_functions = [my_function], or set flow_definition instead."
        )
    counts = collections.Counter(compute_state_name(function) for function in functions)
    duplicates = sorted(name for name, count in counts.items() if count > 1)
    if duplicates:
        raise FlowGenException(
            f"{owner} has several compute functions with the same state name: {duplicates}"
        )
    version = compute_version(tool)
    flow = compute_flow_definition(functions, version)
    if modifiers:
        tool_modifiers = ToolModifiers(
            modifiers, functions=functions, version=version, owner=owner,
            states_of={name: [name] for name in flow["States"]},
            legacy_names=legacy_function_names(tool),
        )
        tool_modifiers.apply(flow)
        warn_unmatched(modifiers, tool_modifiers.matched_keys(), owner)
    return check_structure(flow, owner)
