"""State objects: building flows in Python with .next(), handlers and Choice rules."""

import datetime
import subprocess
import sys

import pytest

from gladier.engine.providers.functions import default_function_id

from gladier import BaseCompositeState
from gladier.exc import FlowGenException, StateNameConflict
from gladier.flowgen import load_tools
from gladier.tools import (
    ActionExceptionName,
    ActionState,
    AndRule,
    ChoiceOption,
    ChoiceState,
    ComparisonRule,
    Compute,
    ExpressionEvalState,
    FailState,
    NotRule,
    OrRule,
    PassState,
    SearchDelete,
    SearchDeleteByQuery,
    SearchIngest,
    Transfer,
    TransferDelete,
    TransferItem,
    WaitState,
)
from gladier.tools.posix import ShellCmdState, shell_cmd
from test_flowgen_schema_facts import assert_flows_schema_valid

HELLO = "https://actions.globus.org/hello_world"


def make_dirs(**data):
    return data


def hello(name, **fields):
    return ActionState(state_name=name, action_url=HELLO, **fields)


def test_single_action_state_definition():
    state = hello("Hello", parameters={"echo_string": "$.input.msg", "sleep_time": 2},
                  comment="Say hello")
    assert state.get_flow_definition() == {
        "Comment": "Say hello",
        "StartAt": "Hello",
        "States": {
            "Hello": {  # the comment is the flow's, as in Gladier 0.11
                "Type": "Action",
                "ActionUrl": HELLO,
                "WaitTime": 600,
                "ExceptionOnActionFailure": False,
                "Parameters": {"echo_string.$": "$.input.msg", "sleep_time": 2},
                "ResultPath": "$.HelloResult",
                "End": True,
            }
        },
    }


def test_action_without_parameters_reads_the_flow_input():
    state = hello("Hello", result_path="greeting").get_flow_state_dict()
    assert state["InputPath"] == "$.input"
    assert state["ResultPath"] == "$.greeting"


def test_next_appends_to_the_end_of_the_chain():
    first, second, third = hello("One"), hello("Two"), hello("Three")
    assert first.next(second).next(third) is first
    flow = first.get_flow_definition()
    nexts = [flow["States"][n].get("Next") for n in ("One", "Two", "Three")]
    assert nexts == ["Two", "Three", None]
    assert flow["States"]["Three"]["End"] is True
    assert_flows_schema_valid(flow)


def test_next_insert_and_replace():
    first, last, middle, other = hello("First"), hello("Last"), hello("Middle"), hello("Other")
    first.next(last)
    first.next(middle, insert_next=True)
    states = first.get_flow_definition()["States"]
    assert (states["First"]["Next"], states["Middle"]["Next"]) == ("Middle", "Last")
    first.next(other, replace_next=True)
    assert list(first.get_flow_definition()["States"]) == ["First", "Other"]


def test_exception_handlers_become_one_catch_per_handler():
    action = hello("Risky")
    cleanup = FailState(state_name="Cleanup", error="Failed")
    report = PassState(state_name="Report")
    action.set_exception_handler(
        [ActionExceptionName.ActionFailedException, ActionExceptionName.ActionTimeout], cleanup
    )
    action.set_exception_handler("ActionUnableToRun", report, result_path="$.error")
    flow = action.get_flow_definition()
    assert flow["States"]["Risky"]["Catch"] == [
        {"ErrorEquals": ["ActionFailedException", "ActionTimeout"], "Next": "Cleanup"},
        {"ErrorEquals": ["ActionUnableToRun"], "Next": "Report", "ResultPath": "$.error"},
    ]
    assert flow["States"]["Cleanup"] == {"Type": "Fail", "Error": "Failed"}
    assert_flows_schema_valid(flow)


def test_choice_state_with_rules_and_default():
    big, small, odd = PassState(state_name="Big"), PassState(state_name="Small"), hello("Odd")
    choice = ChoiceState(state_name="Size")
    choice.choice(ChoiceOption(
        rule=AndRule([ComparisonRule(Variable="$.n", IsPresent=True),
                      ComparisonRule(Variable="$.n", NumericGreaterThan=10)]),
        next=big,
    ))
    choice.choice(ChoiceOption(
        rule=OrRule([NotRule(ComparisonRule(Variable="$.kind", StringEquals="even")),
                     ComparisonRule(Variable="$.kind", StringEqualsPath="$.expected_kind")]),
        next=odd,
    ))
    assert choice.set_default(small) is small
    flow = choice.get_flow_definition()
    assert flow["States"]["Size"] == {
        "Type": "Choice",
        "Choices": [
            {"And": [{"Variable": "$.n", "IsPresent": True},
                     {"Variable": "$.n", "NumericGreaterThan": 10}], "Next": "Big"},
            {"Or": [{"Not": {"Variable": "$.kind", "StringEquals": "even"}},
                    {"Variable": "$.kind", "StringEqualsPath": "$.expected_kind"}], "Next": "Odd"},
        ],
        "Default": "Small",
    }
    assert set(flow["States"]) == {"Size", "Big", "Small", "Odd"}
    assert_flows_schema_valid(flow)


