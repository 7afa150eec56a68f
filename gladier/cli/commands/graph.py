"""``gladier graph``: draw a flow as mermaid, dot or svg, coloured by a run."""

from __future__ import annotations

import os

import click

from gladier.cli.helpers import STDIO, engine_with_run, load_definition
from gladier.cli.options import db_option
from gladier.exc import ConfigException

_SUFFIX_FORMATS = {".svg": "svg", ".dot": "dot", ".gv": "dot", ".mmd": "mermaid", ".md": "mermaid"}


@click.command(short_help="Draw a flow as mermaid, dot or svg, coloured by a run.")
@click.argument("definition_file", metavar="[DEF.json]",
                type=click.Path(dir_okay=False, allow_dash=True), required=False)
@click.option("--format", "fmt", type=click.Choice(["mermaid", "dot", "svg"]), default=None,
              help="mermaid (default), dot, or svg (needs Graphviz's 'dot' program). "
                   "Default from the -o suffix (.svg, .dot/.gv, .mmd/.md) when given.")
@click.option("-o", "--output", "output_file", type=click.Path(dir_okay=False, allow_dash=True),
              help="Write to this file instead of stdout ('-': stdout).")
@click.option("--run", "run_id", metavar="RUN_ID",
              help="Colour states by what they did in this run "
                   "(succeeded, failed, running, not reached).")
@db_option
def graph(definition_file: str | None, fmt: str | None, output_file: str | None,
          run_id: str | None, db: str | None) -> None:
    """Draw a flow: every state and every transition (Next, Default, Choice branches, Catch).

    With --run, states are coloured by their status in that run of the embedded engine; the
    definition then defaults to the one the run used. '-' reads DEF.json from standard input.
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
        engine = engine_with_run(db, run_id)
        run = engine.get_run(run_id)
        entries = engine.get_run_logs(run_id).get("entries", [])
        statuses = statuses_from_logs(entries, run_status=run.get("status"))
    if definition_file is not None:
        definition, _schema = load_definition(definition_file, None)
    else:
        definition = engine.get_flow(run["flow_id"])["definition"]
    picture = graphs.render(definition, fmt, statuses=statuses)
    if output_file and output_file != STDIO:
        try:
            with open(output_file, "w", encoding="utf-8") as handle:
                handle.write(picture)
        except OSError as error:
            raise ConfigException(f"cannot write {output_file}: {error.strerror}") from error
        click.echo(f"wrote {fmt} to {output_file}", err=True)
    else:
        click.echo(picture, nl=False)
