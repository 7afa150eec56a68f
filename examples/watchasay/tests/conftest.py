"""Fixtures: a watchasay app on a temporary SQLite file, with the authentication patch.

The patch is create_app's local_tokens: two made-up bearer tokens stand for two made-up
identities, checked locally, so no CLIENT_ID, CLIENT_SECRET or real token is needed.
Only use it in tests. The app's clock is one the tests move forward, so expiry needs no sleep.
"""

import time
import typing as t

import pytest
from config import Settings
from provider import create_app

SCOPE = "https://auth.globus.org/scopes/00000000-0000-4000-8000-0000000000aa/action_all"
ALICE_ID = "a11ce000-0000-4000-8000-000000000001"
BOB_ID = "b0b00000-0000-4000-8000-000000000002"
ALICE = "alice-test-token-0001"
BOB = "bob-test-token-0002"
LOCAL_TOKENS = {ALICE: ALICE_ID, BOB: BOB_ID}


def urn(identity_id: str) -> str:
    return f"urn:globus:auth:identity:{identity_id}"


def bearer(token: str) -> t.Dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


class Clock:
    """Real time plus an offset that tests advance instead of sleeping."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(
        client_id="", client_secret="", scope=SCOPE, db_path=str(tmp_path / "actions.db")
    )


@pytest.fixture
def make_client(settings, clock):
    """A new app on the same database each call: calling it again is a restart."""

    def make():
        return create_app(settings, local_tokens=LOCAL_TOKENS, clock=clock).test_client()

    return make


@pytest.fixture
def client(make_client):
    return make_client()


@pytest.fixture
def run(client):
    """POST /skeleton/run; returns the response."""

    def post(request_id: str, text: t.Any = "hey", *, token: str = ALICE, **fields):
        payload = {"request_id": request_id, "body": {"input_string": text}, **fields}
        return client.post("/skeleton/run", json=payload, headers=bearer(token))

    return post
