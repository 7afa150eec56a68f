"""release_after: a finished action is forgotten once that long has passed since it finished."""

import datetime
import sqlite3

import pytest
from conftest import ALICE, ALICE_ID, bearer, urn

from action_store import ActionStore, to_json
from globus_action_provider_tools import ActionStatus, ActionStatusValue

HOUR = 3600.0
DAY = 24 * HOUR


def _status(client, action_id):
    return client.get(f"/skeleton/{action_id}/status", headers=bearer(ALICE)).status_code


def _listed(client, query="?status=succeeded,failed"):
    reply = client.get(f"/skeleton/actions{query}", headers=bearer(ALICE))
    assert reply.status_code == 200
    return [action["action_id"] for action in reply.get_json()]


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
def test_expired_action_is_404_and_not_enumerated(client, run, clock, method, path):
    action_id = run("r1", release_after="PT1H").get_json()["action_id"]
    clock.advance(HOUR + 1)
    reply = getattr(client, method)(path.format(action_id), headers=bearer(ALICE))
    assert reply.status_code == 404
    assert reply.get_json()["code"] == "ActionNotFound"
    assert _listed(client) == []


def test_action_is_kept_until_its_release_after_has_passed(client, run, clock):
    action_id = run("r1", release_after="PT1H").get_json()["action_id"]
    clock.advance(HOUR - 60)
    assert _status(client, action_id) == 200
    assert _listed(client) == [action_id]


def test_each_action_expires_after_its_own_release_after(client, run, clock):
    short = run("r1", release_after="PT1H").get_json()["action_id"]
    long = run("r2", release_after="P1D").get_json()["action_id"]
    clock.advance(2 * HOUR)
    assert _status(client, short) == 404
    assert _listed(client) == [long]


def test_default_release_after_is_thirty_days(client, run, clock):
    action_id = run("r1").get_json()["action_id"]
    clock.advance(29 * DAY)
    assert _status(client, action_id) == 200
    clock.advance(2 * DAY)
    assert _status(client, action_id) == 404


def test_request_id_of_expired_action_starts_a_new_one(client, run, clock):
    first = run("r1", "once", release_after="PT1H").get_json()
    clock.advance(HOUR + 1)
    again = run("r1", "once", release_after="PT1H")
    assert again.status_code == 202
    assert again.get_json()["action_id"] != first["action_id"]
    # The request id is free: another body is a new action too, not a 409.
    clock.advance(HOUR + 1)
    assert run("r1", "something else").status_code == 202


def test_canceled_action_expires_after_its_release_after(client, settings, clock):
    # watchasay finishes every action at once; a longer one can still be canceled.
    action = ActionStatus(
        status=ActionStatusValue.ACTIVE,
        creator_id=urn(ALICE_ID),
        details={},
        release_after=datetime.timedelta(hours=1),
    )
    ActionStore(settings.db_path).add("active-1", "fingerprint", action)
    clock.advance(DAY)
    assert _status(client, action.action_id) == 200  # unfinished actions never expire
    client.post(f"/skeleton/{action.action_id}/cancel", headers=bearer(ALICE))
    clock.advance(HOUR - 60)
    assert _status(client, action.action_id) == 200
    clock.advance(120)
    assert _status(client, action.action_id) == 404


def test_restart_keeps_expiry_times(make_client, clock):
    payload = {"request_id": "r1", "body": {"input_string": "x"}, "release_after": "PT1H"}
    reply = make_client().post("/skeleton/run", json=payload, headers=bearer(ALICE))
    action_id = reply.get_json()["action_id"]
    clock.advance(HOUR - 60)
    assert _status(make_client(), action_id) == 200
    clock.advance(120)
    assert _status(make_client(), action_id) == 404


def test_forget_expired_drops_expired_actions_and_their_request_ids(tmp_path, clock):
    store = ActionStore(str(tmp_path / "actions.db"), clock=clock)
    now = datetime.datetime.now(datetime.timezone.utc)
    done = ActionStatus(
        status=ActionStatusValue.SUCCEEDED,
        creator_id=urn(ALICE_ID),
        details={},
        completion_time=now,
        release_after=datetime.timedelta(hours=1),
    )
    running = ActionStatus(status=ActionStatusValue.ACTIVE, creator_id=urn(ALICE_ID), details={})
    store.add("done", "fp1", done)
    store.add("running", "fp2", running)
    clock.advance(HOUR + 1)
    store.forget_expired()
    assert store.get(done.action_id) is None
    assert store.find_request(urn(ALICE_ID), "done") is None
    assert store.get(running.action_id) == running


# The store's tables before expires_at was added, as an older watchasay created them.
_OLD_SCHEMA = """
CREATE TABLE actions (
    action_id TEXT PRIMARY KEY,
    status    TEXT NOT NULL,
    document  TEXT NOT NULL
);
CREATE INDEX actions_by_status ON actions (status);
CREATE TABLE requests (
    creator_id  TEXT NOT NULL,
    request_id  TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    action_id   TEXT NOT NULL REFERENCES actions (action_id) ON DELETE CASCADE,
    PRIMARY KEY (creator_id, request_id)
);
CREATE INDEX requests_by_action ON requests (action_id);
"""


def _old_store(path: str, *actions: ActionStatus) -> None:
    with sqlite3.connect(path) as db:
        db.executescript(_OLD_SCHEMA)
        for n, action in enumerate(actions):
            db.execute(
                "INSERT INTO actions VALUES (?, ?, ?)",
                (action.action_id, action.status.value, to_json(action)),
            )
            db.execute(
                "INSERT INTO requests VALUES (?, ?, ?, ?)",
                (action.creator_id, f"old-{n}", "fingerprint", action.action_id),
            )
    db.close()


def test_store_of_the_previous_schema_keeps_working_and_expires(settings, make_client, clock):
    done = ActionStatus(
        status=ActionStatusValue.SUCCEEDED,
        creator_id=urn(ALICE_ID),
        details={"you_said": "from before"},
        completion_time=datetime.datetime.now(datetime.timezone.utc),
        release_after=datetime.timedelta(hours=1),
    )
    running = ActionStatus(status=ActionStatusValue.ACTIVE, creator_id=urn(ALICE_ID), details={})
    _old_store(settings.db_path, done, running)

    client = make_client()
    reply = client.get(f"/skeleton/{done.action_id}/status", headers=bearer(ALICE))
    assert reply.status_code == 200
    assert reply.get_json()["details"] == {"you_said": "from before"}
    new_id = client.post(
        "/skeleton/run",
        json={"request_id": "new", "body": {"input_string": "x"}, "release_after": "P1D"},
        headers=bearer(ALICE),
    ).get_json()["action_id"]

    clock.advance(HOUR + 1)
    restarted = make_client()  # opening a migrated store again changes nothing
    assert _status(restarted, done.action_id) == 404
    assert _status(restarted, running.action_id) == 200
    assert _status(restarted, new_id) == 200
    store = ActionStore(settings.db_path, clock=clock)
    assert store.find_request(urn(ALICE_ID), "old-0") is None
    assert store.find_request(urn(ALICE_ID), "old-1").action_id == running.action_id
