import copy
import json

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from gladier.engine.validate import check_flow, validate_flow, validate_input_schema
from gladier.exc import FlowValidationError
from corpus import CORPUS

needs_corpus = pytest.mark.skipif(not CORPUS.is_dir(), reason=f"no flows corpus at {CORPUS}")


def corpus_flows():
    flows = []
    if not CORPUS.is_dir():
        return flows
    for directory in sorted(CORPUS.iterdir()):
        if (directory / "definition.json").exists():
            flows.append((directory / "definition.json", directory / "input_schema.json"))
        for definition in sorted(directory.glob("*_definition.json")):
            flows.append((definition, definition.with_name(
                definition.name.replace("_definition", "_schema"))))
    return flows


def problems_of(definition, input_schema=None):
    with pytest.raises(FlowValidationError) as info:
        validate_flow(definition, input_schema)
    return info.value.problems


def flow(**states):
    first = next(iter(states))
    return {"StartAt": first, "States": states}


PASS_END = {"Type": "Pass", "End": True}


@pytest.mark.parametrize("definition_file, schema_file", corpus_flows(),
                         ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_corpus_flow_and_its_input_schema_validate_without_warnings(definition_file, schema_file):
    definition = json.loads(definition_file.read_text())
    input_schema = json.loads(schema_file.read_text())
    validate_input_schema(input_schema)
    assert validate_flow(definition, input_schema) == []


@needs_corpus
def test_corpus_has_every_expected_flow():
    assert len(corpus_flows()) >= 10


def test_service_extensions_are_accepted():
    definition = flow(
        Act={"Type": "Action", "Handler": {"Type": "ActionProvider", "Url": "https://x.org/ap"},
             "Parameters": {"a.=": "1 + 1", "b": [{"c.$": "$.input.c"}]}, "ResultPath": "$.r",
             "Next": "Reg"},
        Reg={"Type": "Action", "Handler": "urn:globus:flows:handle:globus:transfer.ls",
             "Parameters": {}, "ResultPath": "$.s", "Next": "Web"},
        Web={"Type": "CreateWebInput", "Parameters": {"InputType": "Selection"},
             "ResultPath": "$.w", "Next": "Eval"},
        Eval={"Type": "ExpressionEval", "Parameters": {"x.=": "r.details"}, "ResultPath": "$.e",
              "Next": "Fail"},
        Fail={"Type": "Fail", "ErrorPath": "$.e.x", "CausePath": "$.e.x"},
    )
    assert validate_flow(definition) == []


def test_every_problem_is_listed_with_state_and_path():
    definition = {
        "StartAt": "Missing",
        "States": {
            "A": {"Type": "Action", "ActionUrl": "https://ap.example.org",
                  "Parameters": {"p.$": "$.a[x]"}, "Next": "Nowhere",
                  "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Ghost"}]},
            "B": {"Type": "Pass"},
            "C": {"Type": "Choice", "Choices": [{"Variable": "$.v", "StringEquals": "x",
                                                 "Next": "B"}], "Default": "Void"},
            "D": {"Type": "Task", "End": True},
        },
        "OutputPath": "$",
    }
    problems = problems_of(definition)
    by_path = {(p["state"], p["path"]): p["message"] for p in problems}
    assert "StartAt 'Missing' is not a state" in by_path[(None, "$.StartAt")]
    assert "'OutputPath' was unexpected" in by_path[(None, "$")]
    assert "Next 'Nowhere'" in by_path[("A", "$.States.A.Next")]
    assert "'Ghost'" in by_path[("A", "$.States.A.Catch[0].Next")]
    assert "'Void'" in by_path[("C", "$.States.C.Default")]
    assert "not a valid JSON path" in by_path[("A", "$.States.A.Parameters['p.$']")]
    assert "either terminal" in by_path[("B", "$.States.B")]
    assert "'Task' is not one of" in by_path[("D", "$.States.D.Type")]


def test_unreachable_states_are_problems():
    definition = flow(A=PASS_END, Orphan=PASS_END)
    problems = problems_of(definition)
    assert problems == [{"state": "Orphan", "path": "$.States.Orphan",
                         "message": "State 'Orphan' cannot be reached from StartAt 'A'"}]


def test_states_reached_only_through_catch_or_choice_are_reachable():
    definition = flow(
        A={"Type": "Action", "ActionUrl": "https://ap.example.org", "Parameters": {},
           "ResultPath": "$.a", "Next": "C",
           "Catch": [{"ErrorEquals": ["ActionTimeout"], "Next": "Handler", "ResultPath": "$.err"}]},
        C={"Type": "Choice", "Choices": [{"Variable": "$.a.status", "StringEquals": "SUCCEEDED",
                                          "Next": "Done"}], "Default": "Handler"},
        Handler={"Type": "Fail", "Error": "Boom"},
        Done=PASS_END,
    )
    assert validate_flow(definition) == []


