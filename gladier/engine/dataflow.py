"""Which run-state keys can exist when each state of a flow runs: the data-flow check.

The Flows service answers 422 ``FLOW_VALIDATION_FAILED`` when a reference names a key the
run state cannot hold at that state, naming the valid keys and the states they came from.
This module computes, for every state, what every path from ``StartAt`` may have put in
the run state's top level:

- the run input: the top-level ``properties`` of the input schema (each counted as given)
  when it is closed (``"additionalProperties": false``), else anything;
- each state's ``ResultPath`` (its first key), on its ``Next``/``Choices``/``Default``
  edges, and each catcher's ``ResultPath`` on its ``Catch`` edge;
- a state writing its result at ``$`` replaces the run state: with keys known from a
  ``Parameters`` object or ``Result`` object (Pass, ExpressionEval), with unknown keys
  otherwise (an action's status, an error object);
- a Pass with ``InputPath`` and ``ResultPath`` moves its source key away.

:func:`analyse` returns :class:`Facts` per state. A key no path provides, where every path
is known, cannot exist (an error); a key only some paths provide may not (a warning).
"""

from __future__ import annotations

import dataclasses
import typing as t

from gladier.engine.paths import PathError, parse_path, parse_query

INPUT = ""
"""The source name of keys that come from the run input."""
RESULT_WRITING_TYPES = frozenset(
    {"Action", "Pass", "ExpressionEval", "CreateWebInput", "AwaitWebInput"}
)
_SCHEMA_COMBINATORS = ("allOf", "anyOf", "oneOf", "$ref", "if", "patternProperties", "not")


@dataclasses.dataclass(frozen=True)
class Facts:
    """What the run state's top level may hold when a state starts.

    ``keys`` maps each key some path provides to its writers: ``(source, segments)`` pairs,
    ``source`` a state name (or :data:`INPUT`), ``segments`` the path written. ``must`` are
    the keys every path provides; ``open`` is true when some path may hold keys not known
    here (the input without a closed schema, a state's result stored at ``$``)."""

    keys: t.Mapping[str, frozenset]
    must: frozenset
    open: bool
    replaced: bool = False
    """Some path stored a result of unknown shape at ``$`` (an action's status)."""

    def join(self, other: "Facts") -> "Facts":
        keys = dict(self.keys)
        for key, writers in other.keys.items():
            keys[key] = keys.get(key, frozenset()) | writers
        return Facts(keys, self.must & other.must, self.open or other.open,
                     self.replaced or other.replaced)

    def write(self, source: str, segments: tuple) -> "Facts":
        """``source`` writes at ``segments``: what earlier writers put at or under that
        path is gone (so a chain of states writing one key keeps one writer, not all)."""
        key = segments[0]
        if not isinstance(key, str):
            return self
        keys = dict(self.keys)
        keys[key] = frozenset(
            {writer for writer in keys.get(key, ())
             if writer[1][:len(segments)] != segments} | {(source, segments)})
        return Facts(keys, self.must | {key}, self.open, self.replaced)

    def without(self, key: str) -> "Facts":
        keys = {k: v for k, v in self.keys.items() if k != key}
        return Facts(keys, self.must - {key}, self.open, self.replaced)

    def sources(self, key: str) -> list[str]:
        """Who provides ``key``, for messages: 'the input schema' or 'state X'."""
        names = sorted({source for source, _ in self.keys.get(key, ())})
        return ["the input schema" if name == INPUT else f"state '{name}'" for name in names]


def initial_facts(input_schema: t.Any) -> Facts:
    """What the run input may hold at ``StartAt``."""
    if not isinstance(input_schema, dict):
        return Facts({}, frozenset(), True)
    properties = input_schema.get("properties")
    if not isinstance(properties, dict):
        properties = {}
    closed = input_schema.get("additionalProperties") is False and not any(
        word in input_schema for word in _SCHEMA_COMBINATORS)
    keys = {key: frozenset({(INPUT, (key,))}) for key in properties}
    # a property the schema declares counts as given: whether it is required is the
    # input's business, checked when a run starts
    return Facts(keys, frozenset(keys), not closed)


