"""A canceled or timed-out action stops its work: a Transfer within the file it is copying,
a compute task in its worker; partial copies a crash left are removed when the Transfer
runs again."""

from __future__ import annotations

import os
import threading
import time

import pytest

from gladier.engine import LocalEngine
from gladier.engine.providers import transfer
from gladier.engine.providers.collection_roots import LocalCollections
from gladier.engine.providers.compute import process_running
from gladier.engine.providers.functions import LOCAL_ENDPOINT_ID
from gladier.engine.providers.transfer import LocalTransferService
from killed_child import written_lines

SRC = "6a1e4a5c-1111-4aaa-8aaa-000000000001"
DST = "6a1e4a5c-2222-4bbb-8bbb-000000000002"
FUNCTION_ID = "2c4e6a8b-1d3f-4a5b-8c7d-9e0f1a2b3c4d"


def _partials(directory) -> list[str]:
    return [name for name in os.listdir(directory) if name.endswith(".gladier-partial")]


@pytest.fixture
def big_file(tmp_path, monkeypatch):
    """4 MiB to copy a byte at a time: long enough to cancel in the middle."""
    monkeypatch.setattr(transfer, "COPY_CHUNK", 1)
    src, dst = tmp_path / "src", tmp_path / "dst"
    src.mkdir()
    dst.mkdir()
    (src / "big.bin").write_bytes(os.urandom(4 << 20))
    return src, dst


@pytest.fixture
def copy_until_canceled(big_file, monkeypatch):
    """The copy of big.bin cannot end before its cancel, however fast the machine: after
    its first chunk the copy waits (at most 30 s, then goes on) for its task's cancel."""
    monkeypatch.setattr(transfer, "COPY_CHUNK", 1 << 10)
    read = transfer._CancelableReader.read
    waited = threading.Event()

    def read_then_wait_for_cancel(self, size=-1):
        data = read(self, size)
        if not waited.is_set():
            waited.set()
            self.cancel.wait(30)
        return data

    monkeypatch.setattr(transfer._CancelableReader, "read", read_then_wait_for_cancel)
    return big_file


def test_cancel_stops_a_transfer_within_the_file_and_removes_its_partial_copy(
        copy_until_canceled):
    src, dst = copy_until_canceled
    service = LocalTransferService(LocalCollections({SRC: str(src), DST: str(dst)}))
    provider = service.provider("transfer")
    started = provider.run({"request_id": "r", "body": {
        "source_endpoint": SRC, "destination_endpoint": DST,
        "DATA": [{"source_path": "/big.bin", "destination_path": "/big.bin"}]}})
    deadline = time.time() + 30
    while not _partials(dst):
        assert time.time() < deadline, "the copy never started"
        time.sleep(0.005)
    canceled = provider.cancel(started["action_id"])
    assert canceled["details"]["fatal_error"]["code"] == "CANCELED"
    deadline = time.time() + 30
    while _partials(dst):
        assert time.time() < deadline, "the copy went on after the cancel"
        time.sleep(0.01)
    service.close()
    assert not (dst / "big.bin").exists()


def test_a_transfer_run_again_removes_the_partial_copy_a_crash_left(big_file, monkeypatch):
    src, dst = big_file
    monkeypatch.setattr(transfer, "COPY_CHUNK", 1 << 20)
    (dst / "big.bin.k2j4h1.gladier-partial").write_bytes(b"half a file")
    (dst / "other.bin.x.gladier-partial").write_bytes(b"another file's: kept")
    service = LocalTransferService(LocalCollections({SRC: str(src), DST: str(dst)}))
    provider = service.provider("transfer")
    started = provider.run({"request_id": "r", "body": {
        "source_endpoint": SRC, "destination_endpoint": DST,
        "DATA": [{"source_path": "/big.bin", "destination_path": "/big.bin"}]}})
    done = threading.Event()
    provider.add_done_callback(started["action_id"], lambda status: done.set())
    assert done.wait(60)
    service.close()
    assert provider.status(started["action_id"])["status"] == "SUCCEEDED"
    assert (dst / "big.bin").read_bytes() == (src / "big.bin").read_bytes()
    assert _partials(dst) == ["other.bin.x.gladier-partial"]


def test_a_transfer_past_its_wait_time_stops_and_the_run_records_the_timeout(
        copy_until_canceled, tmp_path):
    src, dst = copy_until_canceled
    with LocalEngine(str(tmp_path / "runs.db"), time_scale=0.05,
                     collections={SRC: str(src), DST: str(dst)}) as engine:
        flow_id = engine.create_flow({"StartAt": "Copy", "States": {"Copy": {
            "Type": "Action", "ActionUrl": "https://transfer.actions.globus.org/transfer",
            "WaitTime": 2, "End": True, "Parameters": {
                "source_endpoint": SRC, "destination_endpoint": DST,
                "DATA": [{"source_path": "/big.bin", "destination_path": "/big.bin"}]}}}})["id"]
        final = engine.wait(engine.run_flow(flow_id, {})["run_id"], timeout=60)
    assert final["status"] == "FAILED"
    assert final["details"]["details"]["exception"] == "ActionTimeout"
    deadline = time.time() + 30  # the copy's thread sees the cancel at its next byte
    while _partials(dst):
        assert time.time() < deadline, "the copy went on after the timeout"
        time.sleep(0.01)
    assert not (dst / "big.bin").exists()


