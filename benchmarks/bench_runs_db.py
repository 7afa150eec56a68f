"""A database of 100,000 finished runs: the newest page, one run document, bytes per run,
and the file after pruning.

The database is filled through the engine's own code paths: a ``LocalEngine`` on a file
runs ``--runs`` runs of a two-state flow (``Pass`` then ``Pass``, input checked against
its schema), in batches started together, each run journaled and logged as any run is.
Then, each in a fresh process on the finished file:

- ``LocalEngine.page_runs(limit=20)``, the newest page (what ``gladier runs list`` and
  ``gladier serve``'s ``GET /runs`` show first), the first call after opening and the
  median of repeats; its peer is the same page read with one plain ``sqlite3`` query
  (``ORDER BY start_time DESC LIMIT 20``) on the same file;
- ``LocalEngine.get_run`` of the newest run and of runs spread over the file;
- ``gladier runs list`` as a command (wall time, beside ``python -c pass``) and, with
  ``--serve``, ``GET /runs`` of ``gladier serve`` over HTTP;
- bytes per run (the database file and its WAL, checkpointed, over the number of runs);
- ``gladier runs prune`` of the oldest 90% of the runs: the file's size before and after.

Goals: the newest page <= 50 ms, a run document <= 5 ms (medians), and the file shrinks
after pruning (to at most half its size when 90% of the runs go).

    python benchmarks/bench_runs_db.py [--runs 100000] [--repeats 30] [--serve]
"""

from __future__ import annotations

import argparse
import datetime
import os
import sqlite3
import subprocess
import sys
import tempfile
import time

from _common import Result, child_reply, median, report, run_child, spread

GOAL_PAGE_MS = 50.0
GOAL_RUN_MS = 5.0
#: the oldest share of the runs that ``gladier runs prune`` deletes
PRUNED_SHARE = 0.9
PAGE = 20

TWO_PASSES = {
    "StartAt": "Prepare",
    "States": {
        "Prepare": {"Type": "Pass", "Parameters": {"sample.$": "$.sample", "n.$": "$.n"},
                    "ResultPath": "$.prepared", "Next": "Record"},
        "Record": {"Type": "Pass", "Result": {"stored": True}, "ResultPath": "$.record",
                   "End": True},
    },
}
INPUT_SCHEMA = {"type": "object", "required": ["n", "sample"],
                "properties": {"n": {"type": "integer"}, "sample": {"type": "string"}}}


def fill(db: str, runs: int, batch: int) -> dict:
    """``runs`` finished runs, started ``batch`` at a time; returns the time of the run
    at the pruned share (runs completed before it are pruned) and the newest run's id."""
    from gladier.engine import LocalEngine

    engine = LocalEngine(db, time_scale=1.0)
    try:
        flow_id = engine.create_flow(TWO_PASSES, title="runs-db benchmark",
                                     input_schema=INPUT_SCHEMA)["id"]
        cut = int(runs * PRUNED_SHARE)
        cut_time, newest, started = None, None, 0
        while started < runs:
            # a batch ends at the cut: every run before it has completed before cut_time
            end = min(runs, started + batch, cut if started < cut else runs)
            for n in range(started, end):
                newest = engine.run_flow(flow_id, {"n": n, "sample": f"sample-{n:06d}"},
                                         label=f"night {n}", tags=["bench"])["run_id"]
            started = end
            while engine.count_runs(statuses=["ACTIVE"]):
                time.sleep(0.05)
            if started == cut:  # the prune's --older-than has whole seconds: 1.5 s apart
                time.sleep(1.5)
                cut_time = datetime.datetime.now(datetime.timezone.utc)
                time.sleep(1.5)
        failed = engine.count_runs(statuses=["FAILED", "INACTIVE"])
        if failed:
            raise SystemExit(f"{failed} runs did not succeed while filling the database")
    finally:
        engine.close()
    with sqlite3.connect(db) as check:
        check.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return {"cut": cut_time.isoformat() if cut_time else None, "newest": newest}


def file_bytes(db: str) -> int:
    return sum(os.path.getsize(path) for path in (db, f"{db}-wal") if os.path.exists(path))


