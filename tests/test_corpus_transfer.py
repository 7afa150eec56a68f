"""Globus's transfer example flows, run with their sample inputs on the embedded engine.

Each sample input names collections by id; the tests map those ids to scratch directories
and check the files each flow leaves behind, as the flow's documentation describes.
"""

import json
import pathlib

import pytest

from corpus import CORPUS
from gladier.engine import LocalEngine

pytestmark = pytest.mark.skipif(not CORPUS.is_dir(), reason=f"no flows corpus at {CORPUS}")


def load_example(name: str) -> tuple[dict, dict, dict]:
    folder = CORPUS / name
    return tuple(json.loads((folder / f"{part}.json").read_text())
                 for part in ("definition", "input_schema", "sample_input"))


def local_path(root: pathlib.Path, collection_path: str) -> pathlib.Path:
    """Where a collection path ('/~/x' or '/x') lives under a mapped collection root."""
    relative = collection_path.split("~", 1)[1] if collection_path.startswith("/~") \
        else collection_path
    return root / relative.strip("/")


def located(collections: dict, location: dict) -> pathlib.Path:
    """Where a sample input's ``{"id", "path"}`` location lives under its collection root."""
    return local_path(collections[location["id"]], location["path"])


def make_tree(directory: pathlib.Path) -> dict[str, str]:
    """A small directory tree with a nested folder; returns relative path -> content."""
    files = {"a.txt": "alpha", "b.dat": "bravo" * 100, "nested/c.txt": "charlie",
             "nested/deeper/d.txt": "delta"}
    for name, text in files.items():
        target = directory / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    return files


def tree(directory: pathlib.Path) -> dict[str, str]:
    return {str(p.relative_to(directory)): p.read_text()
            for p in sorted(directory.rglob("*")) if p.is_file()}


@pytest.fixture
def collections(tmp_path):
    """The collection ids of the sample inputs, each mapped to its own scratch directory."""
    roots = {}
    for name in ("simple", "move", "two_hop", "transfer_share", "looping_batched_move"):
        sample = load_example(name)[2]
        for value in sample.values():
            if isinstance(value, dict) and "id" in value and value["id"] not in roots:
                root = tmp_path / "collections" / value["id"]
                root.mkdir(parents=True)
                roots[value["id"]] = root
    return roots


@pytest.fixture
def engine(tmp_path, collections):
    with LocalEngine(str(tmp_path / "engine.db"), time_scale=1.0,
                     collections={cid: str(root) for cid, root in collections.items()}) as eng:
        yield eng


def run_example(engine: LocalEngine, name: str, body: dict | None = None) -> dict:
    definition, schema, sample = load_example(name)
    flow = engine.create_flow(definition, title=name, input_schema=schema)
    run = engine.run_flow(flow["id"], sample if body is None else body)
    return engine.wait(run["run_id"], timeout=60)


def test_simple_transfer_copies_a_directory_without_recursive(engine, collections):
    sample = load_example("simple")[2]
    source = located(collections, sample["source"])
    files = make_tree(source)
    run = run_example(engine, "simple")
    assert run["status"] == "SUCCEEDED", run["details"]
    destination = located(collections, sample["destination"])
    assert tree(destination) == files
    assert tree(source) == files  # a copy leaves the source alone
    task = run["details"]["output"]["details"]
    assert task["DATA_TYPE"] == "task" and task["files_transferred"] == len(files)


def test_simple_transfer_sample_input_uses_env_collections(tmp_path, monkeypatch, collections):
    sample = load_example("simple")[2]
    monkeypatch.setenv("GLADIER_LOCAL_COLLECTIONS",
                       json.dumps({cid: str(root) for cid, root in collections.items()}))
    source = located(collections, sample["source"])
    files = make_tree(source)
    with LocalEngine(str(tmp_path / "env.db"), time_scale=1.0) as engine:
        run = run_example(engine, "simple")
    assert run["status"] == "SUCCEEDED", run["details"]
    assert tree(located(collections, sample["destination"])) == files


def test_move_moves_a_directory_and_removes_the_source(engine, collections):
    sample = load_example("move")[2]
    source = located(collections, sample["source"])
    files = make_tree(source)
    run = run_example(engine, "move")
    assert run["status"] == "SUCCEEDED", run["details"]
    output = run["details"]["output"]
    assert output["FlowResult"] == {"message": "Move operation complete"}
    destination = located(collections, sample["destination"])
    assert tree(destination) == files
    assert not source.exists()


def test_move_puts_a_file_inside_an_existing_destination_directory(engine, collections):
    sample = load_example("move")[2]
    source_root = collections[sample["source"]["id"]]
    destination_root = collections[sample["destination"]["id"]]
    (source_root / "report.csv").write_text("x,y\n1,2\n")
    (destination_root / "inbox").mkdir()
    body = {"source": {"id": sample["source"]["id"], "path": "/~/report.csv"},
            "destination": {"id": sample["destination"]["id"], "path": "/~/inbox/"}}
    run = run_example(engine, "move", body)
    assert run["status"] == "SUCCEEDED", run["details"]
    assert (destination_root / "inbox" / "report.csv").read_text() == "x,y\n1,2\n"
    assert not (source_root / "report.csv").exists()


