"""One thread that drives every run: a ready queue, a timer heap and a small I/O pool.

A run never owns a thread. Work for a run is a callback put on the ready queue; a Wait is
an entry in the timer heap (it costs a few bytes while it waits); a call to an action
provider, which may block on the network, runs in a bounded pool of I/O threads and
posts its result back to the queue. Every callback runs on the scheduler thread, so the
engine's in-memory run table is touched by one thread only and needs no locks.

Callbacks ready together run in one *batch* (given a ``batch`` context, the store's):
their journal writes are committed once at its end, not once each, so thousands of runs
moving at once cost a few commits. Whatever leaves the process waits for that commit:
I/O calls (``submit_io``: actions sent, polled, canceled), results handed to other threads
(``run_sync``) and :meth:`Scheduler.after_batch` work (the engine publishes log entries so)
run once the batch is committed, and are dropped if it is not; a process killed during a
batch has told nobody of what it loses.
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

#: Most callbacks, and longest time (seconds), of one batch: a thread waiting for the
#: store (a ``run_flow``, a reader) waits at most about that long.
MAX_BATCH_CALLBACKS = 1000
MAX_BATCH_SECONDS = 0.01


class Journal(t.Protocol):
    """What the scheduler needs of the store to run batches."""

    def batch(self) -> t.ContextManager: ...  # commits the batch's writes at its exit

    def contended(self) -> bool: ...  # another thread waits for the journal

    def give_way(self) -> None: ...  # let those threads in (between batches)


class Scheduler:
    """An event loop for the engine; started on first use, stopped by :meth:`stop`."""

    def __init__(self, *, io_workers: int = 8, name: str = "gladier-engine",
                 journal: "Journal | None" = None,
                 on_batch_error: t.Callable[[Exception], None] | None = None) -> None:
        """With a ``journal``, ready callbacks run in batches (see the module docstring);
        a batch whose commit fails tells ``on_batch_error`` and drops its deferred work."""
        self._name = name
        self._io_workers = io_workers
        self._journal = journal
        self._on_batch_error = on_batch_error
        #: end the current batch now: a caller waits for its commit
        self._hurry = False
        #: work waiting for the current batch's commit (scheduler thread only), or None
        self._deferred: list[tuple[Callback, tuple]] | None = None
        self._deferred_futures: list[concurrent.futures.Future] = []
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

    def after_batch(self, fn: Callback, *args: t.Any) -> None:
        """Run ``fn(*args)`` once the current batch is committed (at once outside one)."""
        if self._deferred is not None and self.on_loop_thread():
            self._deferred.append((fn, args))
        else:
            fn(*args)

    def submit_io(self, fn: Callback, *args: t.Any,
                  then: t.Callable[[t.Any, BaseException | None], None]) -> None:
        """Run ``fn(*args)`` in the I/O pool, then ``then(result, error)`` on this loop
        (sent once the current batch is committed)."""
        if self._deferred is not None and self.on_loop_thread():
            self._deferred.append((self._submit_io_now, (fn, args, then)))
            return
        self._submit_io_now(fn, args, then)

    def _submit_io_now(self, fn: Callback, args: tuple,
                       then: t.Callable[[t.Any, BaseException | None], None]) -> None:
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
        """Run ``fn(*args)`` on the loop, before the callbacks waiting there, and return its
        result to the calling thread once what it journaled is committed."""
        if self.on_loop_thread():
            return fn(*args)
        if self._stopping:
            raise EngineError("The engine is closed")
        future: concurrent.futures.Future = concurrent.futures.Future()

        def call() -> None:
            try:
                result = fn(*args)
            except BaseException as err:  # handed to the caller, not lost
                self._hand_over(future, None, err)
            else:
                self._hand_over(future, result, None)

        with self._cond:
            if not self._ensure_started():
                raise EngineError("The engine is closed")
            self._ready.appendleft((call, ()))
            self._cond.notify()
        return future.result(timeout)

    def _hand_over(self, future: concurrent.futures.Future, result: t.Any,
                   error: BaseException | None) -> None:
        """Give a ``run_sync`` caller its answer once what it answers is committed."""
        if self._deferred is not None:
            self._deferred_futures.append(future)
            self._deferred.append((_resolve, (future, result, error)))
            self._hurry = True
        else:
            _resolve(future, result, error)

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

    def _next(self, *, block: bool) -> tuple[Callback, tuple] | None:
        """The next ready callback (due timers first become ready); None when stopping,
        or when nothing is ready and not ``block``."""
        with self._cond:
            while True:
                if self._stopping:
                    return None
                now = time.time()
                while self._timers and self._timers[0][0] <= now:
                    _, _, fn, args = heapq.heappop(self._timers)
                    self._ready.append((fn, args))
                if self._ready:
                    return self._ready.popleft()
                if not block:
                    return None
                wait = self._timers[0][0] - now if self._timers else None
                self._cond.wait(wait)

    def _loop(self) -> None:
        while True:
            item = self._next(block=True)
            if item is None:
                return
            if self._journal is None:
                _run(item)
                continue
            self._run_batch(self._journal, item)
            self._journal.give_way()

    def _run_batch(self, journal: Journal, item: tuple[Callback, tuple]) -> None:
        """Run ``item`` and the callbacks ready after it in one batch, then what waited for
        its commit. The batch ends early when a ``run_sync`` caller or another thread
        waits for it."""
        self._deferred, self._deferred_futures, self._hurry = [], [], False
        try:
            with journal.batch():
                _run(item)
                deadline = time.monotonic() + MAX_BATCH_SECONDS
                for _ in range(MAX_BATCH_CALLBACKS - 1):
                    if self._hurry or journal.contended() or time.monotonic() >= deadline:
                        break
                    following = self._next(block=False)
                    if following is None:
                        break
                    _run(following)
        except Exception as err:  # the commit failed: nothing of the batch leaves
            futures = self._deferred_futures
            self._deferred, self._deferred_futures = None, []
            for future in futures:
                future.set_exception(err)
            log.error("gladier engine: a batch of transitions was not journaled: %s", err)
            if self._on_batch_error is not None:
                self._on_batch_error(err)
            return
        deferred, self._deferred = self._deferred, None
        self._deferred_futures = []
        for fn, args in deferred:
            _run((fn, args))


def _run(item: tuple[Callback, tuple]) -> None:
    fn, args = item
    try:
        fn(*args)
    except Exception:  # one run's bug must not stop every other run
        log.exception("gladier engine: a scheduled callback failed")


def _resolve(future: concurrent.futures.Future, result: t.Any,
             error: BaseException | None) -> None:
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)
