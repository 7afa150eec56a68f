"""Flows API calls ``progress()`` makes while following a 10-minute run on the Globus path.

``gladier.managers.FlowsManager.progress`` follows a run answered by ``responses`` with the
canned ``get_run`` document of ``globus_sdk.testing``: ACTIVE until 10 simulated minutes
have passed, then SUCCEEDED. ``time.sleep`` and ``time.monotonic`` are patched to move a
fake clock, so the benchmark takes no real time. Every HTTP request the SDK sends is
counted (any Flows route, not only ``GET /runs/{id}``). Goal: <= 40 calls.

With ``--reference`` the same scenario is run against Gladier 0.11's FlowsManager in the
reference environment (see bench_import.py), for comparison.

    python benchmarks/bench_progress_calls.py [--minutes 10] [--reference]
"""

from __future__ import annotations

import argparse
import copy
import json
import re
import sys
import time
import typing as t
from unittest import mock

from _common import Result, child_reply, report, run_child

GOAL_CALLS = 40


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


def follow(make_manager: t.Callable[[], t.Any], run_seconds: float) -> dict:
    """Follow one run with the manager ``make_manager()`` returns; count the requests."""
    import globus_sdk
    import responses
    from globus_sdk.testing import get_response_set

    run_doc = get_response_set(globus_sdk.FlowsClient.get_run).lookup("default").responses[0].json
    run_id = run_doc["run_id"]
    clock = FakeClock()

    def answer(request: t.Any) -> tuple[int, dict, str]:
        document = copy.deepcopy(run_doc)
        status = "ACTIVE" if clock.now < run_seconds else "SUCCEEDED"
        document["status"] = document["display_status"] = status
        if status == "SUCCEEDED":
            document["completion_time"] = document.get("start_time")
        return 200, {"Content-Type": "application/json"}, json.dumps(document)

    manager = make_manager()
    seen: list[str] = []
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mocked, \
            mock.patch.object(time, "sleep", clock.sleep), \
            mock.patch.object(time, "monotonic", clock.monotonic):
        mocked.add_callback("GET", re.compile(r".*/runs/" + re.escape(run_id) + r"$"), answer)
        last = manager.progress(run_id, callback=lambda run: seen.append(run["status"]))
        calls = [(call.request.method, call.request.path_url) for call in mocked.calls]
    final = last["status"] if isinstance(last, dict) else seen[-1] if seen else None
    if final != "SUCCEEDED":
        raise SystemExit(f"progress did not follow the run to its end (last: {final})")
    routes = sorted({f"{method} {re.sub(r'[0-9a-f-]{36}', '{id}', path)}"
                     for method, path in calls})
    return {"calls": len(calls), "routes": routes, "simulated_seconds": clock.now,
            "sleeps": clock.sleeps}


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
    parser.add_argument("--reference", action="store_true",
                        help="also count Gladier 0.11's calls (reference environment)")
    parser.add_argument("--ref-venv", default=None)
    parser.add_argument("--child-reference", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    seconds = args.minutes * 60
    if args.child_reference:
        child_reply(follow(reference_manager, seconds))
        sys.exit(0)

    ours = follow(our_manager, seconds)
    figures: dict[str, t.Any] = {
        "simulated run (s)": seconds,
        "ours: API calls": ours["calls"],
        "ours: routes called": ", ".join(ours["routes"]),
        "ours: waits between polls (s)": " ".join(f"{s:g}" for s in ours["sleeps"]),
    }
    notes = []
    if args.reference:
        from bench_import import DEFAULT_REF_VENV, ensure_reference

        python = ensure_reference(args.ref_venv or DEFAULT_REF_VENV, extras=("responses",))
        try:
            ref = run_child([__file__, "--child-reference", "--minutes", str(args.minutes)],
                            python=python)
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
