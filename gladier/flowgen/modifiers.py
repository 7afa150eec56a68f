"""Modifiers: targeted changes to generated states.

``@generate_flow_definition(modifiers={make_dirs: {"payload": "prepare", "WaitTime": 60}})``
changes the state generated for ``make_dirs``. Keys name a compute function (the function
itself or its name) or, on a client, any state of the combined flow.

Values of the path-like modifiers (``endpoint``, ``payload``, ``tasks``, ``InputPath``) are
read as: a ``$.`` path, kept; the name of a compute function or state, the ``details.results``
of that state (``"$.MakeDirs.details.results"``); any other name, a flow input key
(``"$.input.<name>"``). Other values are used literally.
"""

from __future__ import annotations

import copy
import typing as t

from gladier.exc import FlowModifierException

COMPUTE_MODIFIERS = frozenset({"endpoint", "payload", "tasks"})
PATH_MODIFIERS = frozenset({"endpoint", "payload", "tasks", "InputPath"})
_STATE_MODIFIER_TYPES: dict[str, tuple[type, ...]] = {
    "WaitTime": (int,),
    "ExceptionOnActionFailure": (bool,),
    "ResultPath": (str,),
    "Comment": (str,),
    "ActionUrl": (str,),
    "ActionScope": (str,),
    "RunAs": (str,),
    "InputPath": (str,),
    "Parameters": (dict,),
    "Catch": (list,),
}
SUPPORTED_MODIFIERS = COMPUTE_MODIFIERS | frozenset(_STATE_MODIFIER_TYPES)


def _name_of(identifier: t.Any) -> str:
    return identifier.__name__ if callable(identifier) else str(identifier)


class FlowModifiers:
    """Checks a modifiers mapping against one flow and applies it.

    ``states_by_function`` maps each compute function name to the states generated from it
    (several when a tool is aliased); ``owner`` names the tool or client in error messages.
    """

    def __init__(
        self,
        modifiers: t.Any,
        *,
        owner: str,
        states_by_function: t.Mapping[str, t.Sequence[str]],
    ):
        self.owner = owner
        self.states_by_function = {k: list(v) for k, v in states_by_function.items()}
        if not isinstance(modifiers, dict):
            raise FlowModifierException(
                f"{owner}: modifiers must be a dict of {{function: {{modifier: value}}}}, "
                f"got {type(modifiers).__name__}"
            )
        self.modifiers = modifiers

    def _targets(self, key: t.Any, states: dict) -> list[str]:
        name = _name_of(key)
        if name in self.states_by_function:
            return self.states_by_function[name]
        if name in states:
            return [name]
        raise FlowModifierException(
            f"{self.owner}: modifier key {name!r} is neither a compute function nor a state "
            f"of this flow. Compute functions: {sorted(self.states_by_function) or 'none'}; "
            f"states: {sorted(states)}"
        )

    def _check_names(self, key: t.Any, mods: t.Any) -> None:
        if not isinstance(mods, dict):
            raise FlowModifierException(
                f"{self.owner}: modifiers for {_name_of(key)!r} must be a dict, "
                f"got {type(mods).__name__}"
            )
        for mod_name, value in mods.items():
            if mod_name not in SUPPORTED_MODIFIERS:
                raise FlowModifierException(
                    f"{self.owner}: unsupported modifier {mod_name!r} for {_name_of(key)!r}. "
                    f"Supported modifiers: {sorted(SUPPORTED_MODIFIERS)}"
                )
            types = _STATE_MODIFIER_TYPES.get(mod_name)
            wrong_bool = mod_name == "WaitTime" and isinstance(value, bool)
            if mod_name not in PATH_MODIFIERS and types and (
                not isinstance(value, types) or wrong_bool
            ):
                raise FlowModifierException(
                    f"{self.owner}: modifier {mod_name!r} for {_name_of(key)!r} must be "
                    f"{' or '.join(tp.__name__ for tp in types)}, got {value!r}"
                )
            if mod_name == "ResultPath" and not value.startswith("$."):
                raise FlowModifierException(
                    f"{self.owner}: modifier 'ResultPath' for {_name_of(key)!r} must be a "
                    f"'$.' path, got {value!r}"
                )

    def check(self, flow_definition: dict) -> None:
        """Raise :class:`FlowModifierException` for any unknown key, modifier or value type."""
        for key, mods in self.modifiers.items():
            self._targets(key, flow_definition["States"])
            self._check_names(key, mods)

    def _results_path(self, state_name: str, states: dict) -> str:
        result_path = states[state_name].get("ResultPath") or f"$.{state_name}"
        return f"{result_path}.details.results"

    def resolve_path(self, value: t.Any, states: dict) -> t.Any:
        """A modifier value as a flow path (see the module docstring) or a literal."""
        if callable(value):
            value = value.__name__
        if not isinstance(value, str):
            return value
        if value == "$" or value.startswith("$."):
            return value
        if value in self.states_by_function:
            return self._results_path(self.states_by_function[value][0], states)
        if value in states:
            return self._results_path(value, states)
        return f"$.input.{value}"

    def apply(self, flow_definition: dict) -> dict:
        """A copy of ``flow_definition`` with every modifier applied."""
        self.check(flow_definition)
        flow = copy.deepcopy(flow_definition)
        states = flow["States"]
        for key, mods in self.modifiers.items():
            for state_name in self._targets(key, states):
                for mod_name, value in mods.items():
                    self._apply_one(state_name, states, mod_name, value)
        return flow

    def _apply_one(self, state_name: str, states: dict, mod_name: str, value: t.Any) -> None:
        state = states[state_name]
        if mod_name in PATH_MODIFIERS:
            value = self.resolve_path(value, states)
        if mod_name in COMPUTE_MODIFIERS:
            parameters = state.get("Parameters")
            is_compute = isinstance(parameters, dict) and (
                "tasks" in parameters or "tasks.$" in parameters
            )
            tasks = parameters.get("tasks") if is_compute else None
            if mod_name == "tasks" and is_compute:
                _set_reference(parameters, "tasks", value)
            elif isinstance(tasks, list):
                for task in tasks:
                    _set_reference(task, mod_name, value)
            else:
                raise FlowModifierException(
                    f"{self.owner}: modifier {mod_name!r} only applies to compute states, "
                    f"and state {state_name!r} has no Parameters.tasks"
                )
        elif mod_name == "InputPath":
            if not isinstance(value, str):
                raise FlowModifierException(
                    f"{self.owner}: modifier 'InputPath' for state {state_name!r} must name "
                    f"a path, a function or an input key, got {value!r}"
                )
            state.pop("Parameters", None)
            state["InputPath"] = value
        elif mod_name == "Parameters":
            state.pop("InputPath", None)
            state["Parameters"] = copy.deepcopy(value)
        else:
            state[mod_name] = copy.deepcopy(value)


def _set_reference(item: dict, key: str, value: t.Any) -> None:
    """Set ``key`` (a reference ``key.$`` when ``value`` is a path) replacing either form."""
    item.pop(key, None)
    item.pop(f"{key}.$", None)
    if isinstance(value, str) and (value == "$" or value.startswith("$.")):
        item[f"{key}.$"] = value
    else:
        item[key] = copy.deepcopy(value)
