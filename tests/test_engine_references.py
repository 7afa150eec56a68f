"""JSONPath references (`.$`, InputPath, Variable, ...) and the shapes the service accepts.

Sources quoted:
- Globus Flows docs, Authoring Flows > Introduction
  (https://docs.globus.org/api/flows/authoring-flows/introduction): "Data is referred to
  using JSONPath notation in flow definitions, and evaluated by runs against the current
  data."
- Amazon States Language, which the docs say the service "starts from": "ResultPath is
  limited to using reference paths, which limit scope so the path must identify only a
  single node in JSON."
"""

import pytest

from gladier.engine.interpreter import Advance, step
from gladier.engine.parameters import resolve_parameters
from gladier.engine.paths import get_path, parse_path, parse_query
from gladier.engine.validate import check_flow, validate_flow
from gladier.exc import FlowRuntimeError, FlowValidationError, PathError

DATA = {"input": {"Hellos": ["Hello", "Bonjour", "Hola"],
                  "files": [{"name": "a.txt", "size": 1}, {"name": "b.txt", "size": 2}]}}


@pytest.mark.parametrize("path, expected", [
    # Globus's complex-hello-world example flow: a slice
    ("$.input.Hellos[1:]", ["Bonjour", "Hola"]),
    # every element's member
    ("$.input.files[*].name", ["a.txt", "b.txt"]),
    ("$.input.files.*.size", [1, 2]),
    ("$.input.Hellos[-1]", "Hola"),
    ("$.input.Hellos[::-1]", ["Hola", "Bonjour", "Hello"]),
    ("$.input.Hellos[0,2]", ["Hello", "Hola"]),
    ("$.input.files[0]['name','size']", ["a.txt", 1]),
    ("$..name", ["a.txt", "b.txt"]),
    ("$['input'][\"Hellos\"][0]", "Hello"),
])
def test_jsonpath_queries_read_what_they_select(path, expected):
    assert get_path(DATA, path) == expected


def test_many_valued_query_needs_its_prefix_but_may_select_nothing():
    assert get_path({"files": []}, "$.files[*].name") == []
    with pytest.raises(PathError, match=r"nothing at '\$\.files'"):
        get_path({}, "$.files[*].name")


@pytest.mark.parametrize("bad, where", [
    ("$.a[?(@.x > 1)]", "filter and script expressions"),
    ("$.a[x]", "expected an index, a quoted name"),
    ("$.a[1:2:0]", "step cannot be 0"),
    ("$.a[", "never closed"),
    ("$.a b", None),
])
def test_refused_queries_say_what_and_at_which_character(bad, where):
    if where is None:  # a space inside a name is a name, as before
        assert parse_query(bad) == ("a b",)
        return
    with pytest.raises(PathError, match=f"{where}.* at character 3"):
        parse_query(bad)


def test_reference_parameter_with_a_wildcard_runs():
    assert resolve_parameters({"names.$": "$.input.files[*].name", "rest.$": "$.input.Hellos[1:]"},
                              DATA, context={}, state_name="S") == {
        "names": ["a.txt", "b.txt"], "rest": ["Bonjour", "Hola"]}


def test_result_path_stays_a_reference_path():
    with pytest.raises(PathError, match=r"selects many values \(a '\*' wildcard\)"):
        parse_path("$.out[*]")
    definition = {"StartAt": "P", "States": {"P": {
        "Type": "Pass", "InputPath": "$.input.Hellos[1:]", "ResultPath": "$.out[*]", "End": True}}}
    problems, _ = check_flow(definition)
    assert [(p["state"], p["path"]) for p in problems] == [("P", "$.States.P.ResultPath")]
    assert "selects many values" in problems[0]["message"]


