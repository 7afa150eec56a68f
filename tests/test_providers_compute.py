"""The local Compute provider, with a real process pool."""

from __future__ import annotations

import concurrent.futures as cf
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid

import pytest

from gladier.engine.providers.actions import ResultStore
from gladier.engine.providers.compute import ComputeProvider, chunk_size, task_ids
from gladier.engine.providers.functions import (
    LOCAL_ENDPOINT_ID,
    FunctionRegistry,
    default_function_id,
)
from gladier.exc import ActionProviderError


def square(x):
    return x * x


def add(a, b=0):
    return a + b


def worker_pid():
    return os.getpid()


def divide_by_zero(x):
    return x / 0


def pair(x):
    return (x, str(x))


def append_line(path, text):
    with open(path, "a") as stream:
        stream.write(text + "\n")
    return text


def fails_on_threes(x):
    if x % 10 == 3:
        raise ValueError(f"bad {x}")
    return x


def line_then_wait_for(path, gate, text):
    """Log the start, then block until the gate file exists."""
    append_line(path, text)
    while not os.path.exists(gate):
        time.sleep(0.01)
    return text


def killed_at(x, at):
    if x == at:
        os.kill(os.getpid(), signal.SIGKILL)
    return x


@pytest.fixture(scope="module")
def functions():
    registry = FunctionRegistry()
    for func in (square, add, worker_pid, divide_by_zero, append_line, pair, fails_on_threes,
                 line_then_wait_for, killed_at):
        registry.register(func)
    return registry


@pytest.fixture(scope="module")
def pool_provider(functions):
    provider = ComputeProvider(functions=functions, max_workers=2)
    yield provider
    provider.close()


def fid(func):
    return default_function_id(func)


def wait_done(provider, action_id, timeout=60):
    done = threading.Event()
    provider.add_done_callback(action_id, lambda status: done.set())
    assert done.wait(timeout), "action did not finish"
    return provider.status(action_id)


def run(provider, body, request_id="run:Compute:0"):
    started = provider.run({"request_id": request_id, "body": body})
    return wait_done(provider, started["action_id"])


def test_v3_tasks_run_in_worker_processes_in_order(pool_provider):
    body = {
        "endpoint_id": LOCAL_ENDPOINT_ID,
        "tasks": [
            {"function_id": fid(square), "args": [3], "kwargs": {}},
            {"function_id": fid(add), "args": [], "kwargs": {"a": 1, "b": 2}},
            {"function_id": fid(worker_pid)},
        ],
    }
    final = run(pool_provider, body, "v3")
    assert final["status"] == "SUCCEEDED"
    assert final["details"]["result"][:2] == [9, 3]
    assert final["details"]["result"][2] != os.getpid()
    outputs = [entry["output"] for entry in final["details"]["results"]]
    assert outputs == final["details"]["result"]
    assert len({entry["task_id"] for entry in final["details"]["results"]}) == 3


def test_v2_top_level_payload_and_json_string_arguments(pool_provider):
    body = {
        "endpoint": "an-endpoint-that-only-exists-on-globus",
        "function": fid(add),
        "payload": {"a": 10, "b": 5},
        "tasks": [
            {"endpoint": LOCAL_ENDPOINT_ID, "function": fid(add), "args": "[1, 2]"},
            {"endpoint": LOCAL_ENDPOINT_ID, "function": fid(add), "kwargs": '{"a": 7}'},
        ],
    }
    final = run(pool_provider, body, "v2")
    assert final["details"]["result"] == [15, 3, 7]


def test_task_exception_fails_action_with_type_message_and_traceback(pool_provider):
    body = {
        "endpoint_id": LOCAL_ENDPOINT_ID,
        "tasks": [
            {"function_id": fid(square), "args": [2]},
            {"function_id": fid(divide_by_zero), "args": [1]},
        ],
    }
    final = run(pool_provider, body, "fails")
    details = final["status"], final["details"]
    assert details[0] == "FAILED"
    assert details[1]["exception"] == "ZeroDivisionError"
    assert details[1]["message"] == "division by zero"
    assert "divide_by_zero" in details[1]["traceback"]
    assert "Task 1 of 2" in details[1]["description"]
    assert details[1]["result"][0] == 4


