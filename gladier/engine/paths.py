"""JSON paths of the flow language.

Two kinds, as in the Amazon States Language the Flows service starts from:

- **reference paths** (``$``, ``$.a.b``, ``$.a[0].b``, ``$.a['odd key']``) name one
  location. ``ResultPath`` and every path the engine writes through are reference paths.
- **JSONPath queries**, read by ``.$`` parameters, ``InputPath``, choice ``Variable`` and the
  other ``...Path`` fields, may also select many values: ``[*]`` and ``.*`` (every element
  or member), slices ``[start:stop:step]``, unions ``[0,2]``/``['a','b']`` and ``..name``
  (the name at any depth). A query that can select many values reads as the list of what
  it selects, in document order (Globus's complex-hello-world example reads
  ``$.input.Hellos[1:]`` this way). Filter expressions (``[?(...)]``) are refused by name.

Parsing is cached because the same few paths are resolved for every run of a flow.
"""

from __future__ import annotations

import functools
import re
import typing as t

from gladier.exc import PathError

Segment = t.Union[str, int]


class Wildcard(t.NamedTuple):
    """``[*]`` or ``.*``: every element of a list, every member value of an object."""


class Slice(t.NamedTuple):
    """``[start:stop:step]`` of a list, as Python slices it."""

    start: int | None
    stop: int | None
    step: int | None


class Union(t.NamedTuple):
    """``[0,2]`` or ``['a','b']``: each listed index or name, in the order written."""

    members: tuple


class Descendant(t.NamedTuple):
    """``..name`` or ``..*``: the name (or every value) at any depth below."""

    name: t.Any  # a str, or Wildcard()


Selector = t.Union[str, int, Wildcard, Slice, Union, Descendant]

_NAME = re.compile(r"[^.\[\]]+")
_INDEX = re.compile(r"-?\d+")


class PathNotFound(PathError):
    """The path is well formed but the data has nothing there."""


def is_path(value: t.Any) -> bool:
    """True for strings that look like a path (``$`` or ``$.…`` / ``$[…``)."""
    return isinstance(value, str) and (value == "$" or value.startswith(("$.", "$[")))


def _refuse(path: str, pos: int, why: str) -> PathError:
    shown = path[pos:pos + 12]
    return PathError(f"'{path}' is not a valid JSON path: {why} at character {pos} ('{shown}')",
                     path)


class _Parser:
    """One pass over a path's text, left to right."""

    def __init__(self, path: str):
        self.path = path
        self.pos = 1

    def fail(self, why: str, pos: int | None = None) -> PathError:
        return _refuse(self.path, self.pos if pos is None else pos, why)

    def parse(self) -> tuple:
        selectors: list = []
        path = self.path
        while self.pos < len(path):
            if path.startswith("..", self.pos):
                self.pos += 2
                selectors.append(Descendant(self.member("after '..'")))
            elif path[self.pos] == ".":
                self.pos += 1
                selectors.append(self.member("after '.'"))
            elif path[self.pos] == "[":
                selectors.append(self.bracket())
            else:
                raise self.fail("expected '.name' or '[...]'")
        return tuple(selectors)

    def member(self, where: str) -> t.Any:
        if self.path.startswith("[", self.pos):
            selector = self.bracket()
            if isinstance(selector, (str, Wildcard)):
                return selector
            raise self.fail(f"expected a name {where}")
        match = _NAME.match(self.path, self.pos)
        if match is None:
            raise self.fail(f"expected a name {where}")
        self.pos = match.end()
        return Wildcard() if match.group() == "*" else match.group()

    def bracket(self) -> Selector:
        start = self.pos
        close = self._closing_bracket()
        body = self.path[start + 1:close].strip()
        self.pos = close + 1
        if body == "*":
            return Wildcard()
        if body.startswith("?") or body.startswith("("):
            raise self.fail("filter and script expressions ('[?(...)]', '[(...)]') are not "
                            "supported", start)
        if ":" in body and not body.startswith(("'", '"')):
            parts = [p.strip() for p in body.split(":")]
            if len(parts) > 3 or not all(p == "" or _INDEX.fullmatch(p) for p in parts):
                raise self.fail("a slice is [start:stop] or [start:stop:step] of integers", start)
            numbers = [int(p) if p else None for p in parts] + [None] * (3 - len(parts))
            if numbers[2] == 0:
                raise self.fail("a slice step cannot be 0", start)
            return Slice(*numbers)
        members = [self._member_literal(part.strip(), start) for part in self._split(body, start)]
        if len(members) == 1:
            return members[0]
        return Union(tuple(members))

    def _closing_bracket(self) -> int:
        pos, quote = self.pos + 1, None
        while pos < len(self.path):
            char = self.path[pos]
            if quote:
                if char == "\\":
                    pos += 1
                elif char == quote:
                    quote = None
            elif char in "'\"":
                quote = char
            elif char == "]":
                return pos
            pos += 1
        raise self.fail("'[' is never closed")

    def _split(self, body: str, start: int) -> list[str]:
        parts, current, quote = [], "", None
        for char in body:
            if quote:
                current += char
                if char == quote:
                    quote = None
            elif char in "'\"":
                quote = char
                current += char
            elif char == ",":
                parts.append(current)
                current = ""
            else:
                current += char
        parts.append(current)
        if any(not part.strip() for part in parts):
            raise self.fail("an empty entry inside '[...]'", start)
        return parts

    def _member_literal(self, text: str, start: int) -> Segment:
        if _INDEX.fullmatch(text):
            return int(text)
        if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
            inner = text[1:-1]
            return re.sub(r"\\(.)", r"\1", inner)
        raise self.fail("expected an index, a quoted name, '*' or a slice inside '[...]'", start)


