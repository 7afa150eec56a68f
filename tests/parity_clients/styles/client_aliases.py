"""Aliased copies of tools: "module.Tool:Alias"."""

from gladier import GladierBaseClient, GladierBaseTool, generate_flow_definition


@generate_flow_definition
class TwoTarsClient(GladierBaseClient):
    """Tar the raw data and the processed data."""

    gladier_tools = ["parity_tools.Tar:Raw", "parity_tools.Tar:Processed"]


@generate_flow_definition
class AliasedAndPlainClient(GladierBaseClient):
    gladier_tools = [
        "parity_tools.ListRunDir",
        "parity_tools.Checksum:Archive",
        "parity_tools.TransferOut:ToArchive",
        "parity_tools.TransferOut:ToScratch",
    ]


@generate_flow_definition
class CamelAliasClient(GladierBaseClient):
    gladier_tools = ["parity_tools.Tar:BigDataSet", "parity_tools.Checksum:HTTPMirror"]


class GuardedFetch(GladierBaseTool):
    """A hand-written Action with a Catch, aliased below (0.11 cannot alias it)."""

    flow_definition = {
        "StartAt": "Fetch",
        "States": {
            "Fetch": {
                "Type": "Action",
                "ActionUrl": "https://actions.globus.org/hello_world",
                "Parameters": {"echo_string.$": "$.input.fetch_message"},
                "ResultPath": "$.Fetch",
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "FetchFailed",
                           "ResultPath": "$.FetchError"}],
                "Next": "Fetched",
            },
            "FetchFailed": {"Type": "Fail", "Error": "FetchFailed"},
            "Fetched": {"Type": "Pass", "End": True},
        },
    }
    required_input = ["fetch_message"]


@generate_flow_definition
class AliasedCatchClient(GladierBaseClient):
    gladier_tools = ["client_aliases.GuardedFetch:Mirror"]
