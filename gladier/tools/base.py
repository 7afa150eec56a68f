"""GladierBaseTool: one reusable piece of a flow.

A tool bundles a flow definition (hand-written, or generated from its ``compute_functions``
by ``@generate_flow_definition``), the compute functions that flow calls, the input it needs
(``required_input``) and default input values (``flow_input``). A client chains its tools'
flows into one.

A tool instance may carry an alias (``"pkg.mod.Tar:First"`` in a client's ``gladier_tools``):
every name it reports — states, result paths, input keys — is then renamed by its alias
class, so several copies of one tool can share a flow.
"""

from __future__ import annotations

import typing as t
import warnings

from gladier.exc import FlowGenException
from gladier.flowgen.aliases import (
    NoAlias,
    StateSuffixVariablePrefix,
    ToolAlias,
    alias_flow_definition,
    alias_state,
)


class GladierBaseTool:
    """Base class for Gladier tools; subclass it and set the class attributes below."""

    flow_definition: t.ClassVar[dict | None] = None
    flow_input: t.ClassVar[dict] = {}
    required_input: t.ClassVar[list] = []
    compute_functions: t.ClassVar[list] = []
    funcx_functions: t.ClassVar[list] = []
    flow_transition_states: t.ClassVar[list] = []
    alias_exempt: t.ClassVar[list] = ["compute_endpoint"]

    def __init_subclass__(cls, **kwargs: t.Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.__dict__.get("funcx_functions"):
            warnings.warn(
                f"{cls.__module__}.{cls.__qualname__} sets 'funcx_functions', which is "
                "deprecated; rename it to 'compute_functions'.",
                DeprecationWarning,
                stacklevel=2,
            )

    def __init__(
        self, alias: str | None = None, alias_class: type[ToolAlias] | None = None
    ) -> None:
        self.alias = alias
        self.alias_class = alias_class or StateSuffixVariablePrefix
        self.alias_renamer: ToolAlias = (
            self.alias_class(alias) if alias else NoAlias()
        )

    def __repr__(self) -> str:
        name = f"{type(self).__module__}.{type(self).__qualname__}"
        return f"<{name} alias={self.alias!r}>" if self.alias else f"<{name}>"

    @property
    def tool_name(self) -> str:
        """How error messages name this tool (``Tar`` or ``Tar:First``)."""
        name = type(self).__qualname__
        return f"{name}:{self.alias}" if self.alias else name

    def get_original_inputs(self) -> list[str]:
        """This tool's own input keys, before aliasing, minus ``alias_exempt``."""
        keys = list(dict.fromkeys([*(self.required_input or []), *(self.flow_input or {})]))
        return [key for key in keys if key not in (self.alias_exempt or [])]

    def _rename_variable(self, name: str) -> str:
        if name in self.get_original_inputs():
            return self.alias_renamer.rename_variable(name, self)
        return name

    def get_required_input(self) -> list[str]:
        """The input keys a run must provide for this tool (aliased)."""
        return [self._rename_variable(key) for key in self.required_input or []]

    def get_flow_input(self) -> dict:
        """Default input values for this tool (aliased keys)."""
        return {self._rename_variable(k): v for k, v in (self.flow_input or {}).items()}

    def _original_flow_definition(self) -> dict:
        definition = self.flow_definition
        if definition is None:
            raise FlowGenException(
                f"Tool {self.tool_name} has no flow definition. Set "
                f"{type(self).__qualname__}.flow_definition, or decorate the class with "
                "@generate_flow_definition and list its compute_functions."
            )
        if not isinstance(definition, dict) or not isinstance(definition.get("States"), dict) \
                or not isinstance(definition.get("StartAt"), str):
            got = sorted(definition) if isinstance(definition, dict) else type(definition).__name__
            raise FlowGenException(
                f"Tool {self.tool_name}: flow_definition must be a dict with 'StartAt' (a "
                f"state name) and 'States' (a dict), got {got}"
            )
        return definition

    def get_flow_definition(self) -> dict | None:
        """This tool's flow definition, aliased (None for a tool that has none, as in
        Gladier 0.11; chaining such a tool raises :class:`FlowGenException`)."""
        if self.flow_definition is None:
            return None
        return alias_flow_definition(
            self._original_flow_definition(),
            self.alias_renamer,
            self,
            variables=self.get_original_inputs(),
        )

    def get_flow_transition_states(self) -> list[str]:
        """The (aliased) states that hand over to the next tool when tools are chained.

        ``flow_transition_states`` when the tool sets it, otherwise every ``End`` state.
        """
        if self.flow_transition_states:
            return [
                self.alias_renamer.rename_state(name, self)
                for name in self.flow_transition_states
            ]
        states = (self.get_flow_definition() or {}).get("States", {})
        return [name for name, state in states.items() if state.get("End") is True]

    def rename_state(self, state_name: str, state_data: dict) -> tuple[str, dict]:
        """``(new_name, new_state)`` for one of this tool's states under its alias."""
        definition = self.flow_definition if isinstance(self.flow_definition, dict) else {}
        return alias_state(
            state_name,
            state_data,
            self.alias_renamer,
            self,
            variables=self.get_original_inputs(),
            flow_states=definition.get("States", {}),
        )
