"""Which provider answers an Action state: by ``ActionUrl`` or ``Handler``.

Order: providers the user registered for a URL; then the built-in local ones (Compute,
Transfer, legacy Transfer, Search ingest/delete on a local index, hello_world,
expression_eval; the retired ``actions.automate.globus.org`` host's URLs as their
``actions.globus.org`` equivalents, see :mod:`~gladier.engine.providers.legacy`); anything else is an HTTP Action
Provider, except Transfer routes the local engine does not implement, which are refused
by name (no local files could be behind them). URLs match without their trailing slash. ``Handler`` may be
``{"Type": "ActionProvider", "Url": ...}`` or a string handle
``urn:globus:flows:handle:globus:<service>.<route>`` (``transfer.ls``, ``compute.v3``...).

Built-in providers are created on first use, so a flow that only transfers files never
starts a process pool. Transfer routes answer on the collection mapping of the run asking
(one local Transfer service per mapping), so a run continued by another process keeps its
directories.
"""

from __future__ import annotations

import concurrent.futures as cf
import json
import threading
import typing as t

from gladier.engine.providers.actions import ResultStore
from gladier.engine.providers.collection_roots import LocalCollections, collections_from_env
from gladier.engine.providers.functions import FunctionRegistry
from gladier.engine.providers.legacy import current_url
from gladier.exc import DeveloperException, EngineError

if t.TYPE_CHECKING:
    from gladier.engine.providers.base import ActionProvider
    from gladier.engine.providers.compute import ComputeProvider
    from gladier.engine.providers.search import LocalSearchIndex
    from gladier.engine.providers.transfer import LocalTransferService
    from gladier.engine.store import Sealer

COMPUTE_URL = "https://compute.actions.globus.org"
COMPUTE_URLS = frozenset({COMPUTE_URL, COMPUTE_URL + "/v3", COMPUTE_URL + "/fxap"})
TRANSFER_URL = "https://transfer.actions.globus.org/"
LEGACY_TRANSFER_URL = "https://actions.globus.org/transfer/"
HELLO_WORLD_URL = "https://actions.globus.org/hello_world"
EXPRESSION_EVAL_URL = "https://actions.globus.org/expression_eval"
SEARCH_URLS = {"https://actions.globus.org/search/ingest": "ingest",
               "https://actions.globus.org/search/delete": "delete"}
HANDLE_PREFIX = "urn:globus:flows:handle:globus:"


def normalize_url(url: str) -> str:
    return url.strip().rstrip("/")


def handle_to_url(handle: str) -> str | None:
    """The ActionUrl a Globus string handle stands for (None if it is not one)."""
    if not handle.startswith(HANDLE_PREFIX):
        return None
    service, _, route = handle[len(HANDLE_PREFIX) :].partition(".")
    if not service:
        return None
    if service == "transfer":
        return TRANSFER_URL + route if route else None
    if service == "compute":
        return COMPUTE_URL if route in ("", "v2") else f"{COMPUTE_URL}/{route}"
    return f"https://actions.globus.org/{service}" + (
        f"/{route.replace('.', '/')}" if route else ""
    )


def action_url(action_state: dict, state_name: str) -> str:
    """The URL an Action state calls (its ActionUrl, or its Handler's), normalized;
    EngineError naming the state when it has neither or they cannot be used."""
    if not isinstance(action_state, dict):
        raise EngineError(f"State '{state_name}' is not an object")
    url = action_state.get("ActionUrl")
    if url is not None:
        if not isinstance(url, str) or not url.strip():
            raise EngineError(
                f"State '{state_name}': ActionUrl must be a URL string, not {url!r}"
            )
        return normalize_url(url)
    handler = action_state.get("Handler")
    if handler is None:
        raise EngineError(f"State '{state_name}' has neither 'ActionUrl' nor 'Handler'")
    if isinstance(handler, str):
        found = handle_to_url(handler.strip())
        if found is None:
            raise EngineError(
                f"State '{state_name}': Handler '{handler}' is not a known handle "
                f"(expected '{HANDLE_PREFIX}<service>.<route>', e.g. '{HANDLE_PREFIX}transfer.ls')"
            )
        return normalize_url(found)
    if isinstance(handler, dict):
        kind, url = handler.get("Type", "ActionProvider"), handler.get("Url")
        if kind != "ActionProvider":
            raise EngineError(
                f"State '{state_name}': Handler Type '{kind}' is not supported (only 'ActionProvider')"
            )
        if not isinstance(url, str) or not url.strip():
            raise EngineError(f"State '{state_name}': Handler has no 'Url'")
        return normalize_url(url)
    raise EngineError(
        f"State '{state_name}': Handler must be an object or a handle string, not {handler!r}"
    )


