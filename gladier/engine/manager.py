"""LocalFlowsManager: the client's flows manager when ``engine="local"`` (the default).

It offers the same verbs as the Globus ``FlowsManager`` and returns the same shapes, but
deploys and runs flows on the embedded :class:`~gladier.engine.engine.LocalEngine`: no
login, no config-file writes (a flow's id is derived from its definition), and compute
functions are registered with the engine's local function registry.
"""

from __future__ import annotations

import logging
import typing as t

from gladier.exc import ConfigException, EngineError, UnconfiguredResource
from gladier.managers.base import (BaseFlowsManager, describe_run,
                                   shorten_label)

log = logging.getLogger(__name__)


class LocalFlowsManager(BaseFlowsManager):
    """Runs the client's flow on a LocalEngine: ``engine=`` one, else one opened on first
    use on ``db`` with ``collections`` (collection id -> directory, added to
    ``GLADIER_LOCAL_COLLECTIONS``) and ``executors`` (compute endpoint id -> Executor).

    A run never acts for a Globus resource the engine was not given: before it starts,
    every compute endpoint and collection its input names must be configured locally,
    else :class:`~gladier.exc.UnconfiguredResource` names each one.
    """

    def __init__(self, *args: t.Any, engine: t.Any = None, db: str | None = None,
                 collections: dict | None = None, executors: dict | None = None,
                 **kwargs: t.Any) -> None:
        super().__init__(*args, **kwargs)
        if engine is not None and (db or collections or executors):
            raise ConfigException(
                "LocalFlowsManager takes either engine= or the options to open one "
                "(db=, collections=, executors=), not both: give them to the LocalEngine")
        self._engine = engine
        self._collections = collections
        self._executors = executors
        self._opened_here = False
        self._db = db
        self._synced: tuple[str, str | None] | None = None  # (flow id, title) last created

    @property
    def engine(self) -> t.Any:
        """The LocalEngine (opened on first use, on ``db`` or the default database)."""
        if self._engine is None or (self._opened_here and self._engine.closed):
            from gladier.engine.engine import LocalEngine

            if self._engine is not None:  # stopped by Ctrl-C: the notebook goes on
                self._db = self._engine.db_path
            self._engine = LocalEngine(self._db, collections=self._collections,
                                       executors=self._executors)
            self._opened_here = True
        return self._engine

    def local_resources(self) -> dict[str, set[str]]:
        """``{"endpoints": ..., "collections": ...}``: the compute endpoint ids and
        collection ids this manager's engine serves locally (read without opening it)."""
        from gladier.engine.providers.collection_roots import collections_from_env
        from gladier.engine.providers.functions import LOCAL_ENDPOINT_ID, endpoints_from_env

        if self._engine is None:
            collections = {**collections_from_env(), **(self._collections or {})}
            executors = self._executors or {}
        else:
            collections = self._engine.providers.collections.mapping()
            executors = self._engine.providers.executors
        return {"endpoints": {LOCAL_ENDPOINT_ID, *endpoints_from_env(), *executors},
                "collections": {str(c) for c in collections}}

    def unconfigured_resources(self, definition: dict, flow_input: dict) -> list:
        """The compute endpoints and collections ``flow_input`` would have ``definition``
        act for that this manager's engine was not given."""
        from gladier.engine.resources import named_resources, unconfigured

        return unconfigured(named_resources(definition, flow_input),
                            **self.local_resources())

    def check_resources(self, definition: dict, flow_input: dict) -> None:
        """Raise :class:`UnconfiguredResource` naming every Globus resource the run would
        act for that is not configured locally, and both ways out."""
        from gladier.engine.providers.functions import LOCAL_ENDPOINT_ID
        from gladier.engine.resources import COLLECTION, describe

        missing = self.unconfigured_resources(definition, flow_input)
        if not missing:
            return
        ways = []
        collections = sorted({r.id for r in missing if r.kind == COLLECTION})
        if collections:
            example = ", ".join(f'"{c}": "/path/to/its/files"' for c in collections)
            ways.append(f"map each collection to a local directory (GLADIER_LOCAL_COLLECTIONS="
                        f"'{{{example}}}', or LocalFlowsManager(collections={{...}}))")
        if len(collections) < len(missing):
            ways.append("run each compute endpoint in the local process pool "
                        "(GLADIER_LOCAL_ENDPOINTS='ENDPOINT_ID ...'), give it an executor "
                        "(LocalFlowsManager(executors={endpoint_id: "
                        "concurrent.futures.ProcessPoolExecutor()})) or use the "
                        f"local endpoint {LOCAL_ENDPOINT_ID}")
        raise UnconfiguredResource(
            "This run would act for Globus resources the embedded engine was not given: "
            f"{describe(missing)}. Nothing was started. Either configure them locally: "
            f"{'; '.join(ways)}; or run on Globus: engine=\"globus\" (or "
            "GLADIER_ENGINE=globus).", [r.as_dict() for r in missing])

    def get_scopes(self) -> list[str]:
        """The embedded engine needs no login."""
        return []

    def get_flow_id(self) -> str | None:
        """The flow's id on the engine (created on first use; same definition, same id)."""
        if self.flow_definition is None:
            return self.flow_id
        return self.sync_flow()

    def sync_flow(self) -> str:
        """Create the flow on the engine (validating it) and return its id."""
        if self.flow_definition is None:
            if self.flow_id is None:
                raise EngineError("No flow definition to deploy on the local engine")
            self.engine.get_flow(self.flow_id)
            return self.flow_id
        from gladier.engine.engine import flow_id_for

        synced = (flow_id_for(self.flow_definition, self.flow_schema), self.flow_title)
        if synced != self._synced:
            self.engine.create_flow(self.flow_definition, title=self.flow_title,
                                    input_schema=self.flow_schema, **self.flow_kwargs)
            self._synced = synced
        self.flow_id = synced[0]
        return self.flow_id

    def register_flow(self) -> str:
        return self.sync_flow()

    def run_flow(self, flow_input: dict, *, label: str | None = None,
                 tags: list[str] | None = None, **run_kwargs: t.Any) -> dict:
        """Start a run on the engine; return its run document."""
        options = {**self.run_kwargs, **run_kwargs}
        label = options.pop("label", None) if label is None else label
        tags = options.pop("tags", None) if tags is None else tags
        options.pop("label", None)
        options.pop("tags", None)
        label = shorten_label(label) if label is not None else None  # refuses a bad label first
        flow_id = self.sync_flow()
        definition = self.flow_definition or self.engine.get_flow(flow_id)["definition"]
        self.check_resources(definition, flow_input)
        return self.engine.run_flow(flow_id, flow_input, label=label, tags=tags, **options)

    def get_status(self, run_id: str) -> dict:
        return self.engine.get_run(run_id)

    def get_run_logs(self, run_id: str) -> list[dict]:
        return self.engine.get_run_logs(run_id)["entries"]

    def cancel_run(self, run_id: str) -> dict:
        return self.engine.cancel_run(run_id)

    def resume_run(self, run_id: str) -> dict:
        """Continue the run on this engine from its last journaled step, unless a live
        process drives it; returns its run document (follow it with ``progress``)."""
        return self.engine.resume_run(run_id)

    def progress(self, run_id: str, callback: t.Callable[[dict], None] | None = None,
                 delay: float = 2) -> dict:
        """Follow a run live, as each log entry is journaled; return the last document.

        Without ``callback`` the display suits where the program runs (terminal, Jupyter or
        plain lines); a ``callback`` gets the run document after each change, as on Globus.
        Ends on SUCCEEDED/FAILED/ENDED; on INACTIVE it returns at once and logs the reason
        (a person must act). ``delay`` is how often the store is re-read when no event
        arrives (a run driven by another process).
        """
        from gladier.ui.progress import follow

        run = follow(self.engine, run_id, renderer=callback, recheck=max(delay, 0.05))
        if run["status"] == "INACTIVE":
            log.warning("Run %s needs attention, stopped following it: %s",
                        run_id, describe_run(run))
        return run

    def get_details(self, run_id: str, state_name: str) -> t.Any:
        """What ``state_name`` produced: its result in the final output, or, while the run
        is still going, the output of the state's latest completion."""
        run = self.get_status(run_id)
        output = (run.get("details") or {}).get("output") or {}
        if state_name not in output:
            for entry in reversed(self.get_run_logs(run_id)):
                details = entry.get("details") or {}
                if entry["code"].endswith("Completed") and \
                        details.get("state_name") == state_name:
                    return details.get("output")
        return super().get_details(run_id, state_name)

    def register_functions(self, tools: t.Iterable[t.Any]) -> dict:
        """Register every compute function of ``tools`` locally.

        Returns ``{"<fn>_function_id": id}``, the input keys Gladier flows read.
        """
        ids = {}
        for tool in tools:
            functions = list(getattr(tool, "compute_functions", None) or [])
            functions += list(getattr(tool, "funcx_functions", None) or [])
            for func in functions:
                ids[f"{func.__name__}_function_id"] = self.engine.register_function(func)
        return ids

    def default_input(self, definition: t.Any = None, schema: t.Any = None) -> dict:
        """Input the client adds by default: the local compute endpoint as
        ``compute_endpoint``, where ``definition`` reads ``$.input.compute_endpoint`` and
        the input ``schema`` allows that key."""
        from gladier.engine.providers.functions import LOCAL_ENDPOINT_ID

        if not _reads(definition, "$.input.compute_endpoint") or not _allows(
                schema, "compute_endpoint"):
            return {}
        return {"compute_endpoint": LOCAL_ENDPOINT_ID}


def _reads(value: t.Any, path: str) -> bool:
    """Whether any string in ``value`` references ``path`` (or something under it)."""
    if isinstance(value, str):
        return any(value == path or value.startswith(path + tail) for tail in ".[")
    if isinstance(value, dict):
        return any(_reads(item, path) for item in value.values())
    if isinstance(value, list):
        return any(_reads(item, path) for item in value)
    return False


def _allows(schema: t.Any, key: str) -> bool:
    """Whether an input schema lets ``input`` hold ``key``: no schema, or one that lists
    the key or does not forbid extra properties."""
    if not isinstance(schema, dict) or not schema:
        return True
    inner = (schema.get("properties") or {}).get("input")
    if not isinstance(inner, dict):
        return schema.get("additionalProperties", True) is not False or "input" in (
            schema.get("properties") or {})
    return key in (inner.get("properties") or {}) or inner.get(
        "additionalProperties", True) is not False