def test_unregistered_function_is_refused_before_anything_runs(pool_provider):
    with pytest.raises(ActionProviderError) as caught:
        pool_provider.run(
            {
                "request_id": "unknown",
                "body": {"endpoint_id": LOCAL_ENDPOINT_ID, "tasks": [{"function_id": "nope"}]},
            }
        )
    assert caught.value.http_status == 400
    assert "'nope' is not registered locally" in str(caught.value)


@pytest.mark.parametrize(
    "body, named",
    [
        ({"endpoint_id": LOCAL_ENDPOINT_ID}, "'tasks'"),
        ({"endpoint_id": LOCAL_ENDPOINT_ID, "tasks": []}, "'tasks'"),
        ({"tasks": [{"function_id": "x"}]}, "tasks[0] names no compute endpoint"),
        ({"endpoint_id": LOCAL_ENDPOINT_ID, "tasks": [{"args": []}]}, "tasks[0] names no function"),
        ({"endpoint_id": "e", "tasks": [{"function_id": "x", "args": "[1,"}]}, "tasks[0].args"),
        ({"endpoint_id": "e", "tasks": [{"function_id": "x", "kwargs": [1]}]}, "tasks[0].kwargs"),
    ],
)
def test_malformed_bodies_are_refused_naming_the_field(pool_provider, body, named):
    with pytest.raises(ActionProviderError) as caught:
        pool_provider.run({"request_id": "bad", "body": body})
    assert caught.value.http_status == 400
    assert named in str(caught.value)


def test_same_request_runs_once_and_returns_the_same_action(pool_provider, tmp_path):
    marker = tmp_path / "calls.txt"
    body = {
        "endpoint_id": LOCAL_ENDPOINT_ID,
        "tasks": [{"function_id": fid(append_line), "args": [str(marker), "x"]}],
    }
    first = run(pool_provider, body, "once")
    again = pool_provider.run({"request_id": "once", "body": body})
    assert again["action_id"] == first["action_id"]
    assert again["status"] == "SUCCEEDED"
    assert marker.read_text() == "x\n"
    with pytest.raises(ActionProviderError) as caught:
        pool_provider.run({"request_id": "once", "body": dict(body, extra=1)})
    assert caught.value.http_status == 409


def test_finished_results_survive_a_restart_through_the_store(functions, tmp_path):
    marker = tmp_path / "calls.txt"
    store_path = str(tmp_path / "engine.db")
    body = {
        "endpoint_id": LOCAL_ENDPOINT_ID,
        "tasks": [{"function_id": fid(append_line), "args": [str(marker), "y"]}],
    }
    executor = cf.ThreadPoolExecutor(1)
    first_store = ResultStore(store_path)
    before = ComputeProvider(
        functions=functions, executors={LOCAL_ENDPOINT_ID: executor}, store=first_store
    )
    done = run(before, body, "durable")
    first_store.close()

    second_store = ResultStore(store_path)
    after = ComputeProvider(
        functions=functions, executors={LOCAL_ENDPOINT_ID: executor}, store=second_store
    )
    assert after.status(done["action_id"])["details"]["result"] == ["y"]
    resent = after.run({"request_id": "durable", "body": body})
    assert resent == done
    with pytest.raises(ActionProviderError) as caught:
        ComputeProvider(functions=functions, store=second_store).run(
            {"request_id": "durable", "body": dict(body, extra=1)})
    assert caught.value.http_status == 409
    assert marker.read_text() == "y\n"
    after.release(done["action_id"])
    with pytest.raises(ActionProviderError):
        ComputeProvider(functions=functions, store=second_store).status(done["action_id"])
    second_store.close()
    executor.shutdown()


def test_executor_given_for_an_endpoint_is_used(functions):
    with cf.ThreadPoolExecutor(2) as threads:
        provider = ComputeProvider(functions=functions, executors={"ep-threads": threads})
        final = run(
            provider, {"endpoint_id": "ep-threads", "tasks": [{"function_id": fid(worker_pid)}]}
        )
    assert final["details"]["result"] == [os.getpid()]


