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


def _is_class_var(annotation: t.Any) -> bool:
    if isinstance(annotation, str):
        return "ClassVar" in annotation
    return t.get_origin(annotation) is t.ClassVar


def _is_field_value(value: t.Any) -> bool:
    return not (callable(value) or isinstance(value, (property, staticmethod, classmethod)))


def declared_fields(cls: type) -> t.Dict[str, type]:
    """The fields of a state class, in declaration order (bases first), mapped to the class
    that declared each: public class attributes holding values, and annotated names
    (``param: str``, which are then required), as Gladier 0.11's models had them."""
    fields: t.Dict[str, type] = {}
    for klass in reversed(cls.__mro__):
        if klass is object:
            continue
        names = list(vars(klass).get("__annotations__", {}))
        names += [name for name in vars(klass) if name not in names]
        for name in names:
            annotation = vars(klass).get("__annotations__", {}).get(name)
            if name.startswith("_") or _is_class_var(annotation):
                continue
            if name in vars(klass) and not _is_field_value(vars(klass)[name]):
                continue
            fields.setdefault(name, klass)
    return fields


class BaseState:
    """One flow state. Subclasses add fields and extend :meth:`build_state_dict`.

    As in Gladier 0.11, keyword arguments that name no field are kept too (on states that
    take Parameters they become Parameters), and a field that is missing or invalid raises
    pydantic's ``ValidationError`` (see :mod:`gladier.tools.validation`).
    """

    state_type: t.ClassVar[str] = ""
    state_name: t.Optional[str] = None
    comment: t.Optional[str] = None
    # Fields that have no default and must be given (or set by a subclass).
    _required_fields: t.ClassVar[t.Tuple[str, ...]] = ()

    def __init__(self, **fields: t.Any) -> None:
        from gladier.tools.validation import state_validation_error

        cls = type(self)
        for klass in reversed(cls.__mro__):
            for name, default in vars(klass).items():
                if not name.startswith("_") and isinstance(default, (list, dict)):
                    setattr(self, name, copy.deepcopy(default))
        known = declared_fields(cls)
        self._extra_fields: t.List[str] = []
        for name, value in fields.items():
            declared = _class_attribute(cls, name)
            if name.startswith("_") or (declared is not None and not _is_field_value(declared)) \
                    or name == "state_type":
                raise TypeError(f"{cls.__name__}() got an unexpected keyword argument {name!r}")
            if name not in known:
                self._extra_fields.append(name)
            setattr(self, name, value)
        required = [name for name in known if not hasattr(self, name)]
        required += [name for name in cls._required_fields if getattr(self, name, None) is None]
        if required:
            raise state_validation_error(cls, required[0], "field required")

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.valid_state_name!r}>"

    @property
    def valid_state_name(self) -> str:
        """The state's name in the flow: ``state_name``, or the class name."""
        return self.state_name or type(self).__name__

    def field_values(self) -> t.Dict[str, t.Any]:
        """Every field and extra keyword argument of this state, by name."""
        names = [*declared_fields(type(self)), *self._extra_fields]
        return {name: getattr(self, name, None) for name in names}

    def build_state_dict(self) -> dict:
        """This state's own entry in ``States``, built from its fields."""
        return {"Type": self.state_type}

    def get_flow_state_dict(self) -> dict:
        """This state's entry in ``States``: the one in the flow the last
        :meth:`get_flow_definition` on this state returned (so a subclass that overrides
        ``get_flow_definition`` can change it there, as in Gladier 0.11), else a new one."""
        flow = getattr(self, "_flow_definition", None)
        if flow is not None and self.valid_state_name in flow.get("States", {}):
            return flow["States"][self.valid_state_name]
        return self.build_state_dict()

    def get_child_states(self) -> t.List[BaseState]:
        """The states this one can go to (next, choices, exception handlers)."""
        return []

    def get_flow_states(self) -> t.Dict[str, dict]:
        """The states this object contributes (one, except for composite states)."""
        return {self.valid_state_name: self.build_state_dict()}

    def _states_in_flow(self, root: BaseState) -> t.Dict[str, dict]:
        """What this state contributes to a flow starting at ``root``: a state whose class
        overrides ``get_flow_definition`` contributes what its override returns."""
        if self is not root and type(self).get_flow_definition is not BaseState.get_flow_definition:
            return self.get_flow_definition()["States"]
        return self.get_flow_states()

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
            for name, state_dict in state._states_in_flow(self).items():
                if name in owners and owners[name] is not state and states[name] != state_dict:
                    raise StateNameConflict(
                        f"Two different states are both named {name!r} ({owners[name]!r} and "
                        f"{state!r}); give one of them another state_name"
                    )
                owners.setdefault(name, state)
                states.setdefault(name, state_dict)
        flow: dict = {
            "Comment": self.comment if self.comment is not None
            else f"Flow starting at state {self.valid_state_name}",
            "StartAt": self.valid_state_name,
            "States": states,
        }
        problems = structural_problems(flow)
        if problems:
            raise FlowGenException(
                f"Flow starting at {self.valid_state_name!r} is invalid: {'; '.join(problems)}"
            )
        self._flow_definition = flow
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

    def build_state_dict(self) -> dict:
        state = super().build_state_dict()
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


#: Fields that configure a state rather than being Parameters of it (Gladier 0.11's list).
_NOT_PARAMETERS = frozenset({
    "state_type", "set_parameters_from_properties", "non_parameter_properties", "action_url",
    "wait_time", "exception_on_action_failure", "exception_handlers", "action_scope",
    "comment", "input_path", "parameters", "result_path", "run_as", "state_name",
    "next_state",
})


class StateWithParametersOrInputPath(BaseState):
    """A state whose input is either ``Parameters`` or ``InputPath`` (never both)."""

    parameters: t.Optional[t.Dict[str, t.Any]] = None
    input_path: t.Optional[str] = None

    def get_parameters(self) -> t.Optional[t.Dict[str, t.Any]]:
        """The Parameters to emit: ``parameters`` when given, else (as in Gladier 0.11) the
        fields a subclass outside gladier declares and any extra keyword arguments, or None
        when there are none. gladier's own states build theirs from their fields."""
        if self.parameters is not None:
            return self.parameters
        from_fields = {
            name: value for name, value in self.field_values().items()
            if name not in _NOT_PARAMETERS and value is not None
            and (name in self._extra_fields
                 or not declared_fields(type(self))[name].__module__.startswith("gladier."))
        }
        return from_fields or None

    def build_state_dict(self) -> dict:
        state = super().build_state_dict()
        if self.input_path is not None:  # it wins over parameters, as in Gladier 0.11
            state["InputPath"] = json_path(self.input_path)
            return state
        parameters = self.get_parameters()
        if parameters is not None:
            state["Parameters"] = normalize_parameters(parameters)
        return state


class StateWithResultPath(BaseState):
    """A state that stores its result at ``ResultPath`` (default ``$.<StateName>Result``)."""

    result_path: t.Optional[str] = None

    def result_path_for_step(self) -> str:
        """Where this state's result is stored."""
        return json_path(self.result_path or f"{self.valid_state_name}Result")

    def build_state_dict(self) -> dict:
        state = super().build_state_dict()
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
            state = inner.build_state_dict()
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
