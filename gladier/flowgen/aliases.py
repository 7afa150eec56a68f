"""Aliases: several copies of one tool in a single flow.

A client lists ``"pkg.mod.Tar:First"`` to get a copy of ``Tar`` whose states and input
variables do not collide with another copy. The alias class decides the new names; the
default, :class:`StateSuffixVariablePrefix`, turns state ``Tar`` into ``TarFirst`` and input
``tar_input`` into ``first_tar_input``.

By default an aliased copy is renamed as Gladier 0.11 renames it: its states, the states
they go to, and every value that is exactly ``$.input.<one of the tool's inputs>``. Result
paths keep their names, so two copies of a tool write the same ``ResultPath`` and the
second overwrites the first (``gladier validate`` warns about it). With
:class:`UniqueResultPaths` as the client's ``alias_class``, result paths are renamed too
(``$.Tar`` -> ``$.TarFirst``), along with every reference to them inside the tool's own
states, so copies never overwrite each other's results.

Where 0.11 leaves a flow broken, names of states in ``Default`` and ``Catch`` are renamed
too (0.11 renames only ``Next``), and states reached only from a ``Catch`` are kept.
"""

from __future__ import annotations

import abc
import copy
import re
import typing as t

from gladier.flowgen.naming import snake_case

_ROOT = re.compile(r"^\$\.([A-Za-z_][A-Za-z0-9_]*)(.*)$", re.DOTALL)
# Roots that belong to the run as a whole, never to one tool's states.
_SHARED_ROOTS = frozenset({"input", "_context"})
# Keys whose values name states (within Catch entries and Choice options too).
_STATE_NAME_KEYS = frozenset({"Next", "Default"})


class ToolAlias(abc.ABC):
    """Decides how an aliased tool renames its states and its input variables."""

    input_location = "input"
    #: Rename result paths too (:class:`UniqueResultPaths`); 0.11 does not.
    rename_result_paths = False

    def __init__(self, alias: str):
        self.alias = alias

    @abc.abstractmethod
    def rename_state(self, state_name: str, tool: t.Any) -> str:
        """The new name of a state (also used for result path roots)."""

    @abc.abstractmethod
    def rename_variable(self, variable_name: str, tool: t.Any) -> str:
        """The new name of a flow input variable."""


class NoAlias(ToolAlias):
    """Keeps every name: the behaviour of a tool listed without ``:Alias``."""

    def __init__(self, alias: str | None = None):
        super().__init__(alias or "")

    def rename_state(self, state_name: str, tool: t.Any) -> str:
        return state_name

    def rename_variable(self, variable_name: str, tool: t.Any) -> str:
        return variable_name


class StateSuffixVariablePrefix(ToolAlias):
    """``Tar`` -> ``TarFirst``; ``tar_input`` -> ``first_tar_input`` (the default)."""

    def rename_state(self, state_name: str, tool: t.Any) -> str:
        return f"{state_name}{self.alias}"

    def rename_variable(self, variable_name: str, tool: t.Any) -> str:
        return f"{snake_case(self.alias)}_{variable_name}"


class StatePrefixVariablePrefix(ToolAlias):
    """``Tar`` -> ``FirstTar``; ``tar_input`` -> ``first_tar_input``."""

    def rename_state(self, state_name: str, tool: t.Any) -> str:
        return f"{self.alias}{state_name}"

    def rename_variable(self, variable_name: str, tool: t.Any) -> str:
        return f"{snake_case(self.alias)}_{variable_name}"


class UniqueResultPaths(StateSuffixVariablePrefix):
    """Like :class:`StateSuffixVariablePrefix`, and result paths are renamed too: two copies
    of a tool keep their results apart (``$.TarFirst``, ``$.TarSecond``)."""

    rename_result_paths = True


def _is_path_key(key: str) -> bool:
    return key.endswith(".$") or key.endswith("Path") or key == "Variable"


def _result_roots(states: dict) -> set[str]:
    roots = set()
    for state in states.values():
        paths = [state.get("ResultPath")]
        paths += [catch.get("ResultPath") for catch in state.get("Catch") or []]
        for path in paths:
            match = _ROOT.match(path) if isinstance(path, str) else None
            if match and match.group(1) not in _SHARED_ROOTS:
                roots.add(match.group(1))
    return roots


class _Renamer:
    def __init__(self, renamer: ToolAlias, tool: t.Any, variables: set[str], states: dict):
        self.renamer = renamer
        self.tool = tool
        self.variables = variables
        self.state_names = {name: renamer.rename_state(name, tool) for name in states}
        self.roots = (
            {root: renamer.rename_state(root, tool) for root in _result_roots(states)}
            if renamer.rename_result_paths else {}
        )

    def path(self, path: str) -> str:
        match = _ROOT.match(path)
        if not match:
            return path
        root, rest = match.groups()
        if root == self.renamer.input_location:
            variable = re.match(r"^\.([A-Za-z_][A-Za-z0-9_]*)(.*)$", rest, re.DOTALL)
            if variable and variable.group(1) in self.variables:
                new_name = self.renamer.rename_variable(variable.group(1), self.tool)
                return f"$.{root}.{new_name}{variable.group(2)}"
            return path
        if root in self.roots:
            return f"$.{self.roots[root]}{rest}"
        return path

    def input_variable(self, value: str) -> str:
        """Gladier 0.11's renaming: a value that is exactly ``$.input.<tool input>``."""
        prefix = f"$.{self.renamer.input_location}."
        name = value[len(prefix):] if value.startswith(prefix) else None
        if name in self.variables:
            return f"{prefix}{self.renamer.rename_variable(name, self.tool)}"
        return value

    def value(self, key: str | None, value: t.Any) -> t.Any:
        if isinstance(value, dict):
            return {k: self.value(k, v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.value(key, item) for item in value]
        if isinstance(value, str) and key is not None:
            if key in _STATE_NAME_KEYS:
                return self.state_names.get(value, value)
            if self.renamer.rename_result_paths:
                return self.path(value) if _is_path_key(key) else value
            return self.input_variable(value)
        return value


def alias_flow_definition(
    flow_definition: dict,
    renamer: ToolAlias,
    tool: t.Any,
    *,
    variables: t.Iterable[str],
) -> dict:
    """A copy of ``flow_definition`` with states, result paths and ``variables`` renamed.

    ``variables`` are the tool's own input keys (minus its ``alias_exempt``); other
    ``$.input`` keys are shared by the whole flow and keep their names.
    """
    states = flow_definition.get("States", {})
    rename = _Renamer(renamer, tool, set(variables), states)
    aliased = {k: copy.deepcopy(v) for k, v in flow_definition.items() if k != "States"}
    if "StartAt" in aliased:
        aliased["StartAt"] = rename.state_names.get(aliased["StartAt"], aliased["StartAt"])
    aliased["States"] = {
        rename.state_names[name]: rename.value(None, state) for name, state in states.items()
    }
    return aliased


def alias_state(
    state_name: str,
    state_data: dict,
    renamer: ToolAlias,
    tool: t.Any,
    *,
    variables: t.Iterable[str],
    flow_states: dict,
) -> tuple[str, dict]:
    """One state of a tool renamed as :func:`alias_flow_definition` would rename it.

    ``flow_states`` are the tool's other states, which decide the result paths to rename.
    """
    rename = _Renamer(renamer, tool, set(variables), {**flow_states, state_name: state_data})
    return rename.state_names[state_name], rename.value(None, state_data)
