"""watchasay: an Action Provider that echoes "input_string" back as details.you_said.

The toolkit's Flask blueprint declares the Action Provider routes under /skeleton,
authenticates, validates requests against schema.json and hands valid ones to the
callbacks of WatchasayProvider, which keeps every action in an ActionStore until it is
released, or until its release_after has passed since it finished.
"""

from __future__ import annotations

import datetime
import json
import pathlib
import time
import typing as t

from flask import Flask
from globus_action_provider_tools import (
    ActionProviderDescription,
    ActionRequest,
    ActionStatus,
    ActionStatusValue,
    AuthState,
)
from globus_action_provider_tools.authorization import (
    authorize_action_access_or_404,
    authorize_action_management_or_404,
)
from globus_action_provider_tools.errors import AuthenticationError
from globus_action_provider_tools.flask.exceptions import ActionConflict, ActionNotFound
from globus_action_provider_tools.flask.helpers import assign_json_provider

from action_store import ActionStore, request_fingerprint
from config import Settings
from local_auth import DEV_IDENTITY_ID, LocalAuthBlueprint

SCHEMA_PATH = pathlib.Path(__file__).with_name("schema.json")
DEFAULT_RELEASE_AFTER = datetime.timedelta(days=30)

StatusReply = t.Tuple[ActionStatus, int]


def load_schema() -> dict:
    return json.loads(SCHEMA_PATH.read_text())


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
        return self._load(action_id, auth, authorize_action_access_or_404), 200

    def cancel(self, action_id: str, auth: AuthState) -> StatusReply:
        """A finished action stays as it is; an unfinished one ends FAILED."""
        action = self._load(action_id, auth, authorize_action_management_or_404)
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
        action = self._load(action_id, auth, authorize_action_management_or_404)
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

    def _load(
        self,
        action_id: str,
        auth: AuthState,
        authorize: t.Callable[[ActionStatus, AuthState], None],
    ) -> ActionStatus:
        # Someone else's action answers exactly like a missing one: nothing is revealed.
        self.store.forget_expired()  # an expired action answers 404, as if released
        action = self.store.get(action_id)
        if action is not None:
            try:
                authorize(action, auth)
                return action
            except AuthenticationError:
                pass
        raise ActionNotFound(f"No Action with id {action_id}")


def _principals_in_roles(action: ActionStatus, roles: t.Iterable[str]) -> t.Set[str]:
    principals: t.Set[str] = set()
    for role in roles:
        holders = getattr(action, role) or ()
        principals.update([holders] if isinstance(holders, str) else holders)
    return principals


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
    blueprint = LocalAuthBlueprint(
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
