"""Without local tokens, watchasay has Globus Auth introspect every bearer token.

Globus Auth is answered by globus-sdk's canned responses (through `responses`): nothing
leaves the machine and no real client credentials are used.
"""

import base64

import pytest
import responses
from conftest import SCOPE, bearer, urn
from globus_sdk._testing import RegisteredResponse, get_last_request, get_response_set

from config import Settings
from globus_action_provider_tools import AuthState
from provider import create_app

CLIENT_ID = "c11e0700-0000-4000-8000-0000000000cc"
CLIENT_SECRET = "made-up-client-secret"
TOKEN = "globus-issued-looking-token-0001"


@pytest.fixture
def globus_client(tmp_path):
    AuthState.introspect_cache.clear()  # the toolkit caches introspections per token
    settings = Settings(
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        scope=SCOPE,
        db_path=str(tmp_path / "actions.db"),
    )
    responses.start()
    yield create_app(settings).test_client()
    responses.stop()
    responses.reset()


def answer_introspection(*, active: bool = True, scope: str = SCOPE) -> dict:
    """Have Globus Auth answer with the SDK's canned introspection; returns its identity."""
    canned = get_response_set("auth.oauth2_token_introspect").lookup("default")
    body = {**canned.json, "scope": scope, "identity_set": [canned.metadata["id"]]}
    RegisteredResponse(
        service="auth",
        path="/v2/oauth2/token/introspect",
        method="POST",
        json=body if active else {"active": False},
    ).add()
    return canned.metadata


def _run(client):
    return client.post(
        "/skeleton/run",
        json={"request_id": "r1", "body": {"input_string": "via auth"}},
        headers=bearer(TOKEN),
    )


def test_active_token_with_provider_scope_runs_as_its_identity(globus_client):
    identity = answer_introspection()
    reply = _run(globus_client)
    assert reply.status_code == 202
    assert reply.get_json()["creator_id"] == urn(identity["id"])
    assert reply.get_json()["details"] == {"you_said": "via auth"}


def test_introspection_uses_the_provider_client_credentials(globus_client):
    answer_introspection()
    _run(globus_client)
    introspect = get_last_request()
    assert introspect.url == "https://auth.globus.org/v2/oauth2/token/introspect"
    assert f"token={TOKEN}" in introspect.body
    assert "include=identity_set" in introspect.body
    credentials = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
    assert introspect.headers["Authorization"] == f"Basic {credentials}"


def test_inactive_token_is_401(globus_client):
    answer_introspection(active=False)
    assert _run(globus_client).status_code == 401


def test_token_without_the_provider_scope_is_401(globus_client):
    answer_introspection(scope="urn:globus:auth:scope:transfer.api.globus.org:all")
    assert _run(globus_client).status_code == 401


def test_introspection_needs_no_token(globus_client):
    assert globus_client.get("/skeleton/").status_code == 200
    assert len(responses.calls) == 0