@functools.lru_cache(maxsize=4096)
def parse_query(path: str) -> tuple:
    """Split a JSONPath query into selectors: names (str), indexes (int), and
    :class:`Wildcard`, :class:`Slice`, :class:`Union`, :class:`Descendant`."""
    if not isinstance(path, str) or not path.startswith("$"):
        raise PathError(f"'{path}' is not a JSON path: it must start with '$.'", str(path))
    return _Parser(path).parse()


def is_singular(selectors: t.Iterable) -> bool:
    """True when every selector names one place (a name or an index)."""
    return all(isinstance(s, (str, int)) for s in selectors)


@functools.lru_cache(maxsize=4096)
def parse_path(path: str) -> tuple[Segment, ...]:
    """Split a reference path into keys (str) and list indexes (int); ``$`` is ``()``.

    Queries that can select many values are refused, naming the selector and where."""
    selectors = parse_query(path)
    if not is_singular(selectors):
        many = next(s for s in selectors if not isinstance(s, (str, int)))
        raise PathError(
            f"'{path}' selects many values ({_describe(many)}); a reference path such as "
            "ResultPath names one location: only '.name', \"['name']\" and '[index]'", path)
    return selectors


def _describe(selector: t.Any) -> str:
    if isinstance(selector, Wildcard):
        return "a '*' wildcard"
    if isinstance(selector, Slice):
        return "a '[start:stop]' slice"
    if isinstance(selector, Union):
        return "a '[a,b]' union"
    return "a '..' descendant"


def format_path(segments: t.Iterable[Segment]) -> str:
    """The inverse of :func:`parse_path`."""
    out = "$"
    for seg in segments:
        if isinstance(seg, int):
            out += f"[{seg}]"
        elif re.fullmatch(r"[^.\[\]'\"\s*]+", seg):
            out += f".{seg}"
        else:
            out += "['" + seg.replace("\\", "\\\\").replace("'", "\\'") + "']"
    return out


def _children(value: t.Any) -> list:
    if isinstance(value, dict):
        return list(value.values())
    if isinstance(value, list):
        return list(value)
    return []


def _select(value: t.Any, selector: t.Any) -> list:
    """The values one selector picks from ``value`` (none when it has nothing there)."""
    if isinstance(selector, str):
        return [value[selector]] if isinstance(value, dict) and selector in value else []
    if isinstance(selector, int):
        if isinstance(value, list) and -len(value) <= selector < len(value):
            return [value[selector]]
        return []
    if isinstance(selector, Wildcard):
        return _children(value)
    if isinstance(selector, Slice):
        return value[slice(*selector)] if isinstance(value, list) else []
    if isinstance(selector, Union):
        return [found for member in selector.members for found in _select(value, member)]
    found: list = []
    stack = [value]
    while stack:  # Descendant: document order, without recursion
        node = stack.pop()
        found.extend(_select(node, selector.name))
        stack.extend(reversed([c for c in _children(node) if isinstance(c, (dict, list))]))
    return found


def get_path(data: t.Any, path: str) -> t.Any:
    """Return the value at ``path``; raise :class:`PathNotFound` naming the missing part.

    A query that can select many values returns the list of what it selects; the part
    before its first many-valued selector must exist (``$.files[*].name`` needs
    ``$.files``), what follows may select nothing (an empty list)."""
    selectors = parse_query(path)
    value = data
    for depth, selector in enumerate(selectors):
        if not isinstance(selector, (str, int)):
            values = [value]
            for rest in selectors[depth:]:
                values = [found for item in values for found in _select(item, rest)]
            return values
        found = _select(value, selector)
        if not found:
            missing = format_path(selectors[: depth + 1])
            raise PathNotFound(
                f"The path '{path}' could not be found in the state input "
                f"(nothing at '{missing}')",
                path,
            )
        value = found[0]
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


def delete_path(data: t.Any, path: str) -> t.Any:
    """Remove what a reference ``path`` names from ``data`` (in place) and return ``data``;
    nothing happens when there is nothing there."""
    segments = parse_path(path)
    if not segments:
        return data
    node = data
    for segment in segments[:-1]:
        found = _select(node, segment)
        if not found:
            return data
        node = found[0]
    last = segments[-1]
    if isinstance(node, dict) and isinstance(last, str):
        node.pop(last, None)
    elif isinstance(node, list) and isinstance(last, int) and -len(node) <= last < len(node):
        del node[last]
    return data
