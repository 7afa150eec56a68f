"""``import gladier``: this package against the reference Gladier 0.11, side by side.

The reference is installed (``pip install gladier==0.11.0``) in its own virtual
environment, created on first use (``--ref-venv``, default ``$GLADIER_REF_VENV`` or
``/tmp/gladier-ref-venv``). Each repeat starts a fresh interpreter for each side, in
alternating order, and times ``import gladier`` inside it (interpreter start-up is
reported apart). The figure is the median of the per-pair ratios. Goal: <= 0.30x.

    python benchmarks/bench_import.py [--repeats 21] [--ref-venv DIR]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

from _common import Result, median, report, spread

GOAL_RATIO = 0.30
REFERENCE = "gladier==0.11.0"
DEFAULT_REF_VENV = os.environ.get("GLADIER_REF_VENV", "/tmp/gladier-ref-venv")

#: Run in each fresh interpreter: how long the import takes, and from where.
_PROBE = ("import time; t0 = time.perf_counter(); {statement}; "
          "t1 = time.perf_counter(); import sys, gladier; "
          "print(t1 - t0, gladier.__file__, 'globus_compute_sdk' in sys.modules)")
#: What the goal is about, and what a typical client script imports (reported beside it).
IMPORT_PACKAGE = "import gladier"
IMPORT_SCRIPT = "from gladier import GladierBaseClient, GladierBaseTool, generate_flow_definition"


def ensure_reference(venv: str, *, extras: tuple[str, ...] = ()) -> str:
    """The reference venv's python, creating the venv and installing Gladier 0.11 (and
    ``extras``, packages a benchmark needs beside it) if needed."""
    python = os.path.join(venv, "bin", "python")
    check = [python, "-c", "import importlib.metadata as m; "
             "print(*(m.version(p) for p in ['gladier', *%r]))" % (list(extras),)]
    if os.path.exists(python):
        found = subprocess.run(check, capture_output=True, text=True, cwd="/")
        if found.returncode == 0 and found.stdout.split()[:1] == ["0.11.0"]:
            return python
    print(f"creating the reference environment {venv} ({REFERENCE})...", flush=True)
    if not os.path.exists(python):
        subprocess.run([sys.executable, "-m", "venv", venv], check=True)
    subprocess.run([python, "-m", "pip", "install", "-q", REFERENCE, *extras], check=True)
    subprocess.run(check, check=True, capture_output=True, cwd="/")
    return python


def probe(python: str, statement: str = IMPORT_PACKAGE) -> tuple[float, float, str, bool]:
    """(import seconds, whole process seconds, gladier's file, compute sdk loaded?)."""
    start = time.perf_counter()
    proc = subprocess.run([python, "-c", _PROBE.format(statement=statement)],
                          capture_output=True, text=True, cwd="/")
    total = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{python}: '{statement}' failed:\n{proc.stderr[-2000:]}")
    seconds, path, compute = proc.stdout.split()
    return float(seconds), total, path, compute == "True"


def main(argv: list[str] | None = None) -> Result:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=21)
    parser.add_argument("--ref-venv", default=DEFAULT_REF_VENV)
    args = parser.parse_args(argv)

    ref_python = ensure_reference(args.ref_venv)
    ours_python = sys.executable
    for python in (ours_python, ref_python):  # warm the file cache and .pyc files
        probe(python)
    ours, ref, ours_total, ref_total, ratios = [], [], [], [], []
    script_ratios, script_ours = [], []
    for i in range(args.repeats):
        order = [(ours_python, ours, ours_total), (ref_python, ref, ref_total)]
        for python, imports, totals in order if i % 2 == 0 else reversed(order):
            seconds, total, _, _ = probe(python)
            imports.append(seconds)
            totals.append(total)
        ratios.append(ours[-1] / ref[-1])
        pair = {python: probe(python, IMPORT_SCRIPT)[0]
                for python in ([ours_python, ref_python] if i % 2 else [ref_python, ours_python])}
        script_ours.append(pair[ours_python])
        script_ratios.append(pair[ours_python] / pair[ref_python])
    _, _, our_path, our_compute = probe(ours_python)
    ratio = median(ratios)
    result = Result(
        name="import gladier vs Gladier 0.11",
        figures={
            "ours: import (ms, median)": median(ours) * 1000,
            "ours: import (ms, min..max)": spread([s * 1000 for s in ours]),
            "reference 0.11: import (ms, median)": median(ref) * 1000,
            "reference 0.11: import (ms, min..max)": spread([s * 1000 for s in ref]),
            "ours: whole process (ms, median)": median(ours_total) * 1000,
            "reference: whole process (ms, median)": median(ref_total) * 1000,
            "ratio ours/reference (median of pairs)": ratio,
            "client-script import, ours (ms, median)": median(script_ours) * 1000,
            "client-script import, ratio (median of pairs)": median(script_ratios),
            "repeats (pairs)": args.repeats,
            "ours loads globus_compute_sdk": our_compute,
        },
        goal=f"import ratio <= {GOAL_RATIO}x",
        met=ratio <= GOAL_RATIO,
        measure="ratio ours/reference (median of pairs)",
        notes=[f"ours: {our_path}", f"reference: {args.ref_venv}",
               f"client-script import: {IMPORT_SCRIPT}"],
    )
    return result


if __name__ == "__main__":
    report(main())