@pytest.mark.parametrize("state, message", [
    ({"Type": "Action", "ActionUrl": "https://x.org", "Parameters": {}}, "either terminal"),
    ({"Type": "Pass", "Next": "A", "End": True}, "both Next"),
    ({"Type": "Action", "Parameters": {}, "End": True}, "needs an ActionUrl"),
    ({"Type": "Action", "ActionUrl": "https://x.org", "Parameters": {}, "InputPath": "$.x",
      "End": True}, "Parameters or InputPath"),
    ({"Type": "Wait", "End": True}, "exactly one of Seconds"),
    ({"Type": "Wait", "Seconds": 40000000, "End": True}, "maximum"),
    ({"Type": "Wait", "Timestamp": "tomorrow", "End": True}, "RFC 3339"),
    ({"Type": "Fail", "Error": "E", "ErrorPath": "$.e"}, "Error or ErrorPath"),
    ({"Type": "Pass", "ResultPath": "$._context.run_id", "End": True}, "read-only"),
    ({"Type": "Pass", "ResultPath": "input.x", "End": True}, "is not a JSON path"),
    ({"Type": "Action", "Handler": {"Type": "ActionProvider"}, "Parameters": {}, "End": True},
     "'Url' is a required property"),
    ({"Type": "ExpressionEval", "Parameters": {"x.=": "1 +"}, "End": True}, "not valid syntax"),
    ({"Type": "Pass", "Parameters": {"a": 1, "a.$": "$.a"}, "End": True}, "both produce the key 'a'"),
    ({"Type": "Choice", "Choices": [{"Variable": "$.x", "Next": "A"}]}, "exactly one comparator"),
    ({"Type": "Choice", "Choices": [{"Variable": "$.x", "NumericEquals": "5", "Next": "A"}]},
     "needs a number"),
    ({"Type": "Choice", "Choices": [{"Variable": "x", "IsNull": True, "Next": "A"}]},
     "Variable must be a JSON path"),
    ({"Type": "Choice", "Choices": [{"Variable": "$.x", "StringMatchesPath": "$.y", "Next": "A"}]},
     "not a choice comparator"),
    ({"Type": "Choice", "Choices": [{"And": [{"Variable": "$.x", "IsNull": True, "Next": "A"}],
                                     "Next": "A"}]}, "cannot have Next"),
    ({"Type": "Choice", "Choices": [{"Or": [], "Next": "A"}]}, "non-empty list"),
    ({"Type": "Choice", "Choices": [{"Variable": "$.x", "BooleanEquals": True}]}, "needs a Next"),
    ({"Type": "Choice", "Choices": [{"Variable": "$.x", "TimestampEquals": "2020", "Next": "A"}]},
     "RFC 3339"),
    ({"Type": "Action", "ActionUrl": "https://x.org", "Parameters": {}, "End": True,
      "Catch": [{"ErrorEquals": [], "Next": "A"}]}, "should be non-empty"),
])
def test_state_level_problems(state, message):
    problems = problems_of({"StartAt": "A", "States": {"A": state}})
    assert any(message in p["message"] for p in problems), problems
    assert all(p["state"] == "A" for p in problems)


def test_valid_choice_rules_with_every_comparator_family():
    choices = [
        {"Variable": "$.input.s", "StringMatches": "a*", "Next": "Done"},
        {"Variable": "$.input.n", "NumericLessThanEqualsPath": "$.input.m", "Next": "Done"},
        {"Variable": "$.input.t", "TimestampGreaterThan": "2020-01-01T00:00:00Z", "Next": "Done"},
        {"Not": {"Variable": "$.input.b", "IsPresent": True}, "Next": "Done"},
        {"And": [{"Variable": "$.input.b", "IsBoolean": True},
                 {"Or": [{"Variable": "$.input.b", "BooleanEquals": True},
                         {"Variable": "$._context.username", "IsNull": False}]}], "Next": "Done"},
    ]
    assert validate_flow(flow(C={"Type": "Choice", "Choices": choices, "Default": "Done"},
                              Done=PASS_END)) == []


def test_reference_no_earlier_state_nor_closed_input_schema_provides_is_an_error():
    definition = flow(
        First={"Type": "Action", "ActionUrl": "https://x.org", "Parameters": {"a.$": "$.input.a"},
               "ResultPath": "$.FirstResult", "Next": "Second"},
        Second={"Type": "Pass", "Parameters": {"ok.$": "$.FirstResult.details.x",
                                               "typo.$": "$.FirstResults.details",
                                               "from_input.$": "$.source.path",
                                               "ctx.$": "$._context.run_id"},
                "ResultPath": "$.second", "End": True},
    )
    schema = {"type": "object", "properties": {"source": {"type": "object", "properties": {
        "path": {"type": "string"}}}, "input": {"type": "object"}}, "additionalProperties": False}
    problems = problems_of(definition, schema)
    assert [p["path"] for p in problems] == ["$.States.Second.Parameters['typo.$']"]
    assert problems[0]["state"] == "Second"
    assert "'$.FirstResults.details' cannot exist" in problems[0]["message"]
    assert "'FirstResult' (from state 'First')" in problems[0]["message"]


