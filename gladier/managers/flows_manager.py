"""Deploy, update and run a client's flow on the Globus Flows service."""

from __future__ import annotations

import hashlib
import inspect
import json
import logging
import typing as t

import globus_sdk
from globus_sdk.scopes import FlowsScopes, SpecificFlowScopes

from gladier.exc import AuthException, ConfigException
from gladier.managers.base import BaseFlowsManager, shorten_label
from gladier.managers.compute_errors import decode_compute_exceptions

log = logging.getLogger(__name__)

#: What the Flows service needs to deploy flows and follow their runs.
FLOWS_SCOPES = [
    str(FlowsScopes.manage_flows),
    str(FlowsScopes.view_flows),
    str(FlowsScopes.run_status),
    str(FlowsScopes.run_manage),
]
#: A ``globus_group`` is given every one of these roles.
GROUP_FLOW_ROLES = ("flow_viewers", "flow_starters", "flow_administrators")
GROUP_RUN_ROLES = ("run_managers", "run_monitors")
DEFAULT_FLOW_TITLE = "Gladier Flow"


def group_urn(group_id: str) -> str:
    return f"urn:globus:groups:id:{group_id}"


def _with_group(kwargs: dict, roles: t.Iterable[str], group: str | None) -> dict:
    """``kwargs`` with the group's URN added to each role list (kept once)."""
    if not group:
        return kwargs
    merged = dict(kwargs)
    for role in roles:
        principals = list(merged.get(role) or [])
        if group_urn(group) not in principals:
            principals.append(group_urn(group))
        merged[role] = principals
    return merged


def _split_known(method: t.Callable, kwargs: dict) -> dict:
    """Pass keywords the SDK method names; everything else goes in ``additional_fields``."""
    known = set(inspect.signature(method).parameters)
    named = {k: v for k, v in kwargs.items() if k in known}
    extra = {k: v for k, v in kwargs.items() if k not in known}
    if extra:
        named["additional_fields"] = extra
    return named


def _is_missing_scope(error: globus_sdk.GlobusAPIError) -> bool:
    return error.http_status == 403 and error.code == "MISSING_SCOPE"


