"""The Flows API routes, as the service shapes them (paths, bodies, status codes).

Enough for ``globus_sdk.FlowsClient``, ``SpecificFlowClient`` and Gladier's
``FlowsManager``: flows (create, get, list, update, delete, validate), runs (start,
validate input, get, list, update label and tags, log, definition, cancel, resume,
release) and web inputs (list, get, respond). Each handler is a plain function that
:func:`endpoint` runs on a worker thread; the engine's store serialises database access.
"""

from __future__ import annotations

import json
import typing as t

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from gladier.serve import paging
from gladier.serve.documents import flow_document
from gladier.serve.errors import RequestError, from_exception, unprocessable

#: Page sizes: the service's defaults and largest values.
RUNS_PER_PAGE, MAX_RUNS_PER_PAGE = 20, 50
FLOWS_PER_PAGE, MAX_FLOWS_PER_PAGE = 20, 50
LOG_LIMIT, MAX_LOG_LIMIT = 10, 100
WEB_INPUTS_PER_PAGE = 20
#: Run statuses the service knows.
RUN_STATUSES = ("ACTIVE", "INACTIVE", "SUCCEEDED", "FAILED", "ENDED")


def _engine(request: Request) -> t.Any:
    return request.app.state.engine


def _base_url(request: Request) -> str:
    return str(request.base_url)


def _body(request: Request) -> dict:
    """The JSON object a request carries (422 when it is not one)."""
    raw = request.state.body
    if not raw:
        return {}
    try:
        body = json.loads(raw)
    except ValueError as err:
        raise RequestError("BAD_REQUEST", f"The request body is not JSON: {err}") from None
    if not isinstance(body, dict):
        raise unprocessable(["body"], "the request body must be a JSON object")
    return body


def endpoint(handler: t.Callable[..., t.Any]) -> t.Callable[[Request], t.Any]:
    """An async endpoint that reads the body, then runs ``handler(request, **path)`` on a
    worker thread and turns what the engine raises into the service's error document."""
    from starlette.concurrency import run_in_threadpool

    async def route(request: Request) -> t.Any:
        request.state.body = await request.body()
        try:
            return await run_in_threadpool(handler, request, **request.path_params)
        except Exception as err:  # noqa: BLE001 - from_exception re-raises what it does not map
            return from_exception(err)

    route.__name__ = handler.__name__
    route.__doc__ = handler.__doc__
    return route


# flows -----------------------------------------------------------------------------------

def _flow_fields(body: dict, *, creating: bool) -> dict:
    if creating and "definition" not in body:
        raise unprocessable(["definition"], "field required")
    for name in ("definition", "input_schema"):
        if name in body and body[name] is not None and not isinstance(body[name], dict):
            raise unprocessable([name], "value is not a valid dict")
    for name in ("title", "subtitle", "description"):
        if name in body and body[name] is not None and not isinstance(body[name], str):
            raise unprocessable([name], "str type expected")
    return {key: value for key, value in body.items() if value is not None}


def create_flow(request: Request) -> JSONResponse:
    """POST /flows: a new flow, with an id of its own (201)."""
    import uuid

    fields = _flow_fields(_body(request), creating=True)
    definition = fields.pop("definition")
    flow = _engine(request).create_flow(definition, fields.pop("title", None),
                                        fields.pop("input_schema", None),
                                        flow_id=str(uuid.uuid4()), **fields)
    return JSONResponse(flow_document(flow, _base_url(request)), status_code=201)


def get_flow(request: Request, flow_id: str) -> JSONResponse:
    """GET /flows/{flow_id}."""
    return JSONResponse(flow_document(_engine(request).get_flow(flow_id), _base_url(request)))


def update_flow(request: Request, flow_id: str) -> JSONResponse:
    """PUT /flows/{flow_id}: what the body gives replaces what the flow had."""
    flow = _engine(request).update_flow(flow_id, **_flow_fields(_body(request), creating=False))
    return JSONResponse(flow_document(flow, _base_url(request)))


