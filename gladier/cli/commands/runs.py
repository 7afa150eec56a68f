"""``gladier runs ...``: inspect, cancel and answer the runs stored in the engine's database."""

from __future__ import annotations

import datetime
import json
import threading
import time
import typing as t

import click

from gladier.cli.errors import EXIT_RUN_FAILED, EXIT_USAGE
from gladier.cli.helpers import (
    db_hint,
    echo_json,
    engine_with_run,
    existing_engine,
    print_outcome,
    quietly,
)
from gladier.cli.options import (
    Duration,
    Since,
    collections_option,
    db_option,
    json_option,
    timeout_option,
    tokens_option,
)
from gladier.documents import object_at
from gladier.exc import EngineError


@click.group()
def runs() -> None:
    """Inspect the runs stored in the embedded engine's database."""


#: Runs shown by 'gladier runs list' unless --limit says otherwise.
PAGE_SIZE = 25
_STATUSES = ["ACTIVE", "INACTIVE", "SUCCEEDED", "FAILED", "ENDED"]


@runs.command("list")
@click.option("--status", "statuses", multiple=True,
              type=click.Choice(_STATUSES, case_sensitive=False),
              help="Only runs with this status (repeatable).")
@click.option("--since", type=Since(),
              help="Only runs started since then: an RFC 3339 date-time, a date "
                   "(YYYY-MM-DD, UTC) or a duration ago (12h, 7d).")
@click.option("--flow", metavar="FLOW",
              help="Only runs of this flow: its id, or (part of) its title.")
@click.option("--limit", type=click.IntRange(min=1), default=PAGE_SIZE, show_default=True,
              help="Show at most this many runs, the newest.")
@json_option
@db_option
def list_runs(statuses: tuple[str, ...], since: datetime.datetime | None, flow: str | None,
              limit: int, as_json: bool, db: str | None) -> None:
    """List the newest runs first: id, status, start time, flow and label.

    Shows one page (--limit runs), then a line saying how many more match. With --json,
    a JSON list of the run documents of the page (the line goes to stderr).
    """
    engine = existing_engine(db)
    found, total = ([], 0) if engine is None else _page(engine, limit, statuses, since, flow)
    if as_json:
        echo_json(found)
    elif not found:
        click.echo("no runs")
    else:
        for run in found:
            click.echo(f"{run.get('run_id')}  {run.get('status', '?'):<9}  "
                       f"{run.get('start_time') or '':<32}  {run.get('flow_title') or ''}"
                       + (f"  [{run['label']}]" if run.get("label") else ""))
    if total > len(found):  # after the page; on stderr with --json, so stdout stays JSON
        click.echo(f"{total - len(found)} more run(s) match: --limit {total} shows them all; "
                   "--since, --status and --flow narrow the list", err=as_json)


def _page(engine: t.Any, limit: int, statuses: tuple[str, ...],
          since: datetime.datetime | None, flow: str | None) -> tuple[list[dict], int]:
    """The newest runs that match, and how many match in all. ``flow``: a flow's id, else
    (part of) its title."""
    from gladier.engine.timing import to_iso
    from gladier.exc import NotInDatabase

    filters: dict[str, t.Any] = {"statuses": [status.upper() for status in statuses],
                                 "start_time": (None if since is None else to_iso(since), None)}
    if flow is not None:
        try:
            filters["flow_ids"] = [engine.get_flow(flow)["id"]]
        except NotInDatabase:
            filters["flow_titles"] = [flow]
    return engine.page_runs(limit=limit, **filters), engine.count_runs(**filters)


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

    engine = engine_with_run(db, run_id)
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
    details = object_at(run, "details")
    if note := progress.failures_note():
        click.echo(f"{'note:':<11}{note}")
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
    engine = engine_with_run(db, run_id)
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
    """Cancel a run that has not ended (it ends FAILED with code FlowCanceled).

    Exit status 1 when the run had already ended: there was nothing to cancel.
    """
    from gladier.managers.base import TERMINAL_STATUSES

    engine = engine_with_run(db, run_id)
    ended = engine.get_run(run_id).get("status") in TERMINAL_STATUSES
    run = engine.get_run(run_id) if ended else engine.cancel_run(run_id)
    if as_json:
        echo_json(run)
    else:
        click.echo(f"run {run.get('run_id')} {run.get('status')}")
    if ended:
        click.echo(f"Error: run {run_id} had already ended ({run.get('status')}); nothing "
                   "was cancelled", err=True)
        click.get_current_context().exit(EXIT_RUN_FAILED)


@runs.command("prune", short_help="Delete runs that ended long ago.")
@click.option("--older-than", type=Duration(), envvar="GLADIER_RUN_RETENTION",
              show_envvar=True, required=True,
              help="Delete runs that ended (SUCCEEDED or FAILED) longer ago than this, "
                   "e.g. 90d (the Globus service keeps run records 90 days).")
@click.option("--dry-run", is_flag=True, help="Only say which runs would be deleted.")
@json_option
@db_option
def prune(older_than: datetime.timedelta, dry_run: bool, as_json: bool, db: str | None) -> None:
    """Delete runs that ended more than --older-than ago, with their logs.

    Runs that have not ended are never deleted. Set GLADIER_RUN_RETENTION (e.g. 90d) to keep
    runs that long, and run 'gladier runs prune' from cron. With --json, a JSON object
    {"deleted": [run ids], "dry_run": ...}.
    """
    engine = existing_engine(db)
    deleted = [] if engine is None else engine.prune_runs(older_than, dry_run=dry_run)
    if as_json:
        echo_json({"deleted": deleted, "dry_run": dry_run})
        return
    for run_id in deleted:
        click.echo(run_id)
    verb = "would delete" if dry_run else "deleted"
    click.echo(f"{verb} {len(deleted)} run(s) that ended before "
               f"{_ago(older_than)}", err=True)


def _ago(duration: datetime.timedelta) -> str:
    from gladier.engine.timing import to_iso

    return to_iso(datetime.datetime.now(datetime.timezone.utc) - duration)[:19] + "Z"


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
    engine = engine_with_run(db, run_id, collections=collections, tokens=tokens)
    web_input_id = _awaited_web_input(engine, run_id, db)
    if expire:
        engine.expire_web_input(web_input_id)
    else:
        from gladier.engine.jsondata import load_json

        assert input_value is not None  # exactly one of --input and --expire
        try:
            value = load_json(input_value, "--input")
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
