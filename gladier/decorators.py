"""Gladier 0.11's module path for ``@generate_flow_definition`` (kept so 0.11 imports work)."""

from gladier.tools.generate import generate_flow_definition

__all__ = ["generate_flow_definition"]
