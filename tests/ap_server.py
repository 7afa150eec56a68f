"""A real Action Provider served over HTTP on 127.0.0.1, for tests of the HTTP provider.

It implements the Action Provider Interface: ``POST /run`` (202 for a new action, 200 when
the same ``request_id`` and body come again, 409 when the body differs),
``GET /{id}/status``, ``POST /{id}/cancel``, ``POST /{id}/release`` (409 while running,
404 afterwards; its ``run`` request again is a 409). With ``new_style=True`` it answers
only the newer paths (``POST /actions``, ``GET /actions/{id}``,
``POST /actions/{id}/cancel``, ``DELETE /actions/{id}``).

An action's body decides how it behaves: ``{"polls": n}`` stays ACTIVE for ``n`` status
requests, ``{"fail": true}`` ends FAILED, anything else is echoed back in ``details``.
``token`` makes every request without ``Authorization: Bearer <token>`` a 401.
``canned`` maps ``(method, path)`` to a raw ``(status, content_type, text)`` answer, to
imitate broken providers. ``faults`` maps ``(method, path suffix)`` (e.g.
``("GET", "/status")``) to a list of faults used one per matching request, first to last:
a raw ``(status, content_type, text)`` answer, or a number of seconds to stall before
answering normally (to make a client time out).
"""

from __future__ import annotations

import datetime
import http.server
import json
import threading
import time
import typing as t
import uuid


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat()


