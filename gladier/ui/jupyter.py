"""Notebook pictures of flows and runs, self-contained (no CDN, works offline).

Jupyter shows an object through ``_repr_mimebundle_`` / ``_repr_html_``: a flow as its graph,
a run as its graph coloured by what each state did plus a table of the states it visited.
The graph is inline SVG when Graphviz's ``dot`` is installed, else an HTML table of states and
transitions, so nothing needs a network or a JavaScript library.
"""

from __future__ import annotations

import html
import re
import shutil
import typing as t

from gladier.documents import object_at
from gladier.ui import graph
from gladier.ui.progress import failure_reason
from gladier.ui.steps import RunProgress, statuses_from_logs

_XML_PROLOGUE = re.compile(r"^.*?(?=<svg)", re.DOTALL)


class FlowView:
    """A flow definition that displays as its graph (optionally coloured by ``statuses``)."""

    def __init__(self, definition: dict, *, title: str | None = None,
                 statuses: t.Mapping[str, str] | None = None) -> None:
        self.definition = definition
        self.title = title
        self.statuses = statuses

    def _repr_html_(self) -> str:
        heading = f"<p><b>{html.escape(self.title)}</b></p>" if self.title else ""
        picture = flow_html(self.definition, statuses=self.statuses)
        return f"<div class='gladier-flow'>{heading}{picture}</div>"

    def _repr_mimebundle_(self, include: t.Any = None, exclude: t.Any = None) -> dict[str, str]:
        return {"text/html": self._repr_html_(), "text/plain": repr(self)}

    def __repr__(self) -> str:
        return flow_text(self.definition, title=self.title, statuses=self.statuses)


class RunView:
    """A run of the embedded engine that displays as its coloured graph and its states.

    Each display reads the run afresh, so showing the view again shows where the run is now.
    ``definition`` defaults to the run's flow as the engine stored it.
    """

    def __init__(self, engine: t.Any, run_id: str, *, definition: dict | None = None) -> None:
        self.engine = engine
        self.run_id = run_id
        self.definition = definition

    def snapshot(self) -> tuple[dict, list[dict], dict | None]:
        """The run document, its log entries and the flow definition, read now."""
        run = self.engine.get_run(self.run_id)
        entries = self.engine.get_run_logs(self.run_id).get("entries", [])
        definition = self.definition
        if definition is None and hasattr(self.engine, "get_flow") and run.get("flow_id"):
            definition = self.engine.get_flow(run["flow_id"]).get("definition")
        return run, entries, definition

    def _repr_html_(self) -> str:
        return self._html(*self.snapshot())

    def _repr_mimebundle_(self, include: t.Any = None, exclude: t.Any = None) -> dict[str, str]:
        snapshot = self.snapshot()  # one read, so the HTML and the text agree
        return {"text/html": self._html(*snapshot), "text/plain": self._text(*snapshot)}

    def __repr__(self) -> str:
        return self._text(*self.snapshot())

    def _html(self, run: dict, entries: list[dict], definition: dict | None) -> str:
        statuses = statuses_from_logs(entries, run_status=run.get("status"))
        progress = RunProgress.of_run(run, entries)
        rows = "".join(
            f"<tr><td>{html.escape(step.name)}</td><td>{html.escape(step.state_type)}</td>"
            f"<td style='background:{graph.STATUS_COLOURS[step.outcome][0]}'>"
            f"{html.escape(step.outcome)}</td><td>{_duration(step.seconds())}</td></tr>"
            for step in progress.steps
        )
        reason = failure_reason(run) if run.get("status") != "SUCCEEDED" else ""
        parts = [
            "<div class='gladier-run'>",
            f"<p><b>run {html.escape(str(run.get('run_id', self.run_id)))}</b> "
            f"{html.escape(str(run.get('label') or ''))} — "
            f"<b>{html.escape(str(run.get('status')))}</b>"
            f"{' — ' + html.escape(reason) if reason else ''}</p>",
            flow_html(definition, statuses=statuses) if definition else "",
            "<table><thead><tr><th>state</th><th>type</th><th>outcome</th><th>time</th></tr>"
            f"</thead><tbody>{rows}</tbody></table>",
            _legend() if definition else "",
            "</div>",
        ]
        return "".join(parts)

    def _text(self, run: dict, entries: list[dict], definition: dict | None) -> str:
        lines = [f"run {run.get('run_id', self.run_id)} {run.get('status')}"]
        for step in RunProgress.of_run(run, entries).steps:
            lines.append(f"  {step.name} ({step.state_type}): {step.outcome}")
        return "\n".join(lines)


def flow_html(definition: dict, *, statuses: t.Mapping[str, str] | None = None) -> str:
    """The flow's graph as HTML: inline SVG with Graphviz, else a table of states."""
    if shutil.which("dot"):
        return _XML_PROLOGUE.sub("", graph.to_svg(definition, statuses=statuses), count=1)
    return _flow_table(definition, statuses=statuses)


def flow_text(definition: dict, *, title: str | None = None,
              statuses: t.Mapping[str, str] | None = None) -> str:
    """The flow as plain text: one line per state with its transitions."""
    lines = [title] if title else []
    lines.append(f"start → {definition.get('StartAt')}")
    for name, state_type, status, outgoing in _state_rows(definition, statuses):
        suffix = f" [{status}]" if status else ""
        lines.append(f"{name} ({state_type}){suffix}: {'; '.join(outgoing) or 'no transitions'}")
    return "\n".join(lines)


def _flow_table(definition: dict, *, statuses: t.Mapping[str, str] | None) -> str:
    rows = []
    for name, state_type, status, outgoing in _state_rows(definition, statuses):
        colour = graph.STATUS_COLOURS[status][0] if status else "transparent"
        rows.append(
            f"<tr style='background:{colour}'><td>{html.escape(name)}</td>"
            f"<td>{html.escape(state_type)}</td><td>{html.escape(status or '')}</td>"
            f"<td>{'<br/>'.join(html.escape(item) for item in outgoing)}</td></tr>"
        )
    return ("<table class='gladier-flow-table'><thead><tr><th>state</th><th>type</th>"
            "<th>status</th><th>transitions</th></tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>"
            f"<p>starts at {html.escape(str(definition.get('StartAt')))}</p>")


def _state_rows(definition: dict, statuses: t.Mapping[str, str] | None
                ) -> list[tuple[str, str, str | None, list[str]]]:
    outgoing: dict[str, list[str]] = {}
    for edge in graph.transitions(definition):
        target = "end" if edge.target == graph.END else edge.target
        text = f"{edge.label} → {target}" if edge.label else f"→ {target}"
        outgoing.setdefault(edge.source, []).append(text)
    states = object_at(definition, "States")
    rows = []
    for name, state in states.items():
        status = None
        if statuses is not None:
            status = statuses.get(name, graph.NOT_REACHED)
        state_type = str(state.get("Type", "?")) if isinstance(state, dict) else "?"
        rows.append((name, state_type, status, outgoing.get(name, [])))
    return rows


def _legend() -> str:
    cells = "".join(
        f"<span style='background:{fill};border:1px solid {stroke};padding:0 6px;"
        f"margin-right:6px'>{html.escape(status)}</span>"
        for status, (fill, stroke) in graph.STATUS_COLOURS.items()
    )
    return f"<p class='gladier-legend'>{cells}</p>"


def _duration(seconds: float | None) -> str:
    return "" if seconds is None else f"{seconds:.2f} s"
