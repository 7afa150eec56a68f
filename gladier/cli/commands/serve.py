"""``gladier serve``: the engine database as a local Globus Flows service, with a dashboard."""

from __future__ import annotations

import click

from gladier.cli.options import collections_option, db_option, tokens_option
from gladier.exc import ConfigException

_MISSING_EXTRA = ("gladier serve needs the 'serve' extra: pip install 'gladier[serve]' "
                  "(Starlette and uvicorn)")


@click.command(short_help="Serve the database as a local Flows service with a dashboard.")
@db_option
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on. Another than 127.0.0.1 needs --certfile/--keyfile "
                   "or is served after a warning.")
@click.option("--port", type=click.IntRange(0, 65535), default=8765, show_default=True,
              help="Port to listen on (0: any free port; the URL printed says which).")
@click.option("--certfile", type=click.Path(exists=True, dir_okay=False), default=None,
              help="TLS certificate (PEM) to serve HTTPS with.")
@click.option("--keyfile", type=click.Path(exists=True, dir_okay=False), default=None,
              help="TLS private key (PEM) of --certfile.")
@collections_option
@tokens_option
def serve(db: str | None, host: str, port: int, certfile: str | None, keyfile: str | None,
          collections: dict | None, tokens: dict | None) -> None:
    """Serve the engine database over HTTP: the Globus Flows API and a dashboard.

    Prints the dashboard's URL with the bearer token (generated on first start and kept
    owner-only in DB-serve-token; GLADIER_SERVE_TOKEN sets it). Point globus-sdk at it with
    GLOBUS_SDK_SERVICE_URL_FLOWS=http://127.0.0.1:PORT/ and send the token as a bearer
    token. Runs started by other processes on the same database show up live; the server
    continues those whose process is gone. Stop it with Ctrl-C.
    """
    try:
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError:
        raise ConfigException(_MISSING_EXTRA) from None
    from gladier.serve.server import serve as run_server

    run_server(db=db, host=host, port=port, certfile=certfile, keyfile=keyfile,
               engine_options={"collections": collections, "tokens": tokens})