def test_move_refuses_a_directory_onto_a_file(engine, collections):
    sample = load_example("move")[2]
    source = located(collections, sample["source"])
    files = make_tree(source)
    destination = located(collections, sample["destination"])
    destination.write_text("a file, not a directory")
    run = run_example(engine, "move")
    assert run["status"] == "FAILED"
    assert run["details"]["details"]["state_name"] == "FailDirOntoFile"
    assert tree(source) == files  # nothing moved


def test_two_hop_duplicates_through_the_intermediate_and_cleans_it(engine, collections):
    sample = load_example("two_hop")[2]
    source = located(collections, sample["source"])
    files = make_tree(source)
    intermediate = located(collections, sample["intermediate"])
    intermediate.mkdir(parents=True)
    run = run_example(engine, "two_hop")
    assert run["status"] == "SUCCEEDED", run["details"]
    output = run["details"]["output"]
    assert output["FlowResult"] == {"message": "Two Stage Transfer complete"}
    destination = located(collections, sample["destination"])
    assert tree(destination) == files
    assert tree(source) == files
    # the data went through <intermediate>/<run_id>/, which the flow deleted afterwards
    assert output["ComputedTaskData"]["intermediate_dir"].rstrip("/").endswith(run["run_id"])
    assert output["Transfer1Result"]["details"]["files_transferred"] == len(files)
    assert list(intermediate.iterdir()) == []


def test_two_hop_needs_an_existing_intermediate_directory(engine, collections):
    sample = load_example("two_hop")[2]
    make_tree(located(collections, sample["source"]))
    run = run_example(engine, "two_hop")
    assert run["status"] == "FAILED"
    assert run["details"]["details"]["state_name"] == "FailIntermediateMustBeDir"


def test_transfer_share_copies_and_grants_read_access(engine, collections):
    sample = load_example("transfer_share")[2]
    source = located(collections, sample["source"])
    files = make_tree(source)
    run = run_example(engine, "transfer_share")
    assert run["status"] == "SUCCEEDED", run["details"]
    destination = located(collections, sample["destination"])
    assert tree(destination) == files
    output = run["details"]["output"]
    assert output["DestinationInfo"]["details"]["entity_type"] == "GCSv5_guest_collection"
    granted = output["SetPermission"]["details"]
    assert granted["code"] == "Created" and granted["DATA_TYPE"] == "access_create_result"
    rule = engine.providers.transfer.permissions[granted["access_id"]]
    assert rule == {"DATA_TYPE": "access", "id": granted["access_id"],
                    "path": sample["destination"]["path"], "permissions": "r",
                    "principal_type": "identity", "principal": sample["principal"]["id"],
                    "endpoint_id": sample["destination"]["id"]}


def test_transfer_share_refuses_a_destination_that_is_not_a_guest_collection(tmp_path,
                                                                              collections):
    sample = load_example("transfer_share")[2]
    make_tree(located(collections, sample["source"]))
    mapping = {cid: str(root) for cid, root in collections.items()}
    mapping[sample["destination"]["id"]] = {
        "root": mapping[sample["destination"]["id"]], "entity_type": "GCSv5_mapped_collection"}
    with LocalEngine(str(tmp_path / "mapped.db"), time_scale=1.0,
                     collections=mapping) as engine:
        run = run_example(engine, "transfer_share")
    assert run["status"] == "FAILED"
    assert run["details"]["details"]["state_name"] == "FailBadDestinationCollectionType"
    assert not located(collections, sample["destination"]).exists()


def test_looping_batched_move_loops_until_the_source_is_empty(engine, collections):
    sample = load_example("looping_batched_move")[2]
    source = located(collections, sample["source"])
    source.mkdir(parents=True)
    count = 230  # the flow lists 100 entries per batch: three batches, then an empty list
    for index in range(count):
        (source / f"file{index:03d}.txt").write_text(str(index))
    run = run_example(engine, "looping_batched_move")
    assert run["status"] == "SUCCEEDED", run["details"]
    destination = located(collections, sample["destination"])
    assert tree(destination) == {f"file{index:03d}.txt": str(index) for index in range(count)}
    assert list(source.iterdir()) == []
    entries = engine.get_run_logs(run["run_id"])["entries"]
    transfers = [e for e in entries if e["code"] == "ActionCompleted"
                 and e["details"]["state_name"] == "Transfer"]
    assert [e["details"]["output"]["details"]["files_transferred"] for e in transfers] == \
        [100, 100, 30]


def test_looping_batched_move_fails_on_a_subdirectory_as_the_service_does(engine,
                                                                          collections):
    """The flow's Delete sets no ``recursive``; Transfer refuses to delete a directory then."""
    sample = load_example("looping_batched_move")[2]
    source = located(collections, sample["source"])
    make_tree(source)
    run = run_example(engine, "looping_batched_move")
    assert run["status"] == "FAILED"
    error = run["details"]["details"]
    assert error["state_name"] == "Delete" and error["exception"] == "ActionFailedException"
    assert error["output"]["details"]["fatal_error"]["code"] == "IS_A_DIRECTORY"
