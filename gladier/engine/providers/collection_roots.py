"""Globus collection ids mapped to local directories, and collection paths to real paths.

The embedded engine touches only the collections it was given: an id that is not mapped
is refused (:class:`CollectionNotMapped`, naming the id and how to map it) before anything
is read or written. Ids compare as UUIDs, so ``ABC…`` and ``abc… `` are one collection. A
mapped collection is confined to its root: ``/x`` and ``/~/x`` both resolve under it, and
a path that leaves it (``..``, a symlink pointing outside) is refused, as a Globus
collection refuses paths outside its root.

The key ``"*"`` maps every id not mapped otherwise: to a directory (confined like any
other), or to ``"/"``, the whole filesystem, where absolute paths are used as they are and
``/~/x`` is ``x`` in the user's home directory (what older releases did for every
unmapped id, now only when asked for).
"""

from __future__ import annotations

import getpass
import json
import os
import sys
import typing as t
import uuid

from gladier.exc import ConfigException

#: Environment variable holding a JSON object: collection id -> root directory.
COLLECTIONS_ENV = "GLADIER_LOCAL_COLLECTIONS"

#: What ``collection_info`` reports for a mapped directory, and for the unmapped filesystem.
MAPPED_ENTITY_TYPE = "GCSv5_guest_collection"
FILESYSTEM_ENTITY_TYPE = "GCSv5_mapped_collection"


#: The mapping key for every collection id not mapped otherwise.
ANY_COLLECTION = "*"


class PathRefused(Exception):
    """A collection path that leaves the collection's root directory."""


class CollectionNotMapped(Exception):
    """A collection id the engine was not given a directory for."""


def normalize_id(collection_id: t.Any) -> str:
    """A collection id as it is compared: a UUID in its canonical lower-case form
    (whitespace, case, braces or missing hyphens do not make another collection), any
    other id without surrounding whitespace."""
    text = str(collection_id).strip()
    try:
        return str(uuid.UUID(text))
    except ValueError:
        return text


class LocalCollection(t.NamedTuple):
    id: str
    root: str  # real absolute path of the root directory
    mapped: bool
    display_name: str
    entity_type: str


def collections_from_env(environ: t.Mapping[str, str] | None = None) -> dict[str, t.Any]:
    """The mapping in ``GLADIER_LOCAL_COLLECTIONS`` (empty when unset)."""
    raw = (environ if environ is not None else os.environ).get(COLLECTIONS_ENV, "").strip()
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except ValueError as exc:
        raise ConfigException(
            f"{COLLECTIONS_ENV} is not valid JSON ({exc}): {raw[:80]!r}"
        ) from None
    if not isinstance(value, dict):
        raise ConfigException(
            f"{COLLECTIONS_ENV} must be a JSON object (collection id -> directory)"
        )
    return value