@pytest.mark.parametrize(
    "comparison, message",
    [
        ({}, "exactly one comparator"),
        ({"StringEquals": "a", "IsNull": False}, "exactly one comparator"),
        ({"StringIs": "a"}, "unknown comparator"),
        ({"NumericEquals": "3"}, "NumericEquals takes int or float"),
        ({"NumericEquals": True}, "NumericEquals takes int or float"),
    ],
)
def test_comparison_rule_refuses_bad_comparisons(comparison, message):
    with pytest.raises(FlowGenException, match=message):
        ComparisonRule(Variable="$.x", **comparison)


def test_choice_without_choices_is_refused():
    with pytest.raises(FlowGenException, match="has no choices"):
        ChoiceState(state_name="Empty").get_flow_definition()


def test_choice_options_given_to_the_constructor_are_used():
    done = PassState(state_name="Done")
    rule = ComparisonRule(Variable="$.status", StringEquals="ok")
    choice = ChoiceState(state_name="Check", choices=[ChoiceOption(rule=rule, next=done)],
                         default=done)

    assert choice.get_flow_state_dict()["Choices"] == [
        {"Variable": "$.status", "StringEquals": "ok", "Next": "Done"}]


def test_a_bare_rule_as_a_choice_is_refused_naming_the_state():
    rule = ComparisonRule(Variable="$.status", StringEquals="ok")

    with pytest.raises(FlowGenException, match=r"<ChoiceState 'Check'> choices take ChoiceOption"
                       r"\(rule=\.\.\., next=<state>\), got ComparisonRule"):
        ChoiceState(state_name="Check", choices=[rule])
    with pytest.raises(FlowGenException, match="choices take ChoiceOption"):
        ChoiceState(state_name="Check").choice(rule)


@pytest.mark.parametrize("make", [
    lambda: PassState(state_name="First").next(5),
    lambda: ChoiceState(state_name="Check").set_default("Done"),
    lambda: ChoiceState(state_name="Check", default="Done"),
    lambda: ChoiceOption(rule=ComparisonRule(Variable="$.x", IsNull=True), next="Done"),
], ids=["next", "set_default", "default_field", "option_next"])
def test_a_non_state_where_a_state_belongs_is_refused_at_once(make):
    with pytest.raises(FlowGenException, match="takes a state object"):
        make()


def test_a_non_rule_in_a_choice_option_is_refused():
    with pytest.raises(FlowGenException, match="ChoiceOption rule takes a ChoiceRule"):
        ChoiceOption(rule={"Variable": "$.x", "IsNull": True}, next=PassState())


@pytest.mark.parametrize(
    "fields, expected",
    [
        ({"seconds": 5}, {"Seconds": 5}),
        ({"seconds_path": "$.input.delay"}, {"SecondsPath": "$.input.delay"}),
        ({"timestamp": datetime.datetime(2026, 1, 2, 3, 4, 5)},
         {"Timestamp": "2026-01-02T03:04:05"}),
    ],
)
def test_wait_state_forms(fields, expected):
    assert WaitState(state_name="W", **fields).get_flow_state_dict() == {
        "Type": "Wait", "End": True, **expected
    }


@pytest.mark.parametrize("fields", [{}, {"seconds": -1}])
def test_wait_state_needs_exactly_one_valid_duration(fields):
    with pytest.raises(FlowGenException, match="Wait state 'W'"):
        WaitState(state_name="W", **fields).get_flow_definition()


@pytest.mark.parametrize("fields", [{"seconds": 1, "timestamp_path": "$.t"},
                                    {"seconds_path": "input.delay"}])
def test_wait_state_fields_refused_at_construction_as_in_011(fields):
    """Gladier 0.11 raises pydantic's ValidationError for these when the state is made."""
    from gladier.utils.pydantic_v1 import ValidationError

    with pytest.raises(ValidationError, match="WaitState"):
        WaitState(state_name="W", **fields)


def test_expression_eval_and_pass_parameters_are_normalized():
    evaluate = ExpressionEvalState(
        state_name="Sum",
        parameters={"total": "=x + 5", "x.$": "input.x", "skip": None, "nested": {"p": "$.a"}},
        result_path="$.sum",
    )
    evaluate.next(PassState(state_name="Copy", input_path="sum", result_path="$.copy"))
    flow = evaluate.get_flow_definition()
    assert flow["States"] == {
        "Sum": {
            "Type": "ExpressionEval",
            "Parameters": {"total.=": "x + 5", "x.$": "$.input.x", "nested": {"p.$": "$.a"}},
            "ResultPath": "$.sum",
            "Next": "Copy",
        },
        "Copy": {"Type": "Pass", "InputPath": "$.sum", "ResultPath": "$.copy", "End": True},
    }
    assert_flows_schema_valid(flow)


