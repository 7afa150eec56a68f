"""Globus collection ids mapped to local directories, and collection paths to real paths.

An unmapped collection is the whole filesystem, so absolute paths just work and ``/~/x``
is ``x`` in the user's home directory. A mapped collection is confined to its root:
``/x`` and ``/~/x`` both resolve under it, and a path that leaves it (``..``, a symlink
pointing outside) is refused, as a Globus collection refuses paths outside its root.
"""

from __future__ import annotations

import getpass
import json
import os
import typing as t

from gladier.exc import ConfigException

#: Environment variable holding a JSON object: collection id -> root directory.
COLLECTIONS_ENV = "GLADIER_LOCAL_COLLECTIONS"

#: What ``collection_info`` reports for a mapped directory, and for the unmapped filesystem.
MAPPED_ENTITY_TYPE = "GCSv5_guest_collection"
FILESYSTEM_ENTITY_TYPE = "GCSv5_mapped_collection"


class PathRefused(Exception):
    """A collection path that leaves the collection's root directory."""


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


class LocalCollections:
    """``mapping``: collection id -> root directory, or -> ``{"root", "display_name"?,
    "entity_type"?}``. Ids not in the mapping are the whole filesystem."""

    def __init__(self, mapping: t.Mapping[str, t.Any] | None = None):
        self._mapped: dict[str, LocalCollection] = {}
        for collection_id, value in (mapping or {}).items():
            options = value if isinstance(value, dict) else {"root": value}
            root = options.get("root")
            if not isinstance(root, (str, os.PathLike)) or not str(root):
                raise ConfigException(
                    f"Collection '{collection_id}' needs a root directory, got {value!r}"
                )
            self._mapped[str(collection_id)] = LocalCollection(
                id=str(collection_id),
                root=os.path.realpath(os.path.expanduser(str(root))),
                mapped=True,
                display_name=options.get("display_name") or f"Local directory {root}",
                entity_type=options.get("entity_type") or MAPPED_ENTITY_TYPE,
            )

    def mapping(self) -> dict[str, dict]:
        """The mapping with absolute roots, as JSON data: a run keeps it, so another
        process continuing the run (another working directory, no ``--collections``) finds
        its files where it started them."""
        return {c.id: {"root": c.root, "display_name": c.display_name,
                       "entity_type": c.entity_type} for c in self._mapped.values()}

    def get(self, collection_id: str) -> LocalCollection:
        found = self._mapped.get(str(collection_id))
        if found is not None:
            return found
        return LocalCollection(
            id=str(collection_id),
            root=os.sep,
            mapped=False,
            display_name="Local filesystem",
            entity_type=FILESYSTEM_ENTITY_TYPE,
        )

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
