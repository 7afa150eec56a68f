"""What runs inside a pool worker: the parent watch, the stop signal, ledger tasks and chunks."""

from __future__ import annotations

import os
import signal
import threading
import time
import typing as t

from gladier.engine.providers.compute.ledger import TaskLedger, process_running
from gladier.engine.providers.compute.results import (
    CANCELED_ERROR,
    RecordedTaskError,
    describe_failure,
    function_name,
    json_output,
    recorded_output,
)


class _WorkerState:
    """What a pool worker knows about itself (module global in each worker process)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.parent_gone = False
        self.recording = False  # running a claimed task whose result must be kept
        self.parent: int | None = None
        self.running: tuple[str, str] | None = None  # (ledger root, action id) of the task


class TaskStopped(BaseException):
    """Raised in a worker's task when its action was canceled or passed its WaitTime
    (a BaseException, so that the function's own ``except Exception`` lets it through)."""


#: What a task stopped by its action's cancel (or WaitTime) records as its error.
_STOPPED = {"exception": "TaskCanceled", "traceback": "",
            "message": "The task was stopped: its action was canceled or passed its WaitTime"}


#: The signal the engine sends a worker to stop the task of a canceled action.
STOP_SIGNAL = signal.SIGUSR1


#: Seconds a stopped task has to end (a function in C code may not see the signal) before
#: its worker process is killed, and the pool replaced.
STOP_GRACE_SECONDS = 5.0


def _stop_task(signum: int, frame: t.Any) -> None:
    """In a worker: stop the running task if its action was canceled (a late signal, after
    the worker moved on to another task, is ignored)."""
    running = _WORKER.running
    if running is not None and os.path.exists(
            os.path.join(running[0], running[1], TaskLedger.CANCELED)):
        raise TaskStopped()


_WORKER = _WorkerState()


#: How often a pool worker checks that its engine process is still there.
PARENT_CHECK_SECONDS = 0.1


def watch_parent(engine_pid: int) -> None:
    """Pool initializer: exit when the engine process dies, except to finish recording
    a claimed task (the task wrapper exits right after).

    Watching ``getppid()`` rather than ``PR_SET_PDEATHSIG``: the death signal fires when
    the *thread* that started the worker ends, and pools start workers from any thread.
    The parent is whatever started the worker (the engine, or its forkserver, which ends
    with the engine). The engine is watched too: killed between forking the worker and
    this initializer, the parent seen here is already the one that adopted the orphan.
    """
    parent = _WORKER.parent = os.getppid()
    for signum in (signal.SIGINT, signal.SIGTERM):  # the engine stops its workers itself
        signal.signal(signum, signal.SIG_IGN)
    signal.signal(STOP_SIGNAL, _stop_task)

    def watch() -> None:
        while os.getppid() == parent and process_running(engine_pid):
            time.sleep(PARENT_CHECK_SECONDS)
        with _WORKER.lock:
            _WORKER.parent_gone = True
            if not _WORKER.recording:
                os._exit(0)

    threading.Thread(target=watch, name="gladier-parent-watch", daemon=True).start()


class _LedgerTask:
    """A pool task that runs at most once across engine restarts (see :class:`TaskLedger`).

    ``recovering``: an earlier engine began this action, so the task may already have run,
    be running in an orphaned worker, or have died with its worker.
    """

    def __init__(self, func: t.Callable, ledger: TaskLedger, task_id: str, action_id: str,
                 recovering: bool):
        self.func = func
        self.ledger = ledger
        self.task_id = task_id
        self.action_id = action_id
        self.recovering = recovering

    def __call__(self, *args: t.Any, **kwargs: t.Any) -> t.Any:
        with _WORKER.lock:  # from here on, an orphaned worker finishes before it exits
            if _WORKER.parent_gone or os.getppid() != _WORKER.parent:
                os._exit(0)
            _WORKER.recording = True
        try:
            if self.recovering:
                claimant, result = self.ledger.find(self.action_id, self.task_id)
                if result is not None:
                    return recorded_output(result)
                if claimant is not None:
                    with _WORKER.lock:  # only waiting: nothing to keep if the engine dies
                        _WORKER.recording = False
                        if _WORKER.parent_gone:
                            os._exit(0)
                    return self.ledger.wait(self.action_id, self.task_id)
            return self._run(args, kwargs)
        finally:
            with _WORKER.lock:
                _WORKER.recording = False
                if _WORKER.parent_gone:
                    os._exit(0)

    def _run(self, args: tuple, kwargs: dict) -> t.Any:
        self.ledger.claim(self.action_id, self.task_id)
        _WORKER.running = (self.ledger.root, self.action_id)
        try:
            output = json_output(self.func(*args, **kwargs), function_name(self.func))
        except TaskStopped:
            self.ledger.record(self.action_id, {"task": self.task_id, "error": _STOPPED})
            raise RecordedTaskError(_STOPPED) from None
        except Exception as exc:
            error = describe_failure(exc)
            self.ledger.record(self.action_id, {"task": self.task_id, "error": error})
            raise RecordedTaskError(error) from None
        except BaseException:  # KeyboardInterrupt...: it never finished, it may run again
            self.ledger.record(self.action_id, {"task": self.task_id, "aborted": True})
            raise
        finally:
            _WORKER.running = None
        self.ledger.record(self.action_id, {"task": self.task_id, "output": output})
        return output


class LedgerChunk:
    """Several ledger tasks of one action, sent to a worker as one pool submission.

    Each task is still claimed, recorded and failed on its own (one task's exception never
    touches the others' results). A task whose action was canceled (or released) before
    it started does not run.
    """

    def __init__(self, root: str, action_id: str, recovering: bool,
                 tasks: list[tuple[str, t.Callable, tuple, dict]]):
        self.root = root
        self.action_id = action_id
        self.recovering = recovering
        self.tasks = tasks  # (task id, function, args, kwargs)

    def __call__(self) -> list[tuple[t.Any, dict | None]]:
        """(output, None) or (None, error) for each task, in order."""
        ledger = TaskLedger(root=self.root)
        directory = os.path.join(self.root, self.action_id)
        mark = os.path.join(directory, TaskLedger.CANCELED)
        outcomes: list[tuple[t.Any, dict | None]] = []
        for task_id, func, args, kwargs in self.tasks:
            if os.path.exists(mark) or not os.path.isdir(directory):  # canceled, released
                outcomes.append((None, CANCELED_ERROR))
                continue
            task = _LedgerTask(func, ledger, task_id, self.action_id, self.recovering)
            try:
                outcomes.append((task(*args, **kwargs), None))
            except RecordedTaskError as error:
                outcomes.append((None, error.error))
            except BaseException as exc:  # the pool would have sent it back for this task
                outcomes.append((None, describe_failure(exc)))
        return outcomes
