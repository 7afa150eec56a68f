"""The task ledger: which worker began each local pool task, and what it recorded."""

from __future__ import annotations

import json
import os
import sys
import time
import typing as t

from gladier.engine.providers.compute.results import (
    RecordedTaskError,
    interrupted_error,
    recorded_output,
)


def process_running(pid: int) -> bool:
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


def _private_root(root: str) -> None:
    """The ledger's directory, owner-only (tasks' results are private run data)."""
    os.makedirs(root, mode=0o700, exist_ok=True)


def _append(fd: int, lines: str) -> None:
    """One ``write`` of whole lines, each after a newline of its own: a line a killed
    process left torn (a write of several pages can stop between them) then never glues
    itself to the next writer's line, it stays a line of its own that no reader takes."""
    os.write(fd, lines.encode())


def _line(entry: dict) -> str:
    return "\n" + json.dumps(entry) + "\n"


class TaskLedger:
    """Which worker ran each local pool task of an action, and its result, beside the
    engine database: one journal file per action, ``<db>-compute-tasks/<action_id>.jsonl``.

    The engine creates the file when it accepts the action (its first line holds the
    request body's fingerprint, so a request re-sent after a crash with another body is
    refused); each worker then appends a ``{"task", "pid"}`` line before it runs a task and
    a ``{"task", "output"}`` or ``{"task", "error"}`` line after. Appending a line costs one
    ``write`` (``O_APPEND``: writes of several processes never interleave), so every task
    can afford it. One file per action, not a directory of one file per worker: creating
    and removing a directory costs several times a file's, and a thousand one-task actions
    pay it a thousand times. Plain files, not SQLite, because pool workers are forked from
    a threaded engine: a lock another thread held at fork time (SQLite's among them) would
    never be released in the worker.
    """

    POLL_SECONDS = (0.02, 0.5)  # first and longest wait between looks at a claimed task
    #: The suffix of the mark ``cancel`` writes beside the action's journal; a worker looks
    #: for it before each task of a chunk.
    CANCELED = ".canceled"

    def __init__(self, db_path: str | None = None, *, root: str | None = None):
        """The ledger of the engine database ``db_path`` (or the ledger directory ``root``)."""
        self.root = root if root is not None else f"{db_path}-compute-tasks"
        self._root_made = False

    def journal(self, action_id: str) -> str:
        """The path of the action's journal."""
        return os.path.join(self.root, f"{action_id}.jsonl")

    def cancel_mark(self, action_id: str) -> str:
        return os.path.join(self.root, action_id + self.CANCELED)

    def begin(self, action_id: str, fingerprint: str) -> None:
        """Note that this engine accepted the action (before any of its tasks runs); an
        action begun before (by an engine that died) keeps its journal."""
        if not self._root_made:
            _private_root(self.root)
            self._root_made = True
        try:
            fd = os.open(self.journal(action_id), os.O_WRONLY | os.O_APPEND | os.O_CREAT
                         | os.O_EXCL, 0o600)
        except FileExistsError:
            return
        try:
            _append(fd, _line({"fingerprint": fingerprint}))
        finally:
            os.close(fd)

    def cancel(self, action_id: str) -> None:
        """Stop workers from starting more tasks of the action."""
        if self.started_before(action_id):
            os.close(os.open(self.cancel_mark(action_id), os.O_WRONLY | os.O_CREAT, 0o600))

    def canceled(self, action_id: str) -> bool:
        return os.path.exists(self.cancel_mark(action_id))

    def started_before(self, action_id: str) -> bool:
        """Whether an engine, maybe one that died, accepted the action before."""
        return os.path.exists(self.journal(action_id))

    def fingerprint(self, action_id: str) -> str | None:
        """The fingerprint of the request body the action was begun with."""
        for entry in self._entries(action_id):
            if "fingerprint" in entry:
                return entry["fingerprint"]
        return None

    def forget(self, action_id: str, *, failed: bool = True) -> None:
        """Remove the action's journal, and its cancel mark (only a failed action may have
        one: ``failed=False`` spares a thousand successful actions a look for it)."""
        paths = [self.journal(action_id)]
        if failed:  # after the journal: a worker looks for the mark, then for the journal
            paths.append(self.cancel_mark(action_id))
        for path in paths:
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass

    def unfinished(self, action_id: str) -> dict[str, int]:
        """The tasks of the action a worker began and has not finished: task id -> pid."""
        claims: dict[str, int] = {}
        for entry in self._entries(action_id):
            if "task" not in entry:
                continue
            task = str(entry["task"])
            if "pid" in entry:
                claims[task] = entry["pid"]
            else:
                claims.pop(task, None)
        return claims

    def mark_aborted(self, action_id: str, task_ids: t.Iterable[str]) -> None:
        """Note tasks as stopped by an interrupt of this engine (sent to another executor,
        or begun by a worker it killed): a resume sends them again."""
        lines = "".join(_line({"task": task, "aborted": True}) for task in task_ids)
        if not lines:
            return
        try:
            fd = os.open(self.journal(action_id), os.O_WRONLY | os.O_APPEND)
        except FileNotFoundError:
            return  # released already
        try:
            _append(fd, lines)
        finally:
            os.close(fd)

    def aborted(self, action_id: str, task_id: str) -> bool:
        """Whether an interrupted engine noted the task as stopped (see mark_aborted)."""
        return any(entry.get("task") == task_id and entry.get("aborted")
                   for entry in self._entries(action_id))

    def abort_unfinished(self, action_id: str, pids: t.Collection[int]) -> None:
        """Note the tasks that the (killed) workers ``pids`` began but did not finish as
        aborted (after their claims): they may run again."""
        self.mark_aborted(action_id, [task for task, pid in self.unfinished(action_id).items()
                                      if pid in pids])

    def _entries(self, action_id: str) -> t.Iterator[dict]:
        """Every line written for the action (torn lines, which a killed writer may leave,
        are skipped)."""
        try:
            with open(self.journal(action_id), "rb") as stream:
                lines = stream.read().splitlines()
        except FileNotFoundError:
            return
        for line in lines:
            if not line:
                continue
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if isinstance(entry, dict):
                yield entry

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
        return {str(entry["task"]): entry for entry in self._entries(action_id)
                if "task" in entry and "pid" not in entry and not entry.get("aborted")}

    def wait(self, action_id: str, task_id: str) -> t.Any:
        """The recorded output of a task another worker began (RecordedTaskError if it
        failed or its worker died without a result)."""
        delay = self.POLL_SECONDS[0]
        while True:
            claimant, result = self.find(action_id, task_id)
            if result is not None:
                return recorded_output(result)
            if claimant is None:
                raise RecordedTaskError(interrupted_error("it was interrupted"))
            if not process_running(claimant):
                if self.find(action_id, task_id)[1] is None:  # not finished just now
                    raise RecordedTaskError(interrupted_error(f"its worker process {claimant} died"))
                continue
            time.sleep(delay)
            delay = min(delay * 2, self.POLL_SECONDS[1])
