"""Flows built with Gladier 0.11's state-object API, written as 0.11 users write them.

Run by tests/test_state_api_reference.py under the reference Gladier 0.11 and under this
package; prints ``{case: flow definition or {"error": exception type names}}`` as JSON.
"""

import datetime
import json
import sys
import typing as t

from gladier import GladierBaseClient, generate_flow_definition
from gladier.tools import (
    ActionState, AndRule, ChoiceOption, ChoiceState, ComparisonRule, Compute,
    ExpressionEvalState, FailState, NotRule, OrRule, PassState, SearchDelete,
    SearchDeleteByQuery, SearchIngest, Transfer, TransferDelete, TransferItem, WaitState,
)
from gladier.tools.builtins import ActionExceptionName

CASES = {}


def case(function):
    CASES[function.__name__] = function
    return function


class Hello(ActionState):
    action_url = "https://actions.globus.org/hello_world"


class Echo(ActionState):
    action_url = "https://ap.example.org/echo"
    echo_string: str = "$.input.echo"
    sleep_time: int = 1


class NeedsFields(ActionState):
    action_url = "https://ap.example.org/needs"
    param1: t.Union[str, int]
    param2: str


class Tagged(PassState):
    """Overrides get_flow_definition to add a Result, as users' custom states do."""

    tag: str = "nightly"

    def get_flow_definition(self):
        flow = super().get_flow_definition()
        self.get_flow_state_dict()["Result"] = {"tag": self.tag}
        return flow


@case
def action_chain():
    first = Hello(state_name="First")
    first.next(Hello(state_name="Second")).next(Hello(state_name="Third"))
    first.next(Hello(state_name="Inserted"), insert_next=True)
    return first.get_flow_definition()


@case
def action_replace_next():
    first = Hello(state_name="First", wait_time=30, exception_on_action_failure=True)
    first.next(Hello(state_name="Old"))
    first.next(Hello(state_name="New", run_as="Runner", action_scope="scope"),
               replace_next=True)
    return first.get_flow_definition()


@case
def action_fields_as_parameters():
    return Echo(echo_string="hi", result_path="$.echoed").get_flow_definition()


@case
def action_annotated_fields():
    return NeedsFields(param1=1, param2="two").get_flow_definition()


@case
def action_missing_annotated_field():
    return NeedsFields(param1=1).get_flow_definition()


@case
def action_extra_keyword():
    return Hello(greeting="$.input.greeting").get_flow_definition()


@case
def action_input_path():
    return Echo(input_path="input.args").get_flow_definition()


@case
def action_explicit_parameters():
    return Echo(parameters={"echo_string": "$.input.x", "n": 2}).get_flow_definition()


@case
def exception_handlers():
    parent = Hello(state_name="Parent")
    parent.set_exception_handler(ActionExceptionName.States_All, FailState(state_name="Oops"))
    parent.set_exception_handler([ActionExceptionName.ActionTimeout,
                                  ActionExceptionName.ActionFailedException],
                                 PassState(state_name="Recover"))
    parent.next(PassState(state_name="Done"))
    return parent.get_flow_definition()


@case
def subclass_override_in_chain():
    first = PassState(state_name="Start")
    first.next(Tagged(state_name="Tag", tag="weekly")).next(Tagged(state_name="Tag2"))
    return first.get_flow_definition()


@case
def pass_states():
    first = PassState(state_name="P1", parameters={"a": "$.input.a", "b": 2},
                      result_path="out")
    first.next(PassState(state_name="P2", input_path="$.out"))
    first.next(PassState(comment="no name"))
    return first.get_flow_definition()


@case
def wait_seconds():
    return WaitState(seconds=5).get_flow_definition()


@case
def wait_timestamp():
    when = datetime.datetime(2001, 1, 1, 0, 10, 28, tzinfo=datetime.timezone.utc)
    return WaitState(state_name="Until", timestamp=when).get_flow_definition()


@case
def wait_paths():
    first = WaitState(state_name="W1", seconds_path="$.input.delay")
    first.next(WaitState(state_name="W2", timestamp_path="$.input.when"))
    return first.get_flow_definition()


@case
def wait_nothing_set():
    return WaitState().get_flow_definition()


