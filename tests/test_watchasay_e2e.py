"""A flow on the embedded engine calls the watchasay example Action Provider over HTTP.

watchasay (examples/watchasay) needs globus-sdk 3, so it runs from its own virtual
environment, examples/watchasay/.venv, which examples/watchasay/ci.sh creates (.ci/run calls
it before this suite). It listens on a free loopback port in development-token mode.
"""

import json
import pathlib
import secrets
import socket
import subprocess
import time
import urllib.error
import urllib.request

import pytest

EXAMPLE_DIR = pathlib.Path(__file__).resolve().parent.parent / "examples" / "watchasay"
EXAMPLE_PYTHON = EXAMPLE_DIR / ".venv" / "bin" / "python"
STARTUP_SECONDS = 60
RUN_TIMEOUT_SECONDS = 60


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as reply:
            return reply.status == 200
    except (urllib.error.URLError, OSError):
        return False


@pytest.fixture(scope="module")
def watchasay(tmp_path_factory):
    """(ActionUrl, dev token) of a watchasay process started for this module."""
    if not EXAMPLE_PYTHON.exists():
        pytest.skip(
            "examples/watchasay/.venv is missing: run `bash examples/watchasay/ci.sh` "
            "(as .ci/run does) to create watchasay's own environment"
        )
    token = secrets.token_urlsafe(24)
    port = _free_port()
    log_path = tmp_path_factory.mktemp("watchasay") / "server.log"
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [
                str(EXAMPLE_PYTHON),
                "app/",
                "--port",
                str(port),
                "--db",
                str(log_path.with_name("actions.db")),
            ],
            cwd=EXAMPLE_DIR,
            env={"WATCHASAY_DEV_TOKEN": token, "PATH": "/usr/bin:/bin"},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    action_url = f"http://127.0.0.1:{port}/skeleton"
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while not _answers(action_url + "/"):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"watchasay did not start:\n{log_path.read_text()}")
            time.sleep(0.1)
        yield action_url, token
    finally:
        process.terminate()
        process.wait(timeout=30)


def echo_flow(action_url: str) -> dict:
    """The README's example flow (examples/watchasay/echo_flow.json), pointed at our port."""
    definition = json.loads((EXAMPLE_DIR / "echo_flow.json").read_text())
    definition["States"]["Echo"]["ActionUrl"] = action_url
    return definition


def _run_echo(engine, action_url: str, text: str) -> dict:
    flow = engine.create_flow(echo_flow(action_url), title="watchasay echo")
    run = engine.run_flow(flow["id"], {"input": {"text": text}})
    return engine.wait(run["run_id"], timeout=RUN_TIMEOUT_SECONDS)


def test_flow_calls_watchasay_with_token_from_gladier_local_tokens(
    watchasay, tmp_path, monkeypatch
):
    from gladier.engine import LocalEngine

    action_url, token = watchasay
    monkeypatch.setenv("GLADIER_LOCAL_TOKENS", json.dumps({action_url: token}))
    engine = LocalEngine(db=str(tmp_path / "engine.db"))
    try:
        final = _run_echo(engine, action_url, "hello from a flow")
    finally:
        engine.close()
    assert final["status"] == "SUCCEEDED", final
    echo = final["details"]["output"]["echo"]
    assert echo["status"] == "SUCCEEDED"
    assert echo["details"]["you_said"] == "hello from a flow"


def test_flow_calls_watchasay_with_token_given_to_the_engine(watchasay, tmp_path, monkeypatch):
    from gladier.engine import LocalEngine

    action_url, token = watchasay
    monkeypatch.delenv("GLADIER_LOCAL_TOKENS", raising=False)
    engine = LocalEngine(db=str(tmp_path / "engine.db"), tokens={action_url: token})
    try:
        final = _run_echo(engine, action_url, "tokens= works too")
    finally:
        engine.close()
    assert final["status"] == "SUCCEEDED", final
    assert final["details"]["output"]["echo"]["details"]["you_said"] == "tokens= works too"


def test_flow_with_a_token_watchasay_refuses_fails_unable_to_run(
    watchasay, tmp_path, monkeypatch
):
    from gladier.engine import LocalEngine

    action_url, _ = watchasay
    monkeypatch.delenv("GLADIER_LOCAL_TOKENS", raising=False)
    engine = LocalEngine(
        db=str(tmp_path / "engine.db"), tokens={action_url: "not-the-dev-token-at-all"}
    )
    try:
        final = _run_echo(engine, action_url, "who am I?")
    finally:
        engine.close()
    assert final["status"] == "FAILED"
    assert "ActionUnableToRun" in json.dumps(final["details"])
