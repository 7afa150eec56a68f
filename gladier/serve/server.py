"""Binding and starting ``gladier serve``.

127.0.0.1 unless another address is asked for; another address is served with TLS when a
certificate is given, else after a loud warning, since the token and every run's data
would then cross the network in the clear. The socket is bound before the URL is printed,
so ``--port 0`` prints the port the system chose.
"""

from __future__ import annotations

import ipaddress
import socket
import sys
import typing as t

from gladier.exc import ConfigException

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765

PLAIN_HTTP_WARNING = """\
WARNING: gladier serve is listening on {host} without TLS. Anyone who can reach this
WARNING: address can watch the traffic: the token, every run's input and output.
WARNING: Give --certfile and --keyfile, or serve on 127.0.0.1 (the default)."""


def is_loopback(host: str) -> bool:
    """Whether ``host`` only accepts connections from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def plain_http_warning(host: str, *, tls: bool) -> str | None:
    """The warning printed before serving ``host`` without TLS, if it is not loopback."""
    return None if tls or is_loopback(host) else PLAIN_HTTP_WARNING.format(host=host)


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port`` (ConfigException saying why when it cannot)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as err:
        sock.close()
        raise ConfigException(f"Cannot listen on {host}:{port}: {err.strerror or err}") from None
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # accepted sockets inherit it
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def dashboard_url(host: str, port: int, token: str, *, tls: bool) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"{'https' if tls else 'http'}://{shown}:{port}/?token={token}"


def serve(*, db: str | None = None, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT,
          certfile: str | None = None, keyfile: str | None = None,
          engine_options: dict | None = None, out: t.TextIO | None = None) -> None:
    """Serve the database until interrupted (Ctrl-C)."""
    import uvicorn

    from gladier.engine.engine import LocalEngine, default_db_path
    from gladier.serve.app import create_app
    from gladier.serve.token import load_token

    out = out or sys.stdout
    if (certfile is None) != (keyfile is None):
        raise ConfigException("TLS needs both --certfile and --keyfile")
    tls = certfile is not None
    db_path = db or default_db_path()
    LocalEngine(db_path).close()  # a database that cannot be opened fails before binding
    token = load_token(db_path)
    sock = bind(host, port)
    port = sock.getsockname()[1]
    warning = plain_http_warning(host, tls=tls)
    if warning:
        print(warning, file=sys.stderr, flush=True)
    app = create_app(lambda: LocalEngine(db_path, **(engine_options or {})), token=token,
                     secure=tls)
    print(f"gladier serve: database {db_path}", file=out)
    print(f"gladier serve: dashboard {dashboard_url(host, port, token, tls=tls)}", file=out,
          flush=True)
    config = uvicorn.Config(app, log_level="warning", ssl_certfile=certfile,
                            ssl_keyfile=keyfile, lifespan="on")
    try:
        uvicorn.Server(config).run(sockets=[sock])
    except KeyboardInterrupt:  # uvicorn stopped cleanly, then passed Ctrl-C on
        pass
    finally:
        sock.close()
    print("gladier serve: stopped", file=out, flush=True)