def measure_child(db: str, repeats: int, newest: str) -> dict:
    """In a fresh process: the newest page and run documents through ``LocalEngine``."""
    from gladier.engine import LocalEngine

    opened = time.perf_counter()
    engine = LocalEngine(db)
    began = time.perf_counter()
    open_ms = (began - opened) * 1000
    first = engine.page_runs(limit=PAGE)
    first_ms = (time.perf_counter() - began) * 1000
    if len(first) != PAGE or first[0]["run_id"] != newest:
        raise SystemExit(f"the first page is not the {PAGE} newest runs")
    pages, docs, spread_docs, plain = [], [], [], []
    ids = [row[0] for row in sqlite3.connect(db).execute(
        "SELECT run_id FROM runs ORDER BY rowid")]
    step = max(1, len(ids) // repeats)
    for k in range(repeats):
        began = time.perf_counter()
        engine.page_runs(limit=PAGE)
        pages.append((time.perf_counter() - began) * 1000)
        began = time.perf_counter()
        run = engine.get_run(newest)
        docs.append((time.perf_counter() - began) * 1000)
        if run["status"] != "SUCCEEDED":
            raise SystemExit(f"run {newest} is {run['status']}")
        began = time.perf_counter()
        engine.get_run(ids[(k * step) % len(ids)])
        spread_docs.append((time.perf_counter() - began) * 1000)
    raw = sqlite3.connect(db)
    for _ in range(repeats):
        began = time.perf_counter()
        rows = raw.execute("SELECT * FROM runs ORDER BY start_time DESC, run_id DESC LIMIT ?",
                           (PAGE,)).fetchall()
        plain.append((time.perf_counter() - began) * 1000)
    assert len(rows) == PAGE
    engine.close()
    return {"open_ms": open_ms, "first_ms": first_ms,
            "page_ms": pages, "doc_ms": docs, "spread_doc_ms": spread_docs,
            "plain_page_ms": plain}


def command_ms(args: list[str], repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        proc = subprocess.run(args, capture_output=True, text=True)
        times.append((time.perf_counter() - began) * 1000)
        if proc.returncode != 0:
            raise SystemExit(f"{' '.join(args)} failed: {proc.stderr[-2000:]}")
    return times


def serve_page_ms(db: str, repeats: int) -> list[float]:
    from bench_serve import Client, measure, start_server

    process, port, token = start_server(db)
    try:
        client = Client(port, token)
        client.timed("GET", "/runs")
        return measure(client, repeats, "GET", "/runs")
    finally:
        process.terminate()
        process.wait(timeout=60)


def main(argv: list[str] | None = None) -> Result:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=5000,
                        help="runs started together while filling")
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--serve", action="store_true",
                        help="also time gladier serve's GET /runs (needs the serve extra)")
    parser.add_argument("--child", nargs=2, metavar=("DB", "NEWEST"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child_reply(measure_child(args.child[0], args.repeats, args.child[1]))
        sys.exit(0)

    gladier = [sys.executable, "-c", "from gladier.cli import main; main()"]
    with tempfile.TemporaryDirectory() as tmp:
        db = os.path.join(tmp, "runs.db")
        began = time.perf_counter()
        filled = fill(db, args.runs, args.batch)
        fill_s = time.perf_counter() - began
        size = file_bytes(db)
        measured = run_child([__file__, "--child", db, filled["newest"],
                              "--repeats", str(args.repeats)])
        cli_repeats = max(3, args.repeats // 5)
        cli = command_ms(gladier + ["runs", "list", "--db", db], cli_repeats)
        bare = command_ms([sys.executable, "-c", "pass"], cli_repeats)
        served = serve_page_ms(db, args.repeats) if args.serve else None
        older = datetime.datetime.now(datetime.timezone.utc) - datetime.datetime.fromisoformat(
            filled["cut"])
        began = time.perf_counter()
        command_ms(gladier + ["runs", "prune", "--older-than",
                              f"{max(1, round(older.total_seconds()))}s", "--db", db], 1)
        prune_s = time.perf_counter() - began
        with sqlite3.connect(db) as check:
            left = check.execute("SELECT COUNT(*) FROM runs").fetchone()[0]
        after = file_bytes(db)

    page_ms, doc_ms = median(measured["page_ms"]), median(measured["doc_ms"])
    shrinks = after <= size / 2 and left < args.runs
    figures = {
        f"database filled with {args.runs:,} runs (s)": fill_s,
        "bytes per run": size / args.runs,
        "LocalEngine open (ms)": measured["open_ms"],
        "newest page of 20, first call (ms)": measured["first_ms"],
        "newest page of 20 (ms, median)": page_ms,
        "newest page of 20 (ms, min..max)": spread(measured["page_ms"]),
        "peer: same page, one plain sqlite3 query (ms, median)": median(
            measured["plain_page_ms"]),
        "get_run, newest (ms, median)": doc_ms,
        "get_run, newest (ms, min..max)": spread(measured["doc_ms"]),
        "get_run, runs across the file (ms, median)": median(measured["spread_doc_ms"]),
        "gladier runs list, whole command (ms, median)": median(cli),
        "peer: python -c pass (ms, median)": median(bare),
    }
    if served is not None:
        figures["gladier serve GET /runs (ms, median)"] = median(served)
    figures.update({
        "file before prune (MB)": size / 1e6,
        f"gladier runs prune of the oldest {PRUNED_SHARE:.0%} (s)": prune_s,
        "runs left": left,
        "file after prune (MB)": after / 1e6,
    })
    return Result(
        name=f"a database of {args.runs:,} finished runs",
        figures=figures,
        goal=f"page <= {GOAL_PAGE_MS:g} ms, run <= {GOAL_RUN_MS:g} ms, file shrinks on prune",
        met=page_ms <= GOAL_PAGE_MS and doc_ms <= GOAL_RUN_MS and shrinks,
        measure="newest page of 20 (ms, median)",
        notes=["filled through LocalEngine.run_flow (the engine's own journal); measured in "
               "a fresh process on the finished file",
               "the file shrinks: after <= half of before" if shrinks
               else "the file did NOT shrink to half its size after pruning"])


if __name__ == "__main__":
    report(main())
