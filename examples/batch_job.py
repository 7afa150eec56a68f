"""A batch job (cron, Slurm, CI): checksum every file of a directory, then publish the manifest.

    python examples/batch_job.py DATA_DIR PUBLISH_DIR [--engine local|globus]

It never prompts. On the Globus engine it logs in as a service identity when
``GLADIER_CLIENT_ID`` and ``GLADIER_CLIENT_SECRET`` are set (a confidential client); without
them it uses tokens from an earlier interactive login, and fails with one clear log line if
there are none. Progress goes to the log as timestamped lines. Exit status: 0 when the run
SUCCEEDED and every step did, 1 when it did not or a step failed (the log names it: Gladier's
compute states go on after a failure), 2 when it could not start (login, input,
configuration). Relative directories are made absolute first, so the compute function and
the Transfer read the same places.

A crontab line::

    0 2 * * * GLADIER_CLIENT_ID=... GLADIER_CLIENT_SECRET=... \\
        /path/to/.venv/bin/python /path/to/batch_job.py /data/in /data/out >> job.log 2>&1

On ``--engine globus``, also give ``--compute-endpoint`` and the source and destination
collection ids (``--source-collection``, ``--destination-collection``). On the embedded
engine both collections are this machine's files (one collection mapped to ``/``).
"""

import argparse
import logging
import os
import sys
import uuid

from gladier import GladierBaseClient, GladierBaseTool, generate_flow_definition
from gladier.engine.manager import LocalFlowsManager
from gladier.exc import GladierException, StateOutputNotFound
from gladier.tools import Transfer, TransferItem

log = logging.getLogger("batch_job")


def checksum_files(data_dir: str, manifest_dir: str, **data) -> dict:
    """Write the SHA-256 of every file under data_dir to manifest_dir/MANIFEST.sha256."""
    import hashlib
    import pathlib

    root, out = pathlib.Path(data_dir), pathlib.Path(manifest_dir)
    lines = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        lines.append(f"{hashlib.sha256(path.read_bytes()).hexdigest()}  {path.relative_to(root)}")
    out.mkdir(parents=True, exist_ok=True)
    manifest = out / "MANIFEST.sha256"
    manifest.write_text("\n".join(lines) + "\n")
    return {"manifest": str(manifest), "files": len(lines)}


@generate_flow_definition
class Checksum(GladierBaseTool):
    compute_functions = [checksum_files]
    required_input = ["data_dir", "manifest_dir"]


@generate_flow_definition
class NightlyManifest(GladierBaseClient):
    """Checksum a directory and publish its manifest."""

    gladier_tools = [
        Checksum,
        Transfer(state_name="PublishManifest", transfer_items=[TransferItem(
            source_path="$.ChecksumFiles.details.result[0].manifest",
            destination_path="$.input.publish_path")]),
    ]


def log_progress(run: dict) -> None:
    """progress() callback: one log line per change of the run."""
    details = run.get("details") or {}
    log.info("run %s %s %s", run["run_id"], run["status"], details.get("description", ""))


def failure_of(status: dict) -> str:
    """The reason a step's action failed, from the status the run stored for it."""
    details = status.get("details") if isinstance(status.get("details"), dict) else {}
    fatal = details.get("fatal_error") if isinstance(details.get("fatal_error"), dict) else {}
    return str(fatal.get("description") or details.get("exception")
               or details.get("description") or details)[:500]


def main(argv: list | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir")
    parser.add_argument("publish_dir")
    parser.add_argument("--engine", choices=["local", "globus"],
                        help="default: GLADIER_ENGINE, else local")
    parser.add_argument("--compute-endpoint", help="Globus Compute endpoint id (globus only)")
    parser.add_argument("--source-collection")
    parser.add_argument("--destination-collection")
    args = parser.parse_args(argv)
    engine = args.engine or os.environ.get("GLADIER_ENGINE") or "local"
    if engine == "local":  # this machine's files, as one collection mapped to /
        here = str(uuid.uuid4())
        local = {"flows_manager": LocalFlowsManager(collections={here: "/"})}
        args.source_collection = args.source_collection or here
        args.destination_collection = args.destination_collection or here
    else:
        local = {"engine": engine}
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    data_dir, publish_dir = os.path.abspath(args.data_dir), os.path.abspath(args.publish_dir)
    flow_input = {
        "data_dir": data_dir,
        "manifest_dir": f"{data_dir}.manifest",
        "publish_path": os.path.join(publish_dir, "MANIFEST.sha256"),
        "transfer_source_endpoint_id": args.source_collection,
        "transfer_destination_endpoint_id": args.destination_collection,
    }
    if args.compute_endpoint:
        flow_input["compute_endpoint"] = args.compute_endpoint
    try:
        client = NightlyManifest(auto_login=False, **local)  # never prompts
        log.info("engine %s, logged in: %s", client.engine, client.is_logged_in())
        run = client.run_flow(flow_input={"input": flow_input}, label="nightly manifest")
        log.info("started run %s", run["run_id"])
        final = client.progress(run["run_id"], callback=log_progress, delay=5)
    except GladierException as error:
        log.error("%s: %s", type(error).__name__, error)
        return 2
    failed = False
    for step in ("ChecksumFiles", "PublishManifest"):
        try:
            status = client.get_details(final["run_id"], step)
        except StateOutputNotFound:  # not reached, or the run failed there
            continue
        if isinstance(status, dict) and status.get("status") == "FAILED":
            failed = True
            log.error("step %s failed (the flow went on): %s", step, failure_of(status))
    if final["status"] != "SUCCEEDED":
        log.error("run %s ended %s: %s", final["run_id"], final["status"], final.get("details"))
        return 1
    if failed:
        return 1
    result = client.get_details(final["run_id"], "ChecksumFiles")["details"]["result"][0]
    log.info("%d files checksummed; manifest published to %s", result["files"],
             flow_input["publish_path"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
