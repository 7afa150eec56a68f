"""The interface every flows manager offers the client, whichever engine runs the flow.

``FlowsManager`` (the Globus Flows service) and ``gladier.engine.manager.LocalFlowsManager``
(the embedded engine) both subclass :class:`BaseFlowsManager`, so the client never asks
which one it holds. Run documents, log entries and statuses have the shapes the Flows
service returns.
"""

from __future__ import annotations

import typing as t

#: Run statuses after which a run never changes again.
TERMINAL_STATUSES = frozenset({"SUCCEEDED", "FAILED", "ENDED"})
#: The service limits run labels to 64 characters.
MAX_LABEL_LENGTH = 64


def shorten_label(label: str) -> str:
    """Fit a label in the service's 64 characters, marking the cut with ``..``."""
    if len(label) <= MAX_LABEL_LENGTH:
        return label
    return label[: MAX_LABEL_LENGTH - 2] + ".."


class BaseFlowsManager:
    """Deploys a client's flow definition, runs it and reports on runs.

    The client sets ``flow_definition``, ``flow_schema``, ``flow_title``, ``storage`` (its
    config section: ``get_value``, ``set_value``, ``del_value``) and ``login_manager``
    before calling anything else.
    """

    def __init__(
        self,
        flow_id: str | None = None,
        flow_definition: dict | None = None,
        flow_schema: dict | None = None,
        flow_title: str | None = None,
        globus_group: str | None = None,
        subscription_id: str | None = None,
        on_change: t.Callable | None = None,
        redeploy_on_404: bool = True,
        flow_kwargs: dict | None = None,
        run_kwargs: dict | None = None,
        login_manager: t.Any = None,
        storage: t.Any = None,
    ) -> None:
        raise NotImplementedError

    def set_storage(self, storage: t.Any, replace: bool = False) -> None:
        raise NotImplementedError

    def set_login_manager(self, login_manager: t.Any, replace: bool = False) -> None:
        raise NotImplementedError

    def get_scopes(self) -> list[str]:
        """Scopes this manager needs a login for (empty for the embedded engine)."""
        raise NotImplementedError

    def get_flow_id(self) -> str | None:
        raise NotImplementedError

    def sync_flow(self) -> str:
        """Deploy the flow, or update it when its checksum changed; return its id."""
        raise NotImplementedError

    def register_flow(self) -> str:
        raise NotImplementedError

    def run_flow(self, flow_input: dict, *, label: str | None = None,
                 tags: list[str] | None = None, **run_kwargs: t.Any) -> dict:
        """Start a run with ``flow_input`` as its body; return the run document."""
        raise NotImplementedError

    def get_status(self, run_id: str) -> dict:
        """The run document (``status`` is ACTIVE, INACTIVE, SUCCEEDED, FAILED or ENDED)."""
        raise NotImplementedError

    def get_run_logs(self, run_id: str) -> list[dict]:
        """Every log entry of the run, oldest first."""
        raise NotImplementedError

    def cancel_run(self, run_id: str) -> dict:
        raise NotImplementedError

    def progress(self, run_id: str, callback: t.Callable[[dict], None] | None = None,
                 delay: float = 2) -> dict:
        """Follow a run until it ends or needs a person (INACTIVE); return the last document."""
        raise NotImplementedError

    def get_details(self, run_id: str, state_name: str) -> dict:
        """What ``state_name`` produced in the run (its result in the run's output)."""
        raise NotImplementedError
