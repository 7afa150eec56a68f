"""Checking a flow definition before it runs, reporting every problem at once.

Checks, in order: the definition is JSON data; it matches our JSON schema
(``schemas/flow_definition.json``, as permissive as the service); every ``Next``,
``Default`` and ``Catch`` target exists; every state is reachable from ``StartAt``; states
that must transition have ``Next`` or ``End``; paths parse; expressions parse and pass the
sandbox's static checks; choice rules are well formed. Warnings (never fatal) flag ``.$``
references and names read by ``.=`` expressions that no earlier state and no input schema
can produce.

:func:`validate_flow` never raises anything but :class:`~gladier.exc.FlowValidationError`,
whatever it is given.
"""

from __future__ import annotations

import functools
import json
import pathlib
import typing as t

import jsonschema

from gladier.engine import dataflow
from gladier.engine.choice import ALL_TESTS, COMPARATORS, RULE_OPERATORS, TYPE_TESTS, parse_timestamp
from gladier.engine.expressions import compile_expression, referenced_paths, refusals
from gladier.engine.jsondata import json_text
from gladier.engine.parameters import CONTEXT_KEY, PRIVATE_PARAMETERS_KEY, output_key
from gladier.engine.paths import Segment, format_path, parse_path, parse_query
from gladier.engine.providers.legacy import retirement
from gladier.exc import ExpressionError, FlowValidationError, NotJSONData, PathError

SCHEMA_FILE = pathlib.Path(__file__).parent / "schemas" / "flow_definition.json"
MAX_DEFINITION_DEPTH = 64
"""Deepest nesting of objects and lists accepted in a definition or input schema."""
MAX_MESSAGE_LENGTH = 300

TRANSITIONING_TYPES = frozenset(
    {"Action", "Pass", "ExpressionEval", "Wait", "CreateWebInput", "AwaitWebInput"}
)
"""State types that must have either ``Next`` or ``"End": true``."""
PATH_FIELDS = ("InputPath", "ResultPath", "SecondsPath", "TimestampPath", "ErrorPath", "CausePath")
WAIT_FIELDS = ("Seconds", "SecondsPath", "Timestamp", "TimestampPath")


@functools.lru_cache(maxsize=1)
def flow_definition_schema() -> dict:
    """Our draft-07 schema of flow definitions."""
    return json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))


@functools.lru_cache(maxsize=1)
def _definition_validator() -> jsonschema.Draft7Validator:
    return jsonschema.Draft7Validator(flow_definition_schema())


@functools.lru_cache(maxsize=1)
def _compiled_definition_validator() -> t.Any:
    """The flow schema compiled by jsonschema-rs: it says whether a definition is valid
    in well under a millisecond per thousand states, where ``jsonschema`` takes about
    200 ms; ``jsonschema`` still finds and words the problems of an invalid one."""
    import jsonschema_rs

    return jsonschema_rs.Draft7Validator(flow_definition_schema())


def _schema_valid(definition: dict, text: str) -> bool:
    """True only when the compiled validator finds ``definition`` (whose JSON text is
    ``text``) valid. A definition holding a string that ends in a newline is left to
    ``jsonschema``: Python's ``$`` in a pattern also matches before a final newline,
    the compiled validator's does not, so the two could disagree there."""
    if '\\n"' in text:
        return False
    try:
        return bool(_compiled_definition_validator().is_valid(definition))
    except Exception:  # e.g. a string it cannot take (lone surrogates): jsonschema decides
        return False


def _shorten(message: str) -> str:
    return message if len(message) <= MAX_MESSAGE_LENGTH else message[:MAX_MESSAGE_LENGTH] + "…"


def _as_json(value: t.Any) -> tuple[t.Any, str | None]:
    """A pure-JSON copy of ``value`` (or None and why it is not JSON data)."""
    copy, _, why = _as_json_text(value)
    return copy, why


