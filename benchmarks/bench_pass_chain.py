"""Per-state overhead of the embedded engine: a 1,000-state Pass chain, durable store on.

A ``LocalEngine`` on a database file in a temporary directory (WAL journal, every
transition journaled, exactly as users run it) runs a chain of Pass states, each of which
sets a small value, so every state is interpreted, logged and journaled. The time is
from ``run_flow`` to the run's end (``wait``), divided by the number of states; flow
validation (``create_flow``) is timed apart (``bench_validate.py`` measures it). Goal
(issue 19): <= 0.05 ms per state.

The peer, measured alternately with the engine in the same process: bare ``sqlite3``
writing the same journal (the cursor and the two log entries of each state, JSON text)
into a file with the same settings, one transaction per state: the least a journal of
one transaction per transition costs on this machine. The engine journals a run of
consecutive Pass states as one group per transaction (``RunDriver._execute`` says why
that is as crash-safe), so it can be faster than that peer.

    python benchmarks/bench_pass_chain.py [--states 1000] [--repeats 5]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import sqlite3
import tempfile
import time

from _common import Result, median, report, spread

GOAL_MS_PER_STATE = 0.05


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
            created, cpu = time.perf_counter(), time.process_time()
            run = engine.run_flow(flow["id"], {"input": {}})
            final = engine.wait(run["run_id"], timeout=600)
            ended, cpu = time.perf_counter(), time.process_time() - cpu
            entries = len(engine.get_run_logs(run["run_id"])["entries"])
        finally:
            engine.close()
        # Check the work was done and journaled: the file holds every log entry.
        with sqlite3.connect(db) as check:
            journaled = check.execute("SELECT COUNT(*) FROM log_entries").fetchone()[0]
    if final["status"] != "SUCCEEDED" or final["details"]["output"]["last"]["index"] != states - 1:
        raise SystemExit(f"the Pass chain did not end as expected: {final}")
    return {"create": created - start, "run": ended - created, "cpu": cpu, "entries": entries,
            "journaled": journaled}


def peer_run(states: int) -> float:
    """Seconds bare sqlite3 takes to journal the chain: per state, in one transaction,
    the run's cursor and state and its Started and Completed entries (JSON text)."""
    with tempfile.TemporaryDirectory() as tmp:
        db = sqlite3.connect(os.path.join(tmp, "peer.db"), isolation_level=None)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("CREATE TABLE runs (run_id TEXT PRIMARY KEY, state_name TEXT,"
                       " data TEXT, log_count INTEGER)")
            db.execute("CREATE TABLE log_entries (run_id TEXT, seq INTEGER, time TEXT,"
                       " code TEXT, description TEXT, details TEXT, PRIMARY KEY (run_id, seq))")
            db.execute("INSERT INTO runs VALUES ('run', 'S0000', '{}', 0)")
            start = time.perf_counter()
            data: dict = {"input": {}}
            for i in range(states):
                name, seq = f"S{i:04d}", 2 * i
                started = json.dumps({"state_name": name, "state_type": "Pass", "input": data})
                data = {**data, "last": {"index": i}}
                text = json.dumps(data)
                completed = json.dumps({"state_name": name, "state_type": "Pass",
                                        "output": {"index": i}})
                now = datetime.datetime.now(datetime.timezone.utc).isoformat()
                db.execute("BEGIN IMMEDIATE")
                db.execute("UPDATE runs SET state_name = ?, data = ?, log_count = ?"
                           " WHERE run_id = 'run'", (f"S{i + 1:04d}", text, seq + 2))
                db.executemany("INSERT INTO log_entries VALUES ('run', ?, ?, ?, ?, ?)", [
                    (seq + 1, now, "PassStarted", f"State {name} of type Pass started", started),
                    (seq + 2, now, "PassCompleted", f"State {name} of type Pass completed",
                     completed)])
                db.execute("COMMIT")
            return time.perf_counter() - start
        finally:
            db.close()


def main(argv: list[str] | None = None) -> Result:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--states", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)

    one_run(20)  # warm imports
    peer_run(20)
    runs, peers = [], []
    for _ in range(args.repeats):  # alternately, so both sides see the same load
        runs.append(one_run(args.states))
        peers.append(peer_run(args.states))
    per_state = [r["run"] / args.states * 1000 for r in runs]
    peer_per_state = [p / args.states * 1000 for p in peers]
    ratios = [r["run"] / p for r, p in zip(runs, peers)]
    value = median(per_state)
    return Result(
        name=f"{args.states}-state Pass chain, durable store",
        figures={
            "run wall time (s, median)": median([r["run"] for r in runs]),
            "per state (ms, median)": value,
            "per state (ms, min..max)": spread(per_state),
            "CPU per state (ms, median)": median([r["cpu"] for r in runs]) / args.states * 1000,
            "peer: sqlite3, one transaction per state (ms/state, median)":
                median(peer_per_state),
            "peer (ms/state, min..max)": spread(peer_per_state),
            "engine / peer (median of pairs)": median(ratios),
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
