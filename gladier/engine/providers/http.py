"""Any other ActionUrl: the Action Provider Interface over HTTP.

``POST {url}/run`` with the ActionRequest, ``GET {url}/{action_id}/status``,
``POST {url}/{action_id}/cancel`` and ``POST {url}/{action_id}/release``. A provider that
answers ``/run`` with 404 or 405 is tried once at the new-style paths (``POST /actions``,
``GET /actions/{id}``, ``POST /actions/{id}/cancel``, ``DELETE /actions/{id}``).

Bearer tokens come from a map of ActionUrl prefix -> token (``tokens=`` or the JSON object
in ``GLADIER_LOCAL_TOKENS``); the longest prefix that ends at a path boundary wins, so a
token for ``https://ap.example.org`` is never sent to ``https://ap.example.org.evil.net``.
Tokens are never logged or put in error messages.

Errors: a refused request (non-2xx) raises :class:`~gladier.exc.ActionProviderError` with
the HTTP status and the provider's error body; an unreachable provider, a timeout or an
HTTP 5xx raises :class:`~gladier.exc.ActionProviderUnavailable` (asking later may work);
an answer that is not an ActionStatus (not JSON, no ``action_id``, an unknown ``status``)
raises ActionProviderError saying what is wrong with it.
"""

from __future__ import annotations

import json
import logging
import os
import typing as t
import urllib.parse

from gladier.engine.providers.base import ACTIVE, FAILED, INACTIVE, SUCCEEDED
from gladier.engine.jsondata import load_json
from gladier.engine.redaction import redact
from gladier.exc import (ActionProviderError, ActionProviderUnavailable, ConfigException,
                         NotJSONData)

if t.TYPE_CHECKING:
    import requests

log = logging.getLogger(__name__)

#: Environment variable holding a JSON object: ActionUrl prefix -> bearer token.
TOKENS_ENV = "GLADIER_LOCAL_TOKENS"
#: Seconds to wait for a connection and for an answer.
DEFAULT_TIMEOUT = (10.0, 60.0)

_STATUSES = frozenset({ACTIVE, INACTIVE, SUCCEEDED, FAILED})


def tokens_from_env(environ: t.Mapping[str, str] | None = None) -> dict[str, str]:
    """The token map in ``GLADIER_LOCAL_TOKENS`` (empty when unset)."""
    raw = (environ if environ is not None else os.environ).get(TOKENS_ENV, "").strip()
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except ValueError:
        # never echo the variable: it holds tokens
        raise ConfigException(
            f"{TOKENS_ENV} is not valid JSON (expected an object: ActionUrl prefix -> token)"
        ) from None
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise ConfigException(
            f"{TOKENS_ENV} must be a JSON object of ActionUrl prefix -> token string"
        )
    return value


def token_for(url: str, tokens: t.Mapping[str, str]) -> str | None:
    """The token of the longest prefix of ``url`` (matching whole path segments)."""
    url = url.rstrip("/")
    best: tuple[int, str] | None = None
    for prefix, token in tokens.items():
        prefix = prefix.rstrip("/")
        if prefix and (url == prefix or url.startswith(prefix + "/")):
            if best is None or len(prefix) > best[0]:
                best = (len(prefix), token)
    return best[1] if best else None


def _error_text(body: t.Any) -> str:
    """What an error body says, whole: the run driver redacts private values from it
    before it shortens it (a cut first could leave the start of a secret)."""
    if isinstance(body, dict):
        for key in ("description", "message", "detail", "error"):
            if body.get(key):
                return str(body[key])
    return str(body)


