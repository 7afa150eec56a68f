"""Compute tools chained by a client, the way the Gladier docs start."""

from gladier import GladierBaseClient, GladierBaseTool, generate_flow_definition

from parity_tools import Checksum, Tar


def make_run_dirs(run_dir, **data):
    """Create the run's working directories."""
    import os

    os.makedirs(run_dir, exist_ok=True)
    return run_dir


def count_frames(run_dir, frame_glob="*.h5", **data):
    import glob

    return len(glob.glob(f"{run_dir}/{frame_glob}"))


@generate_flow_definition
class PrepareRun(GladierBaseTool):
    """Set up a run."""

    compute_functions = [make_run_dirs, count_frames]
    flow_input = {"frame_glob": "*.h5"}
    required_input = ["run_dir", "compute_endpoint"]


@generate_flow_definition
class BasicClient(GladierBaseClient):
    """Prepare a run, tar it and checksum the archive."""

    gladier_tools = [PrepareRun, Tar, Checksum]


@generate_flow_definition
class UndocumentedClient(GladierBaseClient):
    gladier_tools = [Tar, PrepareRun]


@generate_flow_definition()
class ParenthesisedDecoratorClient(GladierBaseClient):
    gladier_tools = ["parity_tools.Checksum"]
