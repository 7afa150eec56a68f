"""Gladier 0.11's flow builders, kept as thin adapters so 0.11 imports work."""
