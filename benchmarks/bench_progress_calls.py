"""Flows API calls ``progress()`` makes while following a 10-minute run on the Globus path.

``gladier.managers.FlowsManager.progress`` follows a simulated run answered by
``responses``: the canned ``get_run`` document of ``globus_sdk.testing``, ACTIVE with the
latest log entry in its details until 10 simulated minutes have passed, then SUCCEEDED.
The run visits ``--states`` Pass states one after another (100 by default, a new one every
6 s, so several start and finish between two polls) and its log is served in pages of at
most 100 entries with markers, as the Flows service does. ``progress()`` is given a plain
line display, which reads the log; every state must be shown started and finished exactly
once. ``time.sleep`` and ``time.monotonic`` are patched to move a fake clock, so the
benchmark takes no real time. Every HTTP request the SDK sends is counted, per route.
Goal: <= 40 calls.

With ``--reference`` the same scenario is run against Gladier 0.11's FlowsManager in the
reference environment (see bench_import.py), for comparison; it only polls the run.

    python benchmarks/bench_progress_calls.py [--minutes 10] [--states 100] [--reference]
"""

from __future__ import annotations

import argparse
import collections
import copy
import datetime
import io
import json
import re
import sys
import time
import typing as t
import urllib.parse
from unittest import mock

from _common import Result, child_reply, report, run_child

GOAL_CALLS = 40
#: The most log entries the Flows service returns in one page.
MAX_LOG_PAGE = 100
STARTED = datetime.datetime(2026, 3, 1, 10, 0, tzinfo=datetime.timezone.utc)


class FakeClock:
    """``sleep`` moves the clock instead of waiting."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += max(float(seconds), 0.0)

    def monotonic(self) -> float:
        return self.now


def run_log(run_seconds: float, states: int) -> list[tuple[float, dict]]:
    """(second, entry) of every log entry of the simulated run, oldest first."""

    def entry(second: float, code: str, state: str | None = None) -> tuple[float, dict]:
        details = {"state_name": state, "state_type": "Pass"} if state else {}
        when = (STARTED + datetime.timedelta(seconds=second)).isoformat()
        return second, {"time": when, "code": code, "description": code, "details": details}

    step = run_seconds / states
    entries = [entry(0, "FlowStarted")]
    for index in range(states):
        entries.append(entry(index * step, "PassStarted", f"Step{index}"))
        entries.append(entry((index + 1) * step, "PassCompleted", f"Step{index}"))
    return entries + [entry(run_seconds, "FlowSucceeded")]


def follow(make_manager: t.Callable[[], t.Any], run_seconds: float, states: int,
           display: bool) -> dict:
    """Follow one run with the manager ``make_manager()`` returns; count the requests."""
    import globus_sdk
    import responses
    from globus_sdk.testing import get_response_set

    run_doc = get_response_set(globus_sdk.FlowsClient.get_run).lookup("default").responses[0].json
    run_id = run_doc["run_id"]
    clock = FakeClock()
    log = run_log(run_seconds, states)

    def logged() -> list[dict]:
        return [entry for second, entry in log if second <= clock.now]

    def answer_run(request: t.Any) -> tuple[int, dict, str]:
        document = copy.deepcopy(run_doc)
        status = "ACTIVE" if clock.now < run_seconds else "SUCCEEDED"
        document["status"] = document["display_status"] = status
        document["start_time"], document["completion_time"] = log[0][1]["time"], None
        if status == "SUCCEEDED":
            document["completion_time"] = log[-1][1]["time"]
        else:
            document["details"] = logged()[-1]
        return 200, {"Content-Type": "application/json"}, json.dumps(document)

    def answer_log(request: t.Any) -> tuple[int, dict, str]:
        query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(request.url).query))
        limit = min(int(query.get("limit", 10)), MAX_LOG_PAGE)
        offset = int(query.get("marker", 0))
        entries = logged()
        page = {"limit": limit, "entries": entries[offset:offset + limit],
                "has_next_page": offset + limit < len(entries)}
        if page["has_next_page"]:
            page["marker"] = str(offset + limit)
        return 200, {"Content-Type": "application/json"}, json.dumps(page)

    manager = make_manager()
    seen: list[str] = []
    shown = io.StringIO()
    if display:
        from gladier.ui.progress import LineRenderer

        callback: t.Callable = LineRenderer(file=shown)
    else:
        callback = lambda run: seen.append(run["status"])  # noqa: E731
    runs = r".*/runs/" + re.escape(run_id)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mocked, \
            mock.patch.object(time, "sleep", clock.sleep), \
            mock.patch.object(time, "monotonic", clock.monotonic):
        mocked.add_callback("GET", re.compile(runs + "$"), answer_run)
        mocked.add_callback("GET", re.compile(runs + r"/log(\?.*)?$"), answer_log)
        last = manager.progress(run_id, callback=callback)
        calls = [(call.request.method, call.request.path_url) for call in mocked.calls]
    final = last["status"] if isinstance(last, dict) else seen[-1] if seen else None
    if final != "SUCCEEDED":
        raise SystemExit(f"progress did not follow the run to its end (last: {final})")
    if display:
        text = shown.getvalue()
        wrong = [f"Step{index}" for index in range(states)
                 if text.count(f"state Step{index} (Pass) started") != 1
                 or text.count(f"state Step{index} (Pass) succeeded") != 1]
        if wrong:
            raise SystemExit(f"states not shown started and finished once: {wrong[:5]}")
    routes = collections.Counter(
        f"{method} {re.sub(r'[0-9a-f-]{36}', '{id}', path.split('?')[0])}"
        for method, path in calls)
    return {"calls": len(calls), "routes": dict(sorted(routes.items())),
            "simulated_seconds": clock.now, "sleeps": clock.sleeps}


def authorizers(scopes: t.Iterable[str]) -> dict:
    import globus_sdk

    return {scope: globus_sdk.AccessTokenAuthorizer("benchmark-token") for scope in scopes}


def our_manager() -> t.Any:
    from gladier.managers import CallbackLoginManager, FlowsManager
    from gladier.managers.flows_manager import FLOWS_SCOPES

    return FlowsManager(login_manager=CallbackLoginManager(authorizers(FLOWS_SCOPES)))


def reference_manager() -> t.Any:
    """Gladier 0.11's FlowsManager (run in the reference environment)."""
    from gladier.managers import CallbackLoginManager, FlowsManager
    from globus_sdk.scopes import FlowsScopes

    scopes = [str(s) for s in (FlowsScopes.manage_flows, FlowsScopes.view_flows,
                               FlowsScopes.run, FlowsScopes.run_status,
                               FlowsScopes.run_manage)]
    return FlowsManager(login_manager=CallbackLoginManager(authorizers(scopes)))


