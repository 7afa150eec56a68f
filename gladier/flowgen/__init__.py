"""Flow generation: the pieces that turn tools into one flow definition.

Names are imported on first use so that importing any one piece stays cheap.
"""

from __future__ import annotations

import importlib
import typing as t

_LAZY = {
    "load_tools": "gladier.flowgen.loading",
    "load_tool": "gladier.flowgen.loading",
    "get_compute_functions": "gladier.flowgen.functions",
    "chain_tools": "gladier.flowgen.chain",
    "client_flow_definition": "gladier.flowgen.client_flow",
    "GeneratedClientFlow": "gladier.flowgen.client_flow",
    "generate_tool_flow": "gladier.flowgen.compute_flow",
    "FlowModifiers": "gladier.flowgen.modifiers",
    "structural_problems": "gladier.flowgen.structure",
    "ToolAlias": "gladier.flowgen.aliases",
    "NoAlias": "gladier.flowgen.aliases",
    "StateSuffixVariablePrefix": "gladier.flowgen.aliases",
    "StatePrefixVariablePrefix": "gladier.flowgen.aliases",
    "upper_camel_case": "gladier.flowgen.naming",
    "snake_case": "gladier.flowgen.naming",
    "function_id_key": "gladier.flowgen.naming",
    "function_checksum_key": "gladier.flowgen.naming",
    "compute_state_name": "gladier.flowgen.naming",
}

__all__ = list(_LAZY)


def __getattr__(name: str) -> t.Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'gladier.flowgen' has no attribute '{name}'")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
