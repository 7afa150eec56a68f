"""Managers: login, flow deployment and runs, compute function registration."""

from gladier.managers.base import BaseFlowsManager
from gladier.managers.compute_manager import ComputeManager
from gladier.managers.flows_manager import FlowsManager
from gladier.managers.login_manager import (
    BaseLoginManager,
    CallbackLoginManager,
    ConfidentialClientLoginManager,
    UserAppLoginManager,
)

__all__ = [
    "BaseFlowsManager",
    "BaseLoginManager",
    "CallbackLoginManager",
    "ComputeManager",
    "ConfidentialClientLoginManager",
    "FlowsManager",
    "UserAppLoginManager",
]
