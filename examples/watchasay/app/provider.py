"""watchasay: an Action Provider that echoes "input_string" back as details.you_said.

The toolkit's Flask blueprint declares the Action Provider routes under /skeleton,
authenticates, validates requests against schema.json and hands valid ones to the
callbacks of WatchasayProvider, which keeps every action in an ActionStore until it is
released, or until its release_after has passed since it finished.

Every bad request is a 4xx: a body over MAX_REQUEST_BYTES (413), a release_after that is
negative or over MAX_RELEASE_AFTER, a monitor_by or manage_by entry that is not a
principal URN (422). A refused body is never logged, only its size. One rule says who
may see an action: its creator, its monitor_by and its manage_by principals; to anyone
else status, cancel and release answer 404 alike. Of those who see it, only the creator
and manage_by may cancel or release it (others get 403).
"""

from __future__ import annotations

import datetime
import json
import logging
import pathlib
import re
import time
import typing as t

import flask
import isodate
from flask import Flask
from globus_action_provider_tools import (
    ActionProviderDescription,
    ActionRequest,
    ActionStatus,
    ActionStatusValue,
    AuthState,
)
from globus_action_provider_tools.flask.exceptions import (
    ActionConflict,
    ActionNotFound,
    ActionProviderToolsException,
    RequestValidationError,
)
from globus_action_provider_tools.flask.helpers import assign_json_provider
from globus_action_provider_tools.utils import principal_urn_regex
from werkzeug.exceptions import Forbidden, RequestEntityTooLarge

from action_store import ActionStore, request_fingerprint
from config import Settings
from local_auth import DEV_IDENTITY_ID, LocalAuthBlueprint

SCHEMA_PATH = pathlib.Path(__file__).with_name("schema.json")
DEFAULT_RELEASE_AFTER = datetime.timedelta(days=30)
#: Longest release_after a request may ask for (a longer one is a 422).
MAX_RELEASE_AFTER = datetime.timedelta(days=366)
#: Largest request body taken (a larger one is a 413, never read or stored).
MAX_REQUEST_BYTES = 64 * 1024
_PRINCIPAL = re.compile(principal_urn_regex)

StatusReply = t.Tuple[ActionStatus, int]


def load_schema() -> dict:
    return json.loads(SCHEMA_PATH.read_text())


class ActionForbidden(ActionProviderToolsException, Forbidden):
    """The caller may see the action but not cancel or release it."""


def _release_after(value: t.Any) -> t.Optional[datetime.timedelta]:
    """A release_after as the toolkit reads it (an ISO 8601 duration, or seconds), or
    None when it cannot be one (the toolkit then refuses it, or fails on it)."""
    try:
        if isinstance(value, str):
            duration = isodate.parse_duration(value)
            return duration if isinstance(duration, datetime.timedelta) else None
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return datetime.timedelta(seconds=value)
    except (ValueError, OverflowError, isodate.ISO8601Error):
        return None
    return None


def check_request_document(document: t.Any) -> None:
    """RequestValidationError (422) for what the toolkit's request model lets through but
    no ActionStatus can hold, or what makes the toolkit fail (a 500): a release_after
    that is negative or too long to add to a date; a monitor_by or manage_by entry that
    is not an identity or group URN (the toolkit's own message for it fails)."""
    if not isinstance(document, dict):
        return  # the toolkit refuses it
    if document.get("release_after") is not None:
        release_after = _release_after(document["release_after"])
        if release_after is None or not (
            datetime.timedelta(0) <= release_after <= MAX_RELEASE_AFTER
        ):
            raise RequestValidationError(
                f"Field 'release_after': must be an ISO 8601 duration from P0D to "
                f"P{MAX_RELEASE_AFTER.days}D"
            )
    for field in ("monitor_by", "manage_by"):
        principals = document.get(field)
        if principals is None:
            continue
        if not isinstance(principals, list):
            raise RequestValidationError(f"Field '{field}': must be a list of principal URNs")
        for principal in principals:
            if not isinstance(principal, str) or not _PRINCIPAL.match(principal):
                raise RequestValidationError(
                    f"Field '{field}': {str(principal)[:100]!r} is not a principal URN "
                    "(urn:globus:auth:identity:<id> or urn:globus:groups:id:<id>)"
                )


