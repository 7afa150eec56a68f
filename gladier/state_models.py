"""Gladier 0.11's module path for the base state classes (kept so 0.11 imports work)."""

from gladier.tools.state_models import (
    BaseCompositeState,
    BaseState,
    StateWithNextOrEnd,
    StateWithParametersOrInputPath,
    StateWithResultPath,
)

__all__ = [
    "BaseCompositeState",
    "BaseState",
    "StateWithNextOrEnd",
    "StateWithParametersOrInputPath",
    "StateWithResultPath",
]
