"""Transfer and TransferDelete: the Globus Transfer action providers.

As in Gladier 0.11, they call the ``https://actions.globus.org/transfer/`` providers, whose
parameters are named after the fields (``source_endpoint_id``, ``transfer_items``,
``endpoint_id``, ``items``); the embedded engine runs those shapes too.
"""

from __future__ import annotations

import typing as t

from gladier.tools.builtins.action import ActionState

TRANSFER_ACTION_URL = "https://actions.globus.org/transfer/transfer"
TRANSFER_DELETE_ACTION_URL = "https://actions.globus.org/transfer/delete"


class TransferItem:
    """One source/destination pair of a transfer (paths or ``$.`` references)."""

    def __init__(
        self,
        source_path: str = "$.input.source_transfer_path",
        destination_path: str = "$.input.destination_transfer_path",
        recursive: t.Optional[t.Union[bool, str]] = None,
    ) -> None:
        self.source_path = source_path
        self.destination_path = destination_path
        self.recursive = recursive

    def to_parameters(self) -> t.Dict[str, t.Any]:
        return {
            "source_path": self.source_path,
            "destination_path": self.destination_path,
            "recursive": self.recursive,
        }


class _NotifyingTask(ActionState):
    """A Transfer task that can email its owner when it succeeds, fails or needs a person."""

    notify_on_succeeded: t.Optional[t.Union[bool, str]] = None
    notify_on_failed: t.Optional[t.Union[bool, str]] = None
    notify_on_inactive: t.Optional[t.Union[bool, str]] = None

    def notify_parameters(self) -> t.Dict[str, t.Any]:
        return {
            "notify_on_succeeded": self.notify_on_succeeded,
            "notify_on_failed": self.notify_on_failed,
            "notify_on_inactive": self.notify_on_inactive,
        }


class Transfer(_NotifyingTask):
    """Transfer ``transfer_items`` (a list, or a ``$.`` path to one) between two collections."""

    action_url: t.Optional[str] = TRANSFER_ACTION_URL
    source_endpoint_id: str = "$.input.transfer_source_endpoint_id"
    destination_endpoint_id: str = "$.input.transfer_destination_endpoint_id"
    transfer_items: t.Union[t.List[TransferItem], str, None] = None
    label: t.Optional[str] = None
    sync_level: t.Optional[t.Union[str, int]] = None

    def get_parameters(self) -> t.Dict[str, t.Any]:
        items = self.transfer_items if self.transfer_items is not None else [TransferItem()]
        return {
            "source_endpoint_id": self.source_endpoint_id,
            "destination_endpoint_id": self.destination_endpoint_id,
            "transfer_items": items,
            "label": self.label,
            "sync_level": self.sync_level,
            **self.notify_parameters(),
        }


class TransferDelete(_NotifyingTask):
    """Delete ``items`` (a list of paths, or a ``$.`` path to one) on a collection."""

    action_url: t.Optional[str] = TRANSFER_DELETE_ACTION_URL
    endpoint_id: str = "$.input.transfer_delete_endpoint_id"
    items: t.Union[t.List[str], str] = "$.input.transfer_delete_items"
    recursive: t.Optional[t.Union[bool, str]] = None
    ignore_missing: t.Optional[t.Union[bool, str]] = None
    interpret_globs: t.Optional[t.Union[bool, str]] = None
    label: t.Optional[str] = None

    def get_parameters(self) -> t.Dict[str, t.Any]:
        return {
            "endpoint_id": self.endpoint_id,
            "items": self.items,
            "recursive": self.recursive,
            "ignore_missing": self.ignore_missing,
            "interpret_globs": self.interpret_globs,
            "label": self.label,
            **self.notify_parameters(),
        }
