"""Flow generation for a client with 200 tools, side by side with Gladier 0.11.

A module of tools is built at run time with the public API only, so the same code runs on
both packages: 100 tools generated from one compute function each
(``@generate_flow_definition``), 50 tools with a hand-written Transfer flow, and a client
decorated with ``@generate_flow_definition`` whose ``gladier_tools`` lists those 150
classes plus 50 aliased copies (``"module.Tool:CopyN"``): 200 tools, 200 states. Timed:
defining the tools (tool flows are generated then) and ``client.get_flow_definition()``
on a new client instance (each repeat generates the whole chain again). No goal is set;
the figures show it stays small, and ``--reference`` adds Gladier 0.11's figures.

    python benchmarks/bench_flowgen.py [--tools 200] [--repeats 7] [--reference]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import types
import typing as t

from _common import Result, child_reply, report, run_child

MODULE = "bench_flowgen_tools"


def make_function(name: str) -> t.Callable:
    namespace: dict = {}
    exec(f"def {name}(**data):\n    return data\n", namespace)
    function = namespace[name]
    function.__module__ = MODULE
    return function


def define_tools(count: int) -> list:
    """The ``gladier_tools`` list of ``count`` entries (half compute tools, a quarter
    Transfer tools, a quarter aliased copies of compute tools)."""
    from gladier import GladierBaseTool, generate_flow_definition

    module = types.ModuleType(MODULE)
    sys.modules[MODULE] = module
    compute, transfer = count // 2, count // 4
    aliases = count - compute - transfer
    entries: list = []
    for i in range(compute):
        function = make_function(f"process_{i:03d}")
        tool = type(f"Process{i:03d}", (GladierBaseTool,), {
            "__module__": MODULE, "compute_functions": [function],
            "required_input": ["compute_endpoint", f"process_{i:03d}_setting"],
            "flow_input": {f"process_{i:03d}_setting": i},
        })
        tool = generate_flow_definition(tool)
        setattr(module, f"Process{i:03d}", tool)
        entries.append(tool)
    for i in range(transfer):
        state = f"Transfer{i:03d}"
        tool = type(state, (GladierBaseTool,), {
            "__module__": MODULE,
            "required_input": ["transfer_source", "transfer_destination"],
            "flow_definition": {
                "Comment": f"Transfer step {i}", "StartAt": state,
                "States": {state: {
                    "Type": "Action",
                    "ActionUrl": "https://transfer.actions.globus.org/transfer",
                    "Parameters": {
                        "source_endpoint.$": "$.input.transfer_source",
                        "destination_endpoint.$": "$.input.transfer_destination",
                        "DATA": [{"source_path": f"/data/{i}", "destination_path": f"/out/{i}"}],
                    },
                    "ResultPath": f"$.{state}", "WaitTime": 600, "End": True}},
            },
        })
        setattr(module, state, tool)
        entries.append(tool)
    entries += [f"{MODULE}.Process{i % compute:03d}:Copy{i:03d}" for i in range(aliases)]
    return entries


def measure(count: int, repeats: int) -> dict:
    """Define the tools and a client, then generate its flow ``repeats`` times."""
    from gladier import GladierBaseClient, generate_flow_definition

    start = time.perf_counter()
    entries = define_tools(count)
    defined = time.perf_counter() - start

    @generate_flow_definition
    class BigClient(GladierBaseClient):
        """A client with many tools."""

        gladier_tools = entries

    times, states = [], 0
    for _ in range(repeats):
        start = time.perf_counter()
        client = BigClient(login_manager=_login_manager())
        definition = client.get_flow_definition()
        times.append(time.perf_counter() - start)
        states = len(definition["States"])
    if states != count:
        raise SystemExit(f"expected {count} states, the generated flow has {states}")
    return {"define": defined, "generate": times, "states": states}


def _login_manager() -> t.Any:
    """A login manager with no tokens: generation must not need any."""
    from gladier.managers import CallbackLoginManager

    return CallbackLoginManager({})


def main(argv: list[str] | None = None) -> Result:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tools", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--reference", action="store_true")
    parser.add_argument("--ref-venv", default=None)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child_reply(measure(args.tools, args.repeats))
        sys.exit(0)

    child_args = [__file__, "--child", "--tools", str(args.tools), "--repeats", str(args.repeats)]
    with tempfile.TemporaryDirectory() as home:
        env = {"HOME": home, "GLADIER_ENGINE": "local"}
        ours = run_child(child_args, env=env)
        figures: dict[str, t.Any] = {
            "tools (states in the flow)": ours["states"],
            "ours: define tools (ms)": ours["define"] * 1000,
            "ours: client flow generation (ms, median)": statistics.median(ours["generate"]) * 1000,
            "ours: first generation (ms)": ours["generate"][0] * 1000,
        }
        notes = []
        if args.reference:
            from bench_import import DEFAULT_REF_VENV, ensure_reference

            python = ensure_reference(args.ref_venv or DEFAULT_REF_VENV)
            try:
                ref = run_child(child_args, python=python, env=env)
                ref_median = statistics.median(ref["generate"])
                figures["reference 0.11: define tools (ms)"] = ref["define"] * 1000
                figures["reference 0.11: client flow generation (ms, median)"] = ref_median * 1000
                figures["generation ratio ours/reference"] = (
                    statistics.median(ours["generate"]) / ref_median)
            except RuntimeError as err:
                notes.append(f"reference run failed: {str(err).splitlines()[-1]}")
    return Result(name=f"flow generation, client with {args.tools} tools", figures=figures,
                  goal="none set (reported)", met=None,
                  measure="ours: client flow generation (ms, median)", notes=notes)


if __name__ == "__main__":
    report(main())
