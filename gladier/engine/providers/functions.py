"""Compute functions known to the embedded engine, by function id.

On Globus, a function is registered with the Compute service and flows name it by the id
the service gave. Locally a function is registered here instead; its default id is derived
from a checksum of its source, so the same code gets the same id in every process and the
same ``<fn>_function_id`` input keys work on both engines.
"""

from __future__ import annotations

import hashlib
import inspect
import os
import pickle
import textwrap
import threading
import typing as t
import uuid

from gladier.exc import ActionProviderError, DeveloperException

#: The compute endpoint id the local process pool answers to.
LOCAL_ENDPOINT_ID = "4b116d3c-1703-4f8f-9f6f-39921e5864df"
#: Other compute endpoint ids (comma- or space-separated) the user lets the pool serve.
LOCAL_ENDPOINTS_ENV = "GLADIER_LOCAL_ENDPOINTS"


def endpoints_from_env() -> set[str]:
    """The endpoint ids in ``GLADIER_LOCAL_ENDPOINTS``: a script whose input names real
    compute endpoints runs on the embedded engine unchanged, as collections mapped by
    ``GLADIER_LOCAL_COLLECTIONS`` do."""
    return set(os.environ.get(LOCAL_ENDPOINTS_ENV, "").replace(",", " ").split())

_FUNCTION_NAMESPACE = uuid.UUID("0c7a31e2-58f4-4e4b-b1a4-8d8f3f6a2c57")


def function_checksum(func: t.Callable) -> str:
    """SHA-256 of the function's source (its module and name when the source is unavailable)."""
    try:
        text = textwrap.dedent(inspect.getsource(func))
    except (OSError, TypeError):
        text = f"{getattr(func, '__module__', '')}.{getattr(func, '__qualname__', repr(func))}"
    return hashlib.sha256(text.encode()).hexdigest()


def default_function_id(func: t.Callable) -> str:
    """The id a function gets when none is given: a uuid5 of its source checksum."""
    return str(uuid.uuid5(_FUNCTION_NAMESPACE, function_checksum(func)))


#: Functions state objects embedded in flow definitions by id (``Compute(function_to_call=
#: f)``), which every engine of this process can then call.
_EMBEDDED: dict[str, t.Callable] = {}


def embed_function(func: t.Callable) -> str:
    """The id under which ``func`` is known to every local engine of this process."""
    function_id = default_function_id(func)
    _EMBEDDED[function_id] = func
    return function_id


#: Functions a worker process has already loaded, by payload digest.
_LOADED: dict[str, t.Callable] = {}


class _ByValue:
    """A function sent with its code (dill), for what plain pickle cannot send by name:
    lambdas, closures, and functions of ``__main__`` (scripts and notebooks), which a
    worker started with "spawn" or "forkserver" could not import."""

    def __init__(self, func: t.Callable):
        import dill  # installed with globus-compute-sdk

        self.payload = dill.dumps(func, recurse=True)
        self.digest = hashlib.sha256(self.payload).hexdigest()
        self.__name__ = getattr(func, "__name__", "function")
        _LOADED[self.digest] = func

    def __getstate__(self) -> dict:
        return {"payload": self.payload, "digest": self.digest, "__name__": self.__name__}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)

    def __call__(self, *args: t.Any, **kwargs: t.Any) -> t.Any:
        func = _LOADED.get(self.digest)
        if func is None:
            import dill

            func = _LOADED[self.digest] = dill.loads(self.payload)
        return func(*args, **kwargs)


def _portable(func: t.Callable) -> t.Callable:
    """The form of ``func`` a process pool can send to its workers."""
    if getattr(func, "__module__", None) != "__main__":
        try:
            pickle.dumps(func)
            return func
        except Exception:
            pass
    try:
        return _ByValue(func)
    except Exception:
        return func  # the task will fail with the pickling error, naming the function


class FunctionRegistry:
    """Function id -> callable, for the local compute provider."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._functions: dict[str, t.Callable] = {}
        self._portable: dict[str, t.Callable] = {}

    def register(self, func: t.Callable, *, function_id: str | None = None) -> str:
        """Make ``func`` callable by id; returns the id (given, or from its source checksum)."""
        if not callable(func):
            raise DeveloperException(
                f"func must be a callable to register as a compute function, not {func!r:.80}"
            )
        function_id = str(function_id) if function_id else default_function_id(func)
        portable = _portable(func)
        with self._lock:
            self._functions[function_id] = func
            self._portable[function_id] = portable
        return function_id

    def _registered_or_embedded(self, function_id: str) -> None:
        if str(function_id) not in self and str(function_id) in _EMBEDDED:
            self.register(_EMBEDDED[str(function_id)], function_id=str(function_id))

    def get(self, function_id: str) -> t.Callable:
        """The function registered under ``function_id`` (or embedded by a state object)."""
        self._registered_or_embedded(function_id)
        with self._lock:
            func = self._functions.get(str(function_id))
        if func is None:
            raise self._unknown(function_id)
        return func

    def get_portable(self, function_id: str) -> t.Callable:
        """The function in a form that can be sent to another process."""
        self._registered_or_embedded(function_id)
        with self._lock:
            func = self._portable.get(str(function_id))
        if func is None:
            raise self._unknown(function_id)
        return func

    def __contains__(self, function_id: object) -> bool:
        with self._lock:
            return str(function_id) in self._functions

    def _unknown(self, function_id: str) -> ActionProviderError:
        message = (
            f"Compute function '{function_id}' is not registered locally; register it with "
            "LocalEngine.register_function(func, function_id=...) before running the flow"
        )
        return ActionProviderError(
            message, http_status=400, body={"code": "FunctionNotFound", "description": message}
        )
