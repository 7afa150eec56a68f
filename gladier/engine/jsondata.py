"""What the engine keeps must be standard JSON, and when it is not, where it is not.

Run input, states' results, log entries, web inputs and flows are stored and shown as
JSON text. Python's ``json`` writes ``NaN`` and ``Infinity``, which the JSON standard (and
most readers: browsers, ``jq``, the Flows service) refuses, so they are refused here like
complex numbers and Python objects, with the JSON path of the first offending value.

JSON that nests deeper than :data:`MAX_DEPTH` levels or holds an integer of more than
:data:`MAX_INTEGER_DIGITS` digits is refused too, naming the limit: every part of the
engine that walks a run state (parameters, private values, logs) then stays far from
Python's recursion limit, and no number costs more than a moment to write.
"""

from __future__ import annotations

import json
import math
import typing as t

from gladier.engine.paths import format_path
from gladier.exc import NotJSONData


#: Deepest nesting of objects and lists the engine takes (levels).
MAX_DEPTH = 100
#: Longest integer the engine takes (decimal digits; Python's own limit for writing one).
MAX_INTEGER_DIGITS = 4300
_MAX_INTEGER_BITS = int(MAX_INTEGER_DIGITS * math.log2(10))
#: ``json.dumps(value, allow_nan=False)``, with the encoder made once, not per call (no
#: check for cycles: :func:`check_bounds` refuses them first, as too deep).
_encode = json.JSONEncoder(allow_nan=False, check_circular=False).encode


class Encoded(dict):
    """A JSON object that carries its JSON text, which :func:`json_text` returns as it is:
    a log entry showing a run state is written with the text that run state was stored
    as, not encoded again (see :func:`encoded_object`)."""

    __slots__ = ("text",)
    text: str


def encoded_object(value: dict, key: str, text: str) -> Encoded:
    """``value`` (a dict of JSON data) as an :class:`Encoded` whose ``key`` is written as
    ``text``, the checked JSON text of ``value[key]``."""
    encoded = Encoded(value)
    encoded.text = "{" + ", ".join(
        f"{_encode(str(name))}: {text if name == key else json_text(item, 'it')}"
        for name, item in value.items()) + "}"
    return encoded


def check_bounds(value: t.Any, what: str) -> None:
    """NotJSONData if ``value`` nests deeper than :data:`MAX_DEPTH` or holds an integer
    longer than :data:`MAX_INTEGER_DIGITS` digits (walked without recursion)."""
    if not _within_bounds(value):
        _refuse_bounds(value, what)


def _within_bounds(value: t.Any) -> bool:
    """The quick walk of :func:`check_bounds` (every value of a run state passes here on
    each transition): depths only, no paths; :func:`_refuse_bounds` finds the place."""
    if isinstance(value, int):
        return value.bit_length() <= _MAX_INTEGER_BITS
    if not isinstance(value, (dict, list, tuple)):
        return True
    todo = [(value, 0)]
    while todo:
        node, depth = todo.pop()
        if depth >= MAX_DEPTH:
            return False
        # items(), as json.dumps reads a mapping (a failing one fails the same way)
        for _, item in node.items() if isinstance(node, dict) else enumerate(node):
            if isinstance(item, (dict, list, tuple)):
                todo.append((item, depth + 1))
            elif isinstance(item, int) and item.bit_length() > _MAX_INTEGER_BITS:
                return False
    return True


def _refuse_bounds(value: t.Any, what: str) -> None:
    """Raise NotJSONData naming the first place of ``value`` beyond the bounds."""
    stack: list[tuple[t.Any, tuple]] = [(value, ())]
    while stack:
        node, segments = stack.pop()
        if isinstance(node, int) and not isinstance(node, bool):
            if abs(node).bit_length() > _MAX_INTEGER_BITS:
                raise NotJSONData(
                    f"{what} is not JSON data the engine takes: {format_path(segments)} is "
                    f"an integer of more than {MAX_INTEGER_DIGITS} digits (the limit)")
            continue
        if not isinstance(node, (dict, list, tuple)):
            continue
        if len(segments) >= MAX_DEPTH:
            raise NotJSONData(
                f"{what} is not JSON data the engine takes: it nests deeper than "
                f"{MAX_DEPTH} levels (the limit) at {format_path(segments[:8])}... "
                "(store deep documents in files and keep their paths in the run state)")
        items = node.items() if isinstance(node, dict) else enumerate(node)
        stack.extend((item, (*segments, str(key) if isinstance(node, dict) else key))
                     for key, item in items)


def load_json(text: str | bytes, what: str) -> t.Any:
    """Parse JSON text, with NotJSONData (naming the limit) instead of a RecursionError
    or Python's integer-length ValueError for text nested too deeply or holding a huge
    integer; ``json.JSONDecodeError`` for text that is not JSON at all."""
    try:
        value = json.loads(text)
    except RecursionError:
        raise NotJSONData(f"{what} is not JSON data the engine takes: it nests deeper "
                          f"than {MAX_DEPTH} levels (the limit)") from None
    except json.JSONDecodeError:
        raise
    except ValueError:  # Python refuses to read an integer that long
        raise NotJSONData(f"{what} is not JSON data the engine takes: it holds an integer "
                          f"of more than {MAX_INTEGER_DIGITS} digits (the limit)") from None
    check_bounds(value, what)
    return value


def json_text(value: t.Any, what: str) -> str:
    """``value`` as standard JSON text, or NotJSONData: ``<what> is not JSON data: <where>``
    (also for data beyond :func:`check_bounds`)."""
    if type(value) is Encoded:
        return value.text
    try:
        check_bounds(value, what)
        return _encode(value)
    except NotJSONData:
        raise
    except Exception as err:  # TypeError, ValueError, RecursionError, or a mapping's own
        try:
            where = _not_json_at(value, ())
        except Exception:  # cyclic, nested too deeply, or failing to walk
            where = None
        raise NotJSONData(f"{what} is not JSON data: {where or err}") from None


def _not_json_at(value: t.Any, segments: tuple) -> str | None:
    """The first part of ``value`` that is not JSON, as ``$.path is <what>``."""
    if value is None or isinstance(value, (str, bool, int)):
        return None
    if isinstance(value, float):
        if math.isfinite(value):
            return None
        return f"{format_path(segments)} is {value!r} (JSON has no NaN or Infinity)"
    if isinstance(value, dict):
        for key, item in value.items():
            if key is not None and not isinstance(key, (str, int, float, bool)):
                return f"{format_path(segments)} has a {type(key).__name__} key {key!r:.80}"
            found = _not_json_at(item, (*segments, str(key)))
            if found:
                return found
        return None
    if isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            found = _not_json_at(item, (*segments, index))
            if found:
                return found
        return None
    return f"{format_path(segments)} is {value!r:.80} (a Python {type(value).__name__})"
