"""The engine's event loop: callbacks, timers and the I/O pool."""

from __future__ import annotations

import logging
import threading

from gladier.engine.scheduler import Scheduler


def test_io_result_comes_back_on_the_loop_thread():
    scheduler = Scheduler(io_workers=1)
    got: list = []
    done = threading.Event()

    def then(result, error):
        got.append((result, error, scheduler.on_loop_thread()))
        done.set()

    try:
        scheduler.submit_io(lambda x: x * 2, 21, then=then)
        assert done.wait(10)
    finally:
        scheduler.stop()
    assert got == [(42, None, True)]


def test_stop_with_io_still_queued_reports_no_callback_error(caplog):
    scheduler = Scheduler(io_workers=1)
    release = threading.Event()
    started = threading.Event()
    called: list = []

    def block():
        started.set()
        release.wait(10)

    scheduler.submit_io(block, then=lambda result, error: None)
    assert started.wait(10)
    for _ in range(3):  # queued behind the busy worker: canceled by stop()
        scheduler.submit_io(lambda: None, then=lambda result, error: called.append(error))
    with caplog.at_level(logging.ERROR):
        scheduler.stop()
        release.set()
    assert not [r for r in caplog.records if "exception calling callback" in r.getMessage()]
    assert called == []


def test_work_waiting_for_a_batch_whose_commit_fails_never_happens(tmp_path):
    """What a batch would have told the world (an I/O call, a run_sync answer, published
    entries) is dropped when its commit fails, and the engine is told why."""
    import contextlib

    import pytest

    from gladier.engine.store import Store
    from gladier.exc import StorageError

    class FailingCommit:
        """The real store, whose batch's commit reports a full disk."""

        def __init__(self) -> None:
            self.store = Store(str(tmp_path / "engine.db"))

        @contextlib.contextmanager
        def batch(self):
            with self.store.batch():
                yield
            raise StorageError("Cannot write the engine database: the disk is full")

        def contended(self) -> bool:
            return self.store.contended()

        def give_way(self) -> None:
            self.store.give_way()

    journal, failures, effects = FailingCommit(), [], []

    def step() -> str:
        scheduler.submit_io(effects.append, "sent", then=lambda result, error: None)
        scheduler.after_batch(effects.append, "published")
        return "answer"

    scheduler = Scheduler(journal=journal, on_batch_error=failures.append)
    try:
        with pytest.raises(StorageError, match="disk is full"):
            scheduler.run_sync(step, timeout=10)
    finally:
        scheduler.stop()
        journal.store.close()
    assert effects == [] and len(failures) == 1
