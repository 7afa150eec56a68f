"""Ctrl-C and SIGTERM during a compute step: the engine stops promptly and loses nothing.

A real script (a child process in its own process group, as a terminal runs it) runs a flow
whose first state is a slow compute function with a side effect; the signal goes to the
whole process group, as Ctrl-C does. The process must exit within seconds, the function's
worker must be gone, and the run must be journaled INACTIVE naming the state, not FAILED.
``gladier resume`` (which registers no functions) leaves it INACTIVE with its hint; a
resume with the function registered runs the interrupted step again from its start, to
its end exactly once, and then the next state.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from click.testing import CliRunner

from gladier.cli import cli
from gladier.engine import LocalEngine
from gladier.engine.providers.compute import process_running
from gladier.engine.providers.functions import LOCAL_ENDPOINT_ID
from killed_child import record_effect, written_lines

TESTS = os.path.dirname(os.path.abspath(__file__))
FUNCTION_ID = "5a7c1e2d-9b3f-4d6a-8c1e-0f2a3b4c5d6e"


def slow_effect(workdir: str, step: str, seconds: float) -> str:
    """Notes its start (with its pid), sleeps, then leaves its effect."""
    record_effect(workdir, step, seconds)
    return step


def slow_tool_effect(workdir: str, step: str, seconds: float, **data) -> str:
    """slow_effect as a Gladier tool's function (it gets the whole run input)."""
    return slow_effect(workdir, step, seconds)


def flow() -> dict:
    def compute(step: str, seconds: float) -> dict:
        return {"Type": "Action", "ActionUrl": "https://compute.actions.globus.org",
                "ResultPath": f"$.{step}", "WaitTime": 600,
                "ExceptionOnActionFailure": False,
                "Parameters": {"tasks": [{"endpoint": LOCAL_ENDPOINT_ID,
                                          "function": FUNCTION_ID,
                                          "kwargs": {"workdir.$": "$.input.workdir",
                                                     "step": step, "seconds": seconds}}]}}

    return {"StartAt": "Slow", "States": {
        "Slow": dict(compute("Slow", 4), Next="Quick"),
        "Quick": dict(compute("Quick", 0), End=True)}}


SCRIPT = """
import sys, time
sys.path.insert(0, {tests!r})
from test_reliability_interrupts import FUNCTION_ID, flow, slow_effect
from gladier.engine import LocalEngine
engine = LocalEngine({db!r})
engine.register_function(slow_effect, function_id=FUNCTION_ID)
run_id = engine.run_flow(engine.create_flow(flow())["id"],
                         {{"input": {{"workdir": {workdir!r}}}}})["run_id"]
print(run_id, flush=True)
{wait}
"""
WAIT = "engine.wait(run_id, timeout=120)"
WAIT_THEN_HANG = """
try:
    engine.wait(run_id, timeout=120)
except KeyboardInterrupt:
    print("interrupted", flush=True)
    time.sleep(600)
"""


def _start(tmp_path, wait: str = WAIT) -> tuple[subprocess.Popen, str, str]:
    db = str(tmp_path / "engine.db")
    script = SCRIPT.format(tests=TESTS, db=db, workdir=str(tmp_path), wait=wait)
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, start_new_session=True)
    run_id = child.stdout.readline().strip()
    deadline = time.time() + 60
    while not written_lines(str(tmp_path / "begun.log")):
        assert time.time() < deadline and child.poll() is None, child.stderr.read()
        time.sleep(0.02)
    return child, db, run_id


def _worker_pid(tmp_path) -> int:
    return int(written_lines(str(tmp_path / "begun.log"))[0].split()[1])


def _signal_group_and_wait(child: subprocess.Popen, signum: int) -> tuple[int, float, str]:
    began = time.monotonic()
    os.killpg(child.pid, signum)
    try:
        child.wait(15)
    except subprocess.TimeoutExpired:
        os.killpg(child.pid, signal.SIGKILL)
        child.wait()
        pytest.fail("the engine process did not stop within 15 s")
    stderr = child.stderr.read()
    child.stdout.close()
    child.stderr.close()
    return child.returncode, time.monotonic() - began, stderr


def _interrupted_run(db: str, run_id: str) -> dict:
    with LocalEngine(db) as engine:
        return engine.get_run(run_id)


@pytest.mark.parametrize("signum, status", [(signal.SIGINT, -signal.SIGINT), (signal.SIGTERM, 143)])
def test_a_signal_to_the_process_group_stops_the_step_and_journals_the_run_inactive(
        tmp_path, signum, status):
    child, db, run_id = _start(tmp_path)
    worker = _worker_pid(tmp_path)
    returncode, took, stderr = _signal_group_and_wait(child, signum)

    assert returncode == status, stderr
    assert took < 5, f"took {took:.1f} s to stop"
    if signum == signal.SIGINT:
        assert "KeyboardInterrupt" in stderr
    assert "TaskExecutionFailed" not in stderr
    deadline = time.time() + 5
    while process_running(worker) and time.time() < deadline:
        time.sleep(0.05)
    assert not process_running(worker), "the compute worker still runs"
    run = _interrupted_run(db, run_id)
    assert run["status"] == "INACTIVE"
    assert run["details"]["code"] == "FlowInterrupted"
    assert "state 'Slow'" in run["details"]["description"]
    assert signal.Signals(signum).name in run["details"]["description"]
    time.sleep(4.5)  # the function would have ended by now, had it gone on
    assert written_lines(str(tmp_path / "effects.log")) == []


