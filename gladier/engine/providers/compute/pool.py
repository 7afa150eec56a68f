"""The local process pool the compute tasks without an executor of their own run in."""

from __future__ import annotations

import concurrent.futures as cf
import os
import threading
import typing as t
from concurrent.futures.process import BrokenProcessPool

from gladier.engine.providers.compute.worker import watch_parent
from gladier.forksafe import PROCESS_START_LOCK


#: Local pool tasks go to workers in chunks of about n / (workers * CHUNKS_PER_WORKER)
#: tasks, at most CHUNK_MAX: one pool submission per chunk instead of per task.
CHUNKS_PER_WORKER = 16
CHUNK_MAX = 32


def chunk_size(tasks: int, workers: int) -> int:
    """Tasks per chunk: big enough to save the pool's per-task cost, small enough that
    every worker gets many chunks (load balance)."""
    return max(1, min(CHUNK_MAX, tasks // (workers * CHUNKS_PER_WORKER)))


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
