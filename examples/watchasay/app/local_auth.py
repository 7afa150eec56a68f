"""Authentication against a fixed table of bearer tokens, checked on this machine.

Development mode (WATCHASAY_DEV_TOKEN) and the tests use it instead of Globus Auth token
introspection. The tokens are accepted only from loopback clients.
"""

from __future__ import annotations

import hmac
import ipaddress
import typing as t

import flask
from globus_action_provider_tools import AuthState
from globus_action_provider_tools.errors import UnverifiedAuthenticationError
from globus_action_provider_tools.flask import ActionProviderBlueprint

#: The one identity WATCHASAY_DEV_TOKEN stands for.
DEV_IDENTITY_ID = "0d0d0d0d-0000-4000-8000-000000000001"


def is_loopback(host: t.Optional[str]) -> bool:
    """True for "localhost" and loopback IP addresses (127.0.0.0/8, ::1)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host or "").is_loopback
    except ValueError:
        return False


class LocalAuthState(AuthState):
    """The toolkit's AuthState for an identity known without asking Globus Auth."""

    def __init__(
        self, identity_id: str, bearer_token: str, expected_scopes: frozenset
    ) -> None:
        self._identity_id = identity_id
        super().__init__(None, bearer_token, expected_scopes)

    def introspect_token(self) -> dict:
        return {
            "active": True,
            "sub": self._identity_id,
            "identity_set": [self._identity_id],
            "scope": " ".join(sorted(self.expected_scopes)),
        }

    @property
    def groups(self) -> frozenset:
        return frozenset()


class LocalTokenStateBuilder:
    """Builds AuthStates from a {bearer token: identity id} table (the toolkit's builder
    interface: build_from_request)."""

    def __init__(
        self, identities: t.Mapping[str, str], expected_scopes: t.Iterable[str]
    ) -> None:
        self._identities = dict(identities)
        self._expected_scopes = frozenset(expected_scopes)

    def build_from_request(
        self, *, request: t.Optional[flask.Request] = None
    ) -> AuthState:
        request = request or flask.request
        if not is_loopback(request.remote_addr):
            raise UnverifiedAuthenticationError(
                f"local tokens are accepted only from loopback, not {request.remote_addr}"
            )
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme != "Bearer" or not token.strip():
            raise UnverifiedAuthenticationError("No Bearer token in Authorization header")
        offered = token.strip().encode()
        for known, identity_id in self._identities.items():
            if hmac.compare_digest(known.encode(), offered):
                return LocalAuthState(identity_id, known, self._expected_scopes)
        raise UnverifiedAuthenticationError("token is not one of the local tokens")


class LocalAuthBlueprint(ActionProviderBlueprint):
    """The toolkit's blueprint; with local_tokens it authenticates them, not Globus Auth."""

    def __init__(
        self,
        *args: t.Any,
        local_tokens: t.Optional[t.Mapping[str, str]] = None,
        **kwargs: t.Any,
    ) -> None:
        self._local_tokens = local_tokens
        super().__init__(*args, **kwargs)

    def _create_state_builder(self, setup_state: flask.blueprints.BlueprintSetupState):
        # The toolkit's (private) hook that makes its Globus Auth client when the app
        # registers the blueprint; requirements.txt pins the toolkit version it is made for.
        if self._local_tokens is None:
            super()._create_state_builder(setup_state)
            return
        scopes = [self.provider_description.globus_auth_scope, *self.additional_scopes]
        self.state_builder = LocalTokenStateBuilder(self._local_tokens, scopes)
