"""Tools shared by the parity clients, written the way Gladier users write tools."""

from gladier import GladierBaseTool, generate_flow_definition


def tar_directory(tar_input, **data):
    """Pack a directory into a .tgz beside it."""
    import tarfile
    import os

    out = f"{tar_input.rstrip('/')}.tgz"
    with tarfile.open(out, "w:gz") as tar:
        tar.add(tar_input, arcname=os.path.basename(tar_input))
    return out


def checksum_file(checksum_path, algorithm="sha256", **data):
    import hashlib

    with open(checksum_path, "rb") as handle:
        return hashlib.new(algorithm, handle.read()).hexdigest()


def list_run_directory(run_dir, **data):
    """List what is in the run directory."""
    import os

    return sorted(os.listdir(run_dir))


@generate_flow_definition
class Tar(GladierBaseTool):
    """Tar a directory."""

    compute_functions = [tar_directory]
    required_input = ["tar_input", "compute_endpoint"]


@generate_flow_definition
class Checksum(GladierBaseTool):
    compute_functions = [checksum_file]
    flow_input = {"algorithm": "sha256"}
    required_input = ["checksum_path", "compute_endpoint"]


@generate_flow_definition(modifiers={list_run_directory: {"WaitTime": 30}})
class ListRunDir(GladierBaseTool):
    compute_functions = [list_run_directory]
    flow_input = {"run_dir": "/tmp/runs"}
    required_input = ["run_dir"]


class TransferOut(GladierBaseTool):
    """A hand-written Transfer state, as tools did before state objects."""

    flow_definition = {
        "Comment": "Move the results out",
        "StartAt": "TransferOut",
        "States": {
            "TransferOut": {
                "Comment": "Transfer a file or folder",
                "Type": "Action",
                "ActionUrl": "https://actions.automate.globus.org/transfer/transfer",
                "Parameters": {
                    "source_endpoint_id.$": "$.input.transfer_source_endpoint_id",
                    "destination_endpoint_id.$": "$.input.transfer_destination_endpoint_id",
                    "transfer_items": [
                        {
                            "source_path.$": "$.input.transfer_source_path",
                            "destination_path.$": "$.input.transfer_destination_path",
                            "recursive.$": "$.input.transfer_recursive",
                        }
                    ],
                },
                "ResultPath": "$.TransferOut",
                "WaitTime": 600,
                "End": True,
            }
        },
    }
    flow_input = {"transfer_recursive": False}
    required_input = [
        "transfer_source_endpoint_id",
        "transfer_destination_endpoint_id",
        "transfer_source_path",
        "transfer_destination_path",
    ]
