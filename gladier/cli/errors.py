"""Exit statuses and the one-line error reports every ``gladier`` command prints."""

from __future__ import annotations

import typing as t

import click

from gladier.exc import (
    ConfigException,
    FlowInputError,
    FlowValidationError,
    GladierException,
    GraphvizNotFound,
    format_problem,
)

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


class GladierGroup(click.Group):
    """Turns gladier errors into one line plus a hint instead of a traceback."""

    def invoke(self, ctx: click.Context) -> t.Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except BrokenPipeError:  # the reader went away (| head): click ends quietly, status 1
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
    return bool(ctx.find_root().params.get("debug"))


def _report(error: GladierException) -> None:
    click.echo(f"Error: {str(error).splitlines()[0] if str(error) else type(error).__name__}",
               err=True)
    if isinstance(error, FlowValidationError):
        print_problems(error.problems, error.warnings, err=True)
    elif isinstance(error, FlowInputError):
        for item in error.errors:
            location = item.get("loc") if isinstance(item, dict) else None
            where = ".".join(map(str, location)) if isinstance(location, list) else location
            message = item.get("msg", item) if isinstance(item, dict) else item
            click.echo(f"  {where or '$'}: {message}", err=True)
    hint = error.hint or next(text for kind, text in _HINTS if isinstance(error, kind))
    click.echo(f"Hint: {hint}", err=True)


def print_problems(problems: t.Iterable[dict], warnings: t.Iterable[dict], *, err: bool) -> None:
    """One line per validation problem, then one per warning."""
    for problem in problems:
        click.echo(format_problem(problem), err=err)
    for warning in warnings:
        click.echo(f"warning: {format_problem(warning)}", err=err)
