"""The ``gladier`` command: validate, run, inspect, resume and draw flows on the embedded engine.

Every error prints one line saying what was wrong, then a hint saying what to do; the exit
status is 0 on success, 1 when a run did not succeed (or an unexpected error happened) and 2
for usage and validation errors. Each command lives in its own module under
``gladier.cli.commands``; shared options are in ``gladier.cli.options``.
"""

from __future__ import annotations

import click

from gladier.cli.commands.graph import graph
from gladier.cli.commands.resume import resume
from gladier.cli.commands.run import run
from gladier.cli.commands.runs import runs
from gladier.cli.commands.serve import serve
from gladier.cli.commands.validate import validate
from gladier.cli.errors import EXIT_RUN_FAILED, EXIT_USAGE, GladierGroup
from gladier.version import __version__

__all__ = ["EXIT_RUN_FAILED", "EXIT_USAGE", "cli", "main"]


@click.group(cls=GladierGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="gladier")
@click.option("--debug", is_flag=True, envvar="GLADIER_DEBUG", show_envvar=True,
              help="Show full tracebacks instead of one-line errors.")
def cli(debug: bool) -> None:
    """Run Globus Flows definitions on your own machine with gladier's embedded engine.

    \b
    Typical use:
      gladier validate flow.json
      gladier run flow.json --input input.json --watch
      gladier runs list
      gladier runs show RUN_ID
      gladier graph flow.json --format svg -o flow.svg --run RUN_ID
      gladier serve --port 8765

    A definition file holds a flow definition ({"StartAt": ..., "States": ...}) or a flow
    document with "definition" and "input_schema" keys; '-' reads it from standard input.
    Runs are kept in an SQLite database (--db, default $GLADIER_DB, else local.db in
    $GLADIER_HOME, default ~/.gladier), so they can be inspected and resumed later.

    \b
    Exit status:
      0  success
      1  a run did not succeed, or a run or database was not found
      2  usage error, invalid definition or invalid input
    """


for _command in (validate, run, runs, resume, graph, serve):
    cli.add_command(_command)


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point (``gladier = gladier.cli:main``)."""
    cli.main(args=argv, prog_name="gladier")
