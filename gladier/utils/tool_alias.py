"""Gladier 0.11's module path for the alias classes (kept so 0.11 imports work)."""

from gladier.flowgen.aliases import (
    NoAlias,
    StatePrefixVariablePrefix,
    StateSuffixVariablePrefix,
    ToolAlias,
)

__all__ = ["NoAlias", "StatePrefixVariablePrefix", "StateSuffixVariablePrefix", "ToolAlias"]