def test_resume_after_ctrl_c_runs_the_interrupted_step_again_once_and_the_next_state(
        tmp_path):
    child, db, run_id = _start(tmp_path)
    _signal_group_and_wait(child, signal.SIGINT)

    # gladier resume registers no functions: the run waits, it is not failed
    result = CliRunner().invoke(cli, ["resume", run_id, "--db", db], catch_exceptions=False)
    assert f"run {run_id} INACTIVE" in result.stdout
    assert "register the functions" in result.stderr
    assert _interrupted_run(db, run_id)["status"] == "INACTIVE"

    with LocalEngine(db) as engine:
        engine.register_function(slow_effect, function_id=FUNCTION_ID)
        assert engine.resume([run_id]) == [run_id]
        final = engine.wait(run_id, timeout=120)
        codes = [e["code"] for e in engine.get_run_logs(run_id)["entries"]]
    assert final["status"] == "SUCCEEDED", final["details"]
    assert final["details"]["output"]["Slow"]["status"] == "SUCCEEDED"
    assert written_lines(str(tmp_path / "effects.log")) == ["Slow", "Quick"]
    assert [line.split()[0] for line in written_lines(str(tmp_path / "begun.log"))] == [
        "Slow", "Slow", "Quick"]  # begun, interrupted, run again from its start
    assert "ActionFailed" not in codes and codes[-1] == "FlowSucceeded"


def test_a_second_ctrl_c_exits_at_once(tmp_path):
    child, db, run_id = _start(tmp_path, wait=WAIT_THEN_HANG)
    os.killpg(child.pid, signal.SIGINT)
    assert child.stdout.readline().strip() == "interrupted"
    returncode, took, stderr = _signal_group_and_wait(child, signal.SIGINT)
    assert returncode == 130 and took < 2, stderr
    assert _interrupted_run(db, run_id)["status"] == "INACTIVE"


def test_a_client_resumes_its_own_interrupted_run(tmp_path, monkeypatch):
    from gladier import GladierBaseClient, GladierBaseTool, generate_flow_definition

    @generate_flow_definition
    class SlowTool(GladierBaseTool):
        compute_functions = [slow_tool_effect]

    @generate_flow_definition
    class SlowClient(GladierBaseClient):
        gladier_tools = [SlowTool]

    monkeypatch.setenv("GLADIER_DB", str(tmp_path / "client.db"))
    client = SlowClient()
    run_id = client.run_flow({"input": {"workdir": str(tmp_path), "step": "S",
                                        "seconds": 3}})["run_id"]
    deadline = time.time() + 60
    while not written_lines(str(tmp_path / "begun.log")):
        assert time.time() < deadline
        time.sleep(0.02)
    client.flows_manager.engine.interrupt("SIGINT")  # what Ctrl-C does in a notebook
    assert client.get_status(run_id)["status"] == "INACTIVE"

    assert client.resume(run_id)["status"] == "ACTIVE"
    final = client.progress(run_id, callback=lambda run: None)
    assert final["status"] == "SUCCEEDED"
    assert client.get_details(run_id, "SlowToolEffect")["status"] == "SUCCEEDED"
    assert written_lines(str(tmp_path / "effects.log")) == ["S"]
    client.flows_manager.engine.close()


def test_gladier_resume_reaching_a_function_it_lacks_leaves_the_run_inactive(tmp_path,
                                                                             monkeypatch):
    monkeypatch.setenv("GLADIER_TIME_SCALE", "0.01")
    db = str(tmp_path / "engine.db")
    definition = flow()
    definition["States"] = {"Nap": {"Type": "Wait", "Seconds": 50, "Next": "Quick"},
                            "Quick": definition["States"]["Quick"]}
    definition["StartAt"] = "Nap"
    with LocalEngine(db) as engine:  # closed during the Wait: the run is left to a resume
        engine.register_function(slow_effect, function_id=FUNCTION_ID)
        run_id = engine.run_flow(engine.create_flow(definition)["id"],
                                 {"input": {"workdir": str(tmp_path)}})["run_id"]

    result = CliRunner().invoke(cli, ["resume", "--db", db], catch_exceptions=False)
    assert result.exit_code == 1
    assert f"run {run_id} INACTIVE" in result.stdout and "Quick" in result.stdout
    assert "register the functions" in result.stderr
    run = _interrupted_run(db, run_id)
    assert (run["status"], run["details"]["code"]) == ("INACTIVE", "FunctionNotRegistered")

    with LocalEngine(db) as engine:
        engine.register_function(slow_effect, function_id=FUNCTION_ID)
        assert engine.resume() == [run_id]
        assert engine.wait(run_id, timeout=60)["status"] == "SUCCEEDED"
    assert written_lines(str(tmp_path / "effects.log")) == ["Quick"]
