"""The Globus Transfer action providers, on local directories.

Routes of ``https://transfer.actions.globus.org/``: ``transfer``, ``delete``, ``ls``,
``stat``, ``mkdir``, ``collection_info``, ``manage_permission``; and the legacy
``https://actions.globus.org/transfer/`` shapes (``source_endpoint_id``,
``destination_endpoint_id``, ``transfer_items``, ``set_permission``). Collection ids map
to directories through :class:`~gladier.engine.providers.collection_roots.LocalCollections`.

As on the service: a body that is not a valid request is refused at ``run``; anything that
goes wrong with the files themselves (a missing source, a path outside the collection's
root, a directory onto a file) makes the action FAILED, with ``details`` shaped like the
Transfer task or error document. Directory sources are copied recursively whether or not
``recursive`` is set; symbolic links inside copied trees are skipped
(``recursive_symlinks: "ignore"``, the service's default), and every file and directory a
task reads or writes must really lie inside its collection's root, so a link that leads out
(``dst/nested -> /elsewhere``) fails the task as a ``..`` path does. ``stat`` of a missing path
SUCCEEDS with ``details.code == "NotFound"``, which flows test for.

Transfers and deletes run on a few worker threads, so ``run`` returns at once.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import datetime
import errno
import fnmatch
import getpass
import hashlib
import logging
import os
import shutil
import stat as stat_module
import sys
import threading
import time
import typing as t
import uuid

from gladier.engine.providers.actions import ActionTable, ResultStore, bad_request, check_request
from gladier.engine.providers.base import FAILED, SUCCEEDED, TERMINAL
from gladier.engine.providers.collection_roots import (CollectionNotMapped, LocalCollections,
                                                       PathRefused, opened_path)
from gladier.engine.timing import now_iso

try:  # POSIX only: elsewhere ls and stat show numeric owners
    import grp
    import pwd
except ImportError:  # pragma: no cover - Windows
    grp = pwd = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

#: Routes under https://transfer.actions.globus.org/.
ROUTES = ("transfer", "delete", "ls", "stat", "mkdir", "collection_info", "manage_permission")
#: Legacy routes under https://actions.globus.org/transfer/ and the current route they are.
LEGACY_ROUTES = {
    "transfer": "transfer",
    "delete": "delete",
    "ls": "ls",
    "mkdir": "mkdir",
    "collection_info": "collection_info",
    "set_permission": "manage_permission",
}

_TRANSFER_WORKERS = 4
_COPY_SUFFIX = ".gladier-partial"
_ERRNO_CODES = {
    errno.ENOENT: "FILE_NOT_FOUND",
    errno.EACCES: "PERMISSION_DENIED",
    errno.EPERM: "PERMISSION_DENIED",
    errno.ENOSPC: "NO_SPACE_LEFT",
    errno.EDQUOT: "QUOTA_EXCEEDED",
    errno.EISDIR: "IS_A_DIRECTORY",
    errno.ENOTDIR: "NOT_A_DIRECTORY",
}


class TransferFailed(Exception):
    """A file operation failed; ``code`` is the Transfer fault name (FILE_NOT_FOUND...)."""

    def __init__(self, code: str, message: str):
        self.code = code
        super().__init__(message)


class _RouteFailed(Exception):
    """A synchronous route (ls, stat...) ends FAILED with these Transfer-style error details."""

    def __init__(self, details: dict):
        super().__init__(details["message"])
        self.details = details


class _Canceled(Exception):
    pass


#: Bytes copied between two looks at a task's cancel flag: a canceled (or timed out)
#: Transfer stops within a file, not at its end.
COPY_CHUNK = 1 << 20


class _CancelableReader:
    """A file's reader that raises _Canceled at the next read once ``cancel`` is set."""

    def __init__(self, stream: t.BinaryIO, cancel: threading.Event) -> None:
        self.stream, self.cancel = stream, cancel

    def read(self, size: int = -1) -> bytes:
        if self.cancel.is_set():
            raise _Canceled()
        return self.stream.read(size)


def _remove_partials(directory_fd: int, name: str) -> None:
    """Remove the partial copies of ``name`` (in the open directory) that an interrupted
    task left, a crash mid-copy: the same name, a random part, and the partial suffix."""
    prefix = name + "."
    try:
        names = os.listdir(directory_fd)
    except OSError:
        return
    for entry in names:
        if entry.startswith(prefix) and entry.endswith(_COPY_SUFFIX) and \
                len(entry) > len(prefix) + len(_COPY_SUFFIX):
            try:
                os.unlink(entry, dir_fd=directory_fd)
            except OSError:
                pass


def _timestamp(seconds: float) -> str:
    moment = datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc)
    return moment.strftime("%Y-%m-%d %H:%M:%S+00:00")


