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
