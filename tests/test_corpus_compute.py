"""Globus's tar_and_transfer examples (Compute + Transfer) on the embedded engine.

As the example's instructions say, the placeholders of ``SetRunVariables`` are replaced
with the ids of a collection, a compute endpoint and the registered ``do_tar`` function,
and ``gcs_base_path`` with the collection's base path. Here the collection is a scratch
directory and the function a real tar function registered locally under that id.
"""

import json
import os
import tarfile
import uuid

import pytest

from corpus import CORPUS
from gladier.engine import LocalEngine

pytestmark = pytest.mark.skipif(not CORPUS.is_dir(), reason=f"no flows corpus at {CORPUS}")

GCS_ID = str(uuid.uuid4())
SOURCE_ID = str(uuid.uuid4())
DESTINATION_ID = str(uuid.uuid4())
COMPUTE_ENDPOINT_ID = str(uuid.uuid4())
TAR_FUNCTION_ID = str(uuid.uuid4())


def do_tar(src_paths, dest_path, gcs_base_path="/"):
    """Tar collection paths into ``dest_path`` (a directory) on the same filesystem;
    returns the archive's collection path."""
    import os
    import tarfile

    def on_disk(path):
        return os.path.join(gcs_base_path, path.lstrip("/"))

    archive = dest_path.rstrip("/") + "/archive.tar.gz"
    with tarfile.open(on_disk(archive), "w:gz") as tar:
        for path in src_paths:
            tar.add(on_disk(path.rstrip("/")), arcname=os.path.basename(path.rstrip("/")))
    return archive


def configured_example(number: int, gcs_root: str) -> tuple[dict, dict]:
    folder = CORPUS / "tar_and_transfer"
    definition = json.loads(
        (folder / f"compute_transfer_example_{number}_definition.json").read_text())
    schema = json.loads((folder / f"compute_transfer_example_{number}_schema.json").read_text())
    variables = definition["States"]["SetRunVariables"]["Parameters"]
    assert variables["compute_function_id"] == "<INSERT YOUR COMPUTE FUNCTION ID HERE>"
    variables.update(gcs_endpoint_id=GCS_ID, compute_endpoint_id=COMPUTE_ENDPOINT_ID,
                     compute_function_id=TAR_FUNCTION_ID, gcs_base_path=gcs_root)
    return definition, schema


@pytest.fixture
def roots(tmp_path):
    found = {name: tmp_path / name for name in ("gcs", "source", "destination")}
    for root in found.values():
        root.mkdir()
    return found


@pytest.fixture
def engine(tmp_path, roots):
    collections = {GCS_ID: str(roots["gcs"]), SOURCE_ID: str(roots["source"]),
                   DESTINATION_ID: str(roots["destination"])}
    with LocalEngine(str(tmp_path / "engine.db"), time_scale=1.0,
                     collections=collections) as eng:
        assert eng.register_function(do_tar, function_id=TAR_FUNCTION_ID) == TAR_FUNCTION_ID
        yield eng


def run(engine: LocalEngine, definition: dict, schema: dict, body: dict) -> dict:
    flow = engine.create_flow(definition, input_schema=schema)
    started = engine.run_flow(flow["id"], body)
    return engine.wait(started["run_id"], timeout=120)


def archive_contents(path) -> dict[str, bytes]:
    with tarfile.open(path, "r:gz") as tar:
        return {member.name: tar.extractfile(member).read()
                for member in tar.getmembers() if member.isfile()}


def test_example_1_tars_collection_files_and_transfers_the_tarball(engine, roots):
    (roots["gcs"] / "inputs" / "logs").mkdir(parents=True)
    (roots["gcs"] / "inputs" / "a.txt").write_text("first")
    (roots["gcs"] / "inputs" / "logs" / "b.log").write_text("second")
    definition, schema = configured_example(1, str(roots["gcs"]))
    final = run(engine, definition, schema, {
        "source_paths": ["/inputs/a.txt", "/inputs/logs"],
        "destination_endpoint_id": DESTINATION_ID,
    })
    assert final["status"] == "SUCCEEDED", final["details"]
    output = final["details"]["output"]
    assert output["compute_func_result"]["details"]["result"] == [
        f"/{final['run_id']}/archive.tar.gz"]
    # no destination_path given: the tarball goes to the destination's home, named as made
    assert output["destination"] == {"path": "/~/archive.tar.gz"}
    assert archive_contents(roots["destination"] / "archive.tar.gz") == {
        "a.txt": b"first", "logs/b.log": b"second"}
    assert not (roots["gcs"] / final["run_id"]).exists()  # the working directory is cleaned up


def test_example_1_refuses_home_relative_source_paths(engine, roots):
    definition, schema = configured_example(1, str(roots["gcs"]))
    final = run(engine, definition, schema, {"source_paths": ["/~/a.txt"],
                                             "destination_endpoint_id": DESTINATION_ID})
    assert final["status"] == "FAILED"
    assert final["details"]["details"]["exception"] == "InvalidInputData"
    assert os.listdir(roots["gcs"]) == []


def test_example_2_gathers_files_from_another_collection_then_tars_them(engine, roots):
    (roots["source"] / "data" / "scans").mkdir(parents=True)
    (roots["source"] / "data" / "notes.md").write_text("# notes")
    (roots["source"] / "data" / "scans" / "s1.raw").write_bytes(b"\x00\x01\x02")
    definition, schema = configured_example(2, str(roots["gcs"]))
    final = run(engine, definition, schema, {
        "source_endpoint": SOURCE_ID,
        "source_paths": ["/data/notes.md", "/data/scans/"],
        "destination_endpoint_id": DESTINATION_ID,
        "destination_path": "/archives/run.tar.gz",
    })
    assert final["status"] == "SUCCEEDED", final["details"]
    assert archive_contents(roots["destination"] / "archives" / "run.tar.gz") == {
        "notes.md": b"# notes", "scans/s1.raw": b"\x00\x01\x02"}
    assert not (roots["gcs"] / final["run_id"]).exists()
    assert (roots["source"] / "data" / "notes.md").exists()  # the sources are only copied


def test_example_1_fails_when_the_function_is_not_registered(tmp_path, roots):
    definition, schema = configured_example(1, str(roots["gcs"]))
    (roots["gcs"] / "a.txt").write_text("x")
    with LocalEngine(str(tmp_path / "bare.db"), time_scale=1.0,
                     collections={GCS_ID: str(roots["gcs"])}) as engine:
        final = run(engine, definition, schema, {"source_paths": ["/a.txt"],
                                                 "destination_endpoint_id": DESTINATION_ID})
    assert final["status"] == "FAILED"
    error = final["details"]["details"]
    assert error["state_name"] == "RunComputeFunction"
    assert error["exception"] == "ActionUnableToRun"
    assert TAR_FUNCTION_ID in error["cause"] or TAR_FUNCTION_ID in json.dumps(error)
