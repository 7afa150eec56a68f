"""Login managers: where a client's Globus tokens come from.

Every manager hands out authorizers keyed by scope (``get_manager_authorizers``). When a
required scope is missing, or a scope gained dependencies (a flow now calls a new action
provider), the manager logs in again, or raises :class:`AuthException` naming the scopes
when it may not: ``auto_login=False``, or no terminal to ask a person at (batch jobs).
"""

from __future__ import annotations

import abc
import logging
import os
import pathlib
import sys
import typing as t

import globus_sdk
from globus_sdk.authorizers import GlobusAuthorizer
from globus_sdk.scopes import (
    AuthScopes,
    ComputeScopes,
    FlowsScopes,
    GroupsScopes,
    SearchScopes,
    TransferScopes,
)
from globus_sdk.token_storage import TokenValidationError

from gladier.exc import AuthException, ConfigException
from gladier.storage.tokens import open_token_storage

log = logging.getLogger(__name__)

AuthorizerMap = t.Mapping[str, GlobusAuthorizer]

_KNOWN_SCOPE_COLLECTIONS = (
    AuthScopes, ComputeScopes, FlowsScopes, GroupsScopes, SearchScopes, TransferScopes,
)


def resource_server_for(scope: str) -> str:
    """The resource server whose token carries ``scope``.

    Well-known services are looked up (the Flows scopes live under ``flows.globus.org``);
    any other ``https://auth.globus.org/scopes/<id>/<name>`` scope belongs to ``<id>``
    (a deployed flow's scope belongs to the flow id).
    """
    for collection in _KNOWN_SCOPE_COLLECTIONS:
        if scope in {str(s) for s in collection}:
            return collection.resource_server
    prefix = "https://auth.globus.org/scopes/"
    if scope.startswith(prefix):
        return scope[len(prefix):].split("/", 1)[0]
    if scope.startswith("urn:globus:auth:scope:"):
        return scope.split(":")[4]
    return scope


def can_prompt() -> bool:
    """True when a person can answer a login prompt: a terminal, or a Jupyter kernel."""
    if sys.stdin is not None and sys.stdin.isatty():
        return True
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None  # type: ignore[attr-defined]
    return shell is not None and getattr(shell, "kernel", None) is not None


class BaseLoginManager(abc.ABC):
    """Tracks which scopes are required and which need a fresh consent."""

    def __init__(self) -> None:
        self.required_scopes: set[str] = set()
        self.scope_changes: set[str] = set()

    @abc.abstractmethod
    def get_authorizers(self) -> AuthorizerMap:
        """Authorizers available now, keyed by scope. Must never start a login."""

    @abc.abstractmethod
    def login(self, scopes: t.Iterable[str] | None = None) -> None:
        """Obtain tokens for ``scopes`` (default: every required scope)."""

    @abc.abstractmethod
    def logout(self) -> None:
        """Revoke and forget every token this manager holds."""

    @property
    def missing_authorizers(self) -> set[str]:
        return self.get_missing_authorizers(self.get_authorizers())

    def get_missing_authorizers(self, authorizers: AuthorizerMap) -> set[str]:
        """Required scopes with no authorizer, plus scopes that need a new consent."""
        return (self.required_scopes - {str(scope) for scope in authorizers}) | self.scope_changes

    def is_logged_in(self) -> bool:
        return not self.missing_authorizers

    def add_requirements(self, scopes: t.Iterable[str]) -> None:
        """Require ``scopes`` (strings or globus_sdk ``Scope`` objects)."""
        self.required_scopes |= {str(scope) for scope in scopes}

    def add_scope_change(self, scopes: t.Iterable[str]) -> None:
        """Mark ``scopes`` as needing a new consent: their tokens no longer suffice."""
        self.scope_changes |= {str(scope) for scope in scopes}

    def clear_scope_changes(self) -> None:
        self.scope_changes = set()

    def get_manager_authorizers(self) -> AuthorizerMap:
        """Authorizers for every required scope, logging in first if any are missing.

        :raises AuthException: naming the scopes that could not be obtained
        """
        missing = self.missing_authorizers
        if missing:
            log.info("Logging in for missing scopes: %s", sorted(missing))
            self.login(missing)
            self.clear_scope_changes()
            missing = self.missing_authorizers
        if missing:
            raise AuthException(
                f"Login did not provide tokens for: {', '.join(sorted(missing))}", missing
            )
        return self.get_authorizers()


