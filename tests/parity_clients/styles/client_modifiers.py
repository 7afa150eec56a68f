"""@generate_flow_definition modifiers on tools and on clients."""

from gladier import GladierBaseClient, GladierBaseTool, generate_flow_definition

import parity_tools


def fetch_metadata(dataset, **data):
    """Read a dataset's metadata."""
    return {"dataset": dataset}


def reduce_frames(**data):
    return data


def publish_summary(summary, **data):
    return summary


@generate_flow_definition(modifiers={
    fetch_metadata: {"endpoint": "login_endpoint", "WaitTime": 60},
    reduce_frames: {"payload": fetch_metadata, "ExceptionOnActionFailure": True},
    "publish_summary": {"payload": "$.ReduceFrames.details.results[0]",
                        "endpoint": "$.input.login_endpoint"},
})
class Pipeline(GladierBaseTool):
    compute_functions = [fetch_metadata, reduce_frames, publish_summary]
    required_input = ["dataset", "compute_endpoint", "login_endpoint"]


@generate_flow_definition(modifiers={
    reduce_frames: {"payload": "fetch_metadata", "tasks": "$.input.reduce_tasks"},
})
class ModifiersByName(GladierBaseTool):
    compute_functions = [fetch_metadata, reduce_frames]


@generate_flow_definition(modifiers={
    fetch_metadata: {"InputPath": "$.input.metadata_request", "ResultPath": "$.Metadata",
                     "ActionScope": "https://auth.globus.org/scopes/abc/all",
                     "RunAs": "Processor"},
})
class PathModifiers(GladierBaseTool):
    compute_functions = [fetch_metadata]


@generate_flow_definition(modifiers={
    fetch_metadata: {"Catch": [{"ErrorEquals": ["States.ALL"], "Next": "ReduceFrames",
                                "ResultPath": "$.MetadataFailed"}],
                     "Parameters": {"tasks": [{"endpoint.$": "$.input.compute_endpoint",
                                               "function.$": "$.input.fetch_metadata_function_id",
                                               "payload": {"dataset": "fixed"}}]}},
})
class CatchAndParameters(GladierBaseTool):
    compute_functions = [fetch_metadata, reduce_frames]


@generate_flow_definition(modifiers={
    "tar_directory": {"payload": "$.input.tar_request", "WaitTime": 120},
    parity_tools.checksum_file: {"payload": "tar_directory"},
})
class ClientLevelModifiers(GladierBaseClient):
    gladier_tools = [parity_tools.Tar, parity_tools.Checksum]


@generate_flow_definition(modifiers={
    "list_run_directory": {"endpoint": "non_compute_endpoint"},
    "TransferOut": {"WaitTime": 3600},
})
class ModifierOnHandWrittenState(GladierBaseClient):
    gladier_tools = [parity_tools.ListRunDir, parity_tools.TransferOut]


@generate_flow_definition(modifiers={
    "tar_directory": {"WaitTime": 5},
})
class ModifierOnAliasedTools(GladierBaseClient):
    gladier_tools = ["parity_tools.Tar:One", "parity_tools.Tar:Two"]
