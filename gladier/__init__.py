"""Gladier: automate research data pipelines on Globus Flows.

Public names are imported on first use, so ``import gladier`` stays fast and never loads
``globus_compute_sdk``.
"""

from __future__ import annotations

from gladier.lazy import lazy_exports

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


__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
