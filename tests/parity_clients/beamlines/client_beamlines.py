"""Clients in the styles of public beamline clients, rewritten for the parity suite."""

import os

from gladier import GladierBaseClient, GladierBaseTool, generate_flow_definition

import beamline_tools


@generate_flow_definition(modifiers={
    "correlate_frames": {
        "user_endpoint_config": {
            "queue.$": "$.input.compute_queue",
            "walltime.$": "$.input.compute_walltime",
            "nodes_per_block": 1,
        },
    },
})
class CorrelationPipeline(GladierBaseClient):
    """Move the raw data in, correlate it on Compute v3, plot, and move the results out.

    The compute endpoint's configuration comes from the run input.
    """

    globus_group = "00000000-0000-4000-8000-00000000c0de"
    gladier_tools = [
        "gladier_tools.globus.Transfer:RawData",
        "beamline_tools.Correlate",
        "beamline_tools.PlotCorrelations",
        "gladier_tools.globus.Transfer:Results",
    ]


@generate_flow_definition(modifiers={
    "correlate_frames": {"tasks": "$.input.correlation_tasks"},
})
class BatchCorrelation(GladierBaseClient):
    # An action_url on a client selects nothing: each tool's own decides (as in 0.11).
    action_url = "https://compute.actions.globus.org/v3"
    gladier_tools = ["beamline_tools.Correlate", "beamline_tools.PlotCorrelations"]


@generate_flow_definition(modifiers={
    "publishv2_gather_metadata": {
        "WaitTime": 240,
        "payload": "$.ReadInstrumentLog.details.result[0].pilot",
    },
})
class PublishRunMetadata(GladierBaseClient):
    gladier_tools = [beamline_tools.InstrumentLog, "gladier_tools.publish.Publishv2"]


class LegacyPhilClient(GladierBaseClient):
    """A client from before flow generation: its flow comes from the tool."""

    secret_config_filename = os.path.expanduser("~/.gladier-secrets.cfg")
    app_name = "ssx_client"
    gladier_tools = [beamline_tools.WritePhil]
    flow_definition = "beamline_tools.WritePhil"


def _legacy_tool_with_a_modifier():
    @generate_flow_definition(modifiers={"write_phil_file": {"WaitTime": 60}})
    class LegacyGenerated(GladierBaseTool):
        funcx_functions = [beamline_tools.write_phil_file]

    @generate_flow_definition
    class UsesIt(GladierBaseClient):
        gladier_tools = [LegacyGenerated]

    return UsesIt().get_flow_definition()


OBSERVE = {
    "a modifier naming a funcx_functions function": _legacy_tool_with_a_modifier,
}
