"""Several engine processes on one database: each run is driven by one of them at a time.

An engine process starts runs and is SIGKILLed in the middle of them; then three processes
resume the database at the same moment (released together by a file they wait for). The
side effects are counted where they happen: each compute function appends a line to
``effects.log`` when it ends, and the real Action Provider on 127.0.0.1 (``ap_server``)
records every request_id it was asked to start. Every compute step and every HTTP action
must have happened exactly once per run, and every run must SUCCEED. The same is checked
with three concurrent ``gladier resume`` commands over runs whose actions are all HTTP.

Also here: a killed engine left as a zombie (nobody reaped it) is taken for dead, and K
processes opening a new database at once all succeed.
"""

from __future__ import annotations

import collections
import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from ap_server import ActionProviderServer
from gladier.engine import LocalEngine
from gladier.engine.engine import driver_alive
from gladier.engine.providers.functions import LOCAL_ENDPOINT_ID
from killed_child import run_and_kill, written_lines

TESTS = os.path.dirname(os.path.abspath(__file__))
FUNCTION_ID = "0c6a3f0e-5c1e-4d7f-8f3a-2d9e6b1a4c11"
COMPUTE_URL = "https://compute.actions.globus.org"
RUNS = 6
RESUMERS = 3
TIME_SCALE = 0.01


def count_effect(workdir: str, run: str, step: str, seconds: float) -> str:
    """A compute function with a side effect: one line in effects.log when it ends."""
    time.sleep(seconds)
    with open(os.path.join(workdir, "effects.log"), "a") as f:
        f.write(f"{run}:{step}\n")
    return step


def mixed_flow(ap_url: str) -> dict:
    def compute(step: str) -> dict:
        return {"Type": "Action", "ActionUrl": COMPUTE_URL, "ResultPath": f"$.{step}",
                "WaitTime": 600,
                "Parameters": {"endpoint": LOCAL_ENDPOINT_ID, "function": FUNCTION_ID,
                               "kwargs": {"workdir.$": "$.input.workdir",
                                          "run.$": "$.input.name", "step": step,
                                          "seconds": 0.3}}}

    def http(step: str) -> dict:
        return {"Type": "Action", "ActionUrl": ap_url, "ResultPath": f"$.{step}",
                "WaitTime": 600,
                "Parameters": {"run.$": "$.input.name", "step": step, "polls": 2}}

    return {"StartAt": "C1", "States": {
        "C1": dict(compute("C1"), Next="H1"),
        "H1": dict(http("H1"), Next="C2"),
        "C2": dict(compute("C2"), Next="H2"),
        "H2": dict(http("H2"), End=True)}}


def http_flow(ap_url: str) -> dict:
    def http(step: str) -> dict:
        return {"Type": "Action", "ActionUrl": ap_url, "ResultPath": f"$.{step}",
                "WaitTime": 600, "Parameters": {"run.$": "$.input.name", "step": step,
                                                "polls": 3}}

    return {"StartAt": "H1", "States": {
        "H1": dict(http("H1"), Next="Nap"),
        "Nap": {"Type": "Wait", "Seconds": 20, "Next": "H2"},
        "H2": dict(http("H2"), End=True)}}


def build_engine(db: str) -> LocalEngine:
    engine = LocalEngine(db, time_scale=TIME_SCALE)
    engine.register_function(count_effect, function_id=FUNCTION_ID)
    return engine


STARTER = """
import sys
sys.path.insert(0, {tests!r})
import time
from test_reliability_concurrent import build_engine
engine = build_engine({db!r})
flow_id = engine.create_flow({flow!r})["id"]
for i in range({runs}):
    engine.run_flow(flow_id, {{"input": {{"workdir": {workdir!r}, "name": f"r{{i}}"}}}})
print("started", flush=True)
time.sleep(600)
"""

RESUMER = """
import json, os, sys, time
sys.path.insert(0, {tests!r})
from test_reliability_concurrent import build_engine
engine = build_engine({db!r})
while not os.path.exists({go!r}):
    time.sleep(0.005)
taken = engine.resume()
finals = [engine.wait(run_id, timeout=120)["status"] for run_id in taken]
print(json.dumps(dict(zip(taken, finals))), flush=True)
engine.close()
"""


