"""``gladier serve`` latency: a 20,000-run database's first page of runs and a run document.

A database is filled with ``--runs`` finished runs (each with a start and end, a label,
tags, a result and six log entries, written through the engine's store as a run writes
them), then ``gladier serve`` serves it in its own process on 127.0.0.1. One HTTP/1.1
connection (kept alive, as globus-sdk's session keeps it) asks, ``--repeats`` times each:
the first page of runs (``GET /runs``, 20 runs, newest first), the same filtered by status
and by label, the next page (with the marker), a run document (``GET /runs/{id}``), a page
of its log, the health check, and a new run (``POST /flows/{id}/run``). Goals: a page of
runs in under 100 ms, a run document in under 10 ms (medians, over HTTP).

    python benchmarks/bench_serve.py [--runs 20000] [--repeats 50]
"""

from __future__ import annotations

import argparse
import datetime
import http.client
import json
import os
import re
import subprocess
import sys
import tempfile
import time

from _common import Result, median, report, spread

GOAL_PAGE_MS = 100.0
GOAL_RUN_MS = 10.0
FIRST_START = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
HELLO = {"StartAt": "Hi", "States": {"Hi": {
    "Type": "Action", "ActionUrl": "https://actions.globus.org/hello_world",
    "Parameters": {"echo_string": "hi"}, "ResultPath": "$.hi", "End": True}}}


def fill(db: str, runs: int) -> tuple[str, str]:
    """``runs`` finished runs of one flow; returns (flow id, the newest run's id)."""
    from gladier.engine import LocalEngine
    from gladier.engine.store import Store

    engine = LocalEngine(db)
    flow_id = engine.create_flow(HELLO, title="Benchmark flow")["id"]
    owner = engine.identity["user_id"]
    engine.close()
    store = Store(db)
    run_id = ""
    for n in range(runs):
        run_id = f"{n:08d}-0000-4000-8000-000000000000"
        begun = FIRST_START + datetime.timedelta(minutes=n)  # one run a minute
        start = begun.isoformat()
        end = (begun + datetime.timedelta(seconds=30)).isoformat()
        status = "FAILED" if n % 10 == 0 else "SUCCEEDED"
        store.create_run({"run_id": run_id, "flow_id": flow_id, "status": "ACTIVE",
                          "label": f"night {n}", "tags": ["bench", f"batch-{n % 7}"],
                          "owner": owner, "start_time": start,
                          "details": {"code": "FlowStarting", "details": {"input": {"n": n}}},
                          "state_name": "Hi", "data": json.dumps({"n": n})},
                         [{"time": start, "code": "FlowStarted", "description": "started",
                           "details": {"input": {"n": n}}}])
        output = {"n": n, "hi": {"status": "SUCCEEDED", "details": {"hello": "hi"}}}
        entries = [{"time": end, "code": code, "description": code,
                    "details": {"state_name": "Hi", "state_type": "Action", "output": output}}
                   for code in ("ActionStarted", "ActionPolled", "ActionPolled",
                                "ActionCompleted", "FlowSucceeded")]
        store.record(run_id, entries=entries, fields={
            "status": status, "completion_time": end, "state_name": None,
            "details": {"code": "FlowSucceeded", "description": "done", "output": output}})
    store.close()
    return flow_id, run_id


def start_server(db: str) -> tuple[subprocess.Popen, int, str]:
    process = subprocess.Popen(
        [sys.executable, "-c", "from gladier.cli import main; main()", "serve", "--db", db,
         "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for _ in range(10):
        line = process.stdout.readline()
        found = re.search(r"dashboard http://127\.0\.0\.1:(\d+)/\?token=(\S+)", line)
        if found:
            return process, int(found.group(1)), found.group(2)
    raise SystemExit("gladier serve did not start: " + process.stderr.read())


class Client:
    """One kept-alive connection, as globus-sdk's requests session keeps one."""

    def __init__(self, port: int, token: str) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def timed(self, method: str, path: str, body: dict | None = None) -> tuple[float, dict]:
        begin = time.perf_counter()
        self.connection.request(method, path, body=None if body is None else json.dumps(body),
                                headers=self.headers)
        answer = self.connection.getresponse()
        data = json.loads(answer.read())
        took = (time.perf_counter() - begin) * 1000
        if answer.status >= 300:
            raise SystemExit(f"{method} {path}: HTTP {answer.status} {data}")
        return took, data


def measure(client: Client, repeats: int, method: str, path: str, body: dict | None = None,
            check=None) -> list[float]:
    times = []
    for _ in range(repeats):
        took, data = client.timed(method, path, body)
        if check is not None:
            check(data)
        times.append(took)
    return times


def main(argv: list[str] | None = None) -> Result:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20000)
    parser.add_argument("--repeats", type=int, default=50)
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        db = os.path.join(tmp, "serve.db")
        began = time.perf_counter()
        flow_id, newest = fill(db, args.runs)
        filled = time.perf_counter() - began
        process, port, token = start_server(db)
        try:
            client = Client(port, token)

            def first_page(data: dict) -> None:
                if len(data["runs"]) != 20 or data["runs"][0]["run_id"] != newest:
                    raise SystemExit("the first page is not the 20 newest runs: "
                                     f"{[run['run_id'] for run in data['runs']]}")

            client.timed("GET", "/runs")  # warm the connection and the server's caches
            page = measure(client, args.repeats, "GET", "/runs", check=first_page)
            failed = measure(client, args.repeats, "GET", "/runs?filter_status=FAILED")
            labelled = measure(client, args.repeats, "GET", "/runs?filter_label=night%201999")
            marker = client.timed("GET", "/runs")[1]["marker"]
            second = measure(client, args.repeats, "GET", f"/runs?marker={marker}")
            document = measure(client, args.repeats, "GET", f"/runs/{newest}",
                               check=lambda d: d["run_id"] == newest or sys.exit("wrong run"))
            log = measure(client, args.repeats, "GET", f"/runs/{newest}/log?limit=10")
            health = measure(client, args.repeats, "GET", "/health")
            started = measure(client, max(5, args.repeats // 5), "POST", f"/flows/{flow_id}/run",
                              {"body": {}})
        finally:
            process.terminate()
            process.wait(timeout=60)
    page_ms, run_ms = median(page), median(document)
    return Result(
        name=f"gladier serve over HTTP, {args.runs:,}-run database",
        figures={
            f"database filled with {args.runs:,} runs (s)": filled,
            "GET /runs first page of 20 (ms, median)": page_ms,
            "GET /runs first page (ms, min..max)": spread(page),
            "GET /runs?filter_status=FAILED (ms, median)": median(failed),
            "GET /runs?filter_label=... (ms, median)": median(labelled),
            "GET /runs?marker= second page (ms, median)": median(second),
            "GET /runs/{id} (ms, median)": run_ms,
            "GET /runs/{id} (ms, min..max)": spread(document),
            "GET /runs/{id}/log?limit=10 (ms, median)": median(log),
            "GET /health (ms, median)": median(health),
            "POST /flows/{id}/run (ms, median)": median(started),
        },
        goal=f"first page < {GOAL_PAGE_MS:g} ms, run document < {GOAL_RUN_MS:g} ms",
        met=page_ms < GOAL_PAGE_MS and run_ms < GOAL_RUN_MS,
        measure="GET /runs first page of 20 (ms, median)",
        notes=[f"{args.repeats} requests each on one kept-alive connection to 127.0.0.1; "
               "the server in its own process"])


if __name__ == "__main__":
    report(main())
