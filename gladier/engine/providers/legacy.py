"""Action URLs Globus retired that Gladier-era flows still name, and what replaced them.

The embedded engine runs a state at a retired URL as its current equivalent (same request
shape: the old Transfer routes keep their ``transfer_items``/``source_endpoint_id`` names),
and ``gladier validate`` warns before anything is deployed, since Globus Flows no longer
answers them.

Facts, from Globus's "Migrating Transfer Action Providers"
(https://docs.globus.org/api/transfer/action-providers/migration): "Effective 1/22/2025"
the providers at ``https://actions.globus.org/transfer/{collection_info, delete, ls, mkdir,
set_permission, transfer}`` are no longer supported; each moved to
``https://transfer.actions.globus.org/<route>``, ``set_permission`` renamed
``manage_permission``. ``https://actions.automate.globus.org`` is the Globus Automate
host the same providers had before ``actions.globus.org`` (flows written with
globus-automate-client name it, with ``ActionScope``
``https://auth.globus.org/scopes/actions.globus.org/transfer/transfer``).
"""

from __future__ import annotations

import typing as t

AUTOMATE_HOST = "https://actions.automate.globus.org/"
ACTIONS_HOST = "https://actions.globus.org/"
OLD_TRANSFER = "https://actions.globus.org/transfer/"
NEW_TRANSFER = "https://transfer.actions.globus.org/"
TRANSFER_RETIRED_ON = "2025-01-22"
TRANSFER_MIGRATION_DOC = "https://docs.globus.org/api/transfer/action-providers/migration"
#: Routes renamed when the Transfer providers moved.
_RENAMED_ROUTES = {"set_permission": "manage_permission"}


def current_url(url: str) -> str:
    """The URL the embedded engine runs ``url`` as: a retired Automate-host URL becomes the
    ``actions.globus.org`` one (whose provider the engine has); others are unchanged."""
    normalized = url.strip().rstrip("/")
    if normalized.startswith(AUTOMATE_HOST):
        return ACTIONS_HOST + normalized[len(AUTOMATE_HOST):]
    return normalized


def retirement(url: str) -> t.Optional[str]:
    """What Globus says about ``url`` if it is retired (with the date and the current URL),
    else None."""
    normalized = url.strip().rstrip("/")
    current = current_url(normalized)
    route = current[len(OLD_TRANSFER):] if current.startswith(OLD_TRANSFER) else ""
    if route:
        note = (f"Globus retired the Transfer action provider {normalized} on "
                f"{TRANSFER_RETIRED_ON} ({TRANSFER_MIGRATION_DOC}); its current URL is "
                f"{NEW_TRANSFER}{_RENAMED_ROUTES.get(route, route)}")
        if route == "transfer":
            note += (", whose input names DATA, source_endpoint and destination_endpoint "
                     "where this one takes transfer_items, source_endpoint_id and "
                     "destination_endpoint_id")
        if normalized != current:
            note += f" ({AUTOMATE_HOST.rstrip('/')} is the Globus Automate host of {current})"
    elif normalized != current:
        note = (f"{normalized} is on {AUTOMATE_HOST.rstrip('/')}, the retired Globus Automate "
                f"host; Globus serves this provider at {current}")
    else:
        return None
    return note + ". The embedded engine runs it as its current equivalent."
