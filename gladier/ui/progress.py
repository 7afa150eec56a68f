"""Live progress of a run: a rich live view in terminals, an updating cell in Jupyter, plain
timestamped lines everywhere else (batch jobs, CI logs, cron mail).

Renderers are fed log entries (``renderer.entry(entry)``, as the embedded engine publishes
them or a polling ``progress()`` reads them from the Globus run log) and/or run documents
(``renderer(run_document)``, as ``progress()`` passes them to any callback).
:func:`default_callback` picks the renderer for where the program runs; :func:`follow`
watches a run of the embedded engine event by event, without polling.
"""

from __future__ import annotations

import abc
import datetime
import html
import os
import queue
import sys
import threading
import time
import typing as t

from gladier.documents import object_at
from gladier.exc import EngineError
from gladier.ui.steps import (FAILED, FINAL_RUN_STATUSES, FLOW_END_CODES, RUNNING, SUCCEEDED,
                             RunProgress, Step, parse_time, utc_now)

#: Statuses after which a run does not move without someone acting.
STOPPED_STATUSES = frozenset({"SUCCEEDED", "FAILED", "ENDED", "INACTIVE"})
#: Environment variable forcing a renderer: ``plain``, ``terminal`` or ``jupyter``.
RENDERER_ENV = "GLADIER_PROGRESS"
_OUTCOME_MARKS = {SUCCEEDED: "✓", FAILED: "✗", RUNNING: "…"}
#: Largest flow whose graph the Jupyter display redraws at every event.
MAX_LIVE_GRAPH_STATES = 60


class Renderer(abc.ABC):
    """Shows one run's progress. Call it with run documents, or feed it log entries."""

    def __init__(self, *, output_hint: str | None = None) -> None:
        self.progress = RunProgress()
        self.output_hint = output_hint
        self.finished = False
        self._lock = threading.RLock()

    def __call__(self, run: dict) -> None:
        """Take a run document (the ``progress(callback=...)`` protocol)."""
        with self._lock:
            if self.finished and run.get("status") not in STOPPED_STATUSES:
                self.finished = False
            if self.finished:
                return
            for step in self.progress.feed_run(run):
                self._show_step(step)
            if run.get("status") in STOPPED_STATUSES:
                self.finish(run)
            else:
                self._refresh()

    def start(self, run: dict) -> None:
        """Take the run document of a run whose log entries will be fed next."""
        with self._lock:
            self.progress.feed_run(run, from_details=False)

    def entry(self, entry: dict) -> None:
        """Take one log entry."""
        with self._lock:
            if self.finished:
                return
            if entry.get("code") == "FlowStarted":
                run_id = self.progress.run.get("run_id")
                self._show_message(f"run {run_id} started" if run_id else "run started",
                                   entry.get("time"))
            for step in self.progress.feed(entry):
                self._show_step(step)
            self._refresh()

    def finish(self, run: dict) -> None:
        """Show the final status and where the output is; stop any live display."""
        with self._lock:
            if self.finished:
                return
            for step in self.progress.feed_run(run):
                self._show_step(step)
            self.finished = True
            self._show_final(run)

    def summary(self, run: dict) -> str:
        """One line: how the run ended, how long it took, where its output is."""
        status = run.get("status", "?")
        elapsed = self.progress.elapsed()
        took = "" if elapsed is None else (
            f" {'in' if status in FINAL_RUN_STATUSES else 'after'} {_seconds(elapsed)}")
        text = f"run {run.get('run_id', '?')} {status}{took}"
        if note := self.progress.failures_note():
            text += f"; {note}"
        details = object_at(run, "details")
        if status == "SUCCEEDED":
            output = details.get("output")
            keys = ", ".join(map(str, output)) if isinstance(output, dict) else ""
            text += f"; output (keys: {keys or 'none'}) is the run document's details.output"
        else:
            reason = failure_reason(run)
            text += f": {reason}" if reason else ""
        if self.output_hint:
            text += f" ({self.output_hint})"
        return text

    @abc.abstractmethod
    def _show_step(self, step: Step) -> None:
        """A state started, or finished with ``step.outcome``."""

    @abc.abstractmethod
    def _show_message(self, text: str, when: t.Any = None) -> None:
        """Something about the whole run (it started)."""

    @abc.abstractmethod
    def _show_final(self, run: dict) -> None:
        """The run stopped: show how, and where its output is."""

    def _refresh(self) -> None:
        """Redraw a live display; renderers without one print only on events."""

    def close(self) -> None:
        """Release the display (a live terminal view) even if the run was not finished."""