def _owner_names(info: os.stat_result) -> tuple[str | None, str | None]:
    user, group = str(info.st_uid), str(info.st_gid)
    if pwd is not None:
        with contextlib.suppress(KeyError):
            user = pwd.getpwuid(info.st_uid).pw_name
    if grp is not None:
        with contextlib.suppress(KeyError):
            group = grp.getgrgid(info.st_gid).gr_name
    return user, group


def file_document(local_path: str, *, legacy: bool = False, follow_link: bool = True) -> dict:
    """A Transfer ``file`` document (ls entries, stat results) for a local path;
    ``follow_link=False`` describes a symbolic link by itself, not what it points to."""
    link_info = os.lstat(local_path)
    is_link = stat_module.S_ISLNK(link_info.st_mode)
    info = os.stat(local_path) if is_link and follow_link else link_info
    user, group = _owner_names(info)
    kind = "dir" if stat_module.S_ISDIR(info.st_mode) else "file"
    document = {
        "DATA_TYPE": "file",
        "name": os.path.basename(local_path.rstrip(os.sep)) or os.sep,
        "type": kind,
        "size": info.st_size,
        "permissions": format(stat_module.S_IMODE(info.st_mode), "04o"),
        "last_modified": _timestamp(info.st_mtime),
        "user": user,
        "group": group,
        "link_target": os.readlink(local_path) if is_link else None,
        "link_size": link_info.st_size if is_link else None,
        "link_last_modified": _timestamp(link_info.st_mtime) if is_link else None,
        "link_user": _owner_names(link_info)[0] if is_link else None,
        "link_group": _owner_names(link_info)[1] if is_link else None,
    }
    if legacy:
        document["is_folder"] = kind == "dir"
    return document


def _os_failure(exc: OSError, what: str) -> TransferFailed:
    code = _ERRNO_CODES.get(exc.errno or 0, "ENDPOINT_ERROR")
    return TransferFailed(code, f"{what}: {exc.strerror or exc}")


def _error_details(code: str, message: str, resource: str) -> dict:
    """Details shaped like a Transfer API error document."""
    return {
        "code": code,
        "message": message,
        "request_id": uuid.uuid4().hex[:9],
        "resource": resource,
    }


def _files_differ(source: str, destination: str, sync_level: t.Any) -> bool:
    """Transfer's ``sync_level``: 0 exists, 1 size, 2 modification time, 3 checksum."""
    if sync_level is None or not os.path.exists(destination):
        return True
    if not os.path.isfile(destination):
        return True
    level = int(sync_level)
    src, dst = os.stat(source), os.stat(destination)
    if level == 0:
        return False
    if level == 1:
        return src.st_size != dst.st_size
    if level == 2:
        return src.st_size != dst.st_size or src.st_mtime > dst.st_mtime
    return _checksum(source) != _checksum(destination)


def _checksum(path: str) -> str:
    with open(path, "rb") as stream:
        return _checksum_of(stream.fileno())


def _checksum_of(fd: int) -> str:
    """The md5 of an open file, read from its start (its position is left alone)."""
    digest = hashlib.md5(usedforsecurity=False)  # a content checksum; FIPS hosts allow it
    offset = 0
    while True:
        block = os.pread(fd, 1 << 20, offset)
        if not block:
            return digest.hexdigest()
        digest.update(block)
        offset += len(block)


def _copy_open_file(source_fd: int, out_fd: int, cancel: threading.Event) -> None:
    """Copy the whole of one open file over another (from their starts), in chunks of
    :data:`COPY_CHUNK`, stopping with _Canceled between two once ``cancel`` is set."""
    os.lseek(source_fd, 0, os.SEEK_SET)
    os.lseek(out_fd, 0, os.SEEK_SET)
    os.ftruncate(out_fd, 0)
    with open(source_fd, "rb", closefd=False) as reader, \
            open(out_fd, "wb", closefd=False) as writer:
        shutil.copyfileobj(_CancelableReader(reader, cancel), writer, COPY_CHUNK)


def _clause_test(clause: str) -> t.Callable[[dict], bool]:
    field, _, expression = clause.partition(":")
    if field not in ("name", "type") or not expression:
        raise bad_request(
            f"ls filter '{clause}' is not supported locally (only name and type clauses)"
        )
    negate = expression.startswith("!")
    if negate:
        expression = expression[1:]
    wildcard = expression.startswith("~")
    if wildcard or expression.startswith("="):
        expression = expression[1:]
    values = expression.split(",")

    def test(entry: dict) -> bool:
        value = str(entry.get(field, ""))
        hit = any(fnmatch.fnmatchcase(value, v) if wildcard else value == v for v in values)
        return hit != negate

    return test