class HttpActionProvider:
    """A client of one Action Provider at ``url``."""

    #: Remote actions rarely finish within a second; the engine's first status poll waits this.
    first_poll_interval = 1.0

    def __init__(
        self,
        url: str,
        *,
        token: str | None = None,
        timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
        session: requests.Session | None = None,
    ):
        self.url = url.rstrip("/")
        self.timeout = timeout
        self._token = token
        import requests  # on first use: local-only flows never need it

        self._owns_session = session is None
        self._session = session or requests.Session()
        self._new_style = False

    def __repr__(self) -> str:
        return f"HttpActionProvider({self.url!r})"

    # -- the provider protocol ------------------------------------------------------------

    def run(self, request: dict) -> dict:
        if not self._new_style:
            response = self._send("POST", "/run", "run", json=request)
            if response.status_code not in (404, 405):
                return self._status_from(response, "run")
        response = self._send("POST", "/actions", "run", json=request)
        if response.ok:
            self._new_style = True
        return self._status_from(response, "run")

    def status(self, action_id: str) -> dict:
        if self._new_style:
            return self._call("GET", f"/actions/{self._quote(action_id)}", "status")
        return self._call("GET", f"/{self._quote(action_id)}/status", "status")

    def cancel(self, action_id: str) -> dict:
        if self._new_style:
            return self._call("POST", f"/actions/{self._quote(action_id)}/cancel", "cancel")
        return self._call("POST", f"/{self._quote(action_id)}/cancel", "cancel")

    def release(self, action_id: str) -> dict:
        if self._new_style:
            return self._call("DELETE", f"/actions/{self._quote(action_id)}", "release")
        return self._call("POST", f"/{self._quote(action_id)}/release", "release")

    def close(self) -> None:
        if self._owns_session:
            self._session.close()

    # -- HTTP -----------------------------------------------------------------------------

    @staticmethod
    def _quote(action_id: str) -> str:
        return urllib.parse.quote(str(action_id), safe="")

    def _call(self, method: str, path: str, operation: str) -> dict:
        return self._status_from(self._send(method, path, operation), operation)

    def _send(self, method: str, path: str, operation: str, **kwargs: t.Any) -> requests.Response:
        import requests

        headers = {"Accept": "application/json"}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        try:
            response = self._session.request(
                method, self.url + path, headers=headers, timeout=self.timeout, **kwargs
            )
        except requests.ConnectTimeout:
            raise ActionProviderUnavailable(
                f"Could not connect to action provider {self.url} for {operation} within "
                f"{self._seconds(0):g} s"
            ) from None
        except requests.Timeout:  # connected and sent: the provider may have acted on it
            started = "; the action may have started" if operation == "run" else ""
            raise ActionProviderUnavailable(
                f"Action provider {self.url} did not answer {operation} within "
                f"{self._seconds(1):g} s{started}"
            ) from None
        except requests.RequestException as exc:
            raise ActionProviderUnavailable(
                f"Could not reach action provider {self.url} for {operation}: {type(exc).__name__}"
            ) from None
        log.debug("%s %s%s -> HTTP %s", method, self.url, path, response.status_code)
        return response

    def _seconds(self, which: int) -> float:
        """The connect (0) or read (1) timeout."""
        return self.timeout if isinstance(self.timeout, (int, float)) else self.timeout[which]

    def _status_from(self, response: requests.Response, operation: str) -> dict:
        """The ActionStatus in a response, or the error that explains why there is none.

        The bearer token this client sent is redacted from whatever the provider returns
        (one that echoes its request headers would put it in the run's documents)."""
        try:
            body: t.Any = load_json(response.content, "The answer")
        except ValueError:
            body = None
        except NotJSONData as err:
            raise ActionProviderError(f"Action provider {self.url} answered {operation} "
                                      f"with JSON the engine does not take: {err}",
                                      http_status=response.status_code) from None
        text = response.text
        if self._token:
            body = redact(body, [self._token])
            text = redact(text, [self._token])
        if not response.ok:
            shown = body if body is not None else text
            error = (
                ActionProviderUnavailable if response.status_code >= 500 else ActionProviderError
            )
            raise error(
                f"Action provider {self.url} answered {operation} with HTTP {response.status_code}: "
                f"{_error_text(shown)}",
                http_status=response.status_code,
                body=shown,
            )
        problem = None
        if body is None:
            problem = f"a body that is not JSON: {text!r}"
        elif not isinstance(body, dict):
            problem = f"JSON that is not an object ({type(body).__name__})"
        elif not isinstance(body.get("action_id"), str) or not body["action_id"]:
            problem = "an ActionStatus without 'action_id'"
        elif body.get("status") not in _STATUSES:
            problem = (
                f"an unknown status {body.get('status')!r} (expected one of {sorted(_STATUSES)})"
            )
        if problem:
            raise ActionProviderError(
                f"Action provider {self.url} answered {operation} with {problem}",
                http_status=response.status_code,
                body=body if body is not None else text,
            )
        if body.get("details") is None:
            body["details"] = {}
        return body