def _entries(db: str) -> int:
    import sqlite3

    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
    try:
        return con.execute("SELECT COUNT(*) FROM log_entries").fetchone()[0]
    except sqlite3.Error:
        return 0
    finally:
        con.close()


def _started_actions(server: ActionProviderServer) -> collections.Counter:
    """How many actions the provider started for each (run, step): distinct request_ids."""
    return collections.Counter(f"{body['run']}:{body['step']}"
                               for _, body in server.requests_by_id.values())


def _start_and_kill(tmp_path, flow: dict, kill_after_entries: int) -> str:
    db = str(tmp_path / "engine.db")
    script = STARTER.format(tests=TESTS, db=db, flow=flow, runs=RUNS, workdir=str(tmp_path))
    run_and_kill(script, lambda _: _entries(db) >= kill_after_entries, timeout=60)
    return db


def _together(commands: list[list[str]], go: str, timeout: float = 180) -> list[str]:
    """Start every command, release them at once by creating ``go``, return their stdout."""
    children = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 text=True) for command in commands]
    try:
        time.sleep(1.5)  # each has imported gladier and opened the database
        open(go, "w").close()
        outputs = []
        for child in children:
            out, err = child.communicate(timeout=timeout)
            assert child.returncode in (0, 1), err
            assert "Traceback" not in err and "IntegrityError" not in err, err
            outputs.append(out)
        return outputs
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
                child.wait()


@pytest.fixture
def ap():
    server = ActionProviderServer().start()
    yield server
    server.stop()


def test_three_processes_resuming_at_once_run_each_step_exactly_once(tmp_path, ap):
    db = _start_and_kill(tmp_path, mixed_flow(ap.url), kill_after_entries=RUNS + 8)
    go = str(tmp_path / "go")
    script = RESUMER.format(tests=TESTS, db=db, go=go)
    outputs = _together([[sys.executable, "-c", script]] * RESUMERS, go)
    taken: dict[str, str] = {}
    for out in outputs:
        for run_id, status in json.loads(out.strip().splitlines()[-1]).items():
            assert run_id not in taken, f"run {run_id} was taken by two processes"
            taken[run_id] = status
    with LocalEngine(db) as engine:
        statuses = {run["run_id"]: run["status"] for run in engine.list_runs()}
    assert len(statuses) == RUNS and set(statuses.values()) == {"SUCCEEDED"}
    assert set(taken) == set(statuses)
    effects = collections.Counter(written_lines(str(tmp_path / "effects.log")))
    expected = {f"r{i}:{step}": 1 for i in range(RUNS) for step in ("C1", "C2")}
    assert dict(effects) == expected
    assert dict(_started_actions(ap)) == {f"r{i}:{step}": 1 for i in range(RUNS)
                                          for step in ("H1", "H2")}
    print(f"\n{RESUMERS} resumers took {len(taken)} runs as "
          f"{sorted(collections.Counter(len(json.loads(o.splitlines()[-1])) for o in outputs).items())}"
          f"; compute effects {sum(effects.values())}/{len(expected)}, "
          f"HTTP actions started {ap.runs_started}/{RUNS * 2}")


def test_three_gladier_resume_commands_at_once_start_each_http_action_once(tmp_path, ap):
    db = _start_and_kill(tmp_path, http_flow(ap.url), kill_after_entries=RUNS + 4)
    go = str(tmp_path / "go")
    command = [sys.executable, "-c", textwrap.dedent(f"""
        import os, sys, time
        while not os.path.exists({go!r}):
            time.sleep(0.005)
        from gladier.cli import main
        sys.argv = ["gladier", "resume", "--db", {db!r}]
        main()
    """)]
    env_scale = os.environ.get("GLADIER_TIME_SCALE")
    os.environ["GLADIER_TIME_SCALE"] = str(TIME_SCALE)
    try:
        outputs = _together([command] * RESUMERS, go)
    finally:
        if env_scale is None:
            del os.environ["GLADIER_TIME_SCALE"]
        else:
            os.environ["GLADIER_TIME_SCALE"] = env_scale
    lines = [line for out in outputs for line in out.splitlines() if line.startswith("run ")]
    assert sorted(line.split()[2] for line in lines) == ["SUCCEEDED"] * RUNS, outputs
    assert len({line.split()[1] for line in lines}) == RUNS
    with LocalEngine(db) as engine:
        assert {run["status"] for run in engine.list_runs()} == {"SUCCEEDED"}
    assert dict(_started_actions(ap)) == {f"r{i}:{step}": 1 for i in range(RUNS)
                                          for step in ("H1", "H2")}


