"""Progress displays and pictures of flows and runs (terminal, Jupyter, batch logs).

``RunView`` and ``FlowView`` are imported on first use, so ``import gladier.ui`` stays light.
"""

from __future__ import annotations

from gladier.lazy import lazy_exports

_LAZY = {
    "RunView": "gladier.ui.jupyter",
    "FlowView": "gladier.ui.jupyter",
    "follow": "gladier.ui.progress",
    "default_callback": "gladier.ui.progress",
}

__all__ = sorted(_LAZY)


__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
