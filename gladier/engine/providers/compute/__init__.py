"""The Globus Compute action provider, run locally through ``concurrent.futures``.

Answers ``https://compute.actions.globus.org`` (v2 bodies: ``endpoint``/``function`` with
``args``/``kwargs``/``payload`` at the top level and/or in ``tasks``), ``.../v3``
(``endpoint_id`` + ``tasks`` of ``function_id``/``args``/``kwargs``) and ``.../fxap``.
Each task goes to the Executor given for its endpoint id (one submission per task), else
to one shared local process pool. Completion comes from future callbacks, never from
polling. With a result store, local pool tasks go to the workers in chunks of up to
:data:`CHUNK_MAX` tasks, of one action or of several (:class:`ChunkFeeder`: one pool
submission per chunk, so a thousand small tasks, in one action or in a thousand, cost
less than ``ProcessPoolExecutor.map``); each task of a chunk is still claimed, recorded
and failed on its own. ``cancel`` drops the tasks not yet started, those of chunks already
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
it fails with ``TaskInterrupted``. The ledger is also what a re-sent request of such an
action is answered from (the result store keeps only actions with tasks elsewhere), so a
finished action costs the database nothing. So each task runs at most once, and a lost run is
reported, never silently repeated. A resumed engine that lacks a task's function (``gladier
resume`` registers none) answers from the ledger when every such task has a result, and
otherwise leaves the action INACTIVE for a resume from a process that registers it.

One module per concept: :mod:`.tasks` (parsing a request's tasks), :mod:`.results` (what a
task returned or how it failed), :mod:`.ledger` (the task ledger), :mod:`.worker` (what
runs in a pool worker), :mod:`.pool` (the local process pool), :mod:`.provider` (the
provider's verbs).
"""

from gladier.engine.providers.compute.ledger import TaskLedger, process_running
from gladier.engine.providers.compute.pool import (
    CHUNK_MAX,
    CHUNKS_PER_WORKER,
    ChunkFeeder,
    LocalPool,
    chunk_size,
)
from gladier.engine.providers.compute.provider import Batch, ComputeProvider
from gladier.engine.providers.compute.tasks import ComputeTask, parse_tasks, task_ids
from gladier.engine.providers.compute.worker import watch_parent

__all__ = ["CHUNKS_PER_WORKER", "CHUNK_MAX", "Batch", "ChunkFeeder", "ComputeProvider",
           "ComputeTask", "LocalPool", "TaskLedger", "chunk_size", "parse_tasks",
           "process_running", "task_ids", "watch_parent"]
