"""Compute throughput on the embedded engine (durable store on) vs ProcessPoolExecutor.map.

Both sides run the same function (``_work.increment``) on N integers (default 1,000) in a
warm process pool of the same size (the provider's default: one worker per CPU). The
engine runs on a database file (WAL, every transition committed), and each task is
claimed and recorded in the compute task ledger.

- goal (a), **N runs**: N runs of a flow with one Compute state of one task
  (``https://compute.actions.globus.org/v3``, local endpoint), all started together
  (``run_flow`` N times, then waited for), every run's result checked. Against
  ``ProcessPoolExecutor.map`` of the same N calls (default ``chunksize=1``).
  Goal: <= 1.5x.
- goal (b), **one state of N tasks**: one run of a flow whose one Compute state carries
  the N tasks. Against ``map(chunksize=)`` with the chunk size the provider itself uses
  for N tasks (``chunk_size(N, workers * CHUNKS_PER_WORKER)``). Goal: <= 2x.
- also shown: the one-state flow against plain ``map``, and N one-task actions sent to
  the ``ComputeProvider`` alone (no runs), against plain ``map``.

Repeats alternate the order of the sides; each figure is the median of the per-pair
ratios, with their spread.

    python benchmarks/bench_compute.py [--tasks 1000] [--repeats 7] [--goal runs|state|both]
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import os
import tempfile
import threading
import time

from _common import Result, median, report, spread
from _work import increment

GOAL_RUNS = 1.5
GOAL_STATE = 2.0
COMPUTE_V3 = "https://compute.actions.globus.org/v3"


def compute_flow(endpoint: str, tasks: list[dict]) -> dict:
    """A flow whose one Compute state carries ``tasks``."""
    return {
        "StartAt": "Increment",
        "States": {
            "Increment": {
                "Type": "Action", "ActionUrl": COMPUTE_V3,
                "Parameters": {"endpoint_id": endpoint, "tasks": tasks},
                "ResultPath": "$.Increment", "WaitTime": 600, "End": True,
            }
        },
    }


def time_executor_map(pool: cf.ProcessPoolExecutor, tasks: int, chunksize: int = 1) -> float:
    start = time.perf_counter()
    results = list(pool.map(increment, range(tasks), chunksize=chunksize))
    elapsed = time.perf_counter() - start
    assert results == [i + 1 for i in range(tasks)]
    return elapsed


def time_flow(engine, flow_id: str, tasks: int) -> float:
    start = time.perf_counter()
    run = engine.run_flow(flow_id, {})
    final = engine.wait(run["run_id"], timeout=600)
    elapsed = time.perf_counter() - start
    result = final["details"]["output"]["Increment"]["details"]["result"]
    if final["status"] != "SUCCEEDED" or result != [i + 1 for i in range(tasks)]:
        raise SystemExit(f"the compute flow did not return the expected results: {final}")
    return elapsed


def cpu_seconds() -> float:
    """CPU time of this process (every thread, user and system): what the engine's side
    costs the machine, steadier than wall time when other work loads it."""
    times = os.times()
    return times.user + times.system


def time_runs(engine, flow_id: str, runs: int, cpu: list | None = None) -> float:
    """Start ``runs`` runs of the one-task flow at once; time until every one has ended
    (the engine process's CPU seconds for them are appended to ``cpu``)."""
    cpu_start = cpu_seconds()
    start = time.perf_counter()
    run_ids = [engine.run_flow(flow_id, {"args": [i]})["run_id"] for i in range(runs)]
    finals = [engine.wait(run_id, timeout=600) for run_id in run_ids]
    elapsed = time.perf_counter() - start
    if cpu is not None:
        cpu.append(cpu_seconds() - cpu_start)
    for i, final in enumerate(finals):
        if final["status"] != "SUCCEEDED" or \
                final["details"]["output"]["Increment"]["details"]["result"] != [i + 1]:
            raise SystemExit(f"run {i} did not return its result: {final}")
    return elapsed


def time_actions(provider, endpoint: str, function_id: str, tasks: int, tag: str) -> float:
    """Send ``tasks`` one-task actions at once; time until every one has finished."""
    done = threading.Semaphore(0)
    start = time.perf_counter()
    action_ids = []
    for i in range(tasks):
        status = provider.run({"request_id": f"{tag}:{i}", "body": {
            "endpoint_id": endpoint, "tasks": [{"function_id": function_id, "args": [i]}]}})
        action_ids.append(status["action_id"])
        provider.add_done_callback(status["action_id"], lambda _status: done.release())
    for _ in range(tasks):
        done.acquire()
    elapsed = time.perf_counter() - start
    results = [provider.status(a)["details"]["result"][0] for a in action_ids]
    if results != [i + 1 for i in range(tasks)]:
        raise SystemExit("the compute actions did not return the expected results")
    for action_id in action_ids:
        provider.release(action_id)
    return elapsed


def verdict(met: bool) -> str:
    return "MET" if met else "NOT MET"


def main(argv: list[str] | None = None) -> Result:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--goal", choices=("runs", "state", "both"), default="both",
                        help="which goal the result (and run_all's summary) is about")
    args = parser.parse_args(argv)

    from gladier.engine import LocalEngine
    from gladier.engine.providers.compute import CHUNKS_PER_WORKER, chunk_size
    from gladier.engine.providers.functions import LOCAL_ENDPOINT_ID

    workers = os.cpu_count() or 1
    chunk = chunk_size(args.tasks, workers * CHUNKS_PER_WORKER)
    n = args.tasks
    with tempfile.TemporaryDirectory() as tmp, \
            cf.ProcessPoolExecutor(max_workers=workers) as pool, \
            LocalEngine(os.path.join(tmp, "bench.db"), time_scale=1.0) as engine:
        function_id = engine.register_function(increment)
        state_flow = engine.create_flow(compute_flow(LOCAL_ENDPOINT_ID, [
            {"function_id": function_id, "args": [i]} for i in range(n)]),
            title="compute")["id"]
        runs_flow = engine.create_flow(compute_flow(LOCAL_ENDPOINT_ID, [  # its input's args
            {"function_id": function_id, "args.$": "$.args"}]), title="one task")["id"]
        provider = engine.providers.resolve({"ActionUrl": COMPUTE_V3},
                                            state_name="Increment")[1]
        # warm both pools (processes started, function imported)
        time_executor_map(pool, n)
        time_flow(engine, state_flow, n)
        time_runs(engine, runs_flow, min(n, 50))
        raw, chunked, flows, runs, actions, runs_cpu = [], [], [], [], [], []
        for i in range(args.repeats):
            sides = [lambda: raw.append(time_executor_map(pool, n)),
                     lambda: chunked.append(time_executor_map(pool, n, chunk))]
            if args.goal in ("runs", "both"):
                sides.append(lambda: runs.append(time_runs(engine, runs_flow, n, runs_cpu)))
            if args.goal in ("state", "both"):
                sides.append(lambda: flows.append(time_flow(engine, state_flow, n)))
            if args.goal == "both":
                sides.append(lambda: actions.append(
                    time_actions(provider, LOCAL_ENDPOINT_ID, function_id, n, f"r{i}")))
            for side in sides if i % 2 == 0 else reversed(sides):
                side()

    figures: dict = {"ProcessPoolExecutor.map (ms, median)": median(raw) * 1000,
                     f"map(chunksize={chunk}) (ms, median)": median(chunked) * 1000}
    notes, goals, met = [], [], True
    runs_label = f"(a) {n} one-task runs: ratio to map (median of pairs)"
    state_label = f"(b) one state of {n} tasks: ratio to map(chunksize={chunk}) (median of pairs)"
    if runs:
        ratios = [r / m for r, m in zip(runs, raw)]
        figures[f"(a) {n} one-task runs started together (ms, median)"] = median(runs) * 1000
        figures[runs_label] = median(ratios)
        figures["(a) ratio (min..max)"] = spread(ratios)
        figures["(a) engine process CPU, user+sys (ms per run, median)"] = median(runs_cpu) * 1000 / n
        ok = median(ratios) <= GOAL_RUNS
        met = met and ok
        goals.append(f"(a) {n} runs <= {GOAL_RUNS}x map")
        notes.append(f"goal (a) {n} one-task runs <= {GOAL_RUNS}x map: "
                     f"{median(ratios):.3g}x -> {verdict(ok)}")
    if flows:
        ratios = [f / c for f, c in zip(flows, chunked)]
        figures[f"(b) one state of {n} tasks (ms, median)"] = median(flows) * 1000
        figures[state_label] = median(ratios)
        figures["(b) ratio (min..max)"] = spread(ratios)
        figures["(b) one state: ratio to plain map (median of pairs)"] = median(
            [f / r for f, r in zip(flows, raw)])
        ok = median(ratios) <= GOAL_STATE
        met = met and ok
        goals.append(f"(b) one state <= {GOAL_STATE}x map(chunksize={chunk})")
        notes.append(f"goal (b) one state of {n} tasks <= {GOAL_STATE}x "
                     f"map(chunksize={chunk}): {median(ratios):.3g}x -> {verdict(ok)}")
    if actions:
        figures[f"{n} one-task actions, provider alone (ms, median)"] = median(actions) * 1000
        figures[f"{n} actions: ratio to map (median of pairs)"] = median(
            [a / r for a, r in zip(actions, raw)])
    figures["pool workers (both sides)"] = workers
    figures["repeats"] = args.repeats
    return Result(
        name=f"compute throughput, {n} tasks: embedded engine vs ProcessPoolExecutor.map",
        figures=figures, goal="; ".join(goals), met=met, notes=notes,
        measure=runs_label if args.goal in ("runs", "both") else state_label,
    )


if __name__ == "__main__":
    report(main())
