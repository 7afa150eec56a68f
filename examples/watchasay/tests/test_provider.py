"""Every route of the watchasay Action Provider, through the toolkit's Flask blueprint."""

import pytest
from conftest import ALICE, ALICE_ID, BOB, BOB_ID, SCOPE, bearer, urn

from action_store import ActionStore
from globus_action_provider_tools import ActionStatus, ActionStatusValue


def test_introspection_is_public_and_describes_input_and_scope(client):
    reply = client.get("/skeleton/")
    assert reply.status_code == 200
    description = reply.get_json()
    assert description["globus_auth_scope"] == SCOPE
    assert description["synchronous"] is True
    assert description["input_schema"]["required"] == ["input_string"]
    assert description["visible_to"] == ["public"]


def test_introspection_without_trailing_slash_answers_too(client):
    assert client.get("/skeleton").status_code == 200


def test_run_echoes_input_string_as_you_said(run):
    reply = run("r1", "hello there")
    assert reply.status_code == 202
    action = reply.get_json()
    assert action["status"] == "SUCCEEDED"
    assert action["details"] == {"you_said": "hello there"}
    assert action["creator_id"] == urn(ALICE_ID)
    assert action["release_after"] == "P30D"
    assert action["completion_time"]


def test_run_new_style_route_echoes_too(client):
    reply = client.post(
        "/skeleton/actions",
        json={"request_id": "r1", "body": {"input_string": "new"}},
        headers=bearer(ALICE),
    )
    assert reply.status_code == 202
    assert reply.get_json()["details"]["you_said"] == "new"


def test_run_keeps_label_monitor_by_and_release_after(run):
    reply = run("r1", label="greeting", monitor_by=[urn(BOB_ID)], release_after="P2D")
    action = reply.get_json()
    assert action["label"] == "greeting"
    assert action["monitor_by"] == [urn(BOB_ID)]
    assert action["release_after"] == "P2D"


def test_repeated_request_id_with_same_body_returns_existing_action_with_200(run):
    first = run("r1", "once").get_json()
    again = run("r1", "once")
    assert again.status_code == 200
    assert again.get_json() == first


def test_repeated_request_id_with_different_body_conflicts(run):
    first = run("r1", "once").get_json()
    reply = run("r1", "twice")
    assert reply.status_code == 409
    assert reply.get_json()["code"] == "ActionConflict"
    assert first["action_id"] not in reply.get_data(as_text=True)


def test_repeated_request_id_with_different_label_conflicts(run):
    run("r1", "once", label="first")
    assert run("r1", "once", label="second").status_code == 409


def test_request_ids_are_kept_per_caller(run):
    alice = run("shared-id", "from alice").get_json()
    reply = run("shared-id", "from bob", token=BOB)
    assert reply.status_code == 202
    assert reply.get_json()["action_id"] != alice["action_id"]
    assert reply.get_json()["details"]["you_said"] == "from bob"


@pytest.mark.parametrize(
    "body",
    [{}, {"input_string": 42}, {"input_string": "hi", "extra": 1}],
    ids=["missing", "not-a-string", "unknown-key"],
)
def test_body_not_matching_schema_is_422(client, body):
    reply = client.post(
        "/skeleton/run", json={"request_id": "r1", "body": body}, headers=bearer(ALICE)
    )
    assert reply.status_code == 422
    assert reply.get_json()["code"] == "RequestValidationError"


def test_request_without_request_id_is_422(client):
    reply = client.post(
        "/skeleton/run", json={"body": {"input_string": "hi"}}, headers=bearer(ALICE)
    )
    assert reply.status_code == 422


def test_request_that_is_not_json_is_400(client):
    reply = client.post("/skeleton/run", data="{not json", headers=bearer(ALICE))
    assert reply.status_code == 400


