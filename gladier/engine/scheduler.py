"""One thread that drives every run: a ready queue, a timer heap and a small I/O pool.

A run never owns a thread. Work for a run is a callback put on the ready queue; a Wait is
an entry in the timer heap (it costs a few bytes while it waits); a call to an action
provider, which may block on the network, runs in a bounded pool of I/O threads and
posts its result back to the queue. Every callback runs on the scheduler thread, so the
engine's in-memory run table is touched by one thread only and needs no locks.
"""

from __future__ import annotations

import collections
import concurrent.futures
import heapq
import itertools
import logging
import threading
import time
import typing as t

from gladier.exc import EngineError

log = logging.getLogger(__name__)

Callback = t.Callable[..., t.Any]


class Scheduler:
    """An event loop for the engine; started on first use, stopped by :meth:`stop`."""

    def __init__(self, *, io_workers: int = 8, name: str = "gladier-engine") -> None:
        self._name = name
        self._io_workers = io_workers
        self._cond = threading.Condition()
        self._ready: collections.deque[tuple[Callback, tuple]] = collections.deque()
        self._timers: list[tuple[float, int, Callback, tuple]] = []
        self._order = itertools.count()
        self._thread: threading.Thread | None = None
        self._io: concurrent.futures.ThreadPoolExecutor | None = None
        self._stopping = False

    # scheduling (any thread) -------------------------------------------------------------

    def call_soon(self, fn: Callback, *args: t.Any) -> None:
        with self._cond:
            if not self._ensure_started():
                return
            self._ready.append((fn, args))
            self._cond.notify()

    def call_at(self, when: float, fn: Callback, *args: t.Any) -> None:
        """Run ``fn(*args)`` at ``when``, a ``time.time()`` moment (wall clock)."""
        with self._cond:
            if not self._ensure_started():
                return
            heapq.heappush(self._timers, (when, next(self._order), fn, args))
            self._cond.notify()

    def call_later(self, delay: float, fn: Callback, *args: t.Any) -> None:
        self.call_at(time.time() + max(delay, 0.0), fn, *args)

    def submit_io(self, fn: Callback, *args: t.Any,
                  then: t.Callable[[t.Any, BaseException | None], None]) -> None:
        """Run ``fn(*args)`` in the I/O pool, then ``then(result, error)`` on this loop."""
        with self._cond:
            if not self._ensure_started():
                return
            if self._io is None:
                self._io = concurrent.futures.ThreadPoolExecutor(
                    max_workers=self._io_workers, thread_name_prefix=f"{self._name}-io")
            pool = self._io

        def done(future: concurrent.futures.Future) -> None:
            if future.cancelled():  # dropped by stop(): the journal keeps the work
                return
            error = future.exception()
            self.call_soon(then, None if error else future.result(), error)

        try:
            future = pool.submit(fn, *args)
        except RuntimeError:  # the interpreter is exiting: the journal keeps the work
            return
        future.add_done_callback(done)

    def run_sync(self, fn: Callback, *args: t.Any, timeout: float | None = 60) -> t.Any:
        """Run ``fn(*args)`` on the loop and return its result to the calling thread."""
        if self.on_loop_thread():
            return fn(*args)
        if self._stopping:
            raise EngineError("The engine is closed")
        future: concurrent.futures.Future = concurrent.futures.Future()

        def call() -> None:
            try:
                future.set_result(fn(*args))
            except BaseException as err:  # handed to the caller, not lost
                future.set_exception(err)

        self.call_soon(call)
        return future.result(timeout)

    def on_loop_thread(self) -> bool:
        return self._thread is not None and threading.current_thread() is self._thread

    def stop(self, *, timeout: float = 10) -> None:
        """Stop the loop (pending timers are dropped: the journal keeps them)."""
        with self._cond:
            self._stopping = True
            self._cond.notify()
            thread, pool = self._thread, self._io
        if thread is not None and not self.on_loop_thread():
            thread.join(timeout)
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)

    # the loop ----------------------------------------------------------------------------

    def _ensure_started(self) -> bool:
        """Start the loop thread if needed; False once stopped (work is then dropped:
        the journal still holds it for ``resume``)."""
        if self._stopping:
            return False
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name=self._name, daemon=True)
            self._thread.start()
        return True

    def _loop(self) -> None:
        while True:
            with self._cond:
                while True:
                    if self._stopping:
                        return
                    now = time.time()
                    while self._timers and self._timers[0][0] <= now:
                        _, _, fn, args = heapq.heappop(self._timers)
                        self._ready.append((fn, args))
                    if self._ready:
                        fn, args = self._ready.popleft()
                        break
                    wait = self._timers[0][0] - now if self._timers else None
                    self._cond.wait(wait)
            try:
                fn(*args)
            except Exception:  # one run's bug must not stop every other run
                log.exception("gladier engine: a scheduled callback failed")
