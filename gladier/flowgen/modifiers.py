"""Modifiers: targeted changes to the states generated for compute functions.

``@generate_flow_definition(modifiers={make_dirs: {"payload": "prepare", "WaitTime": 60}})``
changes the state generated for ``make_dirs``. Keys name a compute function: the function
itself, its name (``"make_dirs"``) or its state's name (``"MakeDirs"``). As in Gladier 0.11,
a key that names no compute function of the tool (or, on a client, of any of its tools) is
ignored; here with a warning.

Which modifiers a state takes depends on the Compute action provider it calls, chosen by the
tool's ``action_url``: Compute v2 (``https://compute.actions.globus.org``, the default) takes
``endpoint``, ``payload`` and ``tasks``, set on each task; Compute v3 (``action_url =
"https://compute.actions.globus.org/v3"``) takes ``endpoint_id``, ``tasks``,
``task_group_id``, ``user_endpoint_config``, ``resource_specification`` and
``create_queue``, set on the state's ``Parameters``. Both take the state modifiers
(:data:`STATE_MODIFIERS`).

Values are read as 0.11 reads them: a ``$.`` path is a reference (``"payload.$"``); the name
of a compute function of the same tool (or the function itself) means that state's
``details.results``; the name of any state of the flow, likewise; any other bare string given
to a compute modifier is a flow input key (``"$.input.<name>"``); every other value is used
literally.

Two differences from 0.11, both for flows the Flows service would refuse: a path given to
``InputPath`` or ``ResultPath`` sets that field (0.11 wrote ``"InputPath.$"``), and
``InputPath`` replaces the state's ``Parameters`` (a state takes one or the other).
"""

from __future__ import annotations

import copy
import typing as t
import warnings

from gladier.exc import FlowModifierException
from gladier.flowgen.naming import upper_camel_case

COMPUTE_V2_URL = "https://compute.actions.globus.org"
COMPUTE_V3_URL = "https://compute.actions.globus.org/v3"

V2_COMPUTE_MODIFIERS = frozenset({"endpoint", "payload", "tasks"})
V3_COMPUTE_MODIFIERS = frozenset({
    "endpoint_id", "tasks", "task_group_id", "user_endpoint_config",
    "resource_specification", "create_queue",
})
#: Modifiers that set a field of the state itself (Gladier 0.11's list).
STATE_MODIFIERS = frozenset({
    "Type", "ActionUrl", "WaitTime", "ExceptionOnActionFailure", "RunAs", "InputPath",
    "Parameters", "ResultPath", "Catch", "ActionScope", "Next", "End",
})
# State fields whose value is itself a path: set directly, never as "<field>.$".
_PATH_FIELDS = frozenset({"InputPath", "ResultPath"})


def compute_version(tool: t.Any) -> int:
    """3 when the tool's ``action_url`` selects Compute v3, else 2 (as Gladier 0.11 decides)."""
    return 3 if getattr(tool, "action_url", None) == COMPUTE_V3_URL else 2


def compute_modifier_names(version: int) -> frozenset:
    return V3_COMPUTE_MODIFIERS if version == 3 else V2_COMPUTE_MODIFIERS


def _name_of(identifier: t.Any) -> str:
    return identifier.__name__ if callable(identifier) else str(identifier)


def results_path(state_name: str) -> str:
    """Where a modifier naming a state or function reads that state's results."""
    return f"$.{state_name}.details.results"


