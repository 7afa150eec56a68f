"""Crash tests: an engine process is SIGKILLed at random points of multi-state runs.

Each of 10 chains starts a few runs in a child process, kills it at a random point (inside a
compute function, during a Wait, between transitions, or after a random delay), lets a
new child resume and kills that one too, and so on; then ``LocalEngine(db).resume()`` in
this process finishes the runs. Every side effect (a line appended by a compute function
or by a Python action provider) is counted: each must happen exactly once, every run
must succeed, and the database must pass ``PRAGMA integrity_check`` after every kill.

The random points come from ``random.Random(SEED + chain)``; the summary printed at the
end (``pytest -s``) says what each kill interrupted.
"""

from __future__ import annotations

import collections
import concurrent.futures as cf
import fcntl
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from concurrent.futures.process import BrokenProcessPool

import pytest

from gladier.engine import LocalEngine
from gladier.engine.providers.compute import process_running, watch_parent
from gladier.engine.providers.functions import LOCAL_ENDPOINT_ID
from gladier.exc import ActionProviderError
from killed_child import record_effect, run_and_kill, written_lines

SEED = 20261123
CHAINS = 10
KILLS_PER_CHAIN = 6
RUNS_PER_CHAIN = 2
ROUNDS = 3  # each run goes round its loop three times
TIME_SCALE = 0.01  # the Wait of 40 s lasts 0.4 s; WaitTime 6000 s lasts 60 s
FUNCTION_ID = "6f1c0f5e-2b7e-4d55-9a43-0c2f52a1e7b1"
PROVIDER_URL = "https://provider.example.org/effects"
COMPUTE_URL = "https://compute.actions.globus.org"


def _task(step: str, seconds: float) -> dict:
    return {"endpoint": LOCAL_ENDPOINT_ID, "function": FUNCTION_ID,
            "kwargs": {"workdir.$": "$.input.workdir", "run.$": "$.input.name",
                       "round.$": "$.loop.i", "step": step, "seconds": seconds}}


FLOW = {
    "StartAt": "Begin",
    "States": {
        "Begin": {"Type": "Pass", "Result": {"i": 0}, "ResultPath": "$.loop", "Next": "C1"},
        "C1": {"Type": "Action", "ActionUrl": COMPUTE_URL, "Parameters": _task("C1", 0.4),
               "ResultPath": "$.c1", "WaitTime": 6000, "Next": "Nap"},
        "Nap": {"Type": "Wait", "Seconds": 40, "Next": "P1"},
        "P1": {"Type": "Action", "ActionUrl": PROVIDER_URL, "ResultPath": "$.p1",
               "Parameters": {"workdir.$": "$.input.workdir", "run.$": "$.input.name",
                              "round.$": "$.loop.i", "step": "P1"}, "Next": "C2"},
        "C2": {"Type": "Action", "ActionUrl": COMPUTE_URL, "ResultPath": "$.c2",
               "Parameters": {"tasks": [_task("C2a", 0.2), _task("C2b", 0.3)]},
               "WaitTime": 6000, "Next": "Count"},
        "Count": {"Type": "Pass", "Parameters": {"i.=": "loop.i + 1"}, "ResultPath": "$.loop",
                  "Next": "Again"},
        "Again": {"Type": "Choice", "Default": "Done", "Choices": [
            {"Variable": "$.loop.i", "NumericLessThan": ROUNDS, "Next": "C1"}]},
        "Done": {"Type": "Pass", "End": True},
    },
}
STEPS = ("C1", "P1", "C2a", "C2b")


def append_effect(workdir: str, run: str, step: str, round: int, seconds: float) -> str:
    """A compute function with a side effect: one line in effects.log when it ends."""
    record_effect(workdir, f"{run}:{step}:{round}", seconds)
    return step


