"""Tools and state objects: the building blocks of a Gladier flow.

Importing this package never imports ``globus_compute_sdk``.
"""

from gladier.tools.base import GladierBaseTool
from gladier.tools.builtins import (
    ActionExceptionName,
    ActionState,
    AndRule,
    ChoiceOption,
    ChoiceRule,
    ChoiceState,
    ComparisonRule,
    ExpressionEvalState,
    FailState,
    NotRule,
    OrRule,
    PassState,
    WaitState,
)
from gladier.tools.generate import generate_flow_definition
from gladier.tools.globus import (
    Compute,
    ComputeFunctionType,
    SearchDelete,
    SearchDeleteByQuery,
    SearchIngest,
    Transfer,
    TransferDelete,
    TransferItem,
)
from gladier.tools.helpers import exclusive_validator_generator, validate_path_property
from gladier.tools.state_models import (
    BaseCompositeState,
    BaseState,
    JSONList,
    JSONObject,
    JSONValue,
    StateWithNextOrEnd,
    StateWithParametersOrInputPath,
    StateWithResultPath,
)

__all__ = [
    "ActionExceptionName",
    "ActionState",
    "AndRule",
    "BaseCompositeState",
    "BaseState",
    "ChoiceOption",
    "ChoiceRule",
    "ChoiceState",
    "ComparisonRule",
    "Compute",
    "ComputeFunctionType",
    "ExpressionEvalState",
    "FailState",
    "GladierBaseTool",
    "JSONList",
    "JSONObject",
    "JSONValue",
    "NotRule",
    "OrRule",
    "PassState",
    "SearchDelete",
    "SearchDeleteByQuery",
    "SearchIngest",
    "StateWithNextOrEnd",
    "StateWithParametersOrInputPath",
    "StateWithResultPath",
    "Transfer",
    "TransferDelete",
    "TransferItem",
    "WaitState",
    "exclusive_validator_generator",
    "generate_flow_definition",
    "validate_path_property",
]
