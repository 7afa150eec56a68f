"""Reading definitions and input, opening the engine, printing JSON and run outcomes."""

from __future__ import annotations

import json
import os
import sys
import typing as t

import click

from gladier.documents import object_at
from gladier.exc import ConfigException, EngineError


#: The file argument that means standard input (or, for an output file, standard output).
STDIO = "-"


def read_json(path: str, what: str) -> t.Any:
    """JSON from a file, or from standard input when ``path`` is ``-`` (once a command)."""
    from gladier.engine.jsondata import load_json

    shown = "standard input" if path == STDIO else f"file {path}"
    try:
        if path == STDIO:
            meta = click.get_current_context().meta
            if meta.get("gladier.stdin_read"):
                raise ConfigException(f"{what} cannot also come from standard input ('-'): "
                                      f"{meta['gladier.stdin_read']} was read from it")
            meta["gladier.stdin_read"] = what
            return load_json(getattr(sys.stdin, "buffer", sys.stdin).read(), f"The {what}")
        with open(path, encoding="utf-8") as handle:
            return load_json(handle.read(), f"The {what} {shown}")
    except OSError as error:
        raise ConfigException(f"cannot read {what} {shown}: {error.strerror}") from error
    except UnicodeDecodeError as error:
        raise ConfigException(
            f"{what} {shown} is not UTF-8 text (byte 0x{error.object[error.start]:02x} "
            f"at offset {error.start})",
            hint=f"JSON files must be UTF-8: convert it, e.g. 'iconv -f latin1 -t utf-8 {path}'",
        ) from error
    except json.JSONDecodeError as error:
        raise ConfigException(f"{what} {shown} is not valid JSON: {error.msg} "
                              f"(line {error.lineno}, column {error.colno})") from error


def load_definition(path: str, schema_path: str | None) -> tuple[dict, dict | None]:
    """The definition and input schema from DEF.json (a definition or a flow document)."""
    document = read_json(path, "definition")
    if not isinstance(document, dict):
        where = "standard input" if path == STDIO else f"file {path}"
        raise ConfigException(f"definition {where} holds a JSON {type(document).__name__}, "
                              "not an object with StartAt and States")
    schema = None
    if "States" not in document and isinstance(document.get("definition"), dict):
        schema = document.get("input_schema")
        document = document["definition"]
    if schema_path:
        schema = read_json(schema_path, "input schema")
    return document, schema


def load_input(value: str | None) -> dict:
    """Run input from a file name, ``-`` (standard input), or inline JSON text starting
    with '{' (or '[')."""
    if value is None:
        return {}
    if value.lstrip().startswith(("{", "[")) and not os.path.exists(value):
        from gladier.engine.jsondata import load_json

        try:
            body = load_json(value, "--input")
        except json.JSONDecodeError as error:
            raise ConfigException(f"--input is not valid JSON: {error.msg} "
                                  f"(column {error.colno})") from error
    else:
        body = read_json(value, "input")
    if not isinstance(body, dict):
        raise ConfigException(f"run input must be a JSON object, got a {type(body).__name__}")
    return body


def open_engine(db: str | None, *, collections: dict | None = None,
                tokens: dict | None = None) -> t.Any:
    """The engine on ``db`` (or the default database), creating the database if needed."""
    from gladier.engine.engine import LocalEngine

    engine = LocalEngine(db, collections=collections, tokens=tokens)
    click.get_current_context().call_on_close(engine.close)
    return engine


def existing_engine(db: str | None, *, collections: dict | None = None,
                    tokens: dict | None = None) -> t.Any:
    """The engine on a database that exists, for commands that only read or change runs
    (never create a database). None when the default database does not exist yet (no
    runs); a database named by --db or GLADIER_DB that does not exist is an error."""
    from gladier.engine.engine import default_db_path

    path = db or default_db_path()
    if path != ":memory:" and not os.path.exists(path):
        if db is None:
            return None
        raise EngineError(f"No engine database at '{path}'",
                          hint="check --db PATH (or GLADIER_DB); 'gladier run' creates the "
                               "database on its first run")
    return open_engine(db, collections=collections, tokens=tokens)


def engine_with_run(db: str | None, run_id: str, **options: t.Any) -> t.Any:
    """The engine on an existing database, for a command about one run."""
    engine = existing_engine(db, **options)
    if engine is None:
        from gladier.engine.engine import default_db_path

        raise EngineError(f"No run with id '{run_id}': there is no engine database at "
                          f"'{default_db_path()}' yet",
                          hint="runs are kept in the database of the command that started "
                               "them: give it with --db PATH (or GLADIER_DB)")
    return engine


def quietly(run: dict) -> None:
    """A progress callback that shows nothing: wait for a run to stop, silently."""


def echo_json(value: t.Any) -> None:
    click.echo(json.dumps(value, indent=2, sort_keys=True, default=str))


def db_hint(db: str | None) -> str:
    return f" --db {db}" if db else ""


def print_outcome(run: dict, db: str | None) -> None:
    """A finished (or waiting) run's status line, its output or reason, and what to do next."""
    from gladier.ui.progress import failure_reason

    details = object_at(run, "details")
    line = f"run {run.get('run_id')} {run.get('status')}"
    if run.get("status") == "SUCCEEDED":
        click.echo(line)
        click.echo("output:")
        echo_json(details.get("output"))
    else:
        reason = failure_reason(run)
        click.echo(line + (f": {reason}" if reason else ""))
        if run.get("blocking_web_input_id"):
            click.echo(f"Hint: 'gladier runs respond {run.get('run_id')} --input VALUE"
                       f"{db_hint(db)}' answers the web input and continues the run",
                       err=True)
        else:
            click.echo(f"Hint: 'gladier runs logs {run.get('run_id')}{db_hint(db)}' shows "
                       "what each state did", err=True)
