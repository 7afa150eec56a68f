"""Turning a state's ``Parameters`` (or ``InputPath``) into the data the state works on.

``"key.$": "$.path"`` copies a value from the run state (``$._context…`` from the run
context), ``"key.=": "expr"`` evaluates an expression, anything else is a constant; this
holds at any depth, inside lists too, and the output key drops the suffix.

``__Private_Parameters`` (a list in any Parameters object) names sibling keys whose values
the provider receives but run documents and logs never show; neither do keys starting with
``_private``. :func:`mask_private` makes the copy that may be shown.
"""

from __future__ import annotations

import copy
import typing as t

from gladier.engine.expressions import evaluate
from gladier.engine.paths import PathNotFound, Segment, get_path, parse_query
from gladier.exc import ExpressionError, FlowRuntimeError, PathError

PRIVATE_PARAMETERS_KEY = "__Private_Parameters"
PRIVATE_KEY_PREFIX = "_private"
CONTEXT_KEY = "_context"
_SUFFIXES = (".$", ".=")
#: JSON values that are their own copy (exact types, checked with ``type(x) in``).
ATOMS = frozenset({str, int, float, bool, type(None)})


def output_key(key: str) -> str:
    """The key a Parameters entry produces: ``"a.$"`` and ``"a.="`` give ``"a"``."""
    return key[:-2] if key.endswith(_SUFFIXES) else key


def read_reference(state: t.Any, path: str, *, context: dict | None = None) -> t.Any:
    """The value at ``path`` (a JSONPath query); ``$._context…`` reads ``context``.
    Raises PathError."""
    segments = parse_query(path)
    if segments and segments[0] == CONTEXT_KEY:
        return get_path({CONTEXT_KEY: context or {}}, path)
    return get_path(state, path)


def _lookup(state: t.Any, path: t.Any, field: str, context: dict, state_name: str) -> t.Any:
    """A copy of the value at ``path`` for ``field``; States.Runtime when there is none."""
    if not isinstance(path, str):
        cause = f"The value of the field '{field}' must be a JSON path string, not {path!r}."
        raise FlowRuntimeError("States.Runtime", cause, state_name=state_name)
    try:
        return copy.deepcopy(read_reference(state, path, context=context))
    except PathNotFound:
        cause = (
            f"The path '{path}' specified for the field '{field}' could not be found in the "
            "state input."
        )
    except PathError as exc:
        cause = f"The path '{path}' specified for the field '{field}' is not valid: {exc}"
    raise FlowRuntimeError("States.Runtime", cause, state_name=state_name)


def resolve_parameters(
    parameters: t.Any, state: dict, *, context: dict, state_name: str
) -> t.Any:
    """The data ``parameters`` describe, for the current run ``state``.

    Missing paths and failing expressions raise ``FlowRuntimeError("States.Runtime")``
    with the service's cause text, naming the path and field.

    >>> resolve_parameters({"n.$": "$.x", "m.=": "x + 1", "k": [1]}, {"x": 1},
    ...                    context={}, state_name="S")
    {'n': 1, 'm': 2, 'k': [1]}
    """
    if type(parameters) in ATOMS:
        return parameters
    if isinstance(parameters, list):
        return [
            item if type(item) in ATOMS
            else resolve_parameters(item, state, context=context, state_name=state_name)
            for item in parameters
        ]
    if not isinstance(parameters, dict):
        return copy.deepcopy(parameters)
    resolved: dict = {}
    for key, value in parameters.items():
        if key == PRIVATE_PARAMETERS_KEY:
            continue
        if isinstance(key, str) and key.endswith(".$"):
            resolved[output_key(key)] = _lookup(state, value, key, context, state_name)
        elif isinstance(key, str) and key.endswith(".="):
            try:
                resolved[output_key(key)] = evaluate(value, state, context=context)
            except ExpressionError as exc:
                raise FlowRuntimeError(
                    "States.Runtime",
                    f"The expression specified for the field '{key}' could not be evaluated: "
                    f"{exc}",
                    state_name=state_name,
                ) from None
        elif type(value) in ATOMS:
            resolved[key] = value
        else:
            resolved[key] = resolve_parameters(
                value, state, context=context, state_name=state_name
            )
    return resolved


def read_input(
    state: dict,
    input_path: str | None,
    *,
    context: dict,
    state_name: str,
    field: str = "InputPath",
) -> t.Any:
    """A copy of the value at ``input_path`` (the whole run state when None or ``$``).

    ``field`` names the state field the path came from (``InputPath``, ``SecondsPath``,
    ``ErrorPath``, ...) in the States.Runtime cause when nothing is there.
    """
    if input_path is None:
        input_path = "$"
    return _lookup(state, input_path, field, context, state_name)


def _private_names(definition: dict) -> set[str]:
    listed = definition.get(PRIVATE_PARAMETERS_KEY)
    if not isinstance(listed, list):
        return set()
    return {output_key(name) for name in listed if isinstance(name, str)}


def _definition_child(definition: t.Any, key: str) -> t.Any:
    """The Parameters entry that produced output ``key`` (constants only, else None)."""
    if isinstance(definition, dict) and key in definition:
        return definition[key]
    return None


def private_paths(parameters: t.Any) -> set[tuple[Segment, ...]]:
    """Where in the resolved data ``__Private_Parameters`` lists hide a key, as path
    segments (``("a", "secret")``, ``("DATA", 0, "token")``): a Pass or ExpressionEval
    state stores that data, and the stored values stay hidden."""
    found: set[tuple[Segment, ...]] = set()

    def walk(node: t.Any, where: tuple) -> None:
        if isinstance(node, list):
            for index, item in enumerate(node):
                walk(item, where + (index,))
        elif isinstance(node, dict):
            for name in _private_names(node):
                found.add(where + (name,))
            for key, value in node.items():
                if isinstance(key, str) and key != PRIVATE_PARAMETERS_KEY and not key.endswith(
                    _SUFFIXES
                ):
                    walk(value, where + (key,))

    walk(parameters, ())
    return found


def mask_private(parameters_definition: t.Any, resolved: t.Any) -> t.Any:
    """A copy of ``resolved`` without private values, safe for run documents and logs.

    Removes every key named in a ``__Private_Parameters`` list at its level (with or
    without its ``.$``/``.=`` suffix) and every key starting with ``_private`` at any
    depth. ``parameters_definition`` may be None to apply only the ``_private`` rule.
    """
    if type(resolved) in ATOMS:
        return resolved
    if isinstance(resolved, list):
        definitions = parameters_definition if isinstance(parameters_definition, list) else []
        return [
            item if type(item) in ATOMS
            else mask_private(definitions[i] if i < len(definitions) else None, item)
            for i, item in enumerate(resolved)
        ]
    if not isinstance(resolved, dict):
        return copy.deepcopy(resolved)
    hidden = _private_names(parameters_definition) if isinstance(
        parameters_definition, dict
    ) else set()
    return {
        key: value if type(value) in ATOMS
        else mask_private(_definition_child(parameters_definition, key), value)
        for key, value in resolved.items()
        if key not in hidden
        and key != PRIVATE_PARAMETERS_KEY
        and not (isinstance(key, str) and key.startswith(PRIVATE_KEY_PREFIX))
    }
