"""Choice states: pick the ``Next`` of the first rule that matches the run state.

Rules follow the Amazon States Language as the Flows service uses it: a comparator applied
to the value at ``Variable`` (or the value at another path, for the ``…Path`` variants),
``Is…`` type tests, and ``And``/``Or``/``Not``. A value of the wrong type simply does not
match; a missing ``Variable`` is a ``States.Runtime`` error except for ``IsPresent``.
"""

from __future__ import annotations

import datetime
import operator
import typing as t

from gladier.engine import timing
from gladier.engine.parameters import read_reference
from gladier.engine.paths import PathNotFound
from gladier.exc import FlowRuntimeError, PathError

_ORDERINGS: dict[str, t.Callable[[t.Any, t.Any], bool]] = {
    "Equals": operator.eq,
    "LessThan": operator.lt,
    "GreaterThan": operator.gt,
    "LessThanEquals": operator.le,
    "GreaterThanEquals": operator.ge,
}


def _is_number(value: t.Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def parse_timestamp(value: t.Any) -> datetime.datetime | None:
    """:func:`gladier.engine.timing.parse_timestamp`, with None for a value that is not
    an RFC 3339 date-time (a comparison with it simply does not match)."""
    try:
        return timing.parse_timestamp(value)
    except ValueError:
        return None


def _pattern_pieces(pattern: str) -> list[str]:
    """The literal runs between the unescaped ``*`` of a ``StringMatches`` pattern."""
    pieces, current, i = [], [], 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\" and i + 1 < len(pattern):
            current.append(pattern[i + 1])
            i += 2
            continue
        if char == "*":
            pieces.append("".join(current))
            current = []
        else:
            current.append(char)
        i += 1
    pieces.append("".join(current))
    return pieces


def string_matches(value: str, pattern: str) -> bool:
    """ASL ``StringMatches``: ``*`` matches any run of characters; ``\\*``, ``\\\\`` escape.

    Matched without backtracking (a regular expression ``.*_.*_.*`` takes seconds on a long
    name, on the scheduler thread every run shares): the first literal run must start the
    value, the last end it, and each one between is taken at its leftmost place, which is
    always a match if there is any. Time grows with the value's length times the pattern's.
    """
    pieces = _pattern_pieces(pattern)
    if len(pieces) == 1:
        return value == pieces[0]
    first, *middle, last = pieces
    if len(value) < len(first) + len(last) or not value.startswith(first) \
            or not value.endswith(last):
        return False
    position, end = len(first), len(value) - len(last)
    for piece in middle:
        found = value.find(piece, position, end)
        if found < 0:
            return False
        position = found + len(piece)
    return True


# Each comparator family: (does a value belong to it, how to turn it into something ordered).
_FAMILIES: dict[str, tuple[t.Callable[[t.Any], bool], t.Callable[[t.Any], t.Any]]] = {
    "String": (lambda v: isinstance(v, str), lambda v: v),
    "Numeric": (_is_number, lambda v: v),
    "Boolean": (lambda v: isinstance(v, bool), lambda v: v),
    "Timestamp": (lambda v: parse_timestamp(v) is not None, parse_timestamp),
}

TYPE_TESTS: dict[str, t.Callable[[t.Any], bool]] = {
    "IsNull": lambda v: v is None,
    "IsNumeric": _is_number,
    "IsString": lambda v: isinstance(v, str),
    "IsBoolean": lambda v: isinstance(v, bool),
    "IsTimestamp": lambda v: parse_timestamp(v) is not None,
}


def _comparators() -> dict[str, tuple[str, str]]:
    """Every comparator name → (family, ordering); ``…Path`` variants included."""
    table = {}
    for family in _FAMILIES:
        orderings = ["Equals"] if family == "Boolean" else list(_ORDERINGS)
        for ordering in orderings:
            table[family + ordering] = (family, ordering)
            table[family + ordering + "Path"] = (family, ordering)
    table["StringMatches"] = ("String", "Matches")
    return table


COMPARATORS = _comparators()
"""Comparator names a rule may use (StringEquals, NumericLessThanPath, ...)."""
_ABSENT = object()
RULE_OPERATORS = frozenset({"And", "Or", "Not"})
ALL_TESTS = frozenset(COMPARATORS) | frozenset(TYPE_TESTS) | {"IsPresent"}


class _Rules:
    """Evaluates the rules of one Choice state against one run state."""

    def __init__(self, state: t.Any, context: dict, state_name: str):
        self.state = state
        self.context = context
        self.state_name = state_name

    def error(self, cause: str) -> FlowRuntimeError:
        return FlowRuntimeError("States.Runtime", cause, state_name=self.state_name)

    def read(self, path: t.Any, field: str, where: str, *, missing: t.Any = None) -> t.Any:
        """The value at ``path``; ``missing`` (if given) when nothing is there, else an error."""
        if not isinstance(path, str):
            raise self.error(f"The field '{field}' of {where} must be a JSON path, not {path!r}.")
        try:
            return read_reference(self.state, path, context=self.context)
        except PathNotFound:
            if missing is not None:
                return missing
            raise self.error(
                f"The path '{path}' specified for the field '{field}' of {where} could not be "
                "found in the state input."
            ) from None
        except PathError as exc:
            raise self.error(f"The field '{field}' of {where} is not a valid path: {exc}") from None

    def matches(self, rule: t.Any, where: str) -> bool:
        if not isinstance(rule, dict):
            raise self.error(f"{where} must be an object, not {rule!r}.")
        if "And" in rule or "Or" in rule:
            key = "And" if "And" in rule else "Or"
            rules = rule[key]
            if not isinstance(rules, list):
                raise self.error(f"'{key}' of {where} must be a list of rules.")
            test = all if key == "And" else any
            return test(
                self.matches(sub, f"{where}.{key}[{i}]") for i, sub in enumerate(rules)
            )
        if "Not" in rule:
            return not self.matches(rule["Not"], f"{where}.Not")
        tests = [key for key in rule if key in ALL_TESTS]
        if len(tests) != 1 or "Variable" not in rule:
            raise self.error(
                f"{where} must have a 'Variable' and exactly one comparator "
                f"(found {tests or 'none'})."
            )
        name = tests[0]
        expected = rule[name]
        if name == "IsPresent":
            found = self.read(rule["Variable"], "Variable", where, missing=_ABSENT) is not _ABSENT
            return found == bool(expected)
        value = self.read(rule["Variable"], "Variable", where)
        if name in TYPE_TESTS:
            return TYPE_TESTS[name](value) == bool(expected)
        if name.endswith("Path"):
            expected = self.read(expected, name, where)
        family, ordering = COMPARATORS[name]
        belongs, convert = _FAMILIES[family]
        if ordering == "Matches":
            return isinstance(value, str) and isinstance(expected, str) and string_matches(
                value, expected
            )
        if not (belongs(value) and belongs(expected)):
            return False
        return _ORDERINGS[ordering](convert(value), convert(expected))


def choose(choice_state: dict, state: dict, *, context: dict, state_name: str) -> str | None:
    """The ``Next`` of the first matching rule, else ``Default``.

    Raises ``FlowRuntimeError("States.NoChoiceMatched")`` when nothing matches and there is
    no Default, and ``States.Runtime`` for a missing Variable or a malformed rule.
    """
    rules = _Rules(state, context, state_name)
    choices = choice_state.get("Choices") if isinstance(choice_state, dict) else None
    if not isinstance(choices, list):
        raise rules.error("A Choice state needs a 'Choices' list.")
    for index, rule in enumerate(choices):
        if rules.matches(rule, f"choice rule Choices[{index}]"):
            return rule.get("Next")
    default = choice_state.get("Default")
    if default is not None:
        return default
    raise FlowRuntimeError(
        "States.NoChoiceMatched",
        f"No choice rule of state '{state_name}' matched and it has no Default.",
        state_name=state_name,
    )