class EffectProvider:
    """A Python action provider whose side effect is a line in effects.log. It honours
    ``request_id`` (the same request_id returns the recorded action), under a file lock
    shared by every process."""

    def __init__(self, workdir: str):
        self.workdir = workdir
        self.journal = os.path.join(workdir, "provider.jsonl")

    def _entries(self) -> list[dict]:
        if not os.path.exists(self.journal):
            return []
        with open(self.journal) as f:
            return [json.loads(line) for line in f if line.strip()]

    def run(self, request: dict) -> dict:
        body = request["body"]
        with open(os.path.join(self.workdir, "provider.lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not any(e["request_id"] == request["request_id"] for e in self._entries()):
                tag = f"{body['run']}:{body['step']}:{body['round']}"
                with open(self.journal, "a") as f:  # the record and the effect: one write
                    f.write(json.dumps({"request_id": request["request_id"], "tag": tag})
                            + "\n")
        return self.status(request["request_id"])

    def status(self, action_id: str) -> dict:
        for entry in self._entries():
            if entry["request_id"] == action_id:
                return {"action_id": action_id, "status": "SUCCEEDED",
                        "details": {"tag": entry["tag"]}}
        raise ActionProviderError(f"no action {action_id}", http_status=404)

    cancel = release = status


def build_engine(db: str, workdir: str) -> LocalEngine:
    engine = LocalEngine(db, time_scale=TIME_SCALE)
    engine.register_function(append_effect, function_id=FUNCTION_ID)
    engine.register_action_provider(PROVIDER_URL, EffectProvider(workdir))
    return engine


CHILD = """
import sys, time
sys.path.insert(0, {tests!r})
from test_reliability_crash import FLOW, RUNS_PER_CHAIN, build_engine
engine = build_engine({db!r}, {workdir!r})
if {start!r}:
    flow_id = engine.create_flow(FLOW)["id"]
    for i in range(RUNS_PER_CHAIN):
        engine.run_flow(flow_id, {{"input": {{"workdir": {workdir!r}, "name": f"r{{i}}"}}}})
else:
    engine.resume()
print("ready", flush=True)
time.sleep(600)
"""


# -- watching the child from outside --------------------------------------------------------


def _journal(db: str) -> tuple[list[str], list[str]]:
    """(codes of all log entries, status of each run), read-only; empty while locked."""
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1)
        try:
            codes = [r[0] for r in con.execute("SELECT code FROM log_entries ORDER BY rowid")]
            statuses = [r[0] for r in con.execute("SELECT status FROM runs")]
        finally:
            con.close()
    except sqlite3.Error:
        return [], []
    return codes, statuses


def _last_codes(db: str) -> list[str]:
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
    try:
        return [r[0] for r in con.execute(
            "SELECT code FROM log_entries e WHERE seq = (SELECT MAX(seq) FROM log_entries"
            " WHERE run_id = e.run_id)")]
    finally:
        con.close()


def _all_ended(statuses: list[str]) -> bool:
    return len(statuses) == RUNS_PER_CHAIN and all(s in ("SUCCEEDED", "FAILED")
                                                  for s in statuses)


def _trigger(rng: random.Random, db: str, workdir: str):
    """A random kill point: a function telling when to kill, and its name."""
    kind = rng.choice(["compute", "wait", "transition", "timer"])
    codes, _ = _journal(db)
    begun = len(written_lines(os.path.join(workdir, "begun.log")))
    waits = codes.count("WaitStarted")
    entries = len(codes) + rng.randint(1, 8)
    delay = rng.uniform(0.0, 0.3)
    timer = time.monotonic() + rng.uniform(0.05, 0.8)
    seen: list[float] = []

    def reached() -> bool:
        if kind == "timer":
            return time.monotonic() >= timer
        if kind == "transition":
            return len(_journal(db)[0]) >= entries
        if not seen:
            if kind == "compute":
                started = len(written_lines(os.path.join(workdir, "begun.log"))) > begun
            else:
                started = _journal(db)[0].count("WaitStarted") > waits
            if started:
                seen.append(time.monotonic())
            return False
        return time.monotonic() - seen[0] >= delay

    return reached, kind


def _what_was_interrupted(db: str, workdir: str) -> str:
    begun = collections.Counter(line.split()[0] for line in written_lines(f"{workdir}/begun.log"))
    ended = collections.Counter(written_lines(f"{workdir}/effects.log"))
    if begun - ended:
        return "inside a compute function"
    last = _last_codes(db)
    if "WaitStarted" in last:
        return "during a Wait"
    return "between transitions"


def _kill_once(rng: random.Random, db: str, workdir: str, *, start: bool) -> str | None:
    """Start a child engine, kill it at a random point; what it interrupted (None if its
    runs had all ended before the kill point came)."""
    script = CHILD.format(tests=os.path.dirname(__file__), db=db, workdir=workdir,
                          start=start)
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE,
                             text=True)
    try:
        assert child.stdout.readline().strip() == "ready", "the child engine did not start"
        reached, kind = _trigger(rng, db, workdir)
        deadline = time.monotonic() + 30
        while not reached():
            assert child.poll() is None, "the child engine died on its own"
            assert time.monotonic() < deadline, f"kill point {kind} never came"
            if _all_ended(_journal(db)[1]):
                return None
            time.sleep(0.005)
        child.send_signal(signal.SIGKILL)
        child.wait(10)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(10)
        child.stdout.close()
    return _what_was_interrupted(db, workdir)


def _integrity(db: str) -> str:
    con = sqlite3.connect(db, timeout=10)
    try:
        return con.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        con.close()


def _effect_counts(workdir: str) -> collections.Counter:
    counts = collections.Counter(written_lines(os.path.join(workdir, "effects.log")))
    counts.update(e["tag"] for e in EffectProvider(workdir)._entries())
    return counts


SURVIVED: collections.Counter = collections.Counter()