ROUTES = [
    ("post", "/skeleton/run"),
    ("get", "/skeleton/some-action/status"),
    ("post", "/skeleton/some-action/cancel"),
    ("post", "/skeleton/some-action/release"),
    ("get", "/skeleton/actions"),
    ("get", "/skeleton/actions/some-action"),
    ("delete", "/skeleton/actions/some-action"),
]


@pytest.mark.parametrize("method, path", ROUTES)
def test_routes_without_token_are_401(client, method, path):
    reply = getattr(client, method)(path, json={"request_id": "r", "body": {"input_string": "x"}})
    assert reply.status_code == 401


@pytest.mark.parametrize("method, path", ROUTES)
@pytest.mark.parametrize("header", ["Bearer not-a-known-token", "Basic YWxpY2U6c2VjcmV0"])
def test_routes_with_bad_token_are_401(client, method, path, header):
    reply = getattr(client, method)(
        path,
        json={"request_id": "r", "body": {"input_string": "x"}},
        headers={"Authorization": header},
    )
    assert reply.status_code == 401


def test_local_tokens_are_refused_from_other_hosts(client):
    reply = client.post(
        "/skeleton/run",
        json={"request_id": "r1", "body": {"input_string": "x"}},
        headers=bearer(ALICE),
        environ_base={"REMOTE_ADDR": "192.0.2.7"},
    )
    assert reply.status_code == 401


@pytest.mark.parametrize("path", ["/skeleton/{}/status", "/skeleton/actions/{}"])
def test_status_returns_the_action_to_its_creator(client, run, path):
    action = run("r1", "status please").get_json()
    reply = client.get(path.format(action["action_id"]), headers=bearer(ALICE))
    assert reply.status_code == 200
    assert reply.get_json() == action


def test_status_of_unknown_action_is_404(client):
    reply = client.get("/skeleton/no-such-action/status", headers=bearer(ALICE))
    assert reply.status_code == 404
    assert reply.get_json()["code"] == "ActionNotFound"


@pytest.mark.parametrize(
    "method, path",
    [
        ("get", "/skeleton/{}/status"),
        ("get", "/skeleton/actions/{}"),
        ("post", "/skeleton/{}/cancel"),
        ("post", "/skeleton/{}/release"),
        ("delete", "/skeleton/actions/{}"),
    ],
)
def test_another_identity_is_told_the_action_does_not_exist(client, run, method, path):
    action = run("r1", "alice's secret").get_json()
    reply = getattr(client, method)(path.format(action["action_id"]), headers=bearer(BOB))
    assert reply.status_code == 404
    assert "secret" not in reply.get_data(as_text=True)
    assert client.get(f"/skeleton/{action['action_id']}/status", headers=bearer(ALICE)).status_code == 200


def test_monitor_may_see_status_but_is_forbidden_to_cancel_or_release(client, run):
    """One rule says who sees an action (creator, monitor_by, manage_by) on every route:
    a monitor is not told it does not exist, but may not manage it (403)."""
    action = run("r1", "watch this", monitor_by=[urn(BOB_ID)]).get_json()
    action_id = action["action_id"]
    assert client.get(f"/skeleton/{action_id}/status", headers=bearer(BOB)).get_json() == action
    for verb in ("cancel", "release"):
        reply = client.post(f"/skeleton/{action_id}/{verb}", headers=bearer(BOB))
        assert reply.status_code == 403
        assert reply.get_json()["code"] == "ActionForbidden"
    assert client.get(f"/skeleton/{action_id}/status", headers=bearer(ALICE)).status_code == 200


def test_manager_may_see_cancel_and_release(client, run):
    """The red-team pass: a manage_by identity got 404 on status, yet 200 and the whole
    document on release."""
    action = run("r1", "yours too", manage_by=[urn(BOB_ID)]).get_json()
    action_id = action["action_id"]
    assert client.get(f"/skeleton/{action_id}/status", headers=bearer(BOB)).get_json() == action
    assert client.post(f"/skeleton/{action_id}/cancel", headers=bearer(BOB)).status_code == 200
    reply = client.post(f"/skeleton/{action_id}/release", headers=bearer(BOB))
    assert reply.status_code == 200
    assert client.get(f"/skeleton/{action_id}/status", headers=bearer(ALICE)).status_code == 404


