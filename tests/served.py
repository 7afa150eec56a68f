"""A real ``gladier serve`` process on 127.0.0.1 and a real browser, for the serve tests.

``Served`` starts the command in its own process (``--port 0``) and reads the dashboard
URL it prints; ``browser_page()`` opens Debian's Chromium through Playwright, with the
flags this machine needs, in a fresh profile.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request

CHROMIUM = (os.environ.get("GLADIER_TEST_CHROMIUM") or shutil.which("chromium")
            or "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
_URL_LINE = re.compile(r"dashboard (https?://127\.0\.0\.1:(\d+)/\?token=(\S+))")


def gladier_command(*args: str) -> list[str]:
    """The ``gladier`` command line run with this interpreter."""
    return [sys.executable, "-c", "from gladier.cli import main; main()", *args]


class Served:
    """``gladier serve --db DB --port 0 [extra]`` running until ``stop()``."""

    def __init__(self, db: str, *extra: str, env: dict | None = None) -> None:
        self.db = db
        self.process = subprocess.Popen(
            gladier_command("serve", "--db", db, "--port", "0", *extra),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={**os.environ, **(env or {})})
        self.lines: list[str] = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line:
                raise AssertionError("gladier serve exited: " + self.process.stderr.read())
            self.lines.append(line)
            found = _URL_LINE.search(line)
            if found:
                self.dashboard_url, port, self.token = found.groups()
                self.port = int(port)
                self.url = f"http://127.0.0.1:{self.port}/"
                break
        else:
            raise AssertionError("gladier serve printed no dashboard URL")
        self._wait_healthy()

    def _wait_healthy(self) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(self.url + "health", timeout=10) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                time.sleep(0.05)
        raise AssertionError("gladier serve never answered its health check")

    def stop(self) -> str:
        """Stop the server (as Ctrl-C does); returns what it wrote to stderr."""
        if self.process.poll() is None:
            self.process.send_signal(subprocess.signal.SIGINT)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.stderr.read()


def flows_client(served: Served, monkeypatch) -> tuple:
    """Unmodified globus-sdk clients pointed at the server, as a user would point them."""
    import globus_sdk

    monkeypatch.setenv("GLOBUS_SDK_SERVICE_URL_FLOWS", served.url)
    authorizer = globus_sdk.AccessTokenAuthorizer(served.token)
    return (globus_sdk.FlowsClient(authorizer=authorizer),
            lambda flow_id: globus_sdk.SpecificFlowClient(flow_id, authorizer=authorizer))


def wait_for_status(client, run_id: str, wanted: set, timeout: float = 60) -> dict:
    """The run document once its status is one of ``wanted``."""
    deadline = time.monotonic() + timeout
    while True:
        run = client.get_run(run_id).data
        if run["status"] in wanted:
            return run
        assert time.monotonic() < deadline, f"run {run_id} stayed {run['status']}"
        time.sleep(0.1)


def browser_available() -> bool:
    try:
        import playwright  # noqa: F401
    except ImportError:
        return False
    return os.path.exists(CHROMIUM)