def _as_json_text(value: t.Any) -> tuple[t.Any, str, str | None]:
    """A pure-JSON copy of ``value`` and its JSON text (or None, "" and why it is not
    JSON data)."""
    try:
        text = json_text(value, "it")
        copy = json.loads(text)
    except NotJSONData as exc:
        return None, "", _shorten(str(exc))
    deepest = 0
    stack = [(copy, 0)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        if deepest > MAX_DEFINITION_DEPTH:
            return None, "", (f"it is nested deeper than MAX_DEFINITION_DEPTH "
                              f"({MAX_DEFINITION_DEPTH})")
        if isinstance(node, dict):
            stack.extend((child, depth + 1) for child in node.values())
        elif isinstance(node, list):
            stack.extend((child, depth + 1) for child in node)
    return copy, text, None


def _message(error: jsonschema.ValidationError) -> str:
    if error.validator == "pattern" and error.validator_value == "^\\$":
        return f"{error.instance!r} is not a JSON path: it must start with '$.'"
    return _shorten(error.message)


def _specific_errors(error: jsonschema.ValidationError) -> list[jsonschema.ValidationError]:
    """For an anyOf/oneOf failure, the errors of the alternative that got furthest."""
    if error.validator not in ("anyOf", "oneOf") or not error.context:
        return [error]
    deepest = max(len(e.absolute_path) for e in error.context)
    if deepest > len(error.absolute_path):
        candidates = [e for e in error.context if len(e.absolute_path) == deepest]
    else:
        candidates = [max(error.context, key=lambda e: e.validator != "type")]
    return [specific for e in candidates for specific in _specific_errors(e)]


def _kind(state: dict) -> str | None:
    kind = state.get("Type")
    return kind if isinstance(kind, str) else None


class _Checker:
    """Collects the problems and warnings of one definition."""

    def __init__(self, definition: dict, input_schema: t.Any):
        self.definition = definition
        self.input_schema = input_schema
        states = definition.get("States")
        self.states: dict[str, dict] = (
            {k: v for k, v in states.items() if isinstance(v, dict)}
            if isinstance(states, dict) else {}
        )
        self.names = set(states) if isinstance(states, dict) else set()
        self.problems: list[dict] = []
        self.warnings: list[dict] = []

    def problem(self, state: str | None, where: t.Sequence[Segment], message: str) -> None:
        self.problems.append({"state": state, "path": format_path(where), "message": message})

    def warning(self, state: str | None, where: t.Sequence[Segment], message: str) -> None:
        self.warnings.append({"state": state, "path": format_path(where), "message": message})

    def check_shared_result_paths(self) -> None:
        """Warn when several Action states write the same ResultPath: the later action's
        status replaces the earlier one (two aliased copies of a Gladier tool do this by
        default). Pass states that reshape a result in place are not counted."""
        writers: dict[str, list[str]] = {}
        for name, state in self.states.items():
            if state.get("Type") != "Action":
                continue
            path = state.get("ResultPath")
            if isinstance(path, str) and path != "$":
                writers.setdefault(path, []).append(name)
        for path, names in writers.items():
            for name in names[1:]:
                self.warning(name, ["States", name, "ResultPath"],
                             f"ResultPath {path} is also written by state {names[0]!r}: the "
                             "later result replaces the earlier one (for aliased tools, "
                             "alias_class = UniqueResultPaths keeps them apart)")

    # -- schema --------------------------------------------------------------------

    def check_schema(self, text: str) -> None:
        """The definition (JSON ``text``) against the flow schema."""
        if _schema_valid(self.definition, text):
            return
        seen = set()
        for top in _definition_validator().iter_errors(self.definition):
            for error in _specific_errors(top):
                where = list(error.absolute_path)
                if (tuple(where), error.message) in seen:
                    continue
                seen.add((tuple(where), error.message))
                state = str(where[1]) if len(where) > 1 and where[0] == "States" else None
                self.problem(state, where, _message(error))

    # -- per state -----------------------------------------------------------------

    def check_states(self) -> None:
        start = self.definition.get("StartAt")
        if isinstance(start, str) and isinstance(self.definition.get("States"), dict):
            if start not in self.names:
                self.problem(None, ["StartAt"], f"StartAt '{start}' is not a state of this flow")
        self.check_comment(None, self.definition, [])
        for name, body in self.states.items():
            where: list[Segment] = ["States", name]
            kind = _kind(body)
            self.check_comment(name, body, where)
            self.check_catchers(name, body, where)
            self.check_transition(name, body, kind, where)
            self.check_targets(name, body, where)
            self.check_paths(name, body, where)
            if "Parameters" in body:
                self.check_parameters(name, body["Parameters"], where + ["Parameters"])
            if kind == "Action":
                self.check_action(name, body, where)
            elif kind == "Wait":
                self.check_wait(name, body, where)
            elif kind == "Fail":
                for field in ("Error", "Cause"):
                    if field in body and field + "Path" in body:
                        self.problem(name, where, f"A Fail state takes {field} or {field}Path, not both")
            elif kind == "Choice" and isinstance(body.get("Choices"), list):
                for index, rule in enumerate(body["Choices"]):
                    self.check_rule(name, rule, where + ["Choices", index], top=True)

    def check_comment(self, name: str | None, body: dict, where: list) -> None:
        """``"Comment": null`` is what Gladier 0.11 writes for a compute function without a
        docstring, and the service deploys it: accepted, with a warning."""
        if "Comment" in body and body["Comment"] is None:
            self.warning(name, where + ["Comment"],
                         "Comment is null: leave it out or write a string (accepted as "
                         "Gladier 0.11 writes it for a function without a docstring)")

    def check_catchers(self, name: str, body: dict, where: list) -> None:
        """States.ALL catches everything, so it must stand alone in the last catcher (as in
        the Amazon States Language the service follows); Gladier's ``States.All`` spelling
        is not held to this."""
        catchers = body.get("Catch")
        if not isinstance(catchers, list):
            return
        for index, catcher in enumerate(catchers):
            if not isinstance(catcher, dict):
                continue
            self.check_comment(name, catcher, where + ["Catch", index])
            names = catcher.get("ErrorEquals")
            if not isinstance(names, list) or "States.ALL" not in names:
                continue
            at = where + ["Catch", index, "ErrorEquals"]
            if len(names) > 1:
                others = ", ".join(str(n) for n in names if n != "States.ALL")
                self.problem(name, at, f"States.ALL must be the only error name in its "
                                       f"catcher (it already catches {others})")
            if index != len(catchers) - 1:
                self.problem(name, at, f"The catcher with States.ALL must be the last one "
                                       f"(it is {index + 1} of {len(catchers)}: the ones after "
                                       "it could never catch anything)")

    def check_transition(self, name: str, body: dict, kind: t.Any, where: list) -> None:
        if kind not in TRANSITIONING_TYPES:
            return
        has_next = "Next" in body
        ends = body.get("End") is True
        if has_next and ends:
            self.problem(name, where, f"A state of type '{kind}' cannot have both Next and \"End\": true")
        elif not has_next and not ends:
            self.problem(
                name, where,
                f"A state of type '{kind}' must be defined as either terminal (\"End\": true) "
                "or transitional (\"Next\": \"NextStateId\")",
            )

    def _target(self, name: str, target: t.Any, where: list, field: str) -> None:
        if isinstance(target, str) and target not in self.names:
            self.problem(name, where, f"{field} '{target}' is not a state of this flow")

    def check_targets(self, name: str, body: dict, where: list) -> None:
        self._target(name, body.get("Next"), where + ["Next"], "Next")
        self._target(name, body.get("Default"), where + ["Default"], "Default")
        for key in ("Choices", "Catch"):
            items = body.get(key)
            if isinstance(items, list):
                for index, item in enumerate(items):
                    if isinstance(item, dict):
                        self._target(name, item.get("Next"), where + [key, index, "Next"],
                                     f"{key}[{index}].Next")

    def _path(self, name: str, value: t.Any, where: list, *, writes: bool = False) -> None:
        if not isinstance(value, str) or not value.startswith("$"):
            return  # the schema already reports non-path values
        try:
            segments = parse_path(value) if writes else parse_query(value)
        except PathError as exc:
            self.problem(name, where, str(exc))
            return
        if writes and segments and segments[0] == CONTEXT_KEY:
            self.problem(name, where, f"'{value}' cannot be written: $._context is read-only")

    def check_paths(self, name: str, body: dict, where: list) -> None:
        for field in PATH_FIELDS:
            if field in body:
                self._path(name, body[field], where + [field], writes=field == "ResultPath")
        catchers = body.get("Catch")
        if isinstance(catchers, list):
            for index, catcher in enumerate(catchers):
                if isinstance(catcher, dict) and "ResultPath" in catcher:
                    self._path(name, catcher["ResultPath"], where + ["Catch", index, "ResultPath"],
                               writes=True)

    def check_parameters(self, name: str, node: t.Any, where: list) -> None:
        if isinstance(node, list):
            for index, item in enumerate(node):
                self.check_parameters(name, item, where + [index])
            return
        if not isinstance(node, dict):
            return
        produced: dict[str, str] = {}
        for key, value in node.items():
            if key == PRIVATE_PARAMETERS_KEY:
                continue
            out = output_key(key)
            if out in produced:
                self.problem(name, where + [key],
                             f"Parameters '{produced[out]}' and '{key}' both produce the key '{out}'")
            produced[out] = key
            if key.endswith(".$"):
                self._path(name, value, where + [key])
            elif key.endswith(".="):
                if isinstance(value, str):
                    try:
                        compile_expression(value)
                    except ExpressionError as exc:
                        self.problem(name, where + [key], _shorten(str(exc)))
                    else:
                        for refused in refusals(value):
                            self.warning(name, where + [key], _shorten(
                                f"the expression will be refused when it runs (by simpleeval, "
                                f"the service's evaluator, or this engine's limits): {refused}"))
            else:
                self.check_parameters(name, value, where + [key])

    def check_action(self, name: str, body: dict, where: list) -> None:
        if "ActionUrl" not in body and "Handler" not in body:
            self.problem(name, where, "An Action state needs an ActionUrl (or a Handler)")
        elif "ActionUrl" in body and "Handler" in body:
            self.problem(name, where, "An Action state takes ActionUrl or Handler, not both")
        if "Parameters" in body and "InputPath" in body:
            self.problem(name, where, "An Action state takes Parameters or InputPath, not both")
        elif "Parameters" not in body and "InputPath" not in body:
            self.problem(name, where, "An Action state needs Parameters or InputPath: they "
                                      "make the body sent to the action provider")
        url = body.get("ActionUrl")
        retired = retirement(url) if isinstance(url, str) else None
        if retired:
            self.warning(name, where + ["ActionUrl"], retired)

    def check_wait(self, name: str, body: dict, where: list) -> None:
        given = [field for field in WAIT_FIELDS if field in body]
        if len(given) != 1:
            self.problem(
                name, where,
                f"A Wait state needs exactly one of {', '.join(WAIT_FIELDS)} "
                f"(found {', '.join(given) or 'none'})",
            )
        stamp = body.get("Timestamp")
        if isinstance(stamp, str) and parse_timestamp(stamp) is None:
            self.problem(name, where + ["Timestamp"],
                         f"Timestamp '{stamp}' is not an RFC 3339 date-time")

    def check_rule(self, name: str, rule: t.Any, where: list, *, top: bool) -> None:
        if not isinstance(rule, dict):
            self.problem(name, where, "A choice rule must be an object")
            return
        if top and not isinstance(rule.get("Next"), str):
            self.problem(name, where, "A choice rule needs a Next state name")
        if not top and "Next" in rule:
            self.problem(name, where, "A rule nested in And/Or/Not cannot have Next")
        operators = [key for key in rule if key in RULE_OPERATORS]
        tests = [key for key in rule if key in ALL_TESTS]
        unknown = [key for key in rule
                   if key not in ALL_TESTS | RULE_OPERATORS | {"Variable", "Next", "Comment"}]
        for key in unknown:
            self.problem(name, where + [key], f"'{key}' is not a choice comparator or operator")
        if operators:
            if len(operators) > 1 or tests or "Variable" in rule:
                self.problem(name, where, "A choice rule is either And, Or, Not or a Variable "
                                          "with one comparator, not a mix")
            for op in operators:
                self.check_operator(name, op, rule[op], where + [op])
            return
        if "Variable" not in rule:
            self.problem(name, where, "A choice rule needs a Variable (or And/Or/Not)")
        else:
            self._path(name, rule["Variable"], where + ["Variable"])
            if not (isinstance(rule["Variable"], str) and rule["Variable"].startswith("$")):
                self.problem(name, where + ["Variable"], "Variable must be a JSON path ('$.…')")
        if len(tests) != 1:
            self.problem(name, where, f"A choice rule needs exactly one comparator "
                                      f"(found {', '.join(tests) or 'none'})")
        for test in tests:
            self.check_comparand(name, test, rule[test], where + [test])

    def check_operator(self, name: str, op: str, value: t.Any, where: list) -> None:
        if op == "Not":
            self.check_rule(name, value, where, top=False)
        elif not isinstance(value, list) or not value:
            self.problem(name, where, f"{op} needs a non-empty list of rules")
        else:
            for index, sub in enumerate(value):
                self.check_rule(name, sub, where + [index], top=False)

    def check_comparand(self, name: str, test: str, value: t.Any, where: list) -> None:
        if test in TYPE_TESTS or test == "IsPresent":
            if not isinstance(value, bool):
                self.problem(name, where, f"{test} needs true or false")
            return
        if test.endswith("Path"):
            if not (isinstance(value, str) and value.startswith("$")):
                self.problem(name, where, f"{test} needs a JSON path ('$.…')")
            self._path(name, value, where)
            return
        family = COMPARATORS[test][0]
        valid = {
            "String": isinstance(value, str),
            "Numeric": isinstance(value, (int, float)) and not isinstance(value, bool),
            "Boolean": isinstance(value, bool),
            "Timestamp": parse_timestamp(value) is not None,
        }[family]
        if not valid:
            wanted = {"String": "a string", "Numeric": "a number", "Boolean": "true or false",
                      "Timestamp": "an RFC 3339 date-time string"}[family]
            self.problem(name, where, f"{test} needs {wanted}, not {json.dumps(value)[:60]}")

    # -- graph ---------------------------------------------------------------------

    def successors(self, body: dict) -> list[str]:
        targets = [body.get("Next"), body.get("Default")]
        for key in ("Choices", "Catch"):
            if isinstance(body.get(key), list):
                targets += [item.get("Next") for item in body[key] if isinstance(item, dict)]
        return [target for target in targets if isinstance(target, str) and target in self.states]

    def check_reachable(self) -> None:
        start = self.definition.get("StartAt")
        if not isinstance(start, str) or start not in self.states:
            return
        seen = {start}
        todo = [start]
        while todo:
            for target in self.successors(self.states[todo.pop()]):
                if target not in seen:
                    seen.add(target)
                    todo.append(target)
        for name in self.states:
            if name not in seen:
                self.problem(name, ["States", name],
                             f"State '{name}' cannot be reached from StartAt '{start}'")

    # -- data flow ---------------------------------------------------------------------

    def _input_may_have(self, segments: tuple) -> bool:
        node = self.input_schema
        if not isinstance(node, dict):
            return True
        for segment in segments:
            if not isinstance(node, dict):
                return True
            if isinstance(segment, int):
                node = node.get("items", {})
                continue
            properties = node.get("properties")
            if isinstance(properties, dict) and segment in properties:
                node = properties[segment]
            elif isinstance(properties, dict) and node.get("additionalProperties") is False:
                return False
            elif not isinstance(properties, dict) and node.get("type") not in (None, "object"):
                return False
            else:
                return True
        return True

    def _provided(self, facts: dataflow.Facts, segments: tuple) -> bool:
        """Whether some writer of the read's first key can have put the whole path there."""
        for source, written in facts.keys.get(segments[0], ()):
            if source == dataflow.INPUT:
                if self._input_may_have(segments):
                    return True
            elif written[: len(segments)] == segments[: len(written)]:
                return True
        return False

    def check_references(self) -> None:
        """The service's data-flow check: an error for a reference to a key no path can
        have put in the run state, a warning for one only some paths provide."""
        start = self.definition.get("StartAt")
        if not isinstance(start, str):
            return
        reached = dataflow.analyse(self.states, start, self.input_schema)
        for name, facts in reached.items():
            for path, where, strict in self._reads(name, self.states[name]):
                segments = dataflow.leading_segments(path)
                if not segments or segments[0] == CONTEXT_KEY:
                    continue
                self._check_read(name, facts, path, segments, where, strict)

    def _check_read(self, name: str, facts: dataflow.Facts, path: str, segments: tuple,
                    where: list, strict: bool) -> None:
        key = segments[0]
        if key in facts.keys:
            if key not in facts.must and not facts.open:
                self.warning(name, where, (
                    f"'{path}' may not exist when state '{name}' runs: only some paths to it "
                    f"provide '{key}' (from {', '.join(facts.sources(key))})"))
            elif len(segments) > 1 and not self._provided(facts, segments):
                source = ", ".join(facts.sources(key))
                self.warning(name, where, (
                    f"'{path}' may not exist when state '{name}' runs: '{key}' comes from "
                    f"{source}, which does not provide '{format_path(segments)}'"))
            return
        if facts.open:
            if facts.replaced:
                return  # a state stored a result of unknown shape: anything may be there
            if self.input_schema is None and key == "input":
                return  # without an input schema any run input may be given
            if self.input_schema is not None and self._input_may_have(segments):
                return
            source = "the input schema" if isinstance(self.input_schema, dict) else (
                "an input schema (none was given)")
            self.warning(name, where, f"'{path}' may not exist when state '{name}' runs: "
                                      f"no earlier state's ResultPath nor {source} provides it")
            return
        valid = "; ".join(f"'{k}' (from {', '.join(facts.sources(k))})"
                          for k in sorted(facts.keys)) or "none"
        message = (f"'{path}' cannot exist when state '{name}' runs: no path to it puts "
                   f"'{key}' in the run state. Valid keys there: {valid}")
        if strict:
            self.problem(name, where, _shorten(message))
        else:
            self.warning(name, where, _shorten(message))

    def _reads(self, name: str, body: dict) -> t.Iterator[tuple[str, list, bool]]:
        """``(path, where, strict)`` for each run-state read of a state. ``strict`` reads
        fail the state when nothing is there; a ``.=`` expression's names may be guarded
        (``x if is_present('x') else ...``), so they only ever warn."""
        where = ["States", name]
        yield from self._parameter_reads(body.get("Parameters"), where + ["Parameters"])
        for field in ("InputPath", "SecondsPath", "TimestampPath", "ErrorPath", "CausePath"):
            if isinstance(body.get(field), str):
                yield body[field], where + [field], True
        choices = body.get("Choices")
        if _kind(body) == "Choice" and isinstance(choices, list):
            for index, rule in enumerate(choices):
                yield from self._rule_reads(rule, where + ["Choices", index])

    def _rule_reads(self, rule: t.Any, where: list) -> t.Iterator[tuple[str, list, bool]]:
        if not isinstance(rule, dict) or "IsPresent" in rule:
            return  # IsPresent asks whether the key exists
        for op in ("And", "Or"):
            if isinstance(rule.get(op), list):
                for index, sub in enumerate(rule[op]):
                    yield from self._rule_reads(sub, where + [op, index])
        if "Not" in rule:
            yield from self._rule_reads(rule["Not"], where + ["Not"])
        if isinstance(rule.get("Variable"), str):
            yield rule["Variable"], where + ["Variable"], True
        for key, value in rule.items():
            if key.endswith("Path") and key in ALL_TESTS and isinstance(value, str):
                yield value, where + [key], True

    def _parameter_reads(self, node: t.Any, where: list) -> t.Iterator[tuple[str, list, bool]]:
        if isinstance(node, list):
            for index, item in enumerate(node):
                yield from self._parameter_reads(item, where + [index])
        elif isinstance(node, dict):
            for key, value in node.items():
                if key.endswith(".$") and isinstance(value, str):
                    yield value, where + [key], True
                elif key.endswith(".="):
                    try:
                        paths = referenced_paths(value) if isinstance(value, str) else []
                    except ExpressionError:
                        paths = []  # already reported as a problem
                    yield from ((path, where + [key], False) for path in paths)
                else:
                    yield from self._parameter_reads(value, where + [key])


def _schema_problems(schema: t.Any) -> list[dict]:
    copy, why = _as_json(schema)
    if why:
        return [{"state": None, "path": "$.input_schema", "message": f"The input schema: {why}"}]
    if not isinstance(copy, (dict, bool)):
        return [{"state": None, "path": "$.input_schema",
                 "message": "The input schema must be a JSON object"}]
    problems = []
    meta = jsonschema.Draft7Validator(jsonschema.Draft7Validator.META_SCHEMA)
    try:
        errors = list(meta.iter_errors(copy))
    except RecursionError:
        errors = []
        problems.append({"state": None, "path": "$.input_schema",
                         "message": "The input schema is nested too deeply to check"})
    for error in (specific for top in errors for specific in _specific_errors(top)):
        problems.append({
            "state": None,
            "path": format_path(["input_schema", *error.absolute_path]),
            "message": "input schema: " + _message(error),
        })
    return problems


def validate_input_schema(schema: t.Any) -> None:
    """Check a flow's ``input_schema`` against the Draft 7 meta-schema.

    None means "no input schema" and is accepted. Raises FlowValidationError otherwise.
    """
    if schema is None:
        return
    problems = _schema_problems(schema)
    if problems:
        raise FlowValidationError(problems)


def check_flow(definition: t.Any, input_schema: t.Any = None) -> tuple[list[dict], list[dict]]:
    """``(problems, warnings)`` of a definition, without raising."""
    problems = _schema_problems(input_schema) if input_schema is not None else []
    found, warnings = _check_definition(definition, input_schema if not problems else None)
    return problems + found, warnings


def _check_definition(definition: t.Any, input_schema: t.Any) -> tuple[list[dict], list[dict]]:
    copy, text, why = _as_json_text(definition)
    if why or not isinstance(copy, dict):
        reason = why or f"it is {type(definition).__name__}, not an object"
        return [{"state": None, "path": "$",
                 "message": f"A flow definition must be a JSON object: {reason}"}], []
    checker = _Checker(copy, input_schema)
    checker.check_schema(text)
    checker.check_states()
    checker.check_reachable()
    checker.check_references()
    checker.check_shared_result_paths()
    return checker.problems, checker.warnings


def validate_flow(definition: t.Any, input_schema: t.Any = None) -> list[dict]:
    """Validate a flow definition (and its input schema); return the warnings.

    Raises :class:`~gladier.exc.FlowValidationError` listing every problem, each with the
    state name and the JSON path of the offending part. Never raises anything else.
    """
    problems, warnings = check_flow(definition, input_schema)
    if problems:
        raise FlowValidationError(problems, warnings)
    return warnings