def test_warns_for_names_an_expression_reads_that_nothing_produces():
    definition = flow(
        First={"Type": "ExpressionEval", "Parameters": {"x.=": "input.a + 1"},
               "ResultPath": "$.first", "Next": "Second"},
        Second={"Type": "ExpressionEval",
                "Parameters": {"ok.=": "[first.x for i in [1, 2]]", "typo.=": "frist.x"},
                "ResultPath": "$.second", "End": True},
    )
    warnings = validate_flow(definition, {"type": "object", "properties": {"input": {}},
                                          "additionalProperties": False})
    assert [(w["path"], w["state"]) for w in warnings] == [
        ("$.States.Second.Parameters['typo.=']", "Second")]
    assert "'$.frist'" in warnings[0]["message"]


def test_no_reference_warnings_after_a_state_replaces_the_whole_run_state():
    definition = flow(
        First={"Type": "Action", "ActionUrl": "https://x.org", "Parameters": {}, "Next": "Second"},
        Second={"Type": "Pass", "Parameters": {"x.$": "$.anything"}, "End": True},
    )
    assert validate_flow(definition) == []


def test_reference_error_when_a_closed_input_schema_forbids_the_key():
    definition = flow(Only={"Type": "Pass", "Parameters": {"x.$": "$.sorce.path"}, "End": True})
    schema = {"type": "object", "properties": {"source": {}}, "additionalProperties": False}
    assert [p["message"] for p in problems_of(definition, schema)] == [
        "'$.sorce.path' cannot exist when state 'Only' runs: no path to it puts 'sorce' in "
        "the run state. Valid keys there: 'source' (from the input schema)"]
    open_schema = {"type": "object", "properties": {"source": {}}}
    assert validate_flow(definition, open_schema) == []


def test_input_reference_a_closed_input_schema_cannot_provide_is_an_error():
    definition = flow(Only={"Type": "Pass", "Parameters": {"b.$": "$.input.b"}, "End": True})
    schema = {"type": "object", "properties": {"other": {}}, "additionalProperties": False}
    assert [p["path"] for p in problems_of(definition, schema)] == [
        "$.States.Only.Parameters['b.$']"]


def test_input_reference_below_what_the_input_schema_allows_is_warned():
    schema = {"type": "object", "properties": {"input": {
        "type": "object", "properties": {"a": {}}, "additionalProperties": False}}}
    definition = flow(Only={"Type": "Pass", "Parameters": {"b.$": "$.input.b"}, "End": True})
    warnings = validate_flow(definition, schema)
    assert [(w["state"], w["path"]) for w in warnings] == [
        ("Only", "$.States.Only.Parameters['b.$']")]
    assert "'$.input.b' may not exist" in warnings[0]["message"]
    assert "the input schema" in warnings[0]["message"]


def test_input_references_are_not_warned_without_an_input_schema_or_when_it_allows_them():
    definition = flow(Only={"Type": "Pass", "Parameters": {"b.$": "$.input.b"}, "End": True})
    assert validate_flow(definition) == []
    allows = {"type": "object", "properties": {"input": {"type": "object", "properties": {
        "b": {"type": "string"}}, "additionalProperties": False}}}
    assert validate_flow(definition, allows) == []
    assert validate_flow(definition, {"type": "object", "properties": {"input": {}}}) == []


@pytest.mark.parametrize("stamp, valid", [
    ("2020-01-01", False), ("2020-01-01 10:00:00Z", False), ("tomorrow", False),
    ("2020-01-01T10:00:00Z", True), ("2020-01-01T10:00:00.123456789+02:00", True),
])
def test_the_validator_and_a_running_wait_agree_on_what_a_timestamp_is(stamp, valid):
    from gladier.engine import interpreter
    from gladier.exc import FlowRuntimeError

    literal = flow(W={"Type": "Wait", "Timestamp": stamp, "End": True})
    from_path = flow(W={"Type": "Wait", "TimestampPath": "$.t", "End": True})
    try:
        interpreter.step(from_path, "W", {"t": stamp}, context={})
        runs = True
    except FlowRuntimeError:
        runs = False
    try:
        validate_flow(literal)
        validates = True
    except FlowValidationError:
        validates = False
    assert runs is validates is valid


