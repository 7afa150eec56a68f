"""What runs inside a pool worker: the parent watch, the stop signal, ledger tasks and chunks."""

from __future__ import annotations

import json
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
        self.running: str | None = None  # the cancel mark of the running task's action


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
    if running is not None and os.path.exists(running):
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


class _Journals:
    """The journals a worker writes while it runs a chunk: the open file of each action,
    and the lines not written yet. A task's result line waits for the claim line of the
    next task of the same action, so that most tasks cost one ``write``, not two; it is
    written before anything else happens (another action's task, a wait, the worker's
    exit, the chunk's end), and the worker counts as recording while it waits."""

    def __init__(self, ledger: TaskLedger) -> None:
        self.ledger = ledger
        self.files: dict[str, int | None] = {}
        self.held: tuple[int, str] | None = None  # (file, lines)

    def open(self, action_id: str) -> int | None:
        """The action's journal, or None once it was released (its tasks do not run)."""
        if action_id not in self.files:
            try:
                self.files[action_id] = os.open(self.ledger.journal(action_id),
                                                os.O_WRONLY | os.O_APPEND)
            except FileNotFoundError:
                self.files[action_id] = None
        return self.files[action_id]

    def write(self, fd: int, line: str, *, hold: bool = False) -> None:
        lines = line
        if self.held is not None:
            if self.held[0] == fd:
                lines = self.held[1] + line
            else:
                self.flush()
        self.held = None
        if hold:
            self.held = (fd, lines)
        else:
            os.write(fd, lines.encode())

    def flush(self) -> None:
        if self.held is not None:
            fd, lines = self.held
            self.held = None
            os.write(fd, lines.encode())

    def close(self) -> None:
        self.flush()
        for fd in self.files.values():
            if fd is not None:
                os.close(fd)
        self.files.clear()


def _line(entry: dict) -> str:
    return "\n" + json.dumps(entry) + "\n"


def _exit_if_orphaned(journals: _Journals) -> None:
    """Between two tasks: a worker whose engine died writes what it holds, and exits."""
    with _WORKER.lock:
        if _WORKER.parent_gone or os.getppid() != _WORKER.parent:
            journals.flush()
            os._exit(0)


class LedgerChunk:
    """Local pool tasks, of one action or of several, sent to a worker as one pool
    submission; each runs at most once across engine restarts (see :class:`TaskLedger`).

    Each task is still claimed, recorded and failed on its own in its action's journal (one
    task's exception never touches the others' results). A task whose action was canceled
    (or released) before it started does not run. ``recovering`` (per task): an earlier
    engine began its action, so the task may already have run, be running in an orphaned
    worker, or have died with its worker.

    A worker whose engine died finishes the task it is running, records its result and
    exits before the next one.
    """

    def __init__(self, root: str, tasks: list[tuple[str, bool, str, t.Callable, tuple, dict]]):
        self.root = root
        self.tasks = tasks  # (action id, recovering, task id, function, args, kwargs)

    def __call__(self) -> list[tuple[t.Any, dict | None]]:
        """(output, None) or (None, error) for each task, in order."""
        ledger = TaskLedger(root=self.root)
        journals = _Journals(ledger)
        outcomes: list[tuple[t.Any, dict | None]] = []
        with _WORKER.lock:  # from here on, an orphaned worker finishes before it exits
            if _WORKER.parent_gone or os.getppid() != _WORKER.parent:
                os._exit(0)
            _WORKER.recording = True
        try:
            for action_id, recovering, task_id, func, args, kwargs in self.tasks:
                _exit_if_orphaned(journals)
                fd = journals.open(action_id)
                # canceled, or released (then the mark is gone, after the journal: see
                # TaskLedger.forget, so one of the two looks, in this order, sees it)
                if fd is None or ledger.canceled(action_id) or os.fstat(fd).st_nlink == 0:
                    outcomes.append((None, CANCELED_ERROR))
                    continue
                try:
                    if recovering:
                        outcomes.append((self._recover(journals, fd, action_id, task_id, func,
                                                       args, kwargs), None))
                    else:
                        outcomes.append((self._run(journals, fd, action_id, task_id, func,
                                                   args, kwargs), None))
                except RecordedTaskError as error:
                    outcomes.append((None, error.error))
        finally:
            journals.close()
            with _WORKER.lock:
                _WORKER.recording = False
                if _WORKER.parent_gone:
                    os._exit(0)
        return outcomes

    def _recover(self, journals: _Journals, fd: int, action_id: str, task_id: str,
                 func: t.Callable, args: tuple, kwargs: dict) -> t.Any:
        """A task of an action an earlier engine began: its recorded result if it has one;
        the result of the worker still running it; else it runs now."""
        journals.flush()
        claimant, result = journals.ledger.find(action_id, task_id)
        if result is not None:
            return recorded_output(result)
        if claimant is None:
            return self._run(journals, fd, action_id, task_id, func, args, kwargs)
        with _WORKER.lock:  # only waiting: nothing to keep if the engine dies
            _WORKER.recording = False
            if _WORKER.parent_gone:
                os._exit(0)
        try:
            return journals.ledger.wait(action_id, task_id)
        finally:
            with _WORKER.lock:
                if _WORKER.parent_gone:
                    os._exit(0)
                _WORKER.recording = True

    def _run(self, journals: _Journals, fd: int, action_id: str, task_id: str,
             func: t.Callable, args: tuple, kwargs: dict) -> t.Any:
        journals.write(fd, f'\n{{"task": "{task_id}", "pid": {os.getpid()}}}\n')  # the claim
        try:  # from the claim on, a stop signal (or the mark below) ends it as stopped
            _WORKER.running = mark = journals.ledger.cancel_mark(action_id)
            # A cancel writes the mark, then signals the workers of the tasks claimed: one
            # that came between this worker's look at the mark and its claim signalled no
            # one, so the mark is looked at again once the claim is written.
            if os.path.exists(mark):
                raise TaskStopped()
            output = json_output(func(*args, **kwargs), function_name(func))
        except TaskStopped:
            journals.write(fd, _line({"task": task_id, "error": _STOPPED}))
            raise RecordedTaskError(_STOPPED) from None
        except Exception as exc:
            error = describe_failure(exc)
            journals.write(fd, _line({"task": task_id, "error": error}), hold=True)
            raise RecordedTaskError(error) from None
        except BaseException:  # KeyboardInterrupt...: it never finished, it may run again
            journals.write(fd, _line({"task": task_id, "aborted": True}))
            raise
        finally:
            _WORKER.running = None
        journals.write(fd, _line({"task": task_id, "output": output}), hold=True)
        return output
