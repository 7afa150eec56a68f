"""``gladier validate``: check a definition without running it."""

from __future__ import annotations

import click

from gladier.cli.errors import EXIT_USAGE, print_problems
from gladier.cli.helpers import load_definition
from gladier.exc import FlowValidationError


@click.command()
@click.argument("definition_file", metavar="DEF.json", type=click.Path(dir_okay=False))
@click.option("--schema", "schema_file", type=click.Path(dir_okay=False),
              help="Input schema (JSON Schema) to check along with the definition.")
def validate(definition_file: str, schema_file: str | None) -> None:
    """Check a flow definition without running it.

    Prints one line per problem (JSON path, state name, message), then warnings. Exit status
    0 when the definition is valid (warnings allowed), 2 when it is not.
    """
    from gladier.engine.validate import validate_flow

    definition, schema = load_definition(definition_file, schema_file)
    try:
        warnings = validate_flow(definition, schema) or []
    except FlowValidationError as error:
        print_problems(error.problems, error.warnings, err=False)
        click.echo(f"{definition_file}: invalid ({len(error.problems)} problem(s))", err=True)
        click.echo("Hint: fix the places listed above (each line: JSON path, state, problem) "
                   "and validate again", err=True)
        click.get_current_context().exit(EXIT_USAGE)
    print_problems([], warnings, err=False)
    click.echo(f"{definition_file}: valid" + (f" ({len(warnings)} warning(s))" if warnings else ""))
