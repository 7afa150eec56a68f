"""The embedded engine: runs Globus Flows definitions on this machine.

``LocalEngine`` and ``validate_flow`` are imported on first use, so ``import gladier.engine``
loads neither SQLite nor threads.
"""

from __future__ import annotations

from gladier.lazy import lazy_exports

_LAZY = {
    "LocalEngine": "gladier.engine.engine",
    "validate_flow": "gladier.engine.validate",
}

__all__ = list(_LAZY)


__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