def test_input_path_wins_over_parameters_as_in_011():
    state = PassState(state_name="Both", parameters={"a": 1}, input_path="x")
    assert state.get_flow_state_dict() == {"Type": "Pass", "InputPath": "$.x",
                                           "ResultPath": "$.BothResult", "End": True}


def test_extra_fields_become_parameters_and_missing_ones_are_refused_as_in_011():
    from gladier.utils.pydantic_v1 import ValidationError

    class Echo(ActionState):
        action_url = HELLO
        echo_string: str
        sleep_time: int = 1

    assert PassState(resultpath="$.x").get_flow_state_dict()["Parameters"] == {
        "resultpath.$": "$.x"}
    assert Echo(echo_string="$.input.msg").get_flow_state_dict()["Parameters"] == {
        "echo_string.$": "$.input.msg", "sleep_time": 1}
    with pytest.raises(TypeError, match="unexpected keyword argument 'next'"):
        PassState(next=PassState())
    with pytest.raises(ValidationError, match="action_url"):
        ActionState(state_name="NoUrl")
    with pytest.raises(ValidationError, match="echo_string"):
        Echo()


def test_two_states_with_one_name_are_a_conflict():
    first = PassState(state_name="Same")
    first.next(PassState(state_name="Same"))
    with pytest.raises(StateNameConflict, match="both named 'Same'"):
        first.get_flow_definition()


def test_loops_through_choice_are_allowed():
    poll = hello("Poll")
    check = ChoiceState(state_name="Check")
    poll.next(check)
    check.choice(ChoiceOption(rule=ComparisonRule(Variable="$.PollResult.status",
                                                  StringEquals="ACTIVE"), next=poll))
    check.set_default(PassState(state_name="Done"))
    flow = poll.get_flow_definition()
    assert flow["States"]["Check"]["Choices"][0]["Next"] == "Poll"
    assert_flows_schema_valid(flow)


def test_compute_state_for_a_python_function():
    step = Compute(function_to_call=make_dirs, function_parameters={"path": "$.input.dir"})
    assert step.get_flow_definition() == {
        "Comment": "Flow starting at state Compute",
        "StartAt": "Compute",
        "States": {
            "Compute": {
                "Type": "Action",
                "ActionUrl": "https://compute.actions.globus.org/fxap",
                "WaitTime": 600,
                "ExceptionOnActionFailure": False,
                "Parameters": {
                    "endpoint.$": "$.input.compute_endpoint",
                    "function": default_function_id(make_dirs),  # registered, embedded
                    "kwargs": {"path.$": "$.input.dir"},
                },
                "ResultPath": "$.ComputeResult",
                "End": True,
            }
        },
    }
    assert step.get_compute_functions() == [make_dirs]
    assert step.path_to_return_val() == "$.ComputeResult.details.results[0].output"


def double(x):
    return 2 * x


def test_a_compute_state_flow_with_its_function_id_embedded_runs_on_the_local_engine():
    """As in Gladier 0.11, ``Compute(function_to_call=f)`` registers ``f`` and embeds its id,
    so the definition alone runs (here on the embedded engine, in its process pool)."""
    from gladier import GladierClient

    definition = Compute(function_to_call=double, function_parameters={"x": "$.input.x"},
                         result_path="$.doubled").get_flow_definition()
    assert definition["States"]["Compute"]["Parameters"]["function"] == default_function_id(
        double)
    client = GladierClient(flow_definition=definition)
    run = client.run_flow({"input": {"x": 21}})
    last = client.progress(run["run_id"], callback=lambda run: None, delay=0.05)

    assert last["status"] == "SUCCEEDED", last
    assert client.get_details(run["run_id"], "Compute")["details"]["results"][0]["output"] == 42


def test_compute_state_for_a_registered_function_id():
    step = Compute(state_name="Run", function_to_call="fn-uuid", endpoint_id="ep-uuid")
    assert step.get_flow_state_dict()["Parameters"] == {
        "endpoint": "ep-uuid", "function": "fn-uuid"
    }
    assert step.get_compute_functions() == []


