"""1,000 trivial compute tasks through the local compute provider vs ProcessPoolExecutor.map.

Both sides run the same function (``_work.increment``) on 1,000 integers in a warm
process pool of the same size (the provider's default: one worker per CPU).

- goal measure, **one flow**: a ``LocalEngine`` (durable store on a temporary file) runs a
  flow whose one Compute state (``https://compute.actions.globus.org/v3``, local
  endpoint) carries the 1,000 tasks; timed from ``run_flow`` to the run's end, results
  checked. Against ``ProcessPoolExecutor.map`` of the same function and inputs.
- also shown, **1,000 actions**: the ``ComputeProvider`` alone, sent 1,000 one-task
  actions (each journaled in the provider's result store), all in flight at once.
- also shown, ``ProcessPoolExecutor.map`` with ``chunksize=`` the provider's chunk size:
  the provider sends tasks in chunks, so this is the executor doing the same.

Repeats alternate the sides; the figure is the median of the per-pair ratios.
Goal: the flow takes <= 1.2x the raw executor.

    python benchmarks/bench_compute.py [--tasks 1000] [--repeats 15]
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

GOAL_RATIO = 1.2
COMPUTE_V3 = "https://compute.actions.globus.org/v3"


def compute_flow(endpoint: str, function_id: str, tasks: int) -> dict:
    return {
        "StartAt": "Increment",
        "States": {
            "Increment": {
                "Type": "Action", "ActionUrl": COMPUTE_V3,
                "Parameters": {"endpoint_id": endpoint,
                               "tasks": [{"function_id": function_id, "args": [i]}
                                         for i in range(tasks)]},
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


def main(argv: list[str] | None = None) -> Result:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args(argv)

    from gladier.engine import LocalEngine
    from gladier.engine.providers.compute import chunk_size
    from gladier.engine.providers.functions import LOCAL_ENDPOINT_ID

    workers = os.cpu_count() or 1
    chunk = chunk_size(args.tasks, workers)
    with tempfile.TemporaryDirectory() as tmp, \
            cf.ProcessPoolExecutor(max_workers=workers) as pool, \
            LocalEngine(os.path.join(tmp, "bench.db"), time_scale=1.0) as engine:
        function_id = engine.register_function(increment)
        flow = engine.create_flow(compute_flow(LOCAL_ENDPOINT_ID, function_id, args.tasks),
                                  title="compute")
        provider = engine.providers.resolve({"ActionUrl": COMPUTE_V3},
                                            state_name="Increment")[1]
        # warm both pools (processes started, function imported)
        time_executor_map(pool, args.tasks)
        time_flow(engine, flow["id"], args.tasks)
        raw, chunked, flows, actions = [], [], [], []
        for i in range(args.repeats):
            sides = [lambda: raw.append(time_executor_map(pool, args.tasks)),
                     lambda: chunked.append(time_executor_map(pool, args.tasks, chunk)),
                     lambda: flows.append(time_flow(engine, flow["id"], args.tasks)),
                     lambda: actions.append(time_actions(provider, LOCAL_ENDPOINT_ID,
                                                         function_id, args.tasks, f"r{i}"))]
            for side in sides if i % 2 == 0 else reversed(sides):
                side()
    flow_ratios = [f / r for f, r in zip(flows, raw)]
    action_ratios = [a / r for a, r in zip(actions, raw)]
    ratio = median(flow_ratios)
    return Result(
        name=f"{args.tasks} compute tasks: local provider vs ProcessPoolExecutor.map",
        figures={
            "ProcessPoolExecutor.map (ms, median)": median(raw) * 1000,
            "one flow, one Compute state (ms, median)": median(flows) * 1000,
            "one flow: ratio to map (median of pairs)": ratio,
            "one flow: ratio (min..max)": spread(flow_ratios),
            f"map(chunksize={chunk}) (ms, median)": median(chunked) * 1000,
            f"one flow: ratio to map(chunksize={chunk}) (median of pairs)":
                median([f / c for f, c in zip(flows, chunked)]),
            f"{args.tasks} one-task actions (ms, median)": median(actions) * 1000,
            f"{args.tasks} actions: ratio to map (median of pairs)": median(action_ratios),
            "pool workers (both sides)": workers,
            "repeats": args.repeats,
        },
        goal=f"one flow <= {GOAL_RATIO}x ProcessPoolExecutor.map",
        met=ratio <= GOAL_RATIO,
        measure="one flow: ratio to map (median of pairs)",
    )


if __name__ == "__main__":
    report(main())
