"""The Globus Compute action provider, run locally through ``concurrent.futures``.

Answers ``https://compute.actions.globus.org`` (v2 bodies: ``endpoint``/``function`` with
``args``/``kwargs``/``payload`` at the top level and/or in ``tasks``), ``.../v3``
(``endpoint_id`` + ``tasks`` of ``function_id``/``args``/``kwargs``) and ``.../fxap``.
Each task goes to the Executor given for its endpoint id (one submission per task), else
to one shared local process pool. Completion comes from future callbacks, never from
polling. With a result store, local pool tasks go to the workers in chunks of up to
:data:`CHUNK_MAX` tasks (one pool submission per chunk, so a thousand small tasks cost less
than ``ProcessPoolExecutor.map``); each task of a chunk is still claimed, recorded and
failed on its own. ``cancel`` drops the tasks not yet started, those of chunks already
sent to a worker too; the task a worker is running finishes.

Output as the service's: ``details.result`` is the list of return values and
``details.results[i]`` is ``{"task_id", "output"}``. A task that raises makes the action
FAILED; ``details`` then names the exception and carries its traceback text.

Crashes: with a result store (the engine's database), tasks of the local process pool go
through a :class:`TaskLedger`. The worker claims a task before running it and records
its result itself, and a worker whose engine died finishes the task it is running (so
its result is kept) and then exits; idle orphaned workers exit at once. A resumed engine
submits the same tasks again: a task already claimed is not run a second time, its new
worker waits for the recorded result instead. A task whose worker vanished without a
result (the worker itself was killed) is not re-run, since it may have had side effects:
it fails with ``TaskInterrupted``. So each task runs at most once, and a lost run is
reported, never silently repeated. A resumed engine that lacks a task's function (``gladier
resume`` registers none) answers from the ledger when every such task has a result, and
otherwise leaves the action INACTIVE for a resume from a process that registers it.
"""

from __future__ import annotations

import concurrent.futures as cf
import functools
import json
import logging
import math
import os
import shutil
import signal
import sys
import threading
import time
import traceback
import typing as t
from concurrent.futures.process import BrokenProcessPool

from gladier.engine.providers.actions import (
    ActionTable,
    ResultStore,
    bad_request,
    body_fingerprint,
    check_request,
)
from gladier.engine.providers.base import FAILED, INACTIVE, SUCCEEDED, TERMINAL
from gladier.engine.providers.functions import LOCAL_ENDPOINT_ID, FunctionRegistry
from gladier.exc import ActionProviderError
from gladier.forksafe import PROCESS_START_LOCK

log = logging.getLogger(__name__)


class ComputeTask(t.NamedTuple):
    endpoint: str
    function_id: str
    args: tuple
    kwargs: dict


