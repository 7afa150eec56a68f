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
import uuid

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
from globus_sdk.token_storage import TokenStorage, TokenValidationError

from gladier.exc import AuthException, ConfigException
from gladier.storage.config import (
    GladierConfig,
    config_client_id,
    default_config_path,
    tokens_section_name,
)
from gladier.storage.tokens import (
    USER_TOKENS_NAMESPACE,
    ConfigTokenStorage,
    open_token_storage,
    tokens_path_for,
)

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


class LocalLoginManager(BaseLoginManager):
    """The login manager of a client on the embedded engine, which needs no tokens: it
    records requirements (scripts written for Globus call ``add_requirements``), hands out
    no authorizers and never logs in."""

    def get_authorizers(self) -> AuthorizerMap:
        return {}

    def get_missing_authorizers(self, authorizers: AuthorizerMap) -> set[str]:
        return set()

    def login(self, scopes: t.Iterable[str] | None = None) -> None:
        """Nothing to log in to on the embedded engine."""

    def logout(self) -> None:
        """No tokens to revoke on the embedded engine."""


def _config_of(storage: t.Any) -> GladierConfig | None:
    """The config file behind a login manager's ``storage`` argument: a path, a
    :class:`GladierConfig`, a client's ``storage`` section, or an object with
    ``filename`` (0.11's ``GladierSecretsConfig``)."""
    if storage is None:
        return None
    if isinstance(storage, GladierConfig):
        return storage
    if isinstance(getattr(storage, "config", None), GladierConfig):
        return storage.config
    path = getattr(storage, "filename", storage)
    if isinstance(path, (str, os.PathLike)):
        return GladierConfig(path)
    raise ConfigException(
        "A login manager's storage is the client's config file: a path, a GladierConfig or "
        f"a client's .storage, got {type(storage).__name__} {storage!r}"
    )


class _GlobusAppLoginManager(BaseLoginManager):
    """Shared by the managers built on a ``globus_sdk.GlobusApp``.

    Where tokens are kept follows the config file (``storage``): given here, or set by the
    client that uses the manager (:meth:`use_config`), else ``~/.gladier/<client_id>.cfg``.
    """

    def __init__(self, client_id: str, app_name: str, storage: t.Any = None) -> None:
        super().__init__()
        if not client_id or not isinstance(client_id, (str, uuid.UUID)):
            raise ConfigException(
                f"{type(self).__name__} needs a Globus client id (a UUID string), "
                f"got {client_id!r}"
            )
        self.client_id = str(client_id)
        self.app_name = app_name
        self.config: GladierConfig | None = _config_of(storage)
        self._app: globus_sdk.GlobusApp | None = None

    def use_config(self, config: GladierConfig) -> None:
        """Keep tokens with ``config`` unless the manager was given its own storage."""
        if self.config is None and self._app is None:
            self.config = config

    def _config(self) -> GladierConfig:
        if self.config is None:
            self.config = GladierConfig(default_config_path(config_client_id(self.client_id)))
        return self.config

    @abc.abstractmethod
    def _token_storage(self) -> TokenStorage: ...

    @abc.abstractmethod
    def _has_tokens(self) -> bool:
        """Whether anything is stored yet (so a first look creates no file)."""

    @abc.abstractmethod
    def _make_app(self, config: globus_sdk.GlobusAppConfig) -> globus_sdk.GlobusApp: ...

    @property
    def app(self) -> globus_sdk.GlobusApp:
        """The GlobusApp, built on first use (it opens, and may create, the token file)."""
        if self._app is None:
            config = globus_sdk.GlobusAppConfig(
                token_storage=self._token_storage(),
                request_refresh_tokens=True,
                token_validation_error_handler=None,
            )
            self._app = self._make_app(config)
        return self._app

    def get_authorizers(self) -> AuthorizerMap:
        if self._app is None and not self._has_tokens():
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

    def _request(self, scopes: t.Iterable[str], **login_options: t.Any) -> None:
        by_server: dict[str, list[str]] = {}
        for scope in scopes:
            by_server.setdefault(resource_server_for(scope), []).append(scope)
        self.app.add_scope_requirements(by_server)
        self.app.login(force=True, **login_options)

    def logout(self) -> None:
        if self._app is None and not self._has_tokens():
            return
        self.app.logout(sweep=True)