@pytest.mark.parametrize("chain", range(CHAINS))
def test_runs_finish_with_each_side_effect_once_after_repeated_sigkills(tmp_path, chain):
    rng = random.Random(SEED + chain)
    db, workdir = str(tmp_path / "engine.db"), str(tmp_path)
    interrupted = []
    for kill in range(KILLS_PER_CHAIN):
        what = _kill_once(rng, db, workdir, start=kill == 0)
        assert _integrity(db) == "ok", f"database corrupt after kill {kill + 1}"
        if what is None:
            break
        interrupted.append(what)

    with build_engine(db, workdir) as engine:
        engine.resume()
        runs = [engine.wait(run["run_id"], timeout=60) for run in engine.list_runs()]
    assert _integrity(db) == "ok"

    assert [run["status"] for run in runs] == ["SUCCEEDED"] * RUNS_PER_CHAIN, \
        [run["details"] for run in runs]
    expected = {f"r{i}:{step}:{round}" for i in range(RUNS_PER_CHAIN) for step in STEPS
                for round in range(ROUNDS)}
    counts = _effect_counts(workdir)
    assert set(counts) == expected
    assert {tag: n for tag, n in counts.items() if n != 1} == {}, "a side effect repeated"
    assert len(interrupted) >= 3, f"too few kills landed inside the runs: {interrupted}"
    SURVIVED.update(interrupted)
    print(f"\nchain {chain}: {len(interrupted)} kills survived: {interrupted}")


def test_orphaned_pool_workers_exit_once_their_engine_is_killed(tmp_path):
    """A child engine is killed while its workers run compute functions: the workers
    finish (their results are kept) and exit, none lingers; resume does not re-run them."""
    db, workdir = str(tmp_path / "engine.db"), str(tmp_path)
    script = CHILD.format(tests=os.path.dirname(__file__), db=db, workdir=workdir,
                          start=True)
    first_line = run_and_kill(
        script, lambda ready: len(written_lines(f"{workdir}/begun.log")) >= RUNS_PER_CHAIN)
    assert first_line == "ready"
    workers = {int(line.split()[1]) for line in written_lines(f"{workdir}/begun.log")}
    deadline = time.monotonic() + 10
    while any(process_running(pid) for pid in workers):
        assert time.monotonic() < deadline, "orphaned pool workers are still running"
        time.sleep(0.05)
    assert sorted(written_lines(f"{workdir}/effects.log")) == [f"r{i}:C1:0"
                                                        for i in range(RUNS_PER_CHAIN)]

    with build_engine(db, workdir) as engine:
        engine.resume()
        runs = [engine.wait(run["run_id"], timeout=60) for run in engine.list_runs()]
    assert {run["status"] for run in runs} == {"SUCCEEDED"}
    assert set(_effect_counts(workdir).values()) == {1}


def test_summary_of_crash_points_survived():
    if len(SURVIVED) == 0:
        pytest.skip("the crash chains did not run in this session")
    print(f"\ncrash points survived: {sum(SURVIVED.values())} {dict(SURVIVED)}")
    assert sum(SURVIVED.values()) >= 50


def test_a_task_whose_worker_died_without_a_result_fails_instead_of_running_again(tmp_path):
    """Exactly-once-or-detect: a claimed task with no result and a dead claimant is
    reported as TaskInterrupted, never silently re-run."""
    from gladier.engine.providers.actions import ResultStore, body_fingerprint
    from gladier.engine.providers.compute import ComputeProvider, TaskLedger, Batch
    from gladier.engine.providers.functions import FunctionRegistry

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    functions = FunctionRegistry()
    functions.register(append_effect, function_id=FUNCTION_ID)
    store = ResultStore(str(tmp_path / "engine.db"))
    provider = ComputeProvider(functions=functions, store=store, max_workers=1)
    request = {"request_id": "run:C1:1", "body": {
        "endpoint": LOCAL_ENDPOINT_ID, "function": FUNCTION_ID,
        "kwargs": {"workdir": str(tmp_path), "run": "r", "step": "C1", "round": 0,
                   "seconds": 0}}}
    action_id = provider._actions.action_id_for(request["request_id"])
    task_id = Batch(action_id, [None]).task_ids[0]
    ledger = TaskLedger(store.path)
    ledger.begin(action_id, body_fingerprint(request["body"]))  # the engine that died
    with open(ledger.journal(action_id), "a") as f:  # what a worker writes before a task
        f.write(json.dumps({"task": task_id, "pid": dead.pid}) + "\n")
    try:
        done = wait_for_action(provider, provider.run(request)["action_id"])
    finally:
        provider.close()
        store.close()
    assert done["status"] == "FAILED"
    assert done["details"]["exception"] == "TaskInterrupted"
    assert f"worker process {dead.pid} died" in done["details"]["description"]
    assert written_lines(str(tmp_path / "effects.log")) == []


def wait_for_action(provider, action_id, timeout=30):
    deadline = time.monotonic() + timeout
    while True:
        status = provider.status(action_id)
        if status["status"] in ("SUCCEEDED", "FAILED"):
            return status
        assert time.monotonic() < deadline
        time.sleep(0.02)


def test_a_worker_whose_engine_died_before_the_worker_started_exits():
    """The engine killed between forking a worker and the worker's initializer: the worker
    then sees its adopter as its parent, and exits (mid-task) because the engine is gone."""
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()  # a pid that no longer runs: the engine that forked the worker
    with cf.ProcessPoolExecutor(max_workers=1, initializer=watch_parent,
                                initargs=(gone.pid,)) as pool:
        task = pool.submit(time.sleep, 30)
        with pytest.raises(BrokenProcessPool):  # its worker exited; else TimeoutError
            task.result(timeout=20)