def _decode(value: t.Any, where: str, key: str) -> t.Any:
    """v2 bodies may carry ``args``/``kwargs`` as JSON text."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            raise bad_request(
                f"{where}.{key} is a string but not valid JSON: {value[:80]!r}"
            ) from None
    return value


def _parse_task(task: dict, where: str, default_endpoint: t.Any) -> ComputeTask:
    endpoint = task.get("endpoint_id", task.get("endpoint", default_endpoint))
    if not isinstance(endpoint, str) or not endpoint:
        raise bad_request(f"{where} names no compute endpoint ('endpoint_id' or 'endpoint')")
    function_id = task.get("function_id", task.get("function", task.get("func")))
    if not isinstance(function_id, str) or not function_id:
        raise bad_request(f"{where} names no function ('function_id' or 'function')")
    args = _decode(task.get("args", []), where, "args")
    if args is None:
        args = []
    if not isinstance(args, list):
        raise bad_request(f"{where}.args must be a list, not {type(args).__name__}")
    kwargs = _decode(task.get("kwargs"), where, "kwargs")
    payload = _decode(task.get("payload"), where, "payload")
    if kwargs is None and isinstance(payload, dict):
        kwargs = payload
    elif payload is not None:
        args = args + [payload]  # a non-object payload is the function's one argument
    if kwargs is None:
        kwargs = {}
    if not isinstance(kwargs, dict):
        raise bad_request(f"{where}.kwargs must be an object, not {type(kwargs).__name__}")
    return ComputeTask(endpoint, function_id, tuple(args), kwargs)


def parse_tasks(body: dict) -> list[ComputeTask]:
    """The tasks of a v2 or v3 Compute action body, in order (400 on a malformed body)."""
    default_endpoint = body.get("endpoint_id", body.get("endpoint"))
    entries: list[tuple[str, t.Any]] = []
    if any(key in body for key in ("function", "function_id", "func")):
        entries.append(("body", body))
    if "tasks" in body:
        tasks = body["tasks"]
        if not isinstance(tasks, list) or not tasks:
            raise bad_request("'tasks' must be a non-empty list of task objects")
        entries.extend((f"tasks[{i}]", task) for i, task in enumerate(tasks))
    if not entries:
        raise bad_request("A Compute action needs 'tasks' (a list) or a top-level 'function'")
    for where, task in entries:
        if not isinstance(task, dict):
            raise bad_request(f"{where} must be an object, not {type(task).__name__}")
    return [_parse_task(task, where, default_endpoint) for where, task in entries]


_JSON_SCALARS = (str, int, float, bool, type(None))


def _jsonable(value: t.Any, function: str) -> t.Any:
    """A task's output as JSON data (tuples become lists), for the run state.

    The Globus Compute action provider documents only that each result's ``output`` is
    "the result from that run", inside a JSON action status (globus-compute
    docs/actionprovider.rst, "Action Output"); it says nothing of values JSON cannot hold.
    So no value is guessed at (no ``repr``): a ``datetime``, a ``set``, bytes, any other
    object, NaN or infinity fails the task with a TypeError naming ``function`` and the
    value's type, which the function can then convert itself.
    """
    if type(value) in _JSON_SCALARS and not (isinstance(value, float)
                                             and not math.isfinite(value)):
        return value

    def refuse(item: t.Any) -> t.NoReturn:
        kind = type(item)
        name = kind.__qualname__ if kind.__module__ == "builtins" else \
            f"{kind.__module__}.{kind.__qualname__}"
        raise TypeError(
            f"{function} returned {'a value holding ' if item is not value else ''}a {name} "
            f"({item!r:.80}), which is not JSON data: return str, int, float, bool, None, "
            "lists and dicts (e.g. value.isoformat() for a datetime, sorted(value) for a "
            "set)")

    try:
        return json.loads(json.dumps(value, default=refuse, allow_nan=False))
    except ValueError:
        raise TypeError(f"{function} returned NaN or infinity ({value!r:.80}), which is "
                        "not JSON data") from None


def _function_name(func_or_registry: t.Any, function_id: str | None = None) -> str:
    """``Compute function 'name'`` (with its id, when known), for error messages."""
    func = func_or_registry
    if function_id is not None:
        try:
            func = func_or_registry.get(function_id)
        except Exception:  # not registered here (a remote executor's function)
            return f"Compute function {function_id}"
    name = getattr(func, "__name__", None) or repr(func)
    return f"Compute function '{name}'" + (f" ({function_id})" if function_id else "")


def task_ids(action_id: str, count: int) -> list[str]:
    """Ids for the tasks of an action: stable across restarts (the ledger finds a task by
    its id) and distinct within the action. The action id with its last 48 bits (the
    UUID's node field) advanced by the task's position plus one."""
    prefix, node = action_id[:24], int(action_id[24:], 16)
    return [f"{prefix}{(node + i) & 0xFFFFFFFFFFFF:012x}" for i in range(1, count + 1)]


def _describe(exc: BaseException) -> dict:
    return {
        "exception": type(exc).__name__,
        "message": str(exc),
        "traceback": "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)),
    }


_CANCELED = {"exception": "CancelledError", "message": "canceled", "traceback": ""}


class RecordedTaskError(Exception):
    """A task failure read back from the ledger (its ``error`` is the described failure)."""

    def __init__(self, error: dict):
        super().__init__(error)
        self.error = error


def _process_running(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie waiting to be reaped counts as dead)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    if sys.platform.startswith("linux"):
        try:
            with open(f"/proc/{pid}/stat") as stat:
                return stat.read().rpartition(")")[2].split()[0] != "Z"
        except (OSError, IndexError):
            return False
    return True


def _private_directory(root: str, action_id: str) -> None:
    """The ledger's directory and the action's in it, owner-only (tasks' results are private
    run data): ``makedirs`` gives its mode to the last directory only."""
    os.makedirs(root, mode=0o700, exist_ok=True)
    os.makedirs(os.path.join(root, action_id), mode=0o700, exist_ok=True)


class TaskLedger:
    """Which worker ran each local pool task of an action, and its result, beside the
    engine database: ``<db>-compute-tasks/<action_id>/<worker pid>.jsonl``.

    Each worker appends to its own journal: a ``{"task", "pid"}`` line before it runs a
    task, a ``{"task", "output"}`` or ``{"task", "error"}`` line after. Appending a line
    costs one ``write``, so every task can afford it; a single small ``write`` is never
    torn by a killed process. Plain files, not SQLite, because pool workers are forked from
    a threaded engine: a lock another thread held at fork time (SQLite's among them) would
    never be released in the worker.
    """

    POLL_SECONDS = (0.02, 0.5)  # first and longest wait between looks at a claimed task
    #: Written by ``cancel``; a worker looks for it before each task of a chunk.
    CANCELED = "canceled"

    def __init__(self, db_path: str | None = None, *, root: str | None = None):
        """The ledger of the engine database ``db_path`` (or the ledger directory ``root``)."""
        self.root = root if root is not None else f"{db_path}-compute-tasks"

    def begin(self, action_id: str) -> None:
        """Note that this engine accepted the action (before any of its tasks runs)."""
        _private_directory(self.root, action_id)

    def cancel(self, action_id: str) -> None:
        """Stop workers from starting more tasks of the action (a mark, not a file removed
        from ``begin``, so that accepting an action creates nothing but its directory)."""
        try:
            os.close(os.open(os.path.join(self.root, action_id, self.CANCELED),
                             os.O_WRONLY | os.O_CREAT, 0o600))
        except FileNotFoundError:
            pass  # released already

    def started_before(self, action_id: str) -> bool:
        """Whether an engine, maybe one that died, accepted the action before."""
        return os.path.isdir(os.path.join(self.root, action_id))

    def forget(self, action_id: str) -> None:
        shutil.rmtree(os.path.join(self.root, action_id), ignore_errors=True)

    def unfinished(self, action_id: str) -> dict[str, int]:
        """The tasks of the action a worker began and has not finished: task id -> pid."""
        claims: dict[str, int] = {}
        for entry in self._entries(action_id):
            task = entry.get("task")
            if "pid" in entry:
                claims[task] = entry["pid"]
            else:
                claims.pop(task, None)
        return claims

    def mark_aborted(self, action_id: str, task_ids: t.Iterable[str]) -> None:
        """Note tasks sent to another executor as stopped by an interrupt of this engine (in
        the engine's own journal): a resume sends them again."""
        path = os.path.join(self.root, action_id, f"engine-{os.getpid()}.jsonl")
        lines = "".join(json.dumps({"task": task, "aborted": True}) + "\n"
                        for task in task_ids)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, lines.encode())
        finally:
            os.close(fd)

    def aborted(self, action_id: str, task_id: str) -> bool:
        """Whether an interrupted engine noted the task as stopped (see mark_aborted)."""
        return any(entry.get("task") == task_id and entry.get("aborted")
                   for entry in self._entries(action_id))

    def abort_unfinished(self, action_id: str, pids: t.Collection[int]) -> None:
        """Note the tasks that the (killed) workers ``pids`` began but did not finish as
        aborted, in each worker's own journal (after its claim): they may run again."""
        for task, pid in self.unfinished(action_id).items():
            if pid in pids:
                path = os.path.join(self.root, action_id, f"{pid}.jsonl")
                fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
                try:
                    os.write(fd, (json.dumps({"task": task, "aborted": True}) + "\n").encode())
                finally:
                    os.close(fd)

    # -- in the worker processes --------------------------------------------------------

    def record(self, action_id: str, entry: dict) -> None:
        """Append one line to this worker's journal of the action."""
        line = (json.dumps(entry) + "\n").encode()
        os.write(_JOURNAL.fd_for(self.root, action_id), line)

    def claim(self, action_id: str, task_id: str) -> None:
        """Append the line saying this worker begins the task (task ids are UUID text,
        so the line is built without a JSON encoder: this is paid for every task)."""
        line = f'{{"task": "{task_id}", "pid": {os.getpid()}}}\n'.encode()
        os.write(_JOURNAL.fd_for(self.root, action_id), line)

    def _entries(self, action_id: str) -> t.Iterator[dict]:
        """Every line the workers wrote for the action."""
        directory = os.path.join(self.root, action_id)
        try:
            names = os.listdir(directory)
        except FileNotFoundError:
            return
        for name in names:
            if not name.endswith(".jsonl"):
                continue
            with open(os.path.join(directory, name), "rb") as stream:
                for line in stream:
                    try:
                        yield json.loads(line)
                    except ValueError:
                        continue  # cannot happen for whole lines; be lenient anyway

    def find(self, action_id: str, task_id: str) -> tuple[int | None, dict | None]:
        """(pid of the worker that began the task, its recorded result), each maybe None."""
        claimant, result = None, None
        for entry in self._entries(action_id):
            if entry.get("task") != task_id:
                continue
            if "pid" in entry:
                claimant = entry["pid"]
            elif entry.get("aborted"):
                claimant = None
            else:
                result = entry
        return claimant, result

    def results(self, action_id: str) -> dict[str, dict]:
        """The recorded result of each task of the action that has one, by task id."""
        return {str(entry.get("task")): entry for entry in self._entries(action_id)
                if "pid" not in entry and not entry.get("aborted")}

    def wait(self, action_id: str, task_id: str) -> t.Any:
        """The recorded output of a task another worker began (RecordedTaskError if it
        failed or its worker died without a result)."""
        delay = self.POLL_SECONDS[0]
        while True:
            claimant, result = self.find(action_id, task_id)
            if result is not None:
                return _recorded(result)
            if claimant is None:
                raise RecordedTaskError(_interrupted("it was interrupted"))
            if not _process_running(claimant):
                if self.find(action_id, task_id)[1] is None:  # not finished just now
                    raise RecordedTaskError(_interrupted(f"its worker process {claimant} died"))
                continue
            time.sleep(delay)
            delay = min(delay * 2, self.POLL_SECONDS[1])


def _recorded(result: dict) -> t.Any:
    if result.get("error"):
        raise RecordedTaskError(result["error"])
    return result.get("output")


def _finished(result: dict) -> cf.Future:
    """A done future holding a result read from the ledger."""
    future: cf.Future = cf.Future()
    try:
        future.set_result(_recorded(result))
    except RecordedTaskError as error:
        future.set_exception(error)
    return future


def _outcome(result: dict) -> tuple[t.Any, dict | None]:
    """(output, None) or (None, error) of a result read from the ledger."""
    try:
        return _recorded(result), None
    except RecordedTaskError as error:
        return None, error.error


def _failure(future: cf.Future) -> dict | None:
    """The described failure of a done future (None if it has a result)."""
    if future.cancelled():
        return _CANCELED
    failure = future.exception()
    if isinstance(failure, RecordedTaskError):
        return failure.error
    return None if failure is None else _describe(failure)


class _PoolTask(t.NamedTuple):
    """A task for the local process pool."""

    func: t.Callable
    args: tuple
    kwargs: dict


class _Unregistered(Exception):
    """A resumed action still needs a function this process has not registered."""

    def __init__(self, function_id: str):
        super().__init__(function_id)
        self.function_id = function_id


class _Journal:
    """This worker's open journal file (one action at a time; batches are contiguous)."""

    def __init__(self) -> None:
        self.opened: tuple[str, str] | None = None  # (ledger root, action id)
        self.fd: int | None = None

    def fd_for(self, root: str, action_id: str) -> int:
        if self.fd is None or self.opened != (root, action_id):
            if self.fd is not None:
                os.close(self.fd)
                self.fd = None
            directory = os.path.join(root, action_id)
            _private_directory(root, action_id)
            path = os.path.join(directory, f"{os.getpid()}.jsonl")
            self.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            self.opened = (root, action_id)
        return self.fd


_JOURNAL = _Journal()


def _interrupted(why: str) -> dict:
    return {
        "exception": "TaskInterrupted",
        "message": (
            f"The task started before the engine stopped but never finished ({why}); it is "
            "not run again automatically because it may have had side effects"
        ),
        "traceback": "",
    }


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


def _watch_parent(engine_pid: int) -> None:
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
        while os.getppid() == parent and _process_running(engine_pid):
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
                    return _recorded(result)
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
            output = _jsonable(self.func(*args, **kwargs), _function_name(self.func))
        except TaskStopped:
            self.ledger.record(self.action_id, {"task": self.task_id, "error": _STOPPED})
            raise RecordedTaskError(_STOPPED) from None
        except Exception as exc:
            error = _describe(exc)
            self.ledger.record(self.action_id, {"task": self.task_id, "error": error})
            raise RecordedTaskError(error) from None
        except BaseException:  # KeyboardInterrupt...: it never finished, it may run again
            self.ledger.record(self.action_id, {"task": self.task_id, "aborted": True})
            raise
        finally:
            _WORKER.running = None
        self.ledger.record(self.action_id, {"task": self.task_id, "output": output})
        return output


#: Local pool tasks go to workers in chunks of about n / (workers * CHUNKS_PER_WORKER)
#: tasks, at most CHUNK_MAX: one pool submission per chunk instead of per task.
CHUNKS_PER_WORKER = 16
CHUNK_MAX = 32


def chunk_size(tasks: int, workers: int) -> int:
    """Tasks per chunk: big enough to save the pool's per-task cost, small enough that
    every worker gets many chunks (load balance)."""
    return max(1, min(CHUNK_MAX, tasks // (workers * CHUNKS_PER_WORKER)))


class _LedgerChunk:
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
                outcomes.append((None, _CANCELED))
                continue
            task = _LedgerTask(func, ledger, task_id, self.action_id, self.recovering)
            try:
                outcomes.append((task(*args, **kwargs), None))
            except RecordedTaskError as error:
                outcomes.append((None, error.error))
            except BaseException as exc:  # the pool would have sent it back for this task
                outcomes.append((None, _describe(exc)))
        return outcomes


class _Batch:
    """The futures of one action and what they returned so far."""

    def __init__(self, action_id: str, tasks: list[ComputeTask]):
        self.action_id = action_id
        self.tasks = tasks
        self.task_ids = task_ids(action_id, len(tasks))
        self.outputs: list[t.Any] = [None] * len(tasks)
        self.errors: dict[int, dict] = {}
        self.remaining = len(tasks)
        self.futures: list[cf.Future] = []
        self.lock = threading.Lock()


class ComputeProvider:
    """Runs Compute actions on local or given ``concurrent.futures`` executors.

    ``executors`` maps endpoint ids to Executors (a ``globus_compute_sdk.Executor``, a Dask
    ``Client.get_executor()``, a thread pool...). Other endpoint ids, and
    :data:`LOCAL_ENDPOINT_ID`, use a process pool created on first use, unless ``strict``.
    """

    def __init__(
        self,
        *,
        functions: FunctionRegistry,
        executors: t.Mapping[str, cf.Executor] | None = None,
        store: ResultStore | None = None,
        strict: bool = False,
        max_workers: int | None = None,
    ):
        self.functions = functions
        self.executors = dict(executors or {})
        self.strict = strict
        self.max_workers = max_workers
        self._actions = ActionTable("compute", store=store)
        self._ledger = (
            TaskLedger(store.path) if store is not None and store.path != ":memory:" else None
        )
        self._batches: dict[str, _Batch] = {}
        self._pool: cf.ProcessPoolExecutor | None = None
        self._pool_lock = threading.Lock()
        self._interrupted = False

    # -- the provider protocol ------------------------------------------------------------

    def run(self, request: dict) -> dict:
        request_id, body = check_request(request)
        fingerprint = body_fingerprint(body)
        found = self._actions.existing(request, fingerprint=fingerprint)
        if found is not None:
            return found
        tasks = parse_tasks(body)
        action_id = self._actions.action_id_for(request_id)
        recovering = self._ledger is not None and self._ledger.started_before(action_id)
        batch = _Batch(action_id, tasks)
        try:
            submits = [self._submitter(task, f"task {i}", action_id, batch.task_ids[i],
                                       recovering) for i, task in enumerate(tasks)]
        except _Unregistered as missing:
            return self._wait_for_function(request, fingerprint, missing.function_id)
        document, created = self._actions.start(
            request, display_status=f"Running {len(tasks)} task(s)",
            checked_fingerprint=fingerprint,
        )
        if not created:
            return document
        self._batches[batch.action_id] = batch
        if self._ledger is not None:
            self._ledger.begin(action_id)
        chunked = []  # local pool tasks with a ledger go in chunks, the others one by one
        for index, submit in enumerate(submits):
            if isinstance(submit, _PoolTask):
                if self._ledger is not None:
                    chunked.append(index)
                    continue
                submit = functools.partial(self._submit_to_pool, submit.func, *submit.args,
                                           **submit.kwargs)
            self._follow(submit, functools.partial(self._task_done, batch, index), batch)
        size = chunk_size(len(chunked), self.max_workers or os.cpu_count() or 1)
        for start in range(0, len(chunked), size):
            indices = chunked[start:start + size]
            assert self._ledger is not None
            pool_tasks = [t.cast(_PoolTask, submits[i]) for i in indices]  # chunked: pool tasks
            chunk = _LedgerChunk(self._ledger.root, action_id, recovering, [
                (batch.task_ids[i], task.func, task.args, task.kwargs)
                for i, task in zip(indices, pool_tasks)])
            self._follow(functools.partial(self._submit_to_pool, chunk),
                         functools.partial(self._chunk_done, batch, indices), batch)
        return self._actions.get(batch.action_id)

    def _follow(self, submit: t.Callable[[], cf.Future],
                done: t.Callable[[cf.Future], None], batch: _Batch) -> None:
        """Submit, and call ``done`` with the future once it is done (at once if the
        submission itself failed)."""
        try:
            future = submit()
        except Exception as exc:
            future = cf.Future()
            future.set_exception(exc)
        batch.futures.append(future)
        future.add_done_callback(done)

    def _wait_for_function(self, request: dict, fingerprint: str, function_id: str) -> dict:
        """The action an earlier engine began is left INACTIVE, not failed: its tasks may
        have finished, and a resume from a process that registers the function ends it."""
        reason = (
            f"Compute function '{function_id}' is not registered in this process; resume "
            "from a process that registers it (LocalEngine.register_function)"
        )
        log.warning("gladier compute: request %s waits: %s", request["request_id"], reason)
        document, _ = self._actions.start(
            request, status=INACTIVE, display_status="Waiting for a function",
            details={"code": "FunctionNotRegistered", "description": reason},
            checked_fingerprint=fingerprint,
        )
        return document

    def status(self, action_id: str) -> dict:
        return self._actions.get(action_id)

    def cancel(self, action_id: str) -> dict:
        document = self._actions.get(action_id)
        if document["status"] in TERMINAL:
            return document
        batch = self._batches.pop(action_id, None)
        if self._ledger is not None:
            self._ledger.cancel(action_id)  # tasks of chunks already sent do not start
            self._stop_running(action_id)
        for future in batch.futures if batch else ():
            future.cancel()
        self._actions.finish(
            action_id,
            FAILED,
            {
                "code": "ActionCanceled",
                "description": "The action was canceled; tasks not yet started were dropped",
            },
            display_status="Canceled",
        )
        return self._actions.get(action_id)

    def _stop_running(self, action_id: str) -> None:
        """Stop the tasks of a canceled action that workers are running: the task is
        interrupted in its worker (:data:`STOP_SIGNAL`); a worker whose task has not
        ended after :data:`STOP_GRACE_SECONDS` is killed (the pool is then replaced)."""
        assert self._ledger is not None
        running = self._ledger.unfinished(action_id)
        for pid in set(running.values()):
            try:
                os.kill(pid, STOP_SIGNAL)
            except ProcessLookupError:
                pass

        def kill_stuck() -> None:
            assert self._ledger is not None
            still = self._ledger.unfinished(action_id)
            for task, pid in running.items():
                if still.get(task) == pid and _process_running(pid):
                    log.warning("gladier compute: task %s of canceled action %s did not stop; "
                                "killing its worker %d", task, action_id, pid)
                    os.kill(pid, signal.SIGKILL)

        if running:
            timer = threading.Timer(STOP_GRACE_SECONDS, kill_stuck)
            timer.daemon = True
            timer.start()

    def release(self, action_id: str) -> dict:
        document = self._actions.release(action_id)
        if self._ledger is not None:
            self._ledger.forget(action_id)
        return document

    def add_done_callback(self, action_id: str, callback: t.Callable[[dict], None]) -> None:
        self._actions.add_done_callback(action_id, callback)

    def interrupt(self) -> None:
        """The engine was interrupted: kill the local pool's workers now, and note each task
        they had begun as aborted in the ledger so that a resume runs it again from its
        start. No action is finished (failed): each stays as the engine journaled it."""
        self._interrupted = True
        if self._ledger is not None:
            for action_id, batch in list(self._batches.items()):
                external = [batch.task_ids[i] for i, task in enumerate(batch.tasks)
                            if task.endpoint in self.executors]
                if external:
                    self._ledger.mark_aborted(action_id, external)
        with self._pool_lock:
            pool, self._pool = self._pool, None
        if pool is None:
            return
        workers = list(getattr(pool, "_processes", {}).values())  # no public accessor
        for worker in workers:
            worker.kill()
        for worker in workers:
            worker.join(5)
        if self._ledger is not None:
            pids = {worker.pid for worker in workers}
            for action_id in list(self._batches):
                self._ledger.abort_unfinished(action_id, pids)
        pool.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        """Stop the local process pool (executors given by the caller are theirs to close)."""
        with self._pool_lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)

    # -- running tasks --------------------------------------------------------------------

    def _submitter(
        self, task: ComputeTask, where: str, action_id: str, task_id: str, recovering: bool
    ) -> _PoolTask | t.Callable[[], cf.Future]:
        """How to submit one task, decided before anything runs so a bad request runs
        nothing: a :class:`_PoolTask` for the local pool, else a call returning its future.
        After a crash, a task whose function this process lacks is answered from the
        ledger when its worker recorded a result (:class:`_Unregistered` if not)."""
        try:
            submit = self._submitter_for(task, where)
        except ActionProviderError as exc:
            unknown = isinstance(exc.body, dict) and exc.body.get("code") == "FunctionNotFound"
            if not (recovering and unknown):
                raise
        else:
            if not recovering or isinstance(submit, _PoolTask):
                return submit
            assert self._ledger is not None  # recovering needs one
            if self._ledger.aborted(action_id, task_id):  # interrupted: consent to rerun
                return submit
            # sent to another executor by an engine that crashed: it cannot be found again
            interrupted = {"task": task_id, "error": _interrupted(
                "it went to an executor that cannot be asked about tasks another engine "
                "process submitted")}
            return lambda: _finished(interrupted)
        assert self._ledger is not None  # recovering needs one
        _, result = self._ledger.find(action_id, task_id)
        if result is None:
            raise _Unregistered(task.function_id)
        return lambda: _finished(result)

    def _submitter_for(
        self, task: ComputeTask, where: str
    ) -> _PoolTask | t.Callable[[], cf.Future]:
        executor = self.executors.get(task.endpoint)
        if executor is None:
            if self.strict and task.endpoint != LOCAL_ENDPOINT_ID:
                raise bad_request(
                    f"No executor is configured for compute endpoint '{task.endpoint}' ({where}); "
                    f"give one in executors= or use the local endpoint {LOCAL_ENDPOINT_ID}"
                )
            return _PoolTask(self.functions.get_portable(task.function_id), task.args,
                             task.kwargs)
        if task.function_id not in self.functions and hasattr(
            executor, "submit_to_registered_function"
        ):
            return functools.partial(
                executor.submit_to_registered_function,
                task.function_id,
                args=task.args,
                kwargs=task.kwargs,
            )
        if isinstance(executor, cf.ProcessPoolExecutor):
            func = self.functions.get_portable(task.function_id)
        else:
            func = self.functions.get(task.function_id)
        return functools.partial(executor.submit, func, *task.args, **task.kwargs)

    def _local_pool(self) -> cf.ProcessPoolExecutor:
        with self._pool_lock:
            if self._pool is None:
                pool = cf.ProcessPoolExecutor(max_workers=self.max_workers,
                                              initializer=_watch_parent,
                                              initargs=(os.getpid(),))
                with PROCESS_START_LOCK:  # a pool forks every worker at its first submit
                    pool.submit(int)
                self._pool = pool
            return self._pool

    def _submit_to_pool(self, func: t.Callable, *args: t.Any, **kwargs: t.Any) -> cf.Future:
        pool = self._local_pool()
        try:
            return pool.submit(func, *args, **kwargs)
        except BrokenProcessPool:  # a worker died (killed, out of memory): start a new pool
            with self._pool_lock:
                if self._pool is pool:
                    self._pool = None
            pool.shutdown(wait=False)
            return self._local_pool().submit(func, *args, **kwargs)

    def _task_done(self, batch: _Batch, index: int, future: cf.Future) -> None:
        error = _failure(future)
        output = None
        if error is None:
            try:
                output = _jsonable(future.result(), _function_name(
                    self.functions, batch.tasks[index].function_id))
            except (TypeError, ValueError) as exc:
                error = _describe(exc)
        self._settle(batch, [(index, output, error)])

    def _chunk_done(self, batch: _Batch, indices: list[int], future: cf.Future) -> None:
        error = _failure(future)
        if error is None:
            outcomes = future.result()
        else:  # the chunk as a whole (a worker died...): its recorded results still count
            assert self._ledger is not None  # chunks are ledger tasks
            recorded = self._ledger.results(batch.action_id)
            outcomes = [_outcome(recorded[batch.task_ids[i]]) if batch.task_ids[i] in recorded
                        else (None, error) for i in indices]
        self._settle(batch, [(index, output, task_error)
                             for index, (output, task_error) in zip(indices, outcomes)])

    def _settle(self, batch: _Batch, outcomes: list[tuple[int, t.Any, dict | None]]) -> None:
        """Keep each task's (index, output, error); complete the action after the last."""
        with batch.lock:
            for index, output, error in outcomes:
                if error is None:
                    batch.outputs[index] = output
                else:
                    batch.errors[index] = error
            batch.remaining -= len(outcomes)
            last = batch.remaining == 0
        if last:
            self._complete(batch)

    def _complete(self, batch: _Batch) -> None:
        if self._interrupted:  # its tasks were stopped, not failed: a resume runs them
            return
        self._batches.pop(batch.action_id, None)
        results = []
        for index, task_id in enumerate(batch.task_ids):
            entry = {"task_id": task_id, "output": batch.outputs[index]}
            if index in batch.errors:
                entry.update(batch.errors[index])
            results.append(entry)
        details: dict[str, t.Any] = {
            "task_group_id": batch.action_id,
            "result": list(batch.outputs),
            "results": results,
        }
        if not batch.errors:
            self._actions.finish(batch.action_id, SUCCEEDED, details)
            return
        first = min(batch.errors)
        error = batch.errors[first]
        details.update(
            code="TaskExecutionFailed",
            description=(
                f"Task {first} of {len(batch.tasks)} (function {batch.tasks[first].function_id}) "
                f"raised {error['exception']}: {error['message']}"
            ),
            **error,
        )
        self._actions.finish(batch.action_id, FAILED, details, display_status="Task failed")
