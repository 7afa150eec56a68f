"""State objects: flow states built in Python and linked with ``.next()``.

``ActionState(...).next(PassState(...))`` describes a flow as a graph of objects;
``get_flow_definition()`` on the first state walks that graph and returns the definition.
Fields are keyword arguments whose defaults are the class attributes, so a subclass sets
new defaults simply by assigning them (``action_url = "https://..."``). Unknown keyword
arguments are refused, so a misspelt field fails where it is written.
"""

from __future__ import annotations

import copy
import typing as t

from gladier.exc import FlowGenException, StateNameConflict
from gladier.flowgen.parameters import json_path, normalize_parameters
from gladier.flowgen.structure import structural_problems

JSONObject = t.Dict[str, "JSONValue"]
JSONList = t.List["JSONValue"]
JSONValue = t.Union[JSONObject, JSONList, str, int, float, bool, None]


def _class_attribute(cls: type, name: str) -> t.Any:
    """The attribute ``name`` as declared on ``cls`` or a base, without binding it."""
    for klass in cls.__mro__:
        if name in vars(klass):
            return vars(klass)[name]
    return None


class BaseState:
    """One flow state. Subclasses add fields and extend :meth:`get_flow_state_dict`."""

    state_type: t.ClassVar[str] = ""
    state_name: t.Optional[str] = None
    comment: t.Optional[str] = None
    # Fields that have no default and must be given (or set by a subclass).
    _required_fields: t.ClassVar[t.Tuple[str, ...]] = ()

    def __init__(self, **fields: t.Any) -> None:
        cls = type(self)
        for klass in reversed(cls.__mro__):
            for name, default in vars(klass).items():
                if not name.startswith("_") and isinstance(default, (list, dict)):
                    setattr(self, name, copy.deepcopy(default))
        for name, value in fields.items():
            declared = _class_attribute(cls, name)
            if (
                name.startswith("_")
                or not hasattr(cls, name)
                or callable(declared)
                or isinstance(declared, (property, staticmethod, classmethod))
                or name == "state_type"
            ):
                raise TypeError(f"{cls.__name__}() got an unexpected keyword argument {name!r}")
            setattr(self, name, value)
        missing = [name for name in cls._required_fields if getattr(self, name, None) is None]
        if missing:
            raise TypeError(f"{cls.__name__}() needs {', '.join(missing)}")

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.valid_state_name!r}>"

    @property
    def valid_state_name(self) -> str:
        """The state's name in the flow: ``state_name``, or the class name."""
        return self.state_name or type(self).__name__

    def get_flow_state_dict(self) -> dict:
        """This state's own entry in ``States``."""
        state: dict = {"Type": self.state_type}
        if self.comment is not None:
            state["Comment"] = self.comment
        return state

    def get_child_states(self) -> t.List[BaseState]:
        """The states this one can go to (next, choices, exception handlers)."""
        return []

    def get_flow_states(self) -> t.Dict[str, dict]:
        """The states this object contributes (one, except for composite states)."""
        return {self.valid_state_name: self.get_flow_state_dict()}

    def iter_graph(self) -> t.List[BaseState]:
        """Every state reachable from this one, this one first, each once."""
        seen: t.List[BaseState] = []
        pending: t.List[BaseState] = [self]
        while pending:
            state = pending.pop(0)
            if any(state is known for known in seen):
                continue
            seen.append(state)
            pending.extend(child for child in state.get_child_states() if child is not None)
        return seen

    def get_flow_definition(self) -> dict:
        """The flow starting at this state, with every state reachable from it.

        Two state objects may share a name when they define the same state (as in Gladier
        0.11, the state appears once); different states under one name are refused.
        """
        states: t.Dict[str, dict] = {}
        owners: t.Dict[str, BaseState] = {}
        for state in self.iter_graph():
            for name, state_dict in state.get_flow_states().items():
                if name in owners and owners[name] is not state and states[name] != state_dict:
                    raise StateNameConflict(
                        f"Two different states are both named {name!r} ({owners[name]!r} and "
                        f"{state!r}); give one of them another state_name"
                    )
                owners.setdefault(name, state)
                states.setdefault(name, state_dict)
        flow: dict = {}
        if self.comment is not None:
            flow["Comment"] = self.comment
        flow["StartAt"] = self.valid_state_name
        flow["States"] = states
        problems = structural_problems(flow)
        if problems:
            raise FlowGenException(
                f"Flow starting at {self.valid_state_name!r} is invalid: {'; '.join(problems)}"
            )
        return flow

    def get_compute_functions(self) -> t.List[t.Callable]:
        """The Python functions compute states in this flow call (to be registered)."""
        functions: t.List[t.Callable] = []
        for state in self.iter_graph():
            function = getattr(state, "function_to_call", None)
            if callable(function) and function not in functions:
                functions.append(function)
        return functions

    def get_flow_transition_states(self) -> t.List[str]:
        """For chaining with tools: the states that end this flow."""
        states = self.get_flow_definition()["States"]
        return [name for name, state in states.items() if state.get("End") is True]