def test_strict_provider_refuses_endpoints_without_executor(functions):
    provider = ComputeProvider(functions=functions, strict=True)
    with pytest.raises(ActionProviderError) as caught:
        provider.run(
            {
                "request_id": "r",
                "body": {"endpoint_id": "remote-ep", "tasks": [{"function_id": fid(square)}]},
            }
        )
    assert "remote-ep" in str(caught.value)


def test_closures_and_lambdas_run_in_the_process_pool(pool_provider, functions):
    offset = 40
    function_id = functions.register(lambda x: x + offset, function_id="lambda-plus-offset")
    final = run(
        pool_provider,
        {"endpoint_id": LOCAL_ENDPOINT_ID, "tasks": [{"function_id": function_id, "args": [2]}]},
        "lambda",
    )
    assert final["details"]["result"] == [42]


def test_cancel_fails_the_action_and_calls_back_once(functions):
    gate = threading.Event()
    registry = FunctionRegistry()
    blocked = registry.register(lambda: gate.wait(30), function_id="blocked")
    calls = []
    with cf.ThreadPoolExecutor(1) as threads:
        provider = ComputeProvider(functions=registry, executors={"ep": threads})
        started = provider.run(
            {
                "request_id": "c",
                "body": {"endpoint_id": "ep", "tasks": [{"function_id": blocked}] * 3},
            }
        )
        provider.add_done_callback(started["action_id"], calls.append)
        with pytest.raises(ActionProviderError) as caught:
            provider.release(started["action_id"])
        assert caught.value.http_status == 409
        canceled = provider.cancel(started["action_id"])
        gate.set()
    assert canceled["status"] == "FAILED"
    assert canceled["details"]["code"] == "ActionCanceled"
    assert [call["status"] for call in calls] == ["FAILED"]
    assert provider.release(started["action_id"])["status"] == "FAILED"


@pytest.fixture
def ledger_provider(functions, tmp_path):
    """One worker and a task ledger: 64 tasks go in two chunks of 32."""
    store = ResultStore(str(tmp_path / "engine.db"))
    provider = ComputeProvider(functions=functions, store=store, max_workers=1)
    yield provider
    provider.close()
    store.close()


def tasks_of(func, args_list):
    return {"endpoint_id": LOCAL_ENDPOINT_ID,
            "tasks": [{"function_id": fid(func), "args": args} for args in args_list]}


def test_chunks_share_the_waiting_tasks_among_free_slots_but_hold_at_most_32():
    assert chunk_size(1000, 4) == 32
    assert chunk_size(64, 2) == 32
    assert chunk_size(10, 4) == 3
    assert chunk_size(3, 4) == 1
    assert chunk_size(100_000, 1) == 32


def test_a_failing_task_leaves_its_chunk_mates_results_alone(ledger_provider):
    final = run(ledger_provider, tasks_of(fails_on_threes, [[i] for i in range(64)]))

    assert final["status"] == "FAILED"
    assert "Task 3 of 64" in final["details"]["description"]
    assert final["details"]["result"] == [None if i % 10 == 3 else i for i in range(64)]
    for i, entry in enumerate(final["details"]["results"]):
        if i % 10 == 3:
            assert (entry["exception"], entry["message"]) == ("ValueError", f"bad {i}")
            assert "fails_on_threes" in entry["traceback"]
        else:
            assert entry == {"task_id": entry["task_id"], "output": i}
    assert len({entry["task_id"] for entry in final["details"]["results"]}) == 64


@pytest.mark.parametrize("then_release", [False, True])
def test_cancel_stops_tasks_of_chunks_already_sent_to_a_worker(ledger_provider, tmp_path,
                                                               then_release):
    log, gate = str(tmp_path / "started.log"), str(tmp_path / "gate")
    started = ledger_provider.run({"request_id": "canceled", "body": tasks_of(
        line_then_wait_for, [[log, gate, f"t{i}"] for i in range(64)])})
    while not os.path.exists(log):  # the first task of the first chunk runs
        time.sleep(0.01)

    canceled = ledger_provider.cancel(started["action_id"])
    if then_release:  # the ledger directory, and the cancel mark in it, are gone
        ledger_provider.release(started["action_id"])
    open(gate, "w").close()
    after = run(ledger_provider, tasks_of(square, [[2]]), "after")  # behind every chunk sent

    assert canceled["details"]["code"] == "ActionCanceled"
    assert after["details"]["result"] == [4]
    with open(log) as stream:
        assert stream.read() == "t0\n"


