"""What goes wrong, and the errors Gladier raises for it."""

from gladier import GladierBaseClient, GladierBaseTool, generate_flow_definition

import parity_tools


def step_one(**data):
    return 1


def step_two(**data):
    return 2


def _tool(modifiers, functions=(step_one, step_two), **attributes):
    cls = type("Broken", (GladierBaseTool,), {"compute_functions": list(functions),
                                              **attributes})
    return generate_flow_definition(modifiers=modifiers)(cls)().get_flow_definition()


def _client(tools, modifiers=None, **attributes):
    cls = type("BrokenClient", (GladierBaseClient,), {"gladier_tools": tools, **attributes})
    if modifiers is not None:
        cls = generate_flow_definition(modifiers=modifiers)(cls)
    return cls().get_flow_definition()


def _v2_modifier_on_v3():
    return _tool({step_one: {"payload": "$.input"}},
                 action_url="https://compute.actions.globus.org/v3")


def _missing_input():
    @generate_flow_definition
    class NeedsInput(GladierBaseClient):
        gladier_tools = [parity_tools.Checksum]

    return NeedsInput().run_flow(flow_input={"input": {"compute_endpoint": "x"}})


def _malformed_input():
    @generate_flow_definition
    class Malformed(GladierBaseClient):
        gladier_tools = [parity_tools.Tar]

    return Malformed().run_flow(flow_input={"tar_input": "/data"})


OBSERVE = {
    "unknown modifier": lambda: _tool({step_one: {"Payload": "$.input"}}),
    "v3 modifier on a v2 tool": lambda: _tool({step_one: {"user_endpoint_config": {}}}),
    "v2 modifier on a v3 tool": _v2_modifier_on_v3,
    "modifier for a missing function is ignored": lambda: _tool({"not_a_function": {"WaitTime": 1}}),
    "no compute functions": lambda: _tool({}, functions=()),
    "duplicate function names": lambda: _tool({}, functions=(step_one, step_one)),
    "same tool twice without alias": lambda: _client([parity_tools.Tar, parity_tools.Tar], {}),
    "no tools and no flow": lambda: _client([]),
    "tool import string missing": lambda: _client(["parity_tools.NoSuchTool"], {}),
    "tool module missing": lambda: _client(["no_such_module.Tool"], {}),
    "tool without flow definition": lambda: _client(
        ["client_explicit.NoDefinitionTool"], {}),
    "branching tool without transition states": lambda: _client(
        ["client_errors.TwoEnds", parity_tools.Tar], {}),
    "missing required input": _missing_input,
    "input not under 'input'": _malformed_input,
}


class TwoEnds(GladierBaseTool):
    flow_definition = {
        "StartAt": "Pick",
        "States": {
            "Pick": {"Type": "Choice", "Choices": [
                {"Variable": "$.input.go", "BooleanEquals": True, "Next": "Yes"}],
                "Default": "No"},
            "Yes": {"Type": "Pass", "End": True},
            "No": {"Type": "Pass", "End": True},
        },
    }


NOT_OBSERVED = ("TwoEnds",)
