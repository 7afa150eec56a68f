"""Flow generation: the pieces that turn tools into one flow definition.

Names are imported on first use so that importing any one piece stays cheap.
"""

from __future__ import annotations

from gladier.lazy import lazy_exports

_LAZY = {
    "load_tools": "gladier.flowgen.loading",
    "load_tool": "gladier.flowgen.loading",
    "get_compute_functions": "gladier.flowgen.functions",
    "chain_tools": "gladier.flowgen.chain",
    "client_flow_definition": "gladier.flowgen.client_flow",
    "GeneratedClientFlow": "gladier.flowgen.client_flow",
    "generate_tool_flow": "gladier.flowgen.compute_flow",
    "ToolModifiers": "gladier.flowgen.modifiers",
    "structural_problems": "gladier.flowgen.structure",
    "ToolAlias": "gladier.flowgen.aliases",
    "NoAlias": "gladier.flowgen.aliases",
    "StateSuffixVariablePrefix": "gladier.flowgen.aliases",
    "StatePrefixVariablePrefix": "gladier.flowgen.aliases",
    "UniqueResultPaths": "gladier.flowgen.aliases",
    "upper_camel_case": "gladier.flowgen.naming",
    "snake_case": "gladier.flowgen.naming",
    "function_id_key": "gladier.flowgen.naming",
    "function_checksum_key": "gladier.flowgen.naming",
    "compute_state_name": "gladier.flowgen.naming",
}

__all__ = list(_LAZY)


__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
