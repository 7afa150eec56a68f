"""``gladier validate``: check a definition without running it."""

from __future__ import annotations

import click

from gladier.cli.errors import EXIT_USAGE, print_problems
from gladier.cli.helpers import echo_json, load_definition
from gladier.cli.options import json_option
from gladier.exc import FlowValidationError


@click.command()
@click.argument("definition_file", metavar="DEF.json", type=click.Path(dir_okay=False,
                                                                       allow_dash=True))
@click.option("--schema", "schema_file", type=click.Path(dir_okay=False, allow_dash=True),
              help="Input schema (JSON Schema) to check along with the definition.")
@click.option("--remote", is_flag=True,
              help="Also ask the Globus Flows service to validate it (FlowsClient."
                   "validate_flow; needs a Globus login, as the Globus engine does).")
@json_option
def validate(definition_file: str, schema_file: str | None, remote: bool,
             as_json: bool) -> None:
    """Check a flow definition without running it ('-' reads it from standard input).

    Prints one line per problem (JSON path, state name, message), then warnings; with
    --json, one object: {"valid": ..., "problems": [...], "warnings": [...]}. Exit status
    0 when the definition is valid (warnings allowed), 2 when it is not.
    """
    from gladier.engine.validate import validate_flow

    definition, schema = load_definition(definition_file, schema_file)
    try:
        warnings = validate_flow(definition, schema) or []
        if remote:
            _validate_remotely(definition, schema)
    except FlowValidationError as error:
        if as_json:
            echo_json({"file": definition_file, "valid": False,
                       "problems": list(error.problems), "warnings": list(error.warnings)})
        else:
            print_problems(error.problems, error.warnings, err=False)
            click.echo(f"{definition_file}: invalid ({len(error.problems)} problem(s))",
                       err=True)
            click.echo("Hint: fix the places listed above (each line: JSON path, state, "
                       "problem) and validate again", err=True)
        click.get_current_context().exit(EXIT_USAGE)
    if as_json:
        echo_json({"file": definition_file, "valid": True, "problems": [],
                   "warnings": list(warnings)})
        return
    print_problems([], warnings, err=False)
    if remote:
        click.echo("Globus Flows: valid", err=True)
    click.echo(f"{definition_file}: valid" + (f" ({len(warnings)} warning(s))" if warnings else ""))


def _validate_remotely(definition: dict, schema: dict | None) -> None:
    """The Flows service's own check; FlowValidationError with its problems."""
    from gladier.client import GladierBaseClient
    from gladier.managers import FlowsManager

    manager = FlowsManager(flow_definition=definition, flow_schema=schema)
    manager.set_login_manager(GladierBaseClient(engine="globus").login_manager)
    manager.validate_flow()