class ActionProviderServer:
    def __init__(self, *, token: str | None = None, new_style: bool = False):
        self.token = token
        self.new_style = new_style
        self.canned: dict[tuple[str, str], tuple[int, str, str]] = {}
        self.faults: dict[tuple[str, str], list[tuple[int, str, str] | float]] = {}
        self.actions: dict[str, dict] = {}
        self.requests_by_id: dict[str, tuple[str, dict]] = {}
        self.polls_left: dict[str, int] = {}
        self.log: list[tuple[str, str, str | None]] = []  # method, path, Authorization header
        self.runs_started = 0
        self._lock = threading.Lock()
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> ActionProviderServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    # -- the Action Provider Interface ------------------------------------------------------

    def handle(self, method: str, path: str, body: t.Any, auth: str | None) -> tuple[int, t.Any]:
        with self._lock:
            self.log.append((method, path, auth))
            if self.token is not None and auth != f"Bearer {self.token}":
                return 401, {
                    "code": "UnauthorizedRequest",
                    "description": "Missing or wrong bearer token",
                }
            parts = [part for part in path.split("/") if part]
            if self.new_style:
                if parts[:1] != ["actions"]:
                    return 404, {"code": "NotFound", "description": f"No route {path}"}
                if method == "POST" and len(parts) == 1:
                    return self._run(body)
                if method == "GET" and len(parts) == 2:
                    return self._status(parts[1])
                if method == "POST" and len(parts) == 3 and parts[2] == "cancel":
                    return self._cancel(parts[1])
                if method == "DELETE" and len(parts) == 2:
                    return self._release(parts[1])
            else:
                if method == "POST" and parts == ["run"]:
                    return self._run(body)
                if len(parts) == 2 and (method, parts[1]) == ("GET", "status"):
                    return self._status(parts[0])
                if len(parts) == 2 and (method, parts[1]) == ("POST", "cancel"):
                    return self._cancel(parts[0])
                if len(parts) == 2 and (method, parts[1]) == ("POST", "release"):
                    return self._release(parts[0])
            return 404, {"code": "NotFound", "description": f"No route {method} {path}"}

    def _run(self, request: t.Any) -> tuple[int, t.Any]:
        if not isinstance(request, dict) or not isinstance(request.get("request_id"), str):
            return 400, {"code": "BadActionRequest", "description": "request_id is required"}
        if not isinstance(request.get("body"), dict):
            return 422, {
                "code": "RequestValidationError",
                "description": "Field '$.body' must be an object",
            }
        seen = self.requests_by_id.get(request["request_id"])
        if seen is not None:
            if seen[0] not in self.actions:  # e.g. a run request that stalled past the release
                return 409, {
                    "code": "ActionConflict",
                    "description": f"Request id already used by action {seen[0]}, released",
                }
            if seen[1] != request["body"]:
                return 409, {
                    "code": "ActionConflict",
                    "description": "Request id reused with a different body",
                }
            return 200, self.actions[seen[0]]
        body = request["body"]
        action_id = uuid.uuid4().hex
        self.runs_started += 1
        self.requests_by_id[request["request_id"]] = (action_id, body)
        self.polls_left[action_id] = int(body.get("polls", 0))
        self.actions[action_id] = {
            "action_id": action_id,
            "status": "ACTIVE",
            "display_status": "ACTIVE",
            "details": {},
            "creator_id": "urn:globus:auth:identity:11111111-1111-1111-1111-111111111111",
            "label": request.get("label"),
            "monitor_by": request.get("monitor_by", []),
            "manage_by": request.get("manage_by", []),
            "start_time": _now(),
            "completion_time": None,
            "release_after": "P30D",
        }
        if self.polls_left[action_id] == 0:
            self._advance(action_id)
        return 202, self.actions[action_id]

    def _advance(self, action_id: str) -> None:
        action = self.actions[action_id]
        if action["status"] != "ACTIVE":
            return
        if self.polls_left[action_id] > 0:
            self.polls_left[action_id] -= 1
            return
        body = self._body_of(action_id)
        failed = bool(body.get("fail"))
        action.update(
            status="FAILED" if failed else "SUCCEEDED",
            display_status="FAILED" if failed else "SUCCEEDED",
            completion_time=_now(),
            details={"error": "asked to fail"} if failed else {"echo": body},
        )

    def _body_of(self, action_id: str) -> dict:
        for known_id, body in self.requests_by_id.values():
            if known_id == action_id:
                return body
        return {}

    def _status(self, action_id: str) -> tuple[int, t.Any]:
        if action_id not in self.actions:
            return 404, {"code": "ActionNotFound", "description": f"No action {action_id}"}
        self._advance(action_id)
        return 200, self.actions[action_id]

    def _cancel(self, action_id: str) -> tuple[int, t.Any]:
        action = self.actions.get(action_id)
        if action is None:
            return 404, {"code": "ActionNotFound", "description": f"No action {action_id}"}
        if action["status"] == "ACTIVE":
            action.update(
                status="FAILED",
                display_status="Canceled",
                completion_time=_now(),
                details={"canceled": True},
            )
        return 200, action

    def _release(self, action_id: str) -> tuple[int, t.Any]:
        action = self.actions.get(action_id)
        if action is None:
            return 404, {"code": "ActionNotFound", "description": f"No action {action_id}"}
        if action["status"] not in ("SUCCEEDED", "FAILED"):
            return 409, {"code": "ActionConflict", "description": "Action is not complete"}
        return 200, self.actions.pop(action_id)

    def wait_for(self, method: str, suffix: str, timeout: float = 10) -> bool:
        """Whether a ``method`` request to a path ending in ``suffix`` arrives within
        ``timeout`` seconds (the engine cancels and releases actions in the background)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if any(m == method and p.endswith(suffix) for m, p, _ in self.log):
                    return True
            time.sleep(0.01)
        return False

    def next_fault(self, method: str, path: str) -> tuple[int, str, str] | float | None:
        with self._lock:
            for (fault_method, suffix), queue in self.faults.items():
                if fault_method == method and path.endswith(suffix) and queue:
                    return queue.pop(0)
        return None

    # -- HTTP plumbing ----------------------------------------------------------------------

    def _handler_class(self) -> type:
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                canned = server.canned.get((self.command, self.path))
                fault = server.next_fault(self.command, self.path)
                if isinstance(fault, (int, float)):
                    time.sleep(fault)
                elif fault is not None:
                    canned = fault
                if canned is not None:
                    code, content_type, text = canned
                    with server._lock:
                        server.log.append(
                            (self.command, self.path, self.headers.get("Authorization"))
                        )
                    self._answer(code, content_type, text.encode())
                    return
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    self._answer(
                        400,
                        "application/json",
                        b'{"code": "BadActionRequest", "description": "Invalid JSON"}',
                    )
                    return
                code, answer = server.handle(
                    self.command, self.path, body, self.headers.get("Authorization")
                )
                self._answer(code, "application/json", json.dumps(answer).encode())

            def _answer(self, code: int, content_type: str, data: bytes) -> None:
                self.send_response(code)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                try:
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting (a timeout test): nothing to answer

            do_GET = do_POST = do_DELETE = _serve

            def log_message(self, *args: t.Any) -> None:  # keep test output clean
                pass

        return Handler
