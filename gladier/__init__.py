"""Gladier: automate research data pipelines on Globus Flows.

Public names are imported on first use, so ``import gladier`` stays fast and never loads
``globus_compute_sdk``.
"""

from __future__ import annotations

import importlib
import typing as t

from gladier.version import __version__

_LAZY = {
    "GladierBaseClient": "gladier.client",
    "GladierClient": "gladier.client",
    "GladierBaseTool": "gladier.tools.base",
    "generate_flow_definition": "gladier.tools.generate",
    "CallbackLoginManager": "gladier.managers",
    "UserAppLoginManager": "gladier.managers",
    "FlowsManager": "gladier.managers",
    "BaseState": "gladier.tools.state_models",
    "BaseCompositeState": "gladier.tools.state_models",
    "StateWithNextOrEnd": "gladier.tools.state_models",
    "StateWithParametersOrInputPath": "gladier.tools.state_models",
    "StateWithResultPath": "gladier.tools.state_models",
    "JSONObject": "gladier.tools.state_models",
    "JSONList": "gladier.tools.state_models",
    "JSONValue": "gladier.tools.state_models",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str) -> t.Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'gladier' has no attribute '{name}'")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
