"""Tools in the styles of public beamline clients (XPCS, SSX, polly, the client template),
written anew for the parity suite: the shapes those clients use, none of their code."""

from gladier import GladierBaseTool, generate_flow_definition

COMPUTE_V3 = "https://compute.actions.globus.org/v3"


def correlate_frames(correlation: dict = None, **data):
    """
    Correlate the frames named in ``correlation``.

    The dictionary holds the raw file, the q-map and the output directory; the
    results are written next to a log of the run.

    :returns: the metadata of the run
    """
    return {"inputs": correlation}


def plot_correlations(hdf_file, **data):
    return hdf_file


def read_instrument_log(**data):
    """Gather the instrument's metadata."""
    return {}


def write_phil_file(phil_path, **data):
    return phil_path


@generate_flow_definition(modifiers={
    correlate_frames: {"WaitTime": 7200},
})
class Correlate(GladierBaseTool):
    """Correlation on a GPU node, through Compute v3."""

    action_url = COMPUTE_V3
    compute_functions = [correlate_frames]
    required_input = ["correlation", "compute_endpoint"]


@generate_flow_definition
class PlotCorrelations(GladierBaseTool):
    compute_functions = [plot_correlations]
    required_input = ["hdf_file", "compute_endpoint"]


@generate_flow_definition
class InstrumentLog(GladierBaseTool):
    compute_functions = [read_instrument_log]


class WritePhil(GladierBaseTool):
    """A pre-0.9 tool: its functions are still listed as funcx_functions."""

    funcx_functions = [write_phil_file]
    required_input = ["phil_path", "funcx_endpoint_compute"]
    flow_definition = {
        "StartAt": "WritePhilFile",
        "States": {
            "WritePhilFile": {
                "Comment": "Write the processing parameters",
                "Type": "Action",
                "ActionUrl": "https://compute.actions.globus.org",
                "Parameters": {"tasks": [{
                    "endpoint.$": "$.input.funcx_endpoint_compute",
                    "function.$": "$.input.write_phil_file_funcx_id",
                    "payload.$": "$.input",
                }]},
                "ResultPath": "$.WritePhilFile",
                "WaitTime": 600,
                "End": True,
            }
        },
    }
