"""Gladier 0.11's module path for :class:`GladierBaseTool` (kept so 0.11 imports work)."""

from gladier.tools.base import GladierBaseTool

__all__ = ["GladierBaseTool"]
