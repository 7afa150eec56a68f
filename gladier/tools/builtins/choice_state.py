"""ChoiceState and its rules: branch on values in the run state.

``ChoiceState().choice(ChoiceOption(rule=ComparisonRule(Variable="$.x", NumericGreaterThan=3),
next=big))`` goes to ``big`` when ``$.x > 3``; ``set_default(other)`` is taken otherwise.
"""

from __future__ import annotations

import abc
import datetime
import typing as t

from gladier.exc import FlowGenException
from gladier.flowgen.parameters import json_path
from gladier.tools.state_models import BaseState, require_state
from gladier.tools.validation import state_validation_error

_NUMBER = (int, float)
_TIMESTAMP = (str, datetime.datetime)
# Comparator -> accepted value types. Each also has a "...Path" form (except StringMatches).
_VALUE_COMPARATORS: t.Dict[str, t.Tuple[type, ...]] = {
    **{f"String{op}": (str,) for op in (
        "Equals", "LessThan", "GreaterThan", "LessThanEquals", "GreaterThanEquals")},
    **{f"Numeric{op}": _NUMBER for op in (
        "Equals", "LessThan", "GreaterThan", "LessThanEquals", "GreaterThanEquals")},
    **{f"Timestamp{op}": _TIMESTAMP for op in (
        "Equals", "LessThan", "GreaterThan", "LessThanEquals", "GreaterThanEquals")},
    "BooleanEquals": (bool,),
}
_PATH_COMPARATORS = frozenset(f"{name}Path" for name in _VALUE_COMPARATORS)
_TYPE_TESTS = frozenset(
    {"IsNull", "IsPresent", "IsNumeric", "IsString", "IsBoolean", "IsTimestamp"}
)
COMPARATORS = frozenset(_VALUE_COMPARATORS) | _PATH_COMPARATORS | _TYPE_TESTS | {"StringMatches"}


class ChoiceRule(abc.ABC):
    """A condition in a Choice state; subclasses render it with :meth:`flow_dict`."""

    @abc.abstractmethod
    def flow_dict(self) -> dict:
        """The rule as it appears in ``Choices`` (without ``Next``)."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.flow_dict()})"


class ComparisonRule(ChoiceRule):
    """``Variable`` compared with exactly one comparator, e.g. ``StringEquals="done"``."""

    def __init__(self, Variable: str, **comparison: t.Any) -> None:  # noqa: N803 (ASL name)
        unknown = sorted(set(comparison) - COMPARATORS)
        if unknown:
            raise FlowGenException(
                f"ComparisonRule on {Variable!r}: unknown comparator(s) {unknown}"
            )
        given = {name: value for name, value in comparison.items() if value is not None}
        if len(given) != 1:
            raise state_validation_error(
                ComparisonRule, sorted(given)[-1] if given else "Variable",
                f"ComparisonRule on {Variable!r} needs exactly one comparator, "
                f"got {sorted(given) or 'none'}")
        (operator, value), = given.items()
        if operator in _PATH_COMPARATORS and not (isinstance(value, str)
                                                  and value.startswith("$.")):
            raise state_validation_error(
                ComparisonRule, operator,
                f"{operator} must be a JSONPath value starting with '$.', got {value!r}")
        self._check_value(Variable, operator, value)
        self.Variable = json_path(Variable)
        self.operator = operator
        self.value = value

    @staticmethod
    def _check_value(variable: str, operator: str, value: t.Any) -> None:
        if operator in _PATH_COMPARATORS:
            expected: t.Tuple[type, ...] = (str,)
        elif operator in _TYPE_TESTS:
            expected = (bool,)
        else:
            expected = _VALUE_COMPARATORS.get(operator, (str,))
        is_bool = isinstance(value, bool)
        if not isinstance(value, expected) or (is_bool and bool not in expected):
            raise FlowGenException(
                f"ComparisonRule on {variable!r}: {operator} takes "
                f"{' or '.join(tp.__name__ for tp in expected)}, got {value!r}"
            )

    def flow_dict(self) -> dict:
        value = self.value
        if isinstance(value, datetime.datetime):
            value = value.isoformat()
        return {"Variable": self.Variable, self.operator: value}


class AndRule(ChoiceRule):
    """True when every rule is true."""

    def __init__(self, rules: t.Sequence[ChoiceRule]) -> None:
        if not rules:
            raise FlowGenException("AndRule needs at least one rule")
        self.rules = list(rules)

    def flow_dict(self) -> dict:
        return {"And": [rule.flow_dict() for rule in self.rules]}


class OrRule(ChoiceRule):
    """True when any rule is true."""

    def __init__(self, rules: t.Sequence[ChoiceRule]) -> None:
        if not rules:
            raise FlowGenException("OrRule needs at least one rule")
        self.rules = list(rules)

    def flow_dict(self) -> dict:
        return {"Or": [rule.flow_dict() for rule in self.rules]}


class NotRule(ChoiceRule):
    """True when ``rule`` is false."""

    def __init__(self, rule: ChoiceRule) -> None:
        self.rule = rule

    def flow_dict(self) -> dict:
        return {"Not": self.rule.flow_dict()}


class ChoiceOption:
    """A rule and the state to go to when it holds."""

    def __init__(self, rule: ChoiceRule, next: BaseState) -> None:  # noqa: A002 (API name)
        if not isinstance(rule, ChoiceRule):
            raise FlowGenException(
                f"ChoiceOption rule takes a ChoiceRule (ComparisonRule, AndRule, OrRule, "
                f"NotRule), got {rule!r}"
            )
        self.rule = rule
        self.next = require_state(next, "ChoiceOption next")

    def flow_dict(self) -> dict:
        return {**self.rule.flow_dict(), "Next": self.next.valid_state_name}


class ChoiceState(BaseState):
    """Go to the first option whose rule holds, else to ``default``."""

    state_type: t.ClassVar[str] = "Choice"
    choices: t.List[ChoiceOption] = []
    default: t.Optional[BaseState] = None

    def __init__(self, **fields: t.Any) -> None:
        super().__init__(**fields)
        self.choices = [self._option(choice) for choice in self.choices or []]
        if self.default is not None:
            require_state(self.default, f"{self!r} default")

    def _option(self, choice: t.Any) -> ChoiceOption:
        if not isinstance(choice, ChoiceOption):
            raise FlowGenException(
                f"{self!r} choices take ChoiceOption(rule=..., next=<state>), got {choice!r}; "
                "a rule alone does not say which state to go to"
            )
        return choice

    def choice(self, choice_option: ChoiceOption) -> ChoiceState:
        """Add an option (checked in the order added); returns ``self``."""
        self.choices.append(self._option(choice_option))
        return self

    def set_default(self, default_choice: BaseState) -> BaseState:
        """The state to go to when no rule holds; returns that state, for chaining from it."""
        self.default = require_state(default_choice, f"{self!r}.set_default()")
        return default_choice

    def build_state_dict(self) -> dict:
        if not self.choices:
            raise FlowGenException(f"Choice state {self.valid_state_name!r} has no choices")
        state = super().build_state_dict()
        state["Choices"] = [option.flow_dict() for option in self.choices]
        if self.default is not None:
            state["Default"] = self.default.valid_state_name
        return state

    def get_child_states(self) -> t.List[BaseState]:
        children = [option.next for option in self.choices]
        if self.default is not None:
            children.append(self.default)
        return super().get_child_states() + children
