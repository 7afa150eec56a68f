"""Managers: login, flow deployment and runs, compute function registration.

Names are imported on first use: the embedded engine needs only ``gladier.managers.base``
and should not pay for importing ``globus_sdk``.
"""

from __future__ import annotations

from gladier.lazy import lazy_exports

_LAZY = {
    "BaseFlowsManager": "gladier.managers.base",
    "ComputeManager": "gladier.managers.compute_manager",
    "FlowsManager": "gladier.managers.flows_manager",
    "BaseLoginManager": "gladier.managers.login_manager",
    "CallbackLoginManager": "gladier.managers.login_manager",
    "ConfidentialClientLoginManager": "gladier.managers.login_manager",
    "LocalLoginManager": "gladier.managers.login_manager",
    "UserAppLoginManager": "gladier.managers.login_manager",
}

__all__ = sorted(_LAZY)


__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
