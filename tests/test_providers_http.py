"""The HTTP Action Provider client against a real provider served on 127.0.0.1."""

from __future__ import annotations

import socket

import pytest
from ap_server import ActionProviderServer

from gladier.engine.providers.http import HttpActionProvider, token_for, tokens_from_env
from gladier.engine.providers.registry import ProviderRegistry
from gladier.exc import ActionProviderError, ActionProviderUnavailable, ConfigException


def request(body: dict, request_id: str = "run-1:State:0") -> dict:
    return {"request_id": request_id, "body": body, "label": "a test", "manage_by": ["urn:x"]}


def test_run_then_poll_until_succeeded(ap_server):
    provider = HttpActionProvider(ap_server.url)
    started = provider.run(request({"polls": 2, "message": "hi"}))
    assert started["status"] == "ACTIVE"
    assert provider.status(started["action_id"])["status"] == "ACTIVE"
    assert provider.status(started["action_id"])["status"] == "ACTIVE"
    final = provider.status(started["action_id"])
    assert final["status"] == "SUCCEEDED"
    assert final["details"] == {"echo": {"polls": 2, "message": "hi"}}
    assert ("POST", "/run", None) in ap_server.log


def test_same_request_id_returns_the_existing_action(ap_server):
    provider = HttpActionProvider(ap_server.url)
    first = provider.run(request({"polls": 5}))
    again = provider.run(request({"polls": 5}))
    assert again["action_id"] == first["action_id"]
    assert ap_server.runs_started == 1


def test_same_request_id_with_another_body_is_refused_with_409(ap_server):
    provider = HttpActionProvider(ap_server.url)
    provider.run(request({"polls": 5}))
    with pytest.raises(ActionProviderError) as caught:
        provider.run(request({"polls": 6}))
    assert caught.value.http_status == 409
    assert caught.value.body["code"] == "ActionConflict"


def test_run_refusal_carries_status_and_provider_error_body(ap_server):
    provider = HttpActionProvider(ap_server.url)
    with pytest.raises(ActionProviderError) as caught:
        provider.run({"request_id": "r", "body": "not an object"})
    assert caught.value.http_status == 422
    assert caught.value.body == {
        "code": "RequestValidationError",
        "description": "Field '$.body' must be an object",
    }
    assert "HTTP 422" in str(caught.value) and "$.body" in str(caught.value)


def test_cancel_makes_an_active_action_failed(ap_server):
    provider = HttpActionProvider(ap_server.url)
    started = provider.run(request({"polls": 100}))
    canceled = provider.cancel(started["action_id"])
    assert canceled["status"] == "FAILED"
    assert provider.status(started["action_id"])["details"] == {"canceled": True}


def test_release_refused_while_active_then_forgets_the_action(ap_server):
    provider = HttpActionProvider(ap_server.url)
    started = provider.run(request({"polls": 1}))
    with pytest.raises(ActionProviderError) as caught:
        provider.release(started["action_id"])
    assert caught.value.http_status == 409
    assert provider.status(started["action_id"])["status"] == "ACTIVE"
    assert provider.status(started["action_id"])["status"] == "SUCCEEDED"
    assert provider.release(started["action_id"])["status"] == "SUCCEEDED"
    with pytest.raises(ActionProviderError) as caught:
        provider.status(started["action_id"])
    assert caught.value.http_status == 404


def test_run_request_arriving_after_its_release_is_a_conflict(ap_server):
    provider = HttpActionProvider(ap_server.url)
    started = provider.run(request({}))
    provider.release(started["action_id"])
    with pytest.raises(ActionProviderError) as caught:
        provider.run(request({}))
    assert caught.value.http_status == 409 and "released" in str(caught.value)
    assert ap_server.runs_started == 1


