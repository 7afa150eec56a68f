"""Compute on executors you give the engine: a Dask ``distributed.LocalCluster`` on the
loopback interface, and a stand-in for ``globus_compute_sdk.Executor`` that has
``submit_to_registered_function`` (functions known by id on the endpoint, not in this
process). Real flows, real worker processes; what a crash does on each."""

from __future__ import annotations

import concurrent.futures as cf
import json
import os
import subprocess
import sys
import textwrap
import uuid

import pytest

from gladier.engine import LocalEngine
from killed_child import run_and_kill, written_lines

distributed = pytest.importorskip("distributed")

COMPUTE = "https://compute.actions.globus.org/v3"
FUNCTION_ID = str(uuid.UUID(int=17))


def fan_out_flow(endpoint: str, count: int) -> dict:
    """One Compute action with ``count`` tasks of the same function."""
    return {"StartAt": "Fan", "States": {"Fan": {
        "Type": "Action", "ActionUrl": COMPUTE, "ResultPath": "$.fan", "End": True,
        "Parameters": {"endpoint_id": endpoint, "tasks": [
            {"function_id": FUNCTION_ID, "args": [], "kwargs": {"n": n}}
            for n in range(count)]}}}}


def run(engine: LocalEngine, definition: dict) -> dict:
    flow_id = engine.create_flow(definition)["id"]
    return engine.wait(engine.run_flow(flow_id, {})["run_id"], timeout=120)


def where_and_square(n: int) -> list:
    """Which process ran the task, and n squared."""
    import os

    return [os.getpid(), n * n]


@pytest.fixture(scope="module")
def dask_client():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       host="127.0.0.1", dashboard_address=None)
    client = distributed.Client(cluster)
    yield client
    client.close()
    cluster.close()


def test_a_flow_runs_its_compute_tasks_on_a_dask_local_cluster(tmp_path, dask_client):
    worker_pids = set(dask_client.run(os.getpid).values())
    assert len(worker_pids) == 2 and os.getpid() not in worker_pids
    assert all(address.startswith("tcp://127.0.0.1:")
               for address in dask_client.scheduler_info()["workers"])
    with LocalEngine(str(tmp_path / "runs.db"),
                     executors={"dask": dask_client.get_executor()}) as engine:
        engine.register_function(where_and_square, function_id=FUNCTION_ID)
        done = run(engine, fan_out_flow("dask", 40))
    assert done["status"] == "SUCCEEDED", done["details"]
    results = done["details"]["output"]["fan"]["details"]["result"]
    assert [square for _pid, square in results] == [n * n for n in range(40)]
    assert {pid for pid, _square in results} <= worker_pids  # every task ran on a worker


def test_a_failing_task_on_dask_fails_the_state_with_its_exception(tmp_path, dask_client):
    def divide(n: int) -> float:
        return 1 / (n - 3)

    with LocalEngine(str(tmp_path / "runs.db"),
                     executors={"dask": dask_client.get_executor()}) as engine:
        engine.register_function(divide, function_id=FUNCTION_ID)
        done = run(engine, fan_out_flow("dask", 5))
    assert done["status"] == "FAILED"
    assert "ZeroDivisionError" in json.dumps(done["details"])


class RegisteredFunctionsExecutor(cf.Executor):
    """Shaped like ``globus_compute_sdk.Executor``: functions are known by id on the
    endpoint (here, a process pool and a table of functions), not in the caller."""

    def __init__(self, functions: dict, pool: cf.Executor) -> None:
        self.functions = functions
        self.pool = pool
        self.submitted: list[str] = []

    def submit_to_registered_function(self, function_id: str, args=(), kwargs=None):
        self.submitted.append(function_id)
        return self.pool.submit(self.functions[function_id], *args, **(kwargs or {}))

    def submit(self, fn, /, *args, **kwargs):  # pragma: no cover - must not be used
        raise AssertionError("a function the engine does not know went through submit()")

    def shutdown(self, wait: bool = True, **kwargs) -> None:
        self.pool.shutdown(wait=wait)


def test_functions_registered_only_on_the_endpoint_go_through_submit_to_registered_function(
        tmp_path):
    executor = RegisteredFunctionsExecutor({FUNCTION_ID: where_and_square},
                                           cf.ProcessPoolExecutor(max_workers=2))
    try:
        with LocalEngine(str(tmp_path / "runs.db"),
                         executors={"endpoint": executor}) as engine:
            # nothing registered with the engine: the id is the endpoint's business
            done = run(engine, fan_out_flow("endpoint", 6))
    finally:
        executor.shutdown()
    assert done["status"] == "SUCCEEDED", done["details"]
    assert [square for _pid, square in done["details"]["output"]["fan"]["details"]["result"]
            ] == [0, 1, 4, 9, 16, 25]
    assert executor.submitted == [FUNCTION_ID] * 6


CRASH_SCRIPT = textwrap.dedent("""
    import concurrent.futures as cf, sys, time
    sys.path.insert(0, {tests!r})
    from gladier.engine import LocalEngine
    from test_executors import FUNCTION_ID, RegisteredFunctionsExecutor, fan_out_flow

    def effect(n):
        with open({marks!r}, "a") as handle:
            handle.write(f"started {{n}}\\n")
        time.sleep({sleep})
        return n

    threads = cf.ThreadPoolExecutor(2)
    if {registered!r}:  # the function is known on the endpoint only
        executor = RegisteredFunctionsExecutor({{FUNCTION_ID: effect}}, threads)
    else:
        executor = threads
    engine = LocalEngine({db!r}, executors={{"ep": executor}})
    if not {registered!r}:
        engine.register_function(effect, function_id=FUNCTION_ID)
    if {run_id!r} is None:
        flow_id = engine.create_flow(fan_out_flow("ep", 1))["id"]
        run_id = engine.run_flow(flow_id, {{}})["run_id"]
    else:
        engine.resume()
        run_id = {run_id!r}
    print(run_id, flush=True)
    print(engine.wait(run_id, timeout=120)["status"], flush=True)
""")


@pytest.mark.parametrize("registered", [False, True], ids=["submit", "registered"])
def test_after_a_crash_a_task_on_a_given_executor_is_reported_interrupted(tmp_path,
                                                                          registered):
    """The engine journals the action, not each task on an executor it does not own, and
    cannot ask that executor about a task an earlier process submitted: the task that was
    running when the engine died is reported as TaskInterrupted at once when the run
    resumes, not run again (at most once, like the local process pool's)."""
    marks, db = str(tmp_path / "marks.txt"), str(tmp_path / "runs.db")
    options = {"tests": os.path.dirname(__file__), "marks": marks, "db": db,
               "registered": registered}
    run_id = run_and_kill(CRASH_SCRIPT.format(**options, sleep=30, run_id=None),
                          lambda _line: written_lines(marks) == ["started 0"])
    done = subprocess.run(
        [sys.executable, "-c", CRASH_SCRIPT.format(**options, sleep=0, run_id=run_id)],
        capture_output=True, text=True, timeout=180)
    assert done.stdout.split() == [run_id, "FAILED"], done.stderr
    with LocalEngine(db) as engine:
        final = engine.get_run(run_id)
    assert "TaskInterrupted" in final["details"]["details"]["cause"]
    assert written_lines(marks) == ["started 0"]
