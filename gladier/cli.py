"""The ``gladier`` command: validate, run, inspect, resume and draw flows on the embedded engine.

Every error prints one line saying what was wrong, then a hint saying what to do; the exit
status is 0 on success, 1 when a run did not succeed (or an unexpected error happened) and 2
for usage and validation errors.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
import typing as t

import click

from gladier.exc import (
    ConfigException,
    EngineError,
    FlowInputError,
    FlowValidationError,
    GladierException,
    GraphvizNotFound,
    format_problem,
)
from gladier.version import __version__

#: Exit status for usage errors, invalid definitions and invalid input.
EXIT_USAGE = 2
#: Exit status when a run did not succeed.
EXIT_RUN_FAILED = 1

#: The hint for each kind of error that does not carry its own (``error.hint``).
_HINTS: list[tuple[type, str]] = [
    (FlowValidationError, "fix the places listed above; 'gladier validate DEF.json' checks a "
                          "definition without running it"),
    (FlowInputError, "the run input must satisfy the flow's input schema: fix --input "
                     "(or the schema given with --schema)"),
    (GraphvizNotFound, "'--format mermaid' and '--format dot' need nothing installed"),
    (ConfigException, "check the files and option values given on the command line"),
    (GladierException, "run again with 'gladier --debug ...' to see where it happened"),
]

_DB_HELP = ("SQLite database of the embedded engine. Default: $GLADIER_DB, else "
            "~/.gladier/local.db.")


class _GladierGroup(click.Group):
    """Turns gladier errors into one line plus a hint instead of a traceback."""

    def invoke(self, ctx: click.Context) -> t.Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except GladierException as error:
            if _debugging(ctx):
                raise
            _report(error)
            ctx.exit(EXIT_USAGE if isinstance(error, (ConfigException, FlowValidationError,
                                                      FlowInputError)) else EXIT_RUN_FAILED)
        except Exception as error:  # a bug: still one line and a hint, not a traceback
            if _debugging(ctx):
                raise
            click.echo(f"Error: unexpected {type(error).__name__}: {error}", err=True)
            click.echo("Hint: this is a bug in gladier; run again with 'gladier --debug ...' "
                       "and report the traceback", err=True)
            ctx.exit(EXIT_RUN_FAILED)


def _debugging(ctx: click.Context) -> bool:
    root = ctx.find_root()
    return bool(root.params.get("debug")) or os.environ.get("GLADIER_DEBUG", "") not in ("", "0")


def _report(error: GladierException) -> None:
    click.echo(f"Error: {str(error).splitlines()[0] if str(error) else type(error).__name__}",
               err=True)
    if isinstance(error, FlowValidationError):
        _print_problems(error.problems, error.warnings, err=True)
    elif isinstance(error, FlowInputError):
        for item in error.errors:
            location = item.get("loc") if isinstance(item, dict) else None
            where = ".".join(map(str, location)) if isinstance(location, list) else location
            message = item.get("msg", item) if isinstance(item, dict) else item
            click.echo(f"  {where or '$'}: {message}", err=True)
    hint = error.hint or next(text for kind, text in _HINTS if isinstance(error, kind))
    click.echo(f"Hint: {hint}", err=True)


def _print_problems(problems: t.Iterable[dict], warnings: t.Iterable[dict], *, err: bool) -> None:
    for problem in problems:
        click.echo(format_problem(problem), err=err)
    for warning in warnings:
        click.echo(f"warning: {format_problem(warning)}", err=err)


@click.group(cls=_GladierGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="gladier")
@click.option("--debug", is_flag=True, help="Show full tracebacks instead of one-line errors "
                                            "(also GLADIER_DEBUG=1).")
def cli(debug: bool) -> None:
    """Run Globus Flows definitions on your own machine with gladier's embedded engine.

    \b
    Typical use:
      gladier validate flow.json
      gladier run flow.json --input input.json --watch
      gladier runs list
      gladier runs show RUN_ID
      gladier graph flow.json --format svg -o flow.svg --run RUN_ID

    A definition file holds a flow definition ({"StartAt": ..., "States": ...}) or a flow
    document with "definition" and "input_schema" keys. Runs are kept in an SQLite database
    (--db, default $GLADIER_DB or ~/.gladier/local.db), so they can be inspected and resumed
    later. Exit status: 0 success, 1 a run did not succeed, 2 usage or validation error.
    """


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point (``gladier = gladier.cli:main``)."""
    cli.main(args=argv, prog_name="gladier")


# --- shared helpers -------------------------------------------------------------------------

