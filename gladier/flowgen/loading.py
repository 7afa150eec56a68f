"""Resolving a client's ``gladier_tools`` entries into tool instances."""

from __future__ import annotations

import importlib
import typing as t

from gladier.exc import ConfigException, ToolImportError, ToolModuleNotFound


def _import_object(reference: str) -> t.Any:
    module_name, _, attribute = reference.rpartition(".")
    if not module_name or not attribute:
        raise ConfigException(
            f"gladier_tools entry {reference!r} is not a dotted import path "
            "such as 'package.module.ToolClass'"
        )
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        missing = isinstance(error, ModuleNotFoundError)
        raise (ToolModuleNotFound if missing else ToolImportError)(
            f"gladier_tools entry {reference!r}: cannot import module {module_name!r}: {error}"
        ) from error
    try:
        return getattr(module, attribute)
    except AttributeError:
        raise ToolImportError(
            f"gladier_tools entry {reference!r}: module {module_name!r} has no "
            f"attribute {attribute!r}"
        ) from None


def load_tool(tool_ref: t.Any, alias_class: type | None = None) -> t.Any:
    """One ``gladier_tools`` entry as a GladierBaseTool instance.

    Accepts a tool class, a tool instance, a state object, or a string
    ``"pkg.mod.Tool"`` / ``"pkg.mod.Tool:Alias"`` naming a tool class or instance.
    """
    from gladier.tools.base import GladierBaseTool
    from gladier.tools.state_models import BaseState
    from gladier.tools.state_tool import StateTool

    alias = None
    target = tool_ref
    if isinstance(tool_ref, str):
        path, _, alias = tool_ref.partition(":")
        if ":" in tool_ref and not alias.isidentifier():
            raise ConfigException(
                f"gladier_tools entry {tool_ref!r}: the alias after ':' must be a name "
                "such as 'First'"
            )
        target = _import_object(path)
        alias = alias or None
    if isinstance(target, type) and issubclass(target, GladierBaseTool):
        return target(alias=alias, alias_class=alias_class)
    if isinstance(target, (GladierBaseTool, BaseState)):
        if alias:
            raise ConfigException(
                f"gladier_tools entry {tool_ref!r}: an alias needs a tool class, "
                f"but the name refers to an instance of {type(target).__qualname__}"
            )
        if isinstance(target, BaseState):
            return StateTool(target)
        return target
    raise ConfigException(
        f"gladier_tools entry {tool_ref!r} is not a GladierBaseTool class, a tool instance, "
        f"a state object or an import string naming one (got {type(target).__qualname__})"
    )


def load_tools(tool_refs: t.Iterable[t.Any], alias_class: type | None = None) -> list:
    """Every ``gladier_tools`` entry as a GladierBaseTool instance, in order."""
    if isinstance(tool_refs, (str, bytes)) or tool_refs is None:
        raise ConfigException(
            f"gladier_tools must be a list of tools, got {type(tool_refs).__name__}"
        )
    return [load_tool(ref, alias_class=alias_class) for ref in tool_refs]