class CallbackLoginManager(BaseLoginManager):
    """Authorizers given by the caller; ``callback(scopes)`` supplies missing ones.

    :param authorizers: ``{scope: authorizer}`` to start with
    :param callback: called with a list of missing scopes; returns ``{scope: authorizer}``
    """

    def __init__(self, authorizers: AuthorizerMap | None = None,
                 callback: t.Callable[[list[str]], AuthorizerMap] | None = None) -> None:
        super().__init__()
        if authorizers is not None and not isinstance(authorizers, t.Mapping):
            raise ConfigException(
                "authorizers (of the client or CallbackLoginManager) must be a dict "
                f"{{scope: authorizer}}, got {type(authorizers).__name__} {authorizers!r}"
            )
        # Keyed by scope string, whether given strings or globus_sdk Scope objects.
        self.authorizers: dict[str, GlobusAuthorizer] = {
            str(scope): authorizer for scope, authorizer in (authorizers or {}).items()}
        self.callback = callback

    def get_authorizers(self) -> AuthorizerMap:
        return self.authorizers

    def login(self, scopes: t.Iterable[str] | None = None) -> None:
        scopes = list(dict.fromkeys(str(scope) for scope in scopes)) if scopes is not None \
            else sorted(self.required_scopes)
        if self.callback is None:
            raise AuthException(
                "The authorizers given do not cover these scopes and no login callback is "
                f"set: {', '.join(scopes)}", scopes,
            )
        self.authorizers.update(
            {str(scope): authorizer for scope, authorizer in self.callback(scopes).items()})

    def logout(self) -> None:
        """Forget the authorizers (they belong to the caller, who may revoke them)."""
        self.authorizers = {}


class _GlobusAppLoginManager(BaseLoginManager):
    """Shared by the managers built on a ``globus_sdk.GlobusApp`` and a SQLite token file."""

    def __init__(self, *, client_id: str, tokens_path: str | pathlib.Path, app_name: str,
                 token_namespace: str) -> None:
        super().__init__()
        self.client_id = client_id
        self.app_name = app_name
        self.tokens_path = pathlib.Path(tokens_path)
        #: one namespace per app and client id, so switching ids never mixes their tokens
        self.token_namespace = token_namespace
        self._app: globus_sdk.GlobusApp | None = None

    @abc.abstractmethod
    def _make_app(self, config: globus_sdk.GlobusAppConfig) -> globus_sdk.GlobusApp: ...

    @property
    def app(self) -> globus_sdk.GlobusApp:
        """The GlobusApp, built on first use (it opens, and may create, the token file)."""
        if self._app is None:
            storage = open_token_storage(self.tokens_path, namespace=self.token_namespace)
            config = globus_sdk.GlobusAppConfig(
                token_storage=storage,
                request_refresh_tokens=True,
                token_validation_error_handler=None,
            )
            self._app = self._make_app(config)
        return self._app

    def get_authorizers(self) -> AuthorizerMap:
        if self._app is None and not self.tokens_path.exists():
            return {}
        stored = self.app.token_storage.get_token_data_by_resource_server()
        # A ClientApp makes an authorizer only for a server it has scope requirements for,
        # and a new process has none until it logs in: require what the tokens hold.
        self.app.add_scope_requirements({
            server: data.scope.split() for server, data in stored.items()
            if server not in self.app.scope_requirements
        })
        authorizers: dict[str, GlobusAuthorizer] = {}
        for resource_server, token_data in stored.items():
            try:
                authorizer = self.app.get_authorizer(resource_server)
            except TokenValidationError as error:
                log.info("Stored tokens for %s are unusable: %s", resource_server, error)
                continue
            for scope in token_data.scope.split():
                authorizers[scope] = authorizer
        return authorizers

    def _request(self, scopes: t.Iterable[str]) -> None:
        by_server: dict[str, list[str]] = {}
        for scope in scopes:
            by_server.setdefault(resource_server_for(scope), []).append(scope)
        self.app.add_scope_requirements(by_server)
        self.app.login(force=True)

    def logout(self) -> None:
        if self._app is None and not self.tokens_path.exists():
            return
        self.app.logout(sweep=True)


