"""Per-state overhead of the embedded engine: a 1,000-state Pass chain, durable store on.

A ``LocalEngine`` on a database file in a temporary directory (WAL journal, every
transition committed, exactly as users run it) runs a chain of Pass states, each of which
sets a small value, so every state is interpreted, logged and journaled. The time is
from ``run_flow`` to the run's end (``wait``), divided by the number of states; flow
validation (``create_flow``) is timed apart. Goal: <= 0.5 ms per state.

    python benchmarks/bench_pass_chain.py [--states 1000] [--repeats 5]
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import tempfile
import time

from _common import Result, median, report, spread

GOAL_MS_PER_STATE = 0.5


def pass_chain(states: int) -> dict:
    """``S0000 -> S0001 -> ...``: each Pass state writes its index at ``$.last``."""
    names = [f"S{i:04d}" for i in range(states)]
    definition: dict = {"Comment": f"{states} Pass states", "StartAt": names[0], "States": {}}
    for i, name in enumerate(names):
        state: dict = {"Type": "Pass", "Result": {"index": i}, "ResultPath": "$.last"}
        if i + 1 < states:
            state["Next"] = names[i + 1]
        else:
            state["End"] = True
        definition["States"][name] = state
    return definition


def one_run(states: int) -> dict:
    from gladier.engine import LocalEngine

    with tempfile.TemporaryDirectory() as tmp:
        db = os.path.join(tmp, "bench.db")
        engine = LocalEngine(db, time_scale=1.0)
        try:
            start = time.perf_counter()
            flow = engine.create_flow(pass_chain(states), title="pass chain")
            created = time.perf_counter()
            run = engine.run_flow(flow["id"], {"input": {}})
            final = engine.wait(run["run_id"], timeout=600)
            ended = time.perf_counter()
            entries = len(engine.get_run_logs(run["run_id"])["entries"])
        finally:
            engine.close()
        # Check the work was done and journaled: the file holds every log entry.
        with sqlite3.connect(db) as check:
            journaled = check.execute("SELECT COUNT(*) FROM log_entries").fetchone()[0]
    if final["status"] != "SUCCEEDED" or final["details"]["output"]["last"]["index"] != states - 1:
        raise SystemExit(f"the Pass chain did not end as expected: {final}")
    return {"create": created - start, "run": ended - created, "entries": entries,
            "journaled": journaled}


def main(argv: list[str] | None = None) -> Result:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--states", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)

    one_run(20)  # warm imports
    runs = [one_run(args.states) for _ in range(args.repeats)]
    per_state = [r["run"] / args.states * 1000 for r in runs]
    value = median(per_state)
    return Result(
        name=f"{args.states}-state Pass chain, durable store",
        figures={
            "run wall time (s, median)": median([r["run"] for r in runs]),
            "per state (ms, median)": value,
            "per state (ms, min..max)": spread(per_state),
            "create_flow incl. validation (ms, median)": median([r["create"] for r in runs]) * 1000,
            "log entries journaled per run": runs[0]["journaled"],
            "repeats": args.repeats,
        },
        goal=f"<= {GOAL_MS_PER_STATE} ms per state",
        met=value <= GOAL_MS_PER_STATE,
        measure="per state (ms, median)",
    )


if __name__ == "__main__":
    report(main())
