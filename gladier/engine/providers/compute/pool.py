"""The local process pool the compute tasks without an executor of their own run in."""

from __future__ import annotations

import collections
import concurrent.futures as cf
import functools
import os
import threading
import typing as t
from concurrent.futures.process import BrokenProcessPool

from gladier.engine.providers.compute.worker import watch_parent
from gladier.forksafe import PROCESS_START_LOCK


#: Local pool tasks go to workers in chunks of at most CHUNK_MAX tasks, with at most
#: CHUNKS_PER_WORKER chunks per worker in flight: one pool submission per chunk instead of
#: per task.
CHUNKS_PER_WORKER = 2
CHUNK_MAX = 32


def chunk_size(tasks: int, free_slots: int) -> int:
    """Tasks per chunk when ``tasks`` wait and ``free_slots`` chunks may be sent: the
    waiting tasks shared among the free slots, at most :data:`CHUNK_MAX` (so that a worker
    never holds many tasks the others could run)."""
    return max(1, min(CHUNK_MAX, -(-tasks // max(1, free_slots))))


class ChunkFeeder:
    """Sends tasks to the pool in chunks, of one action or of several: with few tasks
    waiting, each is sent at once, alone; while every slot is in flight, the tasks that
    arrive (from any number of actions) wait, and go together when a chunk comes back.
    So a thousand one-task actions started together cost the pool about as many
    submissions as one action of a thousand tasks.

    ``make_chunk(items)`` is the callable a worker runs for some items; ``on_sent(items,
    future)`` is told of its future, ``on_done(items, future)`` of its outcome;
    ``wanted(item)`` is False for an item whose action was canceled before it was sent (it
    is dropped).
    """

    def __init__(self, pool: "LocalPool", *, make_chunk: t.Callable[[list], t.Callable],
                 on_sent: t.Callable[[list, cf.Future], None],
                 on_done: t.Callable[[list, cf.Future], None],
                 wanted: t.Callable[[t.Any], bool]) -> None:
        self._pool = pool
        self._make_chunk = make_chunk
        self._on_sent = on_sent
        self._on_done = on_done
        self._wanted = wanted
        self._pending: collections.deque = collections.deque()
        self._in_flight = 0
        self._stopped = False
        self._lock = threading.Lock()

    def put(self, items: t.Iterable[t.Any]) -> None:
        with self._lock:
            self._pending.extend(items)
        self._send()

    def stop(self) -> None:
        """Send nothing more (the engine was interrupted: what waits is not started)."""
        with self._lock:
            self._stopped = True
            self._pending.clear()

    def _send(self) -> None:
        while True:
            with self._lock:
                while self._pending and not self._wanted(self._pending[0]):
                    self._pending.popleft()
                slots = (self._pool.max_workers or os.cpu_count() or 1) * CHUNKS_PER_WORKER
                if self._stopped or not self._pending or self._in_flight >= slots:
                    return
                size = chunk_size(len(self._pending), slots - self._in_flight)
                items = [self._pending.popleft() for _ in range(min(size, len(self._pending)))]
                self._in_flight += 1
            try:
                future = self._pool.submit(self._make_chunk(items))
            except Exception as exc:
                future = cf.Future()
                future.set_exception(exc)
            self._on_sent(items, future)
            future.add_done_callback(functools.partial(self._done, items))

    def _done(self, items: list, future: cf.Future) -> None:
        with self._lock:
            self._in_flight -= 1
        try:
            self._on_done(items, future)
        finally:
            self._send()


#: How long closing the pool waits for its manager thread (it ends once running tasks do).
CLOSE_GRACE_SECONDS = 5.0


class LocalPool:
    """A ``ProcessPoolExecutor`` started on first use, whose workers watch the engine
    (:func:`~gladier.engine.providers.compute.worker.watch_parent`); replaced by a new pool
    when a worker died (killed, out of memory), and stopped at once by :meth:`kill`."""

    def __init__(self, *, max_workers: int | None = None) -> None:
        self.max_workers = max_workers
        self._pool: cf.ProcessPoolExecutor | None = None
        self._lock = threading.Lock()

    def _started(self) -> cf.ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                pool = cf.ProcessPoolExecutor(max_workers=self.max_workers,
                                              initializer=watch_parent,
                                              initargs=(os.getpid(),))
                with PROCESS_START_LOCK:  # a pool forks every worker at its first submit
                    pool.submit(int)
                self._pool = pool
            return self._pool

    def submit(self, func: t.Callable, *args: t.Any, **kwargs: t.Any) -> cf.Future:
        pool = self._started()
        try:
            return pool.submit(func, *args, **kwargs)
        except BrokenProcessPool:  # a worker died: start a new pool
            with self._lock:
                if self._pool is pool:
                    self._pool = None
            pool.shutdown(wait=False)
            return self._started().submit(func, *args, **kwargs)

    def kill(self) -> set[int]:
        """Kill every worker now (the engine was interrupted); returns their pids."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is None:
            return set()
        workers = list(getattr(pool, "_processes", {}).values())  # no public accessor
        for worker in workers:
            worker.kill()
        for worker in workers:
            worker.join(5)
        pool.shutdown(wait=False, cancel_futures=True)
        return {worker.pid for worker in workers}

    def close(self) -> None:
        """Stop the pool; tasks not yet started are dropped.

        The pool's manager thread is given a moment to end: one still ending when the
        interpreter exits races ``concurrent.futures``' own exit hook over its wake-up pipe
        (CPython before 3.12.1 then prints "OSError: Bad file descriptor" at exit)."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
            manager = getattr(pool, "_executor_manager_thread", None)  # no public accessor
            if manager is not None:
                manager.join(CLOSE_GRACE_SECONDS)
