"""States for Globus services: Compute, Transfer, Search."""

from gladier.tools.globus.compute import Compute, ComputeFunctionType
from gladier.tools.globus.search import SearchDelete, SearchDeleteByQuery, SearchIngest
from gladier.tools.globus.transfer import Transfer, TransferDelete, TransferItem

__all__ = [
    "Compute",
    "ComputeFunctionType",
    "SearchDelete",
    "SearchDeleteByQuery",
    "SearchIngest",
    "Transfer",
    "TransferDelete",
    "TransferItem",
]