def delete_flow(request: Request, flow_id: str) -> JSONResponse:
    """DELETE /flows/{flow_id}: the flow as it was, marked ``DELETED``."""
    flow = _engine(request).delete_flow(flow_id)
    return JSONResponse({**flow_document(flow, _base_url(request)), "DELETED": True})


def _flows_query(params: t.Any) -> dict:
    return {"fulltext": paging.query_list(params, "filter_fulltext"),
            "orderby": paging.query_list(params, "orderby"),
            "per_page": paging.page_size(params, "per_page", default=FLOWS_PER_PAGE,
                                         largest=MAX_FLOWS_PER_PAGE)}


def list_flows(request: Request) -> JSONResponse:
    """GET /flows: newest first, ``filter_fulltext``, ``orderby``, ``per_page``, ``marker``."""
    query, offset = paging.read_page(request.query_params, _flows_query)
    limit = query["per_page"]
    flows = _engine(request).list_flows(limit=limit + 1, offset=offset,
                                        fulltext=query["fulltext"],
                                        orderby=_orderby(query["orderby"]))
    info = paging.page(flows, query, offset, limit)
    base = _base_url(request)
    return JSONResponse({"flows": [flow_document(flow, base) for flow in flows], **info})


def validate_flow(request: Request) -> JSONResponse:
    """POST /flows/validate: 200 with the scopes it needs, else 422 naming each problem."""
    body = _body(request)
    fields = _flow_fields(body, creating=True)
    result = _engine(request).validate_flow(fields["definition"], fields.get("input_schema"))
    return JSONResponse({"scopes": result["scopes"]})


# runs ------------------------------------------------------------------------------------

def _run_fields(body: dict) -> dict:
    if "body" not in body:
        raise unprocessable(["body"], "field required")
    label, tags = body.get("label"), body.get("tags")
    if label is not None and (not isinstance(label, str) or not 1 <= len(label) <= 64):
        raise unprocessable(["label"], "a label is a string of 1 to 64 characters")
    if tags is not None and (not isinstance(tags, list)
                             or not all(isinstance(tag, str) and tag.strip() for tag in tags)):
        raise unprocessable(["tags"], "tags are a list of non-empty strings")
    return {"label": label, "tags": tags}


def run_flow(request: Request, flow_id: str) -> JSONResponse:
    """POST /flows/{flow_id}/run: a new run (201); 400 FLOW_INPUT_ERROR for input the
    flow's schema refuses."""
    body = _body(request)
    fields = _run_fields(body)
    run = _engine(request).run_flow(flow_id, body["body"], label=fields["label"],
                                    tags=fields["tags"])
    return JSONResponse(run, status_code=201)


def validate_run(request: Request, flow_id: str) -> JSONResponse:
    """POST /flows/{flow_id}/validate_run: checks the input against the flow's schema."""
    from gladier.engine.inputs import validate_input

    body = _body(request)
    _run_fields(body)
    flow = _engine(request).get_flow(flow_id)
    if not isinstance(body["body"], dict):
        raise unprocessable(["body"], "value is not a valid dict")
    if flow["input_schema"] is not None:
        validate_input(flow["input_schema"], body["body"])
    return JSONResponse({"message": "validation successful"})


def _runs_query(params: t.Any) -> dict:
    statuses = [status.upper() for status in paging.query_list(params, "filter_status")]
    unknown = sorted(set(statuses) - set(RUN_STATUSES))
    if unknown:
        raise RequestError("BAD_REQUEST", f"Unknown run status {unknown[0]!r}; choose from "
                                          f"{', '.join(RUN_STATUSES)}")
    return {"statuses": statuses,
            "flow_ids": paging.query_list(params, "filter_flow_id"),
            "labels": paging.query_list(params, "filter_label"),
            "flow_titles": paging.query_list(params, "filter_flow_title"),
            "start_time": _time_range(params, "filter_start_time"),
            "completion_time": _time_range(params, "filter_completion_time"),
            "orderby": paging.query_list(params, "orderby"),
            "per_page": paging.page_size(params, "per_page", default=RUNS_PER_PAGE,
                                         largest=MAX_RUNS_PER_PAGE)}


