"""Managers: login, flow deployment and runs, compute function registration.

Names are imported on first use: the embedded engine needs only ``gladier.managers.base``
and should not pay for importing ``globus_sdk``.
"""

from __future__ import annotations

import importlib
import typing as t

_LAZY = {
    "BaseFlowsManager": "gladier.managers.base",
    "ComputeManager": "gladier.managers.compute_manager",
    "FlowsManager": "gladier.managers.flows_manager",
    "BaseLoginManager": "gladier.managers.login_manager",
    "CallbackLoginManager": "gladier.managers.login_manager",
    "ConfidentialClientLoginManager": "gladier.managers.login_manager",
    "UserAppLoginManager": "gladier.managers.login_manager",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> t.Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'gladier.managers' has no attribute '{name}'")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
