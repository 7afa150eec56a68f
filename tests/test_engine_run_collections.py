"""A run keeps the collection mapping it started with: whichever mapping the process that
continues it was given (another one, none), its Transfer states use the run's directories."""

import sqlite3

from gladier.engine import LocalEngine

SOURCE_ID = "aaaaaaaa-0000-4000-8000-000000000001"
DESTINATION_ID = "aaaaaaaa-0000-4000-8000-000000000002"
FLOW = {
    "StartAt": "Nap",
    "States": {
        "Nap": {"Type": "Wait", "Seconds": 50, "Next": "Copy"},
        "Copy": {"Type": "Action", "ActionUrl": "https://transfer.actions.globus.org/transfer",
                 "Parameters": {"source_endpoint": SOURCE_ID,
                                "destination_endpoint": DESTINATION_ID,
                                "DATA": [{"source_path": "/in.txt",
                                          "destination_path": "/out.txt"}]},
                 "End": True},
    },
}
TIME_SCALE = 0.01  # the Wait of 50 s lasts 0.5 s


def collections(tmp_path, name: str, text: str) -> dict:
    """A source directory holding ``in.txt`` and an empty destination directory."""
    source, destination = tmp_path / name / "source", tmp_path / name / "destination"
    source.mkdir(parents=True)
    destination.mkdir()
    (source / "in.txt").write_text(text)
    return {SOURCE_ID: str(source), DESTINATION_ID: str(destination)}


def start_and_leave(db: str, mapping: dict | None) -> str:
    """Start a run, then close its engine while the run waits in 'Nap'."""
    with LocalEngine(db, time_scale=TIME_SCALE, collections=mapping) as first:
        return first.run_flow(first.create_flow(FLOW)["id"], {})["run_id"]


def test_a_resumed_run_transfers_with_the_collections_it_started_with(tmp_path):
    db = str(tmp_path / "engine.db")
    original = collections(tmp_path, "original", "the run's file")
    other = collections(tmp_path, "other", "another mapping's file")
    run_id = start_and_leave(db, original)
    with LocalEngine(db, time_scale=TIME_SCALE, collections=other) as second:
        assert second.resume() == [run_id]
        assert second.wait(run_id, timeout=60)["status"] == "SUCCEEDED"
    assert (tmp_path / "original" / "destination" / "out.txt").read_text() == "the run's file"
    assert list((tmp_path / "other" / "destination").iterdir()) == []


def test_a_run_started_on_the_whole_filesystem_keeps_it(tmp_path):
    """The mapping of the resuming process does not change a run that started with
    ``"*": "/"`` (the whole filesystem, asked for)."""
    db = str(tmp_path / "engine.db")
    (tmp_path / "in.txt").write_text("absolute paths")
    flow = {**FLOW, "States": {**FLOW["States"], "Copy": {
        **FLOW["States"]["Copy"], "Parameters": {
            "source_endpoint": SOURCE_ID, "destination_endpoint": DESTINATION_ID,
            "DATA": [{"source_path": str(tmp_path / "in.txt"),
                      "destination_path": str(tmp_path / "out.txt")}]}}}}
    with LocalEngine(db, time_scale=TIME_SCALE, collections={"*": "/"}) as first:
        run_id = first.run_flow(first.create_flow(flow)["id"], {})["run_id"]
    other = collections(tmp_path, "other", "another mapping's file")
    with LocalEngine(db, time_scale=TIME_SCALE, collections=other) as second:
        second.resume()
        assert second.wait(run_id, timeout=60)["status"] == "SUCCEEDED"
    assert (tmp_path / "out.txt").read_text() == "absolute paths"
    assert list((tmp_path / "other" / "destination").iterdir()) == []


def test_a_run_from_a_database_without_run_collections_uses_the_engines(tmp_path):
    """Databases written before runs kept their mapping still open; their runs continue
    on the mapping of the engine that resumes them, as they did."""
    db = str(tmp_path / "engine.db")
    mapping = collections(tmp_path, "given", "given on resume")
    run_id = start_and_leave(db, None)
    old = sqlite3.connect(db)
    old.execute("ALTER TABLE runs DROP COLUMN collections")
    old.close()
    with LocalEngine(db, time_scale=TIME_SCALE, collections=mapping) as second:
        second.resume()
        assert second.wait(run_id, timeout=60)["status"] == "SUCCEEDED"
    assert (tmp_path / "given" / "destination" / "out.txt").read_text() == "given on resume"


def test_a_run_started_without_collections_is_not_widened_by_the_resuming_mapping(tmp_path):
    """A run that started with no mapping touches no collection, even when the process
    that resumes it maps them: its Transfer state fails naming the unmapped id."""
    db = str(tmp_path / "engine.db")
    (tmp_path / "in.txt").write_text("absolute paths")
    flow = {**FLOW, "States": {**FLOW["States"], "Copy": {
        **FLOW["States"]["Copy"], "Parameters": {
            "source_endpoint": SOURCE_ID, "destination_endpoint": DESTINATION_ID,
            "DATA": [{"source_path": "/in.txt", "destination_path": "/out.txt"}]}}}}
    with LocalEngine(db, time_scale=TIME_SCALE, collections={}) as first:
        run_id = first.run_flow(first.create_flow(flow)["id"], {})["run_id"]
    other = collections(tmp_path, "other", "another mapping's file")
    with LocalEngine(db, time_scale=TIME_SCALE, collections=other) as second:
        second.resume()
        final = second.wait(run_id, timeout=60)
    assert final["status"] == "FAILED"
    assert f"Collection {SOURCE_ID} is not mapped" in final["details"]["details"]["cause"]
    assert list((tmp_path / "other" / "destination").iterdir()) == []
