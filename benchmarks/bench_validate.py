"""Validation of a large flow definition: ``validate_flow`` of a 1,000-state Pass chain.

Each repeat validates a definition not seen before in the process (its states carry the
repeat's number), so nothing a cache kept from an earlier repeat of the same text helps;
the first repeat, which also loads the schema and builds its validator, is left out as
warm-up. Every check runs: the JSON copy, the flow schema, the per-state checks,
reachability and the data-flow check. Goal (issue 19): <= 50 ms.

The peer, measured alternately in the same process: the ``jsonschema`` Draft 7 validator
alone checking the same definition against the same schema (``is_valid``), the part of
validation a schema library does.

    python benchmarks/bench_validate.py [--states 1000] [--repeats 7]
"""

from __future__ import annotations

import argparse
import time

from _common import Result, median, report, spread
from bench_pass_chain import pass_chain

GOAL_MS = 50.0


def definition(states: int, repeat: int) -> dict:
    """A Pass chain whose states differ from those of every other repeat."""
    chain = pass_chain(states)
    for state in chain["States"].values():
        state["Result"]["repeat"] = repeat
    return chain


def main(argv: list[str] | None = None) -> Result:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--states", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args(argv)

    import jsonschema

    from gladier.engine.validate import flow_definition_schema, validate_flow

    peer = jsonschema.Draft7Validator(flow_definition_schema())
    validate_flow(definition(20, -1))  # warm-up: imports, schema, validator
    ours, theirs = [], []
    for repeat in range(args.repeats):
        flow = definition(args.states, repeat)
        start = time.perf_counter()
        warnings = validate_flow(flow)
        ours.append((time.perf_counter() - start) * 1000)
        if warnings:
            raise SystemExit(f"unexpected warnings: {warnings[:3]}")
        start = time.perf_counter()
        if not peer.is_valid(flow):
            raise SystemExit("the peer refused the definition")
        theirs.append((time.perf_counter() - start) * 1000)
    value = median(ours)
    return Result(
        name=f"validate_flow of a {args.states}-state definition",
        figures={
            "validate_flow (ms, median)": value,
            "validate_flow (ms, min..max)": spread(ours),
            "peer: jsonschema Draft7Validator.is_valid (ms, median)": median(theirs),
            "peer (ms, min..max)": spread(theirs),
            "ours / peer (median of pairs)": median([o / p for o, p in zip(ours, theirs)]),
            "repeats": args.repeats,
        },
        goal=f"<= {GOAL_MS:g} ms",
        met=value <= GOAL_MS,
        measure="validate_flow (ms, median)",
    )


if __name__ == "__main__":
    report(main())
