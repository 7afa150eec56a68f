"""Query lists, page sizes and pagination markers, as the service takes them.

The service's markers are opaque and "encode all state in a given query, therefore it's
unnecessary to provide query arguments once an initial marker has been received" (its
OpenAPI description of ``GET /flows``): here a marker is the query's filters and where
the next page starts, as URL-safe base64 JSON: an offset, or (for runs) the sort key of
the last run of the page before, so a deep page is found on an index, not counted to.
"""

from __future__ import annotations

import base64
import binascii
import json
import typing as t

from starlette.datastructures import QueryParams

from gladier.serve.errors import RequestError


def query_list(params: QueryParams, name: str) -> list[str]:
    """A list parameter, given repeated or comma-separated (as globus-sdk sends lists)."""
    return [item.strip() for value in params.getlist(name) for item in value.split(",")
            if item.strip()]


def page_size(params: QueryParams, name: str, *, default: int, largest: int) -> int:
    """An integer page size between 1 and ``largest`` (400 BAD_REQUEST otherwise)."""
    text = params.get(name)
    if text is None:
        return default
    try:
        size = int(text)
    except ValueError:
        raise RequestError("BAD_REQUEST", f"'{name}' must be an integer, not {text!r}") from None
    if not 1 <= size <= largest:
        raise RequestError("BAD_REQUEST", f"'{name}' must be between 1 and {largest}, not {size}")
    return size


def flag(params: QueryParams, name: str) -> bool:
    """A boolean parameter (``true``/``false``, any case)."""
    text = (params.get(name) or "false").lower()
    if text not in ("true", "false", "1", "0"):
        raise RequestError("BAD_REQUEST", f"'{name}' must be true or false, not {text!r}")
    return text in ("true", "1")


#: Where a page starts: an offset into the results, or the sort key of the item before it.
Position = t.Union[int, list]


def encode_marker(query: dict, position: Position) -> str:
    """The marker of the page of ``query``'s results that starts at ``position``."""
    where = "offset" if isinstance(position, int) else "after"
    text = json.dumps({"query": query, where: position}, separators=(",", ":"),
                      sort_keys=True)
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_marker(marker: str, *, keyset: bool = False) -> tuple[dict, Position]:
    """``(query, position)`` from a marker (400 BAD_REQUEST for one this server did not
    make, or one of a sort key where ``keyset`` is False)."""
    try:
        padded = marker + "=" * (-len(marker) % 4)
        decoded = json.loads(base64.urlsafe_b64decode(padded.encode()))
        query = decoded["query"]
        position = decoded["after"] if keyset and "after" in decoded else decoded["offset"]
        if not isinstance(query, dict) or isinstance(position, bool) or not (
                isinstance(position, list) or isinstance(position, int) and position >= 0):
            raise ValueError(marker)
    except (binascii.Error, ValueError, KeyError, TypeError):
        raise RequestError("BAD_REQUEST", f"Invalid pagination marker {marker!r}") from None
    return query, position


def read_page(params: QueryParams, read_query: t.Callable[[QueryParams], dict], *,
              keyset: bool = False) -> tuple[dict, t.Any]:
    """The query and position of the page asked for: from the marker when one is given
    (``marker`` or the older ``pagination_token``), else from the parameters (offset 0).
    The position is an offset, or with ``keyset`` maybe a sort key (see :func:`page`)."""
    marker = params.get("marker") or params.get("pagination_token")
    if marker:
        return decode_marker(marker, keyset=keyset)
    return read_query(params), 0


def page(items: list, query: dict, offset: int, limit: int,
         key: t.Callable[[t.Any], list] | None = None) -> dict:
    """``{"limit", "has_next_page", "marker"}`` for ``items`` read with ``limit + 1``;
    ``items`` is cut to the page. With ``key``, the marker holds the sort key of the page's
    last item rather than the next offset."""
    has_next = len(items) > limit
    del items[limit:]
    info: dict[str, t.Any] = {"limit": limit, "has_next_page": has_next}
    if has_next:
        info["marker"] = encode_marker(
            query, offset + limit if key is None else key(items[-1]))
    return info