def test_cancel_wins_over_the_failure_of_the_task_it_stopped(ledger_provider, tmp_path,
                                                             monkeypatch):
    """The stopped task reports back (as failed) before cancel records the action as
    canceled: the action is still canceled, not failed by its task."""
    log, gate = str(tmp_path / "started.log"), str(tmp_path / "gate")
    started = ledger_provider.run({"request_id": "canceled", "body": tasks_of(
        line_then_wait_for, [[log, gate, "only"]])})
    while not os.path.exists(log):
        time.sleep(0.01)
    futures = ledger_provider._batches[started["action_id"]].chunks
    stop_running = ledger_provider._stop_running

    def stop_and_wait_for_the_task(action_id):
        stop_running(action_id)
        cf.wait(futures, timeout=30)  # the worker's chunk came back, its task stopped

    monkeypatch.setattr(ledger_provider, "_stop_running", stop_and_wait_for_the_task)
    canceled = ledger_provider.cancel(started["action_id"])

    assert all(future.done() for future in futures)
    assert canceled["details"]["code"] == "ActionCanceled"
    assert ledger_provider.status(started["action_id"])["details"]["code"] == "ActionCanceled"


def test_a_task_claimed_right_after_its_action_was_canceled_does_not_run(tmp_path,
                                                                       monkeypatch):
    """The worker saw no cancel mark; then the cancel wrote the mark and looked for claimed
    tasks to stop before the worker wrote its claim, so it signalled no one: the worker
    itself must not run the task. This process plays the pool worker, running the chunk
    a worker runs, with the cancel forced into that moment."""
    from gladier.engine.providers.compute import worker
    from gladier.engine.providers.compute.ledger import TaskLedger

    monkeypatch.setattr(worker._WORKER, "parent", os.getppid())
    ledger = TaskLedger(root=str(tmp_path / "tasks"))
    ledger.begin("action", "fingerprint")
    write = worker._Journals.write

    def cancel_then_claim(self, fd, lines, **kwargs):
        if '"pid"' in lines:  # the claim
            ledger.cancel("action")  # ComputeProvider.cancel: the mark, then the claims...
            assert ledger.unfinished("action") == {}  # ...of which there is none to signal
        write(self, fd, lines, **kwargs)

    monkeypatch.setattr(worker._Journals, "write", cancel_then_claim)
    ran = []
    outcomes = worker.LedgerChunk(ledger.root, [("action", False, "t0", ran.append,
                                                 ("ran",), {})])()

    assert ran == []
    assert [error["exception"] for _, error in outcomes] == ["TaskCanceled"]
    assert ledger.unfinished("action") == {}  # recorded as ended, stopped


def test_tasks_that_finished_before_their_worker_died_keep_their_results(ledger_provider):
    final = run(ledger_provider, tasks_of(killed_at, [[i, 2] for i in range(64)]))

    results = final["details"]["results"]
    assert final["status"] == "FAILED"
    assert [entry["output"] for entry in results[:2]] == [0, 1]
    assert all(entry["exception"] == "BrokenProcessPool" for entry in results[2:])


def test_default_function_id_follows_the_source():
    first, second = FunctionRegistry(), FunctionRegistry()
    assert first.register(square) == second.register(square) == default_function_id(square)
    assert default_function_id(square) != default_function_id(add)
    assert first.register(square, function_id="my-id") == "my-id"
    assert first.get("my-id") is square
    with pytest.raises(ActionProviderError):
        first.get("unknown-id")


