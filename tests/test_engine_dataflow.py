"""The service's data-flow check and the documented Pass semantics.

The Flows service refuses (422 FLOW_VALIDATION_FAILED) a definition whose reference names a
key the run state cannot hold at that state, naming the valid keys and the states they came
from; the Globus "Validating Flow Definitions" page recommends giving the input schema "for
more advanced validation". These tests pin the same verdicts: an error only where every path
to the state is known, a warning where only some paths provide the key.
"""

import json

import pytest

from gladier.engine.interpreter import step
from gladier.engine.validate import check_flow, validate_flow
from corpus import CORPUS

CLOSED = {"type": "object", "additionalProperties": False, "required": ["source"],
          "properties": {"source": {"type": "object"}, "label": {"type": "string"}}}
ACTION = {"Type": "Action", "ActionUrl": "https://actions.globus.org/hello_world"}


def flow(**states):
    return {"StartAt": next(iter(states)), "States": states}


def verdicts(definition, schema=CLOSED):
    problems, warnings = check_flow(definition, schema)
    return ([(p["state"], p["path"], p["message"]) for p in problems],
            [(w["state"], w["path"], w["message"]) for w in warnings])


def test_reference_no_path_provides_is_an_error_naming_valid_keys_and_their_states():
    definition = flow(
        Hello={**ACTION, "Parameters": {"echo_string.$": "$.source.path"}, "ResultPath": "$.Hello",
               "Next": "Bye"},
        Bye={**ACTION, "Parameters": {"echo_string.$": "$.destination.path"}, "End": True})
    problems, _ = verdicts(definition)
    assert problems == [("Bye", "$.States.Bye.Parameters['echo_string.$']",
                         "'$.destination.path' cannot exist when state 'Bye' runs: no path to "
                         "it puts 'destination' in the run state. Valid keys there: 'Hello' "
                         "(from state 'Hello'); 'label' (from the input schema); 'source' (from "
                         "the input schema)")]


def test_key_only_some_paths_provide_is_a_warning():
    definition = flow(
        Check={"Type": "Choice", "Choices": [
            {"Variable": "$.source.kind", "StringEquals": "dir", "Next": "Mark"}],
            "Default": "Use"},
        Mark={"Type": "Pass", "Result": True, "ResultPath": "$.is_dir", "Next": "Use"},
        Use={**ACTION, "Parameters": {"d.$": "$.is_dir"}, "End": True})
    problems, warnings = verdicts(definition)
    assert problems == []
    assert warnings == [("Use", "$.States.Use.Parameters['d.$']",
                         "'$.is_dir' may not exist when state 'Use' runs: only some paths to "
                         "it provide 'is_dir' (from state 'Mark')")]


def test_optional_input_property_counts_as_given():
    definition = flow(Say={**ACTION, "Parameters": {"l.$": "$.label"}, "End": True})
    assert verdicts(definition) == ([], [])


def test_without_a_closed_schema_nothing_is_an_error():
    definition = flow(Say={**ACTION, "Parameters": {"x.$": "$.anything"}, "End": True})
    for schema in (None, {"type": "object"}, {**CLOSED, "additionalProperties": True}):
        assert verdicts(definition, schema)[0] == []


def test_state_storing_its_result_at_root_replaces_the_keys():
    definition = flow(
        Shape={"Type": "ExpressionEval", "Parameters": {"n.=": "len(source)"}, "ResultPath": "$",
               "Next": "Use"},
        Use={**ACTION, "Parameters": {"n.$": "$.n", "s.$": "$.source"}, "End": True})
    problems, _ = verdicts(definition)
    assert [(p[0], p[1]) for p in problems] == [("Use", "$.States.Use.Parameters['s.$']")]
    assert "Valid keys there: 'n' (from state 'Shape')" in problems[0][2]
    # an action's status at $: its keys are not known here, so nothing is refused
    definition["States"]["Shape"] = {**ACTION, "Parameters": {}, "ResultPath": "$", "Next": "Use"}
    assert verdicts(definition)[0] == []


def test_catch_edge_carries_the_state_input_and_the_error():
    definition = flow(
        Try={**ACTION, "Parameters": {}, "ResultPath": "$.Try", "End": True,
             "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Report"}]},
        Report={**ACTION, "Parameters": {"e.$": "$.error.cause", "t.$": "$.Try"}, "End": True})
    problems, _ = verdicts(definition)
    assert [p[1] for p in problems] == ["$.States.Report.Parameters['t.$']"]


def test_loops_reach_a_fixed_point_and_accept_what_the_loop_writes():
    definition = flow(
        Start={"Type": "Pass", "Result": 0, "ResultPath": "$.count", "Next": "More"},
        More={"Type": "Choice", "Choices": [
            {"Variable": "$.count", "NumericLessThan": 3, "Next": "Add"}], "Default": "Done"},
        Add={"Type": "ExpressionEval", "Parameters": {"count.=": "count + 1",
                                                        "source.$": "$.source"},
             "ResultPath": "$", "Next": "More"},
        Done={**ACTION, "Parameters": {"c.$": "$.count", "s.$": "$.source"}, "End": True})
    assert verdicts(definition) == ([], [])


