"""`python app/` as a real process: development mode, refusals, and restart durability."""

import json
import os
import pathlib
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

import config
from local_auth import DEV_IDENTITY_ID

EXAMPLE_DIR = pathlib.Path(__file__).resolve().parent.parent
DEV_TOKEN = "dev-token-for-server-tests"
STARTUP_SECONDS = 30


def _environment(**extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WATCHASAY_")}
    return {**env, **extra}


def _start(args, env) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "app/", *args],
        cwd=EXAMPLE_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _refused_start(args, env) -> subprocess.CompletedProcess:
    """Run the app where it should refuse to start (it exits; nothing to stop)."""
    return subprocess.run([sys.executable, "app/", *args], cwd=EXAMPLE_DIR, env=env,
                          capture_output=True, text=True, timeout=60)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _call(url, *, method="GET", payload=None, token=DEV_TOKEN):
    request = urllib.request.Request(url, method=method)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    data = None if payload is None else json.dumps(payload).encode()
    try:
        with urllib.request.urlopen(request, data=data, timeout=10) as reply:
            return reply.status, json.load(reply)
    except urllib.error.HTTPError as err:
        return err.code, json.load(err)


@pytest.fixture
def dev_server(tmp_path):
    """Starts watchasay in development mode; call again to restart it on the same files."""
    port = _free_port()
    processes = []

    def start():
        for earlier in processes:
            earlier.terminate()
            earlier.wait(timeout=10)
        process = _start(
            ["--port", str(port), "--db", str(tmp_path / "actions.db")],
            _environment(WATCHASAY_DEV_TOKEN=DEV_TOKEN),
        )
        processes.append(process)
        base = f"http://127.0.0.1:{port}/skeleton"
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline and process.poll() is None:
            try:
                _call(base + "/", token=None)
                return base
            except OSError:
                time.sleep(0.1)
        process.kill()
        pytest.fail(f"watchasay did not start: {process.communicate()[0]}")

    yield start
    for process in processes:
        process.terminate()
        process.wait(timeout=10)
        process.stdout.close()


def test_dev_mode_accepts_the_dev_token_as_one_fixed_identity(dev_server):
    base = dev_server()
    status, action = _call(
        base + "/run", method="POST", payload={"request_id": "r1", "body": {"input_string": "hi"}}
    )
    assert status == 202
    assert action["details"] == {"you_said": "hi"}
    assert action["creator_id"] == f"urn:globus:auth:identity:{DEV_IDENTITY_ID}"


def test_dev_mode_refuses_any_other_token(dev_server):
    base = dev_server()
    status, _ = _call(
        base + "/run",
        method="POST",
        payload={"request_id": "r1", "body": {"input_string": "hi"}},
        token="dev-token-for-server-testz",
    )
    assert status == 401


def test_restarted_server_keeps_actions_and_deduplication(dev_server):
    request = {"request_id": "r1", "body": {"input_string": "still here"}}
    status, action = _call(dev_server() + "/run", method="POST", payload=request)
    assert status == 202

    base = dev_server()  # a new process on the same database
    assert _call(f"{base}/{action['action_id']}/status") == (200, action)
    assert _call(base + "/run", method="POST", payload=request) == (200, action)
    changed = {"request_id": "r1", "body": {"input_string": "changed"}}
    assert _call(base + "/run", method="POST", payload=changed)[0] == 409


def test_dev_mode_says_so_in_the_log(tmp_path):
    process = _start(
        ["--port", str(_free_port()), "--db", str(tmp_path / "a.db")],
        _environment(WATCHASAY_DEV_TOKEN=DEV_TOKEN),
    )
    try:
        first_line = process.stdout.readline()
    finally:
        process.terminate()
        process.communicate(timeout=10)
    assert "DEVELOPMENT MODE" in first_line
    assert DEV_IDENTITY_ID in first_line
    assert DEV_TOKEN not in first_line


@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.10", "example.org"])
def test_dev_mode_refuses_to_listen_beyond_loopback(tmp_path, host):
    result = _refused_start(["--host", host, "--db", str(tmp_path / "a.db")],
                            _environment(WATCHASAY_DEV_TOKEN=DEV_TOKEN))
    assert result.returncode == 2
    assert "refusing to start" in result.stderr
    assert f"--host {host} is not" in result.stderr


def test_an_action_store_that_cannot_be_opened_is_one_error_line_and_exit_2(tmp_path):
    db = tmp_path / "no" / "such" / "dir" / "x.db"
    result = _refused_start(["--db", str(db)], _environment(WATCHASAY_DEV_TOKEN=DEV_TOKEN))
    assert result.returncode == 2
    assert f"cannot open action store {db}: unable to open database file" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.skipif(
    bool(config.CLIENT_ID or config.CLIENT_SECRET or config.SCOPE),
    reason="app/config.py holds credentials, so the server would start",
)
def test_missing_credentials_refuse_to_start(tmp_path):
    result = _refused_start(["--db", str(tmp_path / "a.db")], _environment())
    assert result.returncode == 2
    assert "CLIENT_ID, CLIENT_SECRET, SCOPE not set" in result.stderr
