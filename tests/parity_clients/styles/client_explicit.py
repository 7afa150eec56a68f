"""Clients with an explicit flow_definition: a dict, or an import string naming a tool."""

from gladier import GladierBaseClient, GladierBaseTool

from parity_tools import Tar


HELLO_FLOW = {
    "Comment": "Say hello through the hello world action provider",
    "StartAt": "Hello",
    "States": {
        "Hello": {
            "Type": "Action",
            "ActionUrl": "https://actions.globus.org/hello_world",
            "Parameters": {"echo_string.$": "$.input.echo_string"},
            "ResultPath": "$.Hello",
            "End": True,
        }
    },
}


class DictFlowClient(GladierBaseClient):
    flow_definition = HELLO_FLOW
    flow_schema = {
        "type": "object",
        "properties": {"input": {"type": "object", "required": ["echo_string"]}},
    }


class ImportStringFlowClient(GladierBaseClient):
    gladier_tools = ["parity_tools.TransferOut"]
    flow_definition = "parity_tools.TransferOut"


class ToolsAndDictClient(GladierBaseClient):
    """Tools give the input; the flow is written by hand."""

    gladier_tools = [Tar]
    flow_definition = HELLO_FLOW


class Branching(GladierBaseTool):
    flow_definition = {
        "StartAt": "IsBig",
        "States": {
            "IsBig": {
                "Type": "Choice",
                "Choices": [
                    {"Variable": "$.input.size", "NumericGreaterThan": 100, "Next": "Big"}
                ],
                "Default": "Small",
            },
            "Big": {"Type": "Pass", "End": True},
            "Small": {"Type": "Pass", "End": True},
        },
    }
    flow_transition_states = ["Big", "Small"]
    required_input = ["size"]


class NoDefinitionTool(GladierBaseTool):
    flow_input = {"level": 3}
