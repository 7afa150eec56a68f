"""Reference paths of the flow language: ``$``, ``$.a.b``, ``$.a[0].b``, ``$.a['odd key']``.

The service uses ASL reference paths (no wildcards, no filters). Parsing is cached because
the same few paths are resolved for every run of a flow.
"""

from __future__ import annotations

import functools
import re
import typing as t

from gladier.exc import PathError

Segment = t.Union[str, int]

_TOKEN = re.compile(
    r"""
      \.(?P<name>[^.\[\]]+)          # .name
    | \[(?P<index>-?\d+)\]           # [0]
    | \[(?P<q>['"])(?P<quoted>.*?)(?P=q)\]   # ['name'] or ["name"]
    """,
    re.VERBOSE,
)


class PathNotFound(PathError):
    """The path is well formed but the data has nothing there."""


def is_path(value: t.Any) -> bool:
    """True for strings that look like a reference path (``$`` or ``$.…`` / ``$[…``)."""
    return isinstance(value, str) and (value == "$" or value.startswith(("$.", "$[")))


@functools.lru_cache(maxsize=4096)
def parse_path(path: str) -> tuple[Segment, ...]:
    """Split a path into keys (str) and list indexes (int); ``$`` is the empty tuple."""
    if not isinstance(path, str) or not path.startswith("$"):
        raise PathError(f"'{path}' is not a JSON path: it must start with '$.'", str(path))
    segments: list[Segment] = []
    pos = 1
    while pos < len(path):
        match = _TOKEN.match(path, pos)
        if match is None:
            raise PathError(
                f"'{path}' is not a valid JSON path (unexpected text at character {pos}: "
                f"'{path[pos:pos + 10]}')",
                path,
            )
        if match.group("name") is not None:
            segments.append(match.group("name"))
        elif match.group("index") is not None:
            segments.append(int(match.group("index")))
        else:
            segments.append(match.group("quoted"))
        pos = match.end()
    return tuple(segments)


def format_path(segments: t.Iterable[Segment]) -> str:
    """The inverse of :func:`parse_path`."""
    out = "$"
    for seg in segments:
        if isinstance(seg, int):
            out += f"[{seg}]"
        elif re.fullmatch(r"[^.\[\]'\"\s]+", seg):
            out += f".{seg}"
        else:
            out += f"['{seg}']"
    return out


def get_path(data: t.Any, path: str) -> t.Any:
    """Return the value at ``path``; raise :class:`PathNotFound` naming the missing part."""
    value = data
    for depth, seg in enumerate(parse_path(path)):
        try:
            if isinstance(seg, int):
                if not isinstance(value, list):
                    raise TypeError
                value = value[seg]
            else:
                if not isinstance(value, dict):
                    raise TypeError
                value = value[seg]
        except (KeyError, IndexError, TypeError):
            missing = format_path(parse_path(path)[: depth + 1])
            raise PathNotFound(
                f"The path '{path}' could not be found in the state input "
                f"(nothing at '{missing}')",
                path,
            ) from None
    return value


def has_path(data: t.Any, path: str) -> bool:
    """True when :func:`get_path` would find a value (``None`` counts as present)."""
    try:
        get_path(data, path)
    except PathNotFound:
        return False
    return True


def set_path(data: dict, path: str, value: t.Any) -> dict:
    """Store ``value`` at ``path`` inside ``data``, creating objects on the way.

    Returns the new root: ``$`` replaces the whole document, so callers must use the
    return value. Writing through a list index requires the list element to exist.
    """
    segments = parse_path(path)
    if not segments:
        return value
    if not isinstance(data, dict):
        data = {}
    node: t.Any = data
    for depth, seg in enumerate(segments[:-1]):
        nxt = segments[depth + 1]
        if isinstance(seg, int):
            if not isinstance(node, list) or not -len(node) <= seg < len(node):
                raise PathError(f"Cannot write to '{path}': no list element at index {seg}", path)
            if not isinstance(node[seg], (dict, list)):
                node[seg] = [] if isinstance(nxt, int) else {}
            node = node[seg]
        else:
            child = node.get(seg)
            if not isinstance(child, (dict, list)):
                child = node[seg] = {}
            node = child
    last = segments[-1]
    if isinstance(last, int):
        if not isinstance(node, list) or not -len(node) <= last < len(node):
            raise PathError(f"Cannot write to '{path}': no list element at index {last}", path)
        node[last] = value
    elif isinstance(node, dict):
        node[last] = value
    else:
        raise PathError(f"Cannot write to '{path}': its parent is a list, not an object", path)
    return data