def _time_range(params: t.Any, name: str) -> list:
    """``"FROM,BEFORE"`` (either may be empty; no comma means ``FROM,``)."""
    from gladier.engine.timing import parse_timestamp

    text = params.get(name)
    if not text:
        return [None, None]
    since, _, before = text.partition(",")
    ends: list[str | None] = []
    for value in (since.strip(), before.strip()):
        if not value:
            ends.append(None)
            continue
        try:
            ends.append(parse_timestamp(value).isoformat())
        except Exception:  # noqa: BLE001 - any unreadable time is the caller's error
            raise RequestError("BAD_REQUEST", f"'{name}' holds {value!r}, which is not an "
                                              "ISO 8601 date and time") from None
    return ends


def _orderby(terms: list[str]) -> list[tuple[str, bool]]:
    ordered = []
    for term in terms:
        field, _, direction = term.strip().partition(" ")
        direction = direction.strip().upper() or "ASC"
        if direction not in ("ASC", "DESC"):
            raise RequestError("BAD_REQUEST", f"orderby {term!r}: the order must be ASC or DESC")
        ordered.append((field, direction == "DESC"))
    return ordered


def list_runs(request: Request, flow_id: str | None = None) -> JSONResponse:
    """GET /runs (and /flows/{flow_id}/runs): newest first, the service's filters."""
    from gladier.engine.store import run_page_key

    query, position = paging.read_page(request.query_params, _runs_query, keyset=True)
    if flow_id is not None:
        _engine(request).get_flow(flow_id)
        query = dict(query, flow_ids=[flow_id])
    limit = query["per_page"]
    orderby = _orderby(query["orderby"])
    after = position if isinstance(position, list) else None
    offset = 0 if after is not None else position
    runs = _engine(request).page_runs(
        limit=limit + 1, offset=offset, after=after, statuses=query["statuses"],
        flow_ids=query["flow_ids"], labels=query["labels"], flow_titles=query["flow_titles"],
        start_time=tuple(query["start_time"]), completion_time=tuple(query["completion_time"]),
        orderby=orderby)
    info = paging.page(runs, query, offset, limit, key=lambda run: run_page_key(run, orderby))
    return JSONResponse({"runs": runs, **info})


def get_run(request: Request, run_id: str) -> JSONResponse:
    """GET /runs/{run_id} (``include_flow_description=true`` adds the flow's)."""
    engine = _engine(request)
    run = engine.get_run(run_id)
    if paging.flag(request.query_params, "include_flow_description"):
        run["flow_description"] = engine.get_run_definition(run_id)["description"]
    return JSONResponse(run)


def update_run(request: Request, run_id: str) -> JSONResponse:
    """PUT /runs/{run_id}: a new label and/or tags."""
    body = _body(request)
    fields = _run_fields({"body": None, **body})
    return JSONResponse(_engine(request).update_run(run_id, **fields))


def get_run_definition(request: Request, run_id: str) -> JSONResponse:
    """GET /runs/{run_id}/definition: the definition and schema the run follows."""
    source = _engine(request).get_run_definition(run_id)
    return JSONResponse({"flow_id": source["flow_id"], "definition": source["definition"],
                         "input_schema": source["input_schema"] or {}})


def _log_query(params: t.Any) -> dict:
    return {"limit": paging.page_size(params, "limit", default=LOG_LIMIT,
                                      largest=MAX_LOG_LIMIT),
            "reverse_order": paging.flag(params, "reverse_order")}


def get_run_logs(request: Request, run_id: str) -> JSONResponse:
    """GET /runs/{run_id}/log: ``limit`` entries (10 by default, at most 100), oldest
    first unless ``reverse_order``; ``marker`` reads the next page."""
    query, offset = paging.read_page(request.query_params, _log_query)
    limit = query["limit"]
    found = _engine(request).get_run_logs(run_id, limit, query["reverse_order"], offset=offset)
    info: dict[str, t.Any] = {"limit": limit, "has_next_page": found["has_next_page"]}
    if found["has_next_page"]:
        info["marker"] = paging.encode_marker(query, offset + limit)
    return JSONResponse({**info, "entries": found["entries"]})