def test_invalid_input_schema_is_a_problem():
    with pytest.raises(FlowValidationError) as info:
        validate_input_schema({"type": "objekt", "properties": {"a": {"type": 5}}})
    paths = {p["path"] for p in info.value.problems}
    assert "$.input_schema.type" in paths
    problems = problems_of(flow(A=PASS_END), {"required": "a"})
    assert problems[0]["path"] == "$.input_schema.required"
    validate_input_schema(None)
    validate_input_schema(True)


@pytest.mark.parametrize("junk", [None, [], 5, "flow", 3.5, {"StartAt": 1}, {1: 2},
                                  {"States": {"A": 5}}, {"StartAt": "A", "States": []},
                                  {"x": {1, 2}}, {(1, 2): 3}])
def test_junk_is_reported_not_crashed_on(junk):
    assert problems_of(junk)


def test_cyclic_and_deeply_nested_junk_is_reported():
    cyclic = {"StartAt": "A"}
    cyclic["States"] = {"A": cyclic}
    assert "not JSON data" in problems_of(cyclic)[0]["message"]
    nested: list = []
    for _ in range(3000):
        nested = [nested]
    assert problems_of(flow(A={"Type": "Pass", "Result": nested, "End": True}))
    assert problems_of({"x": nested}, {"y": nested})


class Unreadable(dict):
    """A dict whose own methods fail while it is read."""

    def items(self):
        raise RuntimeError("items() is broken")

    def __iter__(self):
        raise RuntimeError("iteration is broken")

    keys = values = __iter__


def test_a_definition_whose_methods_raise_is_a_problem_not_a_crash():
    problems = problems_of(Unreadable(StartAt="A", States={"A": PASS_END}))
    assert problems == [{"state": None, "path": "$", "message":
                         "A flow definition must be a JSON object: it is not JSON data: "
                         "items() is broken"}]


def test_an_input_schema_whose_methods_raise_is_a_problem_not_a_crash():
    problems = problems_of(flow(A=PASS_END), Unreadable(type="object"))
    assert [p["path"] for p in problems] == ["$.input_schema"]
    assert problems[0]["message"] == "The input schema: it is not JSON data: items() is broken"
    with pytest.raises(FlowValidationError):
        validate_input_schema(Unreadable(type="object"))


@needs_corpus
def test_validate_flow_does_not_modify_its_argument():
    definition = json.loads(corpus_flows()[0][0].read_text())
    before = copy.deepcopy(definition)
    validate_flow(definition)
    assert definition == before


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children,
                                                                       max_size=4),
    max_leaves=20,
)
STATE_KEYS = st.sampled_from(["Type", "Next", "End", "Parameters", "InputPath", "ResultPath",
                              "Choices", "Default", "Catch", "Seconds", "Variable", "ActionUrl",
                              "StringEquals", "And", "Not", "x.$", "y.=", "Result"])
VALUES = st.sampled_from(["Action", "Pass", "Choice", "Wait", "Fail", "A", "B", "$.a", "$..x",
                          "1 +", "a.b", True, 5, None, [], {}]) | JSON
STATE = st.dictionaries(STATE_KEYS, VALUES | st.lists(st.dictionaries(STATE_KEYS, VALUES, max_size=4),
                                                       max_size=3), max_size=7)
FLOWISH = st.fixed_dictionaries(
    {"StartAt": st.sampled_from(["A", "B", "C"]) | JSON,
     "States": st.dictionaries(st.sampled_from(["A", "B", "C"]), STATE | JSON, max_size=3) | JSON},
    optional={"Comment": JSON},
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(JSON, FLOWISH), st.none() | JSON)
def test_validate_flow_raises_only_flow_validation_error_whatever_it_is_given(definition, schema):
    try:
        warnings = validate_flow(definition, schema)
    except FlowValidationError as exc:
        assert exc.problems
        for problem in exc.problems:
            assert set(problem) == {"state", "path", "message"}
            assert problem["path"].startswith("$")
    else:
        assert isinstance(warnings, list)
    problems, _ = check_flow(definition, schema)
    assert isinstance(problems, list)


def _every_place(node, where=()):
    yield where
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _every_place(value, where + (key,))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _every_place(value, where + (index,))


def _replaced(root, where, value):
    if not where:
        return value
    result = copy.deepcopy(root)
    node = result
    for segment in where[:-1]:
        node = node[segment]
    node[where[-1]] = value
    return result


@needs_corpus
@pytest.mark.parametrize("junk", [None, [{"Next": 3}], "$..x"])
def test_corrupting_any_part_of_a_corpus_flow_never_crashes_the_validator(junk):
    definition = json.loads((CORPUS / "move" / "definition.json").read_text())
    for where in _every_place(definition):
        try:
            validate_flow(_replaced(definition, where, junk))
        except FlowValidationError as exc:
            assert exc.problems