def _read_json(path: str, what: str) -> t.Any:
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except OSError as error:
        raise ConfigException(f"cannot read {what} file {path}: {error.strerror}") from error
    except UnicodeDecodeError as error:
        raise ConfigException(
            f"{what} file {path} is not UTF-8 text (byte 0x{error.object[error.start]:02x} "
            f"at offset {error.start})",
            hint=f"JSON files must be UTF-8: convert it, e.g. 'iconv -f latin1 -t utf-8 {path}'",
        ) from error
    except json.JSONDecodeError as error:
        raise ConfigException(f"{what} file {path} is not valid JSON: {error.msg} "
                              f"(line {error.lineno}, column {error.colno})") from error


def _load_definition(path: str, schema_path: str | None) -> tuple[dict, dict | None]:
    """The definition and input schema from DEF.json (a definition or a flow document)."""
    document = _read_json(path, "definition")
    if not isinstance(document, dict):
        raise ConfigException(f"definition file {path} holds a JSON {type(document).__name__}, "
                              "not an object with StartAt and States")
    schema = None
    if "States" not in document and isinstance(document.get("definition"), dict):
        schema = document.get("input_schema")
        document = document["definition"]
    if schema_path:
        schema = _read_json(schema_path, "input schema")
    return document, schema


def _load_input(value: str | None) -> dict:
    """Run input from a file name, or inline JSON text starting with '{' (or '[')."""
    if value is None:
        return {}
    if value.lstrip().startswith(("{", "[")) and not os.path.exists(value):
        try:
            body = json.loads(value)
        except json.JSONDecodeError as error:
            raise ConfigException(f"--input is not valid JSON: {error.msg} "
                                  f"(column {error.colno})") from error
    else:
        body = _read_json(value, "input")
    if not isinstance(body, dict):
        raise ConfigException(f"run input must be a JSON object, got a {type(body).__name__}")
    return body


def _json_object(ctx: click.Context, param: click.Parameter, value: str | None) -> dict | None:
    if value is None:
        return None
    try:
        parsed = json.loads(value)
    except json.JSONDecodeError as error:
        raise click.BadParameter(f"not valid JSON: {error.msg}", ctx=ctx, param=param) from error
    if not isinstance(parsed, dict):
        raise click.BadParameter("must be a JSON object", ctx=ctx, param=param)
    return parsed


def _open_engine(db: str | None, *, collections: dict | None = None,
                 tokens: dict | None = None) -> t.Any:
    from gladier.engine.engine import LocalEngine

    engine = LocalEngine(db, collections=collections, tokens=tokens)
    click.get_current_context().call_on_close(engine.close)
    return engine


def _quietly(run: dict) -> None:
    """A progress callback that shows nothing: wait for a run to stop, silently."""


def _echo_json(value: t.Any) -> None:
    click.echo(json.dumps(value, indent=2, sort_keys=True, default=str))


def _db_hint(db: str | None) -> str:
    return f" --db {db}" if db else ""


db_option = click.option("--db", type=click.Path(dir_okay=False), default=None, help=_DB_HELP)
json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
collections_option = click.option(
    "--collections", callback=_json_object, metavar="JSON",
    help='Map collection ids to local directories, e.g. \'{"<uuid>": "/data"}\' '
         "(default: $GLADIER_LOCAL_COLLECTIONS; unmapped ids use the filesystem root). "
         "A run keeps the mapping it started with, also when another command continues it.")
tokens_option = click.option(
    "--tokens", callback=_json_object, metavar="JSON",
    help="Bearer tokens for HTTP action providers: ActionUrl prefix -> token "
         "(default: $GLADIER_LOCAL_TOKENS).")
timeout_option = click.option(
    "--timeout", type=click.FloatRange(min=0), default=None, metavar="SECONDS",
    help="Stop waiting after this many seconds (the run stays resumable).")


# --- validate -------------------------------------------------------------------------------

@cli.command()
@click.argument("definition_file", metavar="DEF.json", type=click.Path(dir_okay=False))
@click.option("--schema", "schema_file", type=click.Path(dir_okay=False),
              help="Input schema (JSON Schema) to check along with the definition.")
def validate(definition_file: str, schema_file: str | None) -> None:
    """Check a flow definition without running it.

    Prints one line per problem (JSON path, state name, message), then warnings. Exit status
    0 when the definition is valid (warnings allowed), 2 when it is not.
    """
    from gladier.engine.validate import validate_flow

    definition, schema = _load_definition(definition_file, schema_file)
    try:
        warnings = validate_flow(definition, schema) or []
    except FlowValidationError as error:
        _print_problems(error.problems, error.warnings, err=False)
        click.echo(f"{definition_file}: invalid ({len(error.problems)} problem(s))", err=True)
        click.echo("Hint: fix the places listed above (each line: JSON path, state, problem) "
                   "and validate again", err=True)
        click.get_current_context().exit(EXIT_USAGE)
    _print_problems([], warnings, err=False)
    click.echo(f"{definition_file}: valid" + (f" ({len(warnings)} warning(s))" if warnings else ""))


