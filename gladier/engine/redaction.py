"""Keeping private values out of error causes.

An error's text is built from whatever failed: a Python exception quoting a value
(``invalid literal for int() with base 10: 'pw…'``), a provider's error body echoing its
request. So when a state fails, every private value it could see (what :func:`private_values`
finds between the data and the copy that may be shown) is replaced by :data:`REDACTED` in
the error's cause and output before the error is logged, journaled or caught.
"""

from __future__ import annotations

import json
import typing as t

REDACTED = "***"
#: Shorter private values are not redacted: they cannot be told from ordinary words.
MIN_REDACTED_LENGTH = 4


def _leaves(value: t.Any) -> t.Iterator[str]:
    """The text of every string and number in ``value``."""
    if isinstance(value, dict):
        for item in value.values():
            yield from _leaves(item)
    elif isinstance(value, list):
        for item in value:
            yield from _leaves(item)
    elif isinstance(value, str):
        yield value
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        yield str(value)


def private_values(data: t.Any, shown: t.Any) -> frozenset[str]:
    """The values in ``data`` that its public copy ``shown`` leaves out."""
    public = set(_leaves(shown))
    return frozenset(value for value in _leaves(data)
                     if value not in public and len(value) >= MIN_REDACTED_LENGTH)


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
