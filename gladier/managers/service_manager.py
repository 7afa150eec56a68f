"""Gladier 0.11's module path for :class:`ServiceManager` (kept so 0.11 imports work)."""

from gladier.managers.base import ServiceManager

__all__ = ["ServiceManager"]