def test_a_killed_engine_left_a_zombie_is_taken_for_dead(tmp_path):
    db = str(tmp_path / "engine.db")
    flow = {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 10, "End": True}}}
    child = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import time
        from gladier.engine import LocalEngine
        engine = LocalEngine({db!r}, time_scale={TIME_SCALE})
        print(engine.run_flow(engine.create_flow({flow!r})["id"], {{}})["run_id"], flush=True)
        time.sleep(600)
    """)], stdout=subprocess.PIPE, text=True)
    try:
        run_id = child.stdout.readline().strip()
        os.kill(child.pid, signal.SIGKILL)
        deadline = time.time() + 10
        with open(f"/proc/{child.pid}/stat") as stat:  # killed, not reaped: a zombie
            while " Z " not in stat.read() and time.time() < deadline:
                stat.seek(0)
                time.sleep(0.01)
        with LocalEngine(db, time_scale=TIME_SCALE) as engine:
            assert not driver_alive(engine._store.get_run(run_id)["driver"])
            assert engine.resume() == [run_id]
            assert engine.wait(run_id, timeout=30)["status"] == "SUCCEEDED"
    finally:
        child.wait()
        child.stdout.close()


def test_an_engine_closed_in_a_live_process_leaves_its_runs_to_other_processes(tmp_path):
    db = str(tmp_path / "engine.db")
    flow = {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 10, "End": True}}}
    with LocalEngine(db, time_scale=TIME_SCALE) as engine:
        run_id = engine.run_flow(engine.create_flow(flow)["id"], {})["run_id"]
    other = subprocess.run([sys.executable, "-c", textwrap.dedent(f"""
        from gladier.engine import LocalEngine
        with LocalEngine({db!r}, time_scale={TIME_SCALE}) as engine:
            for run_id in engine.resume():
                print(run_id, engine.wait(run_id, timeout=30)["status"])
    """)], capture_output=True, text=True, timeout=120)
    assert other.stdout.split() == [run_id, "SUCCEEDED"], other.stderr


K_OPENERS = 8


def test_k_processes_creating_a_new_database_at_once_all_open_it(tmp_path):
    db = str(tmp_path / "new" / "engine.db")
    go = str(tmp_path / "go")
    script = textwrap.dedent(f"""
        import os, time
        from gladier.engine import LocalEngine
        while not os.path.exists({go!r}):
            time.sleep(0.001)
        with LocalEngine({db!r}) as engine:
            flow = engine.create_flow({{"StartAt": "P", "States": {{"P": {{"Type": "Pass",
                                                                    "End": True}}}}}})
            print(engine.wait(engine.run_flow(flow["id"], {{}})["run_id"], timeout=60)["status"])
    """)
    outputs = _together([[sys.executable, "-c", script]] * K_OPENERS, go)
    assert [out.strip() for out in outputs] == ["SUCCEEDED"] * K_OPENERS


def test_gladier_resume_takes_only_the_runs_named_or_of_the_flow_given(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from gladier.cli import cli

    monkeypatch.setenv("GLADIER_TIME_SCALE", str(TIME_SCALE))
    db = str(tmp_path / "engine.db")
    with LocalEngine(db) as engine:
        flows = [engine.create_flow({"StartAt": name, "States": {
            name: {"Type": "Wait", "Seconds": 10, "End": True}}})["id"] for name in "AB"]
        runs = [engine.run_flow(flow_id, {})["run_id"] for flow_id in flows + flows]

    def resume(*args: str) -> list[str]:
        out = CliRunner().invoke(cli, ["resume", *args, "--db", db],
                                 catch_exceptions=False).stdout
        return sorted(line.split()[1] for line in out.splitlines() if line.startswith("run "))

    assert resume(runs[1]) == [runs[1]]
    assert resume("--flow", flows[0]) == sorted([runs[0], runs[2]])
    assert resume() == [runs[3]]
    with LocalEngine(db) as engine:
        assert {run["status"] for run in engine.list_runs()} == {"SUCCEEDED"}