class LineRenderer(Renderer):
    """Plain timestamped lines, one per event: for batch jobs and CI logs."""

    def __init__(self, *, file: t.TextIO | None = None, output_hint: str | None = None) -> None:
        super().__init__(output_hint=output_hint)
        self.file = file

    def _print(self, text: str, when: datetime.datetime | None) -> None:
        stamp = (when or utc_now()).astimezone(datetime.timezone.utc)
        print(f"{stamp:%Y-%m-%dT%H:%M:%SZ} {text}", file=self.file or sys.stdout, flush=True)

    def _show_message(self, text: str, when: t.Any = None) -> None:
        self._print(text, parse_time(when))

    def _show_step(self, step: Step) -> None:
        if step.outcome == RUNNING:
            self._print(f"state {step.name} ({step.state_type}) started", step.started)
        else:
            self._print(f"state {step.name} ({step.state_type}) {step.outcome} "
                        f"after {_seconds(step.seconds())}", step.finished)

    def _show_final(self, run: dict) -> None:
        self._print(self.summary(run), parse_time(run.get("completion_time")))


class TerminalRenderer(Renderer):
    """A rich live view: the state running now with its elapsed time, each finished state as
    a permanent line, then the final status."""

    def __init__(self, *, console: t.Any = None, output_hint: str | None = None) -> None:
        super().__init__(output_hint=output_hint)
        from rich.console import Console

        self.console = console or Console()
        self._live: t.Any = None

    def __rich__(self) -> t.Any:
        from rich.spinner import Spinner

        current = self.progress.current
        elapsed = self.progress.elapsed()
        total = f"run {_seconds(elapsed)}" if elapsed is not None else "run starting"
        if current is None:
            return Spinner("dots", f" waiting ({total})")
        return Spinner("dots", f" {current.name} ({current.state_type}) running "
                               f"{_seconds(current.seconds(utc_now()))} · {total}")

    def _ensure_live(self) -> None:
        if self._live is None:
            from rich.live import Live

            self._live = Live(self, console=self.console, refresh_per_second=4, transient=True)
            self._live.start()

    def _show_message(self, text: str, when: t.Any = None) -> None:
        from rich.markup import escape

        self._ensure_live()
        self.console.print(f"[dim]{escape(text)}[/dim]", highlight=False)

    def _show_step(self, step: Step) -> None:
        from rich.markup import escape

        self._ensure_live()
        if step.outcome == RUNNING:
            return
        colour = "green" if step.outcome == SUCCEEDED else "red"
        self.console.print(
            f"[{colour}]{_OUTCOME_MARKS[step.outcome]}[/{colour}] {escape(step.name)} "
            f"[dim]({escape(step.state_type)})[/dim] {step.outcome} in "
            f"{_seconds(step.seconds())}",
            highlight=False,
        )

    def _refresh(self) -> None:
        self._ensure_live()
        self._live.refresh()

    def close(self) -> None:
        with self._lock:
            if self._live is not None:
                self._live.stop()
                self._live = None

    def _show_final(self, run: dict) -> None:
        self.close()
        colour = {"SUCCEEDED": "green", "INACTIVE": "yellow"}.get(str(run.get("status")), "red")
        if colour == "green" and self.progress.continued_failures():
            colour = "yellow"
        self.console.print(self.summary(run), style=f"bold {colour}", markup=False,
                           highlight=False)