class ProviderRegistry:
    """Finds (and owns) the action providers of one engine.

    ``collections``: collection id -> root directory (added to ``GLADIER_LOCAL_COLLECTIONS``),
    for the runs that bring no mapping of their own;
    ``tokens``: ActionUrl prefix -> bearer token (added to ``GLADIER_LOCAL_TOKENS``);
    ``executors``: compute endpoint id -> ``concurrent.futures.Executor``;
    ``store_path``: SQLite file where local providers keep finished actions, so a resumed
    run does not repeat them, sealed by ``sealer`` (the engine store's);
    ``strict_endpoints``: refuse compute endpoints that have no executor instead of running
    them in the local process pool; ``time_scale``: the
    engine's, for providers that wait (default ``GLADIER_TIME_SCALE``).
    """

    def __init__(
        self,
        *,
        collections: t.Mapping[str, t.Any] | None = None,
        tokens: t.Mapping[str, str] | None = None,
        executors: t.Mapping[str, cf.Executor] | None = None,
        functions: FunctionRegistry | None = None,
        store_path: str | None = None,
        sealer: Sealer | None = None,
        strict_endpoints: bool = False,
        time_scale: float | None = None,
    ):
        from gladier.engine.providers.http import tokens_from_env

        self.collections = LocalCollections({**collections_from_env(), **dict(collections or {})})
        self.tokens = {**tokens_from_env(), **dict(tokens or {})}
        self.executors = dict(executors or {})
        self.functions = functions if functions is not None else FunctionRegistry()
        self.strict_endpoints = strict_endpoints
        self.time_scale = time_scale
        self.store = ResultStore(store_path, sealer=sealer) if store_path else None
        self._lock = threading.RLock()
        self._registered: dict[str, t.Any] = {}
        self._local: dict[str, t.Any] = {}
        self._compute: ComputeProvider | None = None
        self._transfers: dict[str, LocalTransferService] = {}
        self._search: LocalSearchIndex | None = None

    def register(self, url: str, provider: t.Any) -> None:
        """Answer ``url`` with ``provider``: an object with run/status/cancel/release, or a
        callable ``func(body) -> details`` (a synchronous provider)."""
        if not isinstance(url, str) or not url.strip():
            raise DeveloperException(
                f"An action provider is registered for a URL string, not {url!r}"
            )
        if not all(hasattr(provider, name) for name in ("run", "status", "cancel", "release")):
            if not callable(provider):
                raise DeveloperException(
                    f"Cannot register {provider!r} for {url}: give an object with run/status/cancel/"
                    "release, or a callable taking the action body and returning its details"
                )
            from gladier.engine.providers.python import CallableProvider

            provider = CallableProvider(provider, name=normalize_url(url), store=self.store)
        with self._lock:
            self._registered[normalize_url(url)] = provider

    def resolve(self, action_state: dict, *, state_name: str,
                collections: t.Mapping[str, t.Any] | None = None) -> tuple[str, ActionProvider]:
        """``(url, provider)`` for an Action state (EngineError naming the state if neither
        its ActionUrl nor its Handler can be used); ``collections``: see provider_for."""
        url = action_url(action_state, state_name)
        if not url.startswith(("https://", "http://")):
            raise EngineError(f"State '{state_name}': ActionUrl '{url}' is not an http(s) URL")
        return url, self.provider_for(url, state_name=state_name, collections=collections)

    def provider_for(self, url: str, *, state_name: str | None = None,
                     collections: t.Mapping[str, t.Any] | None = None) -> ActionProvider:
        """The provider answering ``url``. Transfer routes work on ``collections`` (the
        mapping of the run asking), or on the registry's own when it is None."""
        url = normalize_url(url)
        with self._lock:
            provider = self._registered.get(url)
            url = current_url(url)  # a retired Automate-host URL runs as its current one
            provider = provider or self._transfer_route(
                url, state_name, collections) or self._local.get(url)
            if provider is None:
                provider = self._local[url] = self._create(url, state_name)
            return provider

    @property
    def compute(self) -> ComputeProvider:
        """The local Compute provider (created on first use)."""
        with self._lock:
            if self._compute is None:
                from gladier.engine.providers.compute import ComputeProvider

                self._compute = ComputeProvider(
                    functions=self.functions,
                    executors=self.executors,
                    store=self.store,
                    strict=self.strict_endpoints,
                )
            return self._compute

    @property
    def transfer(self) -> LocalTransferService:
        """The local Transfer service on the registry's own collections."""
        return self.transfer_for(None)

    def transfer_for(self, collections: t.Mapping[str, t.Any] | None) -> LocalTransferService:
        """The local Transfer service behind the Transfer routes on ``collections`` (None:
        the registry's own), one per distinct mapping, created on first use."""
        from gladier.engine.providers.transfer import LocalTransferService

        mapped = self.collections if collections is None else LocalCollections(collections)
        key = json.dumps(mapped.mapping(), sort_keys=True)
        with self._lock:
            if key not in self._transfers:
                self._transfers[key] = LocalTransferService(mapped, store=self.store)
            return self._transfers[key]

    @property
    def search(self) -> LocalSearchIndex:
        """The local Search index behind the Search routes (in the engine's database)."""
        with self._lock:
            if self._search is None:
                from gladier.engine.providers.search import LocalSearchIndex

                self._search = LocalSearchIndex(self.store.path if self.store else None)
            return self._search

    def interrupt(self) -> None:
        """The engine was interrupted: stop the local compute tasks running now."""
        with self._lock:
            compute = self._compute
        if compute is not None:
            compute.interrupt()

    def close(self) -> None:
        """Stop what the registry started (process pool, worker threads, HTTP sessions)."""
        with self._lock:
            local, self._local = list(self._local.values()), {}
            compute, self._compute = self._compute, None
            transfers, self._transfers = list(self._transfers.values()), {}
            search, self._search = self._search, None
        for owned in [compute, *transfers, search, *local]:
            close = getattr(owned, "close", None)
            if close is not None:
                close()
        if self.store is not None:
            self.store.close()

    # -- internals --------------------------------------------------------------------------

    def _transfer_route(self, url: str, state_name: str | None,
                        collections: t.Mapping[str, t.Any] | None) -> t.Any:
        """The local provider of a Transfer URL on ``collections``; None for other URLs."""
        for base, legacy in ((TRANSFER_URL, False), (LEGACY_TRANSFER_URL, True)):
            if url.startswith(base):
                try:
                    return self.transfer_for(collections).provider(url[len(base) :],
                                                                   legacy=legacy)
                except KeyError:
                    where = f"State '{state_name}': " if state_name else ""
                    raise EngineError(
                        f"{where}the local engine has no Transfer provider for {url}; register one with "
                        "register_action_provider(url, provider)"
                    ) from None
        return None

    def _create(self, url: str, state_name: str | None) -> t.Any:
        if url in COMPUTE_URLS:
            return self.compute
        if url in SEARCH_URLS:
            from gladier.engine.providers.search import SearchActionProvider

            return SearchActionProvider(self.search, SEARCH_URLS[url], store=self.store)
        if url == HELLO_WORLD_URL:
            from gladier.engine.providers.builtin import HelloWorldProvider

            return HelloWorldProvider(store=self.store, time_scale=self.time_scale)
        if url == EXPRESSION_EVAL_URL:
            from gladier.engine.providers.builtin import ExpressionEvalProvider

            return ExpressionEvalProvider(store=self.store)
        from gladier.engine.providers.http import HttpActionProvider, token_for

        return HttpActionProvider(url, token=token_for(url, self.tokens))