def test_transfer_state_parameters():
    """Gladier 0.11.0 emits these for the same states (its output, recorded)."""
    transfer = Transfer(
        state_name="Move",
        transfer_items=[TransferItem(source_path="/src", destination_path="$.input.dst",
                                     recursive=True)],
        label="nightly",
    )
    state = transfer.get_flow_state_dict()
    assert state["ActionUrl"] == "https://actions.globus.org/transfer/transfer"
    assert state["WaitTime"] == 600
    assert state["Parameters"] == {
        "source_endpoint_id.$": "$.input.transfer_source_endpoint_id",
        "destination_endpoint_id.$": "$.input.transfer_destination_endpoint_id",
        "transfer_items": [{"source_path": "/src", "destination_path.$": "$.input.dst",
                            "recursive": True}],
        "label": "nightly",
    }
    default_item = Transfer().get_flow_state_dict()["Parameters"]["transfer_items"]
    assert default_item == [{"source_path.$": "$.input.source_transfer_path",
                             "destination_path.$": "$.input.destination_transfer_path"}]


def test_transfer_delete_parameters():
    """Gladier 0.11.0 emits these for the same states (its output, recorded)."""
    state = TransferDelete(items=["/a", "/b"], recursive=True).get_flow_state_dict()
    assert state["ActionUrl"] == "https://actions.globus.org/transfer/delete"
    assert state["Parameters"] == {
        "endpoint_id.$": "$.input.transfer_delete_endpoint_id",
        "items": ["/a", "/b"],
        "recursive": True,
    }
    assert TransferDelete().get_flow_state_dict()["Parameters"]["items.$"] == (
        "$.input.transfer_delete_items"
    )


def test_search_state_parameters():
    assert SearchIngest().get_flow_state_dict()["Parameters"] == {
        "search_index.$": "$.input.search_index",
        "subject.$": "$.input.subject",
        "visible_to.$": "$.input.visible_to",
        "content.$": "$.input.content",
    }
    assert SearchDelete(subject="abc").get_flow_state_dict()["Parameters"] == {
        "search_index.$": "$.input.search_index", "delete_by": "subject", "subject": "abc"
    }
    by_query = SearchDeleteByQuery(q="*", filters=[{"type": "match_all"}])
    assert by_query.get_flow_state_dict()["Parameters"] == {
        "search_index.$": "$.input.search_index",
        "delete_by": "query",
        "q": "*",
        "filters": [{"type": "match_all"}],
    }


def test_shell_cmd_state_passes_options_as_kwargs():
    state = ShellCmdState(state_name="Ls", cmd_args="$.input.cmd", cwd="/tmp", timeout=10)
    assert state.get_flow_state_dict()["Parameters"] == {
        "endpoint.$": "$.input.compute_endpoint",
        "function": default_function_id(shell_cmd),
        "kwargs": {"args.$": "$.input.cmd", "capture_output": False, "cwd": "/tmp",
                   "timeout": 10, "exception_on_error": True},
    }
    assert state.get_compute_functions() == [shell_cmd]


def test_shell_cmd_runs_commands(tmp_path):
    assert shell_cmd("echo  hi there", capture_output=True)[:2] == (0, "hi there\n")
    (tmp_path / "in.txt").write_text("from a file")
    out = tmp_path / "out.txt"
    code, stdout, _ = shell_cmd(["cat"], input_path=str(tmp_path / "in.txt"),
                                output_path=str(out))
    assert (code, stdout, out.read_text()) == (0, None, "from a file")
    assert shell_cmd("exit 3", exception_on_error=False)[0] == 3
    with pytest.raises(subprocess.CalledProcessError):
        shell_cmd("exit 3")


def test_composite_state_runs_its_inner_states_in_order():
    composite = BaseCompositeState(
        state_name_prefix="Prep",
        states=[PassState(state_name="A"), hello("B")],
    )
    start = PassState(state_name="Start")
    start.next(composite).next(PassState(state_name="After"))
    flow = start.get_flow_definition()
    assert [(n, s.get("Next")) for n, s in flow["States"].items()] == [
        ("Start", "PrepA"), ("PrepA", "PrepB"), ("PrepB", "After"), ("After", None)
    ]
    assert_flows_schema_valid(flow)


def test_state_object_in_gladier_tools_becomes_a_tool():
    step = Compute(function_to_call=make_dirs, function_parameters={"path": "$.input.dir"})
    step.next(Transfer(state_name="Ship"))
    (tool,) = load_tools([step])
    assert tool.compute_functions == [make_dirs]
    assert tool.get_required_input() == [
        "compute_endpoint", "dir", "transfer_source_endpoint_id",
        "transfer_destination_endpoint_id", "source_transfer_path", "destination_transfer_path",
    ]
    assert tool.get_flow_definition() == step.get_flow_definition()
    assert tool.get_flow_transition_states() == ["Ship"]


def test_importing_tools_does_not_import_globus_compute_sdk():
    code = ("import sys, gladier.tools, gladier.tools.posix, gladier.flowgen.loading; "
            "print('globus_compute_sdk' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