def token_namespace(name: str) -> str:
    """Where a login's tokens are kept: ``name`` (Gladier 0.11's) for production, and
    ``name/<environment>`` for another ``GLOBUS_SDK_ENVIRONMENT`` (as globus-cli keeps
    them), so sandbox or test tokens are never sent to production."""
    environment = os.environ.get("GLOBUS_SDK_ENVIRONMENT") or "production"
    return name if environment == "production" else f"{name}/{environment}"


class UserAppLoginManager(_GlobusAppLoginManager):
    """A person logs in through ``globus_sdk.UserApp`` (native app, refresh tokens).

    Takes Gladier 0.11's arguments. Tokens are kept beside the config file, in
    ``<config file stem>.db`` (namespace ``gladier_storage``), where 0.11 keeps them.

    :param client_id: the native app's Globus client id
    :param app_name: shown on the Globus consent page
    :param globus_auth_parameters: a ``globus_sdk.gare.GlobusAuthorizationParameters``
        passed to every login (e.g. ``session_required_identities``)
    :param storage: the config file the tokens live beside (default: the client's)
    :param tokens_path: the SQLite token file itself, instead of the one beside ``storage``
    :param auto_login: when false, a missing scope raises :class:`AuthException` instead
        of starting a login; ``login()`` called directly still works.
    """

    def __init__(self, client_id: str, app_name: str = "Gladier Client",
                 globus_auth_parameters: t.Any = None, storage: t.Any = None, *,
                 tokens_path: str | pathlib.Path | None = None,
                 auto_login: bool = True) -> None:
        super().__init__(client_id, app_name, storage)
        self.globus_auth_parameters = globus_auth_parameters
        self.auto_login = auto_login
        self._tokens_path = pathlib.Path(tokens_path) if tokens_path is not None else None
        self.token_namespace = token_namespace(USER_TOKENS_NAMESPACE)

    @property
    def tokens_path(self) -> pathlib.Path:
        """The SQLite token file: as given, else beside the config file."""
        if self._tokens_path is not None:
            return self._tokens_path
        return tokens_path_for(self._config().path)

    def _has_tokens(self) -> bool:
        return self.tokens_path.exists()

    def _token_storage(self) -> TokenStorage:
        return open_token_storage(self.tokens_path, namespace=self.token_namespace)

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
        options = {}
        if self.globus_auth_parameters is not None:
            options["auth_params"] = self.globus_auth_parameters
        self._request(scopes, **options)

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

    Takes Gladier 0.11's arguments. Used automatically when ``GLADIER_CLIENT_ID`` and
    ``GLADIER_CLIENT_SECRET`` are set; it never prompts, so it suits batch jobs. Its tokens
    are kept in the config file (``storage``), section ``[tokens_<client_id>]``, as 0.11
    keeps them.
    """

    def __init__(self, client_id: str, client_secret: str, storage: t.Any = None, *,
                 app_name: str = "Gladier Client") -> None:
        super().__init__(client_id, app_name, storage)
        self.client_secret = client_secret
        #: a 0.11 ``GladierSecretsConfig`` names its own tokens section
        self.tokens_section = getattr(storage, "tokens_section", None) or \
            token_namespace(tokens_section_name(self.client_id))

    def _has_tokens(self) -> bool:
        return bool(self._config().items(self.tokens_section))

    def _token_storage(self) -> TokenStorage:
        return ConfigTokenStorage(self._config(), self.tokens_section)

    def _make_app(self, config: globus_sdk.GlobusAppConfig) -> globus_sdk.GlobusApp:
        return globus_sdk.ClientApp(
            self.app_name, client_id=self.client_id, client_secret=self.client_secret,
            config=config,
        )

    def login(self, scopes: t.Iterable[str] | None = None) -> None:
        self._request(sorted(set(scopes) if scopes is not None else self.required_scopes))
