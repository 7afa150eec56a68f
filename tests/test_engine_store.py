"""The SQLite journal: private file, WAL, one transaction per transition."""

import json
import os
import sqlite3
import stat

import pytest

from gladier.engine.store import Store
from gladier.exc import EngineError, RunEnded

NOW = "2026-01-01T00:00:00+00:00"


@pytest.fixture
def store(tmp_path):
    s = Store(str(tmp_path / "sub" / "engine.db"))
    s.put_flow("f1", title="Flow", definition={"StartAt": "A", "States": {}},
               input_schema=None, now=NOW)
    yield s
    s.close()


def new_run(store, run_id="r1"):
    store.create_run({"run_id": run_id, "flow_id": "f1", "status": "ACTIVE",
                      "owner": "urn:me", "start_time": NOW, "details": {"code": "FlowStarting"},
                      "state_name": "A", "data": json.dumps({"x": 1})},
                     [{"time": NOW, "code": "FlowStarted", "description": "d",
                       "details": {"input": {"x": 1}}}])


def test_database_file_is_private_to_its_owner(tmp_path, store):
    mode = stat.S_IMODE(os.stat(tmp_path / "sub" / "engine.db").st_mode)
    assert mode == 0o600


def test_database_uses_write_ahead_logging(tmp_path, store):
    db = sqlite3.connect(tmp_path / "sub" / "engine.db")
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    db.close()


def test_same_flow_id_keeps_the_definition_and_updates_the_title(store):
    store.put_flow("f1", title="Renamed", definition={"other": True}, input_schema=None,
                   now="2026-02-01T00:00:00+00:00")
    flow = store.get_flow("f1")
    assert flow["title"] == "Renamed" and flow["definition"] == {"StartAt": "A", "States": {}}


def test_run_row_carries_its_flow_title_and_cursor(store):
    new_run(store)
    run = store.get_run("r1")
    assert run["flow_title"] == "Flow" and run["state_name"] == "A"
    assert json.loads(store.run_data("r1")) == {"x": 1} and run["tags"] == []


def test_record_updates_cursor_and_appends_entries_in_order(store):
    new_run(store)
    entries = [{"time": NOW, "code": f"C{i}", "description": "", "details": {"i": i}}
               for i in range(3)]
    store.record("r1", fields={"state_name": "B", "data": "{}"}, entries=entries)
    assert [e["code"] for e in store.log_entries("r1")] == ["FlowStarted", "C0", "C1", "C2"]
    assert [e["code"] for e in store.log_entries("r1", limit=2, reverse=True)] == ["C2", "C1"]
    assert store.get_run("r1")["state_name"] == "B"


def test_a_failed_transition_leaves_nothing_behind(store):
    new_run(store)
    store.record("r1", new_action={"request_id": "r1:A:1", "state_name": "A", "attempt": 1,
                                   "url": "https://x", "deadline": 1.0})
    with pytest.raises(sqlite3.IntegrityError):
        # The second action insert reuses the request_id: the whole transaction is undone.
        store.record("r1", fields={"state_name": "Z"},
                     entries=[{"time": NOW, "code": "X", "description": "", "details": {}}],
                     new_action={"request_id": "r1:A:1", "state_name": "A", "attempt": 1,
                                 "url": "https://x", "deadline": 1.0})
    assert store.get_run("r1")["state_name"] == "A"
    assert [e["code"] for e in store.log_entries("r1")] == ["FlowStarted"]


def test_action_journal_tracks_request_then_action_id_until_finished(store):
    new_run(store)
    store.record("r1", new_action={"request_id": "r1:A:1", "state_name": "A", "attempt": 1,
                                   "url": "https://x", "deadline": 5.0})
    assert store.open_action("r1")["action_id"] is None
    store.set_action_id("r1:A:1", "act-9")
    assert store.open_action("r1")["action_id"] == "act-9"
    assert store.count_attempts("r1", "A") == 1
    store.record("r1", finish_action="r1:A:1")
    assert store.open_action("r1") is None


def test_unknown_run_columns_are_refused(store):
    new_run(store)
    with pytest.raises(EngineError):
        store.record("r1", fields={"flow_id": "other"})


def test_list_runs_filters_by_status(store):
    new_run(store, "r1")
    new_run(store, "r2")
    store.record("r2", fields={"status": "SUCCEEDED"})
    assert [r["run_id"] for r in store.list_runs(["ACTIVE"])] == ["r1"]
    assert len(store.list_runs()) == 2


def test_unopenable_database_is_an_engine_error(tmp_path):
    (tmp_path / "dir.db").mkdir()
    with pytest.raises(EngineError) as err:
        Store(str(tmp_path / "dir.db"))
    assert "dir.db" in str(err.value)


def test_an_ended_run_refuses_further_transitions(store):
    new_run(store)
    store.record("r1", fields={"status": "FAILED"})
    with pytest.raises(RunEnded):
        store.record("r1", fields={"state_name": "B"},
                     entries=[{"time": NOW, "code": "X", "description": "", "details": {}}])
    assert store.get_run("r1")["state_name"] == "A"
    assert [e["code"] for e in store.log_entries("r1")] == ["FlowStarted"]


def test_a_run_row_keeps_its_collection_mapping(store):
    mapping = {"c1": {"root": "/data", "display_name": "Data", "entity_type": "x"}}
    store.create_run({"run_id": "r1", "flow_id": "f1", "status": "ACTIVE", "owner": "urn:me",
                      "start_time": NOW, "details": {}, "state_name": "A", "data": "{}",
                      "collections": mapping}, [])
    assert store.get_run("r1")["collections"] == mapping


def test_a_database_without_run_collections_opens_and_gains_the_column(tmp_path, store):
    new_run(store)
    store.close()
    path = str(tmp_path / "sub" / "engine.db")
    old = sqlite3.connect(path)
    old.execute("ALTER TABLE runs DROP COLUMN collections")
    old.close()
    reopened = Store(path)
    try:
        assert reopened.get_run("r1")["collections"] is None
        new_run(reopened, "r2")
        assert reopened.get_run("r2")["state_name"] == "A"
    finally:
        reopened.close()