def leading_segments(path: t.Any) -> tuple | None:
    """The names and indexes a read path starts with, or None when it is not a path."""
    if not isinstance(path, str):
        return None
    try:
        selectors = parse_query(path)
    except PathError:
        return None
    leading = []
    for selector in selectors:
        if not isinstance(selector, (str, int)):
            break
        leading.append(selector)
    return tuple(leading)


def _written(path: t.Any) -> tuple | None:
    """A ResultPath's segments, or None when it cannot be written."""
    if not isinstance(path, str):
        return None
    try:
        return parse_path(path)
    except PathError:
        return None


def _replacement(name: str, body: dict) -> Facts:
    """The run state after ``name`` stores its whole result at ``$``."""
    kind = body.get("Type")
    known = None
    if kind == "Pass" and "Result" in body:
        known = body["Result"]
        known = list(known) if isinstance(known, dict) else []
    elif kind in ("Pass", "ExpressionEval") and isinstance(body.get("Parameters"), dict) \
            and (kind == "ExpressionEval" or "InputPath" not in body):
        known = [key[:-2] if key.endswith((".$", ".=")) else key
                 for key in body["Parameters"] if key != "__Private_Parameters"]
    if known is None:
        return Facts({}, frozenset(), True, replaced=True)
    keys = {key: frozenset({(name, (key,))}) for key in known if isinstance(key, str)}
    return Facts(keys, frozenset(keys), False)


def _passes_through(body: dict) -> bool:
    return body.get("Type") == "Pass" and "ResultPath" not in body and not (
        {"Parameters", "Result"} & set(body) or body.get("InputPath", "$") != "$")


def after(name: str, body: dict, facts: Facts) -> Facts:
    """The facts on a state's normal exit (its Next, Choices and Default)."""
    kind = body.get("Type")
    if not isinstance(kind, str) or kind not in RESULT_WRITING_TYPES or _passes_through(body):
        return facts
    result_path = body.get("ResultPath", "$")
    segments = _written(result_path)
    if segments is None:
        return facts  # reported as a problem; the state fails when it runs
    if not segments:
        return _replacement(name, body)
    if body.get("Type") == "Pass" and "Parameters" not in body and "InputPath" in body:
        source = _written(body["InputPath"])
        if source and len(source) == 1 and isinstance(source[0], str):
            facts = facts.without(source[0])  # the Pass moves its input
    return facts.write(name, segments)


def after_catch(name: str, catcher: dict, facts: Facts) -> Facts:
    """The facts on a ``Catch`` edge: the state's input plus the error at ResultPath."""
    segments = _written(catcher.get("ResultPath", "$"))
    if segments is None:
        return facts
    if not segments:
        return Facts({}, frozenset(), True, replaced=True)  # the error object replaces it
    return facts.write(name, segments)


def edges(name: str, body: dict, facts: Facts, names: t.Container[str]) -> list[tuple[str, Facts]]:
    """``(target, facts)`` for every transition out of a state."""
    normal = after(name, body, facts)
    out = []
    targets = [body.get("Next"), body.get("Default")]
    choices = body.get("Choices")
    if isinstance(choices, list):
        targets += [rule.get("Next") for rule in choices if isinstance(rule, dict)]
    out += [(target, normal) for target in targets if isinstance(target, str)]
    catchers = body.get("Catch")
    for catcher in catchers if isinstance(catchers, list) else []:
        if isinstance(catcher, dict) and isinstance(catcher.get("Next"), str):
            out.append((catcher["Next"], after_catch(name, catcher, facts)))
    return [(target, f) for target, f in out if target in names]


def analyse(states: t.Mapping[str, dict], start: str, input_schema: t.Any) -> dict[str, Facts]:
    """Facts for every state reachable from ``start`` (a fixed point over loops)."""
    if start not in states:
        return {}
    reached: dict[str, Facts] = {start: initial_facts(input_schema)}
    todo = [start]
    while todo:
        name = todo.pop()
        for target, facts in edges(name, states[name], reached[name], states):
            known = reached.get(target)
            joined = facts if known is None else known.join(facts)
            if joined != known:
                reached[target] = joined
                todo.append(target)
    return reached
