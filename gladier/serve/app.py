"""The ASGI application: the Flows API, the dashboard and the health check behind one token.

The application owns one :class:`~gladier.engine.engine.LocalEngine` on the database, opened
when the server starts. It drives the runs started through the API, and every few seconds
takes over runs whose engine is gone (a script that exited, a killed cron job); runs that a
live engine in another process drives are only read, never driven here too.

A request is let in with ``Authorization: Bearer TOKEN``, or with the dashboard's cookie,
which ``?token=TOKEN`` on a dashboard page sets (then the page is reloaded without it, so
the token stays out of the address bar and history). With the cookie, a request that
changes something must come from the dashboard's own origin.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import typing as t
from urllib.parse import urlencode, urlsplit

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from gladier.serve import api, dashboard
from gladier.serve.errors import error_response
from gladier.serve.token import matches

log = logging.getLogger(__name__)

#: The one route open without the token.
HEALTH_PATH = "/health"
#: The cookie the dashboard keeps the token in.
COOKIE = "gladier_serve_token"
#: Seconds between two looks for runs whose engine is gone.
ADOPT_EVERY = 5.0
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def health(request: Request) -> JSONResponse:
    """GET /health: whether the server is up (no token needed)."""
    return JSONResponse({"status": "ok"})


class TokenGate:
    """ASGI middleware: 401 for requests without the token (see the module docstring)."""

    def __init__(self, app: t.Any, *, token: str, secure: bool) -> None:
        self.app, self.token, self.secure = app, token, secure

    async def __call__(self, scope: dict, receive: t.Any, send: t.Any) -> None:
        if scope["type"] != "http" or scope["path"] == HEALTH_PATH:
            await self.app(scope, receive, send)
            return
        response = self._refusal(Request(scope))
        if response is None:
            await self.app(scope, receive, send)
        else:
            await response(scope, receive, send)

    def _refusal(self, request: Request) -> Response | None:
        """None to let the request in, else the response that refuses (or redirects) it."""
        scheme, _, bearer = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and matches(bearer.strip(), self.token):
            return None
        given = request.query_params.get("token")
        if given is not None and dashboard.is_page(request.url.path) and \
                request.method == "GET" and matches(given, self.token):
            return self._set_cookie(request)
        if matches(request.cookies.get(COOKIE), self.token):
            if request.method in _SAFE_METHODS or _same_origin(request):
                return None
            return error_response("FORBIDDEN", "A change asked for with the dashboard's cookie "
                                               "must come from the dashboard's own pages")
        if dashboard.is_page(request.url.path):
            return HTMLResponse(dashboard.login_page(), status_code=401)
        return error_response("AUTHENTICATION_ERROR", "Expired or invalid Bearer token")

    def _set_cookie(self, request: Request) -> Response:
        rest = [(key, value) for key, value in request.query_params.multi_items()
                if key != "token"]
        target = request.url.path + (f"?{urlencode(rest)}" if rest else "")
        response = RedirectResponse(target, status_code=303)
        response.set_cookie(COOKIE, self.token, httponly=True, samesite="strict",
                            secure=self.secure, path="/")
        return response


def _same_origin(request: Request) -> bool:
    """Whether a browser request comes from this server's own pages (Origin, else Referer)."""
    origin = request.headers.get("origin") or request.headers.get("referer")
    if not origin:
        return False
    return urlsplit(origin).netloc == request.headers.get("host")


def create_app(engine_factory: t.Callable[[], t.Any], *, token: str,
               secure: bool = False, adopt_every: float = ADOPT_EVERY) -> t.Any:
    """The application; ``engine_factory()`` opens the LocalEngine when the server starts."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> t.AsyncIterator[None]:
        engine = engine_factory()
        app.state.engine = engine
        stop = threading.Event()
        adopter = threading.Thread(target=_adopt_orphans, args=(engine, stop, adopt_every),
                                   name="gladier-serve-adopt", daemon=True)
        adopter.start()
        try:
            yield
        finally:
            stop.set()
            adopter.join(timeout=10)
            engine.close()

    routes = [Route(HEALTH_PATH, health, methods=["GET"]), *api.ROUTES, *dashboard.ROUTES]
    app = Starlette(routes=routes, lifespan=lifespan)
    return TokenGate(app, token=token, secure=secure)


def _adopt_orphans(engine: t.Any, stop: threading.Event, every: float) -> None:
    """Take over unfinished runs whose engine is gone, now and every ``every`` seconds."""
    while True:
        try:
            taken = engine.resume()
            if taken:
                log.info("gladier serve: continuing %d run(s) whose engine is gone", len(taken))
        except Exception:  # a database hiccup must not end the loop
            log.exception("gladier serve: looking for runs to continue failed")
        if stop.wait(every):
            return
