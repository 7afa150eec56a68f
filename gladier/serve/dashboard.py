"""The dashboard: runs, a run's page, flows and web-input forms, in the browser.

Each page is a small HTML shell; ``static/dashboard.js`` fills it from the Flows API (the
same routes globus-sdk uses) and from the run page's document
(``/dashboard/api/runs/{run_id}``), and refreshes what can still change. Everything it
needs is served from here: no CDN, works offline.
"""

from __future__ import annotations

import html
import importlib.resources

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from gladier.serve.errors import from_exception
from gladier.serve.runview import Pictures, run_view, state_list

#: Files under ``static/`` and their media types.
_STATIC = {"dashboard.css": "text/css; charset=utf-8",
           "dashboard.js": "text/javascript; charset=utf-8"}
_PICTURES = Pictures()


def is_page(path: str) -> bool:
    """Whether ``path`` is a dashboard page (answered with HTML, not a JSON error)."""
    return path == "/" or (path.startswith("/dashboard/") and
                           not path.startswith("/dashboard/api/"))


def _shell(title: str, page: str, **data: str) -> HTMLResponse:
    attributes = "".join(f' data-{key.replace("_", "-")}="{html.escape(value)}"'
                         for key, value in data.items())
    return HTMLResponse(f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)} · gladier serve</title>
<link rel="stylesheet" href="/static/dashboard.css">
</head><body data-page="{page}"{attributes}>
<header><a class="brand" href="/">gladier serve</a>
<nav><a href="/">Runs</a><a href="/dashboard/flows">Flows</a></nav></header>
<main id="main"><p class="muted">Loading…</p></main>
<script src="/static/dashboard.js"></script>
</body></html>""")


def runs_page(request: Request) -> HTMLResponse:
    return _shell("Runs", "runs")


def run_page(request: Request) -> HTMLResponse:
    return _shell("Run", "run", run_id=request.path_params["run_id"])


def flows_page(request: Request) -> HTMLResponse:
    return _shell("Flows", "flows")


def flow_page(request: Request) -> HTMLResponse:
    return _shell("Flow", "flow", flow_id=request.path_params["flow_id"])


def web_input_page(request: Request) -> HTMLResponse:
    return _shell("Web input", "web-input", web_input_id=request.path_params["web_input_id"])


def login_page() -> str:
    """What a browser without the token sees (HTTP 401)."""
    return """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Token needed · gladier serve</title><link rel="stylesheet" href="/static/dashboard.css">
</head><body><main><h1>Token needed</h1>
<p>Open the dashboard with the address <code>gladier serve</code> printed when it started:
it ends with <code>?token=…</code>. The token is also kept, readable by you only, in the
file <code>DB-serve-token</code> beside the engine database (or set with
<code>GLADIER_SERVE_TOKEN</code>).</p></main></body></html>"""


async def run_document(request: Request) -> Response:
    """GET /dashboard/api/runs/{run_id}: the run page's document."""
    engine = request.app.state.engine
    try:
        view = await run_in_threadpool(run_view, engine, _PICTURES, request.path_params["run_id"])
    except Exception as err:  # noqa: BLE001 - from_exception re-raises what it does not map
        return from_exception(err)
    return JSONResponse(view)


async def flow_picture(request: Request) -> Response:
    """GET /dashboard/api/flows/{flow_id}/graph: the flow's picture, uncoloured."""
    engine = request.app.state.engine

    def draw() -> dict:
        flow = engine.get_flow(request.path_params["flow_id"])
        return {"svg": _PICTURES.svg(f"{flow['id']}:{flow['updated_at']}", flow["definition"],
                                     {}),
                "states": state_list(flow["definition"], {})}

    try:
        return JSONResponse(await run_in_threadpool(draw))
    except Exception as err:  # noqa: BLE001
        return from_exception(err)


def static_file(request: Request) -> Response:
    name = request.path_params["name"]
    if name not in _STATIC:
        return Response("Not found", status_code=404, media_type="text/plain")
    text = importlib.resources.files("gladier.serve").joinpath("static").joinpath(name).read_text("utf-8")
    return Response(text, media_type=_STATIC[name], headers={"Cache-Control": "no-cache"})


ROUTES = [
    Route("/", runs_page, methods=["GET"]),
    Route("/dashboard/runs/{run_id}", run_page, methods=["GET"]),
    Route("/dashboard/flows", flows_page, methods=["GET"]),
    Route("/dashboard/flows/{flow_id}", flow_page, methods=["GET"]),
    Route("/dashboard/web-inputs/{web_input_id}", web_input_page, methods=["GET"]),
    Route("/dashboard/api/runs/{run_id}", run_document, methods=["GET"]),
    Route("/dashboard/api/flows/{flow_id}/graph", flow_picture, methods=["GET"]),
    Route("/static/{name}", static_file, methods=["GET"]),
]