def ls_filter(spec: t.Any) -> t.Callable[[dict], bool]:
    """A test for ls entries from Transfer filter clauses on ``name`` and ``type``:
    ``name:a.txt,b.txt``, ``name:~*.txt`` (wildcards), ``type:!dir`` (negation), several
    clauses joined by ``/`` or given as a list or a dict. Other fields are refused."""
    if isinstance(spec, dict):
        spec = [
            f"{key}:{','.join(value) if isinstance(value, list) else value}"
            for key, value in spec.items()
        ]
    items = spec if isinstance(spec, list) else [spec]
    tests = [_clause_test(part) for item in items for part in str(item).split("/")]
    return lambda entry: all(test(entry) for test in tests)


class _Job:
    """What a transfer or delete action was asked to do, checked before it starts."""

    def __init__(
        self, kind: str, body: dict, items: list[dict], source: str, destination: str | None
    ):
        self.kind = kind
        self.body = body
        self.items = items
        self.source = source
        self.destination = destination
        self.cancel = threading.Event()


def _parse_transfer(body: dict) -> _Job:
    source = body.get("source_endpoint", body.get("source_endpoint_id"))
    destination = body.get("destination_endpoint", body.get("destination_endpoint_id"))
    items = body.get("DATA", body.get("transfer_items"))
    for key, value in (("source_endpoint", source), ("destination_endpoint", destination)):
        if not isinstance(value, str) or not value:
            raise bad_request(f"A transfer needs '{key}' (a collection id)")
    assert isinstance(source, str) and isinstance(destination, str)  # checked just above
    if not isinstance(items, list) or not items:
        raise bad_request(
            "A transfer needs 'DATA': a non-empty list of {source_path, destination_path}"
        )
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise bad_request(f"DATA[{index}] must be an object, not {type(item).__name__}")
        for key in ("source_path", "destination_path"):
            if not isinstance(item.get(key), str) or not item[key]:
                raise bad_request(f"DATA[{index}] needs '{key}' (a path)")
    if body.get("sync_level") not in (None, 0, 1, 2, 3, "0", "1", "2", "3"):
        raise bad_request(f"sync_level must be 0, 1, 2 or 3, not {body['sync_level']!r}")
    return _Job("TRANSFER", body, items, source, destination)


def _parse_delete(body: dict) -> _Job:
    endpoint = body.get("endpoint", body.get("endpoint_id"))
    if not isinstance(endpoint, str) or not endpoint:
        raise bad_request("A delete needs 'endpoint' (a collection id)")
    raw = body.get("DATA", body.get("items"))
    if not isinstance(raw, list) or not raw:
        raise bad_request("A delete needs 'DATA': a non-empty list of {path}")
    items = []
    for index, item in enumerate(raw):
        path = item.get("path") if isinstance(item, dict) else item
        if not isinstance(path, str) or not path:
            raise bad_request(f"DATA[{index}] needs 'path'")
        items.append({"path": path})
    return _Job("DELETE", body, items, endpoint, None)


class LocalTransferService:
    """What the Transfer routes share: the collection map, worker threads, sharing rules."""

    def __init__(
        self,
        collections: LocalCollections,
        *,
        store: ResultStore | None = None,
        max_workers: int = _TRANSFER_WORKERS,
    ):
        self.collections = collections
        self.store = store
        self.max_workers = max_workers
        #: access rules created by ``manage_permission``, by rule id
        self.permissions: dict[str, dict] = {}
        self._providers: dict[tuple[str, bool], TransferActionProvider] = {}
        self._pool: cf.ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    def provider(self, route: str, *, legacy: bool = False) -> TransferActionProvider:
        """The provider of one route (``ls``, ``transfer``...), created once."""
        if legacy:
            if route not in LEGACY_ROUTES:
                raise KeyError(route)
            route = LEGACY_ROUTES[route]
        elif route not in ROUTES:
            raise KeyError(route)
        with self._lock:
            key = (route, legacy)
            if key not in self._providers:
                self._providers[key] = TransferActionProvider(self, route, legacy=legacy)
            return self._providers[key]

    def submit(self, func: t.Callable, *args: t.Any) -> cf.Future:
        with self._lock:
            if self._pool is None:
                self._pool = cf.ThreadPoolExecutor(
                    self.max_workers, thread_name_prefix="gladier-transfer"
                )
            pool = self._pool
        return pool.submit(func, *args)

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)


