"""``gladier run``: run a flow on the embedded engine and wait for it."""

from __future__ import annotations

import os
import sys

import click

from gladier.cli.errors import EXIT_RUN_FAILED
from gladier.cli.helpers import (
    STDIO,
    db_hint,
    echo_json,
    load_definition,
    load_input,
    open_engine,
    print_outcome,
    quietly,
)
from gladier.cli.options import (
    collections_option,
    db_option,
    json_option,
    timeout_option,
    tokens_option,
)
from gladier.exc import EngineError


@click.command()
@click.argument("definition_file", metavar="DEF.json", type=click.Path(dir_okay=False,
                                                                       allow_dash=True))
@click.option("--input", "input_value", metavar="IN.json",
              help="Run input: a JSON file, '-' (standard input), or inline JSON text "
                   "starting with '{' (default {}).")
@click.option("--schema", "schema_file", type=click.Path(dir_okay=False, allow_dash=True),
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
    """Run a flow on the embedded engine and wait for it to end ('-' reads DEF.json from
    standard input).

    Prints a summary and the run's output; with --json, only the final run document (progress
    from --watch then goes to stderr). Waiting also stops when the run needs a person
    (INACTIVE); 'gladier resume' continues it later. Exit status 0 when the run SUCCEEDED,
    1 otherwise.
    """
    from gladier.ui.progress import choose_renderer, follow

    definition, schema = load_definition(definition_file, schema_file)
    body = load_input(input_value)
    engine = open_engine(db, collections=collections, tokens=tokens)
    title = (None if definition_file == STDIO
             else os.path.splitext(os.path.basename(definition_file))[0])
    flow = engine.create_flow(definition, title=title, input_schema=schema)
    started = engine.run_flow(flow["id"], body, label=label, tags=list(tags) or None)
    run_id = started["run_id"]
    try:
        if watch:
            hint = f"gladier runs show {run_id}{db_hint(db)}"
            renderer = choose_renderer(file=sys.stderr if as_json else None, output_hint=hint)
            final = follow(engine, run_id, renderer=renderer, timeout=timeout)
        else:
            final = follow(engine, run_id, renderer=quietly, timeout=timeout)
    except EngineError as error:
        click.echo(f"Error: {error}", err=True)
        click.echo(f"Hint: the run stays in the database; continue it with "
                   f"'gladier resume{db_hint(db)}'", err=True)
        click.get_current_context().exit(EXIT_RUN_FAILED)
    if as_json:
        echo_json(final)
    elif not watch:
        print_outcome(final, db)
    click.get_current_context().exit(0 if final.get("status") == "SUCCEEDED" else EXIT_RUN_FAILED)