def sleeper(workdir: str, seconds: float) -> str:
    with open(os.path.join(workdir, "begun.log"), "a") as f:
        f.write(f"{os.getpid()}\n")
    try:
        time.sleep(seconds)
    finally:  # runs when the task is stopped too
        with open(os.path.join(workdir, "left.log"), "a") as f:
            f.write(f"{seconds}\n")
    with open(os.path.join(workdir, "effects.log"), "a") as f:
        f.write("ended\n")
    return "slept"


def ready() -> str:
    return "ready"


def test_a_compute_task_past_its_wait_time_is_stopped_in_its_worker(tmp_path):
    """The task must have begun in its worker when the WaitTime (3 s here) passes: the
    pool's workers are started first, by another run (a cold pool on a busy machine can
    take longer than that to fork a worker; the task then never starts, rightly)."""
    with LocalEngine(str(tmp_path / "runs.db"), time_scale=0.1) as engine:
        warm = engine.create_flow({"StartAt": "Ready", "States": {"Ready": {
            "Type": "Action", "ActionUrl": "https://compute.actions.globus.org",
            "WaitTime": 6000, "End": True, "Parameters": {
                "endpoint": LOCAL_ENDPOINT_ID, "function": engine.register_function(ready)}}}})
        assert engine.wait(engine.run_flow(warm["id"], {})["run_id"],
                           timeout=120)["status"] == "SUCCEEDED"
        engine.register_function(sleeper, function_id=FUNCTION_ID)
        flow_id = engine.create_flow({"StartAt": "Sleep", "States": {
            "Sleep": {"Type": "Action", "ActionUrl": "https://compute.actions.globus.org",
                      "WaitTime": 30, "ResultPath": "$.Sleep",
                      "Parameters": {"endpoint": LOCAL_ENDPOINT_ID, "function": FUNCTION_ID,
                                     "kwargs": {"workdir": str(tmp_path), "seconds": 30}},
                      "Catch": [{"ErrorEquals": ["ActionTimeout"], "Next": "Again",
                                 "ResultPath": "$.error"}], "End": True},
            "Again": {"Type": "Action", "ActionUrl": "https://compute.actions.globus.org",
                      "WaitTime": 600, "ResultPath": "$.Again", "End": True,
                      "Parameters": {"endpoint": LOCAL_ENDPOINT_ID, "function": FUNCTION_ID,
                                     "kwargs": {"workdir": str(tmp_path), "seconds": 0}}}}})
        began = time.monotonic()
        final = engine.wait(engine.run_flow(flow_id["id"], {})["run_id"], timeout=60)
        took = time.monotonic() - began
    assert final["status"] == "SUCCEEDED", final["details"]
    assert final["details"]["output"]["error"]["exception"] == "ActionTimeout"
    assert took < 15, f"the engine waited {took:.1f} s"
    assert len(written_lines(str(tmp_path / "begun.log"))) == 2
    # the 30 s task was stopped in its worker right away, and only the second one ended
    deadline = time.time() + 30
    while len(written_lines(str(tmp_path / "left.log"))) < 2 and time.time() < deadline:
        time.sleep(0.05)
    assert sorted(written_lines(str(tmp_path / "left.log"))) == ["0", "30"]
    assert written_lines(str(tmp_path / "effects.log")) == ["ended"]


EXTERNAL = "7d0c3b2a-5e4f-4a1b-9c8d-000000000003"
CHILD = """
import concurrent.futures as cf, sys, time
sys.path.insert(0, {tests!r})
from test_reliability_stop_work import external_flow, sleeper, FUNCTION_ID, EXTERNAL
from gladier.engine import LocalEngine
engine = LocalEngine({db!r}, executors={{EXTERNAL: cf.ThreadPoolExecutor(2)}})
engine.register_function(sleeper, function_id=FUNCTION_ID)
print(engine.run_flow(engine.create_flow(external_flow({workdir!r}))["id"], {{}})["run_id"],
      flush=True)
time.sleep(600)
"""


def external_flow(workdir: str) -> dict:
    return {"StartAt": "Far", "States": {"Far": {
        "Type": "Action", "ActionUrl": "https://compute.actions.globus.org",
        "WaitTime": 600, "ResultPath": "$.Far", "End": True,
        "Parameters": {"endpoint": EXTERNAL, "function": FUNCTION_ID,
                       "kwargs": {"workdir": workdir, "seconds": 30}}}}}


def test_a_task_on_another_executor_lost_in_a_crash_is_reported_at_once(tmp_path):
    import concurrent.futures as cf

    from killed_child import run_and_kill

    db = str(tmp_path / "runs.db")
    script = CHILD.format(tests=os.path.dirname(os.path.abspath(__file__)), db=db,
                          workdir=str(tmp_path))
    run_id = run_and_kill(script, lambda _: bool(written_lines(str(tmp_path / "begun.log"))))
    with cf.ThreadPoolExecutor(2) as threads, \
            LocalEngine(db, executors={EXTERNAL: threads}) as engine:
        engine.register_function(sleeper, function_id=FUNCTION_ID)
        began = time.monotonic()
        assert engine.resume() == [run_id]
        final = engine.wait(run_id, timeout=60)
        took = time.monotonic() - began
    assert final["status"] == "FAILED"
    assert "TaskInterrupted" in final["details"]["details"]["cause"]
    assert took < 10, f"took {took:.1f} s to report the lost task"
    assert len(written_lines(str(tmp_path / "begun.log"))) == 1  # not run a second time
