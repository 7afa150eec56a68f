"""Small real flows on a LocalEngine: compute functions writing real files, Transfer routes
on real directories, and a real Action Provider over HTTP on 127.0.0.1.

They need nothing outside the repository (the corpus tests skip without the shared
flows corpus), so every ActionUrl the local engine answers is run by at least one flow.
"""

from __future__ import annotations

import os

import pytest

from gladier.engine.providers.functions import LOCAL_ENDPOINT_ID

FUNCTION_ID = "5a0c9a53-0f7e-4d3c-b7e6-2a6d7f1e9c88"
COLLECTION = "7d3a2f4e-1b6c-4e8a-9f0d-5c2b1a3e4d6f"  # mapped to tmp_path by mapped_engine


def write_text(path: str, text: str) -> int:
    """A compute function with a real effect: write ``text`` to ``path``."""
    with open(path, "w") as f:
        f.write(text)
    return os.path.getsize(path)


@pytest.fixture
def mapped_engine(tmp_path, monkeypatch):
    """The engine with COLLECTION mapped to the test's temporary directory."""
    monkeypatch.setenv("GLADIER_TIME_SCALE", "0.01")
    from gladier.engine import LocalEngine

    local = LocalEngine(str(tmp_path / "runs.db"), collections={COLLECTION: str(tmp_path)})
    yield local
    local.close()


def run(engine, definition: dict, body: dict | None = None) -> dict:
    flow_id = engine.create_flow(definition)["id"]
    return engine.wait(engine.run_flow(flow_id, body or {})["run_id"], timeout=60)


def one_action(url: str, parameters: dict, **extra) -> dict:
    return {"StartAt": "Act", "States": {"Act": {
        "Type": "Action", "ActionUrl": url, "Parameters": parameters,
        "ResultPath": "$.act", "End": True, **extra}}}


@pytest.mark.parametrize("url, parameters", [
    ("https://compute.actions.globus.org/fxap", {"tasks": [{
        "endpoint": LOCAL_ENDPOINT_ID, "function": FUNCTION_ID,
        "payload": {"path.$": "$.input.path", "text": "from fxap"}}]}),
    ("https://compute.actions.globus.org/v3", {
        "endpoint_id": LOCAL_ENDPOINT_ID, "tasks": [{
            "function_id": FUNCTION_ID, "args": [],
            "kwargs": {"path.$": "$.input.path", "text": "from v3"}}]}),
], ids=["fxap", "v3"])
def test_compute_urls_run_a_registered_function_that_writes_a_file(engine, tmp_path, url,
                                                                   parameters):
    engine.register_function(write_text, function_id=FUNCTION_ID)
    target = tmp_path / "out.txt"

    done = run(engine, one_action(url, parameters), {"input": {"path": str(target)}})

    assert done["status"] == "SUCCEEDED", done["details"]
    text = "from " + url.rsplit("/", 1)[1]
    assert target.read_text() == text
    assert done["details"]["output"]["act"]["details"]["result"] == [len(text)]


def test_legacy_transfer_url_copies_a_real_file(mapped_engine, tmp_path):
    (tmp_path / "in.txt").write_text("legacy")
    target = tmp_path / "copied" / "out.txt"
    done = run(mapped_engine, one_action("https://actions.globus.org/transfer/transfer", {
        "source_endpoint_id": COLLECTION, "destination_endpoint_id": COLLECTION,
        "transfer_items": [{"source_path.$": "$.input.source",
                            "destination_path.$": "$.input.destination",
                            "recursive": False}]}),
        {"input": {"source": "/in.txt", "destination": "/copied/out.txt"}})

    assert done["status"] == "SUCCEEDED", done["details"]
    assert target.read_text() == "legacy"
    assert done["details"]["output"]["act"]["details"]["files_transferred"] == 1


