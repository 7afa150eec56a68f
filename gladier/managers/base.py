"""The interface every flows manager offers the client, whichever engine runs the flow.

``FlowsManager`` (the Globus Flows service) and ``gladier.engine.manager.LocalFlowsManager``
(the embedded engine) both subclass :class:`BaseFlowsManager`, so the client never asks
which one it holds. Run documents, log entries and statuses have the shapes the Flows
service returns.
"""

from __future__ import annotations

import logging
import time
import typing as t

from gladier.documents import object_at
from gladier.exc import ConfigException, StateOutputNotFound

log = logging.getLogger(__name__)

#: Run statuses after which a run never changes again.
TERMINAL_STATUSES = frozenset({"SUCCEEDED", "FAILED", "ENDED"})
#: The service limits run labels to 64 characters.
MAX_LABEL_LENGTH = 64
#: ``progress`` never asks the service about a run more often than this (seconds).
MIN_POLL_INTERVAL = 2
#: ``progress`` doubles its wait after each poll, up to this many seconds.
MAX_POLL_INTERVAL = 60


def shorten_label(label: str) -> str:
    """Fit a label in the service's 64 characters, marking the cut with ``..``."""
    if not isinstance(label, str):
        raise ConfigException(
            f"A run label must be a string (run_flow(label=...) or run_kwargs['label']), "
            f"got {type(label).__name__} {label!r}"
        )
    if len(label) <= MAX_LABEL_LENGTH:
        return label
    return label[: MAX_LABEL_LENGTH - 2] + ".."


def describe_run(run: dict) -> str:
    """One line saying where a run is: ``[INACTIVE] ConsentRequired: <description>``."""
    details = run.get("details") or {}
    code = details.get("code") if isinstance(details, dict) else None
    description = details.get("description") if isinstance(details, dict) else None
    reason = ": ".join(str(part) for part in (code, description) if part)
    return f"[{run.get('status')}] {reason}".rstrip()


def latest_event(run: dict) -> tuple:
    """What a run document says happened last: its status and its details' event."""
    details = object_at(run, "details")
    inner = object_at(details, "details")
    return (run.get("status"), details.get("code"), details.get("description"),
            details.get("time"), inner.get("state_name"))


class ServiceManager:
    """A manager the client hands its config storage and login manager to.

    A manager built with its own ``storage`` or ``login_manager`` keeps them: the client's
    are only used where none was given (or ``replace`` is true).
    """

    def __init__(self, *, login_manager: t.Any = None, storage: t.Any = None) -> None:
        self.login_manager = login_manager
        self.storage = storage

    def set_storage(self, storage: t.Any, replace: bool = False) -> None:
        """Use ``storage`` unless one is set already (or ``replace`` is true)."""
        if self.storage is None or replace:
            self.storage = storage

    def set_login_manager(self, login_manager: t.Any, replace: bool = False) -> None:
        """Use ``login_manager`` unless one is set already (or ``replace`` is true)."""
        if self.login_manager is None or replace:
            self.login_manager = login_manager


class BaseFlowsManager(ServiceManager):
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
        self.flow_id = flow_id
        self.flow_definition = flow_definition
        self.flow_schema = flow_schema
        self.flow_title = flow_title
        self.globus_group = globus_group
        self.subscription_id = subscription_id
        self.on_change = on_change
        self.redeploy_on_404 = redeploy_on_404
        self.flow_kwargs = dict(flow_kwargs or {})
        self.run_kwargs = dict(run_kwargs or {})
        super().__init__(login_manager=login_manager, storage=storage)

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

    def read_run_logs(self, run_id: str, marker: str | None = None
                      ) -> tuple[list[dict], str | None]:
        """The run's log entries from page ``marker`` on (all when None), oldest first, and
        the marker to read later entries from (entries already read may come again).

        By default every entry, read again each time: a manager that only has
        :meth:`get_run_logs` still works with ``progress()``."""
        return self.get_run_logs(run_id), None

    def resume_run(self, run_id: str) -> dict:
        """Continue a run that stopped; returns its run document."""
        raise NotImplementedError

    def cancel_run(self, run_id: str) -> dict:
        raise NotImplementedError

    def progress(self, run_id: str, callback: t.Callable[[dict], None] | None = None,
                 delay: float = 2) -> dict:
        """Follow a run until it ends or needs a person (INACTIVE); return the last document.

        The first poll comes after ``delay`` seconds; each later wait doubles, up to
        ``MAX_POLL_INTERVAL``, and no wait is shorter than ``MIN_POLL_INTERVAL`` (the
        service rate-limits faster polling). An INACTIVE run waits for a person (consent,
        web input), so polling stops and the reason is logged.

        A progress display (the default callback, or any ``gladier.ui.progress.Renderer``)
        is also fed the run's new log entries, so it shows every state that started or
        finished between two polls. The log is read only when the run document changed
        since the previous poll (which it does when the run stops), so a quiet run costs
        no calls beyond the polls. Any other callback gets the run documents only.
        """
        from gladier.ui.progress import Renderer, UnseenEntries, default_callback

        if callback is None:
            callback = default_callback()
        renderer = callback if isinstance(callback, Renderer) else None  # reads the log
        unseen = UnseenEntries()
        marker: str | None = None
        last_event: tuple | None = None
        interval = min(max(delay, MIN_POLL_INTERVAL), MAX_POLL_INTERVAL)
        while True:
            time.sleep(interval)
            run = self.get_status(run_id)
            event = latest_event(run) if renderer is not None else None
            if renderer is not None and event != last_event:
                if last_event is None:
                    renderer.start(run)
                last_event = event
                entries, marker = self.read_run_logs(run_id, marker)
                for entry in unseen(entries):
                    renderer.entry(entry)
            callback(run)
            if run["status"] in TERMINAL_STATUSES:
                return run
            if run["status"] == "INACTIVE":
                log.warning("Run %s needs attention, stopped following it: %s",
                            run_id, describe_run(run))
                return run
            interval = min(interval * 2, MAX_POLL_INTERVAL)

    def get_details(self, run_id: str, state_name: str) -> t.Any:
        """What ``state_name`` produced in the run (its result in the run's output)."""
        run = self.get_status(run_id)
        details = run.get("details") or {}
        output = details.get("output") or {}
        if state_name not in output:
            raise StateOutputNotFound(
                f"Run {run_id} ({run.get('status')}) has no output for state '{state_name}'; "
                f"states with output: {sorted(output) or 'none yet'}"
            )
        return output[state_name]
