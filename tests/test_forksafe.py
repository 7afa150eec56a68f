"""The local compute pool never forks its workers while gladier runs a program through
pipes (``dot``), so no worker keeps that program's pipes open and its caller never hangs
(see gladier.forksafe). Real pools, a real ``dot``."""

import multiprocessing
import shutil
import threading
import time

import pytest

from gladier.engine.providers.functions import LOCAL_ENDPOINT_ID
from gladier.forksafe import PROCESS_START_LOCK
from gladier.ui.graph import to_svg

COMPUTE_V3 = "https://compute.actions.globus.org/v3"


def double(x):
    return 2 * x


def test_pool_workers_wait_to_fork_while_a_program_runs_through_pipes(engine):
    function_id = engine.register_function(double)
    flow = engine.create_flow({"StartAt": "Double", "States": {"Double": {
        "Type": "Action", "ActionUrl": COMPUTE_V3, "ResultPath": "$.doubled", "End": True,
        "Parameters": {"endpoint_id": LOCAL_ENDPOINT_ID,
                       "tasks": [{"function_id": function_id, "args": [21]}]}}}})

    with PROCESS_START_LOCK:  # as while `dot` runs
        run_id = engine.run_flow(flow["id"], {"input": {}})["run_id"]
        time.sleep(0.5)
        assert multiprocessing.active_children() == []  # no worker forked meanwhile
        assert engine.get_run(run_id)["status"] == "ACTIVE"
    final = engine.wait(run_id, timeout=60)

    assert final["status"] == "SUCCEEDED", final["details"]
    assert final["details"]["output"]["doubled"]["details"]["result"] == [42]


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz 'dot' is not installed")
def test_dot_runs_only_while_no_pool_forks_its_workers():
    drawn = []
    drawing = threading.Thread(target=lambda: drawn.append(to_svg(
        {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}})))

    with PROCESS_START_LOCK:  # as while a pool forks its workers
        drawing.start()
        drawing.join(0.5)
        assert drawing.is_alive() and drawn == []
    drawing.join(60)

    assert drawn and drawn[0].lstrip().startswith("<?xml")
