"""The interpreter alone: what each state does, computed without a database or threads."""

import datetime

import pytest

from gladier.engine import interpreter
from gladier.exc import FlowRuntimeError

CONTEXT = {"run_id": "run-1", "flow_id": "flow-1", "username": "me@localhost",
           "user_id": "urn:globus:auth:identity:1", "email": None,
           "identities": ["urn:globus:auth:identity:1"]}


def flow(**states):
    return {"StartAt": next(iter(states)), "States": states}


def run_step(definition, name, data):
    return interpreter.step(definition, name, data, context=CONTEXT)


def test_pass_without_result_path_replaces_the_state_with_its_input():
    d = flow(P={"Type": "Pass", "InputPath": "$.a", "End": True})
    out = run_step(d, "P", {"a": {"b": 1}, "c": 2})
    assert out == interpreter.Advance(data={"b": 1}, next_state=None, output={"b": 1})


def test_pass_parameters_are_resolved_against_the_input_path():
    d = flow(P={"Type": "Pass", "InputPath": "$.a",
                "Parameters": {"copy.$": "$.b", "const": [1, {"x.$": "$.b"}]},
                "ResultPath": "$.out.deep", "Next": "Q"}, Q={"Type": "Pass", "End": True})
    out = run_step(d, "P", {"a": {"b": 5}})
    assert out.next_state == "Q"
    assert out.data == {"a": {"b": 5}, "out": {"deep": {"copy": 5, "const": [1, {"x": 5}]}}}


def test_pass_result_wins_over_the_input():
    d = flow(P={"Type": "Pass", "Result": {"fixed": True}, "ResultPath": "$.r", "End": True})
    assert run_step(d, "P", {"a": 1}).data == {"a": 1, "r": {"fixed": True}}


def test_writing_a_result_never_changes_the_previous_data():
    d = flow(P={"Type": "Pass", "Result": 2, "ResultPath": "$.a.b", "End": True})
    before = {"a": {"b": 1}}
    run_step(d, "P", before)
    assert before == {"a": {"b": 1}}


def test_result_path_under_context_is_refused_naming_the_state():
    d = flow(P={"Type": "Pass", "Result": 1, "ResultPath": "$._context.x", "End": True})
    with pytest.raises(FlowRuntimeError) as err:
        run_step(d, "P", {})
    assert err.value.error == "States.ResultPathMatchFailure"
    assert err.value.state_name == "P" and "read-only" in err.value.cause


def test_context_is_readable_in_parameters_and_expressions():
    d = flow(E={"Type": "ExpressionEval", "ResultPath": "$.ctx", "End": True,
                "Parameters": {"run.$": "$._context.run_id", "who.=": "_context.username"}})
    assert run_step(d, "E", {}).data == {"ctx": {"run": "run-1", "who": "me@localhost"}}


def test_missing_reference_is_a_states_runtime_error_naming_the_path():
    d = flow(P={"Type": "Pass", "Parameters": {"x.$": "$.nope"}, "End": True})
    with pytest.raises(FlowRuntimeError) as err:
        run_step(d, "P", {})
    assert err.value.error == "States.Runtime" and "$.nope" in err.value.cause


def test_choice_picks_the_next_state_and_keeps_the_data():
    d = flow(C={"Type": "Choice", "Default": "B",
                "Choices": [{"Variable": "$.n", "NumericGreaterThan": 1, "Next": "A"}]},
             A={"Type": "Pass", "End": True}, B={"Type": "Pass", "End": True})
    assert run_step(d, "C", {"n": 2}).next_state == "A"
    assert run_step(d, "C", {"n": 0}) == interpreter.Advance({"n": 0}, "B", {"n": 0})


@pytest.mark.parametrize("state, data, expected", [
    ({"Seconds": 5}, {}, 5.0),
    ({"SecondsPath": "$.s"}, {"s": 2.5}, 2.5),
])
def test_wait_seconds_and_seconds_path_give_a_duration(state, data, expected):
    d = flow(W={"Type": "Wait", "Next": "E", **state}, E={"Type": "Pass", "End": True})
    assert run_step(d, "W", data) == interpreter.WaitUntil(next_state="E", seconds=expected)


def test_wait_timestamp_and_timestamp_path_give_a_moment():
    moment = datetime.datetime(2030, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)
    d = flow(W={"Type": "Wait", "Timestamp": "2030-01-02T03:04:05Z", "Next": "V"},
             V={"Type": "Wait", "TimestampPath": "$.t", "Next": "E"},
             E={"Type": "Pass", "End": True})
    assert run_step(d, "W", {}).timestamp == moment
    assert run_step(d, "V", {"t": "2030-01-02T04:04:05+01:00"}).timestamp == moment