def main(argv: list[str] | None = None) -> Result:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--states", type=int, default=100,
                        help="states the simulated run visits, one after another")
    parser.add_argument("--reference", action="store_true",
                        help="also count Gladier 0.11's calls (reference environment)")
    parser.add_argument("--ref-venv", default=None)
    parser.add_argument("--child-reference", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    seconds = args.minutes * 60
    if args.child_reference:
        child_reply(follow(reference_manager, seconds, args.states, display=False))
        sys.exit(0)

    ours = follow(our_manager, seconds, args.states, display=True)
    figures: dict[str, t.Any] = {
        "simulated run (s)": seconds,
        "states visited": args.states,
        "ours: API calls": ours["calls"],
        "ours: calls per route": ", ".join(f"{route}: {count}"
                                           for route, count in ours["routes"].items()),
        "ours: waits between polls (s)": " ".join(f"{s:g}" for s in ours["sleeps"]),
    }
    notes = []
    if args.reference:
        from bench_import import DEFAULT_REF_VENV, ensure_reference

        python = ensure_reference(args.ref_venv or DEFAULT_REF_VENV, extras=("responses",))
        try:
            ref = run_child([__file__, "--child-reference", "--minutes", str(args.minutes),
                             "--states", str(args.states)], python=python)
            figures["reference 0.11: API calls"] = ref["calls"]
        except RuntimeError as err:
            notes.append(f"reference run failed: {str(err).splitlines()[-1]}")
    return Result(
        name=f"Flows API calls of progress() over a {args.minutes:g}-minute run",
        figures=figures,
        goal=f"<= {GOAL_CALLS} calls",
        met=ours["calls"] <= GOAL_CALLS,
        measure="ours: API calls",
        notes=notes,
    )


if __name__ == "__main__":
    report(main())
