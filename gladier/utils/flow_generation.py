"""Gladier 0.11's flow generation entry points (its module path), built on
:mod:`gladier.flowgen`."""

from __future__ import annotations

import typing as t

from gladier.flowgen.client_flow import client_flow_definition
from gladier.flowgen.compute_flow import generate_tool_flow
from gladier.flowgen.naming import compute_state_name as get_compute_flow_state_name
from gladier.flowgen.naming import function_id_key as get_compute_function_name


def combine_tool_flows(client: t.Any, modifiers: dict | None = None) -> dict:
    """One flow running ``client.tools`` in order, with client-level ``modifiers``."""
    return client_flow_definition(
        client.tools, modifiers=modifiers, comment=type(client).__doc__,
        owner=f"Client {type(client).__qualname__}",
    )


__all__ = [
    "combine_tool_flows",
    "generate_tool_flow",
    "get_compute_flow_state_name",
    "get_compute_function_name",
]