def test_cancel_of_finished_action_returns_it_unchanged(client, run):
    action = run("r1", "too late").get_json()
    reply = client.post(f"/skeleton/{action['action_id']}/cancel", headers=bearer(ALICE))
    assert reply.status_code == 200
    assert reply.get_json() == action
    status = client.get(f"/skeleton/{action['action_id']}/status", headers=bearer(ALICE))
    assert status.get_json()["status"] == "SUCCEEDED"


def _store_unfinished_action(settings) -> str:
    # watchasay finishes every action at once; a provider doing longer work keeps ACTIVE
    # ones, which is what cancel and release have to handle.
    action = ActionStatus(
        status=ActionStatusValue.ACTIVE, creator_id=urn(ALICE_ID), details={}
    )
    assert ActionStore(settings.db_path).add("active-1", "fingerprint", action) is None
    return action.action_id


def test_cancel_of_unfinished_action_fails_it(client, settings):
    action_id = _store_unfinished_action(settings)
    reply = client.post(f"/skeleton/actions/{action_id}/cancel", headers=bearer(ALICE))
    assert reply.status_code == 200
    assert reply.get_json()["status"] == "FAILED"
    assert reply.get_json()["display_status"] == "Canceled by user request"
    status = client.get(f"/skeleton/{action_id}/status", headers=bearer(ALICE)).get_json()
    assert status["status"] == "FAILED"
    assert status["completion_time"]


def test_release_of_unfinished_action_conflicts(client, settings):
    action_id = _store_unfinished_action(settings)
    reply = client.post(f"/skeleton/{action_id}/release", headers=bearer(ALICE))
    assert reply.status_code == 409
    assert client.get(f"/skeleton/{action_id}/status", headers=bearer(ALICE)).status_code == 200


@pytest.mark.parametrize(
    "method, path", [("post", "/skeleton/{}/release"), ("delete", "/skeleton/actions/{}")]
)
def test_release_returns_final_status_and_then_the_action_is_gone(client, run, method, path):
    action = run("r1", "bye").get_json()
    reply = getattr(client, method)(path.format(action["action_id"]), headers=bearer(ALICE))
    assert reply.status_code == 200
    assert reply.get_json() == action
    assert client.get(f"/skeleton/{action['action_id']}/status", headers=bearer(ALICE)).status_code == 404
    assert client.post(f"/skeleton/{action['action_id']}/release", headers=bearer(ALICE)).status_code == 404


def test_request_id_of_released_action_starts_a_new_one(client, run):
    first = run("r1", "bye").get_json()
    client.post(f"/skeleton/{first['action_id']}/release", headers=bearer(ALICE))
    reply = run("r1", "bye")
    assert reply.status_code == 202
    assert reply.get_json()["action_id"] != first["action_id"]


def _enumerate(client, token, query=""):
    reply = client.get(f"/skeleton/actions{query}", headers=bearer(token))
    assert reply.status_code == 200
    return sorted(action["details"]["you_said"] for action in reply.get_json())


def test_enumerate_filters_by_status_and_role(client, run, settings):
    run("r1", "mine")
    run("r2", "shared", monitor_by=[urn(BOB_ID)], manage_by=[urn(BOB_ID)])
    run("r3", "bob's", token=BOB)
    _store_unfinished_action(settings)

    assert _enumerate(client, ALICE, "?status=succeeded") == ["mine", "shared"]
    assert _enumerate(client, ALICE, "?status=SUCCEEDED&roles=creator_id") == ["mine", "shared"]
    assert _enumerate(client, BOB, "?status=succeeded") == ["bob's"]
    assert _enumerate(client, BOB, "?status=succeeded&roles=monitor_by") == ["shared"]
    assert _enumerate(client, BOB, "?status=succeeded&roles=manage_by,creator_id") == [
        "bob's",
        "shared",
    ]
    assert _enumerate(client, ALICE, "?status=failed") == []


