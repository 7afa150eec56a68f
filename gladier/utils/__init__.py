"""Gladier 0.11's ``gladier.utils`` modules, kept as thin re-exports so 0.11 imports work."""
