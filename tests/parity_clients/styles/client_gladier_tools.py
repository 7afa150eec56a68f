"""Clients built from the gladier-tools package, as beamline clients are."""

from gladier import GladierBaseClient, generate_flow_definition


@generate_flow_definition
class ArchiveClient(GladierBaseClient):
    """Tar, then transfer."""

    gladier_tools = [
        "gladier_tools.posix.Tar",
        "gladier_tools.globus.Transfer",
    ]


@generate_flow_definition(modifiers={
    "tar": {"WaitTime": 900},
})
class TwoTransfersClient(GladierBaseClient):
    gladier_tools = [
        "gladier_tools.globus.Transfer:FromInstrument",
        "gladier_tools.posix.Tar",
        "gladier_tools.globus.Transfer:ToArchive",
    ]


@generate_flow_definition
class ShellAndUntar(GladierBaseClient):
    gladier_tools = [
        "gladier_tools.posix.ShellCmdTool",
        "gladier_tools.posix.UnTar",
        "gladier_tools.posix.HttpsDownloadFile",
    ]


@generate_flow_definition
class PublishClient(GladierBaseClient):
    gladier_tools = [
        "gladier_tools.publish.Publishv2",
    ]