def test_enumerate_lists_active_actions_by_default(client, run, settings):
    run("r1", "done already")
    action_id = _store_unfinished_action(settings)
    reply = client.get("/skeleton/actions", headers=bearer(ALICE))
    assert [action["action_id"] for action in reply.get_json()] == [action_id]
    assert client.get("/skeleton/actions", headers=bearer(BOB)).get_json() == []


@pytest.mark.parametrize("fields, field", [
    ({"release_after": "P999999999D"}, "release_after"),  # was a 500 (OverflowError)
    ({"release_after": "P99999999999D"}, "release_after"),
    ({"release_after": 1e400}, "release_after"),
    ({"release_after": "-P1D"}, "release_after"),  # expired at once: a new action each time
    ({"release_after": "P367D"}, "release_after"),
    ({"release_after": "soon"}, "release_after"),
    ({"monitor_by": ["public"]}, "monitor_by"),  # was a 500
    ({"monitor_by": ["urn:globus:groups:id:not-a-uuid"]}, "monitor_by"),
    ({"manage_by": ["all_authenticated_users"]}, "manage_by"),
    ({"manage_by": "urn:globus:auth:identity:" + BOB_ID}, "manage_by"),
    ({"monitor_by": [42]}, "monitor_by"),
])
def test_a_bad_release_after_or_principal_is_422_naming_the_field(run, fields, field):
    reply = run("r1", **fields)
    assert reply.status_code == 422, reply.get_data(as_text=True)
    assert reply.get_json()["code"] == "RequestValidationError"
    assert f"Field '{field}'" in reply.get_json()["description"]
    assert run("r1").status_code == 202  # nothing was stored under the request id


def test_a_group_principal_and_the_longest_release_after_are_taken(run):
    group = "urn:globus:groups:id:" + BOB_ID
    reply = run("r1", monitor_by=[group], manage_by=[group], release_after="P366D")
    assert reply.status_code == 202 and reply.get_json()["monitor_by"] == [group]


def test_a_body_over_the_size_limit_is_413_and_neither_stored_nor_logged(
        client, settings, caplog):
    import logging
    import sqlite3

    from provider import MAX_REQUEST_BYTES

    caplog.set_level(logging.DEBUG)
    big = "A" * (MAX_REQUEST_BYTES + 1)
    reply = client.post("/skeleton/run", json={"request_id": "big", "body": {"input_string": big}},
                        headers=bearer(ALICE))
    assert reply.status_code == 413
    assert reply.get_json() == {"code": "RequestTooLarge", "description":
                                f"The request is over the limit of {MAX_REQUEST_BYTES} bytes"}
    with sqlite3.connect(settings.db_path) as db:
        assert db.execute("SELECT COUNT(*) FROM actions").fetchone() == (0,)
    assert "AAAA" not in caplog.text


@pytest.mark.parametrize("data", ['{"request_id": "r", "body": "SECRET-BODY-TEXT', ''])
def test_a_refused_body_is_logged_by_its_size_never_raw(client, caplog, data):
    import logging

    caplog.set_level(logging.DEBUG)
    bad = client.post("/skeleton/run", data=data, headers=bearer(ALICE))
    invalid = client.post("/skeleton/run", headers=bearer(ALICE), json={
        "request_id": "r", "body": {"input_string": "SECRET-BODY-TEXT", "extra": "SECRET-X"}})
    assert (bad.status_code, invalid.status_code) == (400, 422)
    assert "SECRET" not in caplog.text
    assert f"could not be parsed as JSON ({len(data)} bytes; not logged)" in caplog.text
    assert "submitted invalid input (" in caplog.text
