"""A process running a flow is killed (SIGKILL) mid-run; a fresh engine resumes the run.

The action provider here keeps its actions in a file (one line per action it started), so
a second process sees the actions of the first and honours ``request_id`` as the Action
Provider Interface asks: the same request_id returns the existing action.
"""

import hashlib
import json
import os
import sqlite3
import time

import pytest

from gladier.engine import LocalEngine
from gladier.exc import ActionProviderError
from killed_child import run_and_kill

URL = "https://provider.example.org/file-backed"
FLOW = {
    "StartAt": "Start",
    "States": {
        "Start": {"Type": "Pass", "Result": {"begun": True}, "ResultPath": "$.start",
                  "Next": "Work1"},
        "Work1": {"Type": "Action", "ActionUrl": URL, "ResultPath": "$.w1", "Next": "Nap",
                  "Parameters": {"n": 1, "seconds.$": "$.input.work_seconds"}},
        "Nap": {"Type": "Wait", "Seconds": 150, "Next": "Work2"},
        "Work2": {"Type": "Action", "ActionUrl": URL, "ResultPath": "$.w2", "Next": "Finish",
                  "Parameters": {"n": 2, "seconds": 0.3}},
        "Finish": {"Type": "Pass", "End": True},
    },
}
TIME_SCALE = 0.01  # the Wait of 150 s lasts 1.5 s

CHILD = """
import sys, time
sys.path.insert(0, {tests!r})
from test_engine_durability import FLOW, TIME_SCALE, URL, FileProvider
from gladier.engine import LocalEngine
engine = LocalEngine({db!r}, time_scale=TIME_SCALE)
engine.register_action_provider(URL, FileProvider({workdir!r}))
flow_id = engine.create_flow(FLOW)["id"]
run = engine.run_flow(flow_id, {{"input": {{"work_seconds": 2.0}}}})
print(run["run_id"], flush=True)
time.sleep(600)
"""


class FileProvider:
    """Actions recorded one JSON line each in ``calls.log``; an action succeeds after
    ``body["seconds"]`` of real time. A line is one atomic append, so a kill never leaves
    an action half-recorded."""

    def __init__(self, workdir):
        self.log = os.path.join(workdir, "calls.log")

    def calls(self):
        if not os.path.exists(self.log):
            return []
        with open(self.log) as f:
            return [json.loads(line) for line in f if line.strip()]

    def run(self, request):
        action_id = hashlib.sha256(request["request_id"].encode()).hexdigest()[:16]
        if not any(c["action_id"] == action_id for c in self.calls()):
            line = json.dumps({"action_id": action_id, "request_id": request["request_id"],
                               "body": request["body"], "started": time.time()})
            with open(self.log, "a") as f:
                f.write(line + "\n")
        return self.status(action_id)

    def status(self, action_id):
        for call in self.calls():
            if call["action_id"] == action_id:
                done = time.time() - call["started"] >= call["body"]["seconds"]
                return {"action_id": action_id, "status": "SUCCEEDED" if done else "ACTIVE",
                        "details": {"n": call["body"]["n"]}}
        raise ActionProviderError(f"no action {action_id}", http_status=404)

    def cancel(self, action_id):
        return self.status(action_id)

    def release(self, action_id):
        return self.status(action_id)


def journaled_codes(db, run_id):
    con = sqlite3.connect(db)
    try:
        rows = con.execute("SELECT code FROM log_entries WHERE run_id = ? ORDER BY seq",
                           (run_id,)).fetchall()
    except sqlite3.OperationalError:
        return []
    finally:
        con.close()
    return [r[0] for r in rows]


def start_and_kill(tmp_path, kill_when):
    db = str(tmp_path / "engine.db")
    script = CHILD.format(tests=os.path.dirname(__file__), db=db, workdir=str(tmp_path))
    run_id = run_and_kill(
        script, lambda run_id: kill_when(db, run_id, FileProvider(str(tmp_path))))
    return db, run_id


def while_first_action_runs(db, run_id, provider):
    return len(provider.calls()) == 1


