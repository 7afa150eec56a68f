"""The compute provider's verbs (run, status, cancel, release), over executors and the pool."""

from __future__ import annotations

import concurrent.futures as cf
import functools
import logging
import os
import signal
import threading
import typing as t

from gladier.engine.providers.actions import (
    ActionTable,
    ResultStore,
    bad_request,
    body_fingerprint,
    check_request,
)
from gladier.engine.providers.base import FAILED, INACTIVE, SUCCEEDED, TERMINAL
from gladier.engine.providers.compute.ledger import TaskLedger, process_running
from gladier.engine.providers.compute.pool import ChunkFeeder, LocalPool
from gladier.engine.providers.compute.results import (
    describe_failure,
    finished_future,
    function_name,
    future_failure,
    interrupted_error,
    json_output,
    recorded_outcome,
)
from gladier.engine.providers.compute.tasks import ComputeTask, parse_tasks, task_ids
from gladier.engine.providers.compute.worker import STOP_GRACE_SECONDS, STOP_SIGNAL, LedgerChunk
from gladier.engine.providers.functions import LOCAL_ENDPOINT_ID, FunctionRegistry
from gladier.exc import ActionProviderError


log = logging.getLogger(__name__)


class _PoolTask(t.NamedTuple):
    """A task for the local process pool."""

    func: t.Callable
    args: tuple
    kwargs: dict


class _Chunked(t.NamedTuple):
    """A task for the local pool that goes in a chunk (see :class:`ChunkFeeder`)."""

    batch: "Batch"
    position: int  # in its batch
    recovering: bool
    task: _PoolTask


#: The details of an action ``cancel`` ended.
CANCELED_DETAILS = {"code": "ActionCanceled",
                    "description": "The action was canceled; tasks not yet started were dropped"}


class _Unregistered(Exception):
    """A resumed action still needs a function this process has not registered."""

    def __init__(self, function_id: str):
        super().__init__(function_id)
        self.function_id = function_id


class Batch:
    """The futures of one action and what they returned so far."""

    def __init__(self, action_id: str, tasks: list[ComputeTask]):
        self.action_id = action_id
        self.tasks = tasks
        self.task_ids = task_ids(action_id, len(tasks))
        self.outputs: list[t.Any] = [None] * len(tasks)
        self.errors: dict[int, dict] = {}
        self.remaining = len(tasks)
        self.futures: list[cf.Future] = []  # of its tasks sent one by one (cancel cancels)
        #: of the chunks holding its local pool tasks (maybe with other actions' tasks, so
        #: never canceled: a canceled action's tasks in them do not start, see LedgerChunk)
        self.chunks: list[cf.Future] = []
        self.canceled = False  # set by cancel: the tasks' outcomes no longer finish it
        self.lock = threading.Lock()


