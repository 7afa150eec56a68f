"""Flow documents with every field the service's have.

The engine's flow document holds what it keeps (definition, schema, title, metadata); the
service's also names the flow's Globus Auth scope, its URL and its principal, and lists
its roles. Locally the one person running the server holds every role.
"""

from __future__ import annotations

import typing as t

#: Role lists a flow document always has (empty unless given).
_ROLE_FIELDS = ("flow_viewers", "flow_starters", "flow_administrators", "run_managers",
                "run_monitors")


def flow_scope(flow_id: str) -> str:
    """The scope the service gives a flow (``SpecificFlowClient`` computes the same)."""
    return f"https://auth.globus.org/scopes/{flow_id}/flow_{flow_id.replace('-', '_')}_user"


def flow_document(flow: dict, base_url: str) -> dict:
    """The engine's flow document with the service's other fields."""
    flow_id = flow["id"]
    scope = flow_scope(flow_id)
    document: dict[str, t.Any] = {
        "subtitle": "", "description": "", "keywords": [],
        **{field: [] for field in _ROLE_FIELDS},
        **flow,
        "globus_auth_scope": scope,
        "globus_auth_scopes_by_RunAs": {"User": scope},
        "flow_url": f"{base_url.rstrip('/')}/flows/{flow_id}",
        "action_url": f"{base_url.rstrip('/')}/flows/{flow_id}",
        "principal_urn": f"urn:globus:auth:identity:{flow_id}",
        "globus_auth_username": f"{flow_id}@clients.auth.globus.org",
        "created_by": flow["flow_owner"],
        "user_role": "flow_owner",
        "visible_to": [], "runnable_by": [], "administered_by": [],
    }
    return document