# --- run ------------------------------------------------------------------------------------

@cli.command()
@click.argument("definition_file", metavar="DEF.json", type=click.Path(dir_okay=False))
@click.option("--input", "input_value", metavar="IN.json",
              help="Run input: a JSON file, or inline JSON text starting with '{' (default {}).")
@click.option("--schema", "schema_file", type=click.Path(dir_okay=False),
              help="Input schema the run input must satisfy.")
@click.option("--label", help="Label of the run (a longer one is cut to 64 characters, "
                               "ending in '..', as on Globus).")
@click.option("--tag", "tags", multiple=True, help="Tag the run (repeatable).")
@click.option("--watch", is_flag=True,
              help="Show live progress (plain timestamped lines when not on a terminal).")
@json_option
@db_option
@collections_option
@tokens_option
@timeout_option
def run(definition_file: str, input_value: str | None, schema_file: str | None,
        label: str | None, tags: tuple[str, ...], watch: bool, as_json: bool, db: str | None,
        collections: dict | None, tokens: dict | None, timeout: float | None) -> None:
    """Run a flow on the embedded engine and wait for it to end.

    Prints a summary and the run's output; with --json, only the final run document (progress
    from --watch then goes to stderr). Waiting also stops when the run needs a person
    (INACTIVE); 'gladier resume' continues it later. Exit status 0 when the run SUCCEEDED,
    1 otherwise.
    """
    from gladier.ui.progress import choose_renderer, follow

    definition, schema = _load_definition(definition_file, schema_file)
    body = _load_input(input_value)
    engine = _open_engine(db, collections=collections, tokens=tokens)
    title = os.path.splitext(os.path.basename(definition_file))[0]
    flow = engine.create_flow(definition, title=title, input_schema=schema)
    started = engine.run_flow(flow["id"], body, label=label, tags=list(tags) or None)
    run_id = started["run_id"]
    try:
        if watch:
            hint = f"gladier runs show {run_id}{_db_hint(db)}"
            renderer = choose_renderer(file=sys.stderr if as_json else None, output_hint=hint)
            final = follow(engine, run_id, renderer=renderer, timeout=timeout)
        else:
            final = follow(engine, run_id, renderer=_quietly, timeout=timeout)
    except EngineError as error:
        click.echo(f"Error: {error}", err=True)
        click.echo(f"Hint: the run stays in the database; continue it with "
                   f"'gladier resume{_db_hint(db)}'", err=True)
        click.get_current_context().exit(EXIT_RUN_FAILED)
    if as_json:
        _echo_json(final)
    elif not watch:
        _print_outcome(final, db)
    click.get_current_context().exit(0 if final.get("status") == "SUCCEEDED" else EXIT_RUN_FAILED)


def _print_outcome(run: dict, db: str | None) -> None:
    from gladier.ui.progress import failure_reason

    details = run.get("details") if isinstance(run.get("details"), dict) else {}
    line = f"run {run.get('run_id')} {run.get('status')}"
    if run.get("status") == "SUCCEEDED":
        click.echo(line)
        click.echo("output:")
        _echo_json(details.get("output"))
    else:
        reason = failure_reason(run)
        click.echo(line + (f": {reason}" if reason else ""))
        if run.get("blocking_web_input_id"):
            click.echo(f"Hint: 'gladier runs respond {run.get('run_id')} --input VALUE"
                       f"{_db_hint(db)}' answers the web input and continues the run",
                       err=True)
        else:
            click.echo(f"Hint: 'gladier runs logs {run.get('run_id')}{_db_hint(db)}' shows "
                       "what each state did", err=True)


# --- runs -----------------------------------------------------------------------------------

@cli.group()
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
    engine = _open_engine(db)
    wanted = {status.upper() for status in statuses}
    found = [run for run in engine.list_runs() if not wanted or run.get("status") in wanted]
    found.sort(key=lambda run: str(run.get("start_time") or ""), reverse=True)
    if as_json:
        _echo_json(found)
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

    engine = _open_engine(db)
    run = engine.get_run(run_id)
    if as_json:
        _echo_json(run)
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
        _echo_json(details.get("output"))
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
    engine = _open_engine(db)
    entries = engine.get_run_logs(run_id, limit=limit).get("entries", [])
    if as_json:
        _echo_json(entries)
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
    engine = _open_engine(db)
    run = engine.cancel_run(run_id)
    if as_json:
        _echo_json(run)
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
    engine = _open_engine(db, collections=collections, tokens=tokens)
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
    final = follow(engine, run_id, renderer=_quietly,
                   timeout=None if deadline is None else max(deadline - time.monotonic(), 0))
    if as_json:
        _echo_json(final)
    else:
        _print_outcome(final, db)
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
                           f"'gladier runs show {run_id}{_db_hint(db)}' shows where it is")


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


