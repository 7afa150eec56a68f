"""Action providers of the embedded engine, found by ActionUrl through
:class:`gladier.engine.providers.registry.ProviderRegistry`.

Modules are imported on first use, so importing this package costs nothing.
"""