def test_bearer_token_is_sent_and_a_missing_token_is_refused():
    server = ActionProviderServer(token="secret-token").start()
    try:
        with pytest.raises(ActionProviderError) as caught:
            HttpActionProvider(server.url).run(request({}))
        assert caught.value.http_status == 401
        assert "secret-token" not in str(caught.value)
        done = HttpActionProvider(server.url, token="secret-token").run(request({}))
        assert done["status"] == "SUCCEEDED"
        assert server.log[-1] == ("POST", "/run", "Bearer secret-token")
    finally:
        server.stop()


def test_new_style_provider_is_used_through_actions_paths():
    server = ActionProviderServer(new_style=True).start()
    try:
        provider = HttpActionProvider(server.url)
        started = provider.run(request({}))
        assert provider.status(started["action_id"])["status"] == "SUCCEEDED"
        assert provider.release(started["action_id"])["status"] == "SUCCEEDED"
        methods_paths = [(method, path) for method, path, _ in server.log]
        assert methods_paths == [
            ("POST", "/run"),
            ("POST", "/actions"),
            ("GET", f"/actions/{started['action_id']}"),
            ("DELETE", f"/actions/{started['action_id']}"),
        ]
    finally:
        server.stop()


def test_server_error_on_status_raises_unavailable_so_the_engine_retries(ap_server):
    provider = HttpActionProvider(ap_server.url)
    started = provider.run(request({"polls": 3}))
    ap_server.canned[("GET", f"/{started['action_id']}/status")] = (503, "text/plain", "overloaded")
    with pytest.raises(ActionProviderUnavailable) as caught:
        provider.status(started["action_id"])
    assert caught.value.http_status == 503
    assert "overloaded" in str(caught.value)


@pytest.mark.parametrize(
    "content_type, text, reason",
    [
        ("text/html", "<html>hello</html>", "not JSON"),
        ("application/json", "[1, 2]", "not an object"),
        ("application/json", '{"status": "ACTIVE"}', "without 'action_id'"),
        ("application/json", '{"action_id": "a", "status": "RUNNING"}', "unknown status 'RUNNING'"),
    ],
)
def test_answers_that_are_not_action_statuses_are_errors_saying_why(
    ap_server, content_type, text, reason
):
    ap_server.canned[("POST", "/run")] = (202, content_type, text)
    with pytest.raises(ActionProviderError) as caught:
        HttpActionProvider(ap_server.url).run(request({}))
    assert reason in str(caught.value)
    assert not isinstance(caught.value, ActionProviderUnavailable)


def test_unreachable_provider_raises_unavailable():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(ActionProviderUnavailable) as caught:
        HttpActionProvider(f"http://127.0.0.1:{port}", timeout=2).run(request({}))
    assert f"127.0.0.1:{port}" in str(caught.value)


def test_token_for_picks_longest_prefix_at_a_path_boundary():
    tokens = {
        "https://ap.example.org": "host-token",
        "https://ap.example.org/special/": "special-token",
    }
    assert token_for("https://ap.example.org/echo", tokens) == "host-token"
    assert token_for("https://ap.example.org/special/echo", tokens) == "special-token"
    assert token_for("https://ap.example.org/specialist", tokens) == "host-token"
    assert token_for("https://ap.example.org.evil.net/echo", tokens) is None


def test_tokens_from_env_rejects_malformed_json_without_echoing_it():
    with pytest.raises(ConfigException) as caught:
        tokens_from_env({"GLADIER_LOCAL_TOKENS": '{"https://a": "s3cr3t'})
    assert "GLADIER_LOCAL_TOKENS" in str(caught.value)
    assert "s3cr3t" not in str(caught.value)


def test_registry_sends_env_token_to_an_unknown_url(ap_server, monkeypatch):
    monkeypatch.setenv("GLADIER_LOCAL_TOKENS", f'{{"{ap_server.url}": "env-token"}}')
    registry = ProviderRegistry()
    try:
        url, provider = registry.resolve({"ActionUrl": ap_server.url + "/"}, state_name="Echo")
        assert url == ap_server.url
        provider.run(request({}))
        assert ap_server.log[-1] == ("POST", "/run", "Bearer env-token")
    finally:
        registry.close()
