"""Transitions of many runs committed together (one batch of the scheduler), and why that is
as safe as a commit each: nothing leaves the process before the commit that journals it.

Each test runs many runs at once, so the scheduler's batches hold transitions of many
runs; what they check is seen from outside the engine: another SQLite connection on the
same file (what another process would read), an action provider, a killed process.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading

from gladier.engine import LocalEngine
from killed_child import run_and_kill, written_lines

URL = "https://provider.example.org/journaled"
RUNS = 120
FLOW = {
    "StartAt": "Begin",
    "States": {
        "Begin": {"Type": "Pass", "Parameters": {"n.$": "$.n"}, "ResultPath": "$.begun",
                  "Next": "Act"},
        "Act": {"Type": "Action", "ActionUrl": URL, "Parameters": {"n.$": "$.n"},
                "ResultPath": "$.acted", "Next": "Nap"},
        "Nap": {"Type": "Wait", "Seconds": 20, "Next": "Done"},
        "Done": {"Type": "Pass", "End": True},
    },
}


class CheckingProvider:
    """An action provider that looks, from its own connection, whether the request it is
    sent is already committed to the engine's journal."""

    def __init__(self, db: str) -> None:
        self.db = db
        self.unjournaled: list[str] = []
        self.sent: list[str] = []
        self.lock = threading.Lock()

    def run(self, request: dict) -> dict:
        with sqlite3.connect(self.db) as outside:
            found = outside.execute("SELECT 1 FROM actions WHERE request_id = ?",
                                    (request["request_id"],)).fetchone()
        with self.lock:
            self.sent.append(request["request_id"])
            if found is None:
                self.unjournaled.append(request["request_id"])
        return self.status(request["request_id"])

    def status(self, action_id: str) -> dict:
        return {"action_id": action_id, "status": "SUCCEEDED", "details": {"ok": True}}

    cancel = release = status


def test_an_action_is_sent_only_once_its_request_is_committed(tmp_path):
    db = str(tmp_path / "engine.db")
    provider = CheckingProvider(db)
    with LocalEngine(db, time_scale=0.01) as engine:
        engine.register_action_provider(URL, provider)
        flow_id = engine.create_flow(FLOW)["id"]
        run_ids = [engine.run_flow(flow_id, {"n": n})["run_id"] for n in range(RUNS)]
        ended = [engine.wait(run_id, timeout=120)["status"] for run_id in run_ids]
    assert ended == ["SUCCEEDED"] * RUNS
    assert len(provider.sent) == RUNS and provider.unjournaled == []


def test_a_log_entry_is_published_only_once_it_is_committed(tmp_path):
    db = str(tmp_path / "engine.db")
    outside = sqlite3.connect(db, check_same_thread=False)
    heard, missing = [], []

    def check(run_id: str, entry: dict) -> None:
        found = outside.execute("SELECT 1 FROM log_entries WHERE run_id = ? AND code = ?",
                                (run_id, entry["code"])).fetchone()
        heard.append(entry["code"])
        if found is None:
            missing.append((run_id, entry["code"]))

    with LocalEngine(db, time_scale=0.01) as engine:
        engine.register_action_provider(URL, CheckingProvider(db))
        flow_id = engine.create_flow(FLOW)["id"]
        run_ids = []
        for n in range(RUNS):
            run_id = engine.run_flow(flow_id, {"n": n})["run_id"]
            engine.subscribe(run_id, lambda entry, run_id=run_id: check(run_id, entry))
            run_ids.append(run_id)
        for run_id in run_ids:
            assert engine.wait(run_id, timeout=120)["status"] == "SUCCEEDED"
    outside.close()
    assert heard.count("FlowSucceeded") == RUNS and missing == []


CHILD = """
import sys
sys.path.insert(0, {tests!r})
from gladier.engine import LocalEngine
from test_reliability_crash import EffectProvider
from test_engine_batches import EFFECT_FLOW, URL
engine = LocalEngine({db!r}, time_scale=0.05)
engine.register_action_provider(URL, EffectProvider({workdir!r}))
flow_id = engine.create_flow(EFFECT_FLOW)["id"]
print("started", flush=True)
for n in range({runs}):
    engine.run_flow(flow_id, {{"n": n, "run": f"r{{n}}", "workdir": {workdir!r}}})
import time
time.sleep(600)
"""

EFFECT_FLOW = dict(FLOW, States=dict(FLOW["States"], Act=dict(
    FLOW["States"]["Act"], Parameters={"workdir.$": "$.workdir", "run.$": "$.run",
                                       "step": "Act", "round": 0})))


def test_runs_killed_inside_batches_finish_with_each_effect_once(tmp_path):
    """SIGKILL while hundreds of runs move through batches: the resumed runs all succeed,
    each action's effect happened once, and the file is sound."""
    from test_reliability_crash import EffectProvider

    db, workdir = str(tmp_path / "engine.db"), str(tmp_path)
    runs = 300
    journal = os.path.join(workdir, "provider.jsonl")
    script = CHILD.format(tests=os.path.dirname(__file__), db=db, workdir=workdir, runs=runs)
    run_and_kill(script, lambda _: len(written_lines(journal)) >= runs // 3, timeout=120)
    with sqlite3.connect(db) as check:
        assert check.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        started = check.execute("SELECT COUNT(*) FROM runs").fetchone()[0]
    engine = LocalEngine(db, time_scale=0.05)
    try:
        engine.register_action_provider(URL, EffectProvider(workdir))
        engine.resume()
        ids = [run["run_id"] for run in engine.list_runs()]
        ended = {engine.wait(run_id, timeout=120)["status"] for run_id in ids}
    finally:
        engine.close()
    assert ended == {"SUCCEEDED"} and len(ids) == started > runs // 3
    effects = [json.loads(line)["tag"] for line in written_lines(journal)]
    assert len(effects) == len(set(effects)) == started, "an effect is missing or repeated"