class JupyterRenderer(Renderer):
    """An HTML table in the notebook cell, updated in place as the run moves.

    Given the flow's ``definition``, the cell also shows the flow's graph coloured by what
    each state did so far (for flows of at most :data:`MAX_LIVE_GRAPH_STATES` states, since
    each update redraws it).
    """

    def __init__(self, *, display: t.Callable | None = None, definition: dict | None = None,
                 output_hint: str | None = None) -> None:
        super().__init__(output_hint=output_hint)
        if display is None:
            from IPython.display import display as ipython_display

            display = ipython_display
        self._display: t.Callable = display
        self._handle: t.Any = None
        states = definition.get("States") if isinstance(definition, dict) else None
        small = isinstance(states, dict) and len(states) <= MAX_LIVE_GRAPH_STATES
        self.definition = definition if small else None

    def _repr_html_(self) -> str:
        run = self.progress.run
        rows = []
        for step in self.progress.steps:
            took = step.seconds(utc_now())
            rows.append(
                f"<tr><td>{_OUTCOME_MARKS.get(step.outcome, '')}</td>"
                f"<td>{html.escape(step.name)}</td><td>{html.escape(step.state_type)}</td>"
                f"<td>{html.escape(step.outcome)}</td>"
                f"<td>{_seconds(took) if took is not None else ''}</td></tr>"
            )
        heading = (self.summary(run) if self.finished else
                   f"run {run.get('run_id', '')} {run.get('status', 'ACTIVE')}")
        picture = ""
        if self.definition is not None:
            from gladier.ui.jupyter import flow_html

            statuses = {step.name: step.outcome for step in self.progress.steps}
            picture = flow_html(self.definition, statuses=statuses)
        return (f"<div class='gladier-progress'><p><b>{html.escape(heading)}</b></p>{picture}"
                "<table><thead><tr><th></th><th>state</th><th>type</th><th>outcome</th>"
                f"<th>time</th></tr></thead><tbody>{''.join(rows)}</tbody></table></div>")

    def __repr__(self) -> str:
        return f"<run progress: {len(self.progress.steps)} state(s)>"

    def _redraw(self) -> None:
        snapshot = _HTMLSnapshot(self._repr_html_(), repr(self))
        if self._handle is None:
            self._handle = self._display(snapshot, display_id=True)
        else:
            self._handle.update(snapshot)

    def _show_message(self, text: str, when: t.Any = None) -> None:
        """The table shows everything; redrawn once per event by ``_refresh``."""

    def _show_step(self, step: Step) -> None:
        """The table shows every step; redrawn once per event by ``_refresh``."""

    def _refresh(self) -> None:
        self._redraw()

    def _show_final(self, run: dict) -> None:
        self._redraw()


class _HTMLSnapshot:
    """A fixed picture of the progress table, so a display handle never shows later state."""

    def __init__(self, markup: str, text: str) -> None:
        self.markup, self.text = markup, text

    def _repr_html_(self) -> str:
        return self.markup

    def __repr__(self) -> str:
        return self.text


def in_jupyter() -> bool:
    """True inside a Jupyter kernel (IPython already imported by it; never imported here)."""
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return False
    shell = ipython.get_ipython() if hasattr(ipython, "get_ipython") else None
    return shell is not None and getattr(shell, "kernel", None) is not None


def choose_renderer(*, file: t.TextIO | None = None, output_hint: str | None = None,
                    definition: dict | None = None) -> Renderer:
    """The renderer for where this program runs: Jupyter, a terminal, or plain lines.

    ``GLADIER_PROGRESS`` (plain, terminal or jupyter) overrides the choice. ``definition``
    (the run's flow) lets the Jupyter display draw the flow coloured as the run moves.
    """
    forced = os.environ.get(RENDERER_ENV, "").strip().lower()
    stream = file or sys.stdout
    if forced == "jupyter" or (not forced and in_jupyter()):
        try:
            return JupyterRenderer(definition=definition, output_hint=output_hint)
        except ImportError:  # IPython is not installed: fall back to the other renderers
            pass
    if forced == "terminal" or (not forced and getattr(stream, "isatty", lambda: False)()):
        from rich.console import Console

        return TerminalRenderer(console=Console(file=file), output_hint=output_hint)
    return LineRenderer(file=file, output_hint=output_hint)


def default_callback() -> t.Callable[[dict], None]:
    """A ``progress(callback=...)`` callable(run_document) suited to where this program runs."""
    return choose_renderer()


