"""Readable Compute exceptions in run documents.

The Compute action provider puts a failed task's exception, serialized by
``globus_compute_sdk``, under ``exception`` in the action's details. Decoding it gives the
remote traceback as text, which is what a person reading a status wants.
"""

from __future__ import annotations

import traceback
import typing as t


def decode_exception(encoded: str) -> str:
    """The remote error as text for a serialized Compute exception, else ``encoded``.

    Current Compute services already send the traceback as text; older ones sent a
    serialized exception wrapper, which is decoded here.
    """
    from globus_compute_sdk.serialize import ComputeSerializer

    try:
        remote = ComputeSerializer().deserialize(encoded)
    except Exception:  # plain text (a traceback): keep what the service gave
        return encoded
    if hasattr(remote, "reraise"):
        try:
            remote.reraise()
        except Exception as error:
            remote = error
    if isinstance(remote, BaseException):
        return "".join(traceback.format_exception_only(type(remote), remote)).strip()
    return str(remote)


def decode_compute_exceptions(document: t.Any) -> t.Any:
    """Replace every serialized ``exception`` string inside ``document`` (in place)."""
    if isinstance(document, dict):
        for key, value in document.items():
            if key == "exception" and isinstance(value, str):
                document[key] = decode_exception(value)
            else:
                decode_compute_exceptions(value)
    elif isinstance(document, list):
        for item in document:
            decode_compute_exceptions(item)
    return document