def require_state(value: t.Any, where: str) -> BaseState:
    """``value`` if it is a state object, else :class:`FlowGenException` naming ``where``."""
    if not isinstance(value, BaseState):
        raise FlowGenException(
            f"{where} takes a state object (e.g. PassState(...)), got {value!r}"
        )
    return value


class StateWithNextOrEnd(BaseState):
    """A state that goes on to a ``Next`` state or ends the flow."""

    def next(
        self,
        next_state: BaseState,
        insert_next: bool = False,
        replace_next: bool = False,
    ) -> StateWithNextOrEnd:
        """Append ``next_state`` at the end of the chain starting here; return ``self``.

        ``insert_next`` puts it right after this state (the old rest follows it);
        ``replace_next`` drops the old rest.
        """
        require_state(next_state, f"{self!r}.next()")
        current = getattr(self, "next_state", None)
        if replace_next or current is None:
            self.next_state = next_state
        elif insert_next:
            self.next_state = next_state
            _last_in_chain(next_state).next(current)
        else:
            _last_in_chain(current).next(next_state)
        return self

    def get_flow_state_dict(self) -> dict:
        state = super().get_flow_state_dict()
        following = getattr(self, "next_state", None)
        if following is not None:
            state["Next"] = following.valid_state_name
        else:
            state["End"] = True
        return state

    def get_child_states(self) -> t.List[BaseState]:
        following = getattr(self, "next_state", None)
        return super().get_child_states() + ([following] if following is not None else [])


def _last_in_chain(state: BaseState) -> t.Any:
    seen: t.List[BaseState] = []
    while getattr(state, "next_state", None) is not None:
        if any(state is known for known in seen):
            raise FlowGenException(f"The chain of states through {state!r} loops")
        seen.append(state)
        state = state.next_state  # type: ignore[attr-defined]
    if not hasattr(state, "next"):
        raise FlowGenException(f"{state!r} ends a flow and cannot be followed by another state")
    return state


class StateWithParametersOrInputPath(BaseState):
    """A state whose input is either ``Parameters`` or ``InputPath`` (never both)."""

    parameters: t.Optional[t.Dict[str, t.Any]] = None
    input_path: t.Optional[str] = None

    def get_parameters(self) -> t.Optional[t.Dict[str, t.Any]]:
        """The Parameters to emit (subclasses build them from their fields)."""
        return self.parameters

    def get_flow_state_dict(self) -> dict:
        state = super().get_flow_state_dict()
        parameters = self.get_parameters()
        if parameters is not None and self.input_path is not None:
            raise FlowGenException(
                f"State {self.valid_state_name!r} sets both parameters and input_path; "
                "a state takes only one of them"
            )
        if parameters is not None:
            state["Parameters"] = normalize_parameters(parameters)
        elif self.input_path is not None:
            state["InputPath"] = json_path(self.input_path)
        return state


class StateWithResultPath(BaseState):
    """A state that stores its result at ``ResultPath`` (default ``$.<StateName>Result``)."""

    result_path: t.Optional[str] = None

    def result_path_for_step(self) -> str:
        """Where this state's result is stored."""
        return json_path(self.result_path or f"{self.valid_state_name}Result")

    def get_flow_state_dict(self) -> dict:
        state = super().get_flow_state_dict()
        state["ResultPath"] = self.result_path_for_step()
        return state


class BaseCompositeState(StateWithNextOrEnd):
    """Several states run in order and handled as one: ``states`` chained in list order.

    Each inner state's name gets ``state_name_prefix`` in front; ``.next()`` continues after
    the last inner state.
    """

    states: t.List[BaseState] = []
    state_name_prefix: t.Optional[str] = None

    def _inner_names(self) -> t.List[str]:
        if not self.states:
            raise FlowGenException(f"{type(self).__name__} has no inner states")
        prefix = self.state_name_prefix or ""
        return [f"{prefix}{state.valid_state_name}" for state in self.states]

    @property
    def valid_state_name(self) -> str:
        return self._inner_names()[0]

    def get_flow_states(self) -> t.Dict[str, dict]:
        names = self._inner_names()
        states: t.Dict[str, dict] = {}
        for index, (name, inner) in enumerate(zip(names, self.states)):
            if inner.get_child_states():
                raise FlowGenException(
                    f"{type(self).__name__}: inner state {name!r} has its own next states; "
                    "chain the composite state instead"
                )
            state = inner.get_flow_state_dict()
            if index + 1 < len(names):
                state.pop("End", None)
                state["Next"] = names[index + 1]
            elif "Next" in state or "End" in state:
                state.pop("End", None)
                state.pop("Next", None)
                following = getattr(self, "next_state", None)
                if following is not None:
                    state["Next"] = following.valid_state_name
                else:
                    state["End"] = True
            states[name] = state
        return states
