"""The embedded engine: runs Globus Flows definitions on this machine.

``LocalEngine`` and ``validate_flow`` are imported on first use, so ``import gladier.engine``
loads neither SQLite nor threads.
"""

from __future__ import annotations

import importlib
import typing as t

_LAZY = {
    "LocalEngine": "gladier.engine.engine",
    "validate_flow": "gladier.engine.validate",
}

__all__ = list(_LAZY)


def __getattr__(name: str) -> t.Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'gladier.engine' has no attribute '{name}'")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
