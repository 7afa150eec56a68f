"""Keeping private values out of everything a run shows.

A private value (under a ``_private…`` key, or listed in ``__Private_Parameters``) travels:
a later state takes the object holding it by reference (``"x.$": "$.creds"``), a Python
exception quotes it (``invalid literal for int() with base 10: 'pw…'``), a provider's error
body echoes its request. So the run driver keeps the run's whole set of private values
(:func:`private_leaves` of every run state and action request it sees) and replaces each
of them by :data:`REDACTED` in every log entry, run document and error cause before it is
journaled, published or logged; text is shortened only after that (:func:`shorten`), so no
first characters of a secret survive a cut.
"""

from __future__ import annotations

import json
import typing as t

REDACTED = "***"
#: Shorter private values are not redacted: they cannot be told from ordinary words.
MIN_REDACTED_LENGTH = 4


def leaves(value: t.Any) -> t.Iterator[str]:
    """The text of every string and number in ``value``."""
    if isinstance(value, dict):
        for item in value.values():
            yield from leaves(item)
    elif isinstance(value, list):
        for item in value:
            yield from leaves(item)
    elif isinstance(value, str):
        yield value
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        yield str(value)


def private_leaves(value: t.Any, shown: t.Any, *, common: t.Collection[str] = ()) -> set[str]:
    """The text of every string and number ``value`` holds where its masked copy ``shown``
    (the same data with private keys removed) has nothing, except the ``common`` words
    (state names, status names: redacting those would only garble the documents)."""
    found: set[str] = set()

    def walk(node: t.Any, mask: t.Any) -> None:
        if isinstance(node, dict) and isinstance(mask, dict):
            for key, item in node.items():
                if key in mask:
                    walk(item, mask[key])
                else:
                    found.update(leaves(item))
        elif isinstance(node, list) and isinstance(mask, list) and len(node) == len(mask):
            for item, masked in zip(node, mask):
                walk(item, masked)
        elif isinstance(node, (dict, list)) and node != mask:
            found.update(leaves(node))

    walk(value, shown)
    return {leaf for leaf in found if len(leaf) >= MIN_REDACTED_LENGTH and leaf not in common}


#: Longest text shown from an error (after redaction).
MAX_SHOWN = 2000


def shorten(text: t.Any, limit: int = MAX_SHOWN) -> t.Any:
    """``text`` cut to ``limit`` characters (with a note of how much was left out); a value
    that is not a string is returned as it is. Call it after :func:`redact`, never before."""
    if not isinstance(text, str) or len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text) - limit} more characters)"


def redact(value: t.Any, secrets: t.Collection[str]) -> t.Any:
    """A copy of JSON ``value`` (a cause, an error body) with every secret in its strings,
    as written, quoted by Python or escaped for JSON, replaced by :data:`REDACTED`."""
    forms = sorted({form for secret in secrets
                    for form in (secret, repr(secret)[1:-1], json.dumps(secret)[1:-1])},
                   key=len, reverse=True)

    def walk(node: t.Any) -> t.Any:
        if isinstance(node, dict):
            return {walk(key): walk(item) for key, item in node.items()}
        if isinstance(node, list):
            return [walk(item) for item in node]
        if isinstance(node, str):
            for form in forms:
                node = node.replace(form, REDACTED)
        return node

    return walk(value) if forms else value