class ToolModifiers:
    """Applies a modifiers mapping to the states of one tool's compute functions.

    :param functions: the tool's compute functions, in order
    :param states_of: maps each function's generated state name to the names it has in the
        flow being modified (several for a tool listed with aliases; the same name otherwise)
    :param version: 2 or 3, the Compute action provider the tool's states call
    :param owner: names the tool or client in error messages
    :param legacy_names: the tool's ``funcx_functions`` names, which 0.11 refuses as
        modifier keys
    """

    def __init__(self, modifiers: t.Any, *, functions: t.Sequence[t.Callable],
                 states_of: t.Mapping[str, t.Sequence[str]], version: int, owner: str,
                 legacy_names: t.Iterable[str] = ()):
        check_modifiers_mapping(modifiers, owner)
        self.modifiers = modifiers
        self.functions = list(functions)
        self.legacy_names = frozenset(legacy_names)
        self.states_of = {name: list(flow_names) for name, flow_names in states_of.items()}
        self.version = version
        self.owner = owner

    def target(self, key: t.Any) -> str | None:
        """The generated state name a modifier key names, or None if it names none here."""
        name = upper_camel_case(_name_of(key))
        return name if name in self.states_of else None

    def check(self, key: t.Any, mods: t.Any) -> None:
        if isinstance(key, str) and key in self.legacy_names:
            raise FlowModifierException(
                f"{self.owner}: modifier {key!r} names a function listed in "
                "'funcx_functions' (a Gladier tool from before 0.9). Rename the attribute to "
                "'compute_functions' to modify its states (as Gladier 0.11 requires)."
            )
        if not isinstance(mods, dict):
            raise FlowModifierException(
                f"{self.owner}: modifiers for {_name_of(key)!r} must be a dict of "
                f"{{modifier: value}}, got {type(mods).__name__}"
            )
        valid = STATE_MODIFIERS | compute_modifier_names(self.version)
        for mod_name in mods:
            if mod_name not in valid:
                hint = ""
                other = compute_modifier_names(5 - self.version)
                if mod_name in other:
                    hint = (f" ({mod_name!r} is a Compute v{5 - self.version} modifier; this "
                            f"tool's states call Compute v{self.version}"
                            + (f": set action_url = {COMPUTE_V3_URL!r} on the tool for v3"
                               if self.version == 2 else "") + ")")
                raise FlowModifierException(
                    f"{self.owner}: unsupported modifier {mod_name!r} for "
                    f"{_name_of(key)!r}{hint}. Supported modifiers: {sorted(valid)}"
                )

    def matched_keys(self) -> list[t.Any]:
        """The modifier keys that name a state of this tool."""
        return [key for key in self.modifiers if self.target(key) is not None]

    def applicable(self) -> dict[str, dict]:
        """``{generated state name: modifiers}`` for the keys that name this tool's states."""
        found: dict[str, dict] = {}
        for key, mods in self.modifiers.items():
            state_name = self.target(key)
            if state_name is not None:
                self.check(key, mods)
                found[state_name] = mods
        return found

    def value(self, mod_name: str, value: t.Any, flow_states: t.Mapping) -> t.Any:
        """A modifier value as Gladier 0.11 reads it (see the module docstring)."""
        if callable(value) and value in self.functions:
            return results_path(self._state_in_flow(value.__name__))
        if isinstance(value, str) and not value.startswith("$."):
            if value in {f.__name__ for f in self.functions}:
                return results_path(self._state_in_flow(value))
            if value in flow_states:
                return results_path(value)
            if mod_name not in STATE_MODIFIERS:
                return f"$.input.{value}"
        return value

    def _state_in_flow(self, function_name: str) -> str:
        """The state a function of this tool has in the flow (its aliased copy's, if any)."""
        generated = upper_camel_case(function_name)
        return (self.states_of.get(generated) or [generated])[0]

    def apply(self, flow_definition: dict) -> dict:
        """``flow_definition`` (changed in place, and returned) with the modifiers applied."""
        states = flow_definition["States"]
        for generated_name, mods in self.applicable().items():
            for state_name in self.states_of[generated_name]:
                for mod_name, value in mods.items():
                    self._apply_one(states, state_name, mod_name, value)
        return flow_definition

    def _apply_one(self, states: dict, state_name: str, mod_name: str, value: t.Any) -> None:
        state = states[state_name]
        value = self.value(mod_name, value, states)
        if mod_name in compute_modifier_names(self.version):
            parameters = state.get("Parameters")
            if not isinstance(parameters, dict):
                raise FlowModifierException(
                    f"{self.owner}: modifier {mod_name!r} sets the Parameters of state "
                    f"{state_name!r}, which has none (an earlier InputPath modifier?)"
                )
            if self.version == 3 or mod_name == "tasks":
                set_modifier(parameters, mod_name, value)
            elif isinstance(parameters.get("tasks"), list):
                for task in parameters["tasks"]:
                    set_modifier(task, mod_name, value)
            else:
                raise FlowModifierException(
                    f"{self.owner}: modifier {mod_name!r} sets each task of state "
                    f"{state_name!r}, whose tasks are a reference "
                    f"({parameters.get('tasks.$')!r}); set it in the tasks instead"
                )
        elif mod_name in _PATH_FIELDS:
            state[mod_name] = value
            if mod_name == "InputPath":
                state.pop("Parameters", None)
        else:
            if mod_name == "Parameters":
                state.pop("InputPath", None)
            set_modifier(state, mod_name, value)


def set_modifier(item: dict, key: str, value: t.Any) -> None:
    """Set ``key`` (as the reference ``key.$`` when ``value`` is a ``$.`` path), replacing
    either form already there."""
    item.pop(key, None)
    item.pop(f"{key}.$", None)
    if isinstance(value, str) and value.startswith("$."):
        item[f"{key}.$"] = value
    else:
        item[key] = copy.deepcopy(value)


def check_modifiers_mapping(modifiers: t.Any, owner: str) -> None:
    if not isinstance(modifiers, dict):
        raise FlowModifierException(
            f"{owner}: modifiers must be a dict of {{function: {{modifier: value}}}}, "
            f"got {type(modifiers).__name__}"
        )


def warn_unmatched(modifiers: dict, matched: t.Iterable[t.Any], owner: str) -> None:
    """Warn about modifier keys that named no compute function (0.11 ignores them)."""
    unmatched = [_name_of(key) for key in modifiers if key not in set(matched)]
    if unmatched:
        warnings.warn(
            f"{owner}: modifiers for {unmatched} are ignored: they name no compute function "
            "(modifiers apply to the states of compute functions, as in Gladier 0.11)",
            UserWarning,
            stacklevel=4,
        )
