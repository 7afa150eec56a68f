"""Options and parameter types shared by several ``gladier`` commands.

Options that an environment variable can set say so in their help (``show_envvar``), as
globus-cli's do.
"""

from __future__ import annotations

import datetime
import json
import re
import typing as t

import click

from gladier.engine.timing import parse_timestamp


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


_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*([smhdw])", re.I)
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


class Duration(click.ParamType):
    """A length of time: a number and a unit, s m h d or w (``90d``, ``12h``, ``1w2d``)."""

    name = "DURATION"

    def convert(self, value: t.Any, param: click.Parameter | None,
                ctx: click.Context | None) -> datetime.timedelta:
        if isinstance(value, datetime.timedelta):
            return value
        text = str(value).strip()
        parts = _DURATION.findall(text)
        if not parts or _DURATION.sub("", text).strip():
            self.fail(f"{value!r} is not a duration: give a number and a unit (s, m, h, d, w), "
                      "e.g. 90d or 12h", param, ctx)
        return datetime.timedelta(seconds=sum(float(n) * _UNITS[u.lower()] for n, u in parts))


class Since(click.ParamType):
    """A moment: an RFC 3339 date-time, a date (midnight UTC) or a duration ago (``7d``)."""

    name = "WHEN"

    def convert(self, value: t.Any, param: click.Parameter | None,
                ctx: click.Context | None) -> datetime.datetime:
        if isinstance(value, datetime.datetime):
            return value
        text = str(value).strip()
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            text += "T00:00:00Z"
        if re.match(r"\d{4}-", text):
            try:
                return parse_timestamp(text)
            except ValueError as error:
                self.fail(str(error), param, ctx)
        ago = Duration().convert(value, param, ctx)
        return datetime.datetime.now(datetime.timezone.utc) - ago


db_option = click.option(
    "--db", type=click.Path(dir_okay=False), default=None, envvar="GLADIER_DB",
    show_envvar=True,
    help="SQLite database of the embedded engine. Default: local.db in $GLADIER_HOME "
         "(default ~/.gladier).")
json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
collections_option = click.option(
    "--collections", callback=_json_object, metavar="JSON", envvar="GLADIER_LOCAL_COLLECTIONS",
    show_envvar=True,
    help='Map collection ids to local directories, e.g. \'{"<uuid>": "/data"}\' '
         "(only mapped collections are touched; '{\"*\": \"/\"}' maps every id to the "
         "whole filesystem). "
         "A run keeps the mapping it started with, also when another command continues it.")
tokens_option = click.option(
    "--tokens", callback=_json_object, metavar="JSON", envvar="GLADIER_LOCAL_TOKENS",
    show_envvar=True,
    help="Bearer tokens for HTTP action providers: ActionUrl prefix -> token.")
timeout_option = click.option(
    "--timeout", type=click.FloatRange(min=0), default=None, metavar="SECONDS",
    help="Stop waiting after this many seconds (the run stays resumable).")
