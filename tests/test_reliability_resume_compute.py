"""A process running compute tasks is SIGKILLed; ``gladier resume`` (a fresh process that
registers no functions) continues the run.

Tasks whose orphaned workers recorded a result are answered from the task ledger; a task
that never started needs its function, so the run is left INACTIVE (never FAILED) until a
resume from a process that registers it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

from gladier.engine import LocalEngine
from gladier.engine.providers.compute import process_running
from gladier.engine.providers.functions import LOCAL_ENDPOINT_ID
from killed_child import record_effect, run_and_kill, written_lines

FUNCTION_ID = "0d8f4b7e-3c1a-4e59-8a62-7f0b9c2d1e43"


def flow(tasks: int) -> dict:
    """``tasks`` tasks: the first takes 0.5 s, the others none."""
    task = {"endpoint": LOCAL_ENDPOINT_ID, "function": FUNCTION_ID,
            "kwargs": {"workdir.$": "$.input.workdir"}}
    return {"StartAt": "Work", "States": {"Work": {
        "Type": "Action", "ActionUrl": "https://compute.actions.globus.org",
        "Parameters": {"tasks": [
            dict(task, kwargs=dict(task["kwargs"], name=f"t{i}", seconds=0.5 if i == 0 else 0))
            for i in range(tasks)]},
        "ResultPath": "$.work", "WaitTime": 600, "End": True}}}


def effect(workdir: str, name: str, seconds: float) -> str:
    """A compute function with a side effect: a line in begun.log, then in effects.log."""
    record_effect(workdir, name, seconds)
    return name.upper()


CHILD = """
import sys, time
sys.path.insert(0, {tests!r})
from test_reliability_resume_compute import FUNCTION_ID, effect, flow
from gladier.engine import LocalEngine
engine = LocalEngine({db!r})
engine.register_function(effect, function_id=FUNCTION_ID)
engine.providers.compute.max_workers = 1  # a second task waits for the first
flow_id = engine.create_flow(flow({tasks}))["id"]
print(engine.run_flow(flow_id, {{"input": {{"workdir": {workdir!r}}}}})["run_id"], flush=True)
time.sleep(600)
"""


def kill_during_first_task(tmp_path, tasks: int) -> tuple[str, str]:
    """Start a run in a child engine, kill it while its first task runs, and wait for the
    orphaned worker to record that task and exit. Returns (db, run_id)."""
    db, workdir = str(tmp_path / "engine.db"), str(tmp_path)
    script = CHILD.format(tests=os.path.dirname(__file__), db=db, workdir=workdir, tasks=tasks)
    run_id = run_and_kill(script, lambda _: len(written_lines(f"{workdir}/begun.log")) >= 1)
    worker = int(written_lines(f"{workdir}/begun.log")[0].split()[1])
    deadline = time.monotonic() + 10
    while process_running(worker):
        assert time.monotonic() < deadline, "the orphaned worker never exited"
        time.sleep(0.05)
    assert written_lines(f"{workdir}/effects.log") == ["t0"]
    return db, run_id


def gladier_resume(db: str) -> subprocess.CompletedProcess:
    """``gladier resume`` in a fresh process, which registers no compute functions."""
    return subprocess.run([sys.executable, "-c", "from gladier.cli import main; main()",
                           "resume", "--db", db], capture_output=True, text=True, timeout=60,
                          env={k: v for k, v in os.environ.items() if k != "GLADIER_DB"})


def test_gladier_resume_answers_from_the_ledger_when_every_task_has_a_result(tmp_path):
    db, run_id = kill_during_first_task(tmp_path, tasks=1)

    resumed = gladier_resume(db)

    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert resumed.stdout == f"run {run_id} SUCCEEDED\n"
    with LocalEngine(db) as engine:
        run = engine.get_run(run_id)
    assert run["details"]["output"]["work"]["details"]["result"] == ["T0"]
    assert written_lines(str(tmp_path / "effects.log")) == ["t0"]


def test_gladier_resume_leaves_a_run_inactive_when_a_task_needs_an_unregistered_function(
        tmp_path):
    db, run_id = kill_during_first_task(tmp_path, tasks=2)

    resumed = gladier_resume(db)

    assert resumed.returncode == 1
    assert resumed.stdout.startswith(f"run {run_id} INACTIVE: FunctionNotRegistered: ")
    assert f"Compute function '{FUNCTION_ID}' is not registered in this process; resume from " \
           "a process that registers it" in resumed.stdout
    assert "register the functions the run needs" in resumed.stderr
    assert written_lines(str(tmp_path / "effects.log")) == ["t0"]

    with LocalEngine(db) as engine:  # the user's script, which registers the function
        engine.register_function(effect, function_id=FUNCTION_ID)
        assert engine.resume() == [run_id]
        final = engine.wait(run_id, timeout=60)
    assert final["status"] == "SUCCEEDED", final["details"]
    assert final["details"]["output"]["work"]["details"]["result"] == ["T0", "T1"]
    assert sorted(written_lines(str(tmp_path / "effects.log"))) == ["t0", "t1"]


def test_a_worker_orphaned_inside_a_chunk_stops_after_its_task_and_resume_runs_the_rest_once(
        tmp_path):
    db, run_id = kill_during_first_task(tmp_path, tasks=64)  # one worker: chunks of 4

    with LocalEngine(db) as engine:
        engine.register_function(effect, function_id=FUNCTION_ID)
        assert engine.resume() == [run_id]
        final = engine.wait(run_id, timeout=60)

    assert final["status"] == "SUCCEEDED", final["details"]
    assert final["details"]["output"]["work"]["details"]["result"] == [
        f"T{i}" for i in range(64)]
    assert sorted(written_lines(str(tmp_path / "effects.log"))) == sorted(
        f"t{i}" for i in range(64))
