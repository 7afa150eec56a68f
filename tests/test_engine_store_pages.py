"""Pages of runs found from the last run of the page before (keyset), and pruning that
gives the file's space back."""

import json
import os
import sqlite3

import pytest

from gladier.engine.store import Store, run_page_key

START = "2026-01-01T00:{:02d}:{:02d}+00:00"


def add_run(store, n, *, status, label, start, completion=None):
    run_id = f"{n:04d}-run"
    store.create_run({"run_id": run_id, "flow_id": "f1", "status": "ACTIVE", "label": label,
                      "owner": "urn:me", "start_time": start,
                      "details": {"code": "FlowStarting"}, "state_name": "A",
                      "data": json.dumps({"n": n, "pad": "x" * 400})},
                     [{"time": start, "code": "FlowStarted", "description": "d",
                       "details": {"input": {"n": n, "pad": "x" * 400}}}])
    if status != "ACTIVE":
        store.record(run_id, entries=[{"time": completion, "code": "FlowSucceeded",
                                       "description": "d", "details": {}}],
                     fields={"status": status, "completion_time": completion,
                             "state_name": None})
    return run_id


@pytest.fixture
def store(tmp_path):
    s = Store(str(tmp_path / "engine.db"))
    s.put_flow("f1", title="Flow", definition={"StartAt": "A", "States": {}},
               input_schema=None, now=START.format(0, 0))
    # ties in start time, NULL labels and completion times (runs still ACTIVE)
    for n in range(23):
        status = ("ACTIVE", "SUCCEEDED", "FAILED")[n % 3]
        add_run(s, n, status=status, label=None if n % 4 == 0 else f"night {n % 5}",
                start=START.format(n // 3, 0),
                completion=None if status == "ACTIVE" else START.format(30 + n % 7, n))
    yield s
    s.close()


ORDERS = [
    [],
    [("start_time", False)],
    [("id", True)],
    [("status", False), ("start_time", True)],
    [("completion_time", True)],
    [("completion_time", False)],
    [("label", False), ("id", True)],
    [("label", True), ("completion_time", False)],
]


@pytest.mark.parametrize("orderby", ORDERS)
def test_pages_from_the_last_run_before_give_every_run_once_in_order(store, orderby):
    everything = [run["run_id"] for run in store.page_runs(limit=1000, orderby=orderby)]
    paged, after = [], None
    while True:
        page = store.page_runs(limit=4, orderby=orderby, after=after)
        paged.extend(run["run_id"] for run in page)
        if len(page) < 4:
            break
        after = run_page_key(page[-1], orderby)
    assert paged == everything and len(everything) == 23


def test_pages_from_the_last_run_before_keep_the_filters(store):
    wanted = [run["run_id"] for run in store.page_runs(limit=1000, statuses=["SUCCEEDED"])]
    first = store.page_runs(limit=3, statuses=["SUCCEEDED"])
    rest = store.page_runs(limit=1000, statuses=["SUCCEEDED"],
                           after=run_page_key(first[-1]))
    assert [run["run_id"] for run in first + rest] == wanted


def test_the_next_newest_page_starts_on_the_start_time_index(store):
    """However deep the page, SQLite starts it on runs_by_start: no scan of the runs before
    it, no sort of all runs."""
    after = run_page_key(store.page_runs(limit=5)[-1])
    db = store._db
    from gladier.engine import store as module

    where, args = module._after_clause(list(module.DEFAULT_RUN_ORDER), after)
    plan = " | ".join(row[-1] for row in db.execute(
        "EXPLAIN QUERY PLAN " + module._SELECT_RUN_DOCUMENTS + " WHERE " + where
        + module._order_clause(list(module.DEFAULT_RUN_ORDER), module.RUN_ORDER_FIELDS,
                               "runs.run_id") + " LIMIT 20", args))
    assert "USING INDEX runs_by_start" in plan and "TEMP B-TREE" not in plan, plan


def test_a_page_key_of_the_wrong_length_is_refused(store):
    from gladier.exc import EngineError

    with pytest.raises(EngineError, match="page key"):
        store.page_runs(limit=3, after=["2026-01-01T00:00:00+00:00"])


def file_size(path):
    return sum(os.path.getsize(p) for p in (path, f"{path}-wal") if os.path.exists(p))


def fill_and_prune(store, path):
    for n in range(23, 600):
        add_run(store, n, status="SUCCEEDED", label="bulk", start=START.format(40, n % 60),
                completion="2026-01-02T00:00:00+00:00")
    store._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    before = file_size(path)
    deleted = store.prune_runs(completed_before="2026-01-03T00:00:00+00:00",
                               statuses=["SUCCEEDED", "FAILED"])
    return before, file_size(path), deleted


def test_pruning_shrinks_the_database_file(tmp_path, store):
    path = str(tmp_path / "engine.db")
    before, after, deleted = fill_and_prune(store, path)
    assert len(deleted) == 600 - 23 + 15  # the bulk runs and the first 23's ended ones
    assert after < before / 4, (before, after)
    assert store.page_runs(limit=100, statuses=["ACTIVE"])  # the rest is still there


def test_a_database_made_without_auto_vacuum_is_converted_by_its_first_prune(tmp_path):
    """SQLite's PRAGMA auto_vacuum docs: changing from "none" to "incremental" "can only
    occur when the database is new (no tables have yet been created) or by running the
    VACUUM command". A database whose header was written before the store asked for it
    (as every database of earlier releases) is converted by the first prune."""
    path = str(tmp_path / "engine.db")
    early = sqlite3.connect(path)
    early.execute("PRAGMA journal_mode=WAL")  # writes the header: auto_vacuum stays none
    early.close()
    store = Store(path)
    try:
        assert store._db.execute("PRAGMA auto_vacuum").fetchone()[0] == 0
        store.put_flow("f1", title="Flow", definition={"StartAt": "A", "States": {}},
                       input_schema=None, now=START.format(0, 0))
        kept = add_run(store, 0, status="ACTIVE", label="kept", start=START.format(0, 0))
        before, after, deleted = fill_and_prune(store, path)
        assert len(deleted) == 600 - 23 and after < before / 4, (before, after)
        assert store._db.execute("PRAGMA auto_vacuum").fetchone()[0] == 2  # incremental
        assert store.get_run(kept)["label"] == "kept"
    finally:
        store.close()


def test_a_new_database_is_made_with_incremental_auto_vacuum(tmp_path, store):
    check = sqlite3.connect(tmp_path / "engine.db")
    assert check.execute("PRAGMA auto_vacuum").fetchone()[0] == 2
    check.close()
