"""Error documents as the Flows service writes them.

``{"error": {"code", "detail"[, "message"]}, "debug_id"}`` with the service's status codes
and codes (the shapes of ``globus_sdk.testing``'s canned flows responses): 401
``AUTHENTICATION_ERROR``, 404 ``NOT_FOUND``, 400 ``FLOW_INPUT_ERROR`` for run input the
schema refuses, 422 ``UNPROCESSABLE_ENTITY`` for an invalid definition or request body,
409 ``STATE_CONFLICT`` for an operation the run's status forbids.
"""

from __future__ import annotations

import typing as t
import uuid

from starlette.responses import JSONResponse

from gladier.exc import (EngineError, FlowInputError, FlowValidationError, NotInDatabase,
                         RunNotEnded, WebInputError)

#: HTTP status of each service error code.
STATUS_OF_CODE = {"BAD_REQUEST": 400, "FLOW_INPUT_ERROR": 400, "AUTHENTICATION_ERROR": 401,
                  "FORBIDDEN": 403, "NOT_FOUND": 404, "STATE_CONFLICT": 409,
                  "UNPROCESSABLE_ENTITY": 422}


class RequestError(Exception):
    """A request the API refuses: ``code`` is the service's error code."""

    def __init__(self, code: str, detail: t.Any, *, message: str | None = None) -> None:
        super().__init__(detail)
        self.code, self.detail, self.message = code, detail, message


def error_response(code: str, detail: t.Any, *, message: str | None = None) -> JSONResponse:
    """The service's error document for ``code``."""
    error: dict[str, t.Any] = {"code": code, "detail": detail}
    if message is not None:
        error["message"] = message
    return JSONResponse({"error": error, "debug_id": str(uuid.uuid4())},
                        status_code=STATUS_OF_CODE[code])


def unprocessable(loc: list, msg: str) -> RequestError:
    """A request body field the service would refuse (422, pydantic-style detail)."""
    where = ".".join(str(part) for part in loc)
    return RequestError("UNPROCESSABLE_ENTITY", [{"loc": loc, "msg": msg, "type": "value_error"}],
                        message=f"1 validation error in body. $.{where}: {msg}")


def from_exception(err: Exception) -> JSONResponse:
    """The error document for what the engine raised."""
    if isinstance(err, RequestError):
        return error_response(err.code, err.detail, message=err.message)
    if isinstance(err, NotInDatabase):
        return error_response("NOT_FOUND", str(err))
    if isinstance(err, FlowValidationError):
        detail = [{"loc": ["definition", *_path_parts(problem.get("path"))],
                   "msg": problem["message"], "type": "value_error"}
                  for problem in err.problems]
        where = ["$.definition" + (p.get("path") or "$")[1:] for p in err.problems]
        return error_response(
            "UNPROCESSABLE_ENTITY", detail,
            message=f"{len(detail)} validation error{'s' if len(detail) != 1 else ''} in "
                    "body. " + "; ".join(f"{place}: {problem['message']}"
                                         for place, problem in zip(where, err.problems)))
    if isinstance(err, FlowInputError):
        detail = err.errors or [{"loc": ["$"], "type": "InvalidActionInput", "msg": str(err)}]
        return error_response("FLOW_INPUT_ERROR", detail,
                              message=f"Input failed schema validation with {len(detail)} "
                                      f"error{'s' if len(detail) != 1 else ''}.")
    if isinstance(err, WebInputError):
        return error_response(err.code if err.code in STATUS_OF_CODE else "BAD_REQUEST", str(err))
    if isinstance(err, RunNotEnded):
        return error_response("STATE_CONFLICT", str(err))
    if isinstance(err, EngineError):
        return error_response("BAD_REQUEST", str(err))
    raise err


def _path_parts(path: str | None) -> list[str]:
    """``$.States.Step1.Next`` -> ``["States", "Step1", "Next"]``."""
    if not path or path == "$":
        return []
    return [part for part in path.lstrip("$").strip(".").split(".") if part]
