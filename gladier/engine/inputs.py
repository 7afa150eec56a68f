"""Checking run input against a flow's ``input_schema`` before the run starts.

Errors take the Flows service's shape (``{"loc": ["$.bool"], "type": "InvalidActionInput",
"msg": ...}``) so callers see the same thing from either engine. Remote ``$ref``s are never
fetched: a schema may only refer to its own parts. An error about a private value (at a
``_private…`` location, or holding ``_private…`` keys) names the location and the rule
but never the value.
"""

from __future__ import annotations

import functools
import json
import typing as t

import jsonschema
import referencing
import referencing.exceptions

from gladier.engine.interpreter import PRIVATE_PREFIX, public_view
from gladier.engine.paths import format_path
from gladier.exc import FlowInputError


def _refuse_remote(uri: str) -> referencing.Resource:
    # referencing's attrs classes take these keywords; its own decorator hides them from mypy
    raise referencing.exceptions.NoSuchResource(ref=uri)  # type: ignore[call-arg]


OFFLINE_REGISTRY: referencing.Registry = referencing.Registry(
    retrieve=_refuse_remote)  # type: ignore[call-arg]
"""A registry that resolves no remote references (the engine never touches the network)."""


def schema_validator(schema: t.Any) -> jsonschema.protocols.Validator:
    """A validator for ``schema`` in its declared dialect (Draft 7 when it names none)."""
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft7Validator)
    return cls(schema, registry=OFFLINE_REGISTRY)


@functools.lru_cache(maxsize=256)
def _checked_validator(schema_text: str) -> jsonschema.protocols.Validator:
    """A validator for the schema with this canonical JSON text, the schema itself checked
    (SchemaError if invalid). Checking a schema costs more than most validations, and a
    flow's schema is the same for each of its runs, so each is checked once."""
    schema = json.loads(schema_text)
    validator = schema_validator(schema)
    validator.check_schema(schema)
    return validator


def _location(error: jsonschema.ValidationError) -> str:
    """Where the error is in the input; a missing required key is named itself."""
    segments = list(error.absolute_path)
    if error.validator == "required" and isinstance(error.instance, dict):
        missing = [
            key for key in (error.validator_value if isinstance(error.validator_value, list)
                            else []) if key not in error.instance
        ]
        if missing and missing[0] in error.message:
            segments.append(missing[0])
    return format_path(segments)


def _message(error: jsonschema.ValidationError) -> str:
    """jsonschema's message, which quotes the value, unless the value is private."""
    private = any(isinstance(segment, str) and segment.startswith(PRIVATE_PREFIX)
                  for segment in error.absolute_path)
    if not private and public_view(error.instance) == error.instance:
        return error.message
    rule = error.validator_value
    if type(rule) in (str, int, float, bool) or isinstance(rule, list) and all(
            type(item) in (str, int, float, bool) for item in rule):
        return f"the private value (not shown) fails {error.validator!r}: {json.dumps(rule)}"
    return f"the private value (not shown) fails the schema's {error.validator!r} rule"


def input_errors(input_schema: dict | None, body: t.Any) -> list[dict]:
    """Every schema failure of ``body`` as ``{"loc", "type", "msg"}`` dicts, sorted by place."""
    if input_schema is None:
        return []
    try:
        schema_text = json.dumps(input_schema, sort_keys=True, separators=(",", ":"))
    except (TypeError, ValueError) as exc:
        return [{"loc": ["$"], "type": "InvalidInputSchema",
                 "msg": f"The flow's input schema is not JSON: {exc}"}]
    try:
        errors = list(_checked_validator(schema_text).iter_errors(body))
    except jsonschema.SchemaError as exc:
        return [{"loc": ["$"], "type": "InvalidInputSchema",
                 "msg": f"The flow's input schema is invalid: {exc.message}"}]
    except (referencing.exceptions.Unresolvable, jsonschema.exceptions.UnknownType,
            RecursionError, TypeError) as exc:
        return [{"loc": ["$"], "type": "InvalidInputSchema",
                 "msg": f"The flow's input schema cannot be used: {exc}"}]
    found = [
        {"loc": [_location(error)], "type": "InvalidActionInput", "msg": _message(error)}
        for error in errors
    ]
    return sorted(found, key=lambda e: (e["loc"][0], e["msg"]))


def validate_input(input_schema: dict | None, body: dict) -> None:
    """Raise :class:`~gladier.exc.FlowInputError` listing every failing location.

    No schema means no validation, as on the service.
    """
    errors = input_errors(input_schema, body)
    if not errors:
        return
    details = "; ".join(f"{e['loc'][0]}: {e['msg']}" for e in errors)
    raise FlowInputError(
        f"Input failed schema validation with {len(errors)} error(s): {details}", errors
    )
