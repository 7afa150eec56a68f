"""The state-object API of Gladier 0.10/0.11: flows built from Python state objects."""

from gladier import GladierBaseClient, GladierClient, generate_flow_definition
from gladier.tools import (
    ActionState,
    ChoiceOption,
    ChoiceState,
    ComparisonRule,
    Compute,
    ExpressionEvalState,
    FailState,
    PassState,
    Transfer,
    TransferDelete,
    TransferItem,
    WaitState,
)


def reduce_images(**data):
    """Reduce a stack of images."""
    return data


class HelloState(ActionState):
    action_url = "https://actions.globus.org/hello_world"


def _transfer_then_compute():
    transfer = Transfer(
        state_name="MoveRaw",
        source_endpoint_id="$.input.instrument_collection",
        destination_endpoint_id="$.input.cluster_collection",
        transfer_items=[TransferItem(source_path="$.input.raw_path",
                                     destination_path="$.input.work_path",
                                     recursive=True)],
    )
    compute = Compute(state_name="Reduce", function_to_call=reduce_images,
                      function_parameters={"path.$": "$.input.work_path"})
    cleanup = TransferDelete(state_name="Cleanup", items=["$.input.work_path"])
    transfer.next(compute).next(cleanup)
    return transfer


def _choice_flow():
    check = ChoiceState(state_name="CheckSize", default=FailState(state_name="TooSmall"))
    check.choice(ChoiceOption(rule=ComparisonRule(Variable="$.input.size",
                                                  NumericGreaterThan=10),
                              next=PassState(state_name="BigEnough")))
    return check


def _sequence():
    start = PassState(state_name="Begin")
    start.next(WaitState(state_name="Pause", seconds=5)).next(
        ExpressionEvalState(state_name="Sum", parameters={"total.=": "1 + 2"})
    ).next(HelloState(state_name="SayHello", parameters={"echo_string": "hi"}))
    return start


class StateObjectFlowClient(GladierBaseClient):
    flow_definition = _transfer_then_compute().get_flow_definition()


@generate_flow_definition
class StateObjectToolsClient(GladierBaseClient):
    gladier_tools = [_sequence()]


OBSERVE = {
    "compute with a function id": lambda: Compute(
        function_to_call="8b9b2c70-0000-4000-8000-000000000001").get_flow_definition(),
    "compute with a function": lambda: Compute(function_to_call=reduce_images,
                                               function_parameters={"a": 1}
                                               ).get_flow_definition(),
    "transfer defaults": lambda: Transfer().get_flow_definition(),
    "transfer delete defaults": lambda: TransferDelete().get_flow_definition(),
    "choice": lambda: _choice_flow().get_flow_definition(),
    "sequence": lambda: _sequence().get_flow_definition(),
    "GladierClient of a compute state": lambda: GladierClient(
        flow_definition=Compute(function_to_call=reduce_images).get_flow_definition()
    ).get_flow_definition(),
}
