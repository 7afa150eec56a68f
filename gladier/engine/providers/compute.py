"""The Globus Compute action provider, run locally through ``concurrent.futures``.

Answers ``https://compute.actions.globus.org`` (v2 bodies: ``endpoint``/``function`` with
``args``/``kwargs``/``payload`` at the top level and/or in ``tasks``), ``.../v3``
(``endpoint_id`` + ``tasks`` of ``function_id``/``args``/``kwargs``) and ``.../fxap``.
Each task goes to the Executor given for its endpoint id, else to one shared local
process pool. Completion comes from future callbacks, never from polling, so a thousand
small tasks cost little more than ``ProcessPoolExecutor.map``.

Output as the service's: ``details.result`` is the list of return values and
``details.results[i]`` is ``{"task_id", "output"}``. A task that raises makes the action
FAILED; ``details`` then names the exception and carries its traceback text.
"""

from __future__ import annotations

import concurrent.futures as cf
import functools
import json
import threading
import traceback
import typing as t
import uuid
from concurrent.futures.process import BrokenProcessPool

from gladier.engine.providers.actions import ActionTable, ResultStore, bad_request, check_request
from gladier.engine.providers.base import FAILED, SUCCEEDED, TERMINAL
from gladier.engine.providers.functions import LOCAL_ENDPOINT_ID, FunctionRegistry


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


def _jsonable(value: t.Any) -> t.Any:
    """Task outputs go into the run state, so they must be JSON (tuples become lists)."""
    return json.loads(json.dumps(value, default=repr))


def _describe(exc: BaseException) -> dict:
    return {
        "exception": type(exc).__name__,
        "message": str(exc),
        "traceback": "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)),
    }


class _Batch:
    """The futures of one action and what they returned so far."""

    def __init__(self, action_id: str, tasks: list[ComputeTask]):
        self.action_id = action_id
        self.tasks = tasks
        self.task_ids = [str(uuid.uuid5(uuid.UUID(action_id), str(i))) for i in range(len(tasks))]
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
        self._batches: dict[str, _Batch] = {}
        self._pool: cf.ProcessPoolExecutor | None = None
        self._pool_lock = threading.Lock()

    # -- the provider protocol ------------------------------------------------------------

    def run(self, request: dict) -> dict:
        found = self._actions.existing(request)
        if found is not None:
            return found
        _, body = check_request(request)
        tasks = parse_tasks(body)
        submits = [self._submitter(task, f"task {i}") for i, task in enumerate(tasks)]
        document, created = self._actions.start(
            request, display_status=f"Running {len(tasks)} task(s)"
        )
        if not created:
            return document
        batch = _Batch(document["action_id"], tasks)
        self._batches[batch.action_id] = batch
        for index, submit in enumerate(submits):
            try:
                future = submit()
            except Exception as exc:
                future = cf.Future()
                future.set_exception(exc)
            batch.futures.append(future)
            future.add_done_callback(functools.partial(self._task_done, batch, index))
        return self._actions.get(batch.action_id)

    def status(self, action_id: str) -> dict:
        return self._actions.get(action_id)

    def cancel(self, action_id: str) -> dict:
        document = self._actions.get(action_id)
        if document["status"] in TERMINAL:
            return document
        batch = self._batches.pop(action_id, None)
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

    def release(self, action_id: str) -> dict:
        return self._actions.release(action_id)

    def add_done_callback(self, action_id: str, callback: t.Callable[[dict], None]) -> None:
        self._actions.add_done_callback(action_id, callback)

    def close(self) -> None:
        """Stop the local process pool (executors given by the caller are theirs to close)."""
        with self._pool_lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)

    # -- running tasks --------------------------------------------------------------------

    def _submitter(self, task: ComputeTask, where: str) -> t.Callable[[], cf.Future]:
        """How to submit one task, decided before anything runs so a bad request runs nothing."""
        executor = self.executors.get(task.endpoint)
        if executor is None:
            if self.strict and task.endpoint != LOCAL_ENDPOINT_ID:
                raise bad_request(
                    f"No executor is configured for compute endpoint '{task.endpoint}' ({where}); "
                    f"give one in executors= or use the local endpoint {LOCAL_ENDPOINT_ID}"
                )
            return functools.partial(
                self._submit_local, self.functions.get_portable(task.function_id), task
            )
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
                self._pool = cf.ProcessPoolExecutor(max_workers=self.max_workers)
            return self._pool

    def _submit_local(self, func: t.Callable, task: ComputeTask) -> cf.Future:
        pool = self._local_pool()
        try:
            return pool.submit(func, *task.args, **task.kwargs)
        except BrokenProcessPool:  # a worker died (killed, out of memory): start a new pool
            with self._pool_lock:
                if self._pool is pool:
                    self._pool = None
            pool.shutdown(wait=False)
            return self._local_pool().submit(func, *task.args, **task.kwargs)

    def _task_done(self, batch: _Batch, index: int, future: cf.Future) -> None:
        if future.cancelled():
            error: dict | None = {
                "exception": "CancelledError",
                "message": "canceled",
                "traceback": "",
            }
        elif future.exception() is not None:
            error = _describe(future.exception())
        else:
            try:
                output = _jsonable(future.result())
                error = None
            except (TypeError, ValueError) as exc:
                error = _describe(exc)
        with batch.lock:
            if error is None:
                batch.outputs[index] = output
            else:
                batch.errors[index] = error
            batch.remaining -= 1
            last = batch.remaining == 0
        if last:
            self._complete(batch)

    def _complete(self, batch: _Batch) -> None:
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
