"""ActionState: a call to an Action Provider, with exception handlers (``Catch``)."""

from __future__ import annotations

import enum
import typing as t

from gladier.flowgen.parameters import json_path
from gladier.tools.state_models import (
    BaseState,
    StateWithNextOrEnd,
    StateWithParametersOrInputPath,
    StateWithResultPath,
)


class ActionExceptionName(str, enum.Enum):
    """Error names an Action state can catch."""

    ActionFailedException = "ActionFailedException"
    ActionUnableToRun = "ActionUnableToRun"
    ActionTimeout = "ActionTimeout"
    NoTokenException = "NoTokenException"
    States_All = "States.All"
    States_IntrinsicFailure = "States.IntrinsicFailure"
    States_ParameterPathFailure = "States.ParameterPathFailure"
    States_ResultPathMatchFailure = "States.ResultPathMatchFailure"
    States_Runtime = "States.Runtime"


ExceptionNames = t.Union[ActionExceptionName, str, t.Sequence[t.Union[ActionExceptionName, str]]]


class ActionState(StateWithNextOrEnd, StateWithParametersOrInputPath, StateWithResultPath):
    """Run an action at ``action_url``.

    Without ``parameters`` or ``input_path`` the action receives the flow input
    (``InputPath: $.input``), because the service requires one of the two.
    """

    state_type: t.ClassVar[str] = "Action"
    action_url: t.Optional[str] = None
    action_scope: t.Optional[str] = None
    wait_time: int = 600
    exception_on_action_failure: bool = False
    run_as: t.Optional[str] = None
    _required_fields: t.ClassVar[t.Tuple[str, ...]] = ("action_url",)

    def __init__(self, **fields: t.Any) -> None:
        super().__init__(**fields)
        # exception name -> (handler state, result path)
        self.exception_handlers: t.Dict[str, t.Tuple[BaseState, t.Optional[str]]] = {}

    def set_exception_handler(
        self,
        exception_names: ExceptionNames,
        exception_handler: BaseState,
        *,
        result_path: t.Optional[str] = None,
    ) -> ActionState:
        """Go to ``exception_handler`` when any of ``exception_names`` is raised here.

        ``result_path`` is where the error is stored (without it the service replaces the
        whole run state with the error). Returns ``self``.
        """
        if isinstance(exception_names, (str, ActionExceptionName)):
            exception_names = [exception_names]
        for name in exception_names:
            key = name.value if isinstance(name, ActionExceptionName) else str(name)
            self.exception_handlers[key] = (exception_handler, result_path)
        return self

    def get_catches(self) -> t.List[dict]:
        """The ``Catch`` list: one entry per handler state (by name, as in Gladier 0.11)
        and result path, in the order set."""
        catches: t.Dict[t.Tuple[str, t.Optional[str]], dict] = {}
        for name, (handler, result_path) in self.exception_handlers.items():
            key = (handler.valid_state_name, result_path)
            if key not in catches:
                catches[key] = {"ErrorEquals": [], "Next": handler.valid_state_name}
                if result_path is not None:
                    catches[key]["ResultPath"] = json_path(result_path)
            catches[key]["ErrorEquals"].append(name)
        return list(catches.values())

    def build_state_dict(self) -> dict:
        state = super().build_state_dict()
        if "Parameters" not in state and "InputPath" not in state:
            state["InputPath"] = "$.input"
        state["ActionUrl"] = self.action_url
        state["WaitTime"] = self.wait_time
        state["ExceptionOnActionFailure"] = self.exception_on_action_failure
        if self.action_scope is not None:
            state["ActionScope"] = self.action_scope
        if self.run_as is not None:
            state["RunAs"] = self.run_as
        if self.exception_handlers:
            state["Catch"] = self.get_catches()
        return state

    def get_child_states(self) -> t.List[BaseState]:
        handlers: t.List[BaseState] = []
        for handler, _ in self.exception_handlers.values():
            if not any(handler is known for known in handlers):
                handlers.append(handler)
        return super().get_child_states() + handlers