def _within(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def opened_path(fd: int) -> str | None:
    """The real path of what ``fd`` has open (Linux ``/proc``, macOS ``F_GETPATH``), or
    None where the system cannot say."""
    if sys.platform.startswith("linux"):
        try:
            return os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            return None
    import fcntl

    getpath = getattr(fcntl, "F_GETPATH", None)
    if getpath is None:
        return None
    try:
        return os.fsdecode(fcntl.fcntl(fd, getpath, bytes(1024)).rstrip(b"\0"))
    except OSError:
        return None


class LocalCollections:
    """``mapping``: collection id -> root directory, or -> ``{"root", "display_name"?,
    "entity_type"?}``; ``"*"`` for every other id (``"*": "/"``: the whole filesystem).
    Other ids are refused. Of two keys naming one collection, the later wins."""

    def __init__(self, mapping: t.Mapping[str, t.Any] | None = None):
        self._mapped: dict[str, LocalCollection] = {}
        for collection_id, value in (mapping or {}).items():
            options = value if isinstance(value, dict) else {"root": value}
            root = options.get("root")
            if not isinstance(root, (str, os.PathLike)) or not str(root):
                raise ConfigException(
                    f"Collection '{collection_id}' needs a root directory, got {value!r}"
                )
            key = normalize_id(collection_id)
            real_root = os.path.realpath(os.path.expanduser(str(root)))
            whole = key == ANY_COLLECTION and real_root == os.sep
            self._mapped[key] = LocalCollection(
                id=key,
                root=real_root,
                mapped=not whole,
                display_name=options.get("display_name") or (
                    "Local filesystem" if whole else f"Local directory {root}"),
                entity_type=options.get("entity_type") or (
                    FILESYSTEM_ENTITY_TYPE if whole else MAPPED_ENTITY_TYPE),
            )

    def mapping(self) -> dict[str, dict]:
        """The mapping with absolute roots, as JSON data: a run keeps it, so another
        process continuing the run (another working directory, no ``--collections``) finds
        its files where it started them."""
        return {c.id: {"root": c.root, "display_name": c.display_name,
                       "entity_type": c.entity_type} for c in self._mapped.values()}

    def get(self, collection_id: str) -> LocalCollection:
        """The collection ``collection_id`` names; CollectionNotMapped if none does."""
        key = normalize_id(collection_id)
        found = self._mapped.get(key) or self._mapped.get(ANY_COLLECTION)
        if found is None:
            raise CollectionNotMapped(
                f"Collection {key} is not mapped to a local directory, and the embedded "
                "engine touches only the collections it is given: map it with "
                f"GLADIER_LOCAL_COLLECTIONS='{{\"{key}\": \"/path/to/dir\"}}' (or "
                f"collections={{\"{key}\": \"/path/to/dir\"}}, or --collections), or map "
                "\"*\": \"/\" to let every unmapped collection be the whole filesystem")
        return found._replace(id=key)

    def resolve(self, collection_id: str, path: str) -> str:
        """The local path for ``path`` on the collection (PathRefused if it leaves the root)."""
        collection = self.get(collection_id)
        if "\x00" in path:
            raise PathRefused(f"Path {path!r} on collection {collection_id} contains a NUL byte")
        if path in ("~", "/~") or path.startswith(("~/", "/~/")):
            relative = path.split("~", 1)[1].lstrip("/")
            base = collection.root if collection.mapped else os.path.expanduser("~")
        elif collection.mapped:
            relative, base = path.lstrip("/"), collection.root
        else:
            relative = path
            base = os.path.expanduser("~")  # a relative path starts in the home directory
        candidate = os.path.normpath(os.path.join(base, relative))
        if collection.mapped and not _within(candidate, collection.root):
            raise PathRefused(f"Path '{path}' leaves the root of collection {collection_id}")
        return self.confine(collection_id, candidate, shown=path)

    def confine(self, collection_id: str, local_path: str, *, shown: str | None = None) -> str:
        """``local_path`` if its real path stays inside the collection's root, else
        PathRefused. Checked for every file and directory a task reads or writes, not
        only the paths it was given: a symbolic link deeper in a tree (the destination's
        ``dst/nested -> /elsewhere``) must not lead out either."""
        collection = self.get(collection_id)
        if collection.mapped and not _within(os.path.realpath(local_path), collection.root):
            shown = shown if shown is not None else self.shown(collection_id, local_path)
            raise PathRefused(
                f"Path '{shown}' on collection {collection_id} follows a symbolic link out "
                "of its root"
            )
        return local_path

    def open(self, collection_id: str, local_path: str, flags: int, mode: int = 0o600, *,
             dir_fd: int | None = None) -> int:
        """``os.open`` a file or directory of the collection, then look at what was
        opened: if its real path is outside the root, it is closed and PathRefused. So a
        symbolic link swapped in after a path was checked (mid-task) cannot lead out."""
        fd = os.open(local_path, flags, mode, dir_fd=dir_fd)
        collection = self.get(collection_id)
        if not collection.mapped:
            return fd
        real = opened_path(fd)
        if real is None:  # no way to ask the system: the path, as late as can be
            real = os.path.realpath(local_path if dir_fd is None else opened_path(dir_fd)
                                    or local_path)
        if not _within(real, collection.root):
            os.close(fd)
            raise PathRefused(
                f"Path '{self.shown(collection_id, local_path)}' on collection "
                f"{collection_id} follows a symbolic link out of its root")
        return fd

    def open_directory(self, collection_id: str, local_path: str) -> int:
        """A descriptor of a directory of the collection (see :meth:`open`): files made,
        removed or renamed through it (``dir_fd=``) stay inside the root."""
        return self.open(collection_id, local_path, os.O_RDONLY | os.O_DIRECTORY)

    def make_directories(self, collection_id: str, local_path: str) -> None:
        """``os.makedirs`` whose every directory is made inside a confined parent."""
        if os.path.isdir(local_path):
            self.confine(collection_id, local_path)
            return
        parent, name = os.path.split(local_path.rstrip(os.sep))
        if parent and parent != local_path:
            self.make_directories(collection_id, parent)
        fd = self.open_directory(collection_id, parent or os.curdir)
        try:
            os.mkdir(name, 0o777, dir_fd=fd)
        except FileExistsError:
            pass
        finally:
            os.close(fd)
        self.confine(collection_id, local_path)

    def shown(self, collection_id: str, local_path: str) -> str:
        """How the collection names a local path (relative to a mapped root)."""
        collection = self.get(collection_id)
        if not collection.mapped:
            return local_path
        relative = os.path.relpath(local_path, collection.root).replace(os.sep, "/")
        return "/" if relative == "." else "/" + relative

    def info(self, collection_id: str) -> dict:
        """An endpoint document shaped like Transfer's ``GET /endpoint/<id>``."""
        collection = self.get(collection_id)
        user = getpass.getuser()
        return {
            "DATA_TYPE": "endpoint",
            "id": collection.id,
            "display_name": collection.display_name,
            "entity_type": collection.entity_type,
            "description": f"Local directory {collection.root} (gladier embedded engine)",
            "owner_string": user,
            "username": user,
            "organization": None,
            "public": False,
            "is_globus_connect": False,
            "gcs_version": None,
            "host_endpoint_id": None,
            "default_directory": "/~/",
            "local_root": collection.root,
            "non_functional": False,
            "activated": True,
            "acl_available": collection.mapped,
            "acl_editable": collection.mapped,
            "shareable": True,
        }