@pytest.mark.parametrize("state, data", [
    ({"SecondsPath": "$.s"}, {"s": "ten"}),
    ({"SecondsPath": "$.s"}, {"s": -1}),
    ({"TimestampPath": "$.t"}, {"t": "tomorrow"}),
    ({"TimestampPath": "$.t"}, {"t": "2020-01-01"}),
    ({"SecondsPath": "$.missing"}, {}),
])
def test_wait_with_an_unusable_value_is_a_runtime_error(state, data):
    d = flow(W={"Type": "Wait", "Next": "E", **state}, E={"Type": "Pass", "End": True})
    with pytest.raises(FlowRuntimeError) as err:
        run_step(d, "W", data)
    assert err.value.error == "States.Runtime" and err.value.state_name == "W"


def test_fail_uses_error_and_cause_or_their_paths():
    d = flow(F={"Type": "Fail", "Error": "Oops", "Cause": "why"},
             G={"Type": "Fail", "ErrorPath": "$.e", "CausePath": "$.c"})
    assert run_step(d, "F", {}) == interpreter.FailRun("Oops", "why")
    assert run_step(d, "G", {"e": "E1", "c": "C1"}) == interpreter.FailRun("E1", "C1")


def test_action_defaults_wait_time_300_exception_on_failure_and_result_path_root():
    d = flow(A={"Type": "Action", "ActionUrl": "https://x", "Parameters": {"a.$": "$.v"},
                "End": True})
    call = run_step(d, "A", {"v": 1})
    assert call == interpreter.CallAction(body={"a": 1}, logged_body={"a": 1},
                                          result_path="$", wait_time=300.0,
                                          exception_on_failure=True, run_as="User")


def test_action_private_parameters_are_only_in_the_body_sent():
    d = flow(A={"Type": "Action", "ActionUrl": "https://x", "End": True,
                "Parameters": {"user": "u", "password.$": "$.pw",
                               "__Private_Parameters": ["password"]}})
    call = run_step(d, "A", {"pw": "hunter2"})
    assert call.body["password"] == "hunter2"
    assert "hunter2" not in str(call.logged_body)


def test_complete_action_stores_status_with_state_name_at_result_path():
    d = flow(A={"Type": "Action", "ActionUrl": "https://x", "InputPath": "$",
                "ResultPath": "$.A", "Next": "B"}, B={"Type": "Pass", "End": True})
    status = {"action_id": "a1", "status": "SUCCEEDED", "details": {"r": 1}}
    out = interpreter.complete_action(d, "A", {"x": 1}, status)
    assert out.next_state == "B"
    assert out.data == {"x": 1, "A": dict(status, state_name="A")}


def test_failed_action_raises_action_failed_exception_by_default():
    d = flow(A={"Type": "Action", "ActionUrl": "https://x", "InputPath": "$", "End": True})
    failed = {"action_id": "a1", "status": "FAILED", "details": {"description": "boom"}}
    with pytest.raises(FlowRuntimeError) as err:
        interpreter.complete_action(d, "A", {}, failed)
    assert err.value.error == "ActionFailedException" and "boom" in err.value.cause
    assert err.value.output["status"] == "FAILED"


def test_failed_action_is_stored_when_exception_on_action_failure_is_false():
    d = flow(A={"Type": "Action", "ActionUrl": "https://x", "InputPath": "$",
                "ExceptionOnActionFailure": False, "ResultPath": "$.A", "End": True})
    failed = {"action_id": "a1", "status": "FAILED", "details": {}}
    assert interpreter.complete_action(d, "A", {}, failed).data["A"]["status"] == "FAILED"


def catching_flow(*catchers):
    return flow(A={"Type": "Action", "ActionUrl": "https://x", "InputPath": "$",
                   "End": True, "Catch": list(catchers)},
                H={"Type": "Pass", "End": True}, I={"Type": "Pass", "End": True})


def test_catch_matches_exact_names_in_order():
    d = catching_flow({"ErrorEquals": ["ActionTimeout"], "Next": "H"},
                      {"ErrorEquals": ["ActionFailedException"], "Next": "I",
                       "ResultPath": "$.err"})
    error = interpreter.runtime_error("ActionFailedException", "bad", "A", output={"o": 1})
    out = interpreter.catch(d, "A", {"keep": 1}, error)
    assert out.next_state == "I"
    assert out.data == {"keep": 1, "err": {"state_name": "A", "exception":
                                           "ActionFailedException", "cause": "bad",
                                           "output": {"o": 1}}}