SCRIPT = """
import concurrent.futures as cf, multiprocessing, threading
from gladier.engine.providers.compute import ComputeProvider, chunk_size, task_ids
from gladier.engine.providers.functions import FunctionRegistry

def shout(word):
    return word.upper() + "!"

if __name__ == "__main__":
    functions = FunctionRegistry()
    function_id = functions.register(shout)
    spawned = cf.ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
    provider = ComputeProvider(functions=functions, executors={"ep": spawned})
    started = provider.run({"request_id": "r", "body": {
        "endpoint_id": "ep", "tasks": [{"function_id": function_id, "args": ["hi"]}]}})
    done = threading.Event()
    provider.add_done_callback(started["action_id"], lambda status: done.set())
    done.wait(60)
    print(provider.status(started["action_id"])["details"]["result"][0])
    spawned.shutdown()
"""


def test_functions_typed_into_an_interpreter_run_in_spawned_workers(tmp_path):
    # code given with -c has no file a spawned worker could import, like a notebook's
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120, cwd=tmp_path
    )
    assert result.stdout.strip() == "HI!", result.stderr


def test_tuple_outputs_become_json_lists_and_scalars_stay_as_they_are(pool_provider):
    body = {
        "endpoint_id": LOCAL_ENDPOINT_ID,
        "tasks": [{"function_id": fid(pair), "args": [7]},
                  {"function_id": fid(square), "args": [1.5]}],
    }
    final = run(pool_provider, body, "json-outputs")
    assert final["details"]["result"] == [[7, "7"], 2.25]


def test_task_ids_are_distinct_uuids_that_a_restart_derives_again():
    action_id = "9b0a8f64-31a2-4c55-9d1e-fffffffffffe"
    ids = task_ids(action_id, 5)
    assert ids == task_ids(action_id, 5)
    assert len(set(ids)) == 5 and action_id not in ids
    assert all(str(uuid.UUID(task_id)) == task_id for task_id in ids)
    assert ids[0].startswith("9b0a8f64-31a2-4c55-9d1e-")


START_METHOD_SCRIPT = """
import multiprocessing, os, sys, threading
if __name__ == "__main__":
    multiprocessing.set_start_method(sys.argv[1])
    from gladier.engine.providers.actions import ResultStore
    from gladier.engine.providers.compute import ComputeProvider
    from gladier.engine.providers.functions import LOCAL_ENDPOINT_ID, FunctionRegistry
    functions = FunctionRegistry()
    function_id = functions.register(os.getpid)
    provider = ComputeProvider(functions=functions, store=ResultStore("engine.db"),
                               max_workers=2)
    done = threading.Event()
    body = {"endpoint_id": LOCAL_ENDPOINT_ID,
            "tasks": [{"function_id": function_id} for _ in range(20)]}
    action = provider.run({"request_id": "r", "body": body})
    provider.add_done_callback(action["action_id"], lambda status: done.set())
    done.wait(60)
    final = provider.status(action["action_id"])
    print(final["status"], len(final["details"]["result"]))
    provider.close()
"""


@pytest.mark.parametrize("method", ["forkserver", "spawn"])
def test_journaled_tasks_run_with_every_worker_start_method(tmp_path, method):
    # workers watch for their engine's death; that must not mistake a forkserver parent
    result = subprocess.run(
        [sys.executable, "-c", START_METHOD_SCRIPT, method],
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
    )
    assert result.stdout.strip() == "SUCCEEDED 20", result.stderr


def journal_lines(provider, action_id):
    with open(provider._ledger.journal(action_id)) as stream:
        return [json.loads(line) for line in stream.read().splitlines() if line]


def test_one_task_actions_arriving_while_the_worker_is_busy_share_chunks(ledger_provider,
                                                                        tmp_path):
    """Tasks of several actions go to the worker in one pool submission, and each is still
    claimed once and recorded once in its own action's journal."""
    log, gate = str(tmp_path / "started.log"), str(tmp_path / "gate")
    blocker = ledger_provider.run({"request_id": "blocker", "body": tasks_of(
        line_then_wait_for, [[log, gate, "b"], [log, gate, "c"]])})
    while not os.path.exists(log):
        time.sleep(0.01)
    started = [ledger_provider.run({"request_id": f"one:{i}", "body": tasks_of(square, [[i]])})
               for i in range(20)]
    open(gate, "w").close()
    finals = [wait_done(ledger_provider, status["action_id"]) for status in started]
    wait_done(ledger_provider, blocker["action_id"])

    assert [final["details"]["result"] for final in finals] == [[i * i] for i in range(20)]
    for status, final in zip(started, finals):
        task_id = final["details"]["results"][0]["task_id"]
        lines = [line for line in journal_lines(ledger_provider, status["action_id"])
                 if line.get("task") == task_id]
        assert [sorted(line) for line in lines] == [["pid", "task"], ["output", "task"]]
    for status in started:
        ledger_provider.release(status["action_id"])
        assert not ledger_provider._ledger.started_before(status["action_id"])