class FlowsManager(BaseFlowsManager):
    """The Globus Flows service, through ``globus_sdk.FlowsClient`` and ``SpecificFlowClient``.

    The deployed flow is tracked in storage by ``flow_id`` and ``flow_checksum``; the
    checksum covers everything sent to the service (definition, schema, title, group,
    subscription and ``flow_kwargs``), so a change to any of them updates the flow and
    nothing else does.
    """

    app_name = "Gladier Client"

    # -- what this manager needs ------------------------------------------------------

    def get_flow_id(self) -> str | None:
        if self.flow_id:
            return self.flow_id
        return self.storage.get_value("flow_id") if self.storage is not None else None

    def get_flow_scope(self) -> str | None:
        stored = self.storage.get_value("flow_scope") if self.storage is not None else None
        if stored:
            return stored
        flow_id = self.get_flow_id()
        return str(SpecificFlowScopes(flow_id).user) if flow_id else None

    def get_scopes(self) -> list[str]:
        scope = self.get_flow_scope()
        return FLOWS_SCOPES + ([scope] if scope else [])

    def _authorizers(self, scopes: list[str]) -> t.Mapping[str, t.Any]:
        """Authorizers once ``scopes`` are logged in (deploying needs no flow scope yet)."""
        if self.login_manager is None:
            raise ConfigException("FlowsManager has no login manager; the client sets one")
        self.login_manager.add_requirements(scopes)
        return self.login_manager.get_manager_authorizers()

    @property
    def flows_client(self) -> globus_sdk.FlowsClient:
        authorizer = self._authorizers(FLOWS_SCOPES)[str(FlowsScopes.manage_flows)]
        return globus_sdk.FlowsClient(authorizer=authorizer, app_name=self.app_name)

    def _specific_flow_client(self, flow_id: str) -> globus_sdk.SpecificFlowClient:
        authorizer = self._authorizers(self.get_scopes())[self.get_flow_scope()]
        return globus_sdk.SpecificFlowClient(flow_id, authorizer=authorizer,
                                             app_name=self.app_name)

    # -- deployment -------------------------------------------------------------------

    def _flow_fields(self) -> dict:
        if not self.flow_definition:
            raise ConfigException("FlowsManager has no flow definition to deploy")
        fields: dict = {
            "title": self.flow_title or DEFAULT_FLOW_TITLE,
            "definition": self.flow_definition,
            "input_schema": self.flow_schema or {},
        }
        if self.subscription_id:
            fields["subscription_id"] = self.subscription_id
        fields.update(self.flow_kwargs)
        return _with_group(fields, GROUP_FLOW_ROLES + GROUP_RUN_ROLES, self.globus_group)

    def get_flow_checksum(self) -> str:
        """SHA-256 of everything sent to the service when deploying or updating."""
        encoded = json.dumps(self._flow_fields(), sort_keys=True, default=str)
        return hashlib.sha256(encoded.encode()).hexdigest()

    def sync_flow(self) -> str:
        flow_id = self.get_flow_id()
        stored = self.storage.get_value("flow_checksum") if self.storage is not None else None
        if flow_id and stored == self.get_flow_checksum():
            return flow_id
        if self.on_change is not None:
            return self.on_change(self)
        return self.register_flow()

    def register_flow(self) -> str:
        """Update the deployed flow, or deploy it if there is none (or it was deleted)."""
        flow_id = self.get_flow_id()
        if flow_id:
            try:
                return self._update_flow(flow_id)
            except globus_sdk.GlobusAPIError as error:
                if error.http_status != 404 or not self.redeploy_on_404:
                    raise
                log.info("Flow %s no longer exists; deploying a new one", flow_id)
                self._forget_flow()
        return self._create_flow()

    def _forget_flow(self) -> None:
        """Drop a flow the service no longer has, and the scope that went with it."""
        scope = self.get_flow_scope()
        if scope and self.login_manager is not None:
            self.login_manager.required_scopes.discard(scope)
        self.flow_id = None
        self.storage.del_value("flow_id")
        self.storage.del_value("flow_scope")

    def _remember(self, flow: t.Mapping, checksum: str) -> str:
        self.flow_id = flow["id"]
        self.storage.set_value("flow_id", flow["id"])
        if flow.get("globus_auth_scope"):
            self.storage.set_value("flow_scope", flow["globus_auth_scope"])
        self.storage.set_value("flow_checksum", checksum)
        return flow["id"]

    def _create_flow(self) -> str:
        checksum = self.get_flow_checksum()
        client = self.flows_client
        flow = client.create_flow(**_split_known(client.create_flow, self._flow_fields()))
        log.info("Deployed flow %s", flow["id"])
        return self._remember(flow, checksum)

    def _update_flow(self, flow_id: str) -> str:
        checksum = self.get_flow_checksum()
        client = self.flows_client
        flow = client.update_flow(flow_id,
                                  **_split_known(client.update_flow, self._flow_fields()))
        log.info("Updated flow %s", flow_id)
        return self._remember(flow, checksum)

    # -- runs -------------------------------------------------------------------------

    def _run_fields(self, label: str | None, tags: list[str] | None, run_kwargs: dict) -> dict:
        fields = {**self.run_kwargs, **run_kwargs}
        if label is not None:
            fields["label"] = shorten_label(label)
        elif "label" in fields:
            fields["label"] = shorten_label(fields["label"])
        if tags is not None:
            fields["tags"] = tags
        return _with_group(fields, GROUP_RUN_ROLES, self.globus_group)

    def run_flow(self, flow_input: dict, *, label: str | None = None,
                 tags: list[str] | None = None, **run_kwargs: t.Any) -> dict:
        """Start a run; re-consent once if the flow's scope changed, redeploy if deleted."""
        flow_id = self.sync_flow()
        fields = self._run_fields(label, tags, run_kwargs)
        try:
            return self._start(flow_id, flow_input, fields)
        except globus_sdk.GlobusAPIError as error:
            if _is_missing_scope(error):
                log.info("Flow %s needs a new consent: %s", flow_id, error.message)
                self.login_manager.add_scope_change([self.get_flow_scope()])
            elif error.http_status == 404 and self.redeploy_on_404:
                log.info("Flow %s no longer exists; deploying a new one", flow_id)
                self._forget_flow()
                flow_id = self._create_flow()
            else:
                raise
        try:
            return self._start(flow_id, flow_input, fields)
        except globus_sdk.GlobusAPIError as error:
            if _is_missing_scope(error):
                scope = self.get_flow_scope()
                raise AuthException(
                    f"Flow {flow_id} still reports a missing scope after a new login: "
                    f"{error.message}", [scope],
                ) from error
            raise

    def _start(self, flow_id: str, flow_input: dict, fields: dict) -> dict:
        client = self._specific_flow_client(flow_id)
        run = client.run_flow(flow_input, **_split_known(client.run_flow, fields))
        log.info("Started run %s of flow %s", run["run_id"], flow_id)
        return run.data

    def get_status(self, run_id: str) -> dict:
        """The run document, with Compute exceptions decoded to readable text."""
        return decode_compute_exceptions(self.flows_client.get_run(run_id).data)

    def get_run_logs(self, run_id: str) -> list[dict]:
        pages = self.flows_client.paginated.get_run_logs(run_id)
        return list(pages.items())

    def cancel_run(self, run_id: str) -> dict:
        return self.flows_client.cancel_run(run_id).data
