"""Options shared by several ``gladier`` commands."""

from __future__ import annotations

import json

import click

_DB_HELP = ("SQLite database of the embedded engine. Default: $GLADIER_DB, else "
            "~/.gladier/local.db.")


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