@case
def wait_two_set():
    return WaitState(seconds=1, seconds_path="$.x").get_flow_definition()


@case
def wait_bad_path():
    return WaitState(timestamp_path="foo").get_flow_definition()


@case
def choice_rules():
    rule = AndRule([ComparisonRule(Variable="$.a", NumericGreaterThan=1),
                    OrRule([ComparisonRule(Variable="$.b", StringEquals="x"),
                            NotRule(ComparisonRule(Variable="$.c", IsPresent=True))])])
    choice = ChoiceState(state_name="Decide", default=PassState(state_name="Otherwise"))
    choice.choice(ChoiceOption(rule=rule, next=PassState(state_name="Then")))
    choice.choice(ChoiceOption(rule=ComparisonRule(Variable="$.d", BooleanEquals=False),
                               next=FailState(state_name="Stop", cause="d is false")))
    return choice.get_flow_definition()


@case
def choice_path_comparator():
    rule = ComparisonRule(Variable="$.a", StringLessThanPath="$.b")
    choice = ChoiceState(state_name="Decide", default=PassState(state_name="Otherwise"))
    choice.choice(ChoiceOption(rule=rule, next=PassState(state_name="Then")))
    return choice.get_flow_definition()


@case
def choice_bad_path_comparator():
    return ComparisonRule(Variable="$.a", StringLessThanPath="b").dict()


@case
def choice_two_comparators():
    return ComparisonRule(Variable="$.a", StringEquals="x", BooleanEquals=True).dict()


@case
def expression_eval():
    return ExpressionEvalState(
        parameters={"sum": "=1+2", "greeting": "= 'Hello ' + 'World'", "c.=": "'C'"},
        result_path="$.evaluated",
    ).get_flow_definition()


@case
def fail_state():
    return FailState(cause="because", error="MyError").get_flow_definition()


@case
def transfer_defaults():
    return Transfer().get_flow_definition()


@case
def transfer_given():
    return Transfer(
        state_name="Move", source_endpoint_id="src", destination_endpoint_id="$.input.dst",
        transfer_items=[TransferItem(source_path="/a", destination_path="/b", recursive=True),
                        TransferItem()],
        notify_on_succeeded=False, label="nightly", sync_level=3,
    ).get_flow_definition()


@case
def transfer_items_path():
    return Transfer(transfer_items="$.input.items").get_flow_definition()


@case
def transfer_delete():
    first = TransferDelete()
    first.next(TransferDelete(state_name="Del2", endpoint_id="ep", items=["/a", "/b"],
                              recursive=True, ignore_missing=True))
    return first.get_flow_definition()


@case
def search_states():
    first = SearchIngest()
    first.next(SearchDelete()).next(SearchDeleteByQuery(q="*", filters=[]))
    return first.get_flow_definition()


@case
def compute_function_id():
    return Compute(function_to_call="0b4f7ed1-0ef2-4f1c-8d1a-7a1b3c5d9e11",
                   function_parameters={"x": "$.input.x"}).get_flow_definition()


@case
def compute_function_id_whole_input():
    step = Compute(state_name="Run", function_to_call="$.input.fn",
                   endpoint_id="ep-uuid", result_path="$.ran")
    return {"flow": step.get_flow_definition(), "return": step.path_to_return_val()}


@case
def state_in_client():
    @generate_flow_definition
    class Client(GladierBaseClient):
        """Says hello twice."""

        gladier_tools = [Hello(state_name="A").next(Hello(state_name="B"))]

    return Client().get_flow_definition()


@case
def valid_state_names():
    return [Hello().valid_state_name, Hello(state_name="X").valid_state_name,
            Transfer().valid_state_name, Compute(function_to_call="fid").valid_state_name]


def main():
    results = {}
    for name, function in CASES.items():
        try:
            results[name] = function()
        except Exception as error:  # an error is an observation too
            results[name] = {"error": [k.__name__ for k in type(error).__mro__
                                       if k.__module__ != "builtins"] or
                             [type(error).__name__]}
    json.dump(results, sys.stdout, indent=1, sort_keys=True, default=str)


if __name__ == "__main__":
    main()
