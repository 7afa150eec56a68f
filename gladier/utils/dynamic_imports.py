"""Import strings such as ``"pkg.mod.Tool:Alias"`` (Gladier 0.11's module path)."""

from __future__ import annotations

import typing as t
from importlib import import_module


def parse_alias(dotted_string_path: str) -> tuple[str, str | None]:
    """``"pkg.mod.Tool:Alias"`` -> ``("pkg.mod.Tool", "Alias")``; no alias gives None."""
    path, sep, alias = dotted_string_path.rpartition(":")
    return (path, alias) if sep else (dotted_string_path, None)


def import_string(dotted_string_path: str) -> t.Any:
    """The object an import string names (any ``:Alias`` is ignored).

    :raises ImportError: the path is not dotted, or the module lacks the name.
    """
    path, _ = parse_alias(dotted_string_path)
    module_path, _, name = path.rpartition(".")
    if not module_path:
        raise ImportError(f"Path {path!r} must be a dotted path such as 'pkg.mod.Name'")
    module = import_module(module_path)
    try:
        return getattr(module, name)
    except AttributeError as error:
        raise ImportError(f"Module {module_path!r} has no attribute {name!r}") from error


__all__ = ["import_module", "import_string", "parse_alias"]