@pytest.mark.parametrize("wildcard", ["States.ALL", "States.All"])
def test_catch_all_spellings_route_any_error(wildcard):
    d = catching_flow({"ErrorEquals": [wildcard], "Next": "H"})
    error = interpreter.runtime_error("States.Runtime", "missing path", "A")
    out = interpreter.catch(d, "A", {"keep": 1}, error)
    assert out.next_state == "H"
    assert out.data == {"state_name": "A", "exception": "States.Runtime",
                        "cause": "missing path"}


def test_catch_returns_none_for_unmatched_and_size_errors():
    d = catching_flow({"ErrorEquals": ["ActionTimeout"], "Next": "H"},
                      {"ErrorEquals": ["States.ALL"], "Next": "I"})
    size = interpreter.runtime_error("States.DataLimitExceeded", "big", "A")
    assert interpreter.catch(d, "A", {}, size) is None
    d2 = catching_flow({"ErrorEquals": ["ActionTimeout"], "Next": "H"})
    assert interpreter.catch(d2, "A", {}, interpreter.runtime_error("X", "y", "A")) is None


def test_state_size_over_the_limit_names_the_state():
    with pytest.raises(FlowRuntimeError) as err:
        interpreter.check_state_size(2049, "Big", limit=2048)
    assert err.value.error == "States.DataLimitExceeded" and "'Big'" in err.value.cause
    interpreter.check_state_size(2048, "Big", limit=2048)


def test_public_view_drops_private_keys_at_any_depth():
    data = {"_private_token": 1, "a": [{"_private_x": 2, "b": 3}], "c": {"_privatey": 4}}
    assert interpreter.public_view(data) == {"a": [{"b": 3}], "c": {}}


def test_catch_result_path_under_context_is_refused():
    d = catching_flow({"ErrorEquals": ["States.ALL"], "ResultPath": "$._context.err",
                       "Next": "H"})
    with pytest.raises(FlowRuntimeError) as err:
        interpreter.catch(d, "A", {}, interpreter.runtime_error("X", "y", "A"))
    assert err.value.error == "States.ResultPathMatchFailure"


def test_private_state_paths_are_where_pass_and_expression_eval_store_listed_values():
    definition = {"StartAt": "P", "States": {
        "P": {"Type": "Pass", "ResultPath": "$.creds", "Next": "E",
              "Parameters": {"pw": "x", "__Private_Parameters": ["pw"]}},
        "E": {"Type": "ExpressionEval", "ResultPath": "$", "Next": "R",
              "Parameters": {"DATA": [{"k.=": "1", "__Private_Parameters": ["k.="]}]}},
        "R": {"Type": "Pass", "Result": {}, "Next": "A",
              "Parameters": {"pw": "x", "__Private_Parameters": ["pw"]}},
        "A": {"Type": "Action", "ActionUrl": "https://x.org", "ResultPath": "$.a", "End": True,
              "Parameters": {"pw": "x", "__Private_Parameters": ["pw"]}}}}
    hidden = interpreter.private_state_paths(definition)
    assert hidden == {("creds", "pw"), ("DATA", 0, "k")}
    data = {"creds": {"pw": "s", "user": "u"}, "DATA": [{"k": 1, "j": 2}], "pw": 3}
    assert interpreter.public_view(data, hidden) == {
        "creds": {"user": "u"}, "DATA": [{"j": 2}], "pw": 3}


@pytest.mark.parametrize("state", [
    {"Type": "Pass", "Result": 7, "ResultPath": "$.a.b.c", "End": True},
    {"Type": "Pass", "Result": 7, "ResultPath": "$.list[1].x", "End": True},
    {"Type": "Pass", "InputPath": "$.a.b", "ResultPath": "$.moved", "End": True},
])
def test_a_result_is_written_into_a_copy_along_its_path_the_earlier_state_unchanged(state):
    data = {"a": {"b": {"c": 1, "d": [1, 2]}, "e": {"f": 3}}, "list": [{"x": 0}, {"x": 1}]}
    before = repr(data)
    out = run_step(flow(P=state), "P", data)
    assert repr(data) == before
    assert out.data["a"]["e"] is data["a"]["e"]  # what the write does not touch is shared
    assert out.data != data
