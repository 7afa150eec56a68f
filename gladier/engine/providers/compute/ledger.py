"""The task ledger: which worker began each local pool task, and what it recorded."""

from __future__ import annotations

import json
import os
import shutil
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
            task = str(entry.get("task"))
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
                return recorded_output(result)
            if claimant is None:
                raise RecordedTaskError(interrupted_error("it was interrupted"))
            if not process_running(claimant):
                if self.find(action_id, task_id)[1] is None:  # not finished just now
                    raise RecordedTaskError(interrupted_error(f"its worker process {claimant} died"))
                continue
            time.sleep(delay)
            delay = min(delay * 2, self.POLL_SECONDS[1])


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
