"""Packages that import their public names on first use, so importing them stays cheap."""

from __future__ import annotations

import importlib
import sys
import typing as t


def lazy_exports(package: str, names: dict[str, str]) -> tuple[t.Callable, t.Callable]:
    """The module ``__getattr__`` and ``__dir__`` for ``package``, whose public ``names``
    map to the modules that define them (PEP 562)."""

    def __getattr__(name: str) -> t.Any:
        module = names.get(name)
        if module is None:
            raise AttributeError(f"module '{package}' has no attribute '{name}'")
        value = getattr(importlib.import_module(module), name)
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:
        return sorted(set(names) | set(vars(sys.modules[package])))

    return __getattr__, __dir__
