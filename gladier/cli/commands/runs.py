"""``gladier runs ...``: inspect, cancel and answer the runs stored in the engine's database."""

from __future__ import annotations

import json
import threading
import time
import typing as t

import click

from gladier.cli.errors import EXIT_RUN_FAILED, EXIT_USAGE
from gladier.cli.helpers import db_hint, echo_json, open_engine, print_outcome, quietly
from gladier.cli.options import (
    collections_option,
    db_option,
    json_option,
    timeout_option,
    tokens_option,
)
from gladier.exc import EngineError


@click.group()
def runs() -> None:
    """Inspect the runs stored in the embedded engine's database."""


@runs.command("list")
@click.option("--status", "statuses", multiple=True,
              type=click.Choice(["ACTIVE", "INACTIVE", "SUCCEEDED", "FAILED", "ENDED"],
                                case_sensitive=False),
              help="Only runs with this status (repeatable).")
@json_option
@db_option
def list_runs(statuses: tuple[str, ...], as_json: bool, db: str | None) -> None:
    """List runs, newest first: id, status, start time, flow and label."""
    engine = open_engine(db)
    wanted = {status.upper() for status in statuses}
    found = [run for run in engine.list_runs() if not wanted or run.get("status") in wanted]
    found.sort(key=lambda run: str(run.get("start_time") or ""), reverse=True)
    if as_json:
        echo_json(found)
        return
    if not found:
        click.echo("no runs")
        return
    for run in found:
        click.echo(f"{run.get('run_id')}  {run.get('status', '?'):<9}  "
                   f"{run.get('start_time') or '':<32}  {run.get('flow_title') or ''}"
                   + (f"  [{run['label']}]" if run.get("label") else ""))


@runs.command("show", short_help="Summarize a run: status, states, output or error.")
@click.argument("run_id")
@json_option
@db_option
def show_run(run_id: str, as_json: bool, db: str | None) -> None:
    """Show a readable summary of a run: status, times, each state's outcome, output or error.

    With --json, print the run document exactly as stored.
    """
    from gladier.ui.progress import failure_reason
    from gladier.ui.steps import RunProgress

    engine = open_engine(db)
    run = engine.get_run(run_id)
    if as_json:
        echo_json(run)
        return
    progress = RunProgress.of_run(run, engine.get_run_logs(run_id).get("entries", []))
    rows = [("run", run.get("run_id")), ("label", run.get("label")),
            ("flow", f"{run.get('flow_title') or ''} ({run.get('flow_id')})".strip()),
            ("status", run.get("status")), ("started", run.get("start_time")),
            ("completed", run.get("completion_time")), ("tags", ", ".join(run.get("tags") or []))]
    for name, value in rows:
        if value:
            click.echo(f"{name + ':':<11}{value}")
    elapsed = progress.elapsed()
    if elapsed is not None and run.get("completion_time"):
        click.echo(f"{'duration:':<11}{elapsed:.2f} s")
    if progress.steps:
        click.echo("states:")
        for step in progress.steps:
            took = step.seconds()
            click.echo(f"  {step.outcome:<9}  {step.name} ({step.state_type})"
                       + (f"  {took:.2f} s" if took is not None else ""))
    details = run.get("details") if isinstance(run.get("details"), dict) else {}
    if run.get("status") == "SUCCEEDED":
        click.echo("output:")
        echo_json(details.get("output"))
    elif reason := failure_reason(run):
        click.echo(f"{'reason:':<11}{reason}")


@runs.command("logs", short_help="Print a run's log entries.")
@click.argument("run_id")
@click.option("--limit", type=click.IntRange(min=1), default=None,
              help="Only the first N entries.")
@json_option
@db_option
def run_logs(run_id: str, limit: int | None, as_json: bool, db: str | None) -> None:
    """Print a run's log entries, oldest first (--json: a JSON list of the entries)."""
    engine = open_engine(db)
    entries = engine.get_run_logs(run_id, limit=limit).get("entries", [])
    if as_json:
        echo_json(entries)
        return
    for entry in entries:
        click.echo(f"{entry.get('time', '')}  {entry.get('code', ''):<20}  "
                   f"{entry.get('description', '')}")


@runs.command("cancel", short_help="Cancel a run that has not ended.")
@click.argument("run_id")
@json_option
@db_option
def cancel(run_id: str, as_json: bool, db: str | None) -> None:
    """Cancel a run that has not ended (it ends FAILED with code FlowCanceled)."""
    engine = open_engine(db)
    run = engine.cancel_run(run_id)
    if as_json:
        echo_json(run)
    else:
        click.echo(f"run {run.get('run_id')} {run.get('status')}")