class TransferActionProvider:
    """One Transfer route (``transfer``, ``ls``...) answered on local directories."""

    def __init__(self, service: LocalTransferService, route: str, *, legacy: bool = False):
        self.service = service
        self.route = route
        self.legacy = legacy
        self.collections = service.collections
        scope = f"{'legacy-' if legacy else ''}transfer/{route}"
        self._actions = ActionTable(scope, store=service.store)
        self._jobs: dict[str, _Job] = {}

    # -- the provider protocol ------------------------------------------------------------

    def run(self, request: dict) -> dict:
        found = self._actions.existing(request)
        if found is not None:
            return found
        _, body = check_request(request)
        if self.route in ("transfer", "delete"):
            job = _parse_transfer(body) if self.route == "transfer" else _parse_delete(body)
            self._check_mapped(job.source, job.destination)
            return self._start_job(request, job)
        self._check_mapped(self._endpoint(body))
        try:
            status, details = getattr(self, f"_{self.route}")(body)
        except _RouteFailed as failed:
            status, details = FAILED, failed.details
        document, _ = self._actions.start(request, status=status, details=details)
        return document

    def status(self, action_id: str) -> dict:
        return self._actions.get(action_id)

    def _check_mapped(self, *collection_ids: str | None) -> None:
        """Refuse the request (nothing read or written yet) if it names a collection the
        engine was not given."""
        for collection_id in collection_ids:
            if collection_id is None:
                continue
            try:
                self.collections.get(collection_id)
            except CollectionNotMapped as exc:
                raise bad_request(str(exc), code="CollectionNotMapped", status=404) from None

    def cancel(self, action_id: str) -> dict:
        document = self._actions.get(action_id)
        if document["status"] in TERMINAL:
            return document
        job = self._jobs.pop(action_id, None)
        details = dict(document["details"])
        if job is not None:
            job.cancel.set()
        details.update(
            status="FAILED",
            nice_status="CANCELED",
            is_ok=False,
            completion_time=now_iso(),
            fatal_error={"code": "CANCELED", "description": "The task was canceled"},
        )
        self._actions.finish(action_id, FAILED, details, display_status="Canceled")
        return self._actions.get(action_id)

    def release(self, action_id: str) -> dict:
        return self._actions.release(action_id)

    def add_done_callback(self, action_id: str, callback: t.Callable[[dict], None]) -> None:
        self._actions.add_done_callback(action_id, callback)

    # -- transfer and delete tasks ----------------------------------------------------------

    def _start_job(self, request: dict, job: _Job) -> dict:
        task = self._task_document(job)
        document, created = self._actions.start(
            request, details=dict(task), display_status="Queued"
        )
        if created:
            action_id = document["action_id"]
            task.update(task_id=str(uuid.uuid5(uuid.UUID(action_id), "task")))
            if not task["label"]:
                task["label"] = f"For Action id {action_id}"
            self._actions.update(action_id, details=dict(task))
            self._jobs[action_id] = job
            self.service.submit(self._run_job, action_id, job, task)
            document = self._actions.get(action_id)
        return document

    def _task_document(self, job: _Job) -> dict:
        body = job.body
        user = getpass.getuser()
        return {
            "DATA_TYPE": "task",
            "task_id": None,
            "type": job.kind,
            "status": "ACTIVE",
            "nice_status": "Queued",
            "nice_status_short_description": "Queued",
            "is_ok": True,
            "is_paused": False,
            "label": body.get("label"),
            "source_endpoint_id": job.source,
            "source_endpoint_display_name": self.collections.get(job.source).display_name,
            "destination_endpoint_id": job.destination,
            "destination_endpoint_display_name": (
                self.collections.get(job.destination).display_name if job.destination else None
            ),
            "request_time": now_iso(),
            "completion_time": None,
            "deadline": body.get("deadline"),
            "files": 0,
            "files_transferred": 0,
            "files_skipped": 0,
            "directories": 0,
            "symlinks": 0,
            "bytes_transferred": 0,
            "bytes_checksummed": 0,
            "effective_bytes_per_second": 0,
            "faults": 0,
            "fatal_error": None,
            "sync_level": body.get("sync_level"),
            "verify_checksum": bool(body.get("verify_checksum", False)),
            "preserve_timestamp": bool(body.get("preserve_timestamp", False)),
            "encrypt_data": bool(body.get("encrypt_data", False)),
            "delete_destination_extra": bool(body.get("delete_destination_extra", False)),
            "skip_source_errors": bool(body.get("skip_source_errors", False)),
            "fail_on_quota_errors": bool(body.get("fail_on_quota_errors", False)),
            "recursive_symlinks": "ignore",
            "command": "API 0.10",
            "history_deleted": False,
            "canceled_by_admin": None,
            "canceled_by_admin_message": None,
            "owner_id": None,
            "username": user,
        }

    def _run_job(self, action_id: str, job: _Job, task: dict) -> None:
        started = time.monotonic()
        task.update(nice_status="OK", nice_status_short_description="OK")
        try:
            if job.kind == "TRANSFER":
                self._transfer(action_id, job, task)
            else:
                self._delete(action_id, job, task)
        except _Canceled:
            return  # cancel() already made the action FAILED
        except TransferFailed as exc:
            task.update(
                status="FAILED",
                nice_status=exc.code,
                nice_status_short_description=exc.code,
                is_ok=False,
                faults=task["faults"] + 1,
                fatal_error={"code": exc.code, "description": str(exc)},
            )
        except Exception as exc:  # report, never lose the action in a worker thread
            log.exception("Local %s task %s failed unexpectedly", job.kind.lower(), action_id)
            task.update(
                status="FAILED",
                nice_status="ENDPOINT_ERROR",
                is_ok=False,
                fatal_error={
                    "code": "ENDPOINT_ERROR",
                    "description": f"{type(exc).__name__}: {exc}",
                },
            )
        else:
            task.update(status="SUCCEEDED", nice_status=None, nice_status_short_description=None)
        finally:
            self._jobs.pop(action_id, None)
        elapsed = time.monotonic() - started
        task.update(
            completion_time=now_iso(),
            effective_bytes_per_second=(
                int(task["bytes_transferred"] / elapsed) if elapsed > 0 else 0
            ),
        )
        status = SUCCEEDED if task["status"] == "SUCCEEDED" else FAILED
        self._actions.finish(action_id, status, task, display_status=task["nice_status"] or status)

    def _local(self, collection_id: str, path: str) -> str:
        try:
            return self.collections.resolve(collection_id, path)
        except PathRefused as exc:
            raise TransferFailed("PERMISSION_DENIED", str(exc)) from None

    def _confined(self, collection_id: str, local_path: str) -> str:
        """A path inside a task's tree, refused like a given path if a link leads it out."""
        try:
            return self.collections.confine(collection_id, local_path)
        except PathRefused as exc:
            raise TransferFailed("PERMISSION_DENIED", str(exc)) from None

    def _progress(self, action_id: str, job: _Job, task: dict) -> None:
        if job.cancel.is_set():
            raise _Canceled()
        self._actions.update(action_id, details=dict(task))

    def _transfer(self, action_id: str, job: _Job, task: dict) -> None:
        assert job.destination is not None
        # resolve every path first: a refused path must fail the task before anything is copied
        pairs = [
            (
                item,
                self._local(job.source, item["source_path"]),
                self._local(job.destination, item["destination_path"]),
            )
            for item in job.items
        ]
        for item, source, destination in pairs:
            self._progress(action_id, job, task)
            if not os.path.exists(source):
                raise TransferFailed(
                    "FILE_NOT_FOUND",
                    f"Source path '{item['source_path']}' not found on collection {job.source}",
                )
            if os.path.isdir(source):
                self._copy_tree(action_id, job, task, source, destination, item)
            else:
                if os.path.isdir(destination) or item["destination_path"].endswith("/"):
                    raise TransferFailed(
                        "IS_A_DIRECTORY",
                        f"Cannot transfer file '{item['source_path']}' to directory "
                        f"'{item['destination_path']}': a file's destination_path names the file",
                    )
                task["files"] += 1
                self._copy_file(job, task, source, destination)
        self._progress(action_id, job, task)

    def _copy_tree(
        self, action_id: str, job: _Job, task: dict, source: str, destination: str, item: dict
    ) -> None:
        assert job.destination is not None  # a transfer's
        if os.path.isfile(destination):
            raise TransferFailed(
                "NOT_A_DIRECTORY",
                f"Cannot transfer directory '{item['source_path']}' onto file '{item['destination_path']}'",
            )
        real_source = os.path.realpath(source)
        real_destination = os.path.realpath(destination)
        if real_destination == real_source or real_destination.startswith(real_source + os.sep):
            raise TransferFailed(
                "INVALID_PATH",
                f"Destination '{item['destination_path']}' is inside source '{item['source_path']}'",
            )
        for directory, subdirectories, files in os.walk(source):
            self._confined(job.source, directory)
            relative = os.path.relpath(directory, source)
            target = os.path.normpath(os.path.join(destination, relative))
            self._confined(job.destination, target)
            try:
                self._make_directories(job.destination, target)
            except OSError as exc:
                raise _os_failure(exc, f"Cannot create directory '{target}'") from None
            task["directories"] += 1
            for name in list(subdirectories):
                if os.path.islink(os.path.join(directory, name)):
                    subdirectories.remove(name)
                    task["symlinks"] += 1
            for name in files:
                path = os.path.join(directory, name)
                if os.path.islink(path) or not os.path.isfile(path):
                    task["symlinks" if os.path.islink(path) else "files_skipped"] += 1
                    continue
                task["files"] += 1
                self._copy_file(job, task, path, os.path.join(target, name))
                self._progress(action_id, job, task)

    def _copy_file(self, job: _Job, task: dict, source: str, destination: str) -> None:
        """Copy one file. Both ends are opened through descriptors checked to lie inside
        their collections (the source file itself, the destination's directory, in which
        the copy is made and renamed), so a link swapped in mid-task cannot lead out."""
        assert job.destination is not None
        self._confined(job.destination, destination)
        if os.path.isdir(destination):
            raise TransferFailed(
                "IS_A_DIRECTORY", f"Cannot replace directory '{destination}' with a file"
            )
        try:
            if not _files_differ(source, destination, job.body.get("sync_level")):
                task["files_skipped"] += 1
                return
            if os.path.exists(destination) and os.path.samefile(source, destination):
                task["files_skipped"] += 1
                return
            directory, name = os.path.split(destination)
            self._make_directories(job.destination, directory or os.curdir)
            source_fd = self._open(job.source, source, os.O_RDONLY)
            try:
                directory_fd = self._open(job.destination, directory or os.curdir,
                                          os.O_RDONLY | os.O_DIRECTORY)
                try:
                    size = self._write_copy(task, source_fd, directory_fd, name, destination,
                                            job.cancel)
                finally:
                    os.close(directory_fd)
            finally:
                os.close(source_fd)
        except OSError as exc:
            raise _os_failure(exc, f"Cannot copy '{source}' to '{destination}'") from None
        task["files_transferred"] += 1
        task["bytes_transferred"] += size

    def _write_copy(self, task: dict, source_fd: int, directory_fd: int, name: str,
                    destination: str, cancel: threading.Event) -> int:
        """Copy the open source into a new file of ours in the open directory (never a link
        someone left under a predictable name), then rename it to ``name``; its size.

        With ``verify_checksum``, the md5 of the copy is compared with the source's, as
        Globus Transfer does: a mismatch is copied once more, then fails the task
        (VERIFY_CHECKSUM), and a copy that does not match never replaces the destination."""
        info = os.fstat(source_fd)
        if not stat_module.S_ISREG(info.st_mode):
            raise TransferFailed("NOT_A_FILE", f"'{name}': the source is not a regular file")
        _remove_partials(directory_fd, name)  # left by a copy a crash interrupted
        partial = f"{name}.{uuid.uuid4().hex[:12]}{_COPY_SUFFIX}"
        out = os.open(partial, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600,
                      dir_fd=directory_fd)
        try:
            try:
                for attempt in range(2 if task["verify_checksum"] else 1):
                    _copy_open_file(source_fd, out, cancel)
                    if not task["verify_checksum"]:
                        break
                    expected, written = _checksum_of(source_fd), _checksum_of(out)
                    task["bytes_checksummed"] += os.fstat(out).st_size
                    if expected == written:
                        break
                    log.warning("checksum mismatch copying to %s (md5 %s, copy %s)",
                                destination, expected, written)
                else:
                    raise TransferFailed(
                        "VERIFY_CHECKSUM",
                        f"Checksum verification failed for '{destination}': md5 of the "
                        f"source is {expected}, of the copy {written}")
                os.fchmod(out, stat_module.S_IMODE(info.st_mode))
                if task["preserve_timestamp"]:
                    os.utime(out, ns=(info.st_atime_ns, info.st_mtime_ns))
                size = os.fstat(out).st_size
            finally:
                os.close(out)
            os.replace(partial, name, src_dir_fd=directory_fd, dst_dir_fd=directory_fd)
        except BaseException:
            try:
                os.unlink(partial, dir_fd=directory_fd)
            except OSError:
                pass
            raise
        return size

    def _open(self, collection_id: str, local_path: str, flags: int) -> int:
        try:
            return self.collections.open(collection_id, local_path, flags)
        except PathRefused as exc:
            raise TransferFailed("PERMISSION_DENIED", str(exc)) from None

    def _make_directories(self, collection_id: str, local_path: str) -> None:
        try:
            self.collections.make_directories(collection_id, local_path)
        except PathRefused as exc:
            raise TransferFailed("PERMISSION_DENIED", str(exc)) from None

    def _delete(self, action_id: str, job: _Job, task: dict) -> None:
        recursive = bool(job.body.get("recursive", False))
        ignore_missing = bool(job.body.get("ignore_missing", False))
        root = self.collections.get(job.source).root
        paths = [(item["path"], self._local(job.source, item["path"])) for item in job.items]
        for shown, path in paths:
            self._progress(action_id, job, task)
            if path == root or path == os.path.expanduser("~"):
                raise TransferFailed(
                    "PERMISSION_DENIED", f"Refusing to delete '{shown}', the root of the collection"
                )
            if not os.path.lexists(path):
                if ignore_missing:
                    continue
                raise TransferFailed(
                    "FILE_NOT_FOUND", f"Path '{shown}' not found on collection {job.source}"
                )
            try:
                if os.path.isdir(path) and not os.path.islink(path):
                    if not recursive:
                        raise TransferFailed(
                            "IS_A_DIRECTORY",
                            f"'{shown}' is a directory; set recursive to delete it",
                        )
                    for _, directories, files in os.walk(path):
                        task["directories"] += len(directories)
                        task["files"] += len(files)
                    task["directories"] += 1
                    self._remove(job.source, path, tree=True)
                else:
                    task["files"] += 1
                    self._remove(job.source, path, tree=False)
            except OSError as exc:
                raise _os_failure(exc, f"Cannot delete '{shown}'") from None
        self._progress(action_id, job, task)

    def _remove(self, collection_id: str, local_path: str, *, tree: bool) -> None:
        """Remove a file (or a link itself) or a whole tree, by name in its directory's
        checked descriptor: a parent swapped for a link cannot lead the removal out."""
        directory, name = os.path.split(local_path.rstrip(os.sep))
        fd = self._open(collection_id, directory or os.curdir, os.O_RDONLY | os.O_DIRECTORY)
        try:
            if not tree:
                os.unlink(name, dir_fd=fd)
            elif sys.version_info >= (3, 11):
                shutil.rmtree(name, dir_fd=fd)  # never follows links inside the tree
            else:
                shutil.rmtree(os.path.join(self.collections.confine(
                    collection_id, opened_path(fd) or directory), name))
        finally:
            os.close(fd)

    # -- synchronous routes: (status, details) ----------------------------------------------

    def _endpoint(self, body: dict) -> str:
        endpoint = body.get("endpoint_id", body.get("endpoint"))
        if not isinstance(endpoint, str) or not endpoint:
            raise bad_request(f"'{self.route}' needs 'endpoint_id' (a collection id)")
        return endpoint

    def _endpoint_and_path(self, body: dict, *, path_required: bool = True) -> tuple[str, str]:
        endpoint = self._endpoint(body)
        path = body.get("path")
        if path is None and not path_required:
            path = "/~/"
        if not isinstance(path, str) or not path:
            raise bad_request(f"'{self.route}' needs 'path'")
        return endpoint, path

    def _resource(self, endpoint: str, operation: str) -> str:
        return f"/operation/endpoint/{endpoint}/{operation}"

    def _resolve(self, endpoint: str, path: str, resource: str) -> str:
        """The local path, or the route fails with EndpointPermissionDenied."""
        try:
            return self.collections.resolve(endpoint, path)
        except PathRefused as exc:
            raise _RouteFailed(
                _error_details("EndpointPermissionDenied", str(exc), resource)
            ) from None

    def _ls(self, body: dict) -> tuple[str, dict]:
        endpoint, path = self._endpoint_and_path(body, path_required=False)
        limit, offset = body.get("limit", 100000), body.get("offset", 0)
        if not isinstance(limit, int) or not isinstance(offset, int) or limit < 0 or offset < 0:
            raise bad_request("'limit' and 'offset' must be non-negative integers")
        resource = self._resource(endpoint, "ls")
        local = self._resolve(endpoint, path, resource)
        if not os.path.exists(local):
            return FAILED, _error_details(
                "ClientError.NotFound", f"Directory '{path}' not found", resource
            )
        if not os.path.isdir(local):
            return FAILED, _error_details(
                "ExternalError.DirListingFailed.NotDirectory",
                f"'{path}' is not a directory",
                resource,
            )
        try:
            fd = self.collections.open_directory(endpoint, local)
        except PathRefused as exc:
            raise _RouteFailed(
                _error_details("EndpointPermissionDenied", str(exc), resource)) from None
        try:
            names = sorted(os.listdir(fd))  # what was checked is what is listed
        finally:
            os.close(fd)
        if body.get("show_hidden") is False:
            names = [name for name in names if not name.startswith(".")]
        keep = ls_filter(body["filter"]) if body.get("filter") else None
        entries = []
        for name in names:
            path = os.path.join(local, name)
            try:
                self.collections.confine(endpoint, path)
                inside = True
            except PathRefused:
                inside = False  # a link out of the root: describe the link, not its target
            try:
                entry = file_document(path, legacy=self.legacy, follow_link=inside)
            except OSError:
                continue  # vanished while listing, or a dangling link
            if keep is None or keep(entry):
                entries.append(entry)
        page = entries[offset : offset + limit]
        shown = self.collections.shown(endpoint, local).rstrip("/") + "/"
        return SUCCEEDED, {
            "DATA_TYPE": "file_list",
            "DATA": page,
            "path": shown,
            "absolute_path": None,
            "endpoint": endpoint,
            "length": len(page),
            "total": len(entries),
            "rename_supported": True,
            "symlink_supported": False,
        }

    def _stat(self, body: dict) -> tuple[str, dict]:
        endpoint, path = self._endpoint_and_path(body)
        resource = self._resource(endpoint, "stat")
        local = self._resolve(endpoint, path, resource)
        if not os.path.exists(local):
            return SUCCEEDED, _error_details(
                "NotFound", f"Path not found: '{path}' on collection {endpoint}", resource
            )
        return SUCCEEDED, file_document(local)

    def _mkdir_in(self, endpoint: str, parent: str, name: str) -> None:
        """``mkdir name`` in the collection's directory ``parent``, through its checked
        descriptor (PathRefused if it leads out of the root)."""
        fd = self.collections.open_directory(endpoint, parent)
        try:
            os.mkdir(name, dir_fd=fd)
        finally:
            os.close(fd)

    def _mkdir(self, body: dict) -> tuple[str, dict]:
        endpoint, path = self._endpoint_and_path(body)
        resource = self._resource(endpoint, "mkdir")
        local = self._resolve(endpoint, path, resource)
        parent, name = os.path.split(local.rstrip(os.sep))
        try:
            self._mkdir_in(endpoint, parent or os.curdir, name)
        except PathRefused as exc:
            raise _RouteFailed(
                _error_details("EndpointPermissionDenied", str(exc), resource)) from None
        except FileExistsError:
            return FAILED, _error_details(
                "ExternalError.MkdirFailed.Exists", f"Path already exists: '{path}'", resource
            )
        except FileNotFoundError:
            return FAILED, _error_details(
                "ClientError.NotFound", f"The parent directory of '{path}' does not exist", resource
            )
        except OSError as exc:
            return FAILED, _error_details(
                "ExternalError.MkdirFailed", f"Cannot create '{path}': {exc.strerror}", resource
            )
        return SUCCEEDED, {
            "DATA_TYPE": "mkdir_result",
            "code": "DirectoryCreated",
            "message": "The directory was created successfully",
            "request_id": uuid.uuid4().hex[:9],
            "resource": resource,
        }

    def _collection_info(self, body: dict) -> tuple[str, dict]:
        return SUCCEEDED, self.collections.info(self._endpoint(body))

    def _manage_permission(self, body: dict) -> tuple[str, dict]:
        endpoint = self._endpoint(body)
        operation = str(body.get("operation", "CREATE")).upper()
        resource = f"/endpoint/{endpoint}/access"
        rules = self.service.permissions
        if operation == "DELETE":
            rule_id = body.get("rule_id")
            if rules.pop(str(rule_id), None) is None:
                return FAILED, _error_details(
                    "AccessRuleNotFound", f"No access rule '{rule_id}'", resource
                )
            return SUCCEEDED, {
                "DATA_TYPE": "result",
                "code": "Deleted",
                "message": f"Access rule '{rule_id}' deleted successfully",
                "resource": resource,
            }
        if operation not in ("CREATE", "UPDATE"):
            raise bad_request(f"'operation' must be CREATE, UPDATE or DELETE, not {operation!r}")
        permissions = body.get("permissions")
        if permissions not in ("r", "rw"):
            raise bad_request(f"'permissions' must be 'r' or 'rw', not {permissions!r}")
        if operation == "UPDATE":
            rule_id = str(body.get("rule_id"))
            if rule_id not in rules:
                return FAILED, _error_details(
                    "AccessRuleNotFound", f"No access rule '{rule_id}'", resource
                )
            rules[rule_id] = dict(rules[rule_id], permissions=permissions)
            return SUCCEEDED, {
                "DATA_TYPE": "result",
                "code": "Updated",
                "message": f"Access rule '{rule_id}' updated successfully",
                "resource": resource,
            }
        principal_type = body.get("principal_type")
        if principal_type not in ("identity", "group", "all_authenticated_users", "anonymous"):
            raise bad_request(
                "'principal_type' must be identity, group, all_authenticated_users or anonymous, "
                f"not {principal_type!r}"
            )
        principal = body.get("principal", "")
        if principal_type in ("identity", "group") and not principal:
            raise bad_request(f"'principal' (the {principal_type} id) is required")
        _, path = self._endpoint_and_path(body)
        local = self._resolve(endpoint, path, resource)
        if not os.path.exists(local):
            return FAILED, _error_details(
                "ClientError.NotFound", f"Path '{path}' not found", resource
            )
        rule_id = str(uuid.uuid4())
        rules[rule_id] = {
            "DATA_TYPE": "access",
            "id": rule_id,
            "path": path,
            "permissions": permissions,
            "principal_type": principal_type,
            "principal": principal,
            "endpoint_id": endpoint,
        }
        return SUCCEEDED, {
            "DATA_TYPE": "access_create_result",
            "code": "Created",
            "message": "Access rule created successfully.",
            "access_id": rule_id,
            "request_id": uuid.uuid4().hex[:9],
            "resource": resource,
        }
