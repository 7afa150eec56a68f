"""Generating a tool's flow from its compute functions.

One Action state per function, in order, calling the Globus Compute action provider with
the whole flow input as the function's keyword arguments.
"""

from __future__ import annotations

import collections
import typing as t

from gladier.exc import FlowGenException
from gladier.flowgen.functions import get_compute_functions
from gladier.flowgen.modifiers import FlowModifiers
from gladier.flowgen.naming import compute_state_name, function_id_key
from gladier.flowgen.structure import structural_problems

COMPUTE_ACTION_URL = "https://compute.actions.globus.org"
COMPUTE_WAIT_TIME = 300


def clean_docstring(text: str) -> str:
    """A docstring without its indentation, as used for flow and state Comments."""
    import inspect  # imported only when needed: it is slow to import

    return inspect.cleandoc(text)


def compute_state(function: t.Callable) -> dict:
    """The Action state that runs ``function`` (its docstring, if any, as the Comment)."""
    state: dict = {}
    if function.__doc__ and function.__doc__.strip():
        state["Comment"] = clean_docstring(function.__doc__)
    state.update(
        {
            "Type": "Action",
            "ActionUrl": COMPUTE_ACTION_URL,
            "ExceptionOnActionFailure": False,
            "Parameters": {
                "tasks": [
                    {
                        "endpoint.$": "$.input.compute_endpoint",
                        "function.$": f"$.input.{function_id_key(function)}",
                        "payload.$": "$.input",
                    }
                ]
            },
            "ResultPath": f"$.{compute_state_name(function)}",
            "WaitTime": COMPUTE_WAIT_TIME,
        }
    )
    return state


def flow_comment(states: t.Iterable[str]) -> str:
    """The Comment of a flow nobody described: the names of its states."""
    return f"Flow with states: {', '.join(states)}"


def compute_flow_definition(functions: t.Sequence[t.Callable]) -> dict:
    """A linear flow running ``functions`` in order."""
    names = [compute_state_name(function) for function in functions]
    states = {name: compute_state(function) for name, function in zip(names, functions)}
    for name, following in zip(names, names[1:]):
        states[name]["Next"] = following
    states[names[-1]]["End"] = True
    return {"Comment": flow_comment(names), "StartAt": names[0], "States": states}


def check_structure(flow_definition: dict, owner: str) -> dict:
    """Return ``flow_definition``, or raise :class:`FlowGenException` listing its problems."""
    problems = structural_problems(flow_definition)
    if problems:
        raise FlowGenException(f"{owner}: invalid generated flow: {'; '.join(problems)}")
    return flow_definition


def generate_tool_flow(tool: t.Any, modifiers: dict | None = None) -> dict:
    """The flow definition of a tool class built from its compute functions and modifiers."""
    owner = f"Tool {getattr(tool, '__qualname__', type(tool).__qualname__)}"
    functions = get_compute_functions(tool)
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
    flow = compute_flow_definition(functions)
    if modifiers:
        by_function = {f.__name__: [compute_state_name(f)] for f in functions}
        flow = FlowModifiers(modifiers, owner=owner, states_by_function=by_function).apply(flow)
    return check_structure(flow, owner)