def during_the_wait(db, run_id, provider):
    return "WaitStarted" in journaled_codes(db, run_id)


@pytest.mark.parametrize("kill_when", [while_first_action_runs, during_the_wait])
def test_resume_after_sigkill_finishes_without_repeating_states_or_actions(tmp_path,
                                                                          kill_when):
    db, run_id = start_and_kill(tmp_path, kill_when)
    assert "FlowSucceeded" not in journaled_codes(db, run_id)

    with LocalEngine(db, time_scale=TIME_SCALE) as engine:
        provider = FileProvider(str(tmp_path))
        engine.register_action_provider(URL, provider)
        assert run_id in engine.resume()
        final = engine.wait(run_id, timeout=60)
        entries = engine.get_run_logs(run_id)["entries"]

    assert final["status"] == "SUCCEEDED", final["details"]
    assert final["details"]["output"]["w1"]["details"] == {"n": 1}
    assert final["details"]["output"]["w2"]["details"] == {"n": 2}
    for what in ("Started", "Completed"):
        names = [e["details"]["state_name"] for e in entries
                 if e["code"].endswith(what) and not e["code"].startswith("Flow")]
        assert sorted(names) == sorted(FLOW["States"]), f"each state {what} exactly once"
    calls = provider.calls()
    assert [c["body"]["n"] for c in calls] == [1, 2]
    assert [c["request_id"] for c in calls] == [f"{run_id}:Work1:1", f"{run_id}:Work2:1"]


def test_resume_skips_finished_runs_and_runs_already_driven(tmp_path):
    db = str(tmp_path / "engine.db")
    with LocalEngine(db, time_scale=TIME_SCALE) as engine:
        flow_id = engine.create_flow({"StartAt": "P",
                                      "States": {"P": {"Type": "Pass", "End": True}}})["id"]
        done = engine.wait(engine.run_flow(flow_id, {})["run_id"], timeout=30)
        assert done["status"] == "SUCCEEDED"
        waiting = engine.create_flow({"StartAt": "W", "States": {
            "W": {"Type": "Wait", "Seconds": 100000, "End": True}}})["id"]
        active = engine.run_flow(waiting, {})["run_id"]
        assert engine.resume() == []
    with LocalEngine(db, time_scale=TIME_SCALE) as fresh:
        assert fresh.resume() == [active]


def test_resume_leaves_runs_of_a_live_engine_alone(tmp_path):
    db = str(tmp_path / "engine.db")
    with LocalEngine(db, time_scale=TIME_SCALE) as first:
        flow_id = first.create_flow({"StartAt": "W", "States": {
            "W": {"Type": "Wait", "Seconds": 100000, "End": True}}})["id"]
        run_id = first.run_flow(flow_id, {})["run_id"]
        with LocalEngine(db, time_scale=TIME_SCALE) as second:
            assert second.resume() == []
    with LocalEngine(db, time_scale=TIME_SCALE) as third:
        assert third.resume() == [run_id]


def test_cancel_from_another_engine_stops_the_run_where_it_is_driven(tmp_path):
    db = str(tmp_path / "engine.db")
    with LocalEngine(db, time_scale=TIME_SCALE) as driving:
        flow_id = driving.create_flow({"StartAt": "W", "States": {
            "W": {"Type": "Wait", "Seconds": 30, "Next": "P"},
            "P": {"Type": "Pass", "End": True}}})["id"]
        run_id = driving.run_flow(flow_id, {})["run_id"]
        with LocalEngine(db, time_scale=TIME_SCALE) as other:
            assert other.cancel_run(run_id)["details"]["code"] == "FlowCanceled"
        time.sleep(1.0)  # the Wait (0.3 s at this time scale) ends in the driving engine
        final = driving.get_run(run_id)
        codes = [e["code"] for e in driving.get_run_logs(run_id)["entries"]]
    assert final["status"] == "FAILED" and final["details"]["code"] == "FlowCanceled"
    assert codes[-1] == "FlowCanceled" and "PassStarted" not in codes
