"""Progress displays and pictures of flows and runs (terminal, Jupyter, batch logs).

``RunView`` and ``FlowView`` are imported on first use, so ``import gladier.ui`` stays light.
"""

from __future__ import annotations

import importlib
import typing as t

_LAZY = {
    "RunView": "gladier.ui.jupyter",
    "FlowView": "gladier.ui.jupyter",
    "follow": "gladier.ui.progress",
    "default_callback": "gladier.ui.progress",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> t.Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'gladier.ui' has no attribute '{name}'")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
