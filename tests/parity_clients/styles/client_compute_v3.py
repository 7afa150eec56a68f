"""Globus Compute v3: a tool's action_url selects the v3 action provider and its modifiers."""

from gladier import GladierBaseClient, GladierBaseTool, generate_flow_definition

COMPUTE_V3 = "https://compute.actions.globus.org/v3"


def corr_analysis(hdf_file, **data):
    """Run the correlation analysis on one HDF file."""
    return hdf_file


def make_plots(hdf_file, **data):
    return [hdf_file]


def gather_metadata(**data):
    return {}


@generate_flow_definition
class CorrV3(GladierBaseTool):
    """A v3 compute tool."""

    action_url = COMPUTE_V3
    compute_functions = [corr_analysis, make_plots]
    required_input = ["hdf_file", "compute_endpoint"]


@generate_flow_definition(modifiers={
    corr_analysis: {
        "user_endpoint_config": {"worker_init": "source ~/.venv/bin/activate",
                                 "account": "APS"},
        "resource_specification": {"num_nodes": 2, "ranks_per_node": 4},
        "WaitTime": 7200,
    },
    make_plots: {
        "endpoint_id": "plot_endpoint",
        "user_endpoint_config": "$.input.plot_endpoint_config",
        "tasks": "$.input.plot_tasks",
    },
})
class CorrV3Modified(GladierBaseTool):
    action_url = COMPUTE_V3
    compute_functions = [corr_analysis, make_plots]
    required_input = ["hdf_file", "compute_endpoint"]


@generate_flow_definition(modifiers={
    gather_metadata: {"task_group_id": "$.input.task_group", "create_queue": True,
                      "resource_specification": "resources"},
})
class MetadataV3(GladierBaseTool):
    action_url = COMPUTE_V3
    compute_functions = [gather_metadata]


@generate_flow_definition(modifiers={
    corr_analysis: {"user_endpoint_config": {"partition": "gpu"}, "endpoint_id": "gpu_endpoint"},
    gather_metadata: {"ExceptionOnActionFailure": False},
})
class XPCSStyleClient(GladierBaseClient):
    """Analyse with v3, then gather metadata."""

    gladier_tools = [CorrV3, MetadataV3]


@generate_flow_definition
class MixedV2V3Client(GladierBaseClient):
    gladier_tools = ["parity_tools.Tar", CorrV3, "client_compute_v3.MetadataV3:Extra"]
