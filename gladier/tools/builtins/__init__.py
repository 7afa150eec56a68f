"""The Flows language's own states as Python objects."""

from gladier.tools.builtins.action import ActionExceptionName, ActionState
from gladier.tools.builtins.choice_state import (
    AndRule,
    ChoiceOption,
    ChoiceRule,
    ChoiceState,
    ComparisonRule,
    NotRule,
    OrRule,
)
from gladier.tools.builtins.expression_eval import ExpressionEvalState
from gladier.tools.builtins.fail import FailState
from gladier.tools.builtins.pass_state import PassState
from gladier.tools.builtins.wait import WaitState

__all__ = [
    "ActionExceptionName",
    "ActionState",
    "AndRule",
    "ChoiceOption",
    "ChoiceRule",
    "ChoiceState",
    "ComparisonRule",
    "ExpressionEvalState",
    "FailState",
    "NotRule",
    "OrRule",
    "PassState",
    "WaitState",
]