def transfer_state(route: str, parameters: dict, result: str, following: str | None) -> dict:
    state = {"Type": "Action", "ActionUrl": f"https://transfer.actions.globus.org/{route}",
             "Parameters": {"endpoint_id": COLLECTION, **parameters},
             "ResultPath": f"$.{result}"}
    return {**state, "Next": following} if following else {**state, "End": True}


def test_mkdir_stat_ls_and_delete_routes_work_on_real_directories(mapped_engine, tmp_path):
    (tmp_path / "old.txt").write_text("to delete")
    flow = {"StartAt": "MakeDir", "States": {
        "MakeDir": transfer_state("mkdir", {"path.$": "$.input.new"}, "made", "StatNew"),
        "StatNew": transfer_state("stat", {"path.$": "$.input.new"}, "new", "List"),
        "List": transfer_state("ls", {"path.$": "$.input.dir"}, "listed", "Delete"),
        "Delete": transfer_state("delete", {"DATA": [{"path.$": "$.input.old"}]},
                                 "deleted", "StatOld"),
        "StatOld": transfer_state("stat", {"path.$": "$.input.old"}, "gone", None),
    }}

    done = run(mapped_engine, flow, {"input": {"dir": "/", "new": "/new", "old": "/old.txt"}})

    assert done["status"] == "SUCCEEDED", done["details"]
    output = done["details"]["output"]
    assert (tmp_path / "new").is_dir() and not (tmp_path / "old.txt").exists()
    assert output["made"]["details"]["code"] == "DirectoryCreated"
    assert output["new"]["details"]["type"] == "dir"
    assert {entry["name"]: entry["type"] for entry in output["listed"]["details"]["DATA"]
            if entry["name"] in ("new", "old.txt")} == {"new": "dir", "old.txt": "file"}
    assert output["deleted"]["details"]["type"] == "DELETE"
    assert output["gone"]["status"] == "SUCCEEDED"
    assert output["gone"]["details"]["code"] == "NotFound"


# -- a real Action Provider over HTTP --------------------------------------------------------

def test_http_action_is_canceled_when_its_wait_time_passes(engine, ap_server):
    done = run(engine, one_action(ap_server.url, {"polls": 100000}, WaitTime=50))  # 0.5 s

    assert done["status"] == "FAILED"
    assert done["details"]["details"]["exception"] == "ActionTimeout"
    assert ap_server.wait_for("POST", "/cancel"), "the timed-out action was not canceled"
    (action,) = ap_server.actions.values()
    assert action["status"] == "FAILED" and action["details"] == {"canceled": True}


def test_http_action_is_released_after_it_completes(engine, ap_server):
    done = run(engine, one_action(ap_server.url, {"polls": 2, "n": 1}))

    assert done["status"] == "SUCCEEDED", done["details"]
    assert done["details"]["output"]["act"]["details"] == {"echo": {"polls": 2, "n": 1}}
    action_id = done["details"]["output"]["act"]["action_id"]
    assert ap_server.wait_for("POST", f"/{action_id}/release")
    assert ap_server.actions == {}, "the provider still holds the released action"


def test_unwritable_result_path_is_caught_as_result_path_match_failure_before_run(
        engine, ap_server):
    flow = one_action(ap_server.url, {"n": 1}, Catch=[{
        "ErrorEquals": ["States.ResultPathMatchFailure"], "ResultPath": "$.error",
        "Next": "Caught"}])
    flow["States"]["Act"].update(ResultPath="$.items[3]", Next="Caught")
    del flow["States"]["Act"]["End"]
    flow["States"]["Caught"] = {"Type": "Pass", "End": True}

    done = run(engine, flow, {"items": [0, 1]})

    assert done["status"] == "SUCCEEDED", done["details"]
    error = done["details"]["output"]["error"]
    assert error["exception"] == "States.ResultPathMatchFailure"
    assert error["state_name"] == "Act" and "$.items[3]" in error["cause"]
    assert [path for _, path, _ in ap_server.log] == [], "the action was started anyway"
