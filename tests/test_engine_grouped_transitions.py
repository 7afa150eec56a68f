"""Consecutive side-effect-free states (Pass, Choice, ExpressionEval) are journaled as one
group per transaction (see ``RunDriver._execute``); a process killed inside a group
loses nothing and repeats nothing the user can see.

The crash test SIGKILLs a real engine process several times in the middle of a long
chain of Pass states, each of which counts (``$.count.n`` goes up by one per state),
resuming it in a new process each time: at every kill the journal holds whole states
only (the run's cursor and its log agree), and the finished run has every state started
and completed exactly once, in order, and the count of the whole chain.
"""

from __future__ import annotations

import os
import sqlite3

from gladier.engine import LocalEngine
from killed_child import run_and_kill

STATES = 6000
KILLS = 3


def counting_chain(states: int) -> dict:
    """``S0 -> S1 -> ...``, each Pass state adding one to ``$.count.n``."""
    definition: dict = {"StartAt": "S0", "States": {}}
    for i in range(states):
        state: dict = {"Type": "Pass", "Parameters": {"n.=": "count.n + 1"},
                       "ResultPath": "$.count"}
        if i + 1 < states:
            state["Next"] = f"S{i + 1}"
        else:
            state["End"] = True
        definition["States"][f"S{i}"] = state
    return definition


CHILD = """
import sys, time
sys.path.insert(0, {tests!r})
from test_engine_grouped_transitions import STATES, counting_chain
from gladier.engine import LocalEngine
engine = LocalEngine({db!r})
if {start!r}:
    flow_id = engine.create_flow(counting_chain(STATES))["id"]
    print(engine.run_flow(flow_id, {{"count": {{"n": 0}}}})["run_id"], flush=True)
else:
    print(engine.resume()[0], flush=True)
time.sleep(600)
"""


def journal(db: str) -> tuple[str | None, int, list[tuple[int, str, str]]]:
    """The run's cursor, its log_count and its log entries ``(seq, code, state_name)``, as
    another process reads them."""
    con = sqlite3.connect(db)
    try:
        cursor, count = con.execute("SELECT state_name, log_count FROM runs").fetchone()
        entries = [(seq, code, name) for seq, code, name in con.execute(
            "SELECT seq, code, json_extract(details, '$.state_name') FROM log_entries"
            " ORDER BY seq")]
    finally:
        con.close()
    return cursor, count, entries


def journaled_entries(db: str) -> int:
    try:
        return journal(db)[1]
    except (sqlite3.Error, TypeError):  # not created yet
        return 0


def expected_entries(done: int) -> list[tuple[int, str, str | None]]:
    """FlowStarted, then PassStarted and PassCompleted of S0 .. S<done - 1>."""
    expected: list[tuple[int, str, str | None]] = [(1, "FlowStarted", None)]
    for i in range(done):
        expected += [(2 * i + 2, "PassStarted", f"S{i}"), (2 * i + 3, "PassCompleted", f"S{i}")]
    return expected


def test_a_pass_chain_killed_inside_its_groups_resumes_with_every_state_logged_once(tmp_path):
    db = str(tmp_path / "engine.db")
    tests = os.path.dirname(__file__)
    run_id = None
    kills = []
    for kill in range(KILLS):
        # Kill once the journal has grown by a few hundred states since the last kill:
        # the engine is then always in the middle of the chain, mostly inside a group.
        floor = journaled_entries(db) + 600
        script = CHILD.format(tests=tests, db=db, start=kill == 0)
        started = run_and_kill(script, lambda _: journaled_entries(db) >= floor, timeout=120)
        assert run_id in (None, started)
        run_id = started
        cursor, count, entries = journal(db)
        assert cursor is not None, "the run ended before the kill: make the chain longer"
        done = int(cursor[1:])  # the cursor says the states before it are done ...
        assert count == len(entries) == 1 + 2 * done  # ... and the log has exactly those
        assert entries == expected_entries(done)
        assert not kills or done > kills[-1]
        kills.append(done)

    with LocalEngine(db) as engine:
        assert engine.resume() == [run_id]
        final = engine.wait(run_id, timeout=300)
        shown = engine.get_run_logs(run_id)["entries"]
    assert final["status"] == "SUCCEEDED", final["details"]
    assert final["details"]["output"] == {"count": {"n": STATES}}
    expected = expected_entries(STATES) + [(2 * STATES + 2, "FlowSucceeded", None)]
    assert [(seq, e["code"], e["details"].get("state_name"))
            for seq, e in enumerate(shown, 1)] == expected
    counts = [e["details"]["output"]["n"] for e in shown if e["code"] == "PassCompleted"]
    assert counts == list(range(1, STATES + 1))
    cursor, count, entries = journal(db)
    assert (cursor, count, entries) == (None, len(expected), expected)


def test_a_failure_inside_a_group_is_journaled_after_every_state_before_it(tmp_path):
    definition = counting_chain(10)
    definition["States"]["S6"] = {"Type": "Pass", "InputPath": "$.missing", "Next": "S7"}
    seen = []
    with LocalEngine(str(tmp_path / "engine.db")) as engine:
        flow_id = engine.create_flow(definition)["id"]
        run_id = engine.run_flow(flow_id, {"count": {"n": 0}})["run_id"]
        engine.subscribe(run_id, seen.append)
        final = engine.wait(run_id, timeout=60)
        shown = engine.get_run_logs(run_id)["entries"]
    assert final["status"] == "FAILED"
    assert [(e["code"], e["details"].get("state_name")) for e in shown] == [
        (code, name) for _, code, name in expected_entries(6)] + [
        ("PassStarted", "S6"), ("PassFailed", "S6"), ("FlowFailed", "S6")]
    assert [e["code"] for e in seen] == [e["code"] for e in shown][len(shown) - len(seen):]


def test_states_of_a_group_show_the_run_state_each_of_them_saw(tmp_path):
    definition = counting_chain(3)
    definition["States"]["S1"]["Parameters"]["_private_note"] = "kept out of the log"
    with LocalEngine(str(tmp_path / "engine.db")) as engine:
        flow_id = engine.create_flow(definition)["id"]
        run_id = engine.run_flow(flow_id, {"count": {"n": 0}})["run_id"]
        assert engine.wait(run_id, timeout=60)["status"] == "SUCCEEDED"
        shown = engine.get_run_logs(run_id)["entries"]
    inputs = [e["details"]["input"] for e in shown if e["code"] == "PassStarted"]
    assert inputs == [{"count": {"n": 0}}, {"count": {"n": 1}}, {"count": {"n": 2}}]
    assert "kept out of the log" not in str(shown)