def test_input_path_and_variable_accept_queries_in_validation_and_run():
    definition = {"StartAt": "C", "States": {
        "C": {"Type": "Choice", "Choices": [
            {"Variable": "$.input.files[0].name", "StringEquals": "a.txt", "Next": "P"}],
            "Default": "P"},
        "P": {"Type": "Pass", "InputPath": "$.input.files[*].name", "ResultPath": "$.names",
              "End": True}}}
    validate_flow(definition)
    assert step(definition, "C", DATA, context={}).next_state == "P"
    result = step(definition, "P", DATA, context={})
    assert isinstance(result, Advance) and result.data["names"] == ["a.txt", "b.txt"]


def test_a_malformed_reference_at_run_time_names_the_field():
    definition = {"StartAt": "P", "States": {"P": {
        "Type": "Pass", "Parameters": {"x.$": "$.a[?(@)]"}, "End": True}}}
    with pytest.raises(FlowRuntimeError, match=r"x\.\$.*filter"):
        step(definition, "P", DATA, context={})


# -- shapes Gladier 0.11 emits ---------------------------------------------------------


def test_comment_null_as_gladier_011_emits_is_accepted_with_a_warning():
    """Gladier 0.11's compute flow builder writes ``"Comment": compute_function.__doc__``:
    null for a function without a docstring, and such flows were deployed."""
    definition = {"Comment": None, "StartAt": "F", "States": {"F": {
        "Comment": None, "Type": "Action", "ActionUrl": "https://compute.actions.globus.org",
        "Parameters": {"tasks": [{"endpoint.$": "$.input.compute_endpoint"}]},
        "ResultPath": "$.F", "WaitTime": 300, "End": True,
        "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "F", "Comment": None}]}}}
    warnings = validate_flow(definition)
    assert sorted(w["path"] for w in warnings if "Comment is null" in w["message"]) == [
        "$.Comment", "$.States.F.Catch[0].Comment", "$.States.F.Comment"]


def test_comment_of_another_type_is_still_refused():
    with pytest.raises(FlowValidationError, match="is not of type 'string', 'null'"):
        validate_flow({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True,
                                                          "Comment": 5}}})


# -- what the service rejects ----------------------------------------------------------


def test_action_without_parameters_or_input_path_is_refused():
    definition = {"StartAt": "A", "States": {"A": {
        "Type": "Action", "ActionUrl": "https://actions.globus.org/hello_world", "End": True}}}
    problems, _ = check_flow(definition)
    assert [(p["state"], p["message"]) for p in problems] == [
        ("A", "An Action state needs Parameters or InputPath: they make the body sent to "
              "the action provider")]
    definition["States"]["A"]["InputPath"] = "$.input"
    validate_flow(definition)


@pytest.mark.parametrize("catchers, messages", [
    ([{"ErrorEquals": ["States.ALL", "ActionFailedException"], "Next": "E"}],
     ["States.ALL must be the only error name in its catcher (it already catches "
      "ActionFailedException)"]),
    ([{"ErrorEquals": ["States.ALL"], "Next": "E"},
      {"ErrorEquals": ["ActionTimeout"], "Next": "E"}],
     ["The catcher with States.ALL must be the last one (it is 1 of 2: the ones after it "
      "could never catch anything)"]),
    ([{"ErrorEquals": ["ActionTimeout"], "Next": "E"},
      {"ErrorEquals": ["States.ALL"], "Next": "E"}], []),
    # Gladier 0.11's ActionExceptionName spelling, grouped per handler as 0.11 writes it
    ([{"ErrorEquals": ["States.All", "ActionFailedException"], "Next": "E"}], []),
])
def test_states_all_alone_and_last(catchers, messages):
    definition = {"StartAt": "A", "States": {
        "A": {"Type": "Action", "ActionUrl": "https://actions.globus.org/hello_world",
              "Parameters": {"echo_string": "x"}, "Catch": catchers, "End": True},
        "E": {"Type": "Fail"}}}
    problems, _ = check_flow(definition)
    assert [p["message"] for p in problems] == messages
    assert all(p["state"] == "A" and p["path"].endswith(".ErrorEquals") for p in problems)
