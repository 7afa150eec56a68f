"""Deploy, update and run a client's flow on the Globus Flows service.

Transient failures: globus_sdk's own retry layer (``RetryConfig``: up to
:data:`MAX_RETRIES` retries with exponential back-off and jitter, ``Retry-After`` honoured,
each sleep capped at :data:`MAX_RETRY_SLEEP` s) retries HTTP 429/500/502/503/504 and
network errors of reads, updates and cancels. Starting a run (``POST /run``) and
creating a flow (``POST /flows``) are retried only when the service cannot have done
them: HTTP 429, HTTP 503 with ``Retry-After``, and connection errors raised before the
request was sent (refused, DNS, connect timeout). A 500/502/504, a read timeout or a
dropped connection after sending is ambiguous, so it is not retried: the run or flow
might exist, and nothing may be made twice. When retries end,
:class:`~gladier.exc.FlowsServiceError` says what failed and whether something may exist.
"""

from __future__ import annotations

import contextlib
import hashlib
import inspect
import json
import logging
import typing as t

import globus_sdk
import globus_sdk.gare
from globus_sdk.scopes import FlowsScopes, SpecificFlowScopes
from globus_sdk.transport import RetryCheckCollection, RetryCheckResult, RetryConfig

from gladier.exc import (
    AuthException,
    ConfigException,
    DevelopmentException,
    FlowObsolete,
    FlowsServiceError,
    FlowValidationError,
    NoFlowRegistered,
    RegistrationException,
)
from gladier.managers.base import BaseFlowsManager, shorten_label
from gladier.managers.compute_errors import decode_compute_exceptions

log = logging.getLogger(__name__)
_Client = t.TypeVar("_Client", globus_sdk.FlowsClient, globus_sdk.SpecificFlowClient)

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
#: Retries of one call to the Flows service, and the longest sleep between two.
MAX_RETRIES = 5
MAX_RETRY_SLEEP = 10.0
#: Log entries asked for per page (the most the service gives).
LOG_PAGE_SIZE = 100
#: HTTP statuses after which the service is worth asking again.
TRANSIENT_STATUSES = frozenset({429, 500, 502, 503, 504})


def _never_sent(error: BaseException) -> bool:
    """Whether a requests error happened before the request reached the service."""
    import requests
    import urllib3

    if isinstance(error, requests.exceptions.ConnectTimeout):
        return True
    if not isinstance(error, requests.exceptions.ConnectionError) or isinstance(
            error, requests.exceptions.ReadTimeout):
        return False
    reason = error.args[0] if error.args else None
    reason = getattr(reason, "reason", reason)  # urllib3's MaxRetryError wraps the cause
    return isinstance(reason, (urllib3.exceptions.NewConnectionError,
                               urllib3.exceptions.ConnectTimeoutError))


def _only_unambiguous_retries(ctx: t.Any) -> RetryCheckResult:
    """Retry check placed before globus_sdk's own: veto retrying a request that creates
    something (a run, a flow) when the service may have carried it out."""
    if ctx.exception is not None:
        return (RetryCheckResult.no_decision if _never_sent(ctx.exception)
                else RetryCheckResult.do_not_retry)
    response = ctx.response
    if response is None or response.status_code < 500:
        return RetryCheckResult.no_decision
    if response.status_code == 503 and response.headers.get("Retry-After"):
        return RetryCheckResult.no_decision
    return RetryCheckResult.do_not_retry


def retry_config(*, creates: bool = False) -> RetryConfig:
    """The RetryConfig of a Flows client; ``creates`` for a client that starts runs or
    creates flows (requests that must not be repeated blindly)."""
    checks = RetryCheckCollection()
    if creates:
        checks.register_check(_only_unambiguous_retries)
    return RetryConfig(max_retries=MAX_RETRIES, max_sleep=MAX_RETRY_SLEEP, checks=checks)


@contextlib.contextmanager
def _service_call(operation: str, *, creates: str | None = None) -> t.Iterator[None]:
    """Turn what is left of a transient failure, after retries, into FlowsServiceError.

    ``creates`` names what the call makes ("run", "flow"), which may exist after an
    ambiguous failure."""
    try:
        yield
    except globus_sdk.exc.GlobusAPIError as error:
        if error.http_status not in TRANSIENT_STATUSES:
            raise
        may_exist = creates is not None and not (error.http_status == 429 or (
            error.http_status == 503 and error.headers.get("Retry-After")))
        raise FlowsServiceError(
            f"Globus Flows failed to {operation}: HTTP {error.http_status} "
            f"({error.code}: {error.message})" + _after(creates, may_exist),
            operation=operation, http_status=error.http_status, may_exist=may_exist,
        ) from error
    except globus_sdk.NetworkError as error:
        may_exist = creates is not None and not _never_sent(error.underlying_exception)
        raise FlowsServiceError(
            f"Globus Flows could not be reached to {operation}: "
            f"{type(error.underlying_exception).__name__}" + _after(creates, may_exist),
            operation=operation, may_exist=may_exist,
        ) from error


