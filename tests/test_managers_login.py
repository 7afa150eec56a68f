"""Login managers: tokens by scope, logins only when allowed, logout revokes."""

import io
import stat
import sys
import time

import globus_sdk
import pytest
from globus_sdk.scopes import FlowsScopes, TransferScopes
from globus_sdk.testing import load_response
from globus_sdk.token_storage import SQLiteTokenStorage, TokenStorageData

from gladier.exc import AuthException, ConfigException
from gladier.managers import (
    CallbackLoginManager,
    ConfidentialClientLoginManager,
    UserAppLoginManager,
)
from gladier.managers import login_manager as login_module

CLIENT_ID = "7414f0b4-7d05-4bb6-bb00-076fa3f17cf5"
MANAGE = str(FlowsScopes.manage_flows)
RUN_STATUS = str(FlowsScopes.run_status)
TRANSFER = str(TransferScopes.all)


def authorizer(name):
    return globus_sdk.AccessTokenAuthorizer(name)


@pytest.fixture
def tokens_path(tmp_path):
    return tmp_path / ".gladier" / "client.db"


@pytest.fixture
def config_path(tmp_path):
    return tmp_path / ".gladier" / "client.cfg"


@pytest.fixture
def no_terminal(monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO())


def store_flows_tokens(tokens_path):
    """Tokens as a previous login left them: flows.globus.org with two of its scopes."""
    storage = login_module.open_token_storage(tokens_path, namespace="gladier_storage")
    storage.store_token_data_by_resource_server({
        "flows.globus.org": TokenStorageData(
            resource_server="flows.globus.org", identity_id=None,
            scope=f"{MANAGE} {RUN_STATUS}", access_token="flows-access",
            refresh_token="flows-refresh", expires_at_seconds=int(time.time()) + 3600,
            token_type="Bearer",
        )
    })


def test_callback_login_manager_asks_callback_only_for_missing_scopes():
    asked = []

    def callback(scopes):
        asked.append(scopes)
        return {scope: authorizer(scope) for scope in scopes}

    manager = CallbackLoginManager({MANAGE: authorizer("m")}, callback=callback)
    manager.add_requirements([MANAGE, TRANSFER])

    authorizers = manager.get_manager_authorizers()

    assert asked == [[TRANSFER]]
    assert set(authorizers) == {MANAGE, TRANSFER}
    assert manager.is_logged_in()


def test_callback_login_manager_refuses_authorizers_that_are_not_a_dict():
    with pytest.raises(ConfigException, match=r"must be a dict \{scope: authorizer\}, got list"):
        CallbackLoginManager([authorizer("m")])


def test_callback_login_manager_without_callback_names_missing_scopes():
    manager = CallbackLoginManager({MANAGE: authorizer("m")})
    manager.add_requirements([MANAGE, TRANSFER])

    with pytest.raises(AuthException, match=TRANSFER) as raised:
        manager.get_manager_authorizers()
    assert raised.value.missing_scopes == [TRANSFER]


def test_scope_change_makes_a_held_scope_missing_until_new_login():
    manager = CallbackLoginManager({MANAGE: authorizer("old")},
                                   callback=lambda scopes: {s: authorizer("new") for s in scopes})
    manager.add_requirements([MANAGE])
    manager.add_scope_change([MANAGE])

    assert manager.missing_authorizers == {MANAGE}
    manager.get_manager_authorizers()
    assert manager.is_logged_in()
    assert manager.authorizers[MANAGE].access_token == "new"


def test_user_app_login_without_terminal_raises_naming_scopes(no_terminal, tokens_path):
    manager = UserAppLoginManager(client_id=CLIENT_ID, tokens_path=tokens_path)
    manager.add_requirements([MANAGE, TRANSFER])

    with pytest.raises(AuthException, match="no terminal") as raised:
        manager.get_manager_authorizers()

    assert raised.value.missing_scopes == sorted([MANAGE, TRANSFER])
    assert not tokens_path.exists()