class WatchasayBlueprint(LocalAuthBlueprint):
    """The blueprint, with a run request checked first (see check_request_document)."""

    def _action_run(self) -> t.Any:
        check_request_document(flask.request.get_json(force=True, silent=True))
        return super()._action_run()


class _NoBodies(logging.Filter):
    """The toolkit logs a refused run request's raw body (up to the size limit) and its
    validation messages, which quote the values: keep what was refused and the body's
    size, never the body."""

    MARKERS = ("could not be parsed as JSON: ", "submitted invalid input: ")

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        for marker in self.MARKERS:
            if marker in message:
                size = len(flask.request.get_data()) if flask.has_request_context() else 0
                record.msg = "%s (%d bytes; not logged)"
                record.args = (message.split(marker)[0] + marker.rstrip(": "), size)
        return True


class WatchasayProvider:
    """The Action Provider's callbacks: run, status, cancel, release, enumerate."""

    def __init__(self, store: ActionStore) -> None:
        self.store = store

    def run(self, request: ActionRequest, auth: AuthState) -> t.Union[ActionStatus, StatusReply]:
        """Echo the input at once; a repeated request_id returns the action it made."""
        self.store.forget_expired()  # an expired action's request_id starts a new one
        caller = auth.effective_identity
        fingerprint = request_fingerprint(request)
        earlier = self.store.find_request(caller, request.request_id)
        if earlier is None:
            action = self._echo(request, caller)
            earlier = self.store.add(request.request_id, fingerprint, action)
            if earlier is None:
                return action  # the toolkit answers 202 for a new action
        if earlier.fingerprint != fingerprint:
            raise ActionConflict(
                f"Request with id {request.request_id} already present with "
                "different parameters"
            )
        return self.status(earlier.action_id, auth)

    def _now(self) -> datetime.datetime:
        # The store's clock, so completion times and expiry agree even when tests move it.
        return datetime.datetime.fromtimestamp(self.store.clock(), datetime.timezone.utc)

    def _echo(self, request: ActionRequest, caller: str) -> ActionStatus:
        now = self._now()
        return ActionStatus(
            status=ActionStatusValue.SUCCEEDED,
            display_status=ActionStatusValue.SUCCEEDED,
            creator_id=caller,
            label=request.label,
            monitor_by=request.monitor_by,
            manage_by=request.manage_by,
            start_time=now.isoformat(),
            completion_time=now,
            release_after=request.release_after or DEFAULT_RELEASE_AFTER,
            # The schema has made sure input_string is there and is a string.
            details={"you_said": request.body["input_string"]},
        )

    def status(self, action_id: str, auth: AuthState) -> StatusReply:
        return self._load(action_id, auth), 200

    def cancel(self, action_id: str, auth: AuthState) -> StatusReply:
        """A finished action stays as it is; an unfinished one ends FAILED."""
        action = self._load(action_id, auth, manage=True)
        if action.is_complete():
            return action, 200
        canceled = action.copy(
            update={
                "status": ActionStatusValue.FAILED,
                "display_status": "Canceled by user request",
                "completion_time": self._now(),
                "details": {"code": "Canceled", "description": "Canceled by user request"},
            }
        )
        self.store.update(canceled)
        return canceled, 200

    def release(self, action_id: str, auth: AuthState) -> StatusReply:
        """Forget a finished action; its id answers 404 from then on."""
        action = self._load(action_id, auth, manage=True)
        if not action.is_complete():
            raise ActionConflict(f"Action {action_id} is not complete")
        self.store.remove(action_id)
        return action, 200

    def enumerate(self, auth: AuthState, params: t.Dict[str, t.Set]) -> t.List[ActionStatus]:
        """Actions in one of params["statuses"] where the caller holds one of params["roles"]."""
        self.store.forget_expired()
        roles = params["roles"]
        return [
            action
            for action in self.store.with_statuses(params["statuses"])
            if auth.check_authorization(_principals_in_roles(action, roles))
        ]

    def _load(self, action_id: str, auth: AuthState, *, manage: bool = False) -> ActionStatus:
        """The action, if the caller may see it (creator, monitor_by, manage_by): someone
        else's action answers exactly like a missing one, on every route. ``manage``:
        the caller must also be its creator or in manage_by (else 403)."""
        self.store.forget_expired()  # an expired action answers 404, as if released
        action = self.store.get(action_id)
        if action is None or not auth.check_authorization(
            _principals_in_roles(action, ("creator_id", "monitor_by", "manage_by")),
            allow_all_authenticated_users=True,
        ):
            raise ActionNotFound(f"No Action with id {action_id}")
        if manage and not auth.check_authorization(
            _principals_in_roles(action, ("creator_id", "manage_by")),
            allow_all_authenticated_users=True,
        ):
            raise ActionForbidden(f"You may see action {action_id} but not manage it")
        return action