def cancel_run(request: Request, run_id: str) -> JSONResponse:
    """POST /runs/{run_id}/cancel (202): FAILED with FlowCanceled, its action canceled."""
    return JSONResponse(_engine(request).cancel_run(run_id), status_code=202)


def resume_run(request: Request, run_id: str) -> JSONResponse:
    """POST /runs/{run_id}/resume: continue a run whose engine is gone."""
    return JSONResponse(_engine(request).resume_run(run_id))


def release_run(request: Request, run_id: str) -> JSONResponse:
    """POST /runs/{run_id}/release: remove an ended run (409 STATE_CONFLICT otherwise)."""
    return JSONResponse(_engine(request).release_run(run_id))


# web inputs ------------------------------------------------------------------------------

def _web_inputs_query(params: t.Any) -> dict:
    return {"states": paging.query_list(params, "filter_states"),
            "run_ids": paging.query_list(params, "filter_run_ids"),
            "flow_ids": paging.query_list(params, "filter_flow_ids")}


def list_web_inputs(request: Request) -> JSONResponse:
    """GET /web_inputs: summaries, oldest first; ``marker`` is null on the last page."""
    query, offset = paging.read_page(request.query_params, _web_inputs_query)
    found = _engine(request).list_web_inputs(filter_states=query["states"],
                                             filter_run_ids=query["run_ids"])
    if query["flow_ids"]:
        found = [item for item in found if item["flow"]["id"] in query["flow_ids"]]
    summaries = found[offset:offset + WEB_INPUTS_PER_PAGE + 1]
    info = paging.page(summaries, query, offset, WEB_INPUTS_PER_PAGE)
    return JSONResponse({"web_input_summaries": summaries, "marker": info.get("marker")})


def get_web_input(request: Request, web_input_id: str) -> JSONResponse:
    """GET /web_inputs/{web_input_id}."""
    return JSONResponse(_engine(request).get_web_input(web_input_id))


def respond_to_web_input(request: Request, web_input_id: str) -> JSONResponse:
    """POST /web_inputs/{web_input_id}/respond with ``{"response": {"value": ...}}``."""
    response = _body(request).get("response")
    if not isinstance(response, dict) or "value" not in response:
        raise unprocessable(["response", "value"], "field required")
    return JSONResponse(_engine(request).respond_to_web_input(web_input_id, response["value"]))


ROUTES = [
    Route("/flows", endpoint(list_flows), methods=["GET"]),
    Route("/flows", endpoint(create_flow), methods=["POST"]),
    Route("/flows/validate", endpoint(validate_flow), methods=["POST"]),
    Route("/flows/{flow_id}", endpoint(get_flow), methods=["GET"]),
    Route("/flows/{flow_id}", endpoint(update_flow), methods=["PUT"]),
    Route("/flows/{flow_id}", endpoint(delete_flow), methods=["DELETE"]),
    Route("/flows/{flow_id}/run", endpoint(run_flow), methods=["POST"]),
    Route("/flows/{flow_id}/validate_run", endpoint(validate_run), methods=["POST"]),
    Route("/flows/{flow_id}/runs", endpoint(list_runs), methods=["GET"]),
    Route("/runs", endpoint(list_runs), methods=["GET"]),
    Route("/runs/{run_id}", endpoint(get_run), methods=["GET"]),
    Route("/runs/{run_id}", endpoint(update_run), methods=["PUT"]),
    Route("/runs/{run_id}/definition", endpoint(get_run_definition), methods=["GET"]),
    Route("/runs/{run_id}/log", endpoint(get_run_logs), methods=["GET"]),
    Route("/runs/{run_id}/cancel", endpoint(cancel_run), methods=["POST"]),
    Route("/runs/{run_id}/resume", endpoint(resume_run), methods=["POST"]),
    Route("/runs/{run_id}/release", endpoint(release_run), methods=["POST"]),
    Route("/web_inputs", endpoint(list_web_inputs), methods=["GET"]),
    Route("/web_inputs/{web_input_id}", endpoint(get_web_input), methods=["GET"]),
    Route("/web_inputs/{web_input_id}/respond", endpoint(respond_to_web_input),
          methods=["POST"]),
]