def test_user_app_with_auto_login_off_never_starts_a_login(monkeypatch, tokens_path):
    monkeypatch.setattr(login_module, "can_prompt", lambda: True)
    monkeypatch.setattr(globus_sdk.UserApp, "login",
                        lambda *a, **k: pytest.fail("an interactive login was started"))
    manager = UserAppLoginManager(client_id=CLIENT_ID, tokens_path=tokens_path,
                                  auto_login=False)
    manager.add_requirements([TRANSFER])

    with pytest.raises(AuthException, match="auto_login=False") as raised:
        manager.get_manager_authorizers()
    assert raised.value.missing_scopes == [TRANSFER]


def test_user_app_hands_out_stored_tokens_by_scope(no_terminal, tokens_path):
    store_flows_tokens(tokens_path)
    manager = UserAppLoginManager(client_id=CLIENT_ID, tokens_path=tokens_path)
    manager.add_requirements([MANAGE, RUN_STATUS])

    authorizers = manager.get_manager_authorizers()

    assert set(authorizers) == {MANAGE, RUN_STATUS}
    assert authorizers[MANAGE].get_authorization_header() == "Bearer flows-access"


def test_user_app_logout_revokes_and_forgets_tokens(mocked_responses, tokens_path):
    store_flows_tokens(tokens_path)
    load_response(globus_sdk.NativeAppAuthClient.oauth2_revoke_token)
    manager = UserAppLoginManager(client_id=CLIENT_ID, tokens_path=tokens_path)

    manager.logout()

    revoked = {c.request.body for c in mocked_responses.calls}
    assert any("flows-access" in body for body in revoked)
    assert any("flows-refresh" in body for body in revoked)
    assert manager.get_authorizers() == {}
    stored = SQLiteTokenStorage(tokens_path, namespace="gladier_storage")
    assert stored.get_token_data_by_resource_server() == {}


def test_token_storage_file_is_created_owner_only(tokens_path):
    store_flows_tokens(tokens_path)

    assert stat.S_IMODE(tokens_path.stat().st_mode) == 0o600


def test_confidential_client_logs_in_with_client_credentials(mocked_responses, config_path,
                                                              no_terminal):
    load_response(globus_sdk.ConfidentialAppAuthClient.oauth2_client_credentials_tokens)
    manager = ConfidentialClientLoginManager(CLIENT_ID, "s3cret", config_path)
    manager.add_requirements([TRANSFER])

    authorizers = manager.get_manager_authorizers()

    assert TRANSFER in authorizers
    assert "grant_type=client_credentials" in mocked_responses.calls[0].request.body
    assert stat.S_IMODE(config_path.stat().st_mode) == 0o600
    assert f"[tokens_{CLIENT_ID}]" in config_path.read_text()
    assert "transfer_api_globus_org__access_token = DUMMY_TRANSFER_TOKEN_FROM_THE_INTERTUBES" \
        in config_path.read_text()


def test_confidential_client_uses_tokens_stored_by_an_earlier_process(
        mocked_responses, config_path, no_terminal):
    load_response(globus_sdk.ConfidentialAppAuthClient.oauth2_client_credentials_tokens)
    first = ConfidentialClientLoginManager(CLIENT_ID, "s3cret", config_path)
    first.add_requirements([TRANSFER])
    first.get_manager_authorizers()

    later = ConfidentialClientLoginManager(CLIENT_ID, "s3cret", storage=config_path)
    later.add_requirements([TRANSFER])
    authorizers = later.get_manager_authorizers()

    assert authorizers[TRANSFER].get_authorization_header() == \
        "Bearer DUMMY_TRANSFER_TOKEN_FROM_THE_INTERTUBES"
    assert len(mocked_responses.calls) == 1


@pytest.mark.parametrize("scope, resource_server", [
    (MANAGE, "flows.globus.org"),
    (TRANSFER, "transfer.api.globus.org"),
    ("https://auth.globus.org/scopes/24bc4997-b483-4c25-a19c-64b0afc00743/"
     "flow_24bc4997_b483_4c25_a19c_64b0afc00743_user", "24bc4997-b483-4c25-a19c-64b0afc00743"),
])
def test_resource_server_for_scope(scope, resource_server):
    assert login_module.resource_server_for(scope) == resource_server