def test_is_present_and_guarded_expressions_are_never_errors():
    definition = flow(
        Has={"Type": "Choice", "Choices": [
            {"Variable": "$.nothing", "IsPresent": True, "Next": "Use"}], "Default": "Use"},
        Use={**ACTION, "Parameters": {"v.=": "nothing if is_present('nothing') else 1"},
             "End": True})
    problems, warnings = verdicts(definition)
    assert problems == [] and [w[1] for w in warnings] == ["$.States.Use.Parameters['v.=']"]


def corpus_flows():
    for directory in sorted(CORPUS.iterdir()) if CORPUS.is_dir() else []:
        for definition in sorted(directory.glob("*definition.json")):
            schema = definition.with_name(definition.name.replace("definition", "input_schema")
                                          if definition.name == "definition.json"
                                          else definition.name.replace("_definition", "_schema"))
            yield definition, schema


@pytest.mark.parametrize("definition_file, schema_file", list(corpus_flows()),
                         ids=lambda p: f"{p.parent.name}/{p.name}")
def test_no_corpus_flow_is_refused_by_the_data_flow_check(definition_file, schema_file):
    definition = json.loads(definition_file.read_text())
    schema = json.loads(schema_file.read_text())
    assert check_flow(definition, schema) == ([], [])
    assert check_flow(definition)[0] == []  # without its schema: warnings only


# -- Pass: InputPath + ResultPath ----------------------------------------------------------


def test_pass_with_input_path_and_result_path_moves_the_data_as_the_globus_docs_show():
    """Globus docs, Authoring Flows > Pass States: "This Pass state specifies an InputPath
    and a ResultPath, which means it effectively moves data round. [...] if the run's data,
    upon reaching this state is {"DataOrigin": "0 degrees North by 0 degrees West",
    "DataTransitMethod": "Sneakernet"} then the run's data upon exiting this state, and
    transitioning to the "AfterPass" state, will be {"DataDestination": "0 degrees North by
    0 degrees West", "DataTransitMethod": "Sneakernet"}"."""
    definition = flow(
        Move={"Type": "Pass", "InputPath": "$.DataOrigin", "ResultPath": "$.DataDestination",
              "Next": "AfterPass"},
        AfterPass={"Type": "Pass", "End": True})
    data = {"DataOrigin": "0 degrees North by 0 degrees West", "DataTransitMethod": "Sneakernet"}
    result = step(definition, "Move", data, context={})
    assert result.data == {"DataDestination": "0 degrees North by 0 degrees West",
                           "DataTransitMethod": "Sneakernet"}
    assert result.next_state == "AfterPass"
    assert data["DataOrigin"]  # the earlier run state is not changed in place
    validate_flow(definition)


def test_pass_with_result_path_only_nests_everything_as_the_globus_docs_show():
    """Globus docs, Pass States: "This Pass state puts all of the input data into the field
    named "Nested", then transitions to the state named "AfterPass"."""
    definition = flow(Nest={"Type": "Pass", "ResultPath": "$.Nested", "Next": "AfterPass"},
                      AfterPass={"Type": "Pass", "End": True})
    result = step(definition, "Nest", {"a": 1}, context={})
    assert result.data == {"a": 1, "Nested": {"a": 1}}


@pytest.mark.parametrize("extra, expected", [
    # the docs are silent on these; the engine copies, as a Parameters state does
    ({"Parameters": {"v.$": "$"}}, {"DataOrigin": {"x": 1}, "Dest": {"v": {"x": 1}}}),
    ({"InputPath": "$.DataOrigin.x"}, {"DataOrigin": {}, "Dest": 1}),
])
def test_pass_move_variants(extra, expected):
    state = {"Type": "Pass", "InputPath": "$.DataOrigin", "ResultPath": "$.Dest", "End": True,
             **extra}
    result = step(flow(P=state), "P", {"DataOrigin": {"x": 1}}, context={})
    assert result.data == expected


def test_moved_key_is_gone_for_the_data_flow_check():
    definition = flow(
        Move={"Type": "Pass", "InputPath": "$.source", "ResultPath": "$.moved", "Next": "Use"},
        Use={**ACTION, "Parameters": {"s.$": "$.source"}, "End": True})
    problems, _ = verdicts(definition)
    assert [p[0] for p in problems] == ["Use"] and "'moved' (from state 'Move')" in problems[0][2]


# -- Catch: the error object ---------------------------------------------------------------


def test_caught_error_is_stored_as_the_service_stores_it():
    """docs/flow-language.rst: the caught error is {"state_name", "exception", "cause"} (plus
    "output" when the action returned something) at the handler's ResultPath, or the whole
    run state when the handler has none."""
    from gladier.engine.interpreter import catch, runtime_error

    definition = flow(
        Try={**ACTION, "Parameters": {}, "End": True, "Catch": [
            {"ErrorEquals": ["ActionTimeout"], "Next": "Whole"},
            {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Kept"}]},
        Whole={"Type": "Pass", "End": True}, Kept={"Type": "Pass", "End": True})
    caught = catch(definition, "Try", {"input": 1},
                   runtime_error("ActionFailedException", "it broke", "Try", output={"x": 1}))
    assert caught.next_state == "Kept"
    assert caught.data == {"input": 1, "error": {
        "state_name": "Try", "exception": "ActionFailedException", "cause": "it broke",
        "output": {"x": 1}}}
    caught = catch(definition, "Try", {"input": 1}, runtime_error("ActionTimeout", "slow", "Try"))
    assert caught.next_state == "Whole"
    assert caught.data == {"state_name": "Try", "exception": "ActionTimeout", "cause": "slow"}