def follow(engine: t.Any, run_id: str, *,
           renderer: Renderer | t.Callable[[dict], None] | None = None,
           timeout: float | None = None, recheck: float = 1.0) -> dict:
    """Show a run of the embedded engine as it happens; return its last run document.

    Updates come from ``engine.subscribe`` as each log entry is journaled (no polling loop).
    Returns when the run ends or goes INACTIVE (a person must act). The run document is also
    re-read every ``recheck`` seconds without events, because an INACTIVE run, or one driven
    by another process, publishes none here. Entries logged before the call are shown first.
    ``renderer`` may also be a plain ``progress(callback=...)`` function: it gets the run
    document after each event. Raises :class:`~gladier.exc.EngineError` after ``timeout``.
    """
    shown: Renderer | _DocumentCallback
    if renderer is None:
        run = engine.get_run(run_id)
        shown = choose_renderer(definition=engine.get_flow(run["flow_id"])["definition"])
    elif isinstance(renderer, Renderer):
        shown = renderer
    else:
        shown = _DocumentCallback(renderer, engine, run_id)
    events: queue.Queue = queue.Queue()
    unsubscribe = engine.subscribe(run_id, events.put)
    unseen = UnseenEntries()

    def show(entries: t.Iterable[dict]) -> None:
        for entry in unseen(entries):
            shown.entry(entry)

    try:
        run = engine.get_run(run_id)
        shown.start(run)
        show(engine.get_run_logs(run_id).get("entries", []))
        deadline = None if timeout is None else time.monotonic() + timeout
        while run["status"] not in STOPPED_STATUSES:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                raise EngineError(f"Run '{run_id}' did not end within {timeout} s "
                                  f"(status {run['status']})",
                                  hint="the run stays in the database: 'gladier resume' "
                                       "continues it")
            try:
                show([events.get(timeout=recheck if left is None else min(recheck, left))])
                while not events.empty():
                    show([events.get_nowait()])
            except queue.Empty:
                pass
            run = engine.get_run(run_id)
            failure = getattr(engine, "failure", None)
            if failure is not None and run["status"] not in STOPPED_STATUSES:
                raise failure  # the engine stopped (its database failed): do not wait
        show(engine.get_run_logs(run_id).get("entries", []))  # entries not yet published
        shown.finish(run)
        return run
    finally:
        shown.close()
        if callable(unsubscribe):
            unsubscribe()


class UnseenEntries:
    """Picks the log entries not passed before: a log read again repeats what was shown."""

    def __init__(self) -> None:
        self._seen: set[tuple] = set()

    def __call__(self, entries: t.Iterable[dict]) -> list[dict]:
        fresh = []
        for entry in entries:
            details = object_at(entry, "details")
            key = (entry.get("time"), entry.get("code"), details.get("state_name"))
            if key not in self._seen:
                self._seen.add(key)
                fresh.append(entry)
        return fresh


class _DocumentCallback:
    """Lets :func:`follow` drive a function that takes run documents (the reference API)."""

    def __init__(self, callback: t.Callable[[dict], None], engine: t.Any, run_id: str) -> None:
        self.callback, self.engine, self.run_id = callback, engine, run_id
        self._last: dict | None = None

    def start(self, run: dict) -> None:
        """Nothing to show until something happens."""

    def entry(self, entry: dict) -> None:
        if entry.get("code") not in FLOW_END_CODES:  # finish() passes the final document
            self._deliver(self.engine.get_run(self.run_id))

    def finish(self, run: dict) -> None:
        self._deliver(run)

    def close(self) -> None:
        """Nothing to release."""

    def _deliver(self, run: dict) -> None:
        if run != self._last:  # replaying a finished run's log would repeat one document
            self._last = run
            self.callback(run)


def failure_reason(run: dict) -> str:
    """The error name and cause of a failed run, as short text ('' when unknown)."""
    details = object_at(run, "details")
    places = [place for place in (details.get("details"), details.get("output"), details)
              if isinstance(place, dict)]
    found: list[str] = []
    for keys in (("error", "Error", "exception", "cause", "Cause"), ("code", "description")):
        for place in places:
            for key in keys:
                value = place.get(key)
                if isinstance(value, str) and value and value not in found:
                    found.append(value)
        if found:
            break
    return ": ".join(found[:3])


def _seconds(value: float | None) -> str:
    if value is None:
        return "?"
    if value < 60:
        return f"{value:.2f} s"
    minutes, seconds = divmod(int(value), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m{seconds:02d}s" if hours else f"{minutes}m{seconds:02d}s"
