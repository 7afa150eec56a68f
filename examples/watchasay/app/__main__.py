"""Start watchasay: python app/ [--host 127.0.0.1] [--port 5000] [--db watchasay.db]"""

from __future__ import annotations

import argparse
import logging
import sqlite3
import sys
import typing as t

from config import ConfigError, load_settings
from local_auth import DEV_IDENTITY_ID, is_loopback
from provider import create_app

log = logging.getLogger("watchasay")


def main(argv: t.Optional[t.Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python app/", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=5000, help="port to listen on")
    parser.add_argument("--db", help="SQLite file for the actions (default: config)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")

    try:
        settings = load_settings(db_path=args.db)
    except ConfigError as err:
        log.error("cannot start watchasay: %s", err)
        return 2
    if settings.dev_token:
        if not is_loopback(args.host):
            log.error(
                "refusing to start: WATCHASAY_DEV_TOKEN is set (development mode), which "
                "only listens on a loopback address, and --host %s is not one",
                args.host,
            )
            return 2
        log.warning(
            "DEVELOPMENT MODE: WATCHASAY_DEV_TOKEN is set; that one token is accepted as "
            "identity %s without contacting Globus Auth, from loopback clients only",
            DEV_IDENTITY_ID,
        )
    try:
        app = create_app(settings)
    except sqlite3.Error as err:  # a missing directory, a file that is not a database, ...
        log.error("cannot open action store %s: %s", settings.db_path, err)
        return 2
    log.info("watchasay: actions stored in %s", settings.db_path)
    app.run(host=args.host, port=args.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
