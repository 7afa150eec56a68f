"""Faults of the engine's own files: a full disk, a read-only database, a damaged page, a
missing key. Each gives a clear error naming the file and what to do, the engine stops
instead of waiting for ever, what was journaled stays, and a resume after the fix finishes
the run. The full disk and the read-only file are SQLite's own faults, made on the engine's
connection (``PRAGMA max_page_count`` stops the file growing: SQLITE_FULL; ``PRAGMA
query_only``: SQLITE_READONLY), since the tests may run as root, whom file modes do not stop.
"""

from __future__ import annotations

import json
import os
import shutil
import time

import pytest
from click.testing import CliRunner

from gladier.cli import cli
from gladier.engine import LocalEngine
from gladier.exc import StorageError

BIG = "x" * 200_000  # a result the database has no room for once it may not grow
FLOW = {"StartAt": "Nap", "States": {
    "Nap": {"Type": "Wait", "Seconds": 50, "Next": "Grow"},
    "Grow": {"Type": "Pass", "Result": {"blob": BIG}, "ResultPath": "$.grown", "Next": "Done"},
    "Done": {"Type": "Pass", "End": True}}}


def _codes(engine: LocalEngine, run_id: str) -> list[str]:
    return [entry["code"] for entry in engine.get_run_logs(run_id)["entries"]]


@pytest.mark.parametrize("fault, said", [
    ("full", "the disk is full"),
    ("readonly", "it is read-only"),
])
def test_a_database_that_refuses_writes_stops_the_engine_and_a_resume_finishes(
        tmp_path, fault, said):
    db = str(tmp_path / "engine.db")
    engine = LocalEngine(db, time_scale=0.01)
    run_id = engine.run_flow(engine.create_flow(FLOW)["id"], {})["run_id"]
    deadline = time.time() + 30
    while "WaitStarted" not in _codes(engine, run_id):  # journaled before the fault
        assert time.time() < deadline
        time.sleep(0.01)
    connection = engine._store._db  # the fault is made on the engine's own connection
    with engine._store._lock:
        if fault == "full":
            pages = connection.execute("PRAGMA page_count").fetchone()[0]
            connection.execute(f"PRAGMA max_page_count = {pages}")
        else:
            connection.execute("PRAGMA query_only = ON")
    began = time.monotonic()
    with pytest.raises(StorageError) as raised:
        engine.wait(run_id, timeout=60)
    assert time.monotonic() - began < 10  # it stopped; it did not wait out the timeout
    assert f"engine database '{db}'" in str(raised.value) and said in str(raised.value)
    assert "gladier resume --db" in raised.value.hint
    with pytest.raises(StorageError):  # no new run is taken by a stopped engine
        engine.run_flow(engine.create_flow(FLOW)["id"], {})
    kept = _codes(engine, run_id)
    assert kept[:2] == ["FlowStarted", "WaitStarted"] and "FlowSucceeded" not in kept
    engine.close()

    with LocalEngine(db, time_scale=0.01) as fixed:
        assert fixed.resume() == [run_id]
        final = fixed.wait(run_id, timeout=60)
        codes = _codes(fixed, run_id)
    assert final["status"] == "SUCCEEDED"
    assert final["details"]["output"]["grown"]["blob"] == BIG
    assert codes[:2] == kept[:2] and codes.count("WaitStarted") == 1


def test_a_damaged_database_is_one_error_naming_the_file_and_how_to_recover(tmp_path):
    db = str(tmp_path / "engine.db")
    with LocalEngine(db) as engine:
        flow_id = engine.create_flow(FLOW)["id"]
        for _ in range(20):
            engine.run_flow(flow_id, {"input": {"pad": "y" * 2000}})
    with open(db, "r+b") as stream:  # every page after the first two: garbage
        stream.seek(2 * 4096)
        size = os.path.getsize(db) - 2 * 4096
        stream.write(os.urandom(size))
    result = CliRunner().invoke(cli, ["runs", "list", "--db", db])
    assert result.exit_code == 1
    error, hint = result.stderr.strip().splitlines()[-2:]
    assert f"engine database '{db}'" in error and "the file is damaged" in error
    assert hint.startswith(f"Hint: restore '{db}' from a copy")


PRIVATE_FLOW = {"StartAt": "Nap", "States": {
    "Nap": {"Type": "Wait", "Seconds": 50, "Next": "Use"},
    "Use": {"Type": "ExpressionEval", "ResultPath": "$.n", "End": True,
            "Parameters": {"n.=": "len(input['_private_pw'])"}}}}


def test_a_missing_key_is_never_replaced_while_sealed_runs_need_it(tmp_path, caplog):
    db = str(tmp_path / "engine.db")
    with LocalEngine(db, time_scale=0.01) as engine:
        flow_id = engine.create_flow(PRIVATE_FLOW)["id"]
        run_id = engine.run_flow(flow_id, {"input": {"_private_pw": "hunter2"}})["run_id"]
    key = f"{db}-key"
    shutil.move(key, str(tmp_path / "key-backup"))

    with LocalEngine(db, time_scale=0.01) as engine:
        assert [run["run_id"] for run in engine.list_runs()] == [run_id]  # still listed
        assert engine.get_run(run_id)["status"] == "ACTIVE"
        assert engine.resume() == []  # not resumed, and said why
        with pytest.raises(StorageError, match="key file .* is missing") as raised:
            engine.run_flow(flow_id, {"input": {"_private_pw": "other"}})
        assert "from a backup" in raised.value.hint
    assert not os.path.exists(key)  # no new key was made
    assert any("is missing" in record.getMessage() and run_id in record.getMessage()
               for record in caplog.records)

    shutil.move(str(tmp_path / "key-backup"), key)
    with LocalEngine(db, time_scale=0.01) as engine:
        assert engine.resume() == [run_id]
        final = engine.wait(run_id, timeout=60)
    assert final["status"] == "SUCCEEDED" and final["details"]["output"]["n"] == {"n": 7}


def test_a_replaced_key_fails_only_the_runs_it_cannot_open(tmp_path, caplog):
    db = str(tmp_path / "engine.db")
    with LocalEngine(db, time_scale=0.01) as engine:
        flow_id = engine.create_flow(PRIVATE_FLOW)["id"]
        sealed = engine.run_flow(flow_id, {"input": {"_private_pw": "hunter2"}})["run_id"]
        plain = engine.run_flow(engine.create_flow(FLOW)["id"], {})["run_id"]
    from cryptography.fernet import Fernet

    with open(f"{db}-key", "wb") as stream:
        stream.write(Fernet.generate_key())
    with LocalEngine(db, time_scale=0.01) as engine:
        assert sorted(run["run_id"] for run in engine.list_runs()) == sorted([sealed, plain])
        assert engine.resume() == [plain]
        assert engine.wait(plain, timeout=60)["status"] == "SUCCEEDED"
        assert engine.get_run(sealed)["status"] == "ACTIVE"
    assert any("not the one they were sealed with" in record.getMessage()
               for record in caplog.records)
    assert json.dumps(caplog.text).count("hunter2") == 0
