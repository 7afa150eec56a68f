"""What the engine keeps must be standard JSON, and when it is not, where it is not.

Run input, states' results, log entries, web inputs and flows are stored and shown as
JSON text. Python's ``json`` writes ``NaN`` and ``Infinity``, which the JSON standard (and
most readers: browsers, ``jq``, the Flows service) refuses, so they are refused here like
complex numbers and Python objects, with the JSON path of the first offending value.
"""

from __future__ import annotations

import json
import math
import typing as t

from gladier.engine.paths import format_path
from gladier.exc import NotJSONData


def json_text(value: t.Any, what: str) -> str:
    """``value`` as standard JSON text, or NotJSONData: ``<what> is not JSON data: <where>``."""
    try:
        return json.dumps(value, allow_nan=False)
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
