"""A restarted watchasay (a new app on the same SQLite file) keeps every action."""

import os
import pathlib
import subprocess
import sys

from conftest import ALICE, ALICE_ID, BOB, BOB_ID, bearer, urn

from action_store import ActionStore


def _run(client, request_id, text, **fields):
    payload = {"request_id": request_id, "body": {"input_string": text}, **fields}
    return client.post("/skeleton/run", json=payload, headers=bearer(ALICE))


def test_restart_keeps_actions_and_their_details(make_client):
    action = _run(make_client(), "r1", "remember me").get_json()
    restarted = make_client()
    reply = restarted.get(f"/skeleton/{action['action_id']}/status", headers=bearer(ALICE))
    assert reply.status_code == 200
    assert reply.get_json() == action


def test_restart_keeps_request_id_deduplication(make_client):
    action = _run(make_client(), "r1", "once", monitor_by=[urn(BOB_ID)]).get_json()
    restarted = make_client()
    again = _run(restarted, "r1", "once", monitor_by=[urn(BOB_ID)])
    assert again.status_code == 200
    assert again.get_json()["action_id"] == action["action_id"]
    assert _run(restarted, "r1", "changed").status_code == 409


def test_restart_keeps_permissions_and_enumeration(make_client):
    _run(make_client(), "r1", "for bob", monitor_by=[urn(BOB_ID)])
    restarted = make_client()
    listed = restarted.get(
        "/skeleton/actions?status=succeeded&roles=monitor_by", headers=bearer(BOB)
    ).get_json()
    assert [action["details"]["you_said"] for action in listed] == ["for bob"]


def test_release_survives_restart(make_client):
    client = make_client()
    action_id = _run(client, "r1", "gone").get_json()["action_id"]
    client.post(f"/skeleton/{action_id}/release", headers=bearer(ALICE))
    restarted = make_client()
    assert restarted.get(f"/skeleton/{action_id}/status", headers=bearer(ALICE)).status_code == 404
    assert _run(restarted, "r1", "gone").status_code == 202


_FINGERPRINT_SCRIPT = """
from action_store import request_fingerprint
from globus_action_provider_tools import ActionRequest
principals = [f"urn:globus:auth:identity:00000000-0000-4000-8000-00000000000{n}" for n in range(1, 8)]
print(request_fingerprint(ActionRequest(request_id="r", body={}, monitor_by=principals)))
"""


def test_fingerprint_is_the_same_in_every_process():
    # A restarted server has another string hash seed, so another set iteration order.
    app_dir = pathlib.Path(__file__).parent.parent / "app"
    fingerprints = {
        subprocess.run(
            [sys.executable, "-c", _FINGERPRINT_SCRIPT],
            cwd=app_dir,
            env={**os.environ, "PYTHONHASHSEED": str(seed)},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in range(1, 6)
    }
    assert len(fingerprints) == 1


def test_store_reopened_from_another_object_sees_the_same_rows(settings, make_client):
    action_id = _run(make_client(), "r1", "shared file").get_json()["action_id"]
    store = ActionStore(settings.db_path)
    assert store.get(action_id).details == {"you_said": "shared file"}
    assert store.find_request(urn(ALICE_ID), "r1").action_id == action_id
