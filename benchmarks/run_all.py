"""Run every benchmark, each in a fresh process, then print a summary and one JSON line.

    python benchmarks/run_all.py [--quick] [--no-reference] [--only import,compute]

``--quick`` uses fewer repeats (a smoke run, noisier figures). The reference Gladier 0.11
environment is created on first use (see bench_import.py); ``--no-reference`` skips the
optional side-by-side figures that need it (the import benchmark always needs it).
Exits 1 when a benchmark fails to run, 0 otherwise (a missed goal is reported, not fatal).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

from _common import HERE, JSON_PREFIX, parse_json_line

#: name -> (script, arguments for a full run, arguments for --quick)
BENCHMARKS = {
    "import": ("bench_import.py", [], ["--repeats", "7"]),
    "pass_chain": ("bench_pass_chain.py", [], ["--repeats", "2"]),
    "validate": ("bench_validate.py", [], ["--repeats", "3"]),
    "waits": ("bench_waits.py", [], ["--runs", "2000", "--repeats", "1"]),
    "compute_runs": ("bench_compute.py", ["--goal", "runs"], ["--goal", "runs", "--repeats", "3"]),
    "compute_state": ("bench_compute.py", ["--goal", "state"],
                      ["--goal", "state", "--repeats", "3"]),
    "progress_calls": ("bench_progress_calls.py", ["--reference"], ["--reference"]),
    "flowgen": ("bench_flowgen.py", ["--reference"], ["--reference", "--repeats", "3"]),
    "serve": ("bench_serve.py", [], ["--runs", "5000", "--repeats", "10"]),
    "runs_db": ("bench_runs_db.py", ["--serve"], ["--runs", "10000", "--repeats", "10"]),
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--no-reference", action="store_true")
    parser.add_argument("--only", default="",
                        help="comma-separated names: " + ", ".join(BENCHMARKS))
    args = parser.parse_args()
    chosen = [n.strip() for n in args.only.split(",") if n.strip()] or list(BENCHMARKS)
    unknown = set(chosen) - set(BENCHMARKS)
    if unknown:
        parser.error(f"unknown benchmarks: {', '.join(sorted(unknown))}")

    results, failed = [], []
    for name in chosen:
        script, full, quick = BENCHMARKS[name]
        extra = list(quick if args.quick else full)
        if args.no_reference and "--reference" in extra:
            extra.remove("--reference")
        proc = subprocess.run([sys.executable, os.path.join(HERE, script), *extra],
                              capture_output=True, text=True)
        print("\n".join(line for line in proc.stdout.splitlines()
                        if not line.startswith(JSON_PREFIX)), flush=True)
        found = parse_json_line(proc.stdout) if proc.returncode == 0 else None
        if found is None:
            failed.append(name)
            print(f"== {name}: FAILED (exit {proc.returncode})\n{proc.stderr[-3000:]}",
                  flush=True)
            continue
        found["name"] = name
        results.append(found)

    print("\n== summary")
    for result in results:
        verdict = {True: "MET", False: "NOT MET", None: "-"}[result["goal_met"]]
        value = result["figures"].get(result["measure"])
        shown = f"{value:.4g}" if isinstance(value, float) else str(value)
        print(f"  {result['name']:<15} {shown:>10}  {result['goal']:<45} {verdict}")
    for name in failed:
        print(f"  {name:<15} {'':>10}  {'':<45} FAILED")
    print(JSON_PREFIX + json.dumps({"benchmarks": results, "failed": failed,
                                    "quick": args.quick}, sort_keys=True))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
