"""What the dashboard's run page shows: steps, failure, graph, log, the web input waited for.

Read from the run document and its log entries the way ``gladier runs show`` and the
pictures read them (:class:`gladier.ui.steps.RunProgress`), so every view tells the same
story: a state that failed is red even when a ``Catch`` let the run go on (it is marked
"continued"). The engine journals log entries with private values already left out; the
page masks what is left under private-looking keys (``_private*``, tokens, passwords) too.
"""

from __future__ import annotations

import threading
import typing as t

from gladier.documents import object_at
from gladier.ui.steps import FAILED, NOT_REACHED, RUNNING, RunProgress, Step

#: Shown instead of a masked value.
MASK = "***"
#: Keys whose values the page never shows (any case; ``_private`` is a prefix).
PRIVATE_KEYS = frozenset({"password", "passwd", "secret", "token", "access_token",
                          "refresh_token", "authorization", "client_secret", "api_key",
                          "_tokens"})
#: Most log entries a run page carries (the newest are kept; the API pages through all).
MAX_LOG_ENTRIES = 2000
#: Pictures kept (they cost a Graphviz run each).
_GRAPH_CACHE_SIZE = 256


def mask(value: t.Any) -> t.Any:
    """A copy of JSON ``value`` with the values of private-looking keys replaced."""
    if isinstance(value, dict):
        return {key: MASK if _is_private(key) else mask(item) for key, item in value.items()}
    if isinstance(value, list):
        return [mask(item) for item in value]
    return value


def _is_private(key: t.Any) -> bool:
    name = str(key).lower()
    return name.startswith("_private") or name in PRIVATE_KEYS


def _step_view(step: Step, extra: dict, *, last: bool, run_status: str) -> dict:
    continued = step.outcome == FAILED and (not last or run_status == "SUCCEEDED")
    return {"name": step.name, "type": step.state_type, "outcome": step.outcome,
            "started": step.started.isoformat() if step.started else None,
            "finished": step.finished.isoformat() if step.finished else None,
            "seconds": step.seconds(), "continued": continued,
            "input": mask(extra.get("input")), "output": mask(extra.get("output")),
            "error": mask(extra.get("error"))}


def steps_of(run: dict, entries: list[dict]) -> tuple[list[dict], dict[str, str]]:
    """Each visit of a state (oldest first) and each state's last outcome."""
    progress = RunProgress()
    extras: list[dict] = []
    for entry in entries:
        code = str(entry.get("code", ""))
        details = object_at(entry, "details")
        progress.feed(entry)
        if code.endswith("Started") and isinstance(details.get("state_name"), str):
            extras.append({"input": details.get("input")})
        elif extras and details.get("state_name") == progress.steps[-1].name:
            if code.endswith("Completed"):
                extras[-1]["output"] = details.get("output")
            elif "error" in details:
                extras[-1]["error"] = details["error"]
    progress.feed_run(run, from_details=False)
    count = len(progress.steps)
    views = [_step_view(step, extra, last=index == count - 1, run_status=run["status"])
             for index, (step, extra) in enumerate(zip(progress.steps, extras))]
    return views, {step.name: step.outcome for step in progress.steps}


def failure_of(run: dict) -> dict | None:
    """The run's failure, up front: what ended it, in which state, and why."""
    if run["status"] not in ("FAILED", "ENDED"):
        return None
    details = object_at(run, "details")
    inner = object_at(details, "details")
    return mask({"code": details.get("code"), "description": details.get("description"),
                 "state_name": inner.get("state_name"),
                 "error": inner.get("exception") or inner.get("error"),
                 "cause": inner.get("cause")})


class Pictures:
    """SVG pictures of flows coloured by state outcomes, drawn by Graphviz, kept a while
    (a live page asks again every second or so)."""

    def __init__(self) -> None:
        self._cache: dict[tuple, str | None] = {}
        self._lock = threading.Lock()

    def svg(self, key: str, definition: dict, statuses: t.Mapping[str, str]) -> str | None:
        """The picture, or None when Graphviz's ``dot`` is not installed."""
        from gladier.exc import GraphvizNotFound
        from gladier.ui.graph import to_svg

        cache_key = (key, tuple(sorted(statuses.items())))
        with self._lock:
            if cache_key in self._cache:
                return self._cache[cache_key]
        try:
            picture: str | None = to_svg(definition, statuses=statuses)
        except GraphvizNotFound:
            picture = None
        with self._lock:
            if len(self._cache) >= _GRAPH_CACHE_SIZE:
                self._cache.pop(next(iter(self._cache)))
            self._cache[cache_key] = picture
        return picture


def state_list(definition: dict, statuses: t.Mapping[str, str]) -> list[dict]:
    """Every state of the definition with its outcome (for pages drawn without Graphviz)."""
    states = object_at(definition, "States")
    return [{"name": name, "type": (state or {}).get("Type"),
             "outcome": statuses.get(name, NOT_REACHED)} for name, state in states.items()]


def run_view(engine: t.Any, pictures: Pictures, run_id: str) -> dict:
    """Everything the run page shows, in one document."""
    run = engine.get_run(run_id)
    source = engine.get_run_definition(run_id)
    entries = engine.get_run_logs(run_id)["entries"]
    steps, statuses = steps_of(run, entries)
    definition = source["definition"]
    web_input = None
    if run.get("blocking_web_input_id"):
        web_input = engine.get_web_input(run["blocking_web_input_id"])
    return {
        "run": mask(run), "failure": failure_of(run), "steps": steps,
        "running": [step["name"] for step in steps if step["outcome"] == RUNNING],
        "graph": {"svg": pictures.svg(f"{source['flow_id']}:{run.get('flow_last_updated')}",
                                      definition, statuses),
                  "states": state_list(definition, statuses)},
        "log": mask(entries[-MAX_LOG_ENTRIES:]), "log_count": len(entries),
        "web_input": web_input,
    }