def test_the_feeder_sends_waiting_tasks_of_many_actions_in_one_chunk(functions, tmp_path):
    store = ResultStore(str(tmp_path / "engine.db"))
    provider = ComputeProvider(functions=functions, store=store, max_workers=1)
    sent = []
    original = provider._feeder._on_sent
    provider._feeder._on_sent = lambda items, future: (sent.append(
        {item.batch.action_id for item in items}), original(items, future))
    log, gate = str(tmp_path / "started.log"), str(tmp_path / "gate")
    try:
        blockers = [provider.run({"request_id": f"block:{i}", "body": tasks_of(
            line_then_wait_for, [[log, gate, str(i)]])}) for i in range(2)]  # both slots
        started = [provider.run({"request_id": f"one:{i}", "body": tasks_of(square, [[i]])})
                   for i in range(10)]
        open(gate, "w").close()
        finals = [wait_done(provider, s["action_id"]) for s in blockers + started]
    finally:
        provider.close()
        store.close()
    assert [final["details"]["result"] for final in finals[2:]] == [[i * i] for i in range(10)]
    assert max(len(actions) for actions in sent) > 1  # one submission, several actions
    assert sum(len(actions) for actions in sent) == 12  # every task sent once


def test_a_finished_pool_action_is_answered_from_the_ledger_after_a_restart(functions,
                                                                           tmp_path):
    """The result store keeps nothing of an action whose tasks all ran in the local pool:
    a new provider (the engine restarted) answers the re-sent request from the task
    ledger, running nothing again, and still refuses the same request id with another
    body."""
    marker = tmp_path / "calls.txt"
    store_path = str(tmp_path / "engine.db")
    body = tasks_of(append_line, [[str(marker), "x"], [str(marker), "y"]])
    first_store = ResultStore(store_path)
    before = ComputeProvider(functions=functions, store=first_store, max_workers=1)
    done = run(before, body, "durable")
    before.close()
    first_store.close()

    second_store = ResultStore(store_path)
    assert second_store.find_request("compute", "durable") is None
    after = ComputeProvider(functions=functions, store=second_store, max_workers=1)
    try:
        with pytest.raises(ActionProviderError) as caught:
            after.run({"request_id": "durable", "body": dict(body, extra=1)})
        assert caught.value.http_status == 409
        again = run(after, body, "durable")
    finally:
        after.close()
        second_store.close()
    assert again["action_id"] == done["action_id"]
    assert again["details"]["results"] == done["details"]["results"]
    assert marker.read_text() == "x\ny\n"


def test_a_canceled_pool_action_stays_canceled_after_a_restart(functions, tmp_path):
    """Canceled, then the engine restarted before the run heard of it: the re-sent request
    gets the canceled action back, and its tasks not yet started never run."""
    log, gate = str(tmp_path / "started.log"), str(tmp_path / "gate")
    store = ResultStore(str(tmp_path / "engine.db"))
    body = tasks_of(line_then_wait_for, [[log, gate, f"t{i}"] for i in range(4)])
    before = ComputeProvider(functions=functions, store=store, max_workers=1)
    started = before.run({"request_id": "canceled", "body": body})
    while not os.path.exists(log):
        time.sleep(0.01)
    before.cancel(started["action_id"])
    open(gate, "w").close()
    before.close()

    after = ComputeProvider(functions=functions, store=store, max_workers=1)
    try:
        again = after.run({"request_id": "canceled", "body": body})
    finally:
        after.close()
        store.close()
    assert again["action_id"] == started["action_id"]
    assert (again["status"], again["details"]["code"]) == ("FAILED", "ActionCanceled")
    with open(log) as stream:
        assert stream.read() == "t0\n"
