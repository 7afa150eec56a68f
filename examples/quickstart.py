"""Quickstart: a three-step flow on the embedded engine, offline, with no account.

    python examples/quickstart.py [--workdir DIR] [--samples N]

1. ``generate_data`` (a compute function) writes noisy measurements to a CSV file;
2. ``analyse`` (a compute function) gets the first one's return value as its payload, reads
   the CSV and writes a summary and a cleaned copy to a results directory;
3. ``PublishResults`` (a Transfer state) copies the results directory elsewhere.

Compute functions run in a local process pool and the transfer copies between local
directories: the collection the flow names is mapped to the scratch directory, so the
engine touches nothing outside it. To run the same flow on Globus, create the client with
``engine="globus"`` (and no flows manager), with real endpoint and collection ids.
"""

import argparse
import pathlib
import tempfile
import uuid

from gladier import GladierBaseClient, GladierBaseTool, generate_flow_definition
from gladier.engine.manager import LocalFlowsManager
from gladier.tools import Transfer, TransferItem


def generate_data(workdir: str, samples: int, **data) -> dict:
    """Write `samples` noisy readings of a 2.5 V signal to raw/readings.csv."""
    import pathlib
    import random

    raw = pathlib.Path(workdir) / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    csv = raw / "readings.csv"
    rng = random.Random(42)
    rows = [f"{i},{2.5 + rng.gauss(0, 0.1):.4f}" for i in range(samples)]
    csv.write_text("sample,volts\n" + "\n".join(rows) + "\n")
    return {"csv_path": str(csv), "results_dir": str(pathlib.Path(workdir) / "results")}


def analyse(csv_path: str, results_dir: str, **data) -> dict:
    """Summarise the readings; drop outliers beyond 3 standard deviations."""
    import json
    import pathlib
    import statistics

    values = [float(line.split(",")[1]) for line in pathlib.Path(csv_path).read_text().split()[1:]]
    mean, stdev = statistics.fmean(values), statistics.stdev(values)
    kept = [v for v in values if abs(v - mean) <= 3 * stdev]
    summary = {"samples": len(values), "kept": len(kept), "mean": round(mean, 4),
               "stdev": round(stdev, 4), "min": min(values), "max": max(values)}
    out = pathlib.Path(results_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    (out / "clean.csv").write_text("volts\n" + "\n".join(f"{v:.4f}" for v in kept) + "\n")
    return {"results_dir": str(out), "summary": summary}


@generate_flow_definition(modifiers={
    # analyse(**payload): its keyword arguments are what generate_data returned
    analyse: {"payload": "$.GenerateData.details.result[0]"},
})
class Measure(GladierBaseTool):
    """Generate readings, then analyse them."""

    compute_functions = [generate_data, analyse]
    required_input = ["workdir", "samples"]
    flow_input = {"samples": 1000}


# Paths on the collection: "/results" is <workdir>/results once the collection is mapped
publish = Transfer(
    state_name="PublishResults",
    transfer_items=[TransferItem(source_path="/results", destination_path="/published",
                                 recursive=True)],
)


@generate_flow_definition
class QuickstartClient(GladierBaseClient):
    """Generate data, analyse it, publish the results."""

    gladier_tools = [Measure, publish]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", help="scratch directory (default: a new temporary one)")
    parser.add_argument("--samples", type=int, default=1000)
    args = parser.parse_args()
    workdir = pathlib.Path(args.workdir or tempfile.mkdtemp(prefix="gladier-quickstart-"))
    workdir = workdir.resolve()
    workdir.mkdir(parents=True, exist_ok=True)

    scratch = str(uuid.uuid4())  # a collection id, mapped to the scratch directory
    client = QuickstartClient(flows_manager=LocalFlowsManager(collections={
        scratch: str(workdir)}))
    run = client.run_flow(flow_input={"input": {
        "workdir": str(workdir),
        "samples": args.samples,
        "transfer_source_endpoint_id": scratch,
        "transfer_destination_endpoint_id": scratch,
    }}, label="gladier quickstart")
    print(f"Started run {run['run_id']} of flow {run['flow_id']}")

    final = client.progress(run["run_id"])
    if final["status"] != "SUCCEEDED":
        raise SystemExit(f"Run {run['run_id']} ended {final['status']}: {final['details']}")

    summary = client.get_details(run["run_id"], "Analyse")["details"]["result"][0]["summary"]
    published = workdir / "published"
    print(f"\nReadings:  {workdir / 'raw' / 'readings.csv'}")
    print(f"Published: {published}  ({', '.join(sorted(p.name for p in published.iterdir()))})")
    print(f"{summary['samples']} samples, {summary['kept']} kept: "
          f"mean {summary['mean']} V, stdev {summary['stdev']} V")


if __name__ == "__main__":
    main()