def _chunk_sent(items: list[_Chunked], future: cf.Future) -> None:
    for batch in {id(item.batch): item.batch for item in items}.values():
        with batch.lock:
            batch.chunks.append(future)


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
        self._pool = LocalPool(max_workers=max_workers)
        self._actions = ActionTable("compute", store=store)
        self._ledger = (
            TaskLedger(store.path) if store is not None and store.path != ":memory:" else None
        )
        self._batches: dict[str, Batch] = {}
        self._interrupted = False
        self._feeder = ChunkFeeder(self._pool, make_chunk=self._chunk, on_sent=_chunk_sent,
                                   on_done=self._chunk_done,
                                   wanted=lambda item: not item.batch.canceled)

    @property
    def max_workers(self) -> int | None:
        """Worker processes of the local pool (None: one per CPU); set before first use."""
        return self._pool.max_workers

    @max_workers.setter
    def max_workers(self, value: int | None) -> None:
        self._pool.max_workers = value

    # -- the provider protocol ------------------------------------------------------------

    def run(self, request: dict) -> dict:
        request_id, body = check_request(request)
        fingerprint = body_fingerprint(body)
        action_id = self._actions.action_id_for(request_id)
        # An action this process does not know was begun before only if the ledger says
        # so: only then may the result store (or the ledger) hold it.
        recovering = self._ledger is not None and self._ledger.started_before(action_id)
        found = self._actions.existing(request, fingerprint=fingerprint,
                                       stored=self._ledger is None or recovering)
        if found is not None:
            return found
        tasks = parse_tasks(body)
        if recovering:
            assert self._ledger is not None
            if self._ledger.fingerprint(action_id) not in (None, fingerprint):
                raise self._actions.conflict(request_id)
            if self._ledger.canceled(action_id):
                return self._actions.start(
                    request, status=FAILED, details=dict(CANCELED_DETAILS),
                    display_status="Canceled", checked_fingerprint=fingerprint, keep=False)[0]
        batch = Batch(action_id, tasks)
        try:
            submits = [self._submitter(task, f"task {i}", action_id, batch.task_ids[i],
                                       recovering) for i, task in enumerate(tasks)]
        except _Unregistered as missing:
            return self._wait_for_function(request, fingerprint, missing.function_id)
        pooled = self._ledger is not None and all(isinstance(s, _PoolTask) for s in submits)
        # Tasks of the local pool are answered from the ledger after a crash: the result
        # store keeps only actions with tasks elsewhere.
        document, created = self._actions.start(
            request, display_status=f"Running {len(tasks)} task(s)",
            checked_fingerprint=fingerprint, keep=not pooled,
        )
        if not created:
            return document
        self._batches[batch.action_id] = batch
        if self._ledger is not None:
            self._ledger.begin(action_id, fingerprint)
        chunked = []  # local pool tasks with a ledger go in chunks, the others one by one
        for index, submit in enumerate(submits):
            if isinstance(submit, _PoolTask):
                if self._ledger is not None:
                    chunked.append(_Chunked(batch, index, recovering, submit))
                    continue
                submit = functools.partial(self._pool.submit, submit.func, *submit.args,
                                           **submit.kwargs)
            self._follow(submit, functools.partial(self._task_done, batch, index), batch)
        if chunked:
            self._feeder.put(chunked)
        return self._actions.get(batch.action_id)

    def _follow(self, submit: t.Callable[[], cf.Future],
                done: t.Callable[[cf.Future], None], batch: Batch) -> None:
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
        if batch is not None:
            with batch.lock:  # tasks the stop makes fail must not finish it as failed
                batch.canceled = True
        if self._ledger is not None:
            self._ledger.cancel(action_id)  # tasks of chunks already sent do not start
            self._stop_running(action_id)
        for future in batch.futures if batch else ():
            future.cancel()
        self._actions.finish(action_id, FAILED, dict(CANCELED_DETAILS),
                             display_status="Canceled")
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
                if still.get(task) == pid and process_running(pid):
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
            self._ledger.forget(action_id, failed=document["status"] != SUCCEEDED)
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
        self._feeder.stop()
        pids = self._pool.kill()
        if self._ledger is not None and pids:
            for action_id in list(self._batches):
                self._ledger.abort_unfinished(action_id, pids)

    def close(self) -> None:
        """Stop the local process pool (executors given by the caller are theirs to close)."""
        self._pool.close()

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
            interrupted = {"task": task_id, "error": interrupted_error(
                "it went to an executor that cannot be asked about tasks another engine "
                "process submitted")}
            return lambda: finished_future(interrupted)
        assert self._ledger is not None  # recovering needs one
        _, result = self._ledger.find(action_id, task_id)
        if result is None:
            raise _Unregistered(task.function_id)
        return lambda: finished_future(result)

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

    def _task_done(self, batch: Batch, index: int, future: cf.Future) -> None:
        error = future_failure(future)
        output = None
        if error is None:
            try:
                output = json_output(future.result(), function_name(
                    self.functions, batch.tasks[index].function_id))
            except (TypeError, ValueError) as exc:
                error = describe_failure(exc)
        self._settle(batch, [(index, output, error)])

    def _chunk(self, items: list[_Chunked]) -> LedgerChunk:
        assert self._ledger is not None  # chunks are ledger tasks
        return LedgerChunk(self._ledger.root, [
            (item.batch.action_id, item.recovering, item.batch.task_ids[item.position],
             item.task.func, item.task.args, item.task.kwargs) for item in items])

    def _chunk_done(self, items: list[_Chunked], future: cf.Future) -> None:
        error = future_failure(future)
        if error is None:
            outcomes = future.result()
        else:  # the chunk as a whole (a worker died...): its recorded results still count
            assert self._ledger is not None  # chunks are ledger tasks
            recorded: dict[str, dict[str, dict]] = {}
            outcomes = []
            for item in items:
                action_id = item.batch.action_id
                if action_id not in recorded:
                    recorded[action_id] = self._ledger.results(action_id)
                result = recorded[action_id].get(item.batch.task_ids[item.position])
                outcomes.append(recorded_outcome(result) if result is not None
                                else (None, error))
        by_batch: dict[str, tuple[Batch, list]] = {}
        for item, (output, task_error) in zip(items, outcomes):
            by_batch.setdefault(item.batch.action_id, (item.batch, []))[1].append(
                (item.position, output, task_error))
        for batch, settled in by_batch.values():
            self._settle(batch, settled)

    def _settle(self, batch: Batch, outcomes: list[tuple[int, t.Any, dict | None]]) -> None:
        """Keep each task's (index, output, error); complete the action after the last."""
        with batch.lock:
            for index, output, error in outcomes:
                if error is None:
                    batch.outputs[index] = output
                else:
                    batch.errors[index] = error
            batch.remaining -= len(outcomes)
            last = batch.remaining == 0 and not batch.canceled
        if last:
            self._complete(batch)

    def _complete(self, batch: Batch) -> None:
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