def _after(creates: str | None, may_exist: bool) -> str:
    if may_exist:
        return (f"; the {creates} may exist already, so the request was not repeated: "
                f"check your {creates}s before trying again")
    return "; gave up after retrying" + (f" (no {creates} was made)" if creates else "")


def group_urn(group_id: str) -> str:
    return f"urn:globus:groups:id:{group_id}"


def _with_group(kwargs: dict, roles: t.Iterable[str], group: str | None) -> dict:
    """``kwargs`` with the group's URN as each role not given explicitly (a role given in
    flow or run options wins, as in Gladier 0.11)."""
    if not group:
        return kwargs
    return {**{role: [group_urn(group)] for role in roles}, **kwargs}


def _split_known(method: t.Callable, kwargs: dict) -> dict:
    """Pass keywords the SDK method names; everything else goes in ``additional_fields``
    (a method that takes ``**kwargs``, such as a test's stand-in, gets them all by name)."""
    parameters = inspect.signature(method).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
        return dict(kwargs)
    known = set(parameters)
    named = {k: v for k, v in kwargs.items() if k in known}
    extra = {k: v for k, v in kwargs.items() if k not in known}
    if extra:
        named["additional_fields"] = extra
    return named


def _service_problems(error: globus_sdk.GlobusAPIError) -> list[dict]:
    """The problems of a Flows validation error (``error.detail``: ``loc`` and ``msg``)."""
    body = error.raw_json if isinstance(error.raw_json, dict) else {}
    detail = body.get("error", {}).get("detail") if isinstance(body.get("error"), dict) else None
    if not isinstance(detail, list):
        return [{"state": None, "path": "$", "message": error.message}]
    return [{"state": None, "path": "$." + ".".join(map(str, item.get("loc", []))),
             "message": item.get("msg", "")} for item in detail if isinstance(item, dict)]