def token_namespace(kind: str, client_id: str) -> str:
    """Where a login's tokens are kept in the token file: one namespace per kind of login,
    client id and Globus environment (``GLOBUS_SDK_ENVIRONMENT``, as globus-cli keeps
    them), so sandbox or test tokens are never sent to production. Production keeps the
    plain ``kind/client_id``, where earlier versions stored its tokens."""
    environment = os.environ.get("GLOBUS_SDK_ENVIRONMENT") or "production"
    name = f"{kind}/{client_id}"
    return name if environment == "production" else f"{name}/{environment}"


class UserAppLoginManager(_GlobusAppLoginManager):
    """A person logs in through ``globus_sdk.UserApp`` (native app, refresh tokens).

    :param auto_login: when false, a missing scope raises :class:`AuthException` instead
        of starting a login; ``login()`` called directly still works.
    """

    def __init__(self, *, client_id: str, tokens_path: str | pathlib.Path,
                 app_name: str = "Gladier Client", auto_login: bool = True) -> None:
        super().__init__(client_id=client_id, tokens_path=tokens_path, app_name=app_name,
                         token_namespace=token_namespace("user", client_id))
        self.auto_login = auto_login

    def _make_app(self, config: globus_sdk.GlobusAppConfig) -> globus_sdk.GlobusApp:
        return globus_sdk.UserApp(self.app_name, client_id=self.client_id, config=config)

    def login(self, scopes: t.Iterable[str] | None = None) -> None:
        scopes = sorted(set(scopes) if scopes is not None else self.required_scopes)
        if not can_prompt():
            raise AuthException(
                "Login needed but there is no terminal to log in from (batch job?). Log in "
                "once interactively, or set GLADIER_CLIENT_ID and GLADIER_CLIENT_SECRET. "
                f"Missing scopes: {', '.join(scopes)}", scopes,
            )
        self._request(scopes)

    def get_manager_authorizers(self) -> AuthorizerMap:
        missing = self.missing_authorizers
        if missing and not self.auto_login:
            raise AuthException(
                "Automatic login is disabled (auto_login=False); call login() first. "
                f"Missing scopes: {', '.join(sorted(missing))}", missing,
            )
        return super().get_manager_authorizers()


class ConfidentialClientLoginManager(_GlobusAppLoginManager):
    """A service identity logs in with a client id and secret (``globus_sdk.ClientApp``).

    Used automatically when ``GLADIER_CLIENT_ID`` and ``GLADIER_CLIENT_SECRET`` are set;
    it never prompts, so it suits batch jobs.
    """

    def __init__(self, *, client_id: str, client_secret: str,
                 tokens_path: str | pathlib.Path, app_name: str = "Gladier Client") -> None:
        super().__init__(client_id=client_id, tokens_path=tokens_path, app_name=app_name,
                         token_namespace=token_namespace("client", client_id))
        self.client_secret = client_secret

    def _make_app(self, config: globus_sdk.GlobusAppConfig) -> globus_sdk.GlobusApp:
        return globus_sdk.ClientApp(
            self.app_name, client_id=self.client_id, client_secret=self.client_secret,
            config=config,
        )

    def login(self, scopes: t.Iterable[str] | None = None) -> None:
        self._request(sorted(set(scopes) if scopes is not None else self.required_scopes))
