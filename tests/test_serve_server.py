"""``gladier serve`` as a process: its token, its address, TLS, and other engines' runs."""

import datetime
import json
import os
import ssl
import stat
import subprocess
import sys
import textwrap
import time
import urllib.request

import pytest

from served import Served, flows_client, gladier_command, wait_for_status

pytest.importorskip("starlette")

NAP = {"StartAt": "Nap", "States": {
    "Nap": {"Type": "Wait", "Seconds": 3, "Next": "Done"},
    "Done": {"Type": "Pass", "Result": {"ok": True}, "ResultPath": "$.done", "End": True}}}


def test_token_is_generated_once_kept_owner_only_and_printed_with_the_url(tmp_path):
    db = str(tmp_path / "t.db")
    first = Served(db)
    first.stop()
    path = tmp_path / "t.db-serve-token"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert path.read_text().strip() == first.token and len(first.token) >= 32
    assert first.dashboard_url == f"http://127.0.0.1:{first.port}/?token={first.token}"
    again = Served(db)
    again.stop()
    assert again.token == first.token  # a restart keeps the bookmarked URL working


def test_gladier_serve_token_sets_the_token(tmp_path):
    served = Served(str(tmp_path / "t.db"), env={"GLADIER_SERVE_TOKEN": "x" * 20})
    try:
        assert served.token == "x" * 20
        request = urllib.request.Request(served.url + "runs",
                                         headers={"Authorization": "Bearer " + "x" * 20})
        with urllib.request.urlopen(request, timeout=10) as answer:
            assert json.loads(answer.read())["runs"] == []
    finally:
        served.stop()
    assert not (tmp_path / "t.db-serve-token").exists()


def test_a_token_file_others_can_read_is_refused(tmp_path):
    db = tmp_path / "t.db"
    token_file = tmp_path / "t.db-serve-token"
    token_file.write_text("a" * 40)
    token_file.chmod(0o644)
    finished = subprocess.run(gladier_command("serve", "--db", str(db), "--port", "0"),
                              capture_output=True, text=True, timeout=60)
    assert finished.returncode == 2
    assert "can be read by others" in finished.stderr and "chmod 600" in finished.stderr


def test_only_loopback_is_served_without_a_warning():
    from gladier.serve.server import is_loopback, plain_http_warning

    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.0.2.1")
    assert plain_http_warning("127.0.0.1", tls=False) is None
    assert "without TLS" in plain_http_warning("0.0.0.0", tls=False)
    assert plain_http_warning("0.0.0.0", tls=True) is None


def _self_signed(tmp_path):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    import ipaddress

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return str(cert_path), str(key_path)


def test_tls_serves_https_with_the_given_certificate(tmp_path):
    cert, key = _self_signed(tmp_path)
    process = subprocess.Popen(
        gladier_command("serve", "--db", str(tmp_path / "t.db"), "--port", "0",
                        "--certfile", cert, "--keyfile", key),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        lines = [process.stdout.readline(), process.stdout.readline()]
        url = lines[1].split("dashboard ", 1)[1].strip()
        assert url.startswith("https://127.0.0.1:")
        base, token = url.split("/?token=")
        context = ssl.create_default_context(cafile=cert)
        request = urllib.request.Request(base + "/flows",
                                         headers={"Authorization": f"Bearer {token}"})
        for _ in range(100):
            try:
                with urllib.request.urlopen(request, context=context, timeout=10) as answer:
                    assert json.loads(answer.read())["flows"] == []
                    break
            except urllib.error.URLError:
                time.sleep(0.1)
        else:
            raise AssertionError("the TLS server never answered")
    finally:
        process.terminate()
        process.wait(timeout=30)


ANOTHER_ENGINE = textwrap.dedent("""
    import json, sys
    from gladier.engine import LocalEngine
    engine = LocalEngine(sys.argv[1], time_scale=float(sys.argv[3]))
    flow = engine.create_flow(json.loads(sys.argv[2]), title="From a script")
    run = engine.run_flow(flow["id"], {}, label="scripted")
    print(run["run_id"], flush=True)
    if sys.argv[4] == "wait":
        print(engine.wait(run["run_id"], timeout=60)["status"], flush=True)
    engine.close()
""")


def _script(db: str, *, scale: str, then: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", ANOTHER_ENGINE, db, json.dumps(NAP), scale,
                             then], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _one_of_each(flows, run_id: str) -> list[str]:
    codes = [entry["code"] for entry in flows.paginated.get_run_logs(run_id, limit=100).items()]
    assert codes == ["FlowStarted", "WaitStarted", "WaitCompleted", "PassStarted",
                     "PassCompleted", "FlowSucceeded"], codes
    return codes


def test_runs_of_another_live_engine_show_live_and_are_driven_by_it_alone(served, monkeypatch):
    flows, _ = flows_client(served, monkeypatch)
    script = _script(served.db, scale="1", then="wait")
    run_id = script.stdout.readline().strip()
    seen = wait_for_status(flows, run_id, {"ACTIVE", "SUCCEEDED"})
    assert seen["status"] == "ACTIVE" and seen["label"] == "scripted"
    assert [run["run_id"] for run in flows.list_runs(
        query_params={"filter_status": "ACTIVE"})["runs"]] == [run_id]
    assert script.stdout.readline().strip() == "SUCCEEDED"
    assert script.wait(timeout=60) == 0
    assert wait_for_status(flows, run_id, {"SUCCEEDED"})["status"] == "SUCCEEDED"
    _one_of_each(flows, run_id)


def test_a_run_whose_engine_is_gone_is_continued_by_the_server_once(served, monkeypatch):
    flows, _ = flows_client(served, monkeypatch)
    script = _script(served.db, scale="1", then="exit")
    run_id = script.stdout.readline().strip()
    assert script.wait(timeout=60) == 0  # it left the run ACTIVE, in its Wait
    assert flows.get_run(run_id)["status"] == "ACTIVE"
    done = wait_for_status(flows, run_id, {"SUCCEEDED", "FAILED"}, timeout=90)
    assert done["status"] == "SUCCEEDED"
    _one_of_each(flows, run_id)