def _gare_of(error: BaseException) -> globus_sdk.gare.GARE | None:
    """The authorization requirements an error of the service carries, if it is one
    (a stand-in for ``globus_sdk.exc.GlobusAPIError``, as 0.11 users' tests raise, has none)."""
    return globus_sdk.gare.to_gare(error) if isinstance(error, globus_sdk.GlobusAPIError) \
        else None


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
    #: Check the flow with the service's validate_flow before each deploy or update.
    validate_before_deploy = False

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().__init__(*args, **kwargs)
        if self.flow_id is not None:  # someone else's flow: never replaced by a new one
            self.redeploy_on_404 = False

    # -- Gladier 0.11's helpers, kept for code that calls them ------------------------

    @staticmethod
    def get_globus_urn(uuid: str, id_type: str = "group") -> str:
        """``urn:globus:groups:id:<uuid>`` (``id_type="identity"``: an identity's URN).

        :raises DevelopmentException: ``id_type`` is neither ``group`` nor ``identity``
        """
        prefixes = {"group": "urn:globus:groups:id:", "identity": "urn:globus:auth:identity:"}
        if id_type not in prefixes:
            raise DevelopmentException(
                f"id_type must be one of {sorted(prefixes)}, got {id_type!r}")
        return f"{prefixes[id_type]}{uuid}"

    def get_flow_permission(self, permission_type: str,
                            identities: list[str] | None = None) -> list[str] | None:
        """The principals given ``permission_type`` (a flow or run role): ``identities``,
        else the group's URN when ``globus_group`` is set, else None (the service's
        defaults).

        :raises DevelopmentException: ``permission_type`` is not a role
        """
        if permission_type not in GROUP_FLOW_ROLES + GROUP_RUN_ROLES:
            raise DevelopmentException(
                f"permission_type must be one of {sorted(GROUP_FLOW_ROLES + GROUP_RUN_ROLES)}"
                f", got {permission_type!r}")
        if identities is None and self.globus_group:
            identities = [group_urn(self.globus_group)]
        return identities

    @classmethod
    def _get_authorizer_for_scope(cls, authorizers: t.Mapping[t.Any, t.Any],
                                  scope: t.Any) -> t.Any:
        """The authorizer for ``scope`` whether the map's keys and ``scope`` are strings or
        globus_sdk ``Scope`` objects (None when there is none)."""
        if scope is None:
            return None
        by_string = {str(key): value for key, value in authorizers.items()}
        return by_string.get(str(scope))

    def check_flow(self) -> None:
        """Raise unless the deployed flow matches what would be deployed now.

        :raises NoFlowRegistered: nothing is deployed
        :raises FlowObsolete: what would be deployed differs from what was
        """
        if not self.get_flow_id():
            raise NoFlowRegistered("No flow id is set on the flows manager or stored")
        stored = self.storage.get_value("flow_checksum") if self.storage is not None else None
        if stored != self.get_flow_checksum():
            raise FlowObsolete("The flow definition, schema or flow_kwargs changed since "
                               "the flow was deployed")

    def flow_changed(self) -> bool:
        """True when the flow needs (re)deploying (see :meth:`check_flow`)."""
        try:
            self.check_flow()
        except RegistrationException:
            return True
        return False

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
        return self._flows_client()

    def _flows_client(self, *, creates: bool = False) -> globus_sdk.FlowsClient:
        authorizer = self._get_authorizer_for_scope(self._authorizers(FLOWS_SCOPES),
                                                    FlowsScopes.manage_flows)
        return self._client(("flows", creates), authorizer, lambda: globus_sdk.FlowsClient(
            authorizer=authorizer, app_name=self.app_name,
            retry_config=retry_config(creates=creates)))

    def _specific_flow_client(self, flow_id: str) -> globus_sdk.SpecificFlowClient:
        authorizer = self._get_authorizer_for_scope(self._authorizers(self.get_scopes()),
                                                    self.get_flow_scope())
        return self._client(("flow", flow_id), authorizer, lambda: globus_sdk.SpecificFlowClient(
            flow_id, authorizer=authorizer, app_name=self.app_name,
            retry_config=retry_config(creates=True)))

    def _client(self, key: tuple, authorizer: t.Any, make: t.Callable[[], _Client]) -> _Client:
        """One client of each kind (and flow) per manager, rebuilt only when its authorizer
        changes (a new login), not on every call and progress poll."""
        clients: dict = self.__dict__.setdefault("_clients", {})
        held = clients.get(key)
        if held is None or held[0] is not authorizer:
            held = clients[key] = (authorizer, make())
        return held[1]

    def validate_flow(self) -> dict:
        """Ask the Flows service to check the definition and input schema without deploying
        them (``FlowsClient.validate_flow``); returns its answer (the scopes the flow needs).
        Raises :class:`~gladier.exc.FlowValidationError` with the service's problems."""
        if not self.flow_definition:
            raise ConfigException("FlowsManager has no flow definition to validate")
        try:
            with _service_call("validate the flow"):
                return self.flows_client.validate_flow(
                    self.flow_definition, input_schema=dict(self.flow_schema or {})).data
        except globus_sdk.GlobusAPIError as error:
            if error.http_status not in (400, 422):
                raise
            raise FlowValidationError(_service_problems(error)) from error

    # -- deployment -------------------------------------------------------------------

    def _flow_fields(self) -> dict:
        if not self.flow_definition:
            if self.flow_id:  # a flow given by id: only what was given is updated
                return _with_group(dict(self.flow_kwargs), GROUP_FLOW_ROLES + GROUP_RUN_ROLES,
                                   self.globus_group)
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
        """Deploy or update the flow when what would be deployed changed; return its id.

        A flow given by ``flow_id`` without a definition is used as deployed, updated only
        with the ``flow_kwargs`` (and group roles) given.
        """
        flow_id = self.get_flow_id()
        if self.flow_id and not self.flow_definition and not self._flow_fields():
            return self.flow_id
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
            except globus_sdk.exc.GlobusAPIError as error:
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
        if self.storage is None:
            raise ConfigException("FlowsManager has no storage to record its flow in; "
                                  "the client sets one")
        self.flow_id = flow["id"]
        self.storage.set_value("flow_id", flow["id"])
        if flow.get("globus_auth_scope"):
            self.storage.set_value("flow_scope", flow["globus_auth_scope"])
        self.storage.set_value("flow_checksum", checksum)
        return flow["id"]

    def _create_flow(self) -> str:
        if self.validate_before_deploy:
            self.validate_flow()
        checksum = self.get_flow_checksum()
        client = self._flows_client(creates=True)
        with _service_call("create the flow", creates="flow"):
            flow = client.create_flow(
                **_split_known(client.create_flow, self._flow_fields())).data
        log.info("Deployed flow %s", flow["id"])
        return self._remember(flow, checksum)

    def _update_flow(self, flow_id: str) -> str:
        if self.validate_before_deploy:
            self.validate_flow()
        checksum = self.get_flow_checksum()
        client = self.flows_client
        with _service_call(f"update flow {flow_id}"):
            flow = client.update_flow(
                flow_id, **_split_known(client.update_flow, self._flow_fields())).data
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

    def run_flow(self, flow_input: dict | None = None, *, label: str | None = None,
                 tags: list[str] | None = None, **run_kwargs: t.Any) -> dict:
        """Start a run; re-consent once if the flow's scope changed, redeploy if deleted.

        ``flow_input`` may also be given as ``body=`` (Gladier 0.11's name); none is ``{}``.

        :raises ConfigException: the service failed the run as it started
        """
        if flow_input is None:
            flow_input = run_kwargs.pop("body", None) or {}
        fields = self._run_fields(label, tags, run_kwargs)  # refuses a bad label first
        flow_id = self.get_flow_id() or self.sync_flow()  # the client syncs first
        try:
            return self._start(flow_id, flow_input, fields)
        except globus_sdk.exc.GlobusAPIError as error:
            gare = _gare_of(error)
            if gare is not None:
                self._log_in_for(gare, flow_id)
            elif _is_missing_scope(error):
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
        except globus_sdk.exc.GlobusAPIError as error:
            gare = _gare_of(error)
            if gare is not None:
                raise AuthException(
                    f"Flow {flow_id} still asks for authorization after a new login: "
                    f"{gare.authorization_parameters.session_message or error.message}",
                    list(gare.authorization_parameters.required_scopes or []),
                ) from error
            if _is_missing_scope(error):
                scope = self.get_flow_scope()
                raise AuthException(
                    f"Flow {flow_id} still reports a missing scope after a new login: "
                    f"{error.message}", [scope] if scope else [],
                ) from error
            raise

    def _log_in_for(self, gare: globus_sdk.gare.GARE, flow_id: str) -> None:
        """A consent-required error (any kind globus_sdk.gare reads): log in for exactly
        the scopes it names. Session requirements alone (an identity, a policy, MFA) are
        not met by a scope login, so they are reported instead."""
        parameters = gare.authorization_parameters
        scopes = [str(scope) for scope in parameters.required_scopes or []]
        if not scopes:
            raise AuthException(f"Flow {flow_id} needs a new login session: "
                                f"{parameters.session_message or gare.code}", [])
        log.info("Flow %s asks for consent to: %s", flow_id, ", ".join(scopes))
        assert self.login_manager is not None  # _start has used it
        self.login_manager.login(scopes)

    def _start(self, flow_id: str, flow_input: dict, fields: dict) -> dict:
        client = self._specific_flow_client(flow_id)
        with _service_call(f"start a run of flow {flow_id}", creates="run"):
            run = client.run_flow(flow_input, **_split_known(client.run_flow, fields)).data
        log.info("Started run %s of flow %s", run["run_id"], flow_id)
        if run.get("status") == "FAILED":
            details = run.get("details") or {}
            raise ConfigException(f"Run {run['run_id']} of flow {flow_id} failed as it "
                                  f"started: {details.get('description') or details}")
        return run

    def get_status(self, run_id: str) -> dict:
        """The run document, with Compute exceptions decoded to readable text."""
        with _service_call(f"get run {run_id}"):
            return decode_compute_exceptions(self.flows_client.get_run(run_id).data)

    def get_run_logs(self, run_id: str) -> list[dict]:
        return self.read_run_logs(run_id)[0]

    def read_run_logs(self, run_id: str, marker: str | None = None
                      ) -> tuple[list[dict], str | None]:
        """Pages of :data:`LOG_PAGE_SIZE` entries from ``marker`` on. The marker returned is
        the one of the last page read, so reading on re-reads that page only. A marker the
        service no longer takes (HTTP 400) is dropped and the log read from its start."""
        try:
            return self._read_run_log_pages(run_id, marker)
        except globus_sdk.exc.GlobusAPIError as error:
            if marker is None or error.http_status != 400:
                raise
            log.info("Flows refused the log marker of run %s (%s); reading its log again "
                     "from the start", run_id, error.code)
            return self._read_run_log_pages(run_id, None)

    def _read_run_log_pages(self, run_id: str, marker: str | None
                            ) -> tuple[list[dict], str | None]:
        start = {"marker": marker} if marker else {}
        entries: list[dict] = []
        with _service_call(f"get the logs of run {run_id}"):
            for page in self.flows_client.paginated.get_run_logs(
                    run_id, limit=LOG_PAGE_SIZE, **start).pages():
                entries.extend(page.get("entries") or [])
                if page.get("has_next_page") and page.get("marker"):
                    marker = page["marker"]
        return entries, marker

    def resume_run(self, run_id: str) -> dict:
        """Ask the service to resume an INACTIVE run (``SpecificFlowClient.resume_run``),
        e.g. once the consent it waited for is given."""
        flow_id = self.get_status(run_id)["flow_id"]
        with _service_call(f"resume run {run_id}"):
            return self._specific_flow_client(flow_id).resume_run(run_id).data

    def cancel_run(self, run_id: str) -> dict:
        with _service_call(f"cancel run {run_id}"):
            return self.flows_client.cancel_run(run_id).data
