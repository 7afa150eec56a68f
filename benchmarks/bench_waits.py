"""20,000 concurrent runs that each Wait 1 s: wall time and peak memory.

In a fresh process (so its peak resident memory, from ``resource.getrusage``, is the
benchmark's own), a ``LocalEngine`` on a temporary database file, at time scale 1.0,
starts 20,000 runs of a flow ``Start (Pass) -> Sleep (Wait 1 s) -> Done (Pass)`` and waits
for all of them. Every run is validated, journaled and logged as usual. Wall time is from
the first ``run_flow`` to the last run's end; the process's CPU time (user and system,
from the engine's opening) says how much of it was work when the machine is shared.
Goal: <= 5 s and <= 400 MB.

    python benchmarks/bench_waits.py [--runs 20000] [--seconds 1] [--repeats 3]

``--runs 2000`` is the quick size (``run_all.py --quick``).
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time

from _common import Result, child_reply, median, peak_rss_mb, report, run_child, spread

GOAL_SECONDS = 5.0
GOAL_MB = 400.0

WAIT_FLOW = {
    "StartAt": "Start",
    "States": {
        "Start": {"Type": "Pass", "Parameters": {"n.$": "$.n"}, "ResultPath": "$.start",
                  "Next": "Sleep"},
        "Sleep": {"Type": "Wait", "SecondsPath": "$.seconds", "Next": "Done"},
        "Done": {"Type": "Pass", "Result": "done", "ResultPath": "$.done", "End": True},
    },
}
INPUT_SCHEMA = {"type": "object", "required": ["n", "seconds"],
                "properties": {"n": {"type": "integer"}, "seconds": {"type": "number"}}}


def child(runs: int, seconds: float) -> dict:
    """Start ``runs`` runs at once and wait for them; runs in its own process."""
    from gladier.engine import LocalEngine

    baseline_mb = peak_rss_mb()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu_before = usage.ru_utime + usage.ru_stime
    with tempfile.TemporaryDirectory() as tmp:
        engine = LocalEngine(os.path.join(tmp, "bench.db"), time_scale=1.0)
        try:
            flow = engine.create_flow(WAIT_FLOW, title="waits", input_schema=INPUT_SCHEMA)
            start = time.perf_counter()
            run_ids = [engine.run_flow(flow["id"], {"n": n, "seconds": seconds})["run_id"]
                       for n in range(runs)]
            started = time.perf_counter()
            for run_id in run_ids:
                engine.wait(run_id, timeout=600)
            finish = time.perf_counter()
            succeeded = engine.count_runs(statuses=["SUCCEEDED"])
            total = engine.count_runs()
        finally:
            engine.close()
    if succeeded != runs or total != runs:
        raise SystemExit(f"expected {runs} SUCCEEDED runs, got {succeeded} of {total}")
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {"wall": finish - start, "start_all": started - start, "peak_mb": peak_rss_mb(),
            "baseline_mb": baseline_mb, "cpu": usage.ru_utime + usage.ru_stime - cpu_before}


def main(argv: list[str] | None = None) -> Result:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20000)
    parser.add_argument("--seconds", type=float, default=1.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child_reply(child(args.runs, args.seconds))
        sys.exit(0)

    results = [run_child([__file__, "--child", "--runs", str(args.runs),
                          "--seconds", str(args.seconds)]) for _ in range(args.repeats)]
    wall = median([r["wall"] for r in results])
    peak = max(r["peak_mb"] for r in results)
    return Result(
        name=f"{args.runs} concurrent runs each waiting {args.seconds:g} s",
        figures={
            "wall time (s, median)": wall,
            "wall time (s, min..max)": spread([r["wall"] for r in results]),
            "time to start all runs (s, median)": median([r["start_all"] for r in results]),
            "CPU time of the process (s, median)": median([r["cpu"] for r in results]),
            "peak RSS (MB, max of repeats)": peak,
            "RSS before the engine (MB)": median([r["baseline_mb"] for r in results]),
            "repeats": args.repeats,
        },
        goal=f"<= {GOAL_SECONDS:g} s and <= {GOAL_MB:g} MB",
        met=wall <= GOAL_SECONDS and peak <= GOAL_MB,
        measure="wall time (s, median)",
    )


if __name__ == "__main__":
    report(main())