# --- resume ---------------------------------------------------------------------------------

@cli.command(short_help="Continue every unfinished run and wait for them.")
@json_option
@db_option
@collections_option
@tokens_option
@timeout_option
def resume(as_json: bool, db: str | None, collections: dict | None, tokens: dict | None,
           timeout: float | None) -> None:
    """Continue every unfinished run in the database (e.g. after a crash) and wait for them.

    Each run continues from its last completed step; actions already started are not started
    again. Waiting stops when each run has ended or needs a person (INACTIVE). This command
    registers no compute functions: a compute task that still has to run leaves its run
    INACTIVE, for a resume from the script that registers the function. Exit status 0
    when every resumed run SUCCEEDED (or none was unfinished), else 1.
    """
    from gladier.ui.progress import failure_reason, follow

    engine = _open_engine(db, collections=collections, tokens=tokens)
    finals = [follow(engine, run_id, renderer=_quietly, timeout=timeout)
              for run_id in engine.resume()]
    if as_json:
        _echo_json(finals)
    elif not finals:
        click.echo("no unfinished runs")
    else:
        for final in finals:
            reason = "" if final.get("status") == "SUCCEEDED" else failure_reason(final)
            click.echo(f"run {final.get('run_id')} {final.get('status')}"
                       + (f": {reason}" if reason else ""))
        if any((final.get("details") or {}).get("code") == "FunctionNotRegistered"
               for final in finals):
            click.echo("Hint: register the functions the run needs "
                       "(LocalEngine.register_function) and call LocalEngine(db).resume() "
                       "from your script", err=True)
    succeeded = all(final.get("status") == "SUCCEEDED" for final in finals)
    click.get_current_context().exit(0 if succeeded else EXIT_RUN_FAILED)


# --- graph ----------------------------------------------------------------------------------

_SUFFIX_FORMATS = {".svg": "svg", ".dot": "dot", ".gv": "dot", ".mmd": "mermaid", ".md": "mermaid"}


@cli.command(short_help="Draw a flow as mermaid, dot or svg, coloured by a run.")
@click.argument("definition_file", metavar="[DEF.json]", type=click.Path(dir_okay=False),
                required=False)
@click.option("--format", "fmt", type=click.Choice(["mermaid", "dot", "svg"]), default=None,
              help="mermaid (default), dot, or svg (needs Graphviz's 'dot' program). "
                   "Default from the -o suffix (.svg, .dot/.gv, .mmd/.md) when given.")
@click.option("-o", "--output", "output_file", type=click.Path(dir_okay=False),
              help="Write to this file instead of stdout.")
@click.option("--run", "run_id", metavar="RUN_ID",
              help="Colour states by what they did in this run "
                   "(succeeded, failed, running, not reached).")
@db_option
def graph(definition_file: str | None, fmt: str | None, output_file: str | None,
          run_id: str | None, db: str | None) -> None:
    """Draw a flow: every state and every transition (Next, Default, Choice branches, Catch).

    With --run, states are coloured by their status in that run of the embedded engine; the
    definition then defaults to the one the run used.
    """
    from gladier.ui import graph as graphs
    from gladier.ui.steps import statuses_from_logs

    if definition_file is None and run_id is None:
        raise click.UsageError("give a definition file (DEF.json), --run RUN_ID, or both")
    if fmt is None:
        suffix = os.path.splitext(output_file or "")[1].lower()
        fmt = _SUFFIX_FORMATS.get(suffix, "mermaid")
    statuses = None
    if run_id:
        engine = _open_engine(db)
        run = engine.get_run(run_id)
        entries = engine.get_run_logs(run_id).get("entries", [])
        statuses = statuses_from_logs(entries, run_status=run.get("status"))
    if definition_file is not None:
        definition, _schema = _load_definition(definition_file, None)
    else:
        definition = engine.get_flow(run["flow_id"])["definition"]
    picture = graphs.render(definition, fmt, statuses=statuses)
    if output_file:
        try:
            with open(output_file, "w", encoding="utf-8") as handle:
                handle.write(picture)
        except OSError as error:
            raise ConfigException(f"cannot write {output_file}: {error.strerror}") from error
        click.echo(f"wrote {fmt} to {output_file}", err=True)
    else:
        click.echo(picture, nl=False)