def _principals_in_roles(action: ActionStatus, roles: t.Iterable[str]) -> t.Set[str]:
    principals: t.Set[str] = set()
    for role in roles:
        holders = getattr(action, role) or ()
        principals.update([holders] if isinstance(holders, str) else holders)
    return principals


def _too_large(error: RequestEntityTooLarge) -> t.Tuple[flask.Response, int]:
    return flask.jsonify({
        "code": "RequestTooLarge",
        "description": f"The request is over the limit of {MAX_REQUEST_BYTES} bytes",
    }), 413


def create_app(
    settings: Settings,
    *,
    local_tokens: t.Optional[t.Mapping[str, str]] = None,
    clock: t.Callable[[], float] = time.time,
) -> Flask:
    """The watchasay Flask app.

    local_tokens maps bearer tokens to identity ids accepted without Globus Auth (tests);
    when it is None and settings.dev_token is set, that token stands for DEV_IDENTITY_ID.
    Otherwise tokens are introspected by Globus Auth with CLIENT_ID and CLIENT_SECRET.
    clock (epoch seconds) times actions' completion and expiry; tests move it forward.
    """
    if local_tokens is None and settings.dev_token:
        local_tokens = {settings.dev_token: DEV_IDENTITY_ID}

    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = MAX_REQUEST_BYTES
    app.register_error_handler(RequestEntityTooLarge, _too_large)
    app.logger.addFilter(_NoBodies())
    app.url_map.strict_slashes = False
    assign_json_provider(app)  # so the app, too, can serialize the toolkit's models
    app.config["CLIENT_ID"] = settings.client_id
    app.config["CLIENT_SECRET"] = settings.client_secret

    description = ActionProviderDescription(
        globus_auth_scope=settings.scope,
        title="watchasay",
        subtitle="An Action Provider that says back what you said",
        admin_contact="watchasay@localhost",
        synchronous=True,
        input_schema=load_schema(),
        log_supported=False,
        visible_to=["public"],
        runnable_by=["all_authenticated_users"],
    )
    blueprint = WatchasayBlueprint(
        description,
        "skeleton",
        __name__,
        url_prefix="/skeleton",
        local_tokens=local_tokens,
    )
    provider = WatchasayProvider(ActionStore(settings.db_path, clock=clock))
    blueprint.action_run(provider.run)
    blueprint.action_status(provider.status)
    blueprint.action_cancel(provider.cancel)
    blueprint.action_release(provider.release)
    blueprint.action_enumerate(provider.enumerate)
    app.register_blueprint(blueprint)
    return app