@runs.command("respond", short_help="Answer (or expire) the web input a run waits for, "
                                    "then follow it.")
@click.argument("run_id")
@click.option("--input", "input_value", metavar="JSON",
              help="The response: one of the web input's option ids, or an option's Value, "
                   "as JSON (e.g. '\"approve\"'); text that is not JSON is taken as a string.")
@click.option("--expire", is_flag=True,
              help="Close the web input as expired instead of answering it.")
@json_option
@db_option
@collections_option
@tokens_option
@timeout_option
def respond(run_id: str, input_value: str | None, expire: bool, as_json: bool, db: str | None,
            collections: dict | None, tokens: dict | None, timeout: float | None) -> None:
    """Respond to the web input a run is waiting for (an INACTIVE run at an AwaitWebInput
    state), or expire it, and wait for the run.

    Web inputs never expire by themselves here (the Globus service's expiry time is not
    documented): --expire does what the service does when nobody answers in time, so the
    AwaitWebInput state fails with Flows.WebInputExpired, for its Catch to handle.

    The run goes on in the engine that drives it, or in this command when that engine is
    gone (give the same --tokens it ran with; it keeps its own collections). Waiting stops
    when the run ends or waits for a person again. Exit status 0 when the run SUCCEEDED or
    waits for another response, 1 otherwise, 2 when the response is not one of the options.
    """
    from gladier.exc import WebInputError
    from gladier.ui.progress import follow

    if (input_value is None) != expire:
        raise click.UsageError("give exactly one of --input VALUE or --expire")
    engine = open_engine(db, collections=collections, tokens=tokens)
    web_input_id = _awaited_web_input(engine, run_id, db)
    if expire:
        engine.expire_web_input(web_input_id)
    else:
        try:
            value = json.loads(input_value)
        except json.JSONDecodeError:
            value = input_value
        try:
            engine.respond_to_web_input(web_input_id, value)
        except WebInputError as error:
            if error.code != "UNPROCESSABLE_ENTITY":
                raise
            click.echo(f"Error: {error}", err=True)
            click.echo("Hint: answer with --input set to one of the option ids (or Values) "
                       "listed above", err=True)
            click.get_current_context().exit(EXIT_USAGE)
    deadline = None if timeout is None else time.monotonic() + timeout
    _wait_past_web_input(engine, run_id, web_input_id, deadline)
    final = follow(engine, run_id, renderer=quietly,
                   timeout=None if deadline is None else max(deadline - time.monotonic(), 0))
    if as_json:
        echo_json(final)
    else:
        print_outcome(final, db)
    click.get_current_context().exit(
        0 if final.get("status") in ("SUCCEEDED", "INACTIVE") else EXIT_RUN_FAILED)


def _awaited_web_input(engine: t.Any, run_id: str, db: str | None) -> str:
    """The web input the run waits for, or its only open one."""
    run = engine.get_run(run_id)
    if run.get("blocking_web_input_id"):
        return run["blocking_web_input_id"]
    open_ones = engine.list_web_inputs(filter_states="open", filter_run_ids=run_id)
    if len(open_ones) == 1:
        return open_ones[0]["id"]
    raise EngineError(f"run {run_id} is not waiting for a web input (status "
                      f"{run.get('status')}, {len(open_ones)} open web inputs)",
                      hint=f"only a run INACTIVE at an AwaitWebInput state takes a response; "
                           f"'gladier runs show {run_id}{db_hint(db)}' shows where it is")


def _wait_past_web_input(engine: t.Any, run_id: str, web_input_id: str,
                         deadline: float | None) -> None:
    """Until the run has taken the response (its driver may be another process)."""
    changed = threading.Event()
    unsubscribe = engine.subscribe(run_id, lambda entry: changed.set())
    try:
        while True:
            run = engine.get_run(run_id)
            if run["status"] != "INACTIVE" or run.get("blocking_web_input_id") != web_input_id:
                return
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                raise EngineError(f"run {run_id} has not gone past web input {web_input_id} "
                                  "yet (the response or expiry is recorded; the run goes on "
                                  "when its engine looks)",
                                  hint="if no engine drives the run any more, 'gladier "
                                       "resume' continues it")
            changed.wait(0.2 if left is None else min(0.2, left))
            changed.clear()
    finally:
        unsubscribe()
